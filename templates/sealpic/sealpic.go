// Package sealpic draws the picture of a round unit seal (公章) as a PNG with
// a transparent background: a red ring, a five-pointed star in the centre,
// the unit's name along the upper arc reading left to right, an optional
// purpose ("业务专用章") on a straight line under the star, and the seal's
// 14-digit code along the lower arc.
//
// The form follows the State Council's rules on the seals of enterprises and
// public institutions, 国发〔1999〕25号
// 《国务院关于国家行政机关和企业事业单位社会团体印章管理的规定》: round, 42 mm
// across, a star in the centre, the name around it reading clockwise from the
// left. (Organs of state
// administration carry the national emblem instead of the star; drawing the
// emblem is out of scope.) The 14-digit code in the lower arc is the seal's
// registry number.
//
// The name and purpose are set in the embedded serif face, fonts.Serif (Noto
// Serif CJK SC Bold, a Song/宋体 style, as seals are engraved), falling back
// to fonts.Sans for a character outside its GB 2312 subset; the code's
// digits are Sans's tabular ones. RenderName draws a personal name seal
// (电子名章): a square with the holder's name in a grid of characters.
//
// Every mark is a vector outline — glyphs from the embedded fonts, the ring
// and the star — filled in one pass with golang.org/x/image/vector, so the
// same Spec always yields the same bytes (with the same Go release: a new
// release may compress the PNG differently, never with different pixels).
package sealpic

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/vector"

	"github.com/sealpipe/sealpipe/templates/fonts"
)

// Defaults and limits of a Spec.
const (
	DefaultDiameterMM = 42 // 国发〔1999〕25号: a unit seal is 4.2 cm across
	DefaultDotsPerMM  = 12 // ≈ 305 dpi: 504 × 504 pixels for 42 mm

	MinDiameterMM = 20
	MaxDiameterMM = 60
	MinDotsPerMM  = 2
	MaxDotsPerMM  = 48

	MaxNameRunes    = 24 // longer names no longer fit legibly on the arc
	MaxPurposeRunes = 10 // the purpose line must fit under the star
	CodeDigits      = 14 // the seal code printed along the lower arc
)

// Red is the seal's ink colour (GB/T 9704-2012 §7.3.5.1: seals are printed in
// red); every visible pixel of the picture has this colour, with varying alpha.
var Red = color.NRGBA{R: 0xE6, G: 0x00, B: 0x12, A: 0xFF}

// Spec describes one seal picture.
type Spec struct {
	// UnitName is the seal holder's name, drawn along the upper arc.
	UnitName string
	// Purpose is the optional special purpose, such as "业务专用章", drawn on a
	// line under the star. Leave it empty for a general seal.
	Purpose string
	// Code is the 14-digit seal code, drawn along the lower arc.
	Code string
	// DiameterMM is the seal's diameter in millimetres; 0 means 42.
	DiameterMM float64
	// DotsPerMM is the resolution; 0 means 12 (≈ 305 dpi).
	DotsPerMM float64
}

// ErrInvalidSpec is wrapped by every *SpecError.
var ErrInvalidSpec = errors.New("sealpic: invalid seal spec")

// SpecError reports a Spec field that cannot be drawn.
type SpecError struct {
	Field  string // the Spec field, e.g. "UnitName"
	Value  string // the offending value, as given
	Reason string
	Err    error // the underlying cause, such as a *fonts.MissingGlyphError; may be nil
}

// Error quotes the field and its value.
func (e *SpecError) Error() string {
	return fmt.Sprintf("sealpic: %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidSpec and the underlying cause, if any.
func (e *SpecError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidSpec}
	}
	return []error{ErrInvalidSpec, e.Err}
}

// Render draws the seal described by s and returns it as a PNG whose pHYs
// chunk records the resolution, so the picture prints at its true size.
func Render(s Spec) ([]byte, error) {
	l, err := newLayout(s)
	if err != nil {
		return nil, err
	}
	return encode(l.draw(), l.dotsPerMM)
}

// encode writes img as a PNG whose pHYs chunk records dotsPerMM.
func encode(img image.Image, dotsPerMM float64) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("sealpic: encode PNG: %w", err)
	}
	return withPhysicalSize(buf.Bytes(), dotsPerMM)
}

