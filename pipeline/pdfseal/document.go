package pdfseal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// DefaultMaxInputSize is the input size limit of [Seal] when
// Options.MaxInputSize is zero.
const DefaultMaxInputSize = 64 << 20

// Bounds on walking hostile object graphs. pdfcpu bounds its own parsing
// (model.ResourceLimits); these bound this package's walks over the result.
const (
	maxTreeDepth  = 32     // /Parent chains, /Kids nesting
	maxFieldNodes = 10_000 // form field dictionaries visited
	maxArrayLen   = 100_000
)

// checkInput checks what is cheap to check before parsing: the size limit
// and the header.
func checkInput(in []byte, limit int64) error {
	if int64(len(in)) > limit {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(in), limit)
	}
	if len(in) == 0 {
		return fmt.Errorf("%w: empty input", ErrMalformed)
	}
	if i := bytes.Index(in[:min(len(in), 1024)], []byte("%PDF-")); i < 0 {
		return fmt.Errorf("%w: no %%PDF- header in the first 1024 bytes (starts %q)", ErrMalformed, snippet(in, 0))
	}
	return nil
}

// openPDF parses in with pdfcpu under a size limit and a panic guard. It
// does not decrypt: an encrypted file yields ErrEncrypted.
func openPDF(ctx context.Context, in []byte, limit int64) (*model.Context, error) {
	if err := checkInput(in, limit); err != nil {
		return nil, err
	}
	conf := readConfiguration(limit)
	var pc *model.Context
	err := guard("read", func() error {
		var err error
		pc, err = pdfcpu.ReadWithContext(ctx, bytes.NewReader(in), conf)
		return err
	})
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, pdfcpu.ErrWrongPassword):
		return nil, fmt.Errorf("%w: a password is needed to open it (%v)", ErrEncrypted, err)
	case errors.Is(err, ErrMalformed):
		return nil, err
	default:
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if pc.XRefTable.Encrypt != nil {
		return nil, fmt.Errorf("%w: trailer /Encrypt %s", ErrEncrypted, pc.XRefTable.Encrypt.PDFString())
	}
	return pc, nil
}

// readConfiguration is a pdfcpu configuration for reading only, built here
// rather than by model.NewDefaultConfiguration, which creates a
// configuration directory on disk. Resource limits scale with the input
// limit.
func readConfiguration(limit int64) *model.Configuration {
	lim := model.DefaultResourceLimits()
	lim.MaxStreamBytes = limit
	lim.MaxDecodeBytes = max(4*limit, 64<<20)
	lim.MaxObjectCount = 1_000_000
	lim.MaxXRefEntries = 1_000_000
	lim.MaxObjectStreamCount = 100_000
	lim.MaxRecursionDepth = 64
	return &model.Configuration{
		Reader15:       true,
		ValidationMode: model.ValidationRelaxed,
		Eol:            types.EolLF,
		Limits:         lim,
	}
}

// guard runs f, turning a panic into ErrMalformed. Every call into pdfcpu on
// hostile data goes through it.
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

// lastXRef returns the offset the final startxref names (§7.5.5) and
// whether the section there is a cross-reference stream. An incremental
// update chains to that section with /Prev, so it must really be there:
// Seal refuses a file whose startxref is wrong even when pdfcpu could
// repair it by scanning. The rest of the chain is checked by
// checkXRefChain.
func lastXRef(in []byte, pc *model.Context) (off int64, stream bool, err error) {
	off, err = startXRef(in)
	if err != nil {
		return 0, false, err
	}
	at := bytes.TrimLeft(in[off:], " \t\r\n\f\x00")
	if bytes.HasPrefix(at, []byte("xref")) {
		if _, err := checkXRefTable(at[len("xref"):]); err != nil {
			return 0, false, fmt.Errorf("%w: the cross-reference table at %d: %v", ErrMalformed, off, err)
		}
		return off, false, nil
	}
	// A stream must be one pdfcpu read as such, from this offset: not an
	// object it found by scanning a file whose cross-references it had to
	// rebuild.
	if nr, _, ok := objectHeader(at); ok {
		e, found := pc.XRefTable.Table[nr]
		if found && e != nil && e.Offset != nil && *e.Offset == off {
			if _, isXRef := e.Object.(types.XRefStreamDict); isXRef {
				return off, true, nil
			}
		}
	}
	return 0, false, fmt.Errorf("%w: startxref %d points to %q, not to a readable cross-reference section", ErrMalformed, off, snippet(in, off))
}

