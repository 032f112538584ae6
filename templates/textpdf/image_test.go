package textpdf

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// TestEncodeImageRemembers: the same picture is decoded and compressed
// once while it is among the last imageMemoSize; the bytes decide, not
// the slice; the oldest is forgotten first.
func TestEncodeImageRemembers(t *testing.T) {
	pictures := make([][]byte, imageMemoSize+1)
	for i := range pictures {
		img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
		img.Set(1, 1, color.NRGBA{R: uint8(i), A: 0x80})
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		pictures[i] = b.Bytes()
	}
	first, err := encodeImage(pictures[0])
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := encodeImage(bytes.Clone(pictures[0])); again != first {
		t.Error("the same picture, in other bytes, encoded again")
	}
	if first.width != 4 || first.height != 4 || first.alpha == nil {
		t.Errorf("encoded %d×%d, alpha %v", first.width, first.height, first.alpha != nil)
	}
	for _, p := range pictures[1:] {
		e, err := encodeImage(p)
		if err != nil {
			t.Fatal(err)
		}
		if e == first {
			t.Fatal("another picture given the first one's encoding")
		}
	}
	if again, _ := encodeImage(pictures[0]); again == first {
		t.Errorf("the oldest of %d pictures still remembered", imageMemoSize+1)
	}
}
