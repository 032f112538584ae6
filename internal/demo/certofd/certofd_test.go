package certofd

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
	"github.com/sealpipe/sealpipe/templates/fonts"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	cst    = time.FixedZone("CST", 8*3600)
	issued = time.Date(2024, 3, 15, 9, 30, 0, 0, cst)
)

// testCertificates are the certificates every structural test renders.
func testCertificates() map[string]certpdf.Certificate {
	full := certpdf.Sample(3, issued)
	full.Department = "某某省某某市某某县人民政府政务服务管理办"
	full.Body = strings.Repeat("兹证明该同志系本县居民特此证明", 20)[:3*(28-2+28*(certpdf.MaxBodyLines-1))]
	markup := certpdf.Sample(6, issued)
	markup.Number = `ZM <1> & "2" 'x'` // XML's special characters, and spaces
	markup.Body = "兹证明<某>&人。\n\n特此证明。"
	return map[string]certpdf.Certificate{
		"sample 0":        certpdf.Sample(0, issued),
		"sample 1 in UTC": certpdf.Sample(1, time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)),
		"full page":       full,
		"markup":          markup,
		"before 1980":     certpdf.Sample(7, time.Date(1975, 6, 1, 8, 0, 0, 0, cst)),
	}
}

// The OFD parts, as far as the tests read them.
type (
	ofdEntry struct {
		XMLName xml.Name `xml:"http://www.ofdspec.org/2016 OFD"`
		Version string   `xml:"Version,attr"`
		DocType string   `xml:"DocType,attr"`
		DocBody []struct {
			DocInfo struct {
				DocID, Title, Author, Subject, CreationDate, ModDate, Creator string
			}
			DocRoot string
		}
	}
	ofdDocument struct {
		XMLName    xml.Name `xml:"http://www.ofdspec.org/2016 Document"`
		CommonData struct {
			MaxUnitID   int
			PhysicalBox string   `xml:"PageArea>PhysicalBox"`
			PublicRes   []string `xml:"PublicRes"`
			DocumentRes []string `xml:"DocumentRes"`
		}
		Pages []struct {
			ID      int    `xml:"ID,attr"`
			BaseLoc string `xml:"BaseLoc,attr"`
		} `xml:"Pages>Page"`
	}
	ofdRes struct {
		XMLName xml.Name `xml:"http://www.ofdspec.org/2016 Res"`
		BaseLoc string   `xml:"BaseLoc,attr"`
		Fonts   []struct {
			ID       int    `xml:"ID,attr"`
			FontName string `xml:"FontName,attr"`
			FontFile string
		} `xml:"Fonts>Font"`
	}
	ofdPage struct {
		XMLName xml.Name `xml:"http://www.ofdspec.org/2016 Page"`
		Layers  []struct {
			ID   int       `xml:"ID,attr"`
			Text []ofdText `xml:"TextObject"`
		} `xml:"Content>Layer"`
	}
	ofdText struct {
		ID        int     `xml:"ID,attr"`
		Boundary  string  `xml:"Boundary,attr"`
		Font      int     `xml:"Font,attr"`
		Size      float64 `xml:"Size,attr"`
		FillColor *struct {
			Value string `xml:"Value,attr"`
		}
		TextCode []struct {
			X      float64 `xml:"X,attr"`
			Y      float64 `xml:"Y,attr"`
			DeltaX string  `xml:"DeltaX,attr"`
			Text   string  `xml:",chardata"`
		}
	}
)

// pkg is a rendered certificate, unpacked.
type pkg struct {
	parts    map[string][]byte
	headers  map[string]zip.FileHeader
	entry    ofdEntry
	doc      ofdDocument
	res      ofdRes
	page     ofdPage
	fontPath string
}

