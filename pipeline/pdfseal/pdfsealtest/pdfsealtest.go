// Package pdfsealtest writes PDF documents for tests: small ones object
// by object (Build), and later revisions of documents: incremental
// updates (ISO 32000-1 §7.5.6) that change a sealed document the way an
// attacker or another signer would, such as a black rectangle drawn over
// a page after it was sealed.
package pdfsealtest

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Edit is an incremental update under construction. Its methods read the
// document as it stands and fail the test on error.
type Edit struct {
	t       testing.TB
	pdf     []byte
	x       *model.XRefTable
	objs    map[int][]byte // object number → text between "obj" and "endobj"; nil frees it
	trailer types.Dict     // entries overriding the trailer's
	next    int
}

// New starts an update of pdf.
func New(t testing.TB, pdf []byte) *Edit {
	t.Helper()
	conf := &model.Configuration{Reader15: true, ValidationMode: model.ValidationRelaxed, Limits: model.DefaultResourceLimits()}
	pc, err := pdfcpu.ReadWithContext(context.Background(), bytes.NewReader(pdf), conf)
	if err != nil {
		t.Fatalf("pdfsealtest: reading the document: %v", err)
	}
	if err := pc.EnsurePageCount(); err != nil {
		t.Fatalf("pdfsealtest: page tree: %v", err)
	}
	return &Edit{t: t, pdf: pdf, x: pc.XRefTable, objs: map[int][]byte{}, next: *pc.XRefTable.Size}
}

// Root is the object number of the document's catalog.
func (e *Edit) Root() int { return e.x.Root.ObjectNumber.Value() }

// Next is the number the next added object gets.
func (e *Edit) Next() int { return e.next }

// Dict returns a copy of dictionary object nr.
func (e *Edit) Dict(nr int) types.Dict {
	e.t.Helper()
	d, err := e.x.DereferenceDict(*types.NewIndirectRef(nr, 0))
	if err != nil || d == nil {
		e.t.Fatalf("pdfsealtest: object %d is not a dictionary: %v", nr, err)
	}
	return d.Clone().(types.Dict)
}

// Array resolves o to a copy of an array; nil if it is none.
func (e *Edit) Array(o types.Object) types.Array {
	a, err := e.x.DereferenceArray(o)
	if err != nil || a == nil {
		return nil
	}
	return a.Clone().(types.Array)
}

// Page returns the object number of page n (from 1) and a copy of its
// dictionary.
func (e *Edit) Page(n int) (int, types.Dict) {
	e.t.Helper()
	d, ref, _, err := e.x.PageDict(n, false)
	if err != nil || ref == nil {
		e.t.Fatalf("pdfsealtest: page %d: %v", n, err)
	}
	return ref.ObjectNumber.Value(), d.Clone().(types.Dict)
}

// Field returns the object number of the form field named name (its /T).
func (e *Edit) Field(name string) int {
	e.t.Helper()
	nrs := make([]int, 0, len(e.x.Table))
	for nr := range e.x.Table {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	for _, nr := range nrs {
		d, err := e.x.DereferenceDict(*types.NewIndirectRef(nr, 0))
		if err != nil || d == nil {
			continue
		}
		if t, err := model.Text(d["T"]); err == nil && t == name {
			return nr
		}
	}
	e.t.Fatalf("pdfsealtest: no field %q", name)
	return 0
}

// Set redefines object nr as o.
func (e *Edit) Set(nr int, o types.Object) *Edit {
	e.objs[nr] = []byte(o.PDFString())
	return e
}

// SetText redefines object nr from its text, which may be a stream.
func (e *Edit) SetText(nr int, body string) *Edit {
	e.objs[nr] = []byte(body)
	return e
}

// Trailer sets an entry of the update's trailer (§7.5.5), such as /Root.
func (e *Edit) Trailer(key string, o types.Object) *Edit {
	if e.trailer == nil {
		e.trailer = types.Dict{}
	}
	e.trailer[key] = o
	return e
}

// Free deletes object nr: the update lists it as free.
func (e *Edit) Free(nr int) *Edit {
	e.objs[nr] = nil
	return e
}

// Add defines a new object from its text and returns a reference to it.
func (e *Edit) Add(body string) types.IndirectRef {
	nr := e.next
	e.next++
	e.objs[nr] = []byte(body)
	return *types.NewIndirectRef(nr, 0)
}

// AddStream defines a new stream object from its dictionary's entries and
// its (unfiltered) data.
func (e *Edit) AddStream(entries, data string) types.IndirectRef {
	return e.Add(Stream(entries, data))
}

// Stream writes a stream object's text.
func Stream(entries, data string) string {
	return fmt.Sprintf("<<%s/Length %d>>\nstream\n%s\nendstream", entries, len(data), data)
}

var startxrefRe = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)

