package main

// Hand-made files: valid ones for the structures no producer here writes
// on request, and hostile ones. All are built in Go and reproducible byte
// for byte.

import (
	"bytes"
	"fmt"
	"strings"
)

// handmadeOffsetBoxes: two pages whose MediaBoxes are not at 0,0 (one
// inherited from the page tree root, one with negative coordinates), with
// /Resources inherited from the root.
func handmadeOffsetBoxes() []byte {
	w := newPDF("1.4")
	w.objs(
		"<</Type/Catalog/Pages 2 0 R>>",
		"<</Type/Pages/Count 2/Kids[3 0 R 5 0 R]/MediaBox[200 300 795 1142]/Resources<</Font<</F1 7 0 R>>>>>>",
		"<</Type/Page/Parent 2 0 R/Contents 4 0 R>>",
		contentAt(200, 1142, "MediaBox [200 300 795 1142], inherited, as are /Resources."),
		"<</Type/Page/Parent 2 0 R/MediaBox[-300 -400 295 442]/Contents 6 0 R>>",
		contentAt(-300, 442, "MediaBox [-300 -400 295 442]; /Resources inherited."),
		helvetica,
		info("MediaBox not at 0,0"),
	)
	w.fullTable("/Root 1 0 R/Info 8 0 R")
	return w.b.Bytes()
}

// contentAt is content for a page whose top left corner is (x0, top).
func contentAt(x0, top float64, lines ...string) string {
	var c bytes.Buffer
	fmt.Fprintf(&c, "BT /F1 12 Tf 14 TL %g %g Td\n", x0+56, top-72)
	for _, l := range lines {
		fmt.Fprintf(&c, "(%s) '\n", l)
	}
	fmt.Fprintf(&c, "ET\n0.2 0.2 0.6 RG 2 w %g %g m %g %g l S\n", x0+40, top-100, x0+300, top-100)
	return stream("/Filter/FlateDecode", flate(c.Bytes()))
}

// handmadePageTree: six pages under a three-level page tree; the root
// holds /MediaBox and /Resources, an intermediate node /Rotate 90 for
// pages 4–6, page 5 a /CropBox not at 0,0.
func handmadePageTree() []byte {
	w := newPDF("1.5")
	// 1 catalog, 2 root, 3 node A (pages 1–3), 4 node B (pages 4–6, /Rotate 90),
	// 5 node C under B (pages 5–6), 6 font, 7 info, 8… pages and contents.
	var pages [6]int
	objs := map[int]string{
		1: "<</Type/Catalog/Pages 2 0 R/PageLayout/SinglePage>>",
		2: "<</Type/Pages/Count 6/Kids[3 0 R 4 0 R]/MediaBox[0 0 595 842]/Resources<</Font<</F1 6 0 R>>>>>>",
		6: helvetica,
		7: info("Three-level page tree"),
	}
	nr := 8
	for i := range pages {
		pages[i] = nr
		parent := 3
		switch {
		case i == 3:
			parent = 4
		case i > 3:
			parent = 5
		}
		extra := ""
		if i == 4 {
			extra = "/CropBox[50 100 545 742]"
		}
		objs[nr] = fmt.Sprintf("<</Type/Page/Parent %d 0 R/Contents %d 0 R%s>>", parent, nr+1, extra)
		objs[nr+1] = content(842, fmt.Sprintf("Page %d of 6.", i+1), "Attributes inherited through a three-level page tree.")
		nr += 2
	}
	ref := func(ps ...int) string {
		var s []string
		for _, p := range ps {
			s = append(s, fmt.Sprintf("%d 0 R", p))
		}
		return strings.Join(s, " ")
	}
	objs[3] = fmt.Sprintf("<</Type/Pages/Parent 2 0 R/Count 3/Kids[%s]>>", ref(pages[0], pages[1], pages[2]))
	objs[4] = fmt.Sprintf("<</Type/Pages/Parent 2 0 R/Count 3/Rotate 90/Kids[%s 5 0 R]>>", ref(pages[3]))
	objs[5] = fmt.Sprintf("<</Type/Pages/Parent 4 0 R/Count 2/Kids[%s]>>", ref(pages[4], pages[5]))
	for i := 1; i < nr; i++ {
		w.obj(i, objs[i])
	}
	w.fullTable("/Root 1 0 R/Info 7 0 R")
	return w.b.Bytes()
}

