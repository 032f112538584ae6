package pdfseal

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
)

func TestLexer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // the tokens, as tokenString writes them
	}{
		{`(a\(b\)\n\101\
c) (x(y)z) (\q)`, `S"a(b)\nAc" S"x(y)z" S"q"`},
		{"(line\r\nend)", `S"line\nend"`},
		{"<48 65 6C6C 6>", `S"Hell` + "`" + `"`},
		{"/A#20B /Tf /", `N"A B" N"Tf" N""`},
		{"-.5 +3 4. --3 1.2.3 -", "-0.5 3 4 -3 0 0"},
		{"% comment\n1 0 0 1 72 700 cm", "1 0 0 1 72 700 K(cm)"},
		{"[(a) -250 (b)] TJ", `[ S"a" -250 S"b" ] K(TJ)`},
		{"<</MCID 3>> BDC", "<< N\"MCID\" 3 >> K(BDC)"},
		{"true false null", "K(true) K(false) K(null)"},
		{"(unterminated", `S"unterminated"`},
		{"<4", `S"@"`},
		{") } {", "K()) K(}) K({)"},
	}
	for _, tc := range tests {
		l := &lexer{b: []byte(tc.in)}
		var got []string
		for t := l.next(); t.kind != tokEOF; t = l.next() {
			got = append(got, tokenString(t))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%q: %s, want %s", tc.in, strings.Join(got, " "), tc.want)
		}
	}
}

func tokenString(t token) string {
	switch t.kind {
	case tokNumber:
		return fmt.Sprint(t.num)
	case tokString:
		return fmt.Sprintf("S%q", t.b)
	case tokName:
		return fmt.Sprintf("N%q", t.b)
	case tokKeyword:
		return fmt.Sprintf("K(%s)", t.b)
	case tokArrayOpen:
		return "["
	case tokArrayClose:
		return "]"
	case tokDictOpen:
		return "<<"
	case tokDictClose:
		return ">>"
	}
	return "?"
}

func TestSkipInlineImage(t *testing.T) {
	t.Parallel()
	// The image data holds "EI" not preceded by white space (NUL is
	// white space, §7.2.2, so \x01 here), and bytes that would be tokens;
	// the real EI follows white space.
	in := "BI /W 2 /H 1 /BPC 8 /CS /G ID \x01EI(\xff\n EI Q (after) Tj"
	l := &lexer{b: []byte(in)}
	var got []string
	for t := l.next(); t.kind != tokEOF; t = l.next() {
		got = append(got, tokenString(t))
		if t.kind == tokKeyword && string(t.b) == "ID" {
			l.skipInlineImage()
		}
	}
	want := `K(BI) N"W" 2 N"H" 1 N"BPC" 8 N"CS" N"G" K(ID) K(Q) S"after" K(Tj)`
	if strings.Join(got, " ") != want {
		t.Errorf("tokens %s, want %s", strings.Join(got, " "), want)
	}
}

