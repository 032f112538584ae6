package pipeline

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/demo/certofd"
	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
	"github.com/sealpipe/sealpipe/pipeline/ofd"
	"github.com/sealpipe/sealpipe/pipeline/ofdseal"
	"github.com/sealpipe/sealpipe/pipeline/report"
)

// TestOFDCarriedOver: the pipeline's own check of a sealed OFD passes when
// every part of the approved package is in the output with the same bytes
// (however stored), whatever happened to OFD.xml and Signatures.xml and
// whatever was added; it fails naming the part when one is changed,
// missing or renamed, or when the output is no OFD.
func TestOFDCarriedOver(t *testing.T) {
	in, err := certofd.Render(certpdf.Sample(1, time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	const page = "Doc_0/Pages/Page_0/Content.xml"
	tests := []struct {
		name   string
		output []byte
		ok     bool
		detail string
	}{
		{"the input itself", in, true, "4 part(s)"},
		{"a part added, OFD.xml rewritten, a Signatures.xml added", repack(t, in, false, func(name string, data []byte) (string, []byte) {
			if name == "OFD.xml" {
				return name, bytes.Replace(data, []byte("</ofd:DocBody>"), []byte("<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody>"), 1)
			}
			return name, data
		}, "Doc_0/Signs/Signatures.xml", "Doc_0/Signs/Sign_0/Signature.xml"), true, "4 part(s)"},
		{"every part stored instead of deflated", repack(t, in, true, keep), true, "4 part(s)"},
		{"a byte of a page changed", repack(t, in, false, func(name string, data []byte) (string, []byte) {
			if name == page {
				data = bytes.Clone(data)
				data[len(data)-3] ^= 1
			}
			return name, data
		}), false, `part "` + page + `" differs`},
		{"a part missing", repack(t, in, false, func(name string, data []byte) (string, []byte) {
			if strings.HasSuffix(name, ".ttf") {
				return "", nil
			}
			return name, data
		}), false, "missing from the output"},
		{"a part renamed", repack(t, in, false, func(name string, data []byte) (string, []byte) {
			if name == page {
				return strings.Replace(name, "Page_0", "PAGE_0", 1), data
			}
			return name, data
		}), false, "missing from the output"},
		{"not an OFD", []byte("%PDF-1.7\n"), false, "not an OFD package"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ofdCarriedOver(in, tt.output)
			if (c.Result == report.OK) != tt.ok || !strings.Contains(c.Detail, tt.detail) || c.Name != checkApprovedContent {
				t.Fatalf("check = %s %s (%s), want ok %v, detail with %q", c.Name, c.Result, c.Detail, tt.ok, tt.detail)
			}
			if !tt.ok && c.SubIndication != report.SubHashFailure {
				t.Errorf("sub-indication %s, want %s", c.SubIndication, report.SubHashFailure)
			}
		})
	}
}

// TestOFDRejectionCodes: each sentinel ofdseal documents for Seal maps to
// the code its PDF counterpart gets, also when wrapped with package ofd's;
// a signer failure is retried, not refused.
func TestOFDRejectionCodes(t *testing.T) {
	tests := []struct {
		err  error
		code report.Code // "" means no refusal
	}{
		{fmt.Errorf("%w: page 9", ofdseal.ErrNoPage), CodePlacementInvalid},
		{fmt.Errorf("%w: off the page", ofdseal.ErrPlacement), CodePlacementInvalid},
		{fmt.Errorf("%w: %w", ofdseal.ErrTooLarge, ofd.ErrTooLarge), CodeDocumentTooLarge},
		{fmt.Errorf("%w: %w", ofdseal.ErrMalformed, ofd.ErrDuplicate), CodeDocumentMalformed},
		{fmt.Errorf("%w: %w", ofdseal.ErrMalformed, &ofd.PartError{Part: "OFD.xml", Err: ofd.ErrDTD}), CodeDocumentMalformed},
		{ofdseal.ErrNoChangesPermitted, CodeDocumentLocked},
		{ofdseal.ErrSeal, CodeSealUnusable},
		{fmt.Errorf("%w: HSM session closed", ofdseal.ErrSigner), ""},
		{errors.New("context canceled"), ""},
	}
	for _, tt := range tests {
		code, ok := ofdRejection(tt.err)
		if code != tt.code || ok != (tt.code != "") {
			t.Errorf("ofdRejection(%v) = %q, %v; want %q", tt.err, code, ok, tt.code)
		}
	}
}

func keep(name string, data []byte) (string, []byte) { return name, data }

// RepackOFD is repack, for the tests of package pipeline_test.
var RepackOFD = repack

// repack writes pkg again, each entry as edit returns it (an empty name
// drops it), stored rather than deflated when store is set, followed by
// added entries.
func repack(t *testing.T, pkg []byte, store bool, edit func(name string, data []byte) (string, []byte), added ...string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	write := func(name string, data []byte) {
		method := zip.Deflate
		if store {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err == nil {
			_, err = w.Write(data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if name, data := edit(f.Name, data); name != "" {
			write(name, data)
		}
	}
	for _, name := range added {
		write(name, []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016"/>`))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
