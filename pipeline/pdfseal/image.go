package pdfseal

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image/png"

	"github.com/sealpipe/sealpipe/internal/bytememo"
	"github.com/sealpipe/sealpipe/internal/planes"
)

// Limits on the seal picture. A seal is a few centimetres wide: 2048×2048
// pixels is far above print resolution for it.
const (
	maxImageBytes  = 8 << 20
	maxImagePixels = 2048 * 2048
)

// sealImage is a seal picture ready to embed: zlib (FlateDecode) streams of
// 8-bit RGB samples and, if the picture is not opaque, of 8-bit alpha
// samples for an /SMask (§11.6.5.3) and of the 1-bit stencil mask that
// stands for it where transparency is not allowed (mask, for /Mask,
// §8.9.6.3: 1 where the picture is at least half opaque; PDF/A-1 forbids
// soft masks, ISO 19005-1 §6.4).
type sealImage struct {
	width, height       int
	rgb, alpha, stencil []byte // alpha and stencil are nil when every pixel is opaque
}

// images keeps the embeddable forms of recent pictures.
var images bytememo.Memo[*sealImage]

// loadImage returns the embeddable form of a PNG seal picture.
func loadImage(data []byte) (*sealImage, error) {
	return images.Get(data, encodeImage)
}

// encodeImage decodes a PNG and splits it into colour and alpha samples.
func encodeImage(data []byte) (*sealImage, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: no picture given", ErrImage)
	}
	if len(data) > maxImageBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrImage, len(data), maxImageBytes)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: not a PNG (starts %q): %v", ErrImage, snippet(data, 0), err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width*cfg.Height > maxImagePixels {
		return nil, fmt.Errorf("%w: %d×%d pixels, the limit is %d pixels", ErrImage, cfg.Width, cfg.Height, maxImagePixels)
	}
	src, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: PNG: %v", ErrImage, err)
	}
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	rgb, alpha, opaque := planes.Split(src)
	img := &sealImage{width: w, height: h, rgb: deflate(rgb)}
	if !opaque {
		img.alpha, img.stencil = deflate(alpha), deflate(stencilOf(alpha, w, h))
	}
	return img, nil
}

// stencilOf packs alpha, w×h 8-bit samples, into the rows of a 1-bit image
// mask, each row starting on a byte (§8.9.5.2): 1 where a pixel is at
// least half opaque. With /Decode [1 0] on the mask, 1 paints.
func stencilOf(alpha []byte, w, h int) []byte {
	stride := (w + 7) / 8
	out := make([]byte, stride*h)
	for y := range h {
		for x := range w {
			if alpha[y*w+x] >= 0x80 {
				out[y*stride+x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	return out
}

// deflate compresses b for /FlateDecode (a zlib stream, §7.4.4), as
// small as zlib makes it: a picture is encoded once per seal (imageCache)
// and then written into, and hashed with, every document sealed with it
// (a seal's 504×504 alpha mask: 21.5 KB instead of 23.3 KB).
func deflate(b []byte) []byte {
	var out bytes.Buffer
	// BestCompression is a valid level, and writes to a bytes.Buffer
	// cannot fail.
	zw, _ := zlib.NewWriterLevel(&out, zlib.BestCompression)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}
