// Package sealpictest makes seal pictures for tests: impressions as a
// scanner would give them, and ones the county rules refuse.
package sealpictest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"

	"github.com/sealpipe/sealpipe/templates/sealpic"
)

// Impression returns a scanned impression of a unit seal mm millimetres
// across, at the resolution sealpic.Render records in the PNG; with blue,
// its red turned blue (SwapRedBlue), which sealpic.CheckImpression
// refuses.
func Impression(mm float64, blue bool) ([]byte, error) {
	b, err := sealpic.Render(sealpic.Spec{UnitName: "某某县民政局", Purpose: "业务专用章", Code: "33010200000301", DiameterMM: mm})
	if err != nil || !blue {
		return b, err
	}
	return SwapRedBlue(b)
}

// SwapRedBlue returns the PNG b with every pixel's red and blue swapped,
// written without the resolution (pHYs) b records.
func SwapRedBlue(b []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out := image.NewNRGBA(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			c.R, c.B = c.B, c.R
			out.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
