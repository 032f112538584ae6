package pdfseal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"
)

// DefaultMaxInputSize is the input size limit of [Seal] when
// Options.MaxInputSize is zero.
const DefaultMaxInputSize = 64 << 20

// Bounds on walking hostile object graphs. pdffile bounds its own reading
// (pdffile.Options); these bound this package's walks over what it reads.
const (
	maxTreeDepth  = 32     // /Parent chains, /Kids nesting
	maxFieldNodes = 10_000 // form field dictionaries visited
	maxArrayLen   = 100_000
)

// checkInput checks what is cheap to check before parsing: the size limit
// and the header.
func checkInput(in *source, limit int64) error {
	if in.size > limit {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, in.size, limit)
	}
	if in.size == 0 {
		return fmt.Errorf("%w: empty input", ErrMalformed)
	}
	if head := in.read(0, 1024); !bytes.Contains(head, []byte("%PDF-")) {
		return fmt.Errorf("%w: no %%PDF- header in the first 1024 bytes (starts %q)", ErrMalformed, snippet(head, 0))
	}
	return nil
}

// openFile opens in with pdffile under a size limit: only the header,
// the trailer and the cross-reference data are read (ISO 32000-1 §7.5),
// the objects later on demand. It does not decrypt: an encrypted file
// (§7.6) is ErrEncrypted.
func openFile(ctx context.Context, in *source, limit int64) (*pdffile.File, error) {
	if err := checkInput(in, limit); err != nil {
		return nil, err
	}
	f, err := pdffile.OpenContext(ctx, in.reader(), in.size, pdffile.Options{
		MaxDecodedSize: max(4*limit, 64<<20),
	})
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, ctx.Err()
	default:
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if f.Encrypted() {
		return nil, fmt.Errorf("%w: trailer /Encrypt %s", ErrEncrypted, pdfString(f.Trailer()["Encrypt"]))
	}
	return f, nil
}

// guard runs f, turning a panic into ErrMalformed. Every walk over the
// objects of hostile data goes through it (pdffile turns its parser's
// panics into errors itself).
func guard(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: parser failure during %s: %v", ErrMalformed, what, r)
		}
	}()
	return f()
}

// snippet quotes up to 24 bytes of in from off, for error messages.
func snippet(in []byte, off int64) string {
	if off < 0 || off >= int64(len(in)) {
		return ""
	}
	end := min(int64(len(in)), off+24)
	return string(in[off:end])
}

// startXRef returns the offset the last startxref of in names (§7.5.5),
// looked for in the last 2048 bytes.
func startXRef(in *source) (int64, error) {
	tail := in.read(in.size-2048, in.size)
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return 0, fmt.Errorf("%w: no startxref in the last 2048 bytes (ends %q)", ErrMalformed, snippet(tail, int64(max(0, len(tail)-24))))
	}
	rest := bytes.TrimLeft(tail[i+len("startxref"):], " \t\r\n\f\x00")
	n := 0
	for n < len(rest) && n < 19 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	off, err := strconv.ParseInt(string(rest[:n]), 10, 64)
	if err != nil || off <= 0 || off >= in.size {
		return 0, fmt.Errorf("%w: startxref %q is not an offset inside the %d-byte file", ErrMalformed, snippet(rest, 0), in.size)
	}
	return off, nil
}

// maxTrailerBytes bounds the text read for one trailer or cross-reference
// stream dictionary.
const maxTrailerBytes = 64 << 10

