// Package largepdf writes valid PDF documents of any size, for the tests
// of sealing and verifying large files in bounded memory. A document is
// one A4 page whose content stream carries a line of text and then, to
// make up the size asked for, comment lines (ISO 32000-1 §7.2.3), which
// a reader skips: it is streamed to its writer, never held in memory,
// and the same size always gives the same bytes.
package largepdf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// MinSize is the smallest document Write makes.
const MinSize = 1024

// The objects before and after the content stream (object 4), which is
// the bulk of the document.
const (
	header = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
	before = "1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n" +
		"2 0 obj\n<</Type/Pages/Kids[3 0 R]/Count 1>>\nendobj\n" +
		"3 0 obj\n<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>\nendobj\n"
	text  = "BT /F1 24 Tf 72 760 Td (A large document) Tj ET\n"
	after = "5 0 obj\n<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>\nendobj\n"
	// line is one comment line of the content stream's padding.
	line = "% padding: this comment line makes the document as large as asked\n"
)

// Write writes a valid one-page PDF of exactly size bytes, at least
// MinSize, to w: a classic cross-reference table (§7.5.4) and one
// content stream padded with comment lines.
func Write(w io.Writer, size int64) error {
	if size < MinSize {
		return fmt.Errorf("largepdf: %d bytes is less than the %d a document needs", size, MinSize)
	}
	// The content stream's length, n, fixes the digits of /Length and of
	// the offsets after it, which fix n: it settles in a few rounds.
	n := size
	for range 8 {
		if m := size - overhead(n); m != n {
			n = m
			continue
		}
		return write(w, n)
	}
	return errors.New("largepdf: the layout does not settle") // cannot happen: digits only grow with n
}

// WriteFile writes a document of size bytes (Write) to the file name.
func WriteFile(name string, size int64) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := Write(f, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// overhead is the length of the document but its content stream's n
// bytes of data.
func overhead(n int64) int64 {
	var c countWriter
	writeAround(&c, n, func() error { return nil })
	return c.n
}

// write writes the document with n bytes of content stream data.
func write(w io.Writer, n int64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := writeAround(bw, n, func() error { return pad(bw, n) }); err != nil {
		return fmt.Errorf("largepdf: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("largepdf: %w", err)
	}
	return nil
}

// writeAround writes the document, data writing the content stream's n
// bytes.
func writeAround(w io.Writer, n int64, data func() error) error {
	var c countWriter
	out := io.MultiWriter(w, &c)
	offsets := make([]int64, 6)
	emit := func(s string) error { _, err := io.WriteString(out, s); return err }
	if err := emit(header); err != nil {
		return err
	}
	for nr, body := range strings.SplitAfter(before, "endobj\n")[:3] {
		offsets[nr+1] = c.n
		if err := emit(body); err != nil {
			return err
		}
	}
	offsets[4] = c.n
	if err := emit("4 0 obj\n<</Length " + strconv.FormatInt(n, 10) + ">>\nstream\n"); err != nil {
		return err
	}
	if err := data(); err != nil {
		return err
	}
	c.n += n // data wrote to w only
	if err := emit("\nendstream\nendobj\n"); err != nil {
		return err
	}
	offsets[5] = c.n
	if err := emit(after); err != nil {
		return err
	}
	xref := c.n
	var b strings.Builder
	b.WriteString("xref\n0 6\n0000000000 65535 f\r\n")
	for _, off := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", off)
	}
	fmt.Fprintf(&b, "trailer\n<</Size 6/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n", xref)
	return emit(b.String())
}

// pad writes the content stream's n bytes: the text, then comment lines,
// the last one cut to fit and every one ended by a newline.
func pad(w io.Writer, n int64) error {
	if n < int64(len(text)) {
		return fmt.Errorf("%d bytes of content is too few", n)
	}
	if _, err := io.WriteString(w, text); err != nil {
		return err
	}
	block := []byte(strings.Repeat(line, 1024))
	rest := n - int64(len(text))
	for rest >= int64(len(block)) {
		if _, err := w.Write(block); err != nil {
			return err
		}
		rest -= int64(len(block))
	}
	whole := rest - rest%int64(len(line))
	if _, err := w.Write(block[:whole]); err != nil {
		return err
	}
	if rest -= whole; rest > 0 {
		tail := append([]byte(line[:rest-1]), '\n')
		if _, err := w.Write(tail); err != nil {
			return err
		}
	}
	return nil
}

// countWriter counts the bytes written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