// open unpacks an OFD as a reader would: OFD.xml, then what it points at.
func open(t *testing.T, b []byte) *pkg {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	p := &pkg{parts: map[string][]byte{}, headers: map[string]zip.FileHeader{}}
	for _, f := range zr.File {
		if f.Method != zip.Deflate && f.Method != zip.Store {
			t.Errorf("%s: compression method %d, want stored or deflated", f.Name, f.Method)
		}
		if _, dup := p.parts[f.Name]; dup {
			t.Errorf("%s: entry repeats", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc) // checks the CRC at EOF
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		p.parts[f.Name], p.headers[f.Name] = data, f.FileHeader
	}
	for name, data := range p.parts {
		if strings.HasSuffix(name, ".xml") {
			wellFormed(t, name, data)
		}
	}
	unmarshal(t, p, entryName, &p.entry)
	if len(p.entry.DocBody) != 1 {
		t.Fatalf("OFD.xml has %d DocBody elements, want 1", len(p.entry.DocBody))
	}
	docPath := p.entry.DocBody[0].DocRoot
	unmarshal(t, p, docPath, &p.doc)
	dir := path.Dir(docPath)
	if len(p.doc.CommonData.PublicRes) != 1 || len(p.doc.Pages) != 1 {
		t.Fatalf("Document.xml: %d PublicRes, %d pages; want one of each", len(p.doc.CommonData.PublicRes), len(p.doc.Pages))
	}
	unmarshal(t, p, path.Join(dir, p.doc.CommonData.PublicRes[0]), &p.res)
	unmarshal(t, p, path.Join(dir, p.doc.Pages[0].BaseLoc), &p.page)
	if len(p.res.Fonts) != 1 {
		t.Fatalf("PublicRes.xml has %d fonts, want 1", len(p.res.Fonts))
	}
	p.fontPath = path.Join(dir, p.res.BaseLoc, p.res.Fonts[0].FontFile)
	if _, ok := p.parts[p.fontPath]; !ok {
		t.Fatalf("font file %s is not in the package", p.fontPath)
	}
	return p
}

func unmarshal(t *testing.T, p *pkg, name string, v any) {
	t.Helper()
	data, ok := p.parts[name]
	if !ok {
		t.Fatalf("part %s is missing", name)
	}
	if err := xml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// wellFormed checks that data is one well-formed XML document, without a
// DOCTYPE, whose root is in the OFD namespace under the prefix "ofd".
func wellFormed(t *testing.T, name string, data []byte) {
	t.Helper()
	if !bytes.HasPrefix(data, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("%s: no XML declaration", name)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed: %v", name, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Space != "ofd" {
				t.Errorf("%s: element %s:%s, want the prefix ofd", name, tok.Name.Space, tok.Name.Local)
			}
			if depth == 0 {
				roots++
				if !slices.Contains(tok.Attr, xml.Attr{Name: xml.Name{Space: "xmlns", Local: "ofd"}, Value: Namespace}) {
					t.Errorf("%s: root does not declare xmlns:ofd=%q", name, Namespace)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.Directive:
			t.Errorf("%s: has a directive %q", name, tok)
		}
	}
	if depth != 0 || roots != 1 {
		t.Errorf("%s: %d root elements, depth %d at the end", name, roots, depth)
	}
}

// char is one character placed on the page: its origin on the baseline in
// millimetres from the lower-left corner, as certpdf measures.
type char struct {
	r          rune
	x, y, size float64
}

// chars expands every TextCode into placed characters.
func (p *pkg) chars(t *testing.T) []char {
	t.Helper()
	var out []char
	for _, l := range p.page.Layers {
		for _, o := range l.Text {
			b := box(t, o.Boundary)
			for _, tc := range o.TextCode {
				rs := []rune(tc.Text)
				dx := expandDeltaX(t, tc.DeltaX)
				if len(dx) != len(rs)-1 {
					t.Fatalf("TextCode %q has %d DeltaX values, want %d", tc.Text, len(dx), len(rs)-1)
				}
				x := b[0] + tc.X
				for i, r := range rs {
					out = append(out, char{r, x, 297 - (b[1] + tc.Y), o.Size})
					if i < len(dx) {
						x += dx[i]
					}
				}
			}
		}
	}
	return out
}

func box(t *testing.T, s string) [4]float64 {
	t.Helper()
	f := strings.Fields(s)
	if len(f) != 4 {
		t.Fatalf("box %q: want four numbers", s)
	}
	var b [4]float64
	for i := range b {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			t.Fatalf("box %q: %v", s, err)
		}
		b[i] = v
	}
	return b
}

// expandDeltaX reads an ST_Array of offsets with "g count value" runs.
func expandDeltaX(t *testing.T, s string) []float64 {
	t.Helper()
	var out []float64
	f := strings.Fields(s)
	for i := 0; i < len(f); i++ {
		n := 1
		if f[i] == "g" {
			if i+2 >= len(f) {
				t.Fatalf("DeltaX %q: g without count and value", s)
			}
			var err error
			if n, err = strconv.Atoi(f[i+1]); err != nil || n < 1 {
				t.Fatalf("DeltaX %q: bad count %q", s, f[i+1])
			}
			i += 2
		}
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			t.Fatalf("DeltaX %q: %v", s, err)
		}
		for range n {
			out = append(out, v)
		}
	}
	return out
}

