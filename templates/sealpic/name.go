package sealpic

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/vector"

	"github.com/sealpipe/sealpipe/templates/fonts"
)

// Defaults and limits of a NameSpec: a personal name seal (电子名章, GB/T
// 38540 seal type 2) is a square, 20 mm a side unless asked otherwise.
const (
	DefaultNameSideMM = 20
	MinNameSideMM     = 10
	MaxNameSideMM     = 40

	MinHolderRunes = 2 // a surname and a given name
	MaxHolderRunes = 8 // four rows of two; longer names no longer fit legibly
)

// NameSpec describes one personal name seal picture.
type NameSpec struct {
	// Holder is the person's name, 2 to 8 characters, such as 张三. The
	// seal engraves NameText(Holder).
	Holder string
	// SideMM is the square's side in millimetres; 0 means 20.
	SideMM float64
	// DotsPerMM is the resolution; 0 means 12 (≈ 305 dpi).
	DotsPerMM float64
}

// NameText returns the characters a name seal engraves for holder, in
// reading order: a two-character name gets 之印 (张三 → 张三之印), a
// three-character or other odd-length name gets 印 (李小明 → 李小明印), so
// that the characters fill a grid of two columns; a name of four or another
// even number of characters is engraved as it is.
func NameText(holder string) string {
	switch n := utf8.RuneCountInString(holder); {
	case n == 2:
		return holder + "之印"
	case n%2 == 1:
		return holder + "印"
	}
	return holder
}

// Proportions of the 20 mm name seal, in millimetres; other sides scale
// them.
const (
	nameBorder  = 1.0  // the square's red border
	nameMargin  = 0.7  // between border and characters
	nameCellGap = 0.35 // between neighbouring characters
)

// RenderName draws the personal name seal described by s and returns it as
// a PNG, transparent outside the ink, whose pHYs chunk records the
// resolution: a red square border and NameText(Holder) inside it in two
// columns read right to left, each top to bottom (张三之印: 张 top right, 三
// under it, 之 top left, 印 under it). Four characters make a two-by-two
// grid; six and eight make two columns of three and four, their characters
// compressed vertically as seal engravers do.
func RenderName(s NameSpec) ([]byte, error) {
	side, dpm := s.SideMM, s.DotsPerMM
	if side == 0 {
		side = DefaultNameSideMM
	}
	if dpm == 0 {
		dpm = DefaultDotsPerMM
	}
	if !(side >= MinNameSideMM && side <= MaxNameSideMM) { // also catches NaN
		return nil, &SpecError{Field: "SideMM", Value: fmt.Sprint(s.SideMM),
			Reason: fmt.Sprintf("must be between %d and %d mm", MinNameSideMM, MaxNameSideMM)}
	}
	if !(dpm >= MinDotsPerMM && dpm <= MaxDotsPerMM) {
		return nil, &SpecError{Field: "DotsPerMM", Value: fmt.Sprint(s.DotsPerMM),
			Reason: fmt.Sprintf("must be between %d and %d", MinDotsPerMM, MaxDotsPerMM)}
	}
	if _, err := glyphs("Holder", s.Holder, MinHolderRunes, MaxHolderRunes, serifText); err != nil {
		return nil, err
	}
	if strings.ContainsRune(s.Holder, '\u3000') {
		return nil, &SpecError{Field: "Holder", Value: s.Holder, Reason: "contains white space"}
	}
	gs, err := serifText(NameText(s.Holder))
	if err != nil { // not reached: 之 and 印 are in the serif face
		return nil, &SpecError{Field: "Holder", Value: s.Holder, Reason: "cannot be drawn: " + err.Error(), Err: err}
	}

	size := int(math.Round(side * dpm)) // at most 1920
	z := vector.NewRasterizer(size, size)
	pen := rasterPen{z}
	k := side / DefaultNameSideMM
	// Seal space: millimetres from the picture's top-left corner, Y down,
	// so that rows count downwards; glyphs (Y up) are flipped as placed.
	toPx := fonts.Scale(dpm, dpm)
	inset := 0.5 / dpm // keeps the border's anti-aliased edge inside
	square(pen, toPx, inset, side-inset, true)
	square(pen, toPx, inset+nameBorder*k, side-inset-nameBorder*k, false)

	rows := len(gs) / 2
	area := side - 2*(inset+(nameBorder+nameMargin)*k)
	gap := nameCellGap * k
	cellW := (area - gap) / 2
	cellH := (area - gap*float64(rows-1)) / float64(rows)
	origin := inset + (nameBorder+nameMargin)*k
	for i, g := range gs {
		col, row := 1-i/rows, i%rows // right column first
		x := origin + float64(col)*(cellW+gap)
		y := origin + float64(row)*(cellH+gap) // top of the cell
		// A one-em-wide em box fills the cell; a narrower glyph (the
		// middle dot of a minority name) keeps its width, centred.
		w := min(g.Advance, 1)
		m := fonts.Translate(0, -fonts.IdeoBottom).
			Then(fonts.Scale(cellW, -cellH/(fonts.IdeoTop-fonts.IdeoBottom))).
			Then(fonts.Translate(x+(1-w)*cellW/2, y+cellH))
		g.Draw(pen, m.Then(toPx))
	}
	return encode(redImage(z), dpm)
}

// square adds the axis-aligned square from (lo, lo) to (hi, hi), clockwise
// or counter-clockwise as seen with Y down; the opposite winding cuts a
// hole.
func square(pen fonts.Pen, m fonts.Matrix, lo, hi float64, cw bool) {
	pts := []fonts.Point{{X: lo, Y: lo}, {X: hi, Y: lo}, {X: hi, Y: hi}, {X: lo, Y: hi}}
	if !cw {
		pts[1], pts[3] = pts[3], pts[1]
	}
	pen.MoveTo(m.Apply(pts[0]))
	for _, p := range pts[1:] {
		pen.LineTo(m.Apply(p))
	}
	pen.ClosePath()
}
