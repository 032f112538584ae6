package ofdseal

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline/ofd"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// placementSlack absorbs rounding in callers' millimetre arithmetic when a
// stamp is checked against the page.
const placementSlack = 0.01

// sealer is the state of one Seal call: what newSealer checks in the
// options, then what plan finds in the package.
type sealer struct {
	opts *Options
	at   time.Time // signing time, whole seconds
	seal *ses.Seal
	// method is SignedInfo/SignatureMethod; dataHash hashes Signature.xml
	// for TBS_Sign.dataHash as the verifier expects for that method.
	method   asn1.ObjectIdentifier
	dataHash func([]byte) []byte
	// width and height are the stamp's size in mm.
	width, height float64

	ofdName   string // OFD.xml's entry name
	newOFD    []byte // OFD.xml with the Signatures entry, nil when unchanged
	listName  string // Signatures.xml's part name
	oldList   []byte // its current bytes, nil when it is created
	signDir   string // the new signature's folder, e.g. "Doc_0/Signs/Sign_1"
	sigID     string // the new Signatures.xml entry's ID
	maxSignID string // MaxSignId after sealing
	stamps    []stamp
	copyBuf   []byte // see buffer

	// ignoreProtection lets tests seal over a whole-protected signature,
	// as h.ofd's producer did, to show the earlier signature then fails.
	ignoreProtection bool
}

// stamp is one StampAnnot of the new signature (GB/T 33190 §18.2.2,
// Table 70).
type stamp struct {
	id, pageRef string
	boundary    ofd.Box
	clip        *ofd.Box // the slice of a riding seal shown on its page
}

// Part names of the new signature's files, in its folder.
const (
	signatureFile   = "Signature.xml"
	signedValueFile = "SignedValue.dat"
	sealFile        = "Seal.esl"
)

// newSealer checks the options that do not depend on the document: the
// signer, the seal, the placement's numbers.
func newSealer(opts *Options) (*sealer, error) {
	s := &sealer{opts: opts}
	if opts.Signer == nil || opts.Cert == nil {
		return nil, fmt.Errorf("%w: a signing key and its certificate are required", ErrSigner)
	}
	pub, _ := opts.Signer.Public().(*ecdsa.PublicKey)
	switch {
	case pub != nil && sm2.IsSM2PublicKey(pub):
		s.method = ses.OIDSM2WithSM3
		s.dataHash = func(b []byte) []byte { h := sm3.Sum(b); return h[:] }
	case pub != nil && pub.Curve == elliptic.P256():
		s.method = ses.OIDECDSAWithSHA256
		s.dataHash = func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
	default:
		return nil, fmt.Errorf("%w: %T key: a seal signature needs SM2 or ECDSA P-256 (GB/T 38540 §7.2)", ErrSigner, opts.Signer.Public())
	}
	if !pub.Equal(opts.Cert.PublicKey) {
		return nil, fmt.Errorf("%w: certificate %q does not hold the signing key", ErrSigner, opts.Cert.Subject)
	}
	seal, err := ses.ParseSeal(opts.SealData)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSeal, err)
	}
	if seal.Version != 4 {
		return nil, fmt.Errorf("%w: seal %q is version %d, want a GB/T 38540 version 4 seal", ErrSeal, seal.ID, seal.Version)
	}
	if !seal.HasSigner(opts.Cert.Raw) {
		return nil, fmt.Errorf("%w: seal %q does not list the signer's certificate %q", ErrSeal, seal.ID, opts.Cert.Subject)
	}
	s.seal = seal
	pl := opts.Placement
	s.width, s.height = pl.Width, pl.Height
	if s.width == 0 {
		s.width = float64(seal.Picture.WidthMM)
	}
	if s.height == 0 {
		s.height = float64(seal.Picture.HeightMM)
	}
	for _, v := range []float64{pl.X, pl.Y, s.width, s.height} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: %+v has a non-finite coordinate", ErrPlacement, pl)
		}
	}
	if s.width <= 0 || s.height <= 0 || pl.X < 0 || pl.Y < 0 {
		return nil, fmt.Errorf("%w: stamp %g×%g mm at (%g, %g): the box needs a positive size (the seal states %d×%d mm) and a corner at X, Y ≥ 0",
			ErrPlacement, s.width, s.height, pl.X, pl.Y, seal.Picture.WidthMM, seal.Picture.HeightMM)
	}
	if !pl.Riding && pl.Page < 1 {
		return nil, fmt.Errorf("%w: page %d requested, pages are numbered from 1", ErrNoPage, pl.Page)
	}
	s.at = opts.Time
	if s.at.IsZero() {
		s.at = time.Now()
	}
	s.at = s.at.Truncate(time.Second)
	if y := s.at.UTC().Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("%w: signing time %s out of range", ErrSigner, s.at.Format(time.RFC3339))
	}
	return s, nil
}