// layout is a validated Spec with its glyphs loaded.
type layout struct {
	diameter, dotsPerMM float64
	size                int // picture width and height, pixels
	name, purpose, code []*fonts.Glyph
}

func newLayout(s Spec) (*layout, error) {
	l := &layout{diameter: s.DiameterMM, dotsPerMM: s.DotsPerMM}
	if l.diameter == 0 {
		l.diameter = DefaultDiameterMM
	}
	if l.dotsPerMM == 0 {
		l.dotsPerMM = DefaultDotsPerMM
	}
	if !(l.diameter >= MinDiameterMM && l.diameter <= MaxDiameterMM) { // also catches NaN
		return nil, &SpecError{Field: "DiameterMM", Value: fmt.Sprint(s.DiameterMM),
			Reason: fmt.Sprintf("must be between %d and %d mm", MinDiameterMM, MaxDiameterMM)}
	}
	if !(l.dotsPerMM >= MinDotsPerMM && l.dotsPerMM <= MaxDotsPerMM) {
		return nil, &SpecError{Field: "DotsPerMM", Value: fmt.Sprint(s.DotsPerMM),
			Reason: fmt.Sprintf("must be between %d and %d", MinDotsPerMM, MaxDotsPerMM)}
	}
	l.size = int(math.Round(l.diameter * l.dotsPerMM)) // at most 2880
	var err error
	if l.name, err = glyphs("UnitName", s.UnitName, 1, MaxNameRunes, serifText); err != nil {
		return nil, err
	}
	if s.Purpose != "" {
		if l.purpose, err = glyphs("Purpose", s.Purpose, 1, MaxPurposeRunes, serifText); err != nil {
			return nil, err
		}
	}
	if len(s.Code) != CodeDigits || strings.Trim(s.Code, "0123456789") != "" {
		return nil, &SpecError{Field: "Code", Value: s.Code, Reason: fmt.Sprintf("must be %d ASCII digits", CodeDigits)}
	}
	if l.code, err = glyphs("Code", s.Code, CodeDigits, CodeDigits, fonts.Text); err != nil {
		return nil, err
	}
	return l, nil
}

// glyphs validates one text field and loads its glyphs with load.
func glyphs(field, text string, minRunes, maxRunes int, load func(string) ([]*fonts.Glyph, error)) ([]*fonts.Glyph, error) {
	n := utf8.RuneCountInString(text)
	switch {
	case !utf8.ValidString(text):
		return nil, &SpecError{Field: field, Value: text, Reason: "is not valid UTF-8"}
	case strings.TrimSpace(text) == "":
		return nil, &SpecError{Field: field, Value: text, Reason: "is empty"}
	case strings.IndexFunc(text, unicode.IsSpace) >= 0:
		return nil, &SpecError{Field: field, Value: text, Reason: "contains white space"}
	case n < minRunes || n > maxRunes:
		return nil, &SpecError{Field: field, Value: text, Reason: fmt.Sprintf("has %d characters, want %d to %d", n, minRunes, maxRunes)}
	}
	gs, err := load(text)
	if err != nil {
		return nil, &SpecError{Field: field, Value: text, Reason: "cannot be drawn: " + err.Error(), Err: err}
	}
	return gs, nil
}

