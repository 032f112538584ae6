// Package fonts embeds sealpipe's two fonts and turns their glyphs into
// vector outlines that other templates transform and fill: sealpic
// rasterises them into seal pictures, certpdf writes them as PDF paths.
//
//   - Sans is Droid Sans Fallback, whole: the demo certificates' text and
//     the digits of a seal's code.
//   - Serif is Noto Serif CJK SC Bold, subset to GB 2312 and ASCII: the
//     Song (宋体) style that official seals engrave unit names, purpose
//     text and personal names in.
//
// The fonts are compiled into the binary, so nothing outside it is read at
// run time; see NOTICE for their origin and licences, and
// internal/fontgen/subset-serif.sh (go generate) for how the serif subset
// is made.
//
// Outlines are given in em units with the Y axis pointing up: the glyph's
// origin is the left end of its baseline and one em is 1.0. Every face is
// shifted so that its ideographs sit in the same em box, [IdeoBottom,
// IdeoTop]. Droid Sans Fallback has no Latin glyphs, so Sans draws
// printable ASCII with the font's fullwidth forms (U+FF01–U+FF5E) re-spaced
// to Latin widths.
package fonts

//go:generate sh ../../internal/fontgen/subset-serif.sh

import (
	_ "embed"
	"errors"
	"fmt"
	"sync"
	"unicode"
	"unicode/utf8"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

//go:embed DroidSansFallbackFull.ttf
var droidSansFallback []byte

//go:embed NotoSerifSC-Bold-GB2312.otf
var notoSerif []byte

// Name is the family name of the embedded sans-serif font, Sans.
const Name = "Droid Sans Fallback"

// SerifName is the family name of the embedded serif font, Serif.
const SerifName = "Noto Serif CJK SC"

// The ideographic em box: the band, in em units relative to the baseline,
// that Droid Sans Fallback designs its ideographs in. Measured on the font,
// whose ideographs' ink spans about -0.09 to 0.80 em; the box adds the same
// margin above and below. Lay CJK text out by this box, not by each glyph's
// ink, so that 一 and 国 sit on the same line at the same size. Serif's
// outlines are moved to share it (Noto CJK's own box is -0.12 to 0.88 em).
const (
	IdeoBottom = -0.145
	IdeoTop    = 0.855
)

// notoIdeoBottom is the bottom of Noto CJK's ideographic em box (its BASE
// table's ideo baseline, and OS/2 sTypoDescender, -120 of 1000 units).
const notoIdeoBottom = -0.12

// ErrMissingGlyph is returned, wrapped in a *MissingGlyphError, for a
// character an embedded font cannot draw.
var ErrMissingGlyph = errors.New("fonts: no glyph")

// MissingGlyphError reports the character a font cannot draw.
type MissingGlyphError struct {
	Rune rune
	// Font is the family name of the font without the glyph; empty means
	// Name (Sans).
	Font string
}

// Error names the character and the font.
func (e *MissingGlyphError) Error() string {
	f := e.Font
	if f == "" {
		f = Name
	}
	return fmt.Sprintf("fonts: no glyph for %q (%U) in %s", e.Rune, e.Rune, f)
}

// Unwrap returns ErrMissingGlyph.
func (e *MissingGlyphError) Unwrap() error { return ErrMissingGlyph }

// Face is one embedded font. Its methods are safe for concurrent use.
type Face struct {
	name string
	dy   float64 // added to every Y, to put the ideographs in [IdeoBottom, IdeoTop]
	// fullwidthLatin draws printable ASCII with the fullwidth forms,
	// re-spaced, for a font without Latin glyphs.
	fullwidthLatin bool
	parsed         func() (*sfnt.Font, error)
	glyphs         sync.Map // rune → glyphResult: every glyph loaded, and every rune the face lacks
}

// glyphResult is what Glyph found for a rune.
type glyphResult struct {
	g   *Glyph
	err error // a *MissingGlyphError
}

func newFace(name string, data []byte, dy float64, fullwidthLatin bool) *Face {
	return &Face{name: name, dy: dy, fullwidthLatin: fullwidthLatin, parsed: sync.OnceValues(func() (*sfnt.Font, error) {
		f, err := sfnt.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("fonts: parse embedded %s: %w", name, err)
		}
		return f, nil
	})}
}

