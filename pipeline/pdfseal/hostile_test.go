package pdfseal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
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
		{"huge stream /Length", buildPDF([]string{catalogObj, pagesObj,
			"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>",
			"<</Length 99999999999999>>\nstream\nBT ET\nendstream"}, "/Root 1 0 R"), ErrMalformed, nil}, // Verify reads no page content
		{"huge /Count", buildPDF([]string{catalogObj, "<</Type/Pages/Count 2147483647/Kids[3 0 R]>>", pageObj}, "/Root 1 0 R"), ErrMalformed, nil},
		{"huge xref stream /Index", xrefStreamPDF("/Size 2000000000/W[1 4 2]/Index[0 2000000000]", make([]byte, 35)), ErrMalformed, nil},
		{"huge xref stream /W", xrefStreamPDF("/Size 5/W[1 2147483647 2]", make([]byte, 35)), ErrMalformed, nil},
		{"huge object stream /N", buildPDF([]string{catalogObj, pagesObj, pageObj,
			"<</Type/ObjStm/N 2147483647/First 4/Length 8>>\nstream\n5 0 1 \nendstream"}, "/Root 1 0 R"), nil, nil},
		{"page tree loop", buildPDF([]string{catalogObj, "<</Type/Pages/Count 1/Kids[2 0 R]>>"}, "/Root 1 0 R"), ErrMalformed, nil},
		{"/Parent loop for inherited MediaBox", buildPDF([]string{catalogObj, "<</Type/Pages/Count 1/Kids[3 0 R]/Parent 3 0 R>>",
			"<</Type/Page/Parent 2 0 R>>"}, "/Root 1 0 R"), ErrMalformed, nil},
		{"form field loop", buildPDF([]string{"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[4 0 R]>>>>", pagesObj, pageObj,
			"<</FT/Sig/T(a)/Kids[4 0 R 5 0 R]>>", "<</T(b)/Kids[4 0 R]/V<</ByteRange[0 1 2 3]/Contents<00>/SubFilter/adbe.pkcs7.detached>>>>"},
			"/Root 1 0 R"), nil, nil},
		{"nesting 200000 deep", append(bytes.Clone(hello[:10]), strings.Repeat("[", 200000)...), ErrMalformed, ErrMalformed},
		{"no catalog", buildPDF([]string{pagesObj, pageObj}, "/Root 9 0 R"), ErrMalformed, ErrMalformed},
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
