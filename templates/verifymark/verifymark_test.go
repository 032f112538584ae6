package verifymark_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
	"github.com/sealpipe/sealpipe/templates/verifymark"
)

const code = "3Q7W-1D5K-ZX0M-8HAT"

// TestQRReads draws marks on a page and reads their QR codes back with
// poppler and zbar: each holds the address of its code, under its base.
func TestQRReads(t *testing.T) {
	for _, base := range []string{
		"http://127.0.0.1:8080",
		"https://verify.example.gov.cn/",
		"https://yz.example.gov.cn/county/department-of-civil-affairs/sealpipe",
	} {
		t.Run(base, func(t *testing.T) {
			m, err := verifymark.New(code, base)
			if err != nil {
				t.Fatal(err)
			}
			if m.Height != verifymark.QRSide || m.Width <= verifymark.QRSide || m.Width > 70 {
				t.Errorf("the mark is %g×%g mm", m.Width, m.Height)
			}
			path := filepath.Join(t.TempDir(), "mark.pdf")
			if err := os.WriteFile(path, pageWith(m.Width, m.Height, m.Content), 0o644); err != nil {
				t.Fatal(err)
			}
			got := testenv.DecodeQR(t, path, 1)
			if want := verifymark.URL(base, code); !slices.Equal(got, []string{want}) {
				t.Errorf("the QR code reads %q, want %q", got, want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	for base, want := range map[string]string{
		"http://127.0.0.1:8080":     "http://127.0.0.1:8080/v/" + code,
		"https://v.example.cn/":     "https://v.example.cn/v/" + code,
		"https://v.example.cn/yz//": "https://v.example.cn/yz/v/" + code,
	} {
		if got := verifymark.URL(base, code); got != want {
			t.Errorf("URL(%q) = %q, want %q", base, got, want)
		}
	}
}

func TestBadBaseURL(t *testing.T) {
	for _, base := range []string{"", "127.0.0.1:8080", "ftp://x.cn", "https://", "https://x.cn/?a=1", "https://x.cn/#f", "https://u:p@x.cn", "/v"} {
		if _, err := verifymark.New(code, base); !errors.Is(err, verifymark.ErrBadBaseURL) {
			t.Errorf("New(%q): %v, want ErrBadBaseURL", base, err)
		}
	}
}

// TestDeterministic: the same code and base give the same mark, and
// another code another QR code.
func TestDeterministic(t *testing.T) {
	a, _ := verifymark.New(code, "http://127.0.0.1:8080")
	b, _ := verifymark.New(code, "http://127.0.0.1:8080")
	c, _ := verifymark.New("3Q7W-1D5K-ZX0M-8HAV", "http://127.0.0.1:8080")
	if !bytes.Equal(a.Content, b.Content) {
		t.Error("two marks of one code differ")
	}
	if bytes.Equal(a.Content, c.Content) {
		t.Error("the marks of two codes are the same")
	}
}

// pageWith is a one-page PDF drawing content, in millimetres, with a
// 5 mm margin round a w×h mm box.
func pageWith(w, h float64, content []byte) []byte {
	const mm = 72 / 25.4
	stream := fmt.Sprintf("q %g 0 0 %g %g %g cm\n%s\nQ", mm, mm, 5*mm, 5*mm, content)
	return pdfsealtest.Build([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents 4 0 R >>", (w+10)*mm, (h+10)*mm),
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
	}, "/Root 1 0 R")
}
