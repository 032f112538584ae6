package certpdf

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/sealpipe/sealpipe/templates/fonts"
)

// The PDF is written by hand (ISO 32000-1): one page, classic cross-reference
// table, text drawn as filled paths. Each distinct character becomes one Form
// XObject (§8.10) holding its outline in thousandths of an em; the page's
// content stream places them with `cm` and `Do`. No font is embedded, which
// keeps a certificate to a few tens of kilobytes. The document information
// dictionary (§14.3.3) names the certificate by number, issuer and date, and
// holds none of the citizen's personal data (certpdf.go, metadata); there is
// no XMP metadata stream.

// Object numbers of the fixed objects; glyph XObjects follow from firstGlyph.
const (
	objCatalog = 1 + iota
	objPages
	objPage
	objContent
	objInfo
	firstGlyph
)

const (
	ptPerMM   = 72 / 25.4
	glyphGrid = 1000 // a glyph XObject's units per em
)

// document is the page being built: its content stream in millimetres and
// the glyphs it uses.
type document struct {
	content bytes.Buffer
	glyphs  map[rune]*fonts.Glyph
}

func newDocument() *document {
	d := &document{glyphs: make(map[rune]*fonts.Glyph)}
	// Work in millimetres from here on (§8.3.2.3 user space).
	d.printf("%s 0 0 %s 0 0 cm\n", num(ptPerMM), num(ptPerMM))
	return d
}

func (d *document) printf(format string, args ...any) { fmt.Fprintf(&d.content, format, args...) }

// gray sets the fill colour: 0 black, 1 white.
func (d *document) gray(level float64) { d.printf("%s g\n", num(level)) }

// text draws glyphs left to right from x with the bottom of their ideographic
// em box at y; size is the em in millimetres and tracking extra space after
// each glyph, in em.
func (d *document) text(gs []*fonts.Glyph, x, y, size, tracking float64) {
	baseline := y - fonts.IdeoBottom*size
	for _, g := range gs {
		if !g.Empty() {
			d.glyphs[g.Rune] = g
			d.printf("q %s 0 0 %s %s %s cm %s Do Q\n", num(size), num(size), num(x), num(baseline), glyphName(g.Rune))
		}
		x += (g.Advance + tracking) * size
	}
}

// glyphName is the resource name of a character's XObject, e.g. /U8BC1.
func glyphName(r rune) string { return fmt.Sprintf("/U%04X", r) }

// bytes assembles the file. info holds the document information entries,
// already encoded as PDF objects.
func (d *document) bytes(info map[string]string) ([]byte, error) {
	runes := make([]rune, 0, len(d.glyphs))
	for r := range d.glyphs {
		runes = append(runes, r)
	}
	slices.Sort(runes) // map order must not leak into the file

	w := &writer{}
	// §7.5.2: a binary comment right after the header marks the file binary.
	w.buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

	w.object(objCatalog, "<< /Type /Catalog /Pages 2 0 R /Lang (zh-CN) /ViewerPreferences << /DisplayDocTitle true >> >>")
	w.object(objPages, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")

	var res bytes.Buffer
	res.WriteString("<< /XObject <<")
	for i, r := range runes {
		fmt.Fprintf(&res, " %s %d 0 R", glyphName(r), firstGlyph+i)
	}
	res.WriteString(" >> >>")
	w.object(objPage, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources %s /Contents 4 0 R >>",
		num(pageWidth*ptPerMM), num(pageHeight*ptPerMM), res.String()))

	if err := w.stream(objContent, "", d.content.Bytes()); err != nil {
		return nil, err
	}

	keys := make([]string, 0, len(info))
	for k := range info {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var dict bytes.Buffer
	dict.WriteString("<<")
	for _, k := range keys {
		fmt.Fprintf(&dict, " /%s %s", k, info[k])
	}
	dict.WriteString(" >>")
	w.object(objInfo, dict.String())

	for i, r := range runes {
		g := d.glyphs[r]
		var path bytes.Buffer
		g.Draw(&fonts.PDFPen{W: &path}, fonts.Scale(glyphGrid, glyphGrid))
		path.WriteString("f\n") // non-zero winding, as TrueType outlines need
		dict := fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [%d %d %d %d] /Matrix [%s 0 0 %s 0 0]",
			int(math.Floor(g.Ink.Min.X*glyphGrid)), int(math.Floor(g.Ink.Min.Y*glyphGrid)),
			int(math.Ceil(g.Ink.Max.X*glyphGrid)), int(math.Ceil(g.Ink.Max.Y*glyphGrid)),
			num(1.0/glyphGrid), num(1.0/glyphGrid))
		if err := w.stream(firstGlyph+i, dict, path.Bytes()); err != nil {
			return nil, err
		}
	}
	return w.finish(objCatalog, objInfo), nil
}

