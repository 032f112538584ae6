package fonts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"golang.org/x/image/font/sfnt"
)

func TestCJKParsedOnce(t *testing.T) {
	t.Parallel()
	f1, err := CJK()
	if err != nil {
		t.Fatal(err)
	}
	f2, err := CJK()
	if err != nil {
		t.Fatal(err)
	}
	if f1 != f2 {
		t.Error("CJK returned two different *sfnt.Font values; want one parsed font")
	}
	name, err := f1.Name(nil, 1) // NameIDFamily
	if err != nil {
		t.Fatal(err)
	}
	if name != Name {
		t.Errorf("family name = %q, want %q", name, Name)
	}
}

// TestNoticeMatchesFont ties NOTICE's stated origin to the bytes embedded.
func TestNoticeMatchesFont(t *testing.T) {
	t.Parallel()
	notice, err := os.ReadFile("NOTICE")
	if err != nil {
		t.Fatal(err)
	}
	sums := regexp.MustCompile(`SHA-256: ([0-9a-f]{64})`).FindAllSubmatch(notice, -1)
	if len(sums) != 2 {
		t.Fatalf("NOTICE states %d SHA-256 sums, want one per font", len(sums))
	}
	for i, data := range [][]byte{droidSansFallback, notoSerif} {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != string(sums[i][1]) {
			t.Errorf("embedded font %d SHA-256 = %s, NOTICE says %s", i, got, sums[i][1])
		}
	}
	for _, f := range []string{"LICENSE", "OFL.txt"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s missing beside the fonts: %v", f, err)
		}
	}
}

func TestLoadGlyph(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r       rune
		advance float64 // 0: ink width + latinSpacing
		empty   bool
	}{
		{r: '国', advance: 1},
		{r: '章', advance: 1},
		{r: '，', advance: 1},
		{r: '\u3000', advance: 1, empty: true},
		{r: '0', advance: digitAdvance},
		{r: '7', advance: digitAdvance},
		{r: 'X'},
		{r: 'M'},
		{r: '-'},
		{r: '·', advance: 1}, // drawn with U+30FB
	}
	for _, tt := range tests {
		t.Run(string(tt.r), func(t *testing.T) {
			t.Parallel()
			g, err := LoadGlyph(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if g.Rune != tt.r {
				t.Errorf("Rune = %q, want %q", g.Rune, tt.r)
			}
			if g.Empty() != tt.empty {
				t.Fatalf("Empty() = %v, want %v", g.Empty(), tt.empty)
			}
			want := tt.advance
			if want == 0 {
				want = max(g.Ink.Dx()+latinSpacing, latinMinimum)
			}
			if math.Abs(g.Advance-want) > 1e-9 {
				t.Errorf("Advance = %v em, want %v", g.Advance, want)
			}
			if g.Empty() {
				return
			}
			if g.Ink.Min.X < -1e-9 || g.Ink.Max.X > g.Advance+1e-9 {
				t.Errorf("ink %v spills out of the advance [0, %v]", g.Ink, g.Advance)
			}
			if g.Ink.Min.Y < IdeoBottom || g.Ink.Max.Y > IdeoTop {
				t.Errorf("ink %v spills out of the ideographic em box [%v, %v]", g.Ink, IdeoBottom, IdeoTop)
			}
			if tt.r >= '0' && tt.r <= '9' {
				left, right := g.Ink.Min.X, g.Advance-g.Ink.Max.X
				if math.Abs(left-right) > 1e-9 {
					t.Errorf("digit not centred: side bearings %v and %v", left, right)
				}
			}
		})
	}
}

// TestIdeographsFitTheEmBox checks IdeoBottom/IdeoTop against the glyphs the
// seal and certificate templates actually draw.
func TestIdeographsFitTheEmBox(t *testing.T) {
	t.Parallel()
	gs, err := Text("证明县人民政府政务服务中心业务专用章公民身份号码兹特此年月日鬱龘")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Ink.Min.Y < IdeoBottom || g.Ink.Max.Y > IdeoTop {
			t.Errorf("%q: ink %v outside [%v, %v]", g.Rune, g.Ink, IdeoBottom, IdeoTop)
		}
		if g.Advance != 1 {
			t.Errorf("%q: advance %v em, want 1", g.Rune, g.Advance)
		}
	}
}

