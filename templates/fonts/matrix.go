package fonts

import "math"

// Matrix is a 2-D affine transform in PDF's order [a b c d e f]
// (ISO 32000-1 §8.3.3): a point (x, y) maps to
// (a·x + c·y + e, b·x + d·y + f).
type Matrix [6]float64

// Identity returns the transform that changes nothing.
func Identity() Matrix { return Matrix{1, 0, 0, 1, 0, 0} }

// Translate returns the transform that moves points by (dx, dy).
func Translate(dx, dy float64) Matrix { return Matrix{1, 0, 0, 1, dx, dy} }

// Scale returns the transform that scales by sx horizontally and sy
// vertically about the origin.
func Scale(sx, sy float64) Matrix { return Matrix{sx, 0, 0, sy, 0, 0} }

// Rotate returns the transform that turns points by theta radians about the
// origin, counter-clockwise when the Y axis points up.
func Rotate(theta float64) Matrix {
	s, c := math.Sincos(theta)
	return Matrix{c, s, -s, c, 0, 0}
}

// Then returns the transform that applies m first and n second.
func (m Matrix) Then(n Matrix) Matrix {
	return Matrix{
		m[0]*n[0] + m[1]*n[2],
		m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2],
		m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4],
		m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// Apply returns p transformed by m.
func (m Matrix) Apply(p Point) Point {
	return Point{m[0]*p.X + m[2]*p.Y + m[4], m[1]*p.X + m[3]*p.Y + m[5]}
}