// plan reads what sealing the first document of p needs: its pages, its
// signatures (refusing a document one of them protects as a whole), the
// identifiers and folder of the new signature, and its stamps.
func (s *sealer) plan(p *ofd.Package) error {
	body := p.Bodies[0]
	doc, err := p.Document(body)
	if err != nil {
		return readerErr(err)
	}
	var ok bool
	if s.ofdName, ok = p.Lookup("OFD.xml"); !ok {
		return fmt.Errorf("%w: no OFD.xml", ErrMalformed) // ofd.Open has found it
	}
	docDir := path.Dir(doc.Name)
	signsDir := path.Join(docDir, "Signs")
	if docDir == "." {
		signsDir = "Signs"
	}
	var list *ofd.SignatureList
	changed := map[string]bool{}
	switch _, exists := p.Lookup(body.Signatures); {
	case body.Signatures == "":
		// First signature: OFD.xml gains DocBody/Signatures (§7.4, Table 3).
		s.listName = signsDir + "/Signatures.xml"
		if n, ok := p.Lookup(s.listName); ok {
			return fmt.Errorf("%w: the package holds %q, which OFD.xml does not name as the signature list", ErrMalformed, n)
		}
		raw, err := p.Read(s.ofdName)
		if err != nil {
			return readerErr(err)
		}
		if s.newOFD, err = addSignaturesEntry(s.ofdName, raw, "/"+s.listName); err != nil {
			return err
		}
		changed[s.ofdName] = true
	case !exists:
		// OFD.xml names a Signatures.xml the package lacks: write it there.
		s.listName = body.Signatures
	default:
		if list, err = p.SignatureList(body); err != nil {
			return readerErr(err)
		}
		s.listName = list.Name
		if s.oldList, err = p.Read(list.Name); err != nil {
			return readerErr(err)
		}
		changed[list.Name] = true
	}
	if s.ignoreProtection {
		changed = nil
	}
	used, err := checkExisting(p, list, changed)
	if err != nil {
		return err
	}
	s.signDir = freeFolder(p, signsDir)
	n := 1
	if s.opts.Placement.Riding {
		n = len(doc.Pages)
	}
	maxSignID := ""
	if list != nil {
		maxSignID = list.MaxSignID
	}
	ids, err := allocIDs(maxSignID, used, 1+n)
	if err != nil {
		return err
	}
	s.sigID, s.maxSignID = ids[0], ids[len(ids)-1]
	return s.place(p, doc, ids[1:])
}

// checkExisting reads every signature of every document of p (list is the
// first document's, already read) and returns the IDs those of the first
// document use (Signature and StampAnnot IDs, which ofdrw draws from one
// counter). It refuses with ErrNoChangesPermitted a signature whose
// references protect a part sealing changes.
func checkExisting(p *ofd.Package, list *ofd.SignatureList, changed map[string]bool) (map[string]bool, error) {
	used := map[string]bool{}
	for bi, body := range p.Bodies {
		l := list
		if bi > 0 {
			if _, ok := p.Lookup(body.Signatures); body.Signatures == "" || !ok {
				continue
			}
			var err error
			if l, err = p.SignatureList(body); err != nil {
				return nil, readerErr(err)
			}
		}
		if l == nil {
			continue
		}
		for _, e := range l.Signatures {
			if bi == 0 {
				used[e.ID] = true
			}
			sig, _, err := p.ReadSignature(e.BaseLoc)
			switch {
			case errors.Is(err, ofd.ErrNotFound):
				continue // a signature without its description protects nothing
			case err != nil:
				return nil, fmt.Errorf("%w: signature %q: %w", ErrMalformed, e.ID, err)
			}
			for _, st := range sig.StampAnnots {
				if bi == 0 {
					used[st.ID] = true
				}
			}
			for _, ref := range sig.References {
				if part, err := p.Locate(e.BaseLoc, ref.FileRef); err == nil && changed[part] {
					return nil, fmt.Errorf("%w: signature %q (%s) protects %q, which a further signature must change",
						ErrNoChangesPermitted, e.ID, e.BaseLoc, part)
				}
			}
		}
	}
	return used, nil
}

// freeFolder returns the first signsDir/Sign_N no entry of p lies in.
func freeFolder(p *ofd.Package, signsDir string) string {
	taken := map[string]bool{}
	for _, e := range p.Entries() {
		if rest, ok := cutPrefixFold(e.Name, signsDir+"/"); ok {
			if dir, _, ok := strings.Cut(rest, "/"); ok {
				taken[strings.ToLower(dir)] = true
			}
		}
	}
	for n := 0; ; n++ {
		if dir := "Sign_" + strconv.Itoa(n); !taken[strings.ToLower(dir)] {
			return signsDir + "/" + dir
		}
	}
}

