package reportview

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/report"
)

// TestPDF renders reports of every kind and checks them with qpdf and
// poppler: the file is sound, its text (extracted through the embedded
// font's ToUnicode map) holds the verdict, its code and the seal's code,
// and it shows as many pictures as it should.
func TestPDF(t *testing.T) {
	t.Parallel()
	red := solidPNG(t)
	var jpg bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = 0xC0
	}
	if err := jpeg.Encode(&jpg, img, nil); err != nil {
		t.Fatal(err)
	}
	withPicture := func(doc *report.Document, data []byte) *report.Document {
		doc.Signatures[0].SealPicture = &report.Picture{Type: "PNG", Data: data, WidthMM: 40, HeightMM: 40}
		return doc
	}
	hostile := withPicture(sample(report.Failed), red)
	hostile.Document = "😀 report\t§1 — “quoted”.pdf"
	hostile.Signatures[0].Signer = "CN=Émile Zoë ☃"
	unreadable := &report.Document{Document: "x.bin", Error: "neither a PDF nor an OFD document", Signatures: []report.Signature{}}
	tests := []struct {
		name   string
		doc    *report.Document
		lang   Lang
		want   []string
		images int
	}{
		{"passed", withPicture(sample(report.Passed), red), Chinese, []string{"验章报告", "签章有效（TOTAL_PASSED）", "33010000000001", "NENT-QAXB-NENT-QAXB", "示例县政务服务中心电子印章", "GB/T 38540 7.3 b, g"}, 1},
		{"failed english", withPicture(sample(report.Failed), red), English, []string{"Seal verification report", "Not valid（TOTAL_FAILED）", "the content differs from what was signed"}, 1},
		{"unknown", withPicture(sample(report.Indeterminate), jpg.Bytes()), Chinese, []string{"无法确认（INDETERMINATE）", "证书无法追溯到本系统信任的根证书"}, 1},
		{"corrupt picture", withPicture(sample(report.Passed), []byte(pngMagic)), Chinese, []string{"签章有效"}, 0},
		{"hostile text", hostile, Chinese, []string{"签章无效", "? report 1 - ?quoted?.pdf", "CN=?mile Zo? ?"}, 1},
		{"unreadable", unreadable, Chinese, []string{"无法读取该文件", "neither a PDF nor an OFD document"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := PDF(tt.doc, Options{Lang: tt.lang})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "report.pdf")
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			run(t, "qpdf", "--check", path)
			text := strings.Join(strings.Fields(run(t, "pdftotext", "-enc", "UTF-8", path, "-")), " ")
			for _, w := range tt.want {
				if !strings.Contains(text, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("text lacks %q:\n%s", w, text)
				}
			}
			list := run(t, "pdfimages", "-list", path)
			if n := strings.Count(list, "\n") - 2; n != tt.images && !(tt.images == 1 && n == 2) { // an image and its soft mask
				t.Errorf("%d images, want %d:\n%s", n, tt.images, list)
			}
			again, err := PDF(tt.doc, Options{Lang: tt.lang})
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("a second rendering differs (%v)", err)
			}
		})
	}
}

// solidPNG is a 32×32 PNG of the seal's red.
func solidPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	for y := range 32 {
		for x := range 32 {
			img.Set(x, y, color.NRGBA{R: 0xE6, B: 0x12, A: 0xFF})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// run runs a tool the test needs and returns its output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"GB/T 38540 §7.3 b, g": "GB/T 38540 7.3 b, g",
		"签章有效（TOTAL_PASSED）":   "签章有效（TOTAL_PASSED）",
		"a\tb—c…\r\nd":         "a b-c...\nd",
		"😀é":                   "??",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzPDF: whatever a document names itself and its signer, the report
// renders.
func FuzzPDF(f *testing.F) {
	f.Add("证明.pdf", "CN=示例", "GB/T 38540 §7.3")
	f.Add("😀\t\x00\xff", "Zoë — ☃", "")
	f.Fuzz(func(t *testing.T, name, signer, detail string) {
		doc := sample(report.Failed)
		doc.Document, doc.Signatures[0].Signer, doc.Signatures[0].Checks[0].Detail = name, signer, detail
		if _, err := PDF(doc, Options{}); err != nil {
			t.Fatalf("PDF: %v", err)
		}
	})
}
