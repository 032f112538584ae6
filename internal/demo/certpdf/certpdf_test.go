package certpdf

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/templates/fonts"
	"github.com/sealpipe/sealpipe/templates/verifymark"
)

var (
	cst    = time.FixedZone("CST", 8*3600)
	issued = time.Date(2024, 3, 15, 9, 30, 0, 0, cst)
)

// fullBody fills exactly MaxBodyLines lines.
var fullBody = strings.Repeat("兹证明该同志系本县居民特此证明", 20)[:3*(28-2+28*(MaxBodyLines-1))]

// testCertificates are the certificates the tool tests render.
func testCertificates() map[string]Certificate {
	long := Sample(3, issued)
	long.Department = "某某省某某市某某县人民政府政务服务管理办"
	long.Body = fullBody
	utc := Sample(1, time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC))
	return map[string]Certificate{
		"sample 0":        Sample(0, issued),
		"sample 1 in UTC": utc,
		"full page":       long,
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

func writePDF(t *testing.T, c Certificate) (string, []byte) {
	t.Helper()
	b, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cert.pdf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b
}

// eachPDF renders each certificate to a file and checks it, in parallel
// subtests.
func eachPDF(t *testing.T, certs map[string]Certificate, check func(t *testing.T, c Certificate, path string, b []byte)) {
	t.Parallel()
	for name, c := range certs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path, b := writePDF(t, c)
			check(t, c, path, b)
		})
	}
}

func TestQPDFCheck(t *testing.T) {
	eachPDF(t, testCertificates(), func(t *testing.T, _ Certificate, path string, _ []byte) {
		out := run(t, "qpdf", "--check", path)
		if !strings.Contains(out, "No syntax or stream encoding errors") {
			t.Errorf("qpdf --check:\n%s", out)
		}
		if strings.Contains(strings.ToLower(out), "warning") {
			t.Errorf("qpdf --check warns:\n%s", out)
		}
	})
}

func TestPDFInfo(t *testing.T) {
	eachPDF(t, testCertificates(), func(t *testing.T, c Certificate, path string, _ []byte) {
		out := run(t, "pdfinfo", "-enc", "UTF-8", "-isodates", path)
		// poppler prints the zone in varying forms (Z, +08, +08:00).
		if want := "CreationDate:    " + c.Date.Format("2006-01-02T15:04:05"); !strings.Contains(out, want) {
			t.Errorf("pdfinfo lacks %q:\n%s", want, out)
		}
		for _, want := range []string{
			"Title:           证明（" + c.Number + "）",
			"Author:          " + c.Department,
			"Pages:           1",
			"Page size:       595.276 x 841.89 pts (A4)",
			"PDF version:     1.7",
		} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("pdfinfo lacks %q:\n%s", want, out)
			}
		}
		if want := "Subject:         " + c.Department + chineseDate(c.Date) + "出具的证明\n"; !strings.Contains(out, want) {
			t.Errorf("pdfinfo lacks %q:\n%s", want, out)
		}
	})
}

// page is a certificate rendered to pixels by poppler.
type page struct {
	img *image.Gray
	dpi float64
}

func rasterize(t *testing.T, c Certificate, dpi int) *page {
	t.Helper()
	path, _ := writePDF(t, c)
	prefix := filepath.Join(filepath.Dir(path), "page")
	run(t, "pdftoppm", "-r", strconv.Itoa(dpi), "-png", "-singlefile", path, prefix)
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g := image.NewGray(im.Bounds())
	for y := g.Rect.Min.Y; y < g.Rect.Max.Y; y++ {
		for x := g.Rect.Min.X; x < g.Rect.Max.X; x++ {
			g.Set(x, y, im.At(x, y)) // converts to luminance
		}
	}
	wantW, wantH := int(math.Round(210/25.4*float64(dpi))), int(math.Round(297/25.4*float64(dpi)))
	if d := g.Rect.Size(); abs(d.X-wantW) > 1 || abs(d.Y-wantH) > 1 {
		t.Fatalf("page is %v pixels, want about %d×%d for A4 at %d dpi", d, wantW, wantH, dpi)
	}
	return &page{img: g, dpi: float64(dpi)}
}

func abs(x int) int { return max(x, -x) }

