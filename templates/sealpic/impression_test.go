package sealpic_test

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/templates/sealpic"
	"github.com/sealpipe/sealpipe/templates/sealpic/sealpictest"
)

// recolour returns the PNG b with red and blue swapped
// (sealpictest.SwapRedBlue).
func recolour(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := sealpictest.SwapRedBlue(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCheckImpression: a drawn seal stands for an imported impression at
// its recorded resolution or a stated one; a blue one, a blank one, one
// too small or too large, one not square, and one of no known resolution
// are refused, each saying why.
func TestCheckImpression(t *testing.T) {
	t.Parallel()
	seal, err := sealpic.Render(sealpic.Spec{UnitName: "某某县民政局", Purpose: "业务专用章", Code: "33010200000001"})
	if err != nil {
		t.Fatal(err)
	}
	small, err := sealpic.Render(sealpic.Spec{UnitName: "某某县民政局", Code: "33010200000001", DiameterMM: 30})
	if err != nil {
		t.Fatal(err)
	}
	name, err := sealpic.RenderName(sealpic.NameSpec{Holder: "张三"})
	if err != nil {
		t.Fatal(err)
	}
	encode := func(img image.Image) []byte {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	blank := encode(image.NewNRGBA(image.Rect(0, 0, 504, 504)))
	wide := encode(image.NewNRGBA(image.Rect(0, 0, 600, 504)))
	huge := encode(image.NewGray(image.Rect(0, 0, sealpic.MaxImpressionSide+1, 1)))
	for _, tc := range []struct {
		name   string
		png    []byte
		spec   sealpic.ImpressionSpec
		wantMM int
		reason string // empty: accepted
	}{
		{"a unit seal at its recorded 305 dpi", seal, sealpic.ImpressionSpec{Round: true}, 42, ""},
		{"a unit seal at a stated 300 dpi", seal, sealpic.ImpressionSpec{Round: true, DPI: 300}, 43, ""},
		{"a name seal", name, sealpic.ImpressionSpec{}, 20, ""},
		{"blue", recolour(t, seal), sealpic.ImpressionSpec{Round: true, DPI: 305}, 0, "the rest mostly blue"},
		{"30 mm", small, sealpic.ImpressionSpec{Round: true}, 0, "30.0 mm across at 305 dpi: a unit seal's round impression is 38 to 45 mm"},
		{"scanned at 600 dpi said 300", seal, sealpic.ImpressionSpec{Round: true, DPI: 150}, 0, "85.3 mm across"},
		{"a name seal for a unit seal", name, sealpic.ImpressionSpec{Round: true}, 0, "is 38 to 45 mm"},
		{"blank", blank, sealpic.ImpressionSpec{Round: true, DPI: 305}, 0, "blank"},
		{"not square", wide, sealpic.ImpressionSpec{Round: true, DPI: 305}, 0, "is as wide as high"},
		{"no resolution", recolour(t, recolour(t, seal)), sealpic.ImpressionSpec{Round: true}, 0, "records no resolution"},
		{"not a PNG", []byte("GIF89a"), sealpic.ImpressionSpec{Round: true, DPI: 300}, 0, "not a PNG"},
		{"more pixels than any impression", huge, sealpic.ImpressionSpec{Round: true, DPI: 300}, 0, "no seal's impression is more than 9500 a side"},
	} {
		imp, err := sealpic.CheckImpression(tc.png, tc.spec)
		switch {
		case tc.reason == "" && (err != nil || imp.WidthMM != tc.wantMM || imp.HeightMM != tc.wantMM):
			t.Errorf("%s: %+v, %v; want %d mm", tc.name, imp, err, tc.wantMM)
		case tc.reason != "" && (!errors.Is(err, sealpic.ErrImpression) || !strings.Contains(err.Error(), tc.reason)):
			t.Errorf("%s: %v, want a refusal saying %q", tc.name, err, tc.reason)
		}
	}
}