func TestCMap(t *testing.T) {
	t.Parallel()
	c := parseCMap([]byte(`/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/WMode 1 def
2 begincodespacerange <00> <80> <8140> <FEFE> endcodespacerange
3 beginbfchar <41> <0041> <8140> <76D6> <0003> /fi endbfchar
3 beginbfrange <8141> <8143> <7AE0>
<0010> <0012> [<0066 0066> <D83D DE00> <>]
<0050> <0051> <00410300> endbfrange
1 begincidrange <8141> <81FF> 100 endcidrange
1 begincidchar <41> 34 endcidchar
endcmap`))
	if !c.vertical {
		t.Error("/WMode 1 not read")
	}
	for _, tc := range []struct {
		code uint32
		want string
		ok   bool
	}{
		{0x41, "A", true}, {0x8140, "盖", true}, {0x8141, "章", true}, {0x8143, "\u7ae2", true},
		{0x8144, "", false}, {0x03, "\ufb01", true}, {0x10, "ff", true}, {0x11, "😀", true}, {0x12, "", true},
		{0x13, "", false}, {0x51, "A\u0301", true},
	} {
		if got, ok := c.unicode(tc.code); got != tc.want || ok != tc.ok {
			t.Errorf("unicode(%#x) = %q, %v; want %q, %v", tc.code, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in   string
		want int
	}{{"\x41\x81\x40", 1}, {"\x81\x40", 2}, {"\x90\x20", 2}, {"\x90", 1}, {"\xff\x00", 1}} {
		if got := c.codeLength([]byte(tc.in)); got != tc.want {
			t.Errorf("codeLength(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	for code, want := range map[uint32]uint32{0x8141: 100, 0x8150: 115, 0x41: 34} {
		if got, ok := c.cid(code); !ok || got != want {
			t.Errorf("cid(%#x) = %d, %v; want %d", code, got, ok, want)
		}
	}
	if _, ok := c.cid(0x42); ok {
		t.Error("cid(0x42) maps")
	}
}

func TestGlyphText(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"A": "A", "quoteright": "\u2019", "uni76D6": "盖", "uni00410042": "AB", "u1F600": "😀",
		"f_i": "fi", "a.sc": "a", "fi": "\ufb01", "uniD800": "", "g123": "", "cid1234": "", "": "",
	} {
		if got := glyphText(name); got != want {
			t.Errorf("glyphText(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestPredefinedCMaps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmap string
		in   string // the shown string's bytes
		want string
	}{
		{"UniGB-UCS2-H", "\x76\xd6\x7a\xe0\x00\x41", "盖章A"},
		{"UniGB-UTF16-H", "\xd8\x3d\xde\x00\x4e\x2d", "😀中"},
		{"UniGB-UTF8-H", "盖章", "盖章"},
		{"GBK-EUC-H", "\xb8\xc7\xd5\xc2A", "盖章A"},
		{"GBK2K-H", "\x81\x30\x81\x30\xb8\xc7", "\u0080盖"},
		{"B5pc-H", "\xa4\xa4\xa4\xe5", "中文"},
		{"90ms-RKSJ-H", "\x93\xfa\x96\x7b\xb1", "日本ｱ"},
		{"EUC-H", "\xc6\xfc\xcb\xdc", "日本"},
		{"KSC-EUC-H", "\xc7\xd1\xb1\xdb", "한글"},
		{"Identity-H", "\x76\xd6", "\uFFFD"}, // a glyph index: only ToUnicode can say
	} {
		split, charset, cidOf, _ := predefinedCMap(tc.cmap)
		ft := &pdfFont{composite: true, split: split, charset: charset, cidOf: cidOf}
		var got strings.Builder
		ft.codes([]byte(tc.in), func(g shown) { got.WriteString(g.text) })
		if got.String() != tc.want {
			t.Errorf("%s: %q decodes to %q, want %q", tc.cmap, tc.in, got.String(), tc.want)
		}
	}
	if _, _, _, v := predefinedCMap("UniGB-UCS2-V"); !v {
		t.Error("UniGB-UCS2-V is not vertical")
	}
}

// glyphsOf runs a content stream on a one-page document whose /F1 is a
// simple font of 500-unit glyphs (WinAnsi) and /F2 Identity-H with 1000.
func glyphsOf(t *testing.T, content string) []placedGlyph {
	t.Helper()
	widths := strings.TrimSpace(strings.Repeat("500 ", 224))
	pdf := pdfsealtest.Build([]string{
		"<</Type/Catalog/Pages 2 0 R>>",
		"<</Type/Pages/Count 1/Kids[3 0 R]>>",
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 600 800]/Contents 4 0 R/Resources<</Font<</F1 5 0 R/F2 6 0 R>>/XObject<</X1 8 0 R>>>>>>",
		streamObj("", []byte(content)),
		fmt.Sprintf("<</Type/Font/Subtype/Type1/BaseFont/Foo/Encoding/WinAnsiEncoding/FirstChar 32/Widths[%s]/FontDescriptor<</Ascent 800/Descent -200>>>>", widths),
		"<</Type/Font/Subtype/Type0/BaseFont/Bar/Encoding/Identity-H/DescendantFonts[7 0 R]>>",
		"<</Type/Font/Subtype/CIDFontType2/DW 1000/W[1 [250] 5 9 600]>>",
		streamObj("/Type/XObject/Subtype/Form/BBox[0 0 100 100]/Matrix[2 0 0 2 10 0]", []byte("BT /F1 10 Tf (X) Tj ET")),
	}, "/Root 1 0 R")
	f, err := openFile(context.Background(), bytesSource(pdf), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	b := newTextBudget(context.Background())
	gs, err := pageGlyphs(f, 1, b, &fontReader{f: f, b: b, cache: map[int]*pdfFont{}})
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

// TestTextPositions checks the glyph boxes of the text operators against
// positions worked out by hand from ISO 32000-1 §9.4: /F1's glyphs are
// 500 units wide, ascent 800, descent −200.
func TestTextPositions(t *testing.T) {
	t.Parallel()
	type g struct {
		text               string
		llx, lly, urx, ury float64
	}
	tests := []struct {
		name    string
		content string
		want    []g
	}{
		{"Td, Tj", "BT /F1 10 Tf 100 200 Td (AB) Tj ET",
			[]g{{"A", 100, 198, 105, 208}, {"B", 105, 198, 110, 208}}},
		{"Tc, Tw on a space", "BT /F1 10 Tf 2 Tc 3 Tw 0 0 Td (A B) Tj ET",
			[]g{{"A", 0, -2, 5, 8}, {" ", 7, -2, 12, 8}, {"B", 17, -2, 22, 8}}},
		{"Tz 50", "BT /F1 10 Tf 50 Tz 0 0 Td (AB) Tj ET",
			[]g{{"A", 0, -2, 2.5, 8}, {"B", 2.5, -2, 5, 8}}},
		{"Ts", "BT /F1 10 Tf 5 Ts 0 0 Td (A) Tj ET", []g{{"A", 0, 3, 5, 13}}},
		{"TL, T*, '", "BT /F1 10 Tf 12 TL 0 100 Td (A) Tj T* (B) Tj (C) ' ET",
			[]g{{"A", 0, 98, 5, 108}, {"B", 0, 86, 5, 96}, {"C", 0, 74, 5, 84}}},
		{"TD sets the leading", "BT /F1 10 Tf 0 100 Td 0 -20 TD (A) Tj T* (B) Tj ET",
			[]g{{"A", 0, 78, 5, 88}, {"B", 0, 58, 5, 68}}},
		{"\" sets spacing", "BT /F1 10 Tf 12 TL 0 100 Td 4 1 (A B) \" ET",
			[]g{{"A", 0, 86, 5, 96}, {" ", 6, 86, 11, 96}, {"B", 16, 86, 21, 96}}},
		{"Tm and cm, q/Q", "q 2 0 0 2 0 0 cm BT /F1 10 Tf 1 0 0 1 10 10 Tm (A) Tj ET Q BT /F1 10 Tf (B) Tj ET",
			[]g{{"A", 20, 16, 30, 36}, {"B", 0, -2, 5, 8}}},
		{"TJ kerning", "BT /F1 10 Tf [(A) -500 (B) 250 (C)] TJ ET",
			[]g{{"A", 0, -2, 5, 8}, {"B", 10, -2, 15, 8}, {"C", 12.5, -2, 17.5, 8}}},
		{"rotated Tm", "BT /F1 10 Tf 0 1 -1 0 100 0 Tm (A) Tj ET", []g{{"A", 92, 0, 102, 5}}},
		{"Identity-H, /W and /DW; Tw not on two-byte codes", "BT /F2 10 Tf 5 Tw <00010020 0005> Tj ET",
			[]g{{"\uFFFD", 0, -1.2, 2.5, 8.8}, {"\uFFFD", 2.5, -1.2, 12.5, 8.8}, {"\uFFFD", 12.5, -1.2, 18.5, 8.8}}},
		{"Form XObject with a /Matrix", "q 1 0 0 1 100 100 cm /X1 Do Q (ignored) Tj",
			[]g{{"X", 110, 96, 120, 116}}},
		{"inline image skipped", "BI /W 1 /H 1 ID \x00(Z) Tj EI BT /F1 10 Tf (A) Tj ET", []g{{"A", 0, -2, 5, 8}}},
		{"no font selected", "BT (A) Tj ET", nil},
		{"unbalanced Q", "Q Q BT /F1 10 Tf (A) Tj ET", []g{{"A", 0, -2, 5, 8}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := glyphsOf(t, tc.content)
			if len(got) != len(tc.want) {
				t.Fatalf("%d glyphs %v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				b := got[i].box
				if got[i].text != w.text || math.Abs(b.llx-w.llx) > 1e-9 || math.Abs(b.lly-w.lly) > 1e-9 || math.Abs(b.urx-w.urx) > 1e-9 || math.Abs(b.ury-w.ury) > 1e-9 {
					t.Errorf("glyph %d: %q %+v, want %+v", i, got[i].text, b, w)
				}
			}
		})
	}
}

func TestFindText(t *testing.T) {
	t.Parallel()
	mk := func(s string, x0 float64) []placedGlyph {
		var out []placedGlyph
		for i, r := range []rune(s) {
			out = append(out, placedGlyph{text: string(r), box: box{x0 + float64(i), 0, x0 + float64(i) + 1, 1}})
		}
		return out
	}
	page := box{0, 0, 100, 100}
	glyphs := append(mk("（盖章） seal", 0), mk("(盖章)", 200)...) // the second lies off the page
	glyphs = append(glyphs, placedGlyph{text: "\ufb01", box: box{50, 0, 51, 1}}, placedGlyph{text: "ne", box: box{51, 0, 53, 1}})
	for _, tc := range []struct {
		kw   string
		want box
		ok   bool
	}{
		{"（盖章）", box{0, 0, 4, 1}, true},
		{"(盖章)", box{0, 0, 4, 1}, true}, // NFKC: full-width forms match ASCII ones
		{"盖章 ）s e", box{1, 0, 7, 1}, true},
		{"fine", box{50, 0, 53, 1}, true}, // a ligature matches its letters
		{"seal!", box{}, false},
		{"  ", box{}, false},
	} {
		got, ok := findText(glyphs, tc.kw, page)
		if ok != tc.ok || got != tc.want {
			t.Errorf("findText(%q) = %+v, %v; want %+v, %v", tc.kw, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzPageText runs arbitrary content through the keyword search's
// interpreter, with a simple and a composite font: it must neither panic
// nor pass its bounds.
func FuzzPageText(f *testing.F) {
	for _, s := range []string{
		"BT /F1 10 Tf 100 200 Td (AB) Tj ET",
		"q 2 0 0 2 0 0 cm BT /F2 12 Tf [<0001> -500 <0005>] TJ ET Q /X1 Do",
		"BI /W 1 ID \x00EI BT 12 TL T* (x) ' 1 2 (y) \" ET",
		"[[[[(a)]]]] TJ << /A [1 2 (b)] >> BDC",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		if bytes.Contains(content, []byte("endstream")) {
			return // would end the stream object early in glyphsOf's document
		}
		gs := glyphsOf(t, string(content))
		if len(gs) > maxTextGlyphs {
			t.Fatalf("%d glyphs", len(gs))
		}
	})
}

// FuzzCMap parses arbitrary CMap data and looks codes up in it.
func FuzzCMap(f *testing.F) {
	f.Add([]byte("1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfrange <00> <FF> <0041> endbfrange"))
	f.Add([]byte("2 beginbfrange <0000> <FFFF> [<0041> <>] <10> <01> <00> endbfrange begincidrange <00> <ff> 3 endcidrange"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := parseCMap(data)
		for _, code := range []uint32{0, 0x41, 0xffff, 0xffffffff} {
			c.unicode(code)
			c.cid(code)
		}
		if len(data) > 0 {
			if n := c.codeLength(data); n < 1 || n > max(4, 1) {
				t.Fatalf("codeLength %d", n)
			}
		}
	})
}