func render(t testing.TB, c certpdf.Certificate) []byte {
	t.Helper()
	b, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eachCertificate runs check, in parallel, on every test certificate and
// its rendered package.
func eachCertificate(t *testing.T, check func(t *testing.T, c certpdf.Certificate, p *pkg)) {
	t.Parallel()
	for name, c := range testCertificates() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			check(t, c, open(t, render(t, c)))
		})
	}
}

func TestPackageStructure(t *testing.T) {
	eachCertificate(t, func(t *testing.T, c certpdf.Certificate, p *pkg) {
		want := []string{"OFD.xml", "Doc_0/Document.xml", "Doc_0/PublicRes.xml", "Doc_0/Res/font_2.ttf", "Doc_0/Pages/Page_0/Content.xml"}
		if got := slices.Sorted(func(yield func(string) bool) {
			for n := range p.parts {
				if !yield(n) {
					return
				}
			}
		}); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Errorf("parts %q, want %q", got, want)
		}

		info := p.entry.DocBody[0].DocInfo
		if p.entry.Version != "1.0" || p.entry.DocType != "OFD" {
			t.Errorf("OFD Version %q DocType %q", p.entry.Version, p.entry.DocType)
		}
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(info.DocID) {
			t.Errorf("DocID %q is not 32 characters of hex", info.DocID)
		}
		page, err := certpdf.Layout(c)
		if err != nil {
			t.Fatal(err)
		}
		if info.Title != "证明（"+c.Number+"）" || info.Author != c.Department || info.Subject != page.Subject || !strings.HasPrefix(info.Subject, c.Department) {
			t.Errorf("DocInfo %+v does not describe the certificate", info)
		}
		if want := c.Date.Format("2006-01-02"); info.CreationDate != want || info.ModDate != want {
			t.Errorf("CreationDate %q, ModDate %q, want %s", info.CreationDate, info.ModDate, want)
		}

		if got := p.doc.CommonData.PhysicalBox; got != "0 0 210 297" {
			t.Errorf("PhysicalBox %q, want A4 in mm", got)
		}
		// Identifiers are unique and none exceeds MaxUnitID.
		ids := map[int]bool{p.doc.Pages[0].ID: true}
		add := func(id int) {
			if ids[id] {
				t.Errorf("ID %d repeats", id)
			}
			if id < 1 || id > p.doc.CommonData.MaxUnitID {
				t.Errorf("ID %d outside 1..MaxUnitID %d", id, p.doc.CommonData.MaxUnitID)
			}
			ids[id] = true
		}
		fontID := p.res.Fonts[0].ID
		add(fontID)
		if p.res.Fonts[0].FontName != fonts.Name {
			t.Errorf("FontName %q", p.res.Fonts[0].FontName)
		}
		var texts []string
		for _, l := range p.page.Layers {
			add(l.ID)
			for _, o := range l.Text {
				add(o.ID)
				if o.Font != fontID {
					t.Errorf("TextObject %d uses font %d, not the embedded font %d", o.ID, o.Font, fontID)
				}
				b := box(t, o.Boundary)
				if b[0] < 0 || b[1] < 0 || b[0]+b[2] > 210 || b[1]+b[3] > 297 || b[2] <= 0 || b[3] <= 0 {
					t.Errorf("TextObject %d Boundary %v is not on the page", o.ID, b)
				}
				for _, tc := range o.TextCode {
					texts = append(texts, tc.Text)
					if tc.X < 0 || tc.X > b[2] || tc.Y < 0 || tc.Y > b[3] {
						t.Errorf("TextCode %q starts at (%v, %v), outside its Boundary %v", tc.Text, tc.X, tc.Y, b)
					}
				}
			}
		}
		if ids[p.doc.CommonData.MaxUnitID] == false {
			t.Errorf("MaxUnitID %d is not the largest ID used", p.doc.CommonData.MaxUnitID)
		}

		// Searchable: every field is in the text, the body across its lines.
		all := strings.Join(texts, "")
		for field, want := range map[string]string{
			"Number": "编号：" + c.Number, "Name": "姓名：" + c.Name, "IDNumber": "公民身份号码：" + c.IDNumber,
			"Department": c.Department, "Date": fmt.Sprintf("%d年%d月%d日", c.Date.Year(), c.Date.Month(), c.Date.Day()),
			"title": "证明",
		} {
			if !slices.Contains(texts, want) {
				t.Errorf("no TextCode holds the %s %q", field, want)
			}
		}
		for para := range strings.SplitSeq(c.Body, "\n") {
			if para = strings.TrimSpace(para); !strings.Contains(all, para) {
				t.Errorf("the text lacks the body paragraph %q", para)
			}
		}

		// Zip entries: dated by the certificate, sizes in the local
		// headers (no data descriptors).
		for n, h := range p.headers {
			if h.Flags&0x8 != 0 {
				t.Errorf("%s has a data descriptor", n)
			}
			if want := max(c.Date.Year(), 1980); h.Modified.Year() != want {
				t.Errorf("%s dated %v, want the year %d", n, h.Modified, want)
			}
		}
	})
}