// handmadeHybrid is a hybrid-reference file (§7.5.8.4): a classic table
// whose trailer names, with /XRefStm, a cross-reference stream for the
// objects kept in an object stream (the font and the information
// dictionary). A PDF 1.4 reader sees the page without its font.
func handmadeHybrid() []byte {
	w := newPDF("1.5")
	w.objs(
		"<</Type/Catalog/Pages 2 0 R>>",
		"<</Type/Pages/Count 1/Kids[3 0 R]>>",
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 7 0 R>>>>/Contents 4 0 R>>",
		content(842, "A hybrid-reference file: a classic table with /XRefStm."),
		objectStream(6, []string{info("Hybrid-reference file"), helvetica}, 0),
	)
	stm := w.xrefStream(8, []xrefEntry{{nr: 6, typ: 2, a: 5, b: 0}, {nr: 7, typ: 2, a: 5, b: 1}}, "", false)
	// Objects 6 and 7 are free in the table: only the stream defines them.
	w.table([]int{0, 1, 2, 3, 4, 5, 6, 7, 8}, 9, fmt.Sprintf("/Root 1 0 R/Info 6 0 R/XRefStm %d", stm))
	return w.b.Bytes()
}

// simpleDoc writes a plain document of n A4 pages with a classic table,
// whose trailer carries extra entries: objects 1 catalog, 2 pages, 3
// font, 4 info, then page and content pairs.
func simpleDoc(w *pdfWriter, title string, n int) (trailer string) {
	var kids []string
	for i := range n {
		kids = append(kids, fmt.Sprintf("%d 0 R", 5+2*i))
	}
	w.objs(
		"<</Type/Catalog/Pages 2 0 R>>",
		fmt.Sprintf("<</Type/Pages/Count %d/Kids[%s]>>", n, strings.Join(kids, " ")),
		helvetica,
		info(title),
	)
	for i := range n {
		w.obj(5+2*i, fmt.Sprintf("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 3 0 R>>>>/Contents %d 0 R>>", 6+2*i))
		w.obj(6+2*i, content(842, title, fmt.Sprintf("Page %d of %d.", i+1, n)))
	}
	return "/Root 1 0 R/Info 4 0 R"
}

func simple(title string, n int) []byte {
	w := newPDF("1.4")
	w.fullTable(simpleDoc(w, title, n))
	return w.b.Bytes()
}

// hostileOffsetsOff: every object offset in the table is 3 bytes short, as
// when an editor inserts a line after the header (startxref is right).
func hostileOffsetsOff() []byte {
	b := simple("Cross-reference offsets off by three bytes", 2)
	header := bytes.Index(b, []byte("1 0 obj"))
	junk := []byte("%~\n")
	out := append(append(bytes.Clone(b[:header]), junk...), b[header:]...)
	return fixStartxref(out, len(junk))
}

// fixStartxref adds delta to the final startxref offset.
func fixStartxref(b []byte, delta int) []byte {
	i := bytes.LastIndex(b, []byte("startxref\n"))
	var off int
	fmt.Sscanf(string(b[i+len("startxref\n"):]), "%d", &off)
	return append(b[:i:i], fmt.Sprintf("startxref\n%d\n%%%%EOF\n", off+delta)...)
}

// hostileMissingEndobj: the page dictionary (object 5) lacks its endobj.
func hostileMissingEndobj() []byte {
	w := newPDF("1.4")
	trailer := simpleDoc(w, "The page object has no endobj", 1)
	b := w.b.Bytes()
	i := bytes.Index(b, []byte("5 0 obj\n"))
	j := i + bytes.Index(b[i:], []byte("endobj\n"))
	rebuilt := newPDF("1.4")
	rebuilt.b.Reset()
	rebuilt.b.Write(b[:j])
	rebuilt.b.Write(b[j+len("endobj\n"):])
	// Offsets after the page shift back by the 7 bytes removed.
	for nr, off := range w.offsets {
		if off > j {
			off -= len("endobj\n")
		}
		rebuilt.offsets[nr] = off
	}
	rebuilt.fullTable(trailer)
	return rebuilt.b.Bytes()
}

// hostileStartxrefNowhere: startxref names an offset past the end of the
// file.
func hostileStartxrefNowhere() []byte {
	b := simple("startxref points past the end of the file", 1)
	return fixStartxref(b, 9_000_000)
}

// hostilePageTreeLoop: the page tree root lists itself among its kids,
// first, so that the loop lies on the way to page 1.
func hostilePageTreeLoop() []byte {
	w := newPDF("1.4")
	w.objs(
		"<</Type/Catalog/Pages 2 0 R>>",
		"<</Type/Pages/Count 2/Kids[2 0 R 3 0 R]>>",
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>",
		content(842, "The page tree root lists itself among its /Kids."),
		helvetica,
	)
	w.fullTable("/Root 1 0 R")
	return w.b.Bytes()
}