// dark counts pixels darker than mid-grey, and the darkest value, in the
// rectangle x, y, w, h mm (from the lower-left corner).
func (p *page) dark(x, y, w, h float64) (n int, darkest uint8) {
	px := func(mm float64) int { return int(math.Round(mm / 25.4 * p.dpi)) }
	x0, x1 := px(x), px(x+w)
	y0, y1 := px(297-y-h), px(297-y)
	darkest = 255
	for yy := y0; yy < y1; yy++ {
		for xx := x0; xx < x1; xx++ {
			v := p.img.GrayAt(xx, yy).Y
			darkest = min(darkest, v)
			if v < 128 {
				n++
			}
		}
	}
	return n, darkest
}

func TestRenderedPage(t *testing.T) {
	t.Parallel()
	for name, c := range testCertificates() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := rasterize(t, c, 50)
			areas := []struct {
				what       string
				x, y, w, h float64
			}{
				{"title", (pageWidth - 3*titleSize) / 2, titleY, 3 * titleSize, titleSize},
				{"name line", left, nameY, 60, bodySize},
				{"ID line", left, idY, 120, bodySize},
				{"first body line", left, bodyY, 156, bodySize},
				{"date", dateEdge - 40, dateY, 40, bodySize},
				{"department", left, deptY, 156, bodySize},
			}
			if name == "full page" {
				// A full body line spans the type area: 28 characters, 156 mm.
				areas = append(areas, struct {
					what       string
					x, y, w, h float64
				}{"right end of a full line", right - bodySize, bodyY - pitch, bodySize, bodySize})
			}
			for _, a := range areas {
				if n, _ := p.dark(a.x, a.y, a.w, a.h); n < 10 {
					t.Errorf("%s area has %d dark pixels, want text", a.what, n)
				}
			}
			// Blank between the lines: text stays on its lines.
			if n, darkest := p.dark(left, titleY-12, 156, 6); n > 0 {
				t.Errorf("gap under the title has %d dark pixels (darkest %d)", n, darkest)
			}
			pg, x, y, w, h := SealArea()
			if pg != 1 {
				t.Fatalf("SealArea page = %d, want 1", pg)
			}
			// 骑年盖月: the seal goes over the department and the date.
			if n, _ := p.dark(x, y, w, h); n < 10 {
				t.Errorf("seal area has %d dark pixels, want the department and the date under it", n)
			}
		})
	}
}

func TestSealAreaGeometry(t *testing.T) {
	t.Parallel()
	_, x, y, w, h := SealArea()
	if w != 42 || h != 42 {
		t.Errorf("seal area %v×%v mm, want the 42 mm seal's square", w, h)
	}
	if x < left || x+w > right || y < noteY+noteSize || y+h > bodyY-float64(MaxBodyLines-1)*pitch {
		t.Errorf("seal area (%v, %v, %v, %v) is not between the last body line and the note, inside the type area", x, y, w, h)
	}
	// The verification mark goes under the seal (pdfseal.Mark), clear of
	// the note.
	if markY := y - pdfseal.MarkGap - verifymark.QRSide; markY < noteY+noteSize+1 {
		t.Errorf("the verification mark under the seal would reach down to %v mm, the note's top is at %v mm", markY, noteY+noteSize)
	}
	// §7.3.5.1, 骑年盖月: the department and the date lie under the seal,
	// below its centre, and within its circle (a chord of at least 20 mm
	// at the date line's top).
	cy := y + h/2
	if !(deptY+bodySize < cy && cy-dateY < h/2) {
		t.Errorf("seal centre at y = %v mm; want it above the department (top %v) and the date (bottom %v) inside the seal", cy, deptY+bodySize, dateY)
	}
	if d := cy - (dateY + bodySize); 2*math.Sqrt(h*h/4-d*d) < 20 {
		t.Errorf("the seal crosses the date line's top %v mm below its centre: too little of the date is covered", d)
	}
	// §7.3.5.1: the seal is centred over the date.
	date, err := fonts.Text(chineseDate(time.Date(2024, 12, 31, 0, 0, 0, 0, cst)))
	if err != nil {
		t.Fatal(err)
	}
	centre := dateEdge - fonts.Advance(date)*bodySize/2
	if math.Abs(x+w/2-centre) > 0.01 {
		t.Errorf("seal area centred at x = %v mm, the date at %v mm", x+w/2, centre)
	}
}

func TestRenderDeterministic(t *testing.T) {
	t.Parallel()
	c := Sample(5, issued)
	a, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same certificate differ")
	}
	c.Number += "A"
	d, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, d) {
		t.Fatal("a different number rendered the same bytes")
	}
	if fileID(t, a) == fileID(t, d) {
		t.Error("different certificates share a file /ID")
	}
}