// compressors reuses zlib writers: each holds about a megabyte of state, and
// a certificate has a hundred or so streams.
var compressors = sync.Pool{New: func() any {
	zw, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed) // a valid constant level cannot fail
	return zw
}}

// writer lays out numbered objects and the cross-reference table (§7.5.4).
type writer struct {
	buf     bytes.Buffer
	offsets []int // offsets[n] is the byte offset of object n; offsets[0] unused
}

func (w *writer) begin(n int) {
	if len(w.offsets) <= n {
		w.offsets = append(w.offsets, make([]int, n+1-len(w.offsets))...)
	}
	w.offsets[n] = w.buf.Len()
	fmt.Fprintf(&w.buf, "%d 0 obj\n", n)
}

func (w *writer) object(n int, body string) {
	w.begin(n)
	w.buf.WriteString(body)
	w.buf.WriteString("\nendobj\n")
}

// stream writes a FlateDecode stream object (§7.4.4); dict holds any entries
// besides /Length and /Filter.
func (w *writer) stream(n int, dict string, data []byte) error {
	var z bytes.Buffer
	zw := compressors.Get().(*zlib.Writer)
	defer compressors.Put(zw)
	zw.Reset(&z)
	if _, err := zw.Write(data); err != nil {
		return fmt.Errorf("certpdf: compress object %d: %w", n, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("certpdf: compress object %d: %w", n, err)
	}
	w.begin(n)
	if dict != "" {
		dict += " "
	}
	fmt.Fprintf(&w.buf, "<< %s/Length %d /Filter /FlateDecode >>\nstream\n", dict, z.Len())
	w.buf.Write(z.Bytes())
	w.buf.WriteString("\nendstream\nendobj\n")
	return nil
}

// finish appends the cross-reference table and the trailer. The file
// identifier (§14.4) is a digest of everything before it, so identical
// certificates get identical files and different ones different IDs.
func (w *writer) finish(root, info int) []byte {
	sum := sha256.Sum256(w.buf.Bytes())
	id := fmt.Sprintf("<%X>", sum[:16])
	xref := w.buf.Len()
	fmt.Fprintf(&w.buf, "xref\n0 %d\n", len(w.offsets))
	w.buf.WriteString("0000000000 65535 f \n") // each entry is exactly 20 bytes
	for _, off := range w.offsets[1:] {
		fmt.Fprintf(&w.buf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&w.buf, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [%s %s] >>\nstartxref\n%d\n%%%%EOF\n",
		len(w.offsets), root, info, id, id, xref)
	return w.buf.Bytes()
}

// num formats a real number for PDF (§7.3.3): at most three decimals, no
// exponent, no negative zero.
func num(v float64) string {
	v = math.Round(v*1000) / 1000
	if v == 0 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// textString encodes s as a PDF text string (§7.9.2.2): UTF-16BE with a byte
// order mark, written in hexadecimal so that no character needs escaping.
func textString(s string) string {
	var b bytes.Buffer
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}

// pdfDate formats t as a PDF date (§7.9.4) in t's own time zone.
func pdfDate(t time.Time) string {
	_, offset := t.Zone()
	zone := "Z"
	if offset != 0 {
		sign := '+'
		if offset < 0 {
			sign, offset = '-', -offset
		}
		zone = fmt.Sprintf("%c%02d'%02d'", sign, offset/3600, offset%3600/60)
	}
	return "(D:" + t.Format("20060102150405") + zone + ")"
}
