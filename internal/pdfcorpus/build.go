package main

// A small PDF writer for the hand-made files: objects written as given,
// with a classic cross-reference table (ISO 32000-1 §7.5.4), a
// cross-reference stream (§7.5.8) or both (a hybrid-reference file,
// §7.5.8.4). Its output is byte-for-byte reproducible.

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"slices"
	"strings"
)

// pdfWriter accumulates a file: a header, object bodies at known offsets,
// then one or more cross-reference sections.
type pdfWriter struct {
	b       bytes.Buffer
	offsets map[int]int // object number → offset of "N 0 obj"
}

// newPDF starts a file with a header and the binary comment line §7.5.2
// recommends.
func newPDF(version string) *pdfWriter {
	w := &pdfWriter{offsets: map[int]int{}}
	fmt.Fprintf(&w.b, "%%PDF-%s\n%%\xe2\xe3\xcf\xd3\n", version)
	return w
}

// obj writes object nr with body (the text between "obj" and "endobj").
func (w *pdfWriter) obj(nr int, body string) {
	w.offsets[nr] = w.b.Len()
	fmt.Fprintf(&w.b, "%d 0 obj\n%s\nendobj\n", nr, body)
}

// objs writes bodies as objects 1, 2, ….
func (w *pdfWriter) objs(bodies ...string) {
	for i, body := range bodies {
		w.obj(i+1, body)
	}
}

// stream writes the text of a stream object whose data is stored as given.
func stream(entries string, data []byte) string {
	return fmt.Sprintf("<<%s/Length %d>>\nstream\n%s\nendstream", entries, len(data), data)
}

// flate compresses data with zlib (FlateDecode, §7.4.4).
func flate(data []byte) []byte {
	var b bytes.Buffer
	z, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	z.Write(data)
	z.Close()
	return b.Bytes()
}

// numbers lists the object numbers written so far in order.
func (w *pdfWriter) numbers() []int {
	nrs := make([]int, 0, len(w.offsets))
	for nr := range w.offsets {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	return nrs
}

// table writes a classic cross-reference section for the objects nrs (all
// written objects when nil), in one subsection per run of consecutive
// numbers, with the trailer entries given (and /Size when size > 0), and
// the startxref pointing to it. It returns the section's offset.
func (w *pdfWriter) table(nrs []int, size int, trailer string) int {
	if nrs == nil {
		nrs = w.numbers()
	}
	off := w.b.Len()
	w.b.WriteString("xref\n")
	entry := func(nr int) string {
		if nr == 0 {
			return "0000000000 65535 f\r\n"
		}
		o, ok := w.offsets[nr]
		if !ok {
			return "0000000000 00001 f\r\n"
		}
		return fmt.Sprintf("%010d 00000 n\r\n", o)
	}
	for i := 0; i < len(nrs); {
		j := i + 1
		for j < len(nrs) && nrs[j] == nrs[j-1]+1 {
			j++
		}
		fmt.Fprintf(&w.b, "%d %d\n", nrs[i], j-i)
		for _, nr := range nrs[i:j] {
			w.b.WriteString(entry(nr))
		}
		i = j
	}
	if size > 0 {
		trailer = fmt.Sprintf("/Size %d %s", size, trailer)
	}
	fmt.Fprintf(&w.b, "trailer\n<<%s>>\nstartxref\n%d\n%%%%EOF\n", trailer, off)
	return off
}

// fullTable is table over object 0 and every object written, /Size one
// past the highest.
func (w *pdfWriter) fullTable(trailer string) int {
	nrs := append([]int{0}, w.numbers()...)
	return w.table(densify(nrs), nrs[len(nrs)-1]+1, trailer)
}

// densify fills the gaps of sorted nrs, so that one subsection covers
// them all (the missing ones become free entries).
func densify(nrs []int) []int {
	var out []int
	for n := nrs[0]; n <= nrs[len(nrs)-1]; n++ {
		out = append(out, n)
	}
	return out
}

// xrefEntry is one row of a cross-reference stream: type 1 (in use at an
// offset) or 2 (compressed: in object stream a at index b).
type xrefEntry struct {
	nr   int
	typ  int
	a, b int
}

// xrefStream writes a cross-reference stream object nr (W [1 4 2],
// FlateDecode) holding entries and the extra dictionary entries given, and
// returns its offset. It lists itself. With end set, it closes the file
// with startxref.
func (w *pdfWriter) xrefStream(nr int, entries []xrefEntry, dict string, end bool) int {
	off := w.b.Len()
	w.offsets[nr] = off
	entries = append(slices.Clone(entries), xrefEntry{nr: nr, typ: 1, a: off})
	slices.SortFunc(entries, func(x, y xrefEntry) int { return x.nr - y.nr })
	var data []byte
	var index []string
	for i := 0; i < len(entries); {
		j := i + 1
		for j < len(entries) && entries[j].nr == entries[j-1].nr+1 {
			j++
		}
		index = append(index, fmt.Sprintf("%d %d", entries[i].nr, j-i))
		for _, e := range entries[i:j] {
			data = append(data, byte(e.typ), byte(e.a>>24), byte(e.a>>16), byte(e.a>>8), byte(e.a), byte(e.b>>8), byte(e.b))
		}
		i = j
	}
	size := entries[len(entries)-1].nr + 1
	body := stream(fmt.Sprintf("/Type/XRef/Size %d/W[1 4 2]/Index[%s]/Filter/FlateDecode%s", size, strings.Join(index, " "), dict), flate(data))
	fmt.Fprintf(&w.b, "%d 0 obj\n%s\nendobj\n", nr, body)
	if end {
		fmt.Fprintf(&w.b, "startxref\n%d\n%%%%EOF\n", off)
	}
	return off
}

// objectStream returns the text of an object stream (§7.5.7) holding
// bodies as objects first, first+1, …, compressed, with /N stated as n
// (len(bodies) when n is 0).
func objectStream(first int, bodies []string, n int) string {
	var head, data bytes.Buffer
	for i, body := range bodies {
		fmt.Fprintf(&head, "%d %d ", first+i, data.Len())
		data.WriteString(body)
		data.WriteByte('\n')
	}
	if n == 0 {
		n = len(bodies)
	}
	all := append(head.Bytes(), data.Bytes()...)
	return stream(fmt.Sprintf("/Type/ObjStm/N %d/First %d/Filter/FlateDecode", n, head.Len()), flate(all))
}

// content returns a page content stream drawing lines of text in font
// /F1 at 12 points from the top of a page of the given height, compressed.
func content(height float64, lines ...string) string {
	var c bytes.Buffer
	fmt.Fprintf(&c, "BT /F1 12 Tf 14 TL 56 %g Td\n", height-72)
	for _, l := range lines {
		fmt.Fprintf(&c, "(%s) '\n", l)
	}
	c.WriteString("ET\n0.2 0.2 0.6 RG 2 w 40 40 m 200 40 l S\n")
	return stream("/Filter/FlateDecode", flate(c.Bytes()))
}

const helvetica = "<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>"

// info is a document information dictionary naming the generator.
func info(title string) string {
	return fmt.Sprintf("<</Title(%s)/Producer(sealpipe internal/pdfcorpus)/CreationDate(D:20250101000000Z)>>", title)
}