// hostilePrevLoop: an original section and an update section whose /Prev
// entries name each other.
func hostilePrevLoop() []byte {
	w := newPDF("1.4")
	trailer := simpleDoc(w, "Two cross-reference sections name each other with /Prev", 1)
	const placeholder = "/Prev 0000000000"
	first := w.fullTable(trailer + placeholder)
	// The update: a new information dictionary.
	w.offsets = map[int]int{}
	w.obj(4, info("Updated: the /Prev chain loops"))
	second := w.table([]int{4}, 7, fmt.Sprintf("%s/Prev %d", trailer, first))
	b := w.b.Bytes()
	i := bytes.Index(b, []byte(placeholder))
	copy(b[i:], fmt.Sprintf("/Prev %010d", second))
	return b
}

// hostileTruncated: a three-page document cut at 60 %: no cross-reference
// table, no trailer.
func hostileTruncated() []byte {
	b := simple("Truncated", 3)
	return b[:len(b)*6/10]
}

// hostileHugeSize: a trailer /Size of 2³¹−1 over six objects.
func hostileHugeSize() []byte {
	w := newPDF("1.4")
	trailer := simpleDoc(w, "Trailer /Size 2147483647", 1)
	w.table(append([]int{0}, w.numbers()...), 2147483647, trailer)
	return w.b.Bytes()
}

// hostileObjStmOverclaim: an object stream whose /N says 7 objects while
// it holds 3 (the page tree root, the font, the information dictionary);
// the cross-reference stream names only the 3.
func hostileObjStmOverclaim() []byte {
	w := newPDF("1.5")
	w.obj(1, "<</Type/Catalog/Pages 2 0 R>>")
	w.obj(3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 4 0 R>>>>/Contents 6 0 R>>")
	w.obj(6, content(842, "An object stream whose /N claims 7 objects; it holds 3."))
	w.obj(7, objectStreamNumbered([]int{2, 4, 5}, []string{"<</Type/Pages/Count 1/Kids[3 0 R]>>", helvetica, info("Object stream /N overclaims")}, 7))
	w.xrefStream(8, []xrefEntry{
		{nr: 1, typ: 1, a: w.offsets[1]}, {nr: 3, typ: 1, a: w.offsets[3]}, {nr: 6, typ: 1, a: w.offsets[6]}, {nr: 7, typ: 1, a: w.offsets[7]},
		{nr: 2, typ: 2, a: 7, b: 0}, {nr: 4, typ: 2, a: 7, b: 1}, {nr: 5, typ: 2, a: 7, b: 2},
		{nr: 0, typ: 0, a: 0, b: 65535},
	}, "/Root 1 0 R/Info 5 0 R", true)
	return w.b.Bytes()
}

// objectStreamNumbered is objectStream for arbitrary object numbers.
func objectStreamNumbered(nrs []int, bodies []string, n int) string {
	var head, data bytes.Buffer
	for i, body := range bodies {
		fmt.Fprintf(&head, "%d %d ", nrs[i], data.Len())
		data.WriteString(body)
		data.WriteByte('\n')
	}
	all := append(head.Bytes(), data.Bytes()...)
	return stream(fmt.Sprintf("/Type/ObjStm/N %d/First %d/Filter/FlateDecode", n, head.Len()), flate(all))
}

// hostileDeepNesting: the page dictionary holds arrays nested 40,000 deep.
func hostileDeepNesting() []byte {
	w := newPDF("1.4")
	nest := strings.Repeat("[", 40_000) + strings.Repeat("]", 40_000)
	w.objs(
		"<</Type/Catalog/Pages 2 0 R>>",
		"<</Type/Pages/Count 1/Kids[3 0 R]>>",
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R/PieceInfo<</Nest"+nest+">>>>",
		content(842, "The page dictionary holds arrays nested 40,000 deep."),
		helvetica,
	)
	w.fullTable("/Root 1 0 R")
	return w.b.Bytes()
}

// hostileDeepNestingElsewhere: arrays nested 40,000 deep in an object
// nothing refers to; sealing does not need to read it.
func hostileDeepNestingElsewhere() []byte {
	w := newPDF("1.4")
	trailer := simpleDoc(w, "Arrays nested 40,000 deep in an unreferenced object", 1)
	w.obj(7, strings.Repeat("[", 40_000)+strings.Repeat("]", 40_000))
	w.fullTable(trailer)
	return w.b.Bytes()
}

// hostileNotPDF is an HTML page saved under a .pdf name.
func hostileNotPDF() []byte {
	return []byte("<!DOCTYPE html>\n<html><head><title>证明</title></head><body><p>This is an HTML page, not a PDF.</p></body></html>\n")
}
