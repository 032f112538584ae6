// Package verifymark draws the verification mark that goes under a seal
// on a sealed document, as Chinese e-certificates print it: a QR code of
// the address where the document's report is looked up (the verification
// service's /v/<code>), and beside it the verification code in words, for
// a person without a phone to type in.
//
// The mark is vector paths only — QR modules as rectangles, text as the
// embedded Sans font's outlines (package fonts) — so it needs no font or
// image resources and keeps a PDF/A document conformant. pdfseal draws it
// in the seal's appearance, where the seal's signature covers it.
package verifymark

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"

	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/templates/fonts"
)

// ErrBadBaseURL means a base URL is not an absolute http or https URL.
var ErrBadBaseURL = errors.New("verifymark: the base URL must be an absolute http or https URL without query or fragment")

// The mark's layout, in millimetres.
const (
	// QRSide is the QR code's side, quiet zone included: 14 mm keeps the
	// modules of a code for a 40-character address near 0.4 mm, which
	// phones read off paper.
	QRSide = 14.0
	// quietModules is the QR code's quiet zone, in modules (ISO/IEC
	// 18004:2015 §9.1).
	quietModules = 4
	gap          = 1.5  // between the QR code and the text
	labelSize    = 3.0  // 验证码
	codeSize     = 3.2  // the code
	addressSize  = 2.0  // the address to type it in at
	maxTextWidth = 45.0 // the address shrinks to stay within it
	grid         = 100  // path coordinates are hundredths of a millimetre
)

// label is the mark's first line.
const label = "验证码"

// CheckBaseURL returns an error wrapping ErrBadBaseURL unless base is an
// absolute http or https URL without query or fragment: what URL can
// append /v/<code> to.
func CheckBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%w: %q", ErrBadBaseURL, base)
	}
	return nil
}

// URL returns the address where the document with verification code code
// is looked up: the verification service's /v/<code> under base.
func URL(base, code string) string {
	return strings.TrimRight(base, "/") + "/v/" + code
}

// New returns the mark of the verification code code, looked up under
// base (see URL): the QR code of its address on the left and, on the
// right, 验证码, the code, and the address of the look-up form to type it
// in (base/v).
func New(code, base string) (*pdfseal.Mark, error) {
	if err := CheckBaseURL(base); err != nil {
		return nil, err
	}
	qr, err := qrcode.New(URL(base, code), qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("verifymark: QR code: %w", err)
	}
	qr.DisableBorder = true
	var b bytes.Buffer
	fmt.Fprintf(&b, "q %g 0 0 %g 0 0 cm\n", 1.0/grid, 1.0/grid)
	drawQR(&b, qr.Bitmap())

	address := strings.TrimRight(base, "/") + "/v"
	lines := []struct {
		text       string
		size, base float64 // mm: the em, and the baseline's height
	}{
		{label, labelSize, 9.6},
		{code, codeSize, 4.9},
		{address, addressSize, 0.6},
	}
	width := 0.0
	for _, l := range lines {
		gs, err := fonts.Text(l.text)
		if err != nil {
			return nil, fmt.Errorf("verifymark: %w", err)
		}
		size := math.Min(l.size, maxTextWidth/fonts.Advance(gs))
		drawText(&b, gs, QRSide+gap, l.base-fonts.IdeoBottom*size, size)
		width = math.Max(width, fonts.Advance(gs)*size)
	}
	b.WriteString("Q")
	return &pdfseal.Mark{Width: QRSide + gap + math.Ceil(width), Height: QRSide, Content: b.Bytes()}, nil
}

// drawQR draws the QR code's modules, dark on a white square of QRSide
// with the quiet zone round them, each row's runs of dark modules as one
// rectangle. Module edges are rounded to the grid once, so neighbours
// share them: no hairline gaps.
func drawQR(b *bytes.Buffer, bits [][]bool) {
	n := len(bits)
	side := int(QRSide * grid)
	edge := func(i int) int { // the grid coordinate of module edge i, quiet zone included
		return int(math.Round(float64(i) * QRSide * grid / float64(n+2*quietModules)))
	}
	fmt.Fprintf(b, "1 g 0 0 %d %d re f\n0 g\n", side, side)
	for row, line := range bits {
		top := side - edge(row+quietModules)
		bottom := side - edge(row+quietModules+1)
		for col := 0; col < n; {
			if !line[col] {
				col++
				continue
			}
			start := col
			for col < n && line[col] {
				col++
			}
			x0, x1 := edge(start+quietModules), edge(col+quietModules)
			b.WriteString(strconv.Itoa(x0) + " " + strconv.Itoa(bottom) + " " + strconv.Itoa(x1-x0) + " " + strconv.Itoa(top-bottom) + " re\n")
		}
	}
	b.WriteString("f\n")
}

// drawText draws glyphs as filled outlines, size mm to the em, the
// baseline starting at (x, y) mm.
func drawText(b *bytes.Buffer, gs []*fonts.Glyph, x, y, size float64) {
	pen := &fonts.PDFPen{W: b}
	for _, g := range gs {
		g.Draw(pen, fonts.Scale(size*grid, size*grid).Then(fonts.Translate(x*grid, y*grid)))
		x += g.Advance * size
	}
	b.WriteString("f\n")
}