func fileID(t *testing.T, pdf []byte) string {
	t.Helper()
	m := regexp.MustCompile(`/ID \[<([0-9A-F]{32})> <([0-9A-F]{32})>\]`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("trailer has no /ID of two 16-byte strings")
	}
	return string(m[1])
}

// TestStructure checks what qpdf repairs silently: every cross-reference
// entry points at its object, startxref at the table.
func TestStructure(t *testing.T) {
	t.Parallel()
	b, err := Render(Sample(2, issued))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-1.7\n%")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Fatal("file does not start with a PDF 1.7 header or end with an EOF marker")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	var first, count int
	if _, err := fmt.Sscanf(string(b[xref:]), "xref\n%d %d\n", &first, &count); err != nil || first != 0 {
		t.Fatalf("xref subsection header: %v", err)
	}
	entries := b[xref+len(fmt.Sprintf("xref\n0 %d\n", count)):]
	for n := range count {
		e := string(entries[20*n : 20*n+20])
		if n == 0 {
			if e != "0000000000 65535 f \n" {
				t.Errorf("entry 0 = %q", e)
			}
			continue
		}
		off, err := strconv.Atoi(e[:10])
		if err != nil || e[10:] != " 00000 n \n" {
			t.Fatalf("entry %d = %q", n, e)
		}
		if want := fmt.Sprintf("%d 0 obj\n", n); !bytes.HasPrefix(b[off:], []byte(want)) {
			t.Errorf("entry %d points at %q", n, b[off:off+12])
		}
	}
	if !bytes.Contains(b, []byte(fmt.Sprintf("/Size %d ", count))) {
		t.Errorf("trailer /Size differs from the %d xref entries", count)
	}
	// The text is not embedded as a font.
	for _, forbidden := range []string{"/Font", "/FontFile", "BT"} {
		if bytes.Contains(b, []byte(forbidden)) {
			t.Errorf("file contains %s; text must be drawn as paths", forbidden)
		}
	}
}

func TestInfoStrings(t *testing.T) {
	t.Parallel()
	c := Sample(4, issued)
	b, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`/Title <FEFF([0-9A-F]*)>`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no UTF-16BE /Title")
	}
	var units []uint16
	for i := 0; i+4 <= len(m[1]); i += 4 {
		v, err := strconv.ParseUint(string(m[1][i:i+4]), 16, 16)
		if err != nil {
			t.Fatal(err)
		}
		units = append(units, uint16(v))
	}
	if got, want := string(utf16.Decode(units)), "证明（"+c.Number+"）"; got != want {
		t.Errorf("/Title = %q, want %q", got, want)
	}
	if !bytes.Contains(b, []byte("/CreationDate (D:20240315093000+08'00')")) {
		t.Error("CreationDate is not the certificate's date in its own zone")
	}
}

func TestPDFDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2024, 3, 15, 9, 30, 5, 0, cst), "(D:20240315093005+08'00')"},
		{time.Date(2024, 3, 15, 9, 30, 5, 0, time.UTC), "(D:20240315093005Z)"},
		{time.Date(1999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -(3*3600+30*60))), "(D:19991231235959-03'30')"},
	}
	for _, tt := range tests {
		if got := pdfDate(tt.t); got != tt.want {
			t.Errorf("pdfDate(%v) = %s, want %s", tt.t, got, tt.want)
		}
	}
}

func TestChineseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2024, 3, 5, 0, 0, 0, 0, cst), "2024年3月5日"},
		{time.Date(2024, 12, 31, 23, 59, 0, 0, cst), "2024年12月31日"},
		{time.Date(2024, 12, 31, 20, 0, 0, 0, time.UTC), "2024年12月31日"}, // its own zone, not Beijing's
	}
	for _, tt := range tests {
		if got := chineseDate(tt.t); got != tt.want {
			t.Errorf("chineseDate(%v) = %s, want %s", tt.t, got, tt.want)
		}
	}
}

func TestNum(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{0: "0", math.Copysign(0, -1): "0", -0.0001: "0", 1.0 / 3: "0.333", 2.834645669: "2.835", -12.5: "-12.5", 595.2755905: "595.276"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %s, want %s", v, got, want)
		}
	}
}

// validID is an independent GB 11643-1999 checksum: Σ aᵢ·Wᵢ over all 18
// characters, X counting 10, with Wᵢ = 2^(17−i) mod 11, is 1 mod 11.
func validID(id string) bool {
	if len(id) != 18 {
		return false
	}
	sum := 0
	for i := range 18 {
		w := 1
		for range 17 - i {
			w = w * 2 % 11
		}
		var a int
		switch c := id[i]; {
		case c >= '0' && c <= '9':
			a = int(c - '0')
		case c == 'X' && i == 17:
			a = 10
		default:
			return false
		}
		sum += a * w
	}
	return sum%11 == 1
}

