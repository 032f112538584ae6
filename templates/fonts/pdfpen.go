package fonts

import (
	"bytes"
	"math"
	"strconv"
)

// PDFPen is a Pen that writes an outline as PDF path operators (ISO
// 32000-1 §8.5.2) to W, with coordinates rounded to integers — draw
// through a Matrix that scales the em to a fine enough grid — and
// TrueType's quadratic curves raised to cubic ones, which PDF draws.
// Fill the path with the non-zero winding rule (the f operator).
type PDFPen struct {
	W   *bytes.Buffer
	cur Point
}

// MoveTo starts a contour at a.
func (p *PDFPen) MoveTo(a Point) {
	p.cur = a
	p.op(" m\n", a)
}

// LineTo draws a line to a.
func (p *PDFPen) LineTo(a Point) {
	p.cur = a
	p.op(" l\n", a)
}

// QuadTo raises the quadratic to a cubic: the control points lie two thirds
// of the way from each end point to the quadratic's control point.
func (p *PDFPen) QuadTo(c, a Point) {
	c1 := Point{X: p.cur.X + 2.0/3*(c.X-p.cur.X), Y: p.cur.Y + 2.0/3*(c.Y-p.cur.Y)}
	c2 := Point{X: a.X + 2.0/3*(c.X-a.X), Y: a.Y + 2.0/3*(c.Y-a.Y)}
	p.CubeTo(c1, c2, a)
}

// CubeTo draws a cubic Bézier curve to a.
func (p *PDFPen) CubeTo(c1, c2, a Point) {
	p.cur = a
	p.op(" c\n", c1, c2, a)
}

// ClosePath closes the contour.
func (p *PDFPen) ClosePath() { p.W.WriteString("h\n") }

// op writes the points' coordinates, rounded to integers, then the operator.
func (p *PDFPen) op(operator string, pts ...Point) {
	var b [64]byte
	out := b[:0]
	for i, a := range pts {
		if i > 0 {
			out = append(out, ' ')
		}
		out = strconv.AppendInt(out, int64(math.Round(a.X)), 10)
		out = append(out, ' ')
		out = strconv.AppendInt(out, int64(math.Round(a.Y)), 10)
	}
	p.W.Write(out)
	p.W.WriteString(operator)
}