func TestLoadGlyphMissing(t *testing.T) {
	t.Parallel()
	for _, r := range []rune{'★', '“', '—', 0, '\n', 0x7f, 0x85, utf8.RuneError, 0x10FFFF, -1} {
		g, err := LoadGlyph(r)
		if err == nil {
			t.Errorf("LoadGlyph(%U) = %v, want an error", r, g)
			continue
		}
		var me *MissingGlyphError
		if !errors.As(err, &me) || me.Rune != r {
			t.Errorf("LoadGlyph(%U) error = %v, want *MissingGlyphError for that rune", r, err)
		}
		if !errors.Is(err, ErrMissingGlyph) {
			t.Errorf("LoadGlyph(%U) error does not wrap ErrMissingGlyph", r)
		}
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	gs, err := Text("证明 No.7")
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 7 {
		t.Fatalf("got %d glyphs, want 7", len(gs))
	}
	var sum float64
	for _, g := range gs {
		sum += g.Advance
	}
	if got := Advance(gs); got != sum || got <= 2 {
		t.Errorf("Advance = %v, want %v (> 2 em)", got, sum)
	}
	if _, err := Text("证明“引号”"); !errors.Is(err, ErrMissingGlyph) {
		t.Errorf("Text with a missing glyph: err = %v, want ErrMissingGlyph", err)
	}
}

// recorder is a Pen that checks contour structure and collects points.
type recorder struct {
	t             *testing.T
	open, started bool
	moves, closes int
	min, max      Point
}

func (r *recorder) add(p Point) {
	if !r.started {
		r.min, r.max, r.started = p, p, true
	}
	r.min.X, r.min.Y = min(r.min.X, p.X), min(r.min.Y, p.Y)
	r.max.X, r.max.Y = max(r.max.X, p.X), max(r.max.Y, p.Y)
}

func (r *recorder) MoveTo(p Point) {
	if r.open {
		r.t.Error("MoveTo inside an open contour")
	}
	r.open = true
	r.moves++
	r.add(p)
}

func (r *recorder) LineTo(p Point) { r.needOpen(); r.add(p) }
func (r *recorder) QuadTo(c, p Point) {
	r.needOpen()
	r.add(c)
	r.add(p)
}
func (r *recorder) CubeTo(c1, c2, p Point) { r.needOpen(); r.add(c1); r.add(c2); r.add(p) }
func (r *recorder) ClosePath()             { r.needOpen(); r.open = false; r.closes++ }
func (r *recorder) needOpen() {
	if !r.open {
		r.t.Error("drawing outside a contour")
	}
}

func TestGlyphDraw(t *testing.T) {
	t.Parallel()
	g, err := LoadGlyph('国')
	if err != nil {
		t.Fatal(err)
	}
	m := Scale(10, 10).Then(Translate(100, 200))
	r := &recorder{t: t}
	g.Draw(r, m)
	if r.open {
		t.Error("last contour left open")
	}
	if r.moves < 2 || r.moves != r.closes {
		t.Errorf("%d MoveTo and %d ClosePath; want equal and ≥ 2 (国 has an inner contour)", r.moves, r.closes)
	}
	wantMin, wantMax := m.Apply(g.Ink.Min), m.Apply(g.Ink.Max)
	if !near(r.min, wantMin) || !near(r.max, wantMax) {
		t.Errorf("drawn bounds [%v %v], want the transformed ink [%v %v]", r.min, r.max, wantMin, wantMax)
	}
}

func near(a, b Point) bool { return math.Abs(a.X-b.X) < 1e-9 && math.Abs(a.Y-b.Y) < 1e-9 }

func TestMatrix(t *testing.T) {
	t.Parallel()
	p := Point{3, -2}
	tests := []struct {
		name string
		m    Matrix
		want Point
	}{
		{"identity", Identity(), p},
		{"translate", Translate(1, 5), Point{4, 3}},
		{"scale", Scale(2, -3), Point{6, 6}},
		{"rotate quarter turn", Rotate(math.Pi / 2), Point{2, 3}},
		{"scale then translate", Scale(2, 2).Then(Translate(1, 1)), Point{7, -3}},
		{"translate then scale", Translate(1, 1).Then(Scale(2, 2)), Point{8, -2}},
	}
	for _, tt := range tests {
		if got := tt.m.Apply(p); !near(got, tt.want) {
			t.Errorf("%s: Apply(%v) = %v, want %v", tt.name, p, got, tt.want)
		}
	}
	// Then must agree with applying one transform after the other.
	a, b := Rotate(0.7).Then(Scale(1.5, 0.5)), Translate(-4, 9).Then(Rotate(-2.1))
	for _, q := range []Point{{0, 0}, {1, 0}, {0, 1}, {-3.5, 8.25}} {
		if got, want := a.Then(b).Apply(q), b.Apply(a.Apply(q)); !near(got, want) {
			t.Errorf("a.Then(b).Apply(%v) = %v, want b.Apply(a.Apply(q)) = %v", q, got, want)
		}
	}
}

func TestLoadGlyphConcurrent(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, r := range "县人民政府政务服务中心0123456789" {
				g, err := LoadGlyph(r)
				if err != nil || g.Empty() {
					t.Errorf("LoadGlyph(%q) = %v, %v", r, g, err)
				}
			}
		})
	}
	wg.Wait()
}