// pdfChars reads the glyph placements certpdf writes: one "q s 0 0 s x y
// cm /Uxxxx Do Q" per inked character, in millimetres.
func pdfChars(t *testing.T, pdf []byte) []char {
	t.Helper()
	m := regexp.MustCompile(`4 0 obj\n<< /Length (\d+) /Filter /FlateDecode >>\nstream\n`).FindSubmatchIndex(pdf)
	if m == nil {
		t.Fatal("no content stream in the PDF")
	}
	n, _ := strconv.Atoi(string(pdf[m[2]:m[3]]))
	zr, err := zlib.NewReader(bytes.NewReader(pdf[m[1] : m[1]+n]))
	if err != nil {
		t.Fatal(err)
	}
	content, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var out []char
	f := func(s []byte) float64 { v, _ := strconv.ParseFloat(string(s), 64); return v }
	for _, g := range regexp.MustCompile(`q (\S+) 0 0 (\S+) (\S+) (\S+) cm /U([0-9A-F]+) Do Q`).FindAllSubmatch(content, -1) {
		r, _ := strconv.ParseUint(string(g[5]), 16, 32)
		out = append(out, char{rune(r), f(g[3]), f(g[4]), f(g[1])})
	}
	return out
}

// TestSameAsPDF checks that the OFD places every character where certpdf's
// PDF draws it, at the same size.
func TestSameAsPDF(t *testing.T) {
	eachCertificate(t, func(t *testing.T, c certpdf.Certificate, p *pkg) {
		pdf, err := certpdf.Render(c)
		if err != nil {
			t.Fatal(err)
		}
		want := pdfChars(t, pdf)
		var got []char
		for _, ch := range p.chars(t) {
			if ch.r != ' ' { // the PDF draws no spaces
				got = append(got, ch)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("OFD places %d characters, the PDF %d", len(got), len(want))
		}
		// The PDF rounds to 0.001 mm; the OFD to 0.0001 mm, each advance.
		const tolerance = 0.003
		for i := range want {
			g, w := got[i], want[i]
			if g.r != w.r || math.Abs(g.x-w.x) > tolerance || math.Abs(g.y-w.y) > tolerance || math.Abs(g.size-w.size) > tolerance {
				t.Errorf("character %d: OFD %q at (%.4f, %.4f) size %.4f, PDF %q at (%.4f, %.4f) size %.4f",
					i, g.r, g.x, g.y, g.size, w.r, w.x, w.y, w.size)
			}
		}
	})
}

func TestNoteColour(t *testing.T) {
	t.Parallel()
	p := open(t, render(t, certpdf.Sample(0, issued)))
	objs := p.page.Layers[0].Text
	for i, o := range objs {
		last := i == len(objs)-1 // the note
		switch {
		case last && (o.FillColor == nil || o.FillColor.Value != "115 115 115"):
			t.Errorf("note %q: FillColor %+v, want the PDF's 0.45 grey", o.TextCode[0].Text, o.FillColor)
		case !last && o.FillColor != nil:
			t.Errorf("%q has FillColor %+v, want the default black", o.TextCode[0].Text, o.FillColor)
		}
	}
}

func TestSealBoundary(t *testing.T) {
	t.Parallel()
	page, x, y, w, h := SealBoundary()
	pp, px, py, pw, ph := certpdf.SealArea()
	if page != pp || x != px || w != pw || h != ph || math.Abs(y-(297-py-ph)) > 1e-9 {
		t.Errorf("SealBoundary = %d %v %v %v %v; certpdf.SealArea = %d %v %v %v %v", page, x, y, w, h, pp, px, py, pw, ph)
	}
	// 骑年盖月: the seal's place covers the department and the date, the
	// last two lines before the note, and no other text.
	for name, c := range testCertificates() {
		texts := open(t, render(t, c)).page.Layers[0].Text
		for i, o := range texts {
			b := box(t, o.Boundary)
			under := b[0] < x+w && x < b[0]+b[2] && b[1] < y+h && y < b[1]+b[3]
			if want := i == len(texts)-3 || i == len(texts)-2; under != want {
				t.Errorf("%s: TextObject %d %q (Boundary %v) under the seal = %v, want %v", name, o.ID, o.TextCode[0].Text, b, under, want)
			}
		}
	}
}

func TestRenderDeterministic(t *testing.T) {
	t.Parallel()
	c := certpdf.Sample(5, issued)
	a, b := render(t, c), render(t, c)
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same certificate differ")
	}
	c.Number += "A"
	d := render(t, c)
	if bytes.Equal(a, d) {
		t.Fatal("a different number rendered the same bytes")
	}
	if open(t, a).entry.DocBody[0].DocInfo.DocID == open(t, d).entry.DocBody[0].DocInfo.DocID {
		t.Error("different certificates share a DocID")
	}
}

