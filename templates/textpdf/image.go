package textpdf

import (
	"bytes"
	"fmt"
	"image/png"
	"math"
	"strconv"

	"github.com/sealpipe/sealpipe/internal/bytememo"
	"github.com/sealpipe/sealpipe/internal/planes"
)

// image draws a PNG as an image XObject (ISO 32000-1 §8.9.5): its colours
// as 8-bit DeviceRGB samples and, if any pixel is not opaque, its alpha as
// a soft-mask image (§11.6.5.3, the image dictionary's /SMask).
func (t *typesetter) image(im Image) error {
	if !(im.WidthMM > 0) || math.IsInf(im.WidthMM, 1) {
		return fmt.Errorf("%w: block %d: image width %v mm is not a positive number", ErrInvalid, t.block, im.WidthMM)
	}
	enc, err := encodeImage(im.PNG)
	if err != nil {
		return fmt.Errorf("%w: block %d: %w", ErrInvalid, t.block, err)
	}
	pw, ph := enc.width, enc.height

	// Its size on the page: as asked, but no wider than the type area and
	// no taller than a page's.
	w := min(im.WidthMM, typeWidth)
	h := w * float64(ph) / float64(pw)
	if h > typeHeight {
		h = typeHeight
		w = h * float64(pw) / float64(ph)
	}

	dict := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 8", pw, ph)
	obj := t.w.alloc()
	smask := ""
	if enc.alpha != nil {
		n := t.w.alloc()
		t.w.compressedStream(n, dict+" /ColorSpace /DeviceGray", enc.alpha)
		smask = " /SMask " + ref(n)
	}
	t.w.compressedStream(obj, dict+" /ColorSpace /DeviceRGB"+smask, enc.rgb)
	t.imageN++
	name := "Im" + strconv.Itoa(t.imageN)

	y, err := t.room(imageBefore, h, 0)
	if err != nil {
		return err
	}
	t.images = append(t.images, imageRef{name: name, obj: obj})
	// §8.9.4: an image occupies the unit square of user space; cm scales
	// it to its size and puts its lower-left corner in place.
	fmt.Fprintf(&t.content, "q %s 0 0 %s %s %s cm /%s Do Q\n", num(w), num(h), num(left), num(y-h), name)
	return nil
}

// encodedImage is a PNG picture as an image XObject needs it: its size and
// its colour and alpha samples, each compressed (alpha nil when opaque).
type encodedImage struct {
	width, height int
	rgb, alpha    []byte
}

// imageMemoSize is how many pictures encodeImage remembers.
const imageMemoSize = 8

// images are the pictures encodeImage encoded last: the reports of a batch
// show the same seal pictures again and again, and decoding and
// compressing a picture costs more than the rest of a report.
var images = bytememo.Memo[*encodedImage]{Size: imageMemoSize}

// encodeImage decodes and compresses the PNG picture data, or returns what
// it made of the same bytes before.
func encodeImage(data []byte) (*encodedImage, error) {
	return images.Get(data, decodeImage)
}

// decodeImage decodes and compresses the PNG picture data.
func decodeImage(data []byte) (*encodedImage, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("image of %d×%d pixels: at most %d pixels allowed", cfg.Width, cfg.Height, MaxImagePixels)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	pw, ph := img.Bounds().Dx(), img.Bounds().Dy()
	rgb, alpha, opaque := planes.Split(img)
	e := &encodedImage{width: pw, height: ph}
	if e.rgb, err = compress(rgb); err != nil {
		return nil, err
	}
	if !opaque {
		if e.alpha, err = compress(alpha); err != nil {
			return nil, err
		}
	}
	return e, nil
}