func TestIDChecksum(t *testing.T) {
	t.Parallel()
	// The examples in GB 11643-1999, appendix A.
	for _, id := range []string{"11010519491231002X", "440524188001010014"} {
		if !validID(id) {
			t.Errorf("independent checksum rejects the standard's example %s", id)
		}
		if err := checkID(id); err != nil {
			t.Errorf("checkID(%s) = %v", id, err)
		}
		if got := idCheckDigit(id[:17]); got != id[17] {
			t.Errorf("idCheckDigit(%s) = %c, want %c", id[:17], got, id[17])
		}
	}
	for _, bad := range []string{"110105194912310021", "11010519491231002x", "1101051949123100", "11010519491331002X", "1101051949123100AX", "440524188001010014 "} {
		if err := checkID(bad); !errors.Is(err, ErrInvalidCertificate) {
			t.Errorf("checkID(%q) = %v, want an ErrInvalidCertificate", bad, err)
		}
	}
}

func TestSample(t *testing.T) {
	t.Parallel()
	numbers := map[string]bool{}
	names := map[string]bool{}
	for i := range 1000 {
		c := Sample(i, issued)
		if !validID(c.IDNumber) {
			t.Fatalf("Sample(%d).IDNumber = %s fails the GB 11643 checksum", i, c.IDNumber)
		}
		birth, err := time.ParseInLocation("20060102", c.IDNumber[6:14], cst)
		if err != nil {
			t.Fatalf("Sample(%d): ID %s has no birth date: %v", i, c.IDNumber, err)
		}
		if birth.Before(issued.AddDate(-81, 0, 0)) || birth.After(issued.AddDate(-18, 0, 0)) {
			t.Errorf("Sample(%d): born %v, not 18 to 80 years before %v", i, birth, issued)
		}
		if numbers[c.Number] {
			t.Errorf("Sample(%d): number %s repeats", i, c.Number)
		}
		numbers[c.Number] = true
		names[c.Name] = true
		if !strings.Contains(c.Body, c.Name) || !strings.Contains(c.Body, c.IDNumber) || c.Department != DemoDepartment || !c.Date.Equal(issued) {
			t.Errorf("Sample(%d) is inconsistent: %+v", i, c)
		}
		if again := Sample(i, issued); again != c {
			t.Fatalf("Sample(%d) is not deterministic", i)
		}
	}
	if len(names) < 100 {
		t.Errorf("1000 samples have only %d distinct names", len(names))
	}
	for i := range 20 {
		if _, err := Render(Sample(i, issued)); err != nil {
			t.Errorf("Render(Sample(%d)): %v", i, err)
		}
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	const limit = 150 << 10
	for i := range 10 {
		b, err := Render(Sample(i, issued))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > limit {
			t.Errorf("Sample(%d) is %d bytes, want under %d", i, len(b), limit)
		}
		if i == 0 {
			t.Logf("typical certificate: %d bytes", len(b))
		}
	}
}

func TestRenderInvalid(t *testing.T) {
	t.Parallel()
	ok := Sample(0, issued)
	with := func(f func(*Certificate)) Certificate { c := ok; f(&c); return c }
	tests := []struct {
		name    string
		c       Certificate
		field   string
		missing bool
	}{
		{"no number", with(func(c *Certificate) { c.Number = "" }), "Number", false},
		{"number too long", with(func(c *Certificate) { c.Number = strings.Repeat("9", MaxNumberRunes+1) }), "Number", false},
		{"number with a tab", with(func(c *Certificate) { c.Number = "ZM\t1" }), "Number", true},
		{"no name", with(func(c *Certificate) { c.Name = "" }), "Name", false},
		{"name with a space", with(func(c *Certificate) { c.Name = "王 伟" }), "Name", false},
		{"name too long", with(func(c *Certificate) { c.Name = strings.Repeat("王", MaxNameRunes+1) }), "Name", false},
		{"name not UTF-8", with(func(c *Certificate) { c.Name = "王\xff" }), "Name", false},
		{"name glyph missing", with(func(c *Certificate) { c.Name = "王★" }), "Name", true},
		{"ID check character wrong", with(func(c *Certificate) { c.IDNumber = "110105194912310021" }), "IDNumber", false},
		{"ID too short", with(func(c *Certificate) { c.IDNumber = "11010519491231002" }), "IDNumber", false},
		{"ID lower-case x", with(func(c *Certificate) { c.IDNumber = "11010519491231002x" }), "IDNumber", false},
		{"ID impossible birth date", with(func(c *Certificate) { c.IDNumber = "110105194902300025" }), "IDNumber", false},
		{"no department", with(func(c *Certificate) { c.Department = "" }), "Department", false},
		{"department too long", with(func(c *Certificate) { c.Department = strings.Repeat("局", MaxDepartmentRunes+1) }), "Department", false},
		{"no body", with(func(c *Certificate) { c.Body = " \n " }), "Body", false},
		{"body too long", with(func(c *Certificate) { c.Body = fullBody + "证" }), "Body", false},
		{"body glyph missing", with(func(c *Certificate) { c.Body = "兹证明“某人”。" }), "Body", true},
		{"body not UTF-8", with(func(c *Certificate) { c.Body = "兹证明\xc0" }), "Body", false},
		{"no date", with(func(c *Certificate) { c.Date = time.Time{} }), "Date", false},
		{"date too early", with(func(c *Certificate) { c.Date = time.Date(1066, 10, 14, 0, 0, 0, 0, time.UTC) }), "Date", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Render(tt.c)
			if err == nil {
				t.Fatalf("Render = %d bytes, want an error", len(b))
			}
			if !errors.Is(err, ErrInvalidCertificate) {
				t.Errorf("error %v does not wrap ErrInvalidCertificate", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("error %v: want a *FieldError for %s", err, tt.field)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", fe.Value)) {
				t.Errorf("error %q does not quote the value", err)
			}
			if got := errors.Is(err, fonts.ErrMissingGlyph); got != tt.missing {
				t.Errorf("errors.Is(err, fonts.ErrMissingGlyph) = %v, want %v (%v)", got, tt.missing, err)
			}
		})
	}
}

func TestWrap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		text  string
		width float64
		want  []string // the lines
	}{
		{"fits", "兹证明", 28, []string{"兹证明"}},
		{"ideographs break anywhere", "一二三四五六七", 4 + 2, []string{"一二三四", "五六七"}},
		{"comma hangs rather than start a line", "一二三四，五六", 4 + 2, []string{"一二三四，", "五六"}},
		{"opening bracket never ends a line", "一二三（四五）", 4 + 2, []string{"一二三", "（四五）"}},
		{"digits stay together", "号码110105194912310021X", 12 + 2, []string{"号码", "110105194912310021X"}},
		{"a run longer than a line is split", "12345678901234567890", 5 + 2, []string{"123456789", "01234567890"}},
		{"brackets around a number", "一二三（2024）", 4 + 2, []string{"一二三", "（2024）"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gs, err := fonts.Text(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			lines := wrap(gs, tt.width, 2)
			var got []string
			for i, l := range lines {
				var s strings.Builder
				for _, g := range l.glyphs {
					s.WriteRune(g.Rune)
				}
				got = append(got, s.String())
				if want := map[bool]float64{true: 2, false: 0}[i == 0]; l.indent != want {
					t.Errorf("line %d indent %v, want %v", i, l.indent, want)
				}
				if w := l.indent + fitWidth(l.glyphs); w > tt.width+1e-9 && len(l.glyphs) > 1 {
					t.Errorf("line %q is %v em, wider than %v", got[i], w, tt.width)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("wrap = %q, want %q", got, tt.want)
			}
		})
	}
}

func BenchmarkRenderCertificate(b *testing.B) {
	c := Sample(0, issued)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(c); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzRender(f *testing.F) {
	c := Sample(0, issued)
	f.Add(c.Number, c.Name, c.IDNumber, c.Department, c.Body)
	f.Add("（2024）某政服证字第7号", "阿依古丽·买买提", "11010519491231002X", "某县民政局", "特此证明。\n\n（此件公开）")
	f.Add("", "\xff", "1", "“”", fullBody)
	f.Fuzz(func(t *testing.T, number, name, id, dept, body string) {
		c := Certificate{Number: number, Name: name, IDNumber: id, Department: dept, Body: body, Date: issued}
		b, err := Render(c)
		if err != nil {
			if !errors.Is(err, ErrInvalidCertificate) {
				t.Fatalf("error %v does not wrap ErrInvalidCertificate", err)
			}
			return
		}
		if !bytes.HasPrefix(b, []byte("%PDF-1.7")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
			t.Fatal("output is not a complete PDF")
		}
	})
}