// TestGolden compares the XML parts of sample 0 and the font's digest with
// testdata/sample-0/; run with -update to rewrite them after a deliberate
// change. The zip itself is not kept: compress/flate's output may change
// between Go releases.
func TestGolden(t *testing.T) {
	t.Parallel()
	p := open(t, render(t, certpdf.Sample(0, issued)))
	dir := filepath.Join("testdata", "sample-0")
	for name, data := range p.parts {
		file := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, ".ttf") {
			continue // checked by TestFontFile; binary
		}
		if *update {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test -update to create the golden files)", err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("%s differs from %s (run go test -update after a deliberate change)\n got: %s", name, file, data)
		}
	}
}

func TestRenderInvalid(t *testing.T) {
	t.Parallel()
	ok := certpdf.Sample(0, issued)
	with := func(f func(*certpdf.Certificate)) certpdf.Certificate { c := ok; f(&c); return c }
	tests := []struct {
		name  string
		c     certpdf.Certificate
		field string
	}{
		{"no name", with(func(c *certpdf.Certificate) { c.Name = "" }), "Name"},
		{"ID check character wrong", with(func(c *certpdf.Certificate) { c.IDNumber = "110105194912310021" }), "IDNumber"},
		{"body glyph missing", with(func(c *certpdf.Certificate) { c.Body = "兹证明“某人”。" }), "Body"},
		{"no date", with(func(c *certpdf.Certificate) { c.Date = time.Time{} }), "Date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Render(tt.c)
			var fe *certpdf.FieldError
			if err == nil || !errors.Is(err, certpdf.ErrInvalidCertificate) || !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Render = %d bytes, %v; want a *certpdf.FieldError for %s", len(b), err, tt.field)
			}
		})
	}
}

