package ofd

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Box is a rectangle in millimetres (GB/T 33190 §5.2, ST_Box "x y w h"),
// x and y from the top-left corner.
type Box struct {
	X, Y, W, H float64
}

// parseBox reads an ST_Box: four finite numbers, width and height not
// negative. Commas between numbers are accepted.
func parseBox(part, what, s string) (Box, error) {
	f := strings.Fields(strings.ReplaceAll(s, ",", " "))
	if len(f) != 4 {
		return Box{}, partErr(part, ErrMalformed, "%s %q is not four numbers", what, s)
	}
	var v [4]float64
	for i, x := range f {
		n, err := strconv.ParseFloat(x, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || (i >= 2 && n < 0) {
			return Box{}, partErr(part, ErrMalformed, "%s %q is not four finite numbers with a non-negative size", what, s)
		}
		v[i] = n
	}
	return Box{v[0], v[1], v[2], v[3]}, nil
}

// Document is a parsed Document.xml (GB/T 33190 §7.5).
type Document struct {
	// Name is the part's name.
	Name string
	// PhysicalBox is CommonData/PageArea/PhysicalBox (§7.5, Table 6): the
	// page size every page without its own Area inherits. Zero if absent.
	PhysicalBox Box
	// MaxUnitID is CommonData/MaxUnitID, the largest object ID used; 0 if
	// absent or not a number.
	MaxUnitID int64
	// Pages lists Pages/Page in order (§7.6).
	Pages []Page
	// Annotations is the part name of the annotation list (§15.1), ""
	// when there is none.
	Annotations string
	// PublicRes and DocumentRes are the part names of the resource files
	// (§7.9).
	PublicRes, DocumentRes []string
}

// Page is one Pages/Page entry of Document.xml (§7.6, Table 11).
type Page struct {
	// ID is the page's object ID, as written (StampAnnot PageRef refers
	// to it).
	ID string
	// Content is the part name of the page's content (BaseLoc).
	Content string
}

// Document parses the Document.xml of a DocBody. Locations are resolved
// against the part (see [Package.Locate]); a location naming a missing
// part (producers list resources they never wrote) is kept as resolved and
// reported only when that part is read.
func (p *Package) Document(body DocBody) (*Document, error) {
	name := body.DocRoot
	root, err := p.readXML(name)
	if err != nil {
		return nil, err
	}
	if root.name != "Document" {
		return nil, partErr(name, ErrMalformed, "root element <%s>, want <Document>", root.name)
	}
	doc := &Document{Name: name}
	common, err := root.one(name, "CommonData", true)
	if err != nil {
		return nil, err
	}
	if area, err := common.one(name, "PageArea", false); err != nil {
		return nil, err
	} else if area != nil {
		if doc.PhysicalBox, err = physicalBox(name, area); err != nil {
			return nil, err
		}
	}
	if s, err := common.childText(name, "MaxUnitID"); err != nil {
		return nil, err
	} else if s != "" {
		doc.MaxUnitID, _ = strconv.ParseInt(s, 10, 64)
	}
	for _, res := range []struct {
		elem string
		to   *[]string
	}{{"PublicRes", &doc.PublicRes}, {"DocumentRes", &doc.DocumentRes}} {
		for _, n := range common.all(res.elem) {
			loc, err := p.find(name, n.text)
			if err != nil {
				return nil, err
			}
			*res.to = append(*res.to, loc)
		}
	}
	pages, err := root.one(name, "Pages", true)
	if err != nil {
		return nil, err
	}
	for _, pg := range pages.all("Page") {
		content, err := p.find(name, pg.attr("BaseLoc"))
		if err != nil {
			return nil, err
		}
		doc.Pages = append(doc.Pages, Page{ID: pg.attr("ID"), Content: content})
	}
	if s, err := root.childText(name, "Annotations"); err != nil {
		return nil, err
	} else if s != "" {
		if doc.Annotations, err = p.find(name, s); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// physicalBox reads the PhysicalBox of a CT_PageArea (§7.5, Table 7).
func physicalBox(part string, area *node) (Box, error) {
	s, err := area.childText(part, "PhysicalBox")
	if err != nil || s == "" {
		return Box{}, err
	}
	return parseBox(part, "PhysicalBox", s)
}

// PageBox returns the physical box of page i (0-based) of doc in
// millimetres: the page's own Area/PhysicalBox (§7.7, Table 12) if it
// states one, else the document's CommonData/PageArea. Only the start of
// the page's content part is read and decompressed: a page's content can
// be megabytes of drawing operators, and Area comes first.
func (p *Package) PageBox(doc *Document, i int) (Box, error) {
	if i < 0 || i >= len(doc.Pages) {
		return Box{}, partErr(doc.Name, ErrNotFound, "no page %d (%d pages)", i+1, len(doc.Pages))
	}
	name := doc.Pages[i].Content
	if f, ok := p.Entry(name); ok && f.UncompressedSize64 > uint64(p.lim.MaxXMLSize) {
		return Box{}, partErr(name, ErrTooLarge, "XML part of %d bytes, the limit is %d", f.UncompressedSize64, p.lim.MaxXMLSize)
	}
	rc, err := p.OpenPart(name)
	if err != nil {
		return Box{}, err
	}
	defer rc.Close()
	var box string
	var inBox bool
	var path []string
	err = scanReader(name, readErrs{name, io.LimitReader(rc, p.lim.MaxXMLSize)}, p.lim, func(tok xml.Token, depth int) error {
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			if depth == 2 && t.Name.Local != "Area" {
				return errStop // Area comes first in CT_Page; past it, there is none
			}
			inBox = depth == 3 && path[1] == "Area" && t.Name.Local == "PhysicalBox"
		case xml.EndElement:
			path = path[:len(path)-1]
			if inBox {
				return errStop
			}
		case xml.CharData:
			if inBox {
				box += string(t)
			}
		}
		return nil
	})
	if err != nil {
		return Box{}, err
	}
	if strings.TrimSpace(box) == "" {
		if doc.PhysicalBox == (Box{}) {
			return Box{}, partErr(name, ErrMalformed, "the page states no PhysicalBox and the document's CommonData none either")
		}
		return doc.PhysicalBox, nil
	}
	return parseBox(name, "PhysicalBox", box)
}

// readErrs reports a failure to read (decompress) a part as ErrMalformed
// with the part's name, rather than as an XML syntax error.
type readErrs struct {
	part string
	r    io.Reader
}

func (r readErrs) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		err = partErr(r.part, ErrMalformed, "%v", err)
	}
	return n, err
}