// The embedded faces.
var (
	// Sans is Droid Sans Fallback (Apache 2.0): about 31,000 CJK
	// characters, no Latin glyphs of its own.
	Sans = newFace(Name, droidSansFallback, 0, true)
	// Serif is Noto Serif CJK SC Bold (SIL OFL 1.1), subset to GB 2312
	// (6,763 hanzi and 682 symbols), printable ASCII, U+00B7 and U+3007.
	Serif = newFace(SerifName, notoSerif, IdeoBottom-notoIdeoBottom, false)
)

// Name returns the face's family name.
func (f *Face) Name() string { return f.name }

// Font returns the face's font, parsed once. The font is shared: its
// methods are safe for concurrent use as long as each call has its own
// *sfnt.Buffer (or nil).
func (f *Face) Font() (*sfnt.Font, error) { return f.parsed() }

// Has reports whether the face can draw r.
func (f *Face) Has(r rune) bool {
	_, err := f.Glyph(r)
	return err == nil
}

// CJK returns the embedded Droid Sans Fallback font, parsed once: Sans.Font.
func CJK() (*sfnt.Font, error) { return Sans.Font() }

// SansTTF returns the file of the embedded Droid Sans Fallback font, the
// one Sans parses, for writers that embed a subset of it (templates/textpdf).
// The slice is shared: do not modify it.
func SansTTF() []byte { return droidSansFallback }

var buffers = sync.Pool{New: func() any { return new(sfnt.Buffer) }}

// Point is a position in a glyph's or a drawing's coordinate space.
type Point struct{ X, Y float64 }

// Rect is an axis-aligned rectangle, Min being the corner with the smaller
// coordinates.
type Rect struct{ Min, Max Point }

// Dx returns r's width.
func (r Rect) Dx() float64 { return r.Max.X - r.Min.X }

// Dy returns r's height.
func (r Rect) Dy() float64 { return r.Max.Y - r.Min.Y }

// Pen receives a glyph's outline, already transformed. Each contour starts
// with MoveTo and ends with ClosePath. Fill the result with the non-zero
// winding rule.
type Pen interface {
	MoveTo(p Point)
	LineTo(p Point)
	QuadTo(ctrl, p Point)
	CubeTo(ctrl1, ctrl2, p Point)
	ClosePath()
}

type segment struct {
	op   sfnt.SegmentOp
	args [3]Point
}

// points returns how many of s.args the operator uses.
func (s segment) points() int {
	switch s.op {
	case sfnt.SegmentOpQuadTo:
		return 2
	case sfnt.SegmentOpCubeTo:
		return 3
	}
	return 1
}

// Glyph is one character's outline and metrics in em units, Y up, origin at
// the left end of the baseline.
type Glyph struct {
	// Rune is the character the glyph draws.
	Rune rune
	// Advance is how far the pen moves after the glyph.
	Advance float64
	// Ink bounds the outline; it is the zero Rect for a glyph without ink,
	// such as a space.
	Ink  Rect
	segs []segment
}

// Empty reports whether g has no ink (a space).
func (g *Glyph) Empty() bool { return len(g.segs) == 0 }

// Draw sends g's outline through m to p.
func (g *Glyph) Draw(p Pen, m Matrix) {
	open := false
	for _, s := range g.segs {
		switch s.op {
		case sfnt.SegmentOpMoveTo:
			if open {
				p.ClosePath()
			}
			p.MoveTo(m.Apply(s.args[0]))
			open = true
		case sfnt.SegmentOpLineTo:
			p.LineTo(m.Apply(s.args[0]))
		case sfnt.SegmentOpQuadTo:
			p.QuadTo(m.Apply(s.args[0]), m.Apply(s.args[1]))
		case sfnt.SegmentOpCubeTo:
			p.CubeTo(m.Apply(s.args[0]), m.Apply(s.args[1]), m.Apply(s.args[2]))
		}
	}
	if open {
		p.ClosePath()
	}
}

// Latin spacing for the fullwidth stand-ins of ASCII characters, in em.
const (
	digitAdvance = 0.55 // tabular: every digit the same width, so numbers align
	latinSpacing = 0.12 // side bearings added to a letter's ink width
	latinMinimum = 0.30 // narrowest advance, for punctuation such as '.'
)

// substitutes maps characters the font lacks to a look-alike it has.
var substitutes = map[rune]rune{
	'\u00b7': '\u30fb', // MIDDLE DOT, as in minority names, → KATAKANA MIDDLE DOT
}

// LoadGlyph returns the outline of r in Sans: Sans.Glyph.
func LoadGlyph(r rune) (*Glyph, error) { return Sans.Glyph(r) }