func TestDeltaX(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []float64
		want string
	}{
		{[]float64{5.5714}, "5.5714"},
		{[]float64{1, 1}, "1 1"},
		{[]float64{1, 1, 1}, "g 3 1"},
		{[]float64{156.0 / 28, 156.0 / 28, 156.0 / 28, 0.55 * 156 / 28, 156.0 / 28}, "g 3 5.5714 3.0643 5.5714"},
		{[]float64{2, 1, 1, 1, 1, 2, 2, 2}, "2 g 4 1 g 3 2"},
	}
	for _, tt := range tests {
		if got := deltaX(tt.in); got != tt.want {
			t.Errorf("deltaX(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if got := expandDeltaX(t, deltaX(tt.in)); len(got) != len(tt.in) {
			t.Errorf("deltaX(%v) expands to %d values", tt.in, len(got))
		}
	}
}

func TestMSDOSTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t     time.Time
		year  int
		month time.Month
		day   int
		hms   [3]int
	}{
		{time.Date(2024, 3, 15, 9, 30, 5, 0, cst), 2024, 3, 15, [3]int{9, 30, 4}},
		{time.Date(1975, 6, 1, 8, 0, 0, 0, cst), 1980, 1, 1, [3]int{0, 0, 0}},
		{time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 2107, 12, 31, [3]int{23, 59, 58}},
	}
	for _, tt := range tests {
		d, c := msDOSTime(tt.t)
		if y, m, day := int(d>>9)+1980, time.Month(d>>5&0xf), int(d&0x1f); y != tt.year || m != tt.month || day != tt.day {
			t.Errorf("msDOSTime(%v) date = %d-%d-%d", tt.t, y, m, day)
		}
		if hms := [3]int{int(c >> 11), int(c >> 5 & 0x3f), int(c&0x1f) * 2}; hms != tt.hms {
			t.Errorf("msDOSTime(%v) time = %v, want %v", tt.t, hms, tt.hms)
		}
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	const limit = 60 << 10
	for i := range 10 {
		b := render(t, certpdf.Sample(i, issued))
		if len(b) > limit {
			t.Errorf("Sample(%d) is %d bytes, want under %d", i, len(b), limit)
		}
		if i == 0 {
			t.Logf("typical certificate: %d bytes", len(b))
		}
	}
}

func BenchmarkRenderCertificate(b *testing.B) {
	c := certpdf.Sample(0, issued)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(c); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzRender(f *testing.F) {
	c := certpdf.Sample(0, issued)
	f.Add(c.Number, c.Name, c.IDNumber, c.Department, c.Body)
	f.Add(`ZM <1> & "2"`, "阿依古丽·买买提", "11010519491231002X", "某县民政局", "特此证明。\n\n（此件公开）")
	f.Add("", "\xff", "1", "“”", "]]>")
	f.Fuzz(func(t *testing.T, number, name, id, dept, body string) {
		c := certpdf.Certificate{Number: number, Name: name, IDNumber: id, Department: dept, Body: body, Date: issued}
		b, err := Render(c)
		if err != nil {
			if !errors.Is(err, certpdf.ErrInvalidCertificate) {
				t.Fatalf("error %v does not wrap certpdf.ErrInvalidCertificate", err)
			}
			return
		}
		p := open(t, b)
		var all strings.Builder
		for _, ch := range p.chars(t) {
			all.WriteRune(ch.r)
		}
		for _, s := range []string{number, name, id, dept} {
			if !strings.Contains(all.String(), s) {
				t.Fatalf("the page's text lacks %q", s)
			}
		}
	})
}
