package ofdseal

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sealpipe/sealpipe/pipeline/ofd"
)

// escape escapes text for an XML attribute value or element content.
func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// boxText writes an ST_Box "x y w h" in millimetres, to a micrometre.
func boxText(b ofd.Box) string {
	f := func(v float64) string {
		v = math.Round(v*1000) / 1000
		if v == 0 {
			v = 0 // no "-0"
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return f(b.X) + " " + f(b.Y) + " " + f(b.W) + " " + f(b.H)
}

// signaturesEntry is the new Signature element of Signatures.xml (GB/T
// 33190 §18.2.1, Table 66).
type signaturesEntry struct {
	id, baseLoc string
}

// element writes the entry with the given element-name prefix ("ofd:" or "").
func (e signaturesEntry) element(prefix string) string {
	return fmt.Sprintf(`<%sSignature ID="%s" Type="Seal" BaseLoc="%s"/>`, prefix, escape(e.id), escape(e.baseLoc))
}

// newSignatureList writes a Signatures.xml holding one entry (GB/T 33190
// §18.2.1: MaxSignId, then the Signature elements).
func newSignatureList(e signaturesEntry, maxSignID string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ofd:Signatures xmlns:ofd="` + ofdNamespace + `"><ofd:MaxSignId>` + escape(maxSignID) + `</ofd:MaxSignId>` +
		e.element("ofd:") + `</ofd:Signatures>`)
}

// xmlElement is an element found by scanElements: the byte spans of its
// start and end tags (equal for a self-closing element) and its qualified
// name as written.
type xmlElement struct {
	name                 string // local name
	qname                string // as written, e.g. "ofd:Signatures"
	depth                int    // 1 for the root
	start, startEnd, end int    // <start … startEnd> … </…>end
}

// prefix returns the element's namespace prefix with its colon, or "".
func (e xmlElement) prefix() string {
	if i := strings.IndexByte(e.qname, ':'); i >= 0 {
		return e.qname[:i+1]
	}
	return ""
}

// scanElements lists the elements of an XML part down to maxDepth with
// their byte offsets. The part has been parsed by package ofd under its
// guards already; directives are refused here too.
func scanElements(part string, data []byte, maxDepth int) ([]xmlElement, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(string, io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("only UTF-8 is read")
	}
	var out []xmlElement
	var open []int // indexes into out of the open elements (-1 when deeper than maxDepth)
	for {
		off := int(d.InputOffset())
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrMalformed, part, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("%w: %q: %w", ErrMalformed, part, ofd.ErrDTD)
		case xml.StartElement:
			if len(open)+1 > maxDepth {
				open = append(open, -1)
				continue
			}
			end := int(d.InputOffset())
			raw := string(data[off:end])
			q := strings.TrimPrefix(raw, "<")
			if i := strings.IndexAny(q, " \t\r\n/>"); i >= 0 {
				q = q[:i]
			}
			out = append(out, xmlElement{name: t.Name.Local, qname: q, depth: len(open) + 1, start: off, startEnd: end})
			open = append(open, len(out)-1)
		case xml.EndElement:
			if i := open[len(open)-1]; i >= 0 {
				out[i].end = int(d.InputOffset())
			}
			open = open[:len(open)-1]
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %q: no root element", ErrMalformed, part)
	}
	return out, nil
}

// edit replaces data[from:to] with text.
type edit struct {
	from, to int
	text     string
}

// applyEdits applies non-overlapping edits; insertions at the same offset
// keep their order.
func applyEdits(data []byte, edits []edit) []byte {
	slices.SortStableFunc(edits, func(a, b edit) int { return a.from - b.from })
	var out bytes.Buffer
	out.Grow(len(data) + 512)
	at := 0
	for _, e := range edits {
		out.Write(data[at:e.from])
		out.WriteString(e.text)
		at = e.to
	}
	out.Write(data[at:])
	return out.Bytes()
}

// appendChild returns the edit that adds child as the last child of el.
func appendChild(data []byte, el xmlElement, child string) edit {
	if el.end > el.startEnd { // <el …>…</el>: insert before the end tag
		endTag := bytes.LastIndex(data[el.startEnd:el.end], []byte("</")) + el.startEnd
		return edit{endTag, endTag, child}
	}
	// <el …/>: open it up.
	tag := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(data[el.start:el.startEnd])), "/>"))
	return edit{el.start, el.startEnd, tag + ">" + child + "</" + el.qname + ">"}
}

// addSignaturesEntry adds DocBody/Signatures (GB/T 33190 §7.4, Table 3;
// last in CT_DocBody) to the first DocBody of OFD.xml, written in the
// DocBody's own prefix. Nothing else of the part changes.
func addSignaturesEntry(part string, data []byte, loc string) ([]byte, error) {
	els, err := scanElements(part, data, 2)
	if err != nil {
		return nil, err
	}
	for _, el := range els {
		if el.depth == 2 && el.name == "DocBody" {
			p := el.prefix()
			child := "<" + p + "Signatures>" + escape(loc) + "</" + p + "Signatures>"
			return applyEdits(data, []edit{appendChild(data, el, child)}), nil
		}
	}
	return nil, fmt.Errorf("%w: %q has no DocBody", ErrMalformed, part)
}

// editSignatureList adds an entry to an existing Signatures.xml and sets
// every MaxSignId in it (producers such as ofdrw repeat the element; the
// reader takes the last) to maxSignID, adding one first in the list if
// there is none (§18.2.1). Nothing else of the part changes.
func editSignatureList(part string, data []byte, e signaturesEntry, maxSignID string) ([]byte, error) {
	els, err := scanElements(part, data, 2)
	if err != nil {
		return nil, err
	}
	root := els[0]
	if root.name != "Signatures" {
		return nil, fmt.Errorf("%w: %q: root element <%s>, want <Signatures>", ErrMalformed, part, root.qname)
	}
	p := root.prefix()
	var edits []edit
	for _, el := range els[1:] {
		if el.depth == 2 && el.name == "MaxSignId" {
			edits = append(edits, edit{el.start, el.end, "<" + el.qname + ">" + escape(maxSignID) + "</" + el.qname + ">"})
		}
	}
	if len(edits) == 0 {
		if root.end == root.startEnd {
			// <Signatures/>: the new content is both children.
			return applyEdits(data, []edit{appendChild(data, root,
				"<"+p+"MaxSignId>"+escape(maxSignID)+"</"+p+"MaxSignId>"+e.element(p))}), nil
		}
		edits = append(edits, edit{root.startEnd, root.startEnd, "<" + p + "MaxSignId>" + escape(maxSignID) + "</" + p + "MaxSignId>"})
	}
	edits = append(edits, appendChild(data, root, e.element(p)))
	return applyEdits(data, edits), nil
}
