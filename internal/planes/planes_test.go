package planes

import (
	"bytes"
	"image"
	"image/color"
	"testing"
)

// TestSplit: an NRGBA picture (read row by row) and the same picture in
// another model (read pixel by pixel) give the same planes, and opacity
// is judged on every pixel.
func TestSplit(t *testing.T) {
	nrgba := image.NewNRGBA(image.Rect(1, 1, 4, 3)) // not at the origin
	rgba := image.NewRGBA(nrgba.Rect)
	for y := 1; y < 3; y++ {
		for x := 1; x < 4; x++ {
			c := color.NRGBA{uint8(10 * x), uint8(20 * y), 200, 0xff}
			nrgba.SetNRGBA(x, y, c)
			rgba.Set(x, y, c)
		}
	}
	wantRGB := []byte{10, 20, 200, 20, 20, 200, 30, 20, 200, 10, 40, 200, 20, 40, 200, 30, 40, 200}
	for name, img := range map[string]image.Image{"nrgba": nrgba, "rgba": rgba} {
		rgb, alpha, opaque := Split(img)
		if !bytes.Equal(rgb, wantRGB) || !bytes.Equal(alpha, bytes.Repeat([]byte{0xff}, 6)) || !opaque {
			t.Errorf("%s: rgb %v, alpha %v, opaque %v", name, rgb, alpha, opaque)
		}
	}
	nrgba.SetNRGBA(3, 2, color.NRGBA{30, 40, 200, 0x80})
	rgba.Set(3, 2, color.NRGBA{30, 40, 200, 0x80})
	for name, img := range map[string]image.Image{"nrgba": nrgba, "rgba": rgba} {
		rgb, alpha, opaque := Split(img)
		if opaque || alpha[5] != 0x80 || rgb[15] < 29 || rgb[15] > 31 {
			t.Errorf("%s, last pixel half transparent: rgb %v, alpha %v, opaque %v", name, rgb, alpha, opaque)
		}
	}
}
