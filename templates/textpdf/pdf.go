package textpdf

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// The file is written by hand, as internal/demo/certpdf writes its
// certificates: numbered indirect objects (ISO 32000-1 §7.3.10), Flate
// streams (§7.4.4), a classic cross-reference table (§7.5.4) and a trailer
// (§7.5.5). Unlike certpdf, objects are numbered as they are needed and
// written in any order, so a page's content stream goes out (compressed)
// as soon as the page is full, and the objects that depend on the whole
// document (the font, the page tree) go out last.

// compressors reuses zlib writers: each holds about a megabyte of state.
// BestSpeed: against BestCompression, a report of one signature is 6 %
// larger (18.2 KB against 17.2 KB) and takes 45 % less time to make
// (reportview's BenchmarkPDF), as it may for each document of a batch.
var compressors = sync.Pool{New: func() any {
	zw, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed) // a valid constant level cannot fail
	return zw
}}

// writer lays out numbered objects and the cross-reference table.
type writer struct {
	buf bytes.Buffer
	// offsets[n] is the byte offset of object n, -1 while n is allocated
	// but not yet written; offsets[0] is unused.
	offsets []int
}

func newWriter() *writer {
	w := &writer{offsets: []int{0}}
	// §7.5.2: a comment of bytes above 127 right after the header marks the
	// file as binary.
	w.buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	return w
}

// alloc reserves the next object number.
func (w *writer) alloc() int {
	w.offsets = append(w.offsets, -1)
	return len(w.offsets) - 1
}

func (w *writer) begin(n int) {
	w.offsets[n] = w.buf.Len()
	fmt.Fprintf(&w.buf, "%d 0 obj\n", n)
}

// object writes object n, whose body is a direct object such as a dictionary.
func (w *writer) object(n int, body string) {
	w.begin(n)
	w.buf.WriteString(body)
	w.buf.WriteString("\nendobj\n")
}

// stream writes object n as a FlateDecode stream (§7.4.4); dict holds any
// entries besides /Length and /Filter.
func (w *writer) stream(n int, dict string, data []byte) error {
	z, err := compress(data)
	if err != nil {
		return fmt.Errorf("textpdf: compress object %d: %w", n, err)
	}
	w.compressedStream(n, dict, z)
	return nil
}

// compressedStream writes object n as a stream with dict and z, its data
// compressed by compress.
func (w *writer) compressedStream(n int, dict string, z []byte) {
	w.begin(n)
	if dict != "" {
		dict += " "
	}
	fmt.Fprintf(&w.buf, "<< %s/Length %d /Filter /FlateDecode >>\nstream\n", dict, len(z))
	w.buf.Write(z)
	w.buf.WriteString("\nendstream\nendobj\n")
}

// compress returns data compressed with zlib (§7.4.4 FlateDecode).
func compress(data []byte) ([]byte, error) {
	var z bytes.Buffer
	zw := compressors.Get().(*zlib.Writer)
	defer compressors.Put(zw)
	zw.Reset(&z)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return z.Bytes(), nil
}

// finish appends the cross-reference table (§7.5.4) and the trailer
// (§7.5.5). The file identifier (§14.4) is a digest of everything before
// it, so the same document gives the same file.
func (w *writer) finish(root, info int) ([]byte, error) {
	for n, off := range w.offsets[1:] {
		if off < 0 {
			return nil, fmt.Errorf("textpdf: object %d allocated but never written", n+1)
		}
	}
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
	return w.buf.Bytes(), nil
}

// ref is an indirect reference to object n (§7.3.10).
func ref(n int) string { return strconv.Itoa(n) + " 0 R" }

// num formats a real number for PDF (§7.3.3): at most three decimals, no
// exponent, no negative zero.
func num(v float64) string {
	v = math.Round(v*1000) / 1000
	if v == 0 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// textString encodes s as a PDF text string (§7.9.2.2): printable ASCII
// as a literal string, anything else as UTF-16BE with a byte order mark in
// hexadecimal, so that no character needs escaping.
func textString(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '(' || c == ')' || c == '\\' {
			ascii = false
			break
		}
	}
	if ascii {
		return "(" + s + ")"
	}
	var b strings.Builder
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
