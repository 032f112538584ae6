// Package planes splits pictures into the separate sample planes PDF
// image XObjects take (ISO 32000-1 §8.9.5): 8-bit RGB colour, and 8-bit
// alpha for a soft mask (§11.6.5.3). pdfseal embeds seal pictures so, and
// textpdf the pictures of its reports.
package planes

import (
	"image"
	"image/color"
)

// Split returns img's colour samples (R, G, B for each pixel, row by
// row), its alpha samples (one a pixel), and whether every pixel is
// opaque, in which case a PDF needs no soft mask. The colour is
// non-premultiplied, as PDF reads it.
func Split(img image.Image) (rgb, alpha []byte, opaque bool) {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	rgb = make([]byte, 0, 3*w*h)
	alpha = make([]byte, 0, w*h)
	opaque = true
	nrgba, isNRGBA := img.(*image.NRGBA)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		if isNRGBA {
			row := nrgba.Pix[nrgba.PixOffset(r.Min.X, y):nrgba.PixOffset(r.Max.X, y)]
			for i := 0; i < len(row); i += 4 {
				rgb = append(rgb, row[i], row[i+1], row[i+2])
				alpha = append(alpha, row[i+3])
				opaque = opaque && row[i+3] == 0xff
			}
			continue
		}
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			rgb = append(rgb, c.R, c.G, c.B)
			alpha = append(alpha, c.A)
			opaque = opaque && c.A == 0xff
		}
	}
	return rgb, alpha, opaque
}
