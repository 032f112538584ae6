package certofd

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
	"github.com/sealpipe/sealpipe/templates/fonts"
)

// recorder keeps an outline as a list of operations and points.
type recorder struct{ ops []string }

func (r *recorder) pt(op string, ps ...fonts.Point) {
	for _, p := range ps {
		op += " " + strconv.Itoa(int(math.Round(p.X))) + "," + strconv.Itoa(int(math.Round(p.Y)))
	}
	r.ops = append(r.ops, op)
}
func (r *recorder) MoveTo(p fonts.Point)         { r.pt("M", p) }
func (r *recorder) LineTo(p fonts.Point)         { r.pt("L", p) }
func (r *recorder) QuadTo(c, p fonts.Point)      { r.pt("Q", c, p) }
func (r *recorder) CubeTo(c1, c2, p fonts.Point) { r.pt("C", c1, c2, p) }
func (r *recorder) ClosePath()                   { r.ops = append(r.ops, "Z") }
func (r *recorder) String() string               { return strings.Join(r.ops, " ") }
func (r *recorder) segment(s sfnt.Segment, at func(fixed.Point26_6) fonts.Point) {
	switch s.Op {
	case sfnt.SegmentOpMoveTo:
		if len(r.ops) > 0 {
			r.ClosePath()
		}
		r.MoveTo(at(s.Args[0]))
	case sfnt.SegmentOpLineTo:
		r.LineTo(at(s.Args[0]))
	case sfnt.SegmentOpQuadTo:
		r.QuadTo(at(s.Args[0]), at(s.Args[1]))
	case sfnt.SegmentOpCubeTo:
		r.CubeTo(at(s.Args[0]), at(s.Args[1]), at(s.Args[2]))
	}
}

// TestFontFile reads the embedded font back with an independent TrueType
// parser: every character of the page maps to a glyph with the advance the
// layout used and the outline certpdf draws.
func TestFontFile(t *testing.T) {
	eachCertificate(t, func(t *testing.T, c certpdf.Certificate, p *pkg) {
		data := p.parts[p.fontPath]
		checkChecksums(t, data)
		f, err := sfnt.Parse(data)
		if err != nil {
			t.Fatalf("sfnt.Parse: %v", err)
		}
		if f.UnitsPerEm() != unitsPerEm {
			t.Errorf("unitsPerEm %d", f.UnitsPerEm())
		}
		var b sfnt.Buffer
		if fam, err := f.Name(&b, sfnt.NameIDFamily); err != nil || fam != fonts.Name {
			t.Errorf("family name %q, %v; want %q", fam, err, fonts.Name)
		}
		runes := map[rune]bool{}
		for _, ch := range p.chars(t) {
			runes[ch.r] = true
		}
		if got, want := f.NumGlyphs(), len(runes)+1; got != want {
			t.Errorf("%d glyphs for %d characters and .notdef", got, len(runes))
		}
		ppem := fixed.Int26_6(unitsPerEm)
		at := func(p fixed.Point26_6) fonts.Point { return fonts.Point{X: float64(p.X), Y: -float64(p.Y)} }
		for r := range runes {
			x, err := f.GlyphIndex(&b, r)
			if err != nil || x == 0 {
				t.Errorf("%q: no glyph (%v)", r, err)
				continue
			}
			want, err := fonts.LoadGlyph(r)
			if err != nil {
				t.Fatal(err)
			}
			adv, err := f.GlyphAdvance(&b, x, ppem, font.HintingNone)
			if err != nil || math.Abs(float64(adv)/unitsPerEm-want.Advance) > 0.5/unitsPerEm {
				t.Errorf("%q: advance %v em (%v), want %v", r, float64(adv)/unitsPerEm, err, want.Advance)
			}
			segs, err := f.LoadGlyph(&b, x, ppem, nil)
			if err != nil {
				t.Errorf("%q: %v", r, err)
				continue
			}
			var got, drawn recorder
			for _, s := range segs {
				got.segment(s, at)
			}
			if len(segs) > 0 {
				got.ClosePath()
			}
			want.Draw(&drawn, fonts.Scale(unitsPerEm, unitsPerEm))
			if got.String() != drawn.String() {
				t.Errorf("%q: outline\n got %s\nwant %s", r, got.String(), drawn.String())
			}
		}
	})
}

// checkChecksums checks the table directory's checksums and head's
// checkSumAdjustment, which strict font loaders verify.
func checkChecksums(t *testing.T, data []byte) {
	t.Helper()
	be := binary.BigEndian
	if got := fonts.TableChecksum(data); got != 0xB1B0AFBA {
		t.Errorf("whole-font checksum %#x, want 0xB1B0AFBA", got)
	}
	n := int(be.Uint16(data[4:]))
	var tags []string
	for i := range n {
		rec := data[12+16*i:]
		tag, sum, off, length := string(rec[:4]), be.Uint32(rec[4:]), be.Uint32(rec[8:]), be.Uint32(rec[12:])
		tags = append(tags, tag)
		if off%4 != 0 || int(off+length) > len(data) {
			t.Errorf("table %s at %d, %d bytes: misplaced", tag, off, length)
			continue
		}
		table := slices.Clone(data[off : off+length])
		if tag == "head" {
			be.PutUint32(table[8:], 0)
		}
		if got := fonts.TableChecksum(table); got != sum {
			t.Errorf("table %s checksum %#x, directory says %#x", tag, got, sum)
		}
	}
	if !slices.IsSorted(tags) {
		t.Errorf("tables %q not sorted", tags)
	}
	for _, want := range []string{"OS/2", "cmap", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "name", "post"} {
		if !slices.Contains(tags, want) {
			t.Errorf("no %s table", want)
		}
	}
}

