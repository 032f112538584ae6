package textpdf

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
	"testing"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/sealpipe/sealpipe/templates/fonts"
)

// reportText has about a hundred distinct characters, Chinese and ASCII.
const reportText = "验章报告签章有效无效印章编码摘要算法时间戳证书签名者颁发机构有效期至文件页码位置结果说明" +
	"（），。、：；！？《》·" + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-:/."

// subsetOf returns a font subset holding the characters of s.
func subsetOf(t *testing.T, s string) *fontSubset {
	t.Helper()
	f, err := newFontSubset()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s {
		if _, _, err := f.cid(r); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestSubsetProgram parses the subset font program with sfnt, which shares
// no code with this package, and checks that each CID's glyph is the
// outline fonts.Sans draws for its character (Latin stand-ins included),
// at the same advance, and that the subset is small.
func TestSubsetProgram(t *testing.T) {
	s := subsetOf(t, reportText+"\U00010400")
	program, _, err := s.program()
	if err != nil {
		t.Fatal(err)
	}
	full := len(fonts.SansTTF())
	t.Logf("%d characters: subset font program %d bytes, the whole font %d bytes", len(s.glyphs)-1, len(program), full)
	if len(s.glyphs) < 100 || len(program) > 200<<10 || len(program) > full/50 {
		t.Errorf("subset of %d characters is %d bytes, want under 200 KiB and a fiftieth of the font's %d", len(s.glyphs)-1, len(program), full)
	}

	f, err := sfnt.Parse(program)
	if err != nil {
		t.Fatal(err)
	}
	upm := f.UnitsPerEm()
	if int(upm) != s.ttf.upm {
		t.Fatalf("units per em %d, want %d", upm, s.ttf.upm)
	}
	var b sfnt.Buffer
	composites := 0
	for cid, g := range s.glyphs[1:] {
		cid++
		want, err := fonts.Sans.Glyph(g.r)
		if err != nil {
			t.Fatal(err)
		}
		segs, err := f.LoadGlyph(&b, sfnt.GlyphIndex(cid), fixed.Int26_6(upm), nil)
		if err != nil {
			t.Errorf("%q: glyph %d: %v", g.r, cid, err)
			continue
		}
		got := bounds(segs)
		// fonts.Glyph's Y axis points up; sfnt's down.
		wantInk := [4]float64{want.Ink.Min.X, -want.Ink.Max.Y, want.Ink.Max.X, -want.Ink.Min.Y}
		for i := range got {
			// A Latin stand-in's offset is rounded to a font unit.
			if math.Abs(got[i]/float64(upm)-wantInk[i]) > 0.5/float64(upm)+1e-9 {
				t.Errorf("%q: ink %v em, want %v", g.r, scaled(got, float64(upm)), wantInk)
				break
			}
		}
		adv, err := f.GlyphAdvance(&b, sfnt.GlyphIndex(cid), fixed.Int26_6(upm), xfont.HintingNone)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(adv)/float64(upm)-want.Advance) > 0.5/float64(upm)+1e-9 {
			t.Errorf("%q: advance %v em, want %v", g.r, float64(adv)/float64(upm), want.Advance)
		}
		if gid, err := f.GlyphIndex(&b, g.r); err != nil || int(gid) != cid {
			t.Errorf("%q: the program's cmap maps it to glyph %d (%v), want %d", g.r, gid, err, cid)
		}
		if src, _ := s.ttf.glyph(g.src); len(src) > 0 && int16(be.Uint16(src)) < 0 {
			composites++
		}
	}
	// 验, 章 and others are composites in Droid Sans Fallback: their
	// components must have come along, renumbered.
	if composites < 10 {
		t.Errorf("%d composite glyphs among the characters, want the test to have at least 10", composites)
	}
}

// bounds returns the box around a glyph's points, control points included,
// in sfnt's 26.6 units: xMin, yMin, xMax, yMax with Y down.
func bounds(segs []sfnt.Segment) [4]float64 {
	if len(segs) == 0 {
		return [4]float64{}
	}
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, s := range segs {
		n := map[sfnt.SegmentOp]int{sfnt.SegmentOpMoveTo: 1, sfnt.SegmentOpLineTo: 1, sfnt.SegmentOpQuadTo: 2, sfnt.SegmentOpCubeTo: 3}[s.Op]
		for _, p := range s.Args[:n] {
			x, y := float64(p.X), float64(p.Y)
			b = [4]float64{min(b[0], x), min(b[1], y), max(b[2], x), max(b[3], y)}
		}
	}
	return b
}

func scaled(b [4]float64, upm float64) [4]float64 {
	for i := range b {
		b[i] /= upm
	}
	return b
}

// TestSubstitutesMatchFonts checks that this package finds a glyph for
// every character fonts.Sans can draw: those in the font's cmap, printable
// ASCII, and the substitutes both packages list.
func TestSubstitutesMatchFonts(t *testing.T) {
	f, err := fonts.Sans.Font()
	if err != nil {
		t.Fatal(err)
	}
	var b sfnt.Buffer
	for r := rune(0); r <= 0x10FFFF; r++ {
		if gid, _ := f.GlyphIndex(&b, r); gid != 0 || !fonts.Sans.Has(r) {
			continue
		}
		if _, ok := substitutes[r]; !ok && (r <= ' ' || r > '~') {
			t.Errorf("fonts.Sans draws %q (%U), which the font lacks, and textpdf has no substitute for it", r, r)
		}
	}
	for r, sub := range substitutes {
		if gid, _ := f.GlyphIndex(&b, sub); gid == 0 || !fonts.Sans.Has(r) {
			t.Errorf("substitute %U for %U: not in the font, or fonts.Sans does not draw %U", sub, r, r)
		}
	}
}

// TestFontDictionaries checks the PDF objects of the font: the widths the
// layout used are the ones in /W, the ToUnicode CMap maps each CID, and
// the program's length is recorded.
func TestFontDictionaries(t *testing.T) {
	b, err := Render(Document{Blocks: []Block{Paragraph{Text: "验章 AB"}}})
	if err != nil {
		t.Fatal(err)
	}
	s := subsetOf(t, "验章 AB")
	var want bytes.Buffer
	for i, g := range s.glyphs[1:] {
		if i > 0 {
			want.WriteByte(' ')
		}
		want.WriteString(strconv.Itoa(g.width))
	}
	for _, re := range []string{
		`/Subtype /Type0 /BaseFont /([A-Z]{6})\+DroidSansFallback /Encoding /Identity-H /DescendantFonts \[\d+ 0 R\] /ToUnicode \d+ 0 R`,
		`/Subtype /CIDFontType2 /BaseFont /[A-Z]{6}\+DroidSansFallback /CIDSystemInfo << /Registry \(Adobe\) /Ordering \(Identity\) /Supplement 0 >> /FontDescriptor \d+ 0 R /DW 1000 /W \[1 \[` +
			regexp.QuoteMeta(want.String()) + `\]\] /CIDToGIDMap /Identity`,
		`/Type /FontDescriptor /FontName /[A-Z]{6}\+DroidSansFallback /Flags 4 /FontBBox \[-?\d+(\.\d+)? -?\d+(\.\d+)? \d+(\.\d+)? \d+(\.\d+)?\]`,
		`<< /Length1 \d+ /Length \d+ /Filter /FlateDecode >>`,
	} {
		if !regexp.MustCompile(re).Match(b) {
			t.Errorf("no match for %s", re)
		}
	}
	if got := s.toUnicode(); !bytes.Contains(got, []byte("5 beginbfchar\n<0001> <9A8C>\n<0002> <7AE0>\n<0003> <0020>\n<0004> <0041>\n<0005> <0042>\nendbfchar\n")) {
		t.Errorf("ToUnicode CMap:\n%s", got)
	}
	// Each bfchar section has at most 100 entries; a character outside the
	// BMP maps to a surrogate pair.
	s = subsetOf(t, reportText+"\U00010400")
	cmap := string(s.toUnicode())
	if n := len(s.glyphs) - 1; n <= 100 || !regexp.MustCompile(`100 beginbfchar\n`).MatchString(cmap) ||
		!regexp.MustCompile(strconv.Itoa(n-100)+` beginbfchar\n`).MatchString(cmap) {
		t.Errorf("%d characters, want over 100 in sections of 100:\n%s", n, cmap)
	}
	if !regexp.MustCompile(`<[0-9A-F]{4}> <D801DC00>\n`).MatchString(cmap) {
		t.Errorf("no surrogate pair for U+10400:\n%s", cmap)
	}
}

// TestTag checks that subsets of different characters get different tags.
func TestTag(t *testing.T) {
	a, b, c := subsetOf(t, "验章"), subsetOf(t, "验章"), subsetOf(t, "章验")
	if a.tag() != b.tag() || a.tag() == c.tag() {
		t.Errorf("tags %s, %s, %s: want the first two equal, the third different", a.tag(), b.tag(), c.tag())
	}
}
