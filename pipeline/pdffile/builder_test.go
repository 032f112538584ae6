package pdffile

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"slices"
	"strings"
)

// builder writes PDF files by hand for the tests: objects, object
// streams, and cross-reference sections of each kind, each update
// appended after the last.
type builder struct {
	buf  bytes.Buffer
	offs map[int]int64  // object → offset of its latest definition
	comp map[int][2]int // object → object stream, index
	last int64          // offset of the last cross-reference section
	eol  string         // end of line of table entries: two bytes by default
}

func newBuilder() *builder {
	b := &builder{offs: map[int]int64{}, comp: map[int][2]int{}, eol: " \n"}
	b.buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	return b
}

func (b *builder) off() int64 { return int64(b.buf.Len()) }

// obj writes object nr with the given text.
func (b *builder) obj(nr int, text string) *builder {
	b.offs[nr] = b.off()
	delete(b.comp, nr)
	fmt.Fprintf(&b.buf, "%d 0 obj\n%s\nendobj\n", nr, text)
	return b
}

// stream writes stream object nr; dict is the dictionary's entries
// without /Length, which is added.
func (b *builder) stream(nr int, dict string, data []byte) *builder {
	b.offs[nr] = b.off()
	delete(b.comp, nr)
	fmt.Fprintf(&b.buf, "%d 0 obj\n<< %s /Length %d >>\nstream\n", nr, dict, len(data))
	b.buf.Write(data)
	b.buf.WriteString("\nendstream\nendobj\n")
	return b
}

// objStm writes object stream nr holding the objects given, in order.
func (b *builder) objStm(nr int, objs map[int]string) *builder {
	nrs := make([]int, 0, len(objs))
	for n := range objs {
		nrs = append(nrs, n)
	}
	slices.Sort(nrs)
	var head, body strings.Builder
	for i, n := range nrs {
		fmt.Fprintf(&head, "%d %d ", n, body.Len())
		body.WriteString(objs[n])
		body.WriteString("\n")
		b.comp[n] = [2]int{nr, i}
		delete(b.offs, n)
	}
	data := deflate([]byte(head.String() + body.String()))
	b.stream(nr, fmt.Sprintf("/Type /ObjStm /N %d /First %d /Filter /FlateDecode", len(nrs), head.Len()), data)
	return b
}

func deflate(p []byte) []byte {
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	w.Write(p)
	w.Close()
	return out.Bytes()
}

// runs groups sorted object numbers into consecutive runs.
func runs(nrs []int) [][]int {
	var out [][]int
	for _, n := range nrs {
		if len(out) > 0 {
			r := out[len(out)-1]
			if r[len(r)-1] == n-1 {
				out[len(out)-1] = append(r, n)
				continue
			}
		}
		out = append(out, []int{n})
	}
	return out
}

// table writes a cross-reference table listing the objects nrs (0 means
// the head of the free list; numbers in free are written free), then the
// trailer with extra entries, /Prev to the last section, startxref and
// %%EOF. It returns the section's offset.
func (b *builder) table(nrs []int, free []int, trailer string) int64 {
	all := slices.Concat(nrs, free)
	slices.Sort(all)
	all = slices.Compact(all)
	at := b.off()
	b.buf.WriteString("xref\n")
	for _, r := range runs(all) {
		fmt.Fprintf(&b.buf, "%d %d\n", r[0], len(r))
		for _, n := range r {
			switch {
			case n == 0:
				fmt.Fprintf(&b.buf, "%010d %05d f%s", 0, 65535, b.eol)
			case slices.Contains(free, n):
				fmt.Fprintf(&b.buf, "%010d %05d f%s", 0, 1, b.eol)
			default:
				fmt.Fprintf(&b.buf, "%010d %05d n%s", b.offs[n], 0, b.eol)
			}
		}
	}
	prev := ""
	if b.last > 0 {
		prev = fmt.Sprintf(" /Prev %d", b.last)
	}
	fmt.Fprintf(&b.buf, "trailer\n<< %s%s >>\nstartxref\n%d\n%%%%EOF\n", trailer, prev, at)
	b.last = at
	return at
}

