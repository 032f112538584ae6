package textpdf

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

const (
	digest   = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	sealCode = "3201000012345"
)

// Colours of the test image: its left half opaque, its right half fully
// transparent (so that its colour must not show).
var (
	opaqueColor      = color.NRGBA{R: 200, G: 30, B: 160, A: 255}
	transparentColor = color.NRGBA{R: 0, G: 255, B: 0, A: 0}
)

// testPNG is a 40×20 picture, left half opaqueColor, right half
// transparentColor.
func testPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for y := range 20 {
		for x := range 40 {
			c := opaqueColor
			if x >= 20 {
				c = transparentColor
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// longText fills about a page and a half with body text.
var longText = strings.Repeat("本报告列出文件中每个电子印章的验证结果，包括签章者证书、签名算法和时间戳。"+
	"Each seal is checked against its certificate chain and the document's digest. ", 30)

// testDocument is a two-page report in Chinese and English.
func testDocument(t testing.TB) Document {
	return Document{
		Title:   "验章报告 Verification report",
		Author:  "sealpipe",
		Subject: "电子印章验证",
		Lang:    "zh-CN",
		Created: time.Date(2024, 3, 15, 9, 30, 0, 0, time.FixedZone("CST", 8*3600)),
		Blocks: []Block{
			Heading{Text: "验章报告"},
			Paragraph{Text: "签章有效（TOTAL_PASSED）。", Color: Green, Bold: true},
			Rows{
				{"文件", "合同（2024）第7号.pdf"},
				{"印章编码", sealCode},
				{"摘要 SHA-256", digest},
				{"验证时间", "2024-03-15 09:30:00 +08:00"},
			},
			Image{PNG: testPNG(t), WidthMM: 40},
			Rule{},
			Small{Text: "本报告由 sealpipe 生成，仅供参考。"},
			Heading{Text: "Details"},
			Paragraph{Text: longText},
			Paragraph{Text: "警告：时间戳证书即将过期。", Color: Amber},
		},
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writePDF(t *testing.T, d Document) string {
	t.Helper()
	b, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTools checks the test document with qpdf and poppler, which share no
// code with this package.
func TestTools(t *testing.T) {
	path := writePDF(t, testDocument(t))
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"qpdf --check", func(t *testing.T) {
			out := run(t, "qpdf", "--check", path)
			if !strings.Contains(out, "No syntax or stream encoding errors found") {
				t.Errorf("qpdf --check:\n%s", out)
			}
		}},
		{"pdftotext -layout", func(t *testing.T) {
			out := run(t, "pdftotext", "-layout", "-enc", "UTF-8", path, "-")
			for _, want := range []string{"验章报告", "签章有效（TOTAL_PASSED）。", sealCode, "摘要 SHA-256",
				"合同（2024）第7号.pdf", "2024-03-15 09:30:00 +08:00", "本报告由 sealpipe 生成，仅供参考。", "Details",
				"警告：时间戳证书即将过期。"} {
				if !strings.Contains(out, want) {
					t.Errorf("pdftotext -layout output lacks %q:\n%s", want, out)
				}
			}
		}},
		{"pdftotext, lines joined", func(t *testing.T) {
			// The digest is wider than its column, and the long text
			// runs over many lines and onto the next page: joining the
			// lines (and dropping spaces, which pdftotext may add or drop
			// at line ends) undoes the breaks.
			out := run(t, "pdftotext", "-enc", "UTF-8", path, "-")
			joined := strings.NewReplacer("\n", "", "\f", "", " ", "").Replace(out)
			for _, want := range []string{digest, strings.ReplaceAll(longText, " ", "")} {
				if !strings.Contains(joined, want) {
					t.Errorf("pdftotext output, lines and spaces removed, lacks %q:\n%s", want, out)
				}
			}
		}},
		{"pdffonts", func(t *testing.T) {
			out := run(t, "pdffonts", path)
			re := regexp.MustCompile(`(?m)^[A-Z]{6}\+DroidSansFallback +CID TrueType +Identity-H +yes +yes +yes +\d+ +0$`)
			if !re.MatchString(out) || strings.Count(out, "\n") != 3 {
				t.Errorf("pdffonts: want one font, CID TrueType, Identity-H, embedded, subset, with ToUnicode:\n%s", out)
			}
		}},
		{"pdfinfo", func(t *testing.T) {
			out := run(t, "pdfinfo", path)
			for _, want := range []string{"Pages:           2\n", "Title:           验章报告 Verification report\n",
				"Page size:       595.276 x 841.89 pts (A4)\n", "Author:          sealpipe\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("pdfinfo lacks %q:\n%s", want, out)
				}
			}
		}},
		{"pdftoppm", func(t *testing.T) {
			dir := t.TempDir()
			out := run(t, "pdftoppm", "-r", "50", "-png", path, filepath.Join(dir, "page"))
			if out != "" {
				t.Errorf("pdftoppm said:\n%s", out)
			}
			matches, err := filepath.Glob(filepath.Join(dir, "page-*.png"))
			if err != nil || len(matches) != 2 {
				t.Fatalf("pdftoppm made %v, want two pages (%v)", matches, err)
			}
			img := decodePNG(t, matches[0])
			opaque, transparent, inked := 0, 0, 0
			b := img.Bounds()
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					switch {
					case near(c, opaqueColor):
						opaque++
					case near(c, color.NRGBA{R: transparentColor.R, G: transparentColor.G, B: transparentColor.B, A: 255}):
						transparent++
					case c.R < 128 && c.G < 128 && c.B < 128:
						inked++
					}
				}
			}
			// 40 mm × 20 mm at 50 dpi is about 79 × 39 pixels, half of
			// them the opaque colour.
			if opaque < 1000 {
				t.Errorf("%d pixels of the image's opaque colour, want about 1500", opaque)
			}
			if transparent > 0 {
				t.Errorf("%d pixels of the image's transparent colour, want none (the soft mask hides them)", transparent)
			}
			if inked < 1000 {
				t.Errorf("%d dark pixels, want the text's", inked)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

func near(a, b color.NRGBA) bool {
	d := func(x, y uint8) bool { return math.Abs(float64(x)-float64(y)) <= 12 }
	return a.A == b.A && d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestPageCount checks that content longer than a page goes on as many
// pages as it needs.
func TestPageCount(t *testing.T) {
	line := Paragraph{Text: "一行"}
	lines := Paragraph{Text: strings.Repeat("一行\n", 99) + "一行"}
	tests := []struct {
		name   string
		blocks []Block
		pages  int
	}{
		{"empty", nil, 1},
		{"one line", []Block{line}, 1},
		{"test document", testDocument(t).Blocks, 2},
		{"100 lines", []Block{lines}, 3}, // 43 lines to a page
		{"30 paragraphs", repeat(line, 30), 1},
		{"40 paragraphs", repeat(line, 40), 2}, // 32 to a page, with the space between them
		{"tall images", repeat(Image{PNG: testPNG(t), WidthMM: 300}, 3), 2},
		{"long row", []Block{Rows{{"键", strings.Repeat("值", 3000)}}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Render(Document{Blocks: tt.blocks})
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Count(b, []byte("/Type /Page ")); got != tt.pages {
				t.Errorf("%d pages, want %d", got, tt.pages)
			}
			if got := bytes.Count(b, []byte("/Count ")); got != 1 || !bytes.Contains(b, fmt.Appendf(nil, "/Count %d >>", tt.pages)) {
				t.Errorf("page tree does not count %d pages", tt.pages)
			}
		})
	}
}

func repeat(b Block, n int) []Block {
	bs := make([]Block, n)
	for i := range bs {
		bs[i] = b
	}
	return bs
}

// TestDeterministic renders documents twice.
func TestDeterministic(t *testing.T) {
	d := testDocument(t)
	a, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("the same document gave different bytes")
	}
	d.Blocks = append(d.Blocks, Paragraph{Text: "再"})
	c, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Fatal("different documents gave the same bytes")
	}
	t.Logf("test document: %d bytes", len(a))
}

// TestInvalid checks what Render refuses.
func TestInvalid(t *testing.T) {
	var nilHeading *Heading
	tests := []struct {
		name  string
		doc   Document
		rune  rune // for a *GlyphError; 0 for another error
		block int
		want  string // in the message
	}{
		{"emoji", Document{Blocks: []Block{Paragraph{Text: "签章😀"}}}, '😀', 0, "U+1F600"},
		{"private use", Document{Blocks: []Block{Rule{}, Heading{Text: "\ue000"}}}, '\ue000', 1, "U+E000"},
		{"tab", Document{Blocks: []Block{Small{Text: "a\tb"}}}, '\t', 0, "U+0009"},
		{"replacement character", Document{Blocks: []Block{Paragraph{Text: "\ufffd"}}}, '\ufffd', 0, "U+FFFD"},
		{"em dash in a key", Document{Blocks: []Block{Rows{{"好", "好"}, {"—", "好"}}}}, '—', 0, "U+2014"},
		{"latin-1 in a value", Document{Blocks: []Block{Paragraph{}, Rows{{"a", "é"}}}}, 'é', 1, "U+00E9"},
		{"invalid UTF-8", Document{Blocks: []Block{Paragraph{Text: "a\xffb"}}}, 0, 0, "not valid UTF-8"},
		{"invalid UTF-8 title", Document{Title: "\xff"}, 0, 0, "not valid UTF-8"},
		{"year 10000", Document{Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, 0, 0, "outside the years"},
		{"nil block", Document{Blocks: []Block{nil}}, 0, 0, "block 0 is nil"},
		{"nil *Heading", Document{Blocks: []Block{Rule{}, nilHeading}}, 0, 0, "block 1 is a nil *textpdf.Heading"},
		{"not a PNG", Document{Blocks: []Block{Image{PNG: []byte("GIF89a, not a PNG"), WidthMM: 10}}}, 0, 0, "png: invalid format: not a PNG file"},
		{"zero width", Document{Blocks: []Block{Image{PNG: testPNG(t), WidthMM: 0}}}, 0, 0, "not a positive number"},
		{"NaN width", Document{Blocks: []Block{Image{PNG: testPNG(t), WidthMM: math.NaN()}}}, 0, 0, "not a positive number"},
		{"infinite width", Document{Blocks: []Block{Image{PNG: testPNG(t), WidthMM: math.Inf(1)}}}, 0, 0, "not a positive number"},
		{"huge image", Document{Blocks: []Block{Image{PNG: hugePNG(t), WidthMM: 10}}}, 0, 0, "at most 16777216 pixels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Render(tt.doc)
			if err == nil {
				t.Fatalf("Render succeeded (%d bytes), want an error", len(b))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "textpdf: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start with \"textpdf: \" and hold %q", err, tt.want)
			}
			var g *GlyphError
			switch {
			case tt.rune == 0 && errors.As(err, &g):
				t.Errorf("error %v is a *GlyphError", err)
			case tt.rune == 0:
			case !errors.As(err, &g):
				t.Errorf("error %v is not a *GlyphError", err)
			case g.Rune != tt.rune || g.Block != tt.block:
				t.Errorf("*GlyphError for %U in block %d, want %U in block %d", g.Rune, g.Block, tt.rune, tt.block)
			}
		})
	}
}

// hugePNG is a valid PNG header claiming 4097 × 4097 pixels, one more
// than MaxImagePixels allows.
func hugePNG(t testing.TB) []byte {
	t.Helper()
	b := testPNG(t)
	ihdr := b[8+4 : 8+4+4+13] // chunk type and data
	if string(ihdr[:4]) != "IHDR" {
		t.Fatal("no IHDR")
	}
	be.PutUint32(ihdr[4:], 4097)
	be.PutUint32(ihdr[8:], 4097)
	be.PutUint32(b[8+4+4+13:], crc32.ChecksumIEEE(ihdr))
	return b
}

// TestAccepted checks inputs at the edges of what Render accepts.
func TestAccepted(t *testing.T) {
	tests := []struct {
		name string
		doc  Document
	}{
		{"pointer blocks", Document{Blocks: []Block{&Heading{Text: "题"}, &Paragraph{Text: "文"}, &Small{}, &Rows{{"a", "b"}}, &Image{PNG: testPNG(t), WidthMM: 1}, &Rule{}}}},
		{"empty texts", Document{Blocks: []Block{Heading{}, Paragraph{}, Small{}, Rows{{"", ""}}, Rows{}}}},
		{"newlines and spaces", Document{Blocks: []Block{Paragraph{Text: "\n\n  a  \n   \n"}}}},
		{"middle dot", Document{Blocks: []Block{Paragraph{Text: "阿依古丽·买买提"}}}},
		{"supplementary plane", Document{Blocks: []Block{Paragraph{Text: "\U00010400"}}}}, // DESERET CAPITAL LETTER LONG I
		{"all ASCII", Document{Blocks: []Block{Paragraph{Text: printableASCII()}}}},
		{"UTC and negative zone", Document{Created: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", -(3*3600+30*60)))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Render(tt.doc); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func printableASCII() string {
	var b strings.Builder
	for r := ' '; r <= '~'; r++ {
		b.WriteRune(r)
	}
	return b.String()
}

// TestExtractText checks with pdftotext that every kind of character comes
// back out as it went in: ASCII, the middle dot drawn with a substitute,
// and a character outside the Basic Multilingual Plane.
func TestExtractText(t *testing.T) {
	ascii := printableASCII()
	want := []string{ascii[1:48], ascii[48:], "阿依古丽·买买提", "\U00010400\U00010428"}
	var blocks []Block
	for _, s := range want {
		blocks = append(blocks, Paragraph{Text: s})
	}
	path := writePDF(t, Document{Blocks: blocks})
	out := run(t, "pdftotext", "-enc", "UTF-8", path, "-")
	for _, s := range want {
		if !strings.Contains(out, s+"\n") {
			t.Errorf("pdftotext output lacks %q:\n%s", s, out)
		}
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{"", "验章报告", "签章有效。TOTAL_PASSED", digest + digest, "（（（", "，，，", "a b  c\n\nd",
		strings.Repeat("x", 500), "😀", "\xff", "\t", "  ", strings.Repeat("字 ", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Render(Document{Title: s, Blocks: []Block{Heading{Text: s}, Paragraph{Text: s}, Rows{{s, s}}, Small{Text: s}}})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if !bytes.HasPrefix(b, []byte("%PDF-1.7\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
			t.Fatal("not a PDF file")
		}
	})
}

// TestHeadingKeptWithNext checks that a heading near the foot of a page
// goes to the next page when the line after it would not fit under it.
func TestHeadingKeptWithNext(t *testing.T) {
	heading := headingStyle.before + headingStyle.lineHeight()
	line := bodyStyle.lineHeight()
	tests := []struct {
		name  string
		block Block
		room  float64 // millimetres left on the page
		pages int     // pages finished after the block
	}{
		{"heading and a line fit", Heading{Text: "题"}, heading + line + 0.1, 0},
		{"heading fits, the line does not", Heading{Text: "题"}, heading + line - 0.1, 1},
		{"a paragraph's line fits", Paragraph{Text: "文"}, bodyStyle.before + line + 0.1, 0},
		{"a paragraph's line does not", Paragraph{Text: "文"}, bodyStyle.before + line - 0.1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := newTypesetter()
			if err != nil {
				t.Fatal(err)
			}
			ts.pageTop, ts.y = false, bottom+tt.room
			if err := ts.typeset(tt.block); err != nil {
				t.Fatal(err)
			}
			if len(ts.done) != tt.pages {
				t.Errorf("%d pages finished, want %d", len(ts.done), tt.pages)
			}
		})
	}
}

// TestConcurrent renders the same document from several goroutines.
func TestConcurrent(t *testing.T) {
	d := testDocument(t)
	want, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			got, err := Render(d)
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("different bytes")
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