// Bytes returns the document followed by the update: the objects, a
// cross-reference table (§7.5.4) and a trailer chained to the document's
// last cross-reference section with /Prev.
func (e *Edit) Bytes() []byte {
	e.t.Helper()
	m := startxrefRe.FindSubmatch(e.pdf)
	if m == nil {
		e.t.Fatal("pdfsealtest: the document does not end with startxref and an end-of-file marker")
	}
	prev, _ := strconv.Atoi(string(m[1]))
	var b, table bytes.Buffer
	b.Write(e.pdf)
	nrs := make([]int, 0, len(e.objs))
	for nr := range e.objs {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	size := *e.x.Size
	for _, nr := range nrs {
		size = max(size, nr+1)
		if e.objs[nr] == nil {
			fmt.Fprintf(&table, "%d 1\n0000000000 00001 f\r\n", nr)
			continue
		}
		fmt.Fprintf(&table, "%d 1\n%010d 00000 n\r\n", nr, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", nr, e.objs[nr])
	}
	trailer := types.Dict{"Size": types.Integer(size), "Root": *e.x.Root, "Prev": types.Integer(prev)}
	if e.x.Info != nil {
		trailer["Info"] = *e.x.Info
	}
	if len(e.x.ID) == 2 {
		trailer["ID"] = e.x.ID
	}
	for k, v := range e.trailer {
		trailer[k] = v
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n%strailer\n%s\nstartxref\n%d\n%%%%EOF\n", table.Bytes(), trailer.PDFString(), xref)
	return b.Bytes()
}

// BlackBox is the rectangle Blackout paints black, in default user space:
// llx, lly, width, height.
var BlackBox = [4]float64{40, 600, 515, 200}

// Blackout returns pdf with a revision that paints BlackBox black on page
// n: content streams added to the page's /Contents, the first and last
// wrapping the page's own in q … Q (§8.4.2) so that nothing it leaves set
// moves or clips the rectangle.
func Blackout(t testing.TB, pdf []byte, n int) []byte {
	t.Helper()
	e := New(t, pdf)
	nr, page := e.Page(n)
	contents := types.Array{e.AddStream("", "q")}
	if c, ok := page["Contents"].(types.Array); ok {
		contents = append(contents, c...)
	} else {
		contents = append(contents, page["Contents"])
	}
	b := BlackBox
	page["Contents"] = append(contents, e.AddStream("", fmt.Sprintf("Q q 0 g %g %g %g %g re f Q", b[0], b[1], b[2], b[3])))
	return e.Set(nr, page).Bytes()
}

// AddAnnotation returns pdf with a revision that adds a filled black
// square annotation (§12.5.6.8) over the top of page n.
func AddAnnotation(t testing.TB, pdf []byte, n int) []byte {
	t.Helper()
	e := New(t, pdf)
	nr, page := e.Page(n)
	square := e.Add(fmt.Sprintf("<</Type/Annot/Subtype/Square/Rect[60 690 360 730]/C[0 0 0]/IC[0 0 0]/P %d 0 R>>", nr))
	page["Annots"] = append(e.Array(page["Annots"]), square)
	return e.Set(nr, page).Bytes()
}

// Build assembles a PDF with a classic cross-reference table: objs[i] is
// the body of object i+1 (between "obj" and "endobj"); trailer holds the
// trailer's entries other than /Size.
func Build(objs []string, trailer string) []byte {
	return Append([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), objs, trailer)
}

// Append is Build after the bytes of prefix, at offsets that count them.
func Append(prefix []byte, objs []string, trailer string) []byte {
	var b bytes.Buffer
	b.Write(prefix)
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", off)
	}
	fmt.Fprintf(&b, "trailer\n<</Size %d %s>>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailer, xref)
	return b.Bytes()
}