// xrefStream writes cross-reference stream nr with entries for nrs (in use
// or compressed as recorded, free if listed in free), /W [1 w 2], /Index
// when the numbers are not one run from 0, the PNG Up predictor when png
// is set, extra trailer entries and /Prev. It returns its offset.
func (b *builder) xrefStream(nr int, nrs, free []int, trailer string, w int, png bool) int64 {
	at := b.off()
	b.offs[nr] = at
	all := slices.Concat(nrs, free, []int{nr})
	slices.Sort(all)
	all = slices.Compact(all)
	var data []byte
	var index []string
	width := 1 + w + 2
	for _, r := range runs(all) {
		index = append(index, fmt.Sprintf("%d %d", r[0], len(r)))
		for _, n := range r {
			row := make([]byte, width)
			var typ, f2, f3 int64
			switch {
			case n == 0 || slices.Contains(free, n):
				typ, f3 = 0, 1
				if n == 0 {
					f3 = 65535
				}
			case b.comp[n] != [2]int{} && n != nr:
				typ, f2, f3 = 2, int64(b.comp[n][0]), int64(b.comp[n][1])
			default:
				typ, f2 = 1, b.offs[n]
			}
			row[0] = byte(typ)
			for k := range w {
				row[1+k] = byte(f2 >> (8 * (w - 1 - k)))
			}
			row[width-2], row[width-1] = byte(f3>>8), byte(f3)
			data = append(data, row...)
		}
	}
	parms := ""
	if png {
		var enc []byte
		prev := make([]byte, width)
		for i := 0; i < len(data); i += width {
			row := data[i : i+width]
			enc = append(enc, 2)
			for k := range row {
				enc = append(enc, row[k]-prev[k])
			}
			prev = row
		}
		data = enc
		parms = fmt.Sprintf(" /DecodeParms << /Predictor 12 /Columns %d >>", width)
	}
	idx := ""
	if len(index) != 1 || !strings.HasPrefix(index[0], "0 ") {
		idx = " /Index [" + strings.Join(index, " ") + "]"
	}
	prev := ""
	if b.last > 0 {
		prev = fmt.Sprintf(" /Prev %d", b.last)
	}
	size := all[len(all)-1] + 1
	for n := range b.offs {
		size = max(size, n+1)
	}
	data = deflate(data)
	fmt.Fprintf(&b.buf, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 %d 2]%s /Filter /FlateDecode%s %s%s /Length %d >>\nstream\n",
		nr, size, w, idx, parms, trailer, prev, len(data))
	b.buf.Write(data)
	fmt.Fprintf(&b.buf, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", at)
	b.last = at
	return at
}

// raw writes text as it is.
func (b *builder) raw(text string) *builder {
	b.buf.WriteString(text)
	return b
}

// compressed returns the numbers of the objects in object streams.
func (b *builder) compressed() []int {
	var nrs []int
	for n := range b.comp {
		nrs = append(nrs, n)
	}
	slices.Sort(nrs)
	return nrs
}

// bytes returns the file written so far.
func (b *builder) bytes() []byte { return bytes.Clone(b.buf.Bytes()) }

// keys returns the object numbers defined so far, sorted, 0 included.
func (b *builder) keys() []int {
	nrs := []int{0}
	for n := range b.offs {
		nrs = append(nrs, n)
	}
	slices.Sort(nrs)
	return nrs
}

// simpleDoc writes a three-page document: a catalog (1), a page tree root
// (2) with the MediaBox and Resources its pages inherit, an intermediate
// node (3) with /Rotate 90, pages 4, 5 and 6 (6 directly under the root),
// a content stream (7) and a font (8).
func simpleDoc(b *builder) *builder {
	return b.
		obj(1, "<< /Type /Catalog /Pages 2 0 R >>").
		obj(2, "<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 3 /MediaBox [0 0 612 792] /Resources << /Font << /F1 8 0 R >> >> >>").
		obj(3, "<< /Type /Pages /Parent 2 0 R /Kids [4 0 R 5 0 R] /Count 2 /Rotate 90 >>").
		obj(4, "<< /Type /Page /Parent 3 0 R /Contents 7 0 R >>").
		obj(5, "<< /Type /Page /Parent 3 0 R /Contents 7 0 R /CropBox [10 10 600 780] /UserUnit 2 >>").
		obj(6, "<< /Type /Page /Parent 2 0 R /Contents 7 0 R /MediaBox [0 0 595 842] /Rotate 0 >>").
		stream(7, "/Filter /FlateDecode", deflate([]byte("BT /F1 12 Tf 72 720 Td (Hello) Tj ET"))).
		obj(8, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
}

// rawObj writes object nr's header and text exactly as given (no endobj
// unless the text has it).
func (b *builder) rawObj(nr int, text string) *builder {
	b.offs[nr] = b.off()
	delete(b.comp, nr)
	fmt.Fprintf(&b.buf, "%d 0 obj\n%s", nr, text)
	return b
}