// TestGlyphLoadedOnce: a rune's outline is loaded once and shared, in
// both faces, and so is the error for a rune a face lacks; what the cache
// gives back is what loading gives.
func TestGlyphLoadedOnce(t *testing.T) {
	t.Parallel()
	for _, f := range []*Face{Sans, Serif} {
		for _, r := range "证A7" {
			a, err := f.Glyph(r)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := f.Glyph(r)
			fresh, err := f.loadGlyph(r)
			if err != nil {
				t.Fatal(err)
			}
			if a != b {
				t.Errorf("%s: %q loaded twice", f.Name(), r)
			}
			if a.Advance != fresh.Advance || a.Ink != fresh.Ink || len(a.segs) != len(fresh.segs) {
				t.Errorf("%s: %q cached as %+v, loads as %+v", f.Name(), r, a, fresh)
			}
		}
		_, err1 := f.Glyph('\U0001F600')
		_, err2 := f.Glyph('\U0001F600')
		if !errors.Is(err1, ErrMissingGlyph) || err1 != err2 {
			t.Errorf("%s: a missing rune: %v, then %v", f.Name(), err1, err2)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"某县人民政府政务服务中心", "业务专用章", "11010519491231002X", "No. 7", "\xff\xfe", "“”", "阿依古丽·买买提"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		gs, err := Text(s)
		if err != nil {
			if !errors.Is(err, ErrMissingGlyph) {
				t.Fatalf("Text(%q): unexpected error kind %v", s, err)
			}
			return
		}
		if len(gs) != utf8.RuneCountInString(s) {
			t.Fatalf("Text(%q) returned %d glyphs for %d runes", s, len(gs), utf8.RuneCountInString(s))
		}
		for _, g := range gs {
			if g.Advance < 0 || math.IsNaN(g.Advance) {
				t.Fatalf("%q: advance %v", g.Rune, g.Advance)
			}
		}
	})
}

// TestSerif: the serif face parses, is the font NOTICE describes, covers
// all of GB 2312 and ASCII, and shares Sans's ideographic em box.
func TestSerif(t *testing.T) {
	t.Parallel()
	f, err := Serif.Font()
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[sfnt.NameID]string{sfnt.NameIDFamily: SerifName, sfnt.NameIDSubfamily: "Bold"} {
		if got, err := f.Name(nil, id); err != nil || got != want {
			t.Errorf("name %d = %q, %v; want %q", id, got, err, want)
		}
	}
	if lic, err := f.Name(nil, 13); err != nil || !strings.Contains(lic, "SIL Open Font License, Version 1.1") {
		t.Errorf("licence description %q, %v", lic, err)
	}
	// Every character the subset was made for (testdata/serif-chars.txt,
	// written by internal/fontgen/subset-serif.sh), GB 2312's 6,763 hanzi
	// among them.
	want, err := os.ReadFile("testdata/serif-chars.txt")
	if err != nil {
		t.Fatal(err)
	}
	var hanzi int
	for _, r := range string(want) {
		if r >= 0x4E00 && r <= 0x9FFF { // CJK Unified Ideographs
			hanzi++
		}
		if !Serif.Has(r) && r != ' ' {
			t.Errorf("%q (%U) missing from %s", r, r, SerifName)
		}
	}
	if hanzi != 6763 {
		t.Errorf("testdata/serif-chars.txt has %d hanzi, want GB 2312's 6763", hanzi)
	}
	for r := rune(' ' + 1); r <= '~'; r++ {
		if !Serif.Has(r) {
			t.Errorf("ASCII %q missing from %s", r, SerifName)
		}
	}
	if _, err := Serif.Glyph('\u4dae'); !errors.Is(err, ErrMissingGlyph) || !strings.Contains(err.Error(), SerifName) {
		t.Errorf("Glyph(U+4DAE) outside the subset: %v, want ErrMissingGlyph naming %s", err, SerifName)
	}
	// The ideographs of both faces sit in the same band: their ink's
	// vertical centres agree within 0.02 em.
	for _, r := range "国章印" {
		s, err1 := Sans.Glyph(r)
		g, err2 := Serif.Glyph(r)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if d := (g.Ink.Min.Y + g.Ink.Max.Y - s.Ink.Min.Y - s.Ink.Max.Y) / 2; math.Abs(d) > 0.02 {
			t.Errorf("%c: serif ink centred %.3f em off Sans's", r, d)
		}
	}
}