// Signature types (GB/T 33190 §18.2.1, Table 66).
const (
	TypeSeal = "Seal" // 签章: an electronic seal signature (GB/T 38540)
	TypeSign = "Sign" // 签名: a plain digital signature
)

// SignatureList is a parsed Signatures.xml (GB/T 33190 §18.2.1).
type SignatureList struct {
	// Name is the part's name.
	Name string
	// MaxSignID is MaxSignId as written (the last, if several).
	MaxSignID string
	// Signatures lists the Signature entries in order.
	Signatures []SignatureEntry
}

// SignatureEntry is one Signature element of Signatures.xml.
type SignatureEntry struct {
	// ID is the signature's identifier, as written.
	ID string
	// Type is TypeSeal or TypeSign; the standard's default is Seal.
	Type string
	// BaseLoc is the part name of the Signature.xml. The part may be
	// missing: reading it then reports ErrNotFound.
	BaseLoc string
}

// SignatureList parses a DocBody's Signatures.xml; it returns nil and no
// error when the document has none.
func (p *Package) SignatureList(body DocBody) (*SignatureList, error) {
	if body.Signatures == "" {
		return nil, nil
	}
	name := body.Signatures
	root, err := p.readXML(name)
	if err != nil {
		return nil, err
	}
	if root.name != "Signatures" {
		return nil, partErr(name, ErrMalformed, "root element <%s>, want <Signatures>", root.name)
	}
	list := &SignatureList{Name: name}
	for _, m := range root.all("MaxSignId") {
		list.MaxSignID = m.text
	}
	for _, s := range root.all("Signature") {
		e := SignatureEntry{ID: s.attr("ID"), Type: s.attr("Type")}
		switch {
		case e.Type == "" || strings.EqualFold(e.Type, TypeSeal):
			e.Type = TypeSeal
		case strings.EqualFold(e.Type, TypeSign):
			e.Type = TypeSign
		}
		loc := s.attr("BaseLoc")
		if e.BaseLoc, err = p.find(name, loc); err != nil {
			return nil, err
		}
		list.Signatures = append(list.Signatures, e)
	}
	return list, nil
}

// Signature is a parsed Signature.xml (GB/T 33190 §18.2.2). Locations are
// kept as written; resolve them against the part with [Package.Locate].
type Signature struct {
	// Provider identifies the signing software (Table 68).
	Provider Provider
	// SignatureMethod is the signature algorithm, as written (an OID such
	// as 1.2.156.10197.1.501, or a name).
	SignatureMethod string
	// SignatureDateTime is the signing time, as written.
	SignatureDateTime string
	// CheckMethod is References/@CheckMethod, the digest of the
	// references, as written ("" if absent).
	CheckMethod string
	// References are the protected files (Table 69).
	References []Reference
	// StampAnnots are the seal's appearances (Table 70): one for an
	// ordinary seal, one per page for a riding seal.
	StampAnnots []StampAnnot
	// Seal is Seal/BaseLoc, the location of the seal file (.esl); "" if
	// absent.
	Seal string
	// SignedValue is the location of the signature value file.
	SignedValue string
}

// Provider is SignedInfo/Provider (Table 68), given as attributes or, by
// some producers, as child elements.
type Provider struct {
	Name, Version, Company string
}

// Reference is one References/Reference (Table 69).
type Reference struct {
	// FileRef is the protected file's location, as written.
	FileRef string
	// CheckValue is the decoded CheckValue; nil when it is not base64
	// (CheckValueText then holds what was written).
	CheckValue     []byte
	CheckValueText string
}