// TestFontCharset asks FreeType (through fontconfig's fc-scan, where it is
// installed) which characters the font covers.
func TestFontCharset(t *testing.T) {
	t.Parallel()
	fcScan, err := exec.LookPath("fc-scan")
	if err != nil {
		t.Skip("fc-scan not on PATH")
	}
	p := open(t, render(t, testCertificates()["markup"]))
	file := filepath.Join(t.TempDir(), "font.ttf")
	if err := os.WriteFile(file, p.parts[p.fontPath], 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(fcScan, "--format", "%{family}|%{outline}|%{charset}", file).CombinedOutput()
	if err != nil {
		t.Fatalf("fc-scan: %v\n%s", err, out)
	}
	f := strings.Split(string(out), "|")
	if len(f) != 3 || f[0] != fonts.Name || f[1] != "True" {
		t.Fatalf("fc-scan: %s", out)
	}
	covered := map[rune]bool{}
	for _, rng := range strings.Fields(f[2]) {
		lo, hi, _ := strings.Cut(rng, "-")
		a, _ := strconv.ParseUint(lo, 16, 32)
		b := a
		if hi != "" {
			b, _ = strconv.ParseUint(hi, 16, 32)
		}
		for r := a; r <= b; r++ {
			covered[rune(r)] = true
		}
	}
	for _, ch := range p.chars(t) {
		if !covered[ch.r] {
			t.Errorf("FreeType finds no glyph for %q (%U)", ch.r, ch.r)
		}
	}
}

// TestCmap maps characters outside the Basic Multilingual Plane through
// format 12, and those in it through format 4, read here by hand.
func TestCmap(t *testing.T) {
	t.Parallel()
	gs := []*fonts.Glyph{{Rune: 'A', Advance: 0.5}, {Rune: 'B', Advance: 0.5}, {Rune: '证', Advance: 1}, {Rune: 0x20000, Advance: 1}, {Rune: 0x20001, Advance: 1}}
	data, err := fontFile(gs, issued)
	if err != nil {
		t.Fatal(err)
	}
	f, err := sfnt.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var b sfnt.Buffer
	for i, g := range gs {
		if x, err := f.GlyphIndex(&b, g.Rune); err != nil || int(x) != i+1 {
			t.Errorf("GlyphIndex(%U) = %d, %v; want %d", g.Rune, x, err, i+1)
		}
	}
	table := cmap([]*ttGlyph{{}, {r: 'A'}, {r: 'B'}, {r: '证'}, {r: 0x20000}})
	be := binary.BigEndian
	f4 := table[be.Uint32(table[8:]):]
	segs := int(be.Uint16(f4[6:])) / 2
	ends, starts, deltas := f4[14:], f4[16+2*segs:], f4[16+4*segs:]
	lookup := func(r rune) int {
		for i := range segs {
			if r <= rune(be.Uint16(ends[2*i:])) {
				if r < rune(be.Uint16(starts[2*i:])) {
					return 0
				}
				return int(uint16(int(r) + int(be.Uint16(deltas[2*i:]))))
			}
		}
		return 0
	}
	for r, want := range map[rune]int{'A': 1, 'B': 2, '证': 3, 'C': 0, 0xFFFF: 0} {
		if got := lookup(r); got != want {
			t.Errorf("format 4: %U → %d, want %d", r, got, want)
		}
	}
	if segs != 3 {
		t.Errorf("format 4 has %d segments, want 3 (A–B, 证, 0xFFFF)", segs)
	}
}

// TestNameTable keeps the font's licence and tags the subset.
func TestNameTable(t *testing.T) {
	t.Parallel()
	p := open(t, render(t, certpdf.Sample(0, issued)))
	f, err := sfnt.Parse(p.parts[p.fontPath])
	if err != nil {
		t.Fatal(err)
	}
	var b sfnt.Buffer
	lic, _ := f.Name(&b, sfnt.NameIDLicense)
	if !strings.Contains(lic, "Apache License") {
		t.Errorf("licence name %q", lic)
	}
	ps, _ := f.Name(&b, sfnt.NameIDPostScript)
	if tag, rest, ok := strings.Cut(ps, "+"); !ok || len(tag) != 6 || strings.ToUpper(tag) != tag || rest != "DroidSansFallback" {
		t.Errorf("PostScript name %q, want a subset tag and DroidSansFallback", ps)
	}
}