// checkXRefTable checks the syntax of a cross-reference table section after
// its "xref" keyword (§7.5.4): subsections of entries, then the trailer
// dictionary with an integer /Size (§7.5.5), which it returns. pdffile
// reconstructs a broken section by scanning the file, which suits reading
// but not appending.
func checkXRefTable(b []byte) (types.Dict, error) {
	const ws = " \t\r\n\f\x00"
	number := func() (int, bool) {
		n := 0
		for n < len(b) && n < 10 && b[n] >= '0' && b[n] <= '9' {
			n++
		}
		v, err := strconv.Atoi(string(b[:n]))
		b = b[n:]
		return v, err == nil
	}
	for subsections := 0; ; subsections++ {
		b = bytes.TrimLeft(b, ws)
		if bytes.HasPrefix(b, []byte("trailer")) {
			if subsections == 0 {
				return nil, errors.New("no subsection")
			}
			break
		}
		first, ok1 := number()
		b = bytes.TrimLeft(b, " ")
		count, ok2 := number()
		if !ok1 || !ok2 || count > len(b)/18 {
			return nil, fmt.Errorf("subsection %d header %q", subsections+1, snippet(b, 0))
		}
		for i := range count {
			// nnnnnnnnnn ggggg n|f, with the EOL writers vary (§7.5.4 wants two bytes).
			b = bytes.TrimLeft(b, ws)
			_, okOff := number()
			b = bytes.TrimLeft(b, " ")
			_, okGen := number()
			b = bytes.TrimLeft(b, " ")
			if !okOff || !okGen || len(b) == 0 || (b[0] != 'n' && b[0] != 'f') {
				return nil, fmt.Errorf("entry for object %d: %q", first+i, snippet(b, 0))
			}
			b = b[1:]
		}
	}
	b = b[len("trailer"):]
	end := bytes.Index(b[:min(len(b), maxTrailerBytes)], []byte("startxref"))
	if end < 0 {
		return nil, fmt.Errorf("trailer not followed by startxref within %d bytes", maxTrailerBytes)
	}
	text := string(b[:end])
	o, err := model.ParseObject(&text)
	if err != nil {
		return nil, fmt.Errorf("trailer: %v", err)
	}
	d, ok := o.(types.Dict)
	if !ok {
		return nil, fmt.Errorf("trailer is a %T", o)
	}
	if _, ok := d["Size"].(types.Integer); !ok {
		return nil, fmt.Errorf("trailer /Size is %v", d["Size"])
	}
	return d, nil
}

// objectHeader parses "nr gen obj" at the start of b and returns the
// object number and the length of the header.
func objectHeader(b []byte) (nr, n int, ok bool) {
	var nums [2]int
	rest := b
	for k := range nums {
		n := 0
		for n < len(rest) && n < 10 && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 {
			return 0, 0, false
		}
		v, err := strconv.Atoi(string(rest[:n]))
		if err != nil {
			return 0, 0, false
		}
		nums[k] = v
		rest = bytes.TrimLeft(rest[n:], " \t\r\n\f\x00")
	}
	if !bytes.HasPrefix(rest, []byte("obj")) {
		return 0, 0, false
	}
	return nums[0], len(b) - len(rest) + len("obj"), true
}

// target is what Seal needs from the input document, read from it
// through pdffile: the trailer, the catalog, the interactive form, the
// target page and the path down the page tree to it.
type target struct {
	nextObj    int // first unused object number
	root       types.IndirectRef
	info       *types.IndirectRef
	id         types.Array
	prevXRef   int64 // offset of the input's last cross-reference section
	xrefStream bool  // that section is a stream: write the update's as one too
	// complete is set for a file read with repairs of its offsets: the
	// update's cross-reference section then lists every object of the
	// file where it really is, and has no /Prev (see xrefRepairs).
	complete []xrefEntry

	catalog     types.Dict         // copy of the catalog
	acroForm    types.Dict         // copy of the interactive form dictionary, or a new one
	acroFormRef *types.IndirectRef // non-nil when /AcroForm is an indirect object
	fields      types.Array        // resolved /Fields
	fieldNames  map[string]bool    // partial names of the top-level fields

	pdfaPart int // the PDF/A part the catalog's XMP metadata claims (pdfaid:part), 0 for none

	pageRef    types.IndirectRef
	pageDict   types.Dict  // copy of the page dictionary's entries, whose values are shared: only /Annots is set
	pageAnnots types.Array // resolved /Annots
	pageBox    box         // CropBox clipped to MediaBox, default user space
	pageRotate int         // /Rotate: 0, 90, 180 or 270
	userUnit   float64     // /UserUnit: size of a user space unit in points (§14.11.2.1)
}

