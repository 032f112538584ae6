package pdfseal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
)

// Minimal object bodies for hand-built hostile documents.
const (
	catalogObj = "<</Type/Catalog/Pages 2 0 R>>"
	pagesObj   = "<</Type/Pages/Count 1/Kids[3 0 R]>>"
	pageObj    = "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>"
)

// xrefStreamPDF builds a document whose only cross-reference section is a
// stream with the given dictionary entries and (unfiltered) data.
func xrefStreamPDF(entries string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	for i, o := range []string{catalogObj, pagesObj, pageObj} {
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "4 0 obj\n<</Type/XRef/Root 1 0 R %s/Length %d>>\nstream\n", entries, len(data))
	b.Write(data)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

func TestHostileInput(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	hello := conformance(t, "pdf/hello.pdf")
	helloPath := writeTemp(t, "hello.pdf", hello)
	garbled := func(old, new string) []byte {
		if len(old) != len(new) || !bytes.Contains(hello, []byte(old)) {
			t.Fatalf("bad test edit %q → %q", old, new)
		}
		return bytes.Replace(hello, []byte(old), []byte(new), 1)
	}
	tests := []struct {
		name       string
		in         []byte
		wantSeal   error
		wantVerify error // nil: Verify reads the file and reports what it finds
	}{
		{"empty", nil, ErrMalformed, ErrMalformed},
		{"not a PDF", []byte("GIF89a this is not a PDF document at all"), ErrMalformed, ErrMalformed},
		{"truncated in the middle", hello[:len(hello)/2], ErrMalformed, ErrMalformed},
		{"truncated before startxref", hello[:len(hello)-30], ErrMalformed, nil},
		{"encrypted (AES-256, user password)", qpdf(t, "--encrypt", "u", "o", "256", "--", helloPath), ErrEncrypted, ErrEncrypted},
		{"encrypted (AES-256, empty user password)", qpdf(t, "--encrypt", "", "o", "256", "--", helloPath), ErrEncrypted, ErrEncrypted},
		{"garbage xref entry", garbled("0000000303 00000 n", "zzzzzzzzzz zzzzz n"), ErrMalformed, ErrMalformed},
		{"xref table without subsection header", garbled("xref\n0 7\n", "xref\n   \n"), ErrMalformed, ErrMalformed},
		{"startxref into an object", garbled("startxref\n635", "startxref\n300"), ErrMalformed, nil},
		{"startxref beyond the end", garbled("startxref\n635", "startxref\n999"), ErrMalformed, nil},
		{"huge stream /Length", pdfsealtest.Build([]string{catalogObj, pagesObj,
			"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>",
			"<</Length 99999999999999>>\nstream\nBT ET\nendstream"}, "/Root 1 0 R"), ErrMalformed, nil}, // Verify reads no page content
		{"huge /Count", pdfsealtest.Build([]string{catalogObj, "<</Type/Pages/Count 2147483647/Kids[3 0 R]>>", pageObj}, "/Root 1 0 R"), ErrMalformed, nil},
		{"huge xref stream /Index", xrefStreamPDF("/Size 2000000000/W[1 4 2]/Index[0 2000000000]", make([]byte, 35)), ErrMalformed, nil},
		{"huge xref stream /W", xrefStreamPDF("/Size 5/W[1 2147483647 2]", make([]byte, 35)), ErrMalformed, nil},
		{"huge object stream /N", pdfsealtest.Build([]string{catalogObj, pagesObj, pageObj,
			"<</Type/ObjStm/N 2147483647/First 4/Length 8>>\nstream\n5 0 1 \nendstream"}, "/Root 1 0 R"), nil, nil},
		{"page tree loop", pdfsealtest.Build([]string{catalogObj, "<</Type/Pages/Count 1/Kids[2 0 R]>>"}, "/Root 1 0 R"), ErrMalformed, nil},
		{"/Parent loop for inherited MediaBox", pdfsealtest.Build([]string{catalogObj, "<</Type/Pages/Count 1/Kids[3 0 R]/Parent 3 0 R>>",
			"<</Type/Page/Parent 2 0 R>>"}, "/Root 1 0 R"), ErrMalformed, nil},
		{"form field loop", pdfsealtest.Build([]string{"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[4 0 R]>>>>", pagesObj, pageObj,
			"<</FT/Sig/T(a)/Kids[4 0 R 5 0 R]>>", "<</T(b)/Kids[4 0 R]/V<</ByteRange[0 1 2 3]/Contents<00>/SubFilter/adbe.pkcs7.detached>>>>"},
			"/Root 1 0 R"), nil, nil},
		{"nesting 200000 deep", append(bytes.Clone(hello[:10]), strings.Repeat("[", 200000)...), ErrMalformed, ErrMalformed},
		{"no catalog", pdfsealtest.Build([]string{pagesObj, pageObj}, "/Root 9 0 R"), ErrMalformed, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			var w countingWriter
			sealErr := Seal(ctx, &w, tc.in, options(t, sm2K, 1))
			if tc.wantSeal == nil && sealErr != nil || !errors.Is(sealErr, tc.wantSeal) {
				t.Errorf("Seal: %v, want %v", sealErr, tc.wantSeal)
			}
			if sealErr != nil && w.writes != 0 {
				t.Errorf("Seal failed after writing")
			}
			res, verifyErr := Verify(ctx, tc.in)
			if tc.wantVerify == nil && verifyErr != nil || !errors.Is(verifyErr, tc.wantVerify) {
				t.Errorf("Verify: %v, want %v", verifyErr, tc.wantVerify)
			}
			for _, r := range res {
				if r.Status == Valid {
					t.Errorf("Verify reports a valid signature in hostile input: %+v", r)
				}
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			t.Logf("Seal: %v; Verify: %d results, %v", sealErr, len(res), verifyErr)
		})
	}
}

// damagedXRef is a virtual PDF of size bytes, none of them held in memory:
// a header, then a cross-reference table that claims 50 million entries and
// runs, entry after entry, to the trailer at the end of the file. It
// records the longest single read.
type damagedXRef struct {
	size       int64
	head, tail []byte
	mu         sync.Mutex
	longest    int64
}

func newDamagedXRef(size int64) *damagedXRef {
	head := []byte("%PDF-1.7\nxref\n0 50000000\n")
	tail := fmt.Appendf(nil, "\ntrailer\n<</Size 50000000/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n", len("%PDF-1.7\n"))
	return &damagedXRef{size: size, head: head, tail: tail}
}

func (d *damagedXRef) ReadAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	d.longest = max(d.longest, int64(len(p)))
	d.mu.Unlock()
	const entry = "0000000000 65535 f\r\n"
	tailAt := d.size - int64(len(d.tail))
	n := 0
	for ; n < len(p) && off+int64(n) < d.size; n++ {
		switch at := off + int64(n); {
		case at < int64(len(d.head)):
			p[n] = d.head[at]
		case at >= tailAt:
			p[n] = d.tail[at-tailAt]
		default:
			p[n] = entry[(at-int64(len(d.head)))%int64(len(entry))]
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestBoundedReads: hostile structures do not draw a large file into
// memory. A damaged cross-reference table that runs through a 1 GiB file
// is read in a window of at most maxXRefTableBytes, by sealing and by
// verification, and refused as malformed; a signature whose ByteRange gap
// spans more than MaxContentsBytes is invalid without its gap being read.
func TestBoundedReads(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	for name, read := range map[string]func(r io.ReaderAt, size int64) error{
		"seal": func(r io.ReaderAt, size int64) error {
			opts := options(t, sm2K, 1)
			opts.MaxInputSize = size
			_, err := UpdateReader(context.Background(), r, size, opts)
			return err
		},
		"verify": func(r io.ReaderAt, size int64) error {
			_, err := VerifyReader(context.Background(), r, size, VerifyOptions{MaxSize: size})
			return err
		},
	} {
		t.Run("damaged xref table/"+name, func(t *testing.T) {
			t.Parallel()
			d := newDamagedXRef(1 << 30)
			err := read(d, d.size)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v, want ErrMalformed", err)
			}
			// Scans of the whole file stream it in chunks: what is held
			// at once is the longest read.
			if d.longest > maxXRefTableBytes+maxTrailerBytes {
				t.Errorf("read %d MiB at once; want at most %d MiB", d.longest>>20, maxXRefTableBytes>>20)
			}
		})
	}

	t.Run("ByteRange gap too large", func(t *testing.T) {
		t.Parallel()
		doc := hugeGapPDF(t, MaxContentsBytes+1)
		results, err := Verify(context.Background(), doc)
		if err != nil || len(results) != 1 {
			t.Fatalf("Verify: %d results, %v", len(results), err)
		}
		if r := results[0]; r.Status != Invalid || !errors.Is(r.Err, ErrTooLarge) {
			t.Errorf("signature: %s, %v; want Invalid, ErrTooLarge", r.Status, r.Err)
		}
	})
}

// hugeGapPDF builds a one-page PDF with a signature field whose
// signature dictionary is small but whose ByteRange gap runs from its
// /Contents over the next object, a stream of stream bytes, to just before
// that object's "endobj", the rest of the file signed.
func hugeGapPDF(t *testing.T, stream int) []byte {
	t.Helper()
	build := func(a, b, c int) []byte {
		sig := fmt.Sprintf("<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/adbe.pkcs7.detached/ByteRange[0 %010d %010d %010d]/Contents<00>>>", a, b, c)
		filler := fmt.Sprintf("<</Length %d>>\nstream\n%s\nendstream", stream, strings.Repeat("x", stream))
		return pdfsealtest.Build([]string{"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[4 0 R]/SigFlags 3>>>>", pagesObj, pageObj,
			"<</FT/Sig/T(Seal1)/V 5 0 R/Type/Annot/Subtype/Widget/Rect[0 0 0 0]/P 3 0 R>>", sig, filler}, "/Root 1 0 R")
	}
	draft := build(0, 0, 0)
	a := bytes.Index(draft, []byte("/Contents<")) + len("/Contents")
	b := bytes.Index(draft, []byte("endstream")) + len("endstream")
	doc := build(a, b, len(draft)-b)
	if len(doc) != len(draft) || doc[a] != '<' || b-a <= MaxContentsBytes {
		t.Fatal("hugeGapPDF: the ByteRange gap is not where it should be")
	}
	return doc
}
