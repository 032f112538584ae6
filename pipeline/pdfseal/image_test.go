package pdfseal

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"sync"
	"testing"

	"github.com/sealpipe/sealpipe/internal/bytememo"
)

// TestImageCache: a picture seen before is not encoded again, one whose
// bytes differ (even at the same length) is, and the oldest of more than
// bytememo.DefaultSize pictures is encoded again when it comes back.
func TestImageCache(t *testing.T) {
	picture := func(shade uint8) []byte {
		img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
		for i := range img.Pix {
			img.Pix[i] = shade
		}
		img.SetNRGBA(0, 0, color.NRGBA{R: 0xcc, A: 0xff})
		var b bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.NoCompression} // as long whatever the shade
		if err := enc.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	load := func(data []byte) *sealImage {
		t.Helper()
		img, err := loadImage(data)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	first := picture(1)
	img := load(first)
	if again := load(bytes.Clone(first)); again != img {
		t.Error("the same picture was encoded again")
	}
	other := picture(2)
	if len(other) != len(first) {
		t.Fatalf("the two pictures are %d and %d bytes; the test wants them equally long", len(first), len(other))
	}
	if load(other) == img {
		t.Error("another picture of the same length got the first one's encoding")
	}
	for i := range bytememo.DefaultSize {
		load(picture(uint8(10 + i)))
	}
	if load(first) == img {
		t.Errorf("the first picture is still cached after %d others", bytememo.DefaultSize+1)
	}

	// Workers that want a picture not cached yet, all at once, share one
	// encoding of it.
	big := image.NewNRGBA(image.Rect(0, 0, 400, 400))
	for i := range big.Pix {
		big.Pix[i] = uint8(i * 7 / 5)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, big); err != nil {
		t.Fatal(err)
	}
	got := make([]*sealImage, 8)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range got {
		done.Go(func() {
			start.Wait()
			got[i], _ = loadImage(b.Bytes())
		})
	}
	start.Done()
	done.Wait()
	for i, img := range got {
		if img == nil || img != got[0] {
			t.Fatalf("worker %d got encoding %p, worker 0 %p: the picture was encoded more than once", i, img, got[0])
		}
	}
}