// Glyph returns the outline of r. It returns a *MissingGlyphError for a
// character the face cannot draw, including control characters. Each
// rune's outline is loaded once: the *Glyph is shared, not to be
// modified.
func (f *Face) Glyph(r rune) (*Glyph, error) {
	if v, ok := f.glyphs.Load(r); ok {
		res := v.(glyphResult)
		return res.g, res.err
	}
	g, err := f.loadGlyph(r)
	var missing *MissingGlyphError
	if err == nil || errors.As(err, &missing) {
		f.glyphs.Store(r, glyphResult{g, err})
	}
	return g, err
}

// loadGlyph reads the outline of r from the font.
func (f *Face) loadGlyph(r rune) (*Glyph, error) {
	font, err := f.Font()
	if err != nil {
		return nil, err
	}
	missing := &MissingGlyphError{Rune: r, Font: f.name}
	src, latin := r, false
	switch {
	case unicode.IsControl(r) || r == utf8.RuneError:
		// U+FFFD is what invalid UTF-8 decodes to: refuse it rather than
		// draw a replacement character in an official document.
		return nil, missing
	case !f.fullwidthLatin:
	case r > ' ' && r <= '~':
		src, latin = r+0xFF01-'!', true
	case substitutes[r] != 0:
		src = substitutes[r]
	}
	b := buffers.Get().(*sfnt.Buffer)
	defer buffers.Put(b)
	x, err := font.GlyphIndex(b, src)
	if err != nil || x == 0 {
		return nil, missing
	}
	// At ppem = units per em, sfnt's 26.6 values are font units.
	upm := fixed.Int26_6(font.UnitsPerEm())
	scale := 1 / float64(upm)
	adv, err := font.GlyphAdvance(b, x, upm, xfont.HintingNone)
	if err != nil {
		return nil, fmt.Errorf("fonts: advance of %q (%U) in %s: %w", r, r, f.name, err)
	}
	raw, err := font.LoadGlyph(b, x, upm, nil)
	if err != nil {
		if errors.Is(err, sfnt.ErrColoredGlyph) {
			return nil, missing
		}
		return nil, fmt.Errorf("fonts: outline of %q (%U) in %s: %w", r, r, f.name, err)
	}
	g := &Glyph{Rune: r, Advance: float64(adv) * scale, segs: make([]segment, len(raw))}
	for i, s := range raw {
		g.segs[i].op = s.Op
		for j, a := range s.Args {
			// sfnt's Y axis points down; flip it.
			g.segs[i].args[j] = Point{float64(a.X) * scale, -float64(a.Y)*scale + f.dy}
		}
	}
	g.Ink = g.bounds()
	if latin {
		g.respace()
	}
	return g, nil
}

// bounds returns the box around every point of the outline, control points
// included: a quadratic or cubic Bézier lies within its control polygon.
func (g *Glyph) bounds() Rect {
	if len(g.segs) == 0 {
		return Rect{}
	}
	r := Rect{Min: g.segs[0].args[0], Max: g.segs[0].args[0]}
	for _, s := range g.segs {
		for _, p := range s.args[:s.points()] {
			r.Min.X, r.Min.Y = min(r.Min.X, p.X), min(r.Min.Y, p.Y)
			r.Max.X, r.Max.Y = max(r.Max.X, p.X), max(r.Max.Y, p.Y)
		}
	}
	return r
}

// respace narrows a fullwidth stand-in to Latin width: digits get a fixed
// advance, everything else its ink width plus side bearings; the ink is
// centred in the new advance.
func (g *Glyph) respace() {
	adv := digitAdvance
	if g.Rune < '0' || g.Rune > '9' {
		adv = max(g.Ink.Dx()+latinSpacing, latinMinimum)
	}
	dx := (adv-g.Ink.Dx())/2 - g.Ink.Min.X
	for i := range g.segs {
		for j := range g.segs[i].args {
			g.segs[i].args[j].X += dx
		}
	}
	g.Ink.Min.X += dx
	g.Ink.Max.X += dx
	g.Advance = adv
}

// Text loads the Sans glyph of every character of s: Sans.Text.
func Text(s string) ([]*Glyph, error) { return Sans.Text(s) }

// Text loads the glyph of every character of s, in order. The error names
// the first character the face cannot draw.
func (f *Face) Text(s string) ([]*Glyph, error) {
	gs := make([]*Glyph, 0, len(s))
	for _, r := range s {
		g, err := f.Glyph(r)
		if err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	return gs, nil
}

// Advance returns the sum of the glyphs' advances, in em.
func Advance(gs []*Glyph) float64 {
	var w float64
	for _, g := range gs {
		w += g.Advance
	}
	return w
}