// startXRef returns the offset the last startxref of in names (§7.5.5),
// looked for in the last 2048 bytes.
func startXRef(in []byte) (int64, error) {
	tail := in[max(0, len(in)-2048):]
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return 0, fmt.Errorf("%w: no startxref in the last 2048 bytes (ends %q)", ErrMalformed, snippet(in, int64(max(0, len(in)-24))))
	}
	rest := bytes.TrimLeft(tail[i+len("startxref"):], " \t\r\n\f\x00")
	n := 0
	for n < len(rest) && n < 19 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	off, err := strconv.ParseInt(string(rest[:n]), 10, 64)
	if err != nil || off <= 0 || off >= int64(len(in)) {
		return 0, fmt.Errorf("%w: startxref %q is not an offset inside the %d-byte file", ErrMalformed, snippet(rest, 0), len(in))
	}
	return off, nil
}

// maxTrailerBytes bounds the text read for one trailer or cross-reference
// stream dictionary.
const maxTrailerBytes = 64 << 10

// checkXRefTable checks the syntax of a cross-reference table section after
// its "xref" keyword (§7.5.4): subsections of entries, then the trailer
// dictionary with an integer /Size (§7.5.5), which it returns. pdfcpu
// rebuilds a broken section by scanning the file, which suits reading but
// not appending.
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