// box is a rectangle in default user space (points), normalised so that
// llx < urx and lly < ury.
type box struct{ llx, lly, urx, ury float64 }

func (b box) width() float64  { return b.urx - b.llx }
func (b box) height() float64 { return b.ury - b.lly }

// newObjects bounds the objects one update adds, for numbering them below
// the limit of ISO 32000-1 Annex C.
const newObjects = 16

// sealTarget reads from f what sealing page pageNr needs, checking the
// page tree up to page lastPage (0: every page; checkPageTree). The
// input's cross-reference chain has been checked (checkRevisionChain).
func sealTarget(in *source, f *pdffile.File, pageNr, lastPage int) (*target, error) {
	t := &target{}
	err := guard("page lookup", func() error {
		revs := f.Revisions()
		if len(revs) == 0 || len(revs[len(revs)-1].Sections) == 0 {
			return fmt.Errorf("%w: no cross-reference section", ErrMalformed)
		}
		last := revs[len(revs)-1].Sections[0]
		if last.Kind == pdffile.SectionScan {
			return fmt.Errorf("%w: the cross-reference data had to be reconstructed", ErrMalformed)
		}
		t.prevXRef, t.xrefStream = last.Offset, last.Kind == pdffile.SectionStream
		tr := f.Trailer()
		root, ok := tr["Root"].(types.IndirectRef)
		if !ok {
			return fmt.Errorf("%w: trailer /Root is %s, not an indirect reference", ErrMalformed, pdfString(tr["Root"]))
		}
		t.root = root
		if info, ok := tr["Info"].(types.IndirectRef); ok {
			t.info = &info
		}
		if id, ok := tr["ID"].(types.Array); ok {
			t.id = id.Clone().(types.Array)
		}
		var err error
		if t.nextObj, err = nextObject(f); err != nil {
			return err
		}
		if err := t.readCatalog(f); err != nil {
			return err
		}
		if err := checkPageTree(f, t.catalog, lastPage); err != nil {
			return fmt.Errorf("%w: page tree: %v", ErrMalformed, err)
		}
		if p, sig := certification(f, t.catalog); p == 1 {
			return fmt.Errorf("%w: signature %q certifies the document with DocMDP permission P=1 (ISO 32000-1 §12.8.2.2): no change, a seal included, is permitted", ErrNoChangesPermitted, sig)
		}
		if err := t.readPage(f, pageNr); err != nil {
			return err
		}
		t.complete, err = xrefRepairs(in, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// nextObject returns the first object number the update may use: the
// input's XRefSize, or, when a trailer claims a /Size near the limit of
// ISO 32000-1 Annex C (8,388,607 objects), one more than the highest
// object number in use.
func nextObject(f *pdffile.File) (int, error) {
	if n := f.XRefSize(); n+newObjects <= maxObjectNumber {
		return max(n, 1), nil
	}
	nrs, err := f.ObjectNumbers()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	n := 1
	if len(nrs) > 0 {
		n = nrs[len(nrs)-1] + 1
	}
	if n+newObjects > maxObjectNumber {
		return 0, fmt.Errorf("%w: object %d is in use: no room for the seal's objects below the %d of ISO 32000-1 Annex C", ErrMalformed, n-1, maxObjectNumber)
	}
	return n, nil
}

// maxObjectNumber is the largest object number ISO 32000-1 Annex C (table
// C.1) lets a conforming file use.
const maxObjectNumber = 8_388_607

func (t *target) readCatalog(f *pdffile.File) error {
	cat, err := f.Catalog()
	if err != nil || cat == nil {
		return fmt.Errorf("%w: catalog %s: %v", ErrMalformed, t.root.PDFString(), err)
	}
	t.catalog = cat.Clone().(types.Dict)
	t.acroForm = types.Dict{}
	if o, ok := t.catalog.Find("AcroForm"); ok && o != nil {
		if ref, isRef := o.(types.IndirectRef); isRef {
			t.acroFormRef = &ref
		}
		d, err := resolveDict(f, o)
		if err != nil {
			return fmt.Errorf("%w: /AcroForm: %v", ErrMalformed, err)
		}
		if d != nil {
			t.acroForm = d.Clone().(types.Dict)
		}
	}
	if o, ok := t.acroForm.Find("Fields"); ok && o != nil {
		a, err := resolveArray(f, o)
		if err != nil {
			return fmt.Errorf("%w: /AcroForm /Fields: %v", ErrMalformed, err)
		}
		if len(a) > maxArrayLen {
			return fmt.Errorf("%w: /AcroForm /Fields has %d entries", ErrMalformed, len(a))
		}
		t.fields = a.Clone().(types.Array)
	}
	t.pdfaPart = pdfaPart(f, t.catalog)
	t.fieldNames = make(map[string]bool, len(t.fields))
	for _, o := range t.fields {
		d, err := resolveDict(f, o)
		if err != nil || d == nil {
			continue // a broken field does not stop sealing; it only cannot clash by name
		}
		if name, err := resolveText(f, d["T"]); err == nil {
			t.fieldNames[name] = true
		}
	}
	return nil
}

// readPage reads page pageNr, found by going down the page tree (§7.7.3),
// with its inherited attributes (§7.7.3.4).
func (t *target) readPage(f *pdffile.File, pageNr int) error {
	d, ref, attrs, err := f.Page(pageNr)
	switch {
	case errors.Is(err, pdffile.ErrNoPage):
		return fmt.Errorf("%w: %v", ErrNoPage, err)
	case err != nil:
		return fmt.Errorf("%w: page %d: %v", ErrMalformed, pageNr, err)
	}
	t.pageRef = ref
	t.pageDict = maps.Clone(d) // a deep copy would copy the page's resources, for nothing
	if o, ok := t.pageDict.Find("Annots"); ok && o != nil {
		a, err := resolveArray(f, o)
		if err != nil {
			return fmt.Errorf("%w: page %d /Annots: %v", ErrMalformed, pageNr, err)
		}
		if len(a) > maxArrayLen {
			return fmt.Errorf("%w: page %d /Annots has %d entries", ErrMalformed, pageNr, len(a))
		}
		t.pageAnnots = slices.Clone(a)
	}

	if err := checkContents(f, t.pageDict["Contents"]); err != nil {
		return fmt.Errorf("%w: page %d /Contents: %v", ErrMalformed, pageNr, err)
	}

	mb, ok := rectangle(attrs.MediaBox)
	if !ok {
		return fmt.Errorf("%w: page %d has no usable /MediaBox (%s)", ErrMalformed, pageNr, pdfString(attrs.MediaBox))
	}
	t.pageBox = mb
	if cb, ok := rectangle(attrs.CropBox); ok {
		// §14.11.2: the crop box is clipped to the media box.
		cb = box{max(cb.llx, mb.llx), max(cb.lly, mb.lly), min(cb.urx, mb.urx), min(cb.ury, mb.ury)}
		if cb.width() > 0 && cb.height() > 0 {
			t.pageBox = cb
		}
	}
	if rot := attrs.Rotate; rot != nil {
		r, ok := rot.(types.Integer)
		if !ok || int(r)%90 != 0 {
			return fmt.Errorf("%w: page %d /Rotate %s is not a multiple of 90", ErrMalformed, pageNr, pdfString(rot))
		}
		t.pageRotate = ((int(r) % 360) + 360) % 360
	}
	t.userUnit = 1
	if u, ok := number(attrs.UserUnit); ok && u > 0 && !math.IsInf(u, 0) {
		t.userUnit = u
	}
	return nil
}

// checkContents finds the content streams of the page the seal goes on
// (§7.8.2): a stream, an array of streams, or nothing (a reference to a
// missing object included). Their data is not
// read, only located; one whose /Length does not lead to endstream is a
// repair (pdffile.RepairStreamLength) that xrefRepairs refuses, as readers
// that trust /Length and readers that look for endstream show different
// pages.
func checkContents(f *pdffile.File, contents types.Object) error {
	o, err := f.Resolve(contents)
	if err != nil {
		return err
	}
	streams := types.Array{contents}
	switch v := o.(type) {
	case nil:
		return nil
	case types.StreamDict:
	case types.Array:
		if len(v) > maxArrayLen {
			return fmt.Errorf("%d content streams", len(v))
		}
		streams = v
	default:
		return fmt.Errorf("%s is %T, not a content stream", pdfString(contents), o)
	}
	for _, s := range streams {
		if _, isRef := s.(types.IndirectRef); !isRef {
			return fmt.Errorf("%s is not an indirect reference to a stream (§7.3.8)", pdfString(s))
		}
		if v, err := f.Resolve(s); err != nil || v == nil {
			continue // a reference to nothing is null (§7.3.10): no content
		}
		if _, _, err := f.RawStream(s); err != nil {
			return err
		}
	}
	return nil
}

// rectangle reads a PDF rectangle (§7.9.5) whose numbers are resolved,
// and normalises it.
func rectangle(o types.Object) (box, bool) {
	a, ok := o.(types.Array)
	if !ok || len(a) != 4 {
		return box{}, false
	}
	var v [4]float64
	for i, e := range a {
		f, ok := number(e)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return box{}, false
		}
		v[i] = f
	}
	b := box{min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3])}
	return b, b.width() > 0 && b.height() > 0
}

// resolveDict resolves o (§7.3.10) to a dictionary, or nil for null. A
// stream is not a dictionary here.
func resolveDict(f *pdffile.File, o types.Object) (types.Dict, error) {
	v, err := f.Resolve(o)
	if err != nil {
		return nil, err
	}
	switch d := v.(type) {
	case nil:
		return nil, nil
	case types.Dict:
		return d, nil
	}
	return nil, fmt.Errorf("%s is %T, not a dictionary", pdfString(o), v)
}

// resolveArray resolves o to an array, or nil for null.
func resolveArray(f *pdffile.File, o types.Object) (types.Array, error) {
	v, err := f.Resolve(o)
	if err != nil {
		return nil, err
	}
	switch a := v.(type) {
	case nil:
		return nil, nil
	case types.Array:
		return a, nil
	}
	return nil, fmt.Errorf("%s is %T, not an array", pdfString(o), v)
}

// resolveInteger resolves o to an integer; ok is false for anything else,
// null included.
func resolveInteger(f *pdffile.File, o types.Object) (n int, ok bool) {
	v, err := f.Resolve(o)
	if i, isInt := v.(types.Integer); err == nil && isInt {
		return int(i), true
	}
	return 0, false
}

// resolveText resolves o to a text string (§7.9.2.2), decoded.
func resolveText(f *pdffile.File, o types.Object) (string, error) {
	v, err := f.Resolve(o)
	if err != nil {
		return "", err
	}
	return model.Text(v)
}

// pdfaPart returns the part of ISO 19005 (PDF/A) the document claims to
// conform to: the pdfaid:part property of the XMP metadata stream the
// catalog's /Metadata names (§14.3.2; ISO 19005-1 §6.7.11), as an element
// or an attribute, 0 when there is none or it cannot be read. Only its
// first maxXMPScan bytes are read: the identification schema comes first
// in the packets producers write.
func pdfaPart(f *pdffile.File, catalog types.Dict) int {
	o, ok := catalog.Find("Metadata")
	if !ok || o == nil {
		return 0
	}
	_, r, err := f.StreamReader(o)
	if err != nil {
		return 0
	}
	xmp, _ := io.ReadAll(io.LimitReader(r, maxXMPScan))
	m := pdfaPartRE.FindSubmatch(xmp)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// maxXMPScan bounds what pdfaPart reads of a metadata stream.
const maxXMPScan = 64 << 10

// pdfaPartRE matches <pdfaid:part>N</pdfaid:part> and pdfaid:part="N".
var pdfaPartRE = regexp.MustCompile(`pdfaid:part\s*(?:>|=\s*["'])\s*([0-9]{1,2})\s*[<"']`)