// StampAnnot is one SignedInfo/StampAnnot (Table 70): where the seal
// appears.
type StampAnnot struct {
	ID string
	// PageRef is the ID of the page the appearance is on.
	PageRef string
	// Boundary is the appearance's box on the page, in millimetres.
	Boundary Box
	// Clip is the part of the seal picture shown (a riding seal's slice),
	// nil when the whole picture is shown.
	Clip *Box
}

// ReadSignature reads and parses the Signature.xml part name. It returns
// the part's bytes too: signatures are computed over them.
func (p *Package) ReadSignature(name string) (*Signature, []byte, error) {
	data, err := p.read(name, p.lim.MaxXMLSize)
	if err != nil {
		return nil, nil, err
	}
	s, err := parseSignature(name, data, p.lim)
	return s, data, err
}

// ParseSignature parses a Signature.xml under the default [Limits]. Errors
// wrap the package's sentinels.
func ParseSignature(data []byte) (*Signature, error) {
	return parseSignature("Signature.xml", data, Limits{}.withDefaults())
}

func parseSignature(name string, data []byte, lim Limits) (*Signature, error) {
	root, err := parseXML(name, data, lim)
	if err != nil {
		return nil, err
	}
	if root.name != "Signature" {
		return nil, partErr(name, ErrMalformed, "root element <%s>, want <Signature>", root.name)
	}
	info, err := root.one(name, "SignedInfo", true)
	if err != nil {
		return nil, err
	}
	s := &Signature{}
	sv, err := root.one(name, "SignedValue", true)
	if err != nil {
		return nil, err
	}
	if s.SignedValue = sv.text; s.SignedValue == "" {
		return nil, partErr(name, ErrMalformed, "empty <SignedValue>")
	}
	if pr, err := info.one(name, "Provider", false); err != nil {
		return nil, err
	} else if pr != nil {
		s.Provider = Provider{Name: pr.attr("ProviderName"), Version: pr.attr("Version"), Company: pr.attr("Company")}
		for _, f := range []struct {
			elem string
			to   *string
		}{{"ProviderName", &s.Provider.Name}, {"Version", &s.Provider.Version}, {"Company", &s.Provider.Company}} {
			if t, err := pr.childText(name, f.elem); err != nil {
				return nil, err
			} else if *f.to == "" {
				*f.to = t
			}
		}
	}
	if s.SignatureMethod, err = info.childText(name, "SignatureMethod"); err != nil {
		return nil, err
	}
	if s.SignatureDateTime, err = info.childText(name, "SignatureDateTime"); err != nil {
		return nil, err
	}
	refs, err := info.one(name, "References", false)
	if err != nil {
		return nil, err
	}
	if refs != nil {
		s.CheckMethod = refs.attr("CheckMethod")
		for _, r := range refs.all("Reference") {
			ref := Reference{FileRef: r.attr("FileRef")}
			if ref.FileRef == "" {
				return nil, partErr(name, ErrMalformed, "a <Reference> without FileRef")
			}
			if ref.CheckValueText, err = r.childText(name, "CheckValue"); err != nil {
				return nil, err
			}
			ref.CheckValue, _ = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(ref.CheckValueText), ""))
			s.References = append(s.References, ref)
		}
	}
	for _, a := range info.all("StampAnnot") {
		st := StampAnnot{ID: a.attr("ID"), PageRef: a.attr("PageRef")}
		if st.Boundary, err = parseBox(name, "StampAnnot Boundary", a.attr("Boundary")); err != nil {
			return nil, err
		}
		if c := a.attr("Clip"); c != "" {
			clip, err := parseBox(name, "StampAnnot Clip", c)
			if err != nil {
				return nil, err
			}
			st.Clip = &clip
		}
		s.StampAnnots = append(s.StampAnnots, st)
	}
	if seal, err := info.one(name, "Seal", false); err != nil {
		return nil, err
	} else if seal != nil {
		if s.Seal, err = seal.childText(name, "BaseLoc"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// chinaTime is China Standard Time, the zone of a SignatureDateTime that
// states none.
var chinaTime = time.FixedZone("CST", 8*3600)

// signatureTimeLayouts are the SignatureDateTime forms seen in the wild.
var signatureTimeLayouts = []string{
	time.RFC3339Nano,
	"20060102150405Z07:00", "20060102150405.999999999Z07:00",
	"20060102150405", "20060102150405.999999999",
	"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999", "2006/01/02 15:04:05",
}

// Time reads SignatureDateTime (§18.2.2, Table 67); a time without a zone
// is China Standard Time (UTC+8). ok is false when the text is in no known
// form.
func (s *Signature) Time() (t time.Time, ok bool) {
	text := strings.TrimSpace(s.SignatureDateTime)
	for _, layout := range signatureTimeLayouts {
		if t, err := time.ParseInLocation(layout, text, chinaTime); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