// cutPrefixFold is strings.CutPrefix ignoring case, as package ofd looks
// up names.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// allocIDs returns n new IDs after maxSignID and every used ID, in the form
// MaxSignId has ("s006" → "s007", "2" → "3"), none equal to a used one.
// GB/T 33190 §18.2.1 wants MaxSignId to be the largest ID in use.
func allocIDs(maxSignID string, used map[string]bool, n int) ([]string, error) {
	prefix, width := "", 1
	if pre, digits := splitID(maxSignID); digits != "" {
		prefix, width = pre, len(digits)
	}
	next := uint64(0)
	for id := range used {
		if _, digits := splitID(id); digits != "" {
			if v, err := strconv.ParseUint(digits, 10, 63); err == nil {
				next = max(next, v)
			}
		}
	}
	if _, digits := splitID(maxSignID); digits != "" {
		if v, err := strconv.ParseUint(digits, 10, 63); err == nil {
			next = max(next, v)
		}
	}
	ids := make([]string, 0, n)
	for len(ids) < n {
		if next++; next > 1<<62 {
			return nil, fmt.Errorf("%w: signature IDs exhausted after MaxSignId %q", ErrMalformed, maxSignID)
		}
		id := fmt.Sprintf("%s%0*d", prefix, width, next)
		if !used[id] {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// splitID splits an ID into a prefix and its trailing decimal digits.
func splitID(id string) (prefix, digits string) {
	i := len(id)
	for i > 0 && id[i-1] >= '0' && id[i-1] <= '9' {
		i--
	}
	return id[:i], id[i:]
}

// place computes the stamps: one box on the chosen page, or for a riding
// seal one per page, each showing its vertical slice of the picture at the
// page's right edge. A riding stamp's Boundary is the whole picture,
// shifted left by the slices of the pages before, and its Clip the slice,
// in the Boundary's coordinates: ofdrw's layout
// (../shared/conformance/ofd/V4RideRight.ofd: 40 mm over 5 pages of 210 mm,
// Boundary x 202, 194, …, Clip "0 0 8 40", "8 0 8 40", …).
func (s *sealer) place(p *ofd.Package, doc *ofd.Document, ids []string) error {
	pl := s.opts.Placement
	w, h := s.width, s.height
	pageRef := func(i int) (string, error) {
		if doc.Pages[i].ID == "" {
			return "", fmt.Errorf("%w: %s: page %d has no ID for a StampAnnot to refer to", ErrMalformed, doc.Name, i+1)
		}
		return doc.Pages[i].ID, nil
	}
	if !pl.Riding {
		if pl.Page > len(doc.Pages) {
			return fmt.Errorf("%w: page %d requested, the document has %d", ErrNoPage, pl.Page, len(doc.Pages))
		}
		i := pl.Page - 1
		box, err := p.PageBox(doc, i)
		if err != nil {
			return readerErr(err)
		}
		if pl.X+w > box.W+placementSlack || pl.Y+h > box.H+placementSlack {
			return fmt.Errorf("%w: stamp at (%g, %g) mm of %g×%g mm does not fit page %d, %g×%g mm",
				ErrPlacement, pl.X, pl.Y, w, h, pl.Page, box.W, box.H)
		}
		ref, err := pageRef(i)
		if err != nil {
			return err
		}
		s.stamps = []stamp{{id: ids[0], pageRef: ref, boundary: ofd.Box{X: box.X + pl.X, Y: box.Y + pl.Y, W: w, H: h}}}
		return nil
	}
	n := len(doc.Pages)
	if n == 0 {
		return fmt.Errorf("%w: the document has no pages for a riding seal", ErrNoPage)
	}
	slice := w / float64(n)
	for i := range n {
		box, err := p.PageBox(doc, i)
		if err != nil {
			return readerErr(err)
		}
		if w > box.W+placementSlack || pl.Y+h > box.H+placementSlack {
			return fmt.Errorf("%w: riding stamp of %g×%g mm at y %g mm does not fit page %d, %g×%g mm",
				ErrPlacement, w, h, pl.Y, i+1, box.W, box.H)
		}
		ref, err := pageRef(i)
		if err != nil {
			return err
		}
		s.stamps = append(s.stamps, stamp{
			id:       ids[i],
			pageRef:  ref,
			boundary: ofd.Box{X: box.X + box.W - float64(i+1)*slice, Y: box.Y + pl.Y, W: w, H: h},
			clip:     &ofd.Box{X: float64(i) * slice, Y: 0, W: slice, H: h},
		})
	}
	return nil
}
