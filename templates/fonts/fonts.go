// Package fonts embeds sealpipe's only font, Droid Sans Fallback, and turns
// its glyphs into vector outlines that other templates transform and fill:
// sealpic rasterises them into seal pictures, certpdf writes them as PDF
// paths. The font is compiled into the binary, so nothing outside it is read
// at run time; see NOTICE for its origin and licence.
//
// Outlines are given in em units with the Y axis pointing up: the glyph's
// origin is the left end of its baseline and one em is 1.0. Droid Sans
// Fallback has no Latin glyphs, so LoadGlyph draws printable ASCII with the
// font's fullwidth forms (U+FF01–U+FF5E) re-spaced to Latin widths.
package fonts

import (
	_ "embed"
	"errors"
	"fmt"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

//go:embed DroidSansFallbackFull.ttf
var droidSansFallback []byte

// Name is the family name of the embedded font.
const Name = "Droid Sans Fallback"

// The ideographic em box: the band, in em units relative to the baseline,
// that Droid Sans Fallback designs its ideographs in. Measured on the font,
// whose ideographs' ink spans about -0.09 to 0.80 em; the box adds the same
// margin above and below. Lay CJK text out by this box, not by each glyph's
// ink, so that 一 and 国 sit on the same line at the same size.
const (
	IdeoBottom = -0.145
	IdeoTop    = 0.855
)

// ErrMissingGlyph is returned, wrapped in a *MissingGlyphError, for a
// character the embedded font cannot draw.
var ErrMissingGlyph = errors.New("fonts: no glyph in " + Name)

// MissingGlyphError reports the character the embedded font cannot draw.
type MissingGlyphError struct {
	Rune rune
}

// Error names the character.
func (e *MissingGlyphError) Error() string {
	return fmt.Sprintf("fonts: no glyph for %q (%U) in %s", e.Rune, e.Rune, Name)
}

// Unwrap returns ErrMissingGlyph.
func (e *MissingGlyphError) Unwrap() error { return ErrMissingGlyph }

var parsed = sync.OnceValues(func() (*sfnt.Font, error) {
	f, err := sfnt.Parse(droidSansFallback)
	if err != nil {
		return nil, fmt.Errorf("fonts: parse embedded %s: %w", Name, err)
	}
	return f, nil
})

// CJK returns the embedded Droid Sans Fallback font, parsed once. The font is
// shared: its methods are safe for concurrent use as long as each call has
// its own *sfnt.Buffer (or nil).
func CJK() (*sfnt.Font, error) { return parsed() }

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

// LoadGlyph returns the outline of r. It returns a *MissingGlyphError for a
// character the font cannot draw, including control characters.
func LoadGlyph(r rune) (*Glyph, error) {
	f, err := CJK()
	if err != nil {
		return nil, err
	}
	src, latin := r, false
	switch {
	case unicode.IsControl(r) || r == utf8.RuneError:
		// U+FFFD is what invalid UTF-8 decodes to: refuse it rather than
		// draw a replacement character in an official document.
		return nil, &MissingGlyphError{Rune: r}
	case r > ' ' && r <= '~':
		src, latin = r+0xFF01-'!', true
	case substitutes[r] != 0:
		src = substitutes[r]
	}
	b := buffers.Get().(*sfnt.Buffer)
	defer buffers.Put(b)
	x, err := f.GlyphIndex(b, src)
	if err != nil || x == 0 {
		return nil, &MissingGlyphError{Rune: r}
	}
	// At ppem = units per em, sfnt's 26.6 values are font units.
	upm := fixed.Int26_6(f.UnitsPerEm())
	scale := 1 / float64(upm)
	adv, err := f.GlyphAdvance(b, x, upm, font.HintingNone)
	if err != nil {
		return nil, fmt.Errorf("fonts: advance of %q (%U): %w", r, r, err)
	}
	raw, err := f.LoadGlyph(b, x, upm, nil)
	if err != nil {
		if errors.Is(err, sfnt.ErrColoredGlyph) {
			return nil, &MissingGlyphError{Rune: r}
		}
		return nil, fmt.Errorf("fonts: outline of %q (%U): %w", r, r, err)
	}
	g := &Glyph{Rune: r, Advance: float64(adv) * scale, segs: make([]segment, len(raw))}
	for i, s := range raw {
		g.segs[i].op = s.Op
		for j, a := range s.Args {
			// sfnt's Y axis points down; flip it.
			g.segs[i].args[j] = Point{float64(a.X) * scale, -float64(a.Y) * scale}
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

// Text loads the glyph of every character of s, in order. The error names
// the first character the font cannot draw.
func Text(s string) ([]*Glyph, error) {
	gs := make([]*Glyph, 0, len(s))
	for _, r := range s {
		g, err := LoadGlyph(r)
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