// serifText loads s's glyphs from fonts.Serif, each character the subset
// lacks from fonts.Sans. The error names the first character neither face
// can draw.
func serifText(s string) ([]*fonts.Glyph, error) {
	gs := make([]*fonts.Glyph, 0, len(s))
	for _, r := range s {
		g, err := fonts.Serif.Glyph(r)
		if errors.Is(err, fonts.ErrMissingGlyph) {
			g, err = fonts.Sans.Glyph(r)
		}
		if err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	return gs, nil
}

// Proportions of the 42 mm seal, in millimetres; other diameters scale them.
const (
	ringWidth = 1.2                  // border width of a 42 mm unit seal
	starOuter = 7.0                  // the star is 14 mm across its points
	starInner = starOuter * 0.381966 // regular pentagram: cos 72° / cos 36°

	nameGap    = 1.0  // between ring and name
	nameHeight = 6.2  // em box of a name character
	nameAspect = 0.85 // widest name character, relative to its height
	nameSpan   = 240  // degrees the name covers when it has ≥ 5 characters
	nameSlot   = 48   // degrees per character for shorter names

	codeGap      = 0.7  // between ring and code
	codeHeight   = 2.6  // em box of a code digit
	codeAspect   = 0.9  // digit em width relative to its height
	codeTracking = 1.15 // spacing between digits, relative to their advance

	purposeTop    = -7.2 // top of the purpose line's em box (star points reach -5.7)
	purposeHeight = 4.4
	purposeAspect = 0.85
	purposeWidth  = 17.0 // widest purpose line; keeps its corners clear of the code

	// Seal engravings have heavier strokes than Droid Sans: its digits are
	// thickened by this much on each side. Noto Serif CJK Bold, the name's
	// and purpose's face, is heavy enough as it is.
	nameBold    = 0
	purposeBold = 0
	codeBold    = 0.04
)

// draw renders the seal into an image whose every non-transparent pixel is
// Red.
func (l *layout) draw() *image.Paletted {
	z := vector.NewRasterizer(l.size, l.size)
	pen := rasterPen{z}
	k := l.diameter / DefaultDiameterMM // scale from the 42 mm proportions
	half := float64(l.size) / 2
	// Seal space: millimetres, origin at the centre, Y up. The half-pixel
	// inset keeps the ring's anti-aliased edge inside the picture.
	toPx := fonts.Scale(l.dotsPerMM, -l.dotsPerMM).Then(fonts.Translate(half, half))
	outer := l.diameter/2 - 0.5/l.dotsPerMM
	inner := outer - ringWidth*k

	circle(pen, toPx, outer, true)
	circle(pen, toPx, inner, false) // opposite winding cuts the hole
	star(pen, toPx, starOuter*k, starInner*k)

	// Name: upper arc, tops of the characters facing outwards.
	nameTop := inner - nameGap*k
	nameMid := nameTop - nameHeight*k/2
	span := math.Min(nameSpan, nameSlot*float64(len(l.name))) * math.Pi / 180
	perEm := span / fonts.Advance(l.name) // radians per em of advance
	width := math.Min(nameAspect*nameHeight*k, 0.92*perEm*nameMid)
	weight := nameBold * k * width / (nameAspect * nameHeight * k) // narrow characters get thinner strokes
	arc(pen, toPx, l.name, math.Pi/2+span/2, -perEm, nameMid, width, nameHeight*k, weight)

	// Code: lower arc, left to right, tops of the digits facing the centre.
	codeMid := inner - codeGap*k - codeHeight*k/2
	codeWidth := codeAspect * codeHeight * k
	perEm = codeTracking * codeWidth / codeMid
	codeSpan := perEm * fonts.Advance(l.code)
	arc(pen, toPx, l.code, 3*math.Pi/2-codeSpan/2, perEm, codeMid, codeWidth, codeHeight*k, codeBold*k)

	// Purpose: one horizontal line under the star.
	if len(l.purpose) > 0 {
		h := purposeHeight * k
		w := math.Min(purposeAspect*h, purposeWidth*k/fonts.Advance(l.purpose))
		x := -w * fonts.Advance(l.purpose) / 2
		bottom := purposeTop*k - h
		for _, g := range l.purpose {
			m := fonts.Translate(0, -fonts.IdeoBottom).Then(fonts.Scale(w, h)).Then(fonts.Translate(x, bottom))
			bold(pen, g, m, toPx, purposeBold*k)
			x += g.Advance * w
		}
	}

	return redImage(z)
}

// redImage fills what z holds. The coverage mask becomes the palette
// index: entry i is Red with alpha i, so the PNG stores one byte per pixel
// (plus a tRNS chunk) instead of four, and every visible pixel is exactly
// Red.
func redImage(z *vector.Rasterizer) *image.Paletted {
	mask := image.NewAlpha(z.Bounds())
	z.Draw(mask, mask.Rect, image.Opaque, image.Point{})
	return &image.Paletted{Pix: mask.Pix, Stride: mask.Stride, Rect: mask.Rect, Palette: redPalette}
}

// redPalette holds Red at every alpha: entry i has alpha i.
var redPalette = func() color.Palette {
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = color.NRGBA{R: Red.R, G: Red.G, B: Red.B, A: uint8(i)}
	}
	return p
}()