// target is what Seal needs from the input document, extracted from the
// pdfcpu model under guard so that writing touches plain data only.
type target struct {
	nextObj    int // first unused object number
	root       types.IndirectRef
	info       *types.IndirectRef
	id         types.Array
	prevXRef   int64 // offset of the input's last cross-reference section
	xrefStream bool  // that section is a stream: write the update's as one too

	catalog     types.Dict         // copy of the catalog
	acroForm    types.Dict         // copy of the interactive form dictionary, or a new one
	acroFormRef *types.IndirectRef // non-nil when /AcroForm is an indirect object
	fields      types.Array        // resolved /Fields
	fieldNames  map[string]bool    // partial names of the top-level fields

	pageRef    types.IndirectRef
	pageDict   types.Dict  // copy of the page dictionary
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

// sealTarget extracts from pc what sealing page pageNr needs.
func sealTarget(in []byte, pc *model.Context, pageNr int) (*target, error) {
	t := &target{}
	err := guard("page lookup", func() error {
		x := pc.XRefTable
		var err error
		if t.prevXRef, t.xrefStream, err = lastXRef(in, pc); err != nil {
			return err
		}
		if x.Root == nil {
			return fmt.Errorf("%w: trailer has no /Root", ErrMalformed)
		}
		t.root, t.info, t.id = *x.Root, x.Info, x.ID
		t.nextObj = 1
		if x.Size != nil {
			t.nextObj = *x.Size
		}
		for nr := range x.Table {
			t.nextObj = max(t.nextObj, nr+1)
		}
		if err := t.readCatalog(x); err != nil {
			return err
		}
		if err := checkPageTree(x, t.catalog); err != nil {
			return fmt.Errorf("%w: page tree: %v", ErrMalformed, err)
		}
		if p, sig := certification(x, t.catalog); p == 1 {
			return fmt.Errorf("%w: signature %q certifies the document with DocMDP permission P=1 (ISO 32000-1 §12.8.2.2): no change, a seal included, is permitted", ErrNoChangesPermitted, sig)
		}
		return t.readPage(x, pageNr)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (t *target) readCatalog(x *model.XRefTable) error {
	cat, err := x.Catalog()
	if err != nil || cat == nil {
		return fmt.Errorf("%w: catalog %s: %v", ErrMalformed, t.root.PDFString(), err)
	}
	t.catalog = cat.Clone().(types.Dict)
	t.acroForm = types.Dict{}
	if o, ok := t.catalog.Find("AcroForm"); ok && o != nil {
		if ref, isRef := o.(types.IndirectRef); isRef {
			t.acroFormRef = &ref
		}
		d, err := x.DereferenceDict(o)
		if err != nil {
			return fmt.Errorf("%w: /AcroForm: %v", ErrMalformed, err)
		}
		if d != nil {
			t.acroForm = d.Clone().(types.Dict)
		}
	}
	if o, ok := t.acroForm.Find("Fields"); ok && o != nil {
		a, err := x.DereferenceArray(o)
		if err != nil {
			return fmt.Errorf("%w: /AcroForm /Fields: %v", ErrMalformed, err)
		}
		if len(a) > maxArrayLen {
			return fmt.Errorf("%w: /AcroForm /Fields has %d entries", ErrMalformed, len(a))
		}
		t.fields = a.Clone().(types.Array)
	}
	t.fieldNames = make(map[string]bool, len(t.fields))
	for _, f := range t.fields {
		d, err := x.DereferenceDict(f)
		if err != nil || d == nil {
			continue // a broken field does not stop sealing; it only cannot clash by name
		}
		if name, err := x.DereferenceText(d["T"]); err == nil {
			t.fieldNames[name] = true
		}
	}
	return nil
}

func (t *target) readPage(x *model.XRefTable, pageNr int) error {
	if err := x.EnsurePageCount(); err != nil {
		return fmt.Errorf("%w: page tree: %v", ErrMalformed, err)
	}
	if pageNr < 1 || pageNr > x.PageCount {
		return fmt.Errorf("%w: page %d requested, the document has %d", ErrNoPage, pageNr, x.PageCount)
	}
	d, ref, _, err := x.PageDict(pageNr, false)
	if err != nil || d == nil || ref == nil {
		return fmt.Errorf("%w: page %d: %v", ErrMalformed, pageNr, err)
	}
	t.pageRef = *ref
	t.pageDict = d.Clone().(types.Dict)
	if o, ok := t.pageDict.Find("Annots"); ok && o != nil {
		a, err := x.DereferenceArray(o)
		if err != nil {
			return fmt.Errorf("%w: page %d /Annots: %v", ErrMalformed, pageNr, err)
		}
		if len(a) > maxArrayLen {
			return fmt.Errorf("%w: page %d /Annots has %d entries", ErrMalformed, pageNr, len(a))
		}
		t.pageAnnots = a.Clone().(types.Array)
	}

	// MediaBox, CropBox and Rotate are inheritable (§7.7.3.4, table 30).
	inherited := func(key string) (types.Object, error) { return inheritedAttribute(x, d, key) }
	media, err := inherited("MediaBox")
	if err != nil {
		return fmt.Errorf("%w: page %d /MediaBox: %v", ErrMalformed, pageNr, err)
	}
	mb, ok := rectangle(x, media)
	if !ok {
		return fmt.Errorf("%w: page %d has no usable /MediaBox (%v)", ErrMalformed, pageNr, media)
	}
	t.pageBox = mb
	if crop, err := inherited("CropBox"); err == nil && crop != nil {
		if cb, ok := rectangle(x, crop); ok {
			// §14.11.2: the crop box is clipped to the media box.
			cb = box{max(cb.llx, mb.llx), max(cb.lly, mb.lly), min(cb.urx, mb.urx), min(cb.ury, mb.ury)}
			if cb.width() > 0 && cb.height() > 0 {
				t.pageBox = cb
			}
		}
	}
	if rot, err := inherited("Rotate"); err == nil && rot != nil {
		r, ok := rot.(types.Integer)
		if !ok || int(r)%90 != 0 {
			return fmt.Errorf("%w: page %d /Rotate %v is not a multiple of 90", ErrMalformed, pageNr, rot)
		}
		t.pageRotate = ((int(r) % 360) + 360) % 360
	}
	t.userUnit = 1
	if u, ok := t.pageDict.Find("UserUnit"); ok && u != nil {
		if f, err := x.DereferenceNumber(u); err == nil && f > 0 && !math.IsInf(f, 0) {
			t.userUnit = f
		}
	}
	return nil
}

// inheritedAttribute looks key up in page and then up its /Parent chain,
// at most maxTreeDepth levels.
func inheritedAttribute(x *model.XRefTable, page types.Dict, key string) (types.Object, error) {
	node := page
	for depth := 0; node != nil && depth < maxTreeDepth; depth++ {
		if o, ok := node.Find(key); ok && o != nil {
			return x.Dereference(o)
		}
		parent, ok := node.Find("Parent")
		if !ok {
			return nil, nil
		}
		var err error
		if node, err = x.DereferenceDict(parent); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// rectangle reads a PDF rectangle (§7.9.5) and normalises it.
func rectangle(x *model.XRefTable, o types.Object) (box, bool) {
	a, ok := o.(types.Array)
	if !ok || len(a) != 4 {
		return box{}, false
	}
	var v [4]float64
	for i, e := range a {
		f, err := x.DereferenceNumber(e)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return box{}, false
		}
		v[i] = f
	}
	b := box{min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3])}
	return b, b.width() > 0 && b.height() > 0
}