// arc draws glyphs along a circle of radius mid (the middle of their em
// boxes), starting at angle start and moving perEm radians per em of
// advance: negative is clockwise, which places text on the upper arc with
// the tops outwards; positive places it on the lower arc with the tops
// inwards. Each glyph is scaled to width mm per em and height mm tall, and
// thickened by weight mm.
func arc(pen fonts.Pen, toPx fonts.Matrix, gs []*fonts.Glyph, start, perEm, mid, width, height, weight float64) {
	turn := -math.Pi / 2 // upper arc: the glyph's up points away from the centre
	if perEm > 0 {
		turn = math.Pi / 2 // lower arc: towards it
	}
	pos := 0.0
	for _, g := range gs {
		theta := start + (pos+g.Advance/2)*perEm
		s, c := math.Sincos(theta)
		m := fonts.Translate(-g.Advance/2, -(fonts.IdeoBottom+fonts.IdeoTop)/2).
			Then(fonts.Scale(width, height)).
			Then(fonts.Rotate(theta + turn)).
			Then(fonts.Translate(mid*c, mid*s))
		bold(pen, g, m, toPx, weight)
		pos += g.Advance
	}
}

// bold draws g through m, then toPx, thickened by weight on every side: it
// adds the outline nine times, at the centre and shifted by weight in eight
// directions. The rasteriser fills the union, since overlapping contours of
// one orientation still count as covered once.
func bold(pen fonts.Pen, g *fonts.Glyph, m, toPx fonts.Matrix, weight float64) {
	g.Draw(pen, m.Then(toPx))
	if weight == 0 {
		return
	}
	for i := range 8 {
		s, c := math.Sincos(float64(i) * math.Pi / 4)
		g.Draw(pen, m.Then(fonts.Translate(weight*c, weight*s)).Then(toPx))
	}
}

// kappa places the control points of a cubic Bézier quarter circle.
const kappa = 0.5522847498307936 // 4/3·(√2 − 1)

// circle adds a circle of radius r about the origin, counter-clockwise or
// clockwise.
func circle(pen fonts.Pen, m fonts.Matrix, r float64, ccw bool) {
	dir := 1.0
	if !ccw {
		dir = -1
	}
	pt := func(x, y float64) fonts.Point { return m.Apply(fonts.Point{X: x, Y: dir * y}) }
	pen.MoveTo(pt(r, 0))
	pen.CubeTo(pt(r, kappa*r), pt(kappa*r, r), pt(0, r))
	pen.CubeTo(pt(-kappa*r, r), pt(-r, kappa*r), pt(-r, 0))
	pen.CubeTo(pt(-r, -kappa*r), pt(-kappa*r, -r), pt(0, -r))
	pen.CubeTo(pt(kappa*r, -r), pt(r, -kappa*r), pt(r, 0))
	pen.ClosePath()
}

// star adds a five-pointed star about the origin, one point straight up, as
// a simple ten-sided polygon.
func star(pen fonts.Pen, m fonts.Matrix, outer, inner float64) {
	for i := range 10 {
		r := outer
		if i%2 == 1 {
			r = inner
		}
		s, c := math.Sincos(math.Pi/2 + float64(i)*math.Pi/5)
		p := m.Apply(fonts.Point{X: r * c, Y: r * s})
		if i == 0 {
			pen.MoveTo(p)
		} else {
			pen.LineTo(p)
		}
	}
	pen.ClosePath()
}

// rasterPen feeds outlines to a vector.Rasterizer.
type rasterPen struct{ z *vector.Rasterizer }

func (p rasterPen) MoveTo(a fonts.Point) { p.z.MoveTo(float32(a.X), float32(a.Y)) }
func (p rasterPen) LineTo(a fonts.Point) { p.z.LineTo(float32(a.X), float32(a.Y)) }
func (p rasterPen) QuadTo(b, c fonts.Point) {
	p.z.QuadTo(float32(b.X), float32(b.Y), float32(c.X), float32(c.Y))
}
func (p rasterPen) CubeTo(b, c, d fonts.Point) {
	p.z.CubeTo(float32(b.X), float32(b.Y), float32(c.X), float32(c.Y), float32(d.X), float32(d.Y))
}
func (p rasterPen) ClosePath() { p.z.ClosePath() }
