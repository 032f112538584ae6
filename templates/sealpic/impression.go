package sealpic

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/png"
	"math"
)

// An impression is the picture of a seal's registered physical impression
// (county rules 第九条: the electronic seal's picture matches the impression
// registered with the public security organ), scanned and imported as a
// PNG rather than drawn. CheckImpression checks that it can stand for a
// seal: its printed size, from its resolution, and its colour.

// Impression size bounds, in millimetres. A unit seal is round, 38 to 45
// mm across (国发〔1999〕25号 gives 4.2 cm for a county's; special-purpose
// seals run smaller or larger within this); a personal name seal is
// square, 10 to 30 mm a side.
const (
	MinRoundMM  = 38
	MaxRoundMM  = 45
	MinSquareMM = 10
	MaxSquareMM = 30
)

// MaxImpressionSide bounds an impression's width and height in pixels,
// checked before the PNG is decoded: no impression CheckImpression
// accepts is larger (45 mm at 5000 dpi is under 9000 dots), and a small
// PNG may declare a huge image.
const MaxImpressionSide = 9500

// ErrImpression is wrapped by every *ImpressionError.
var ErrImpression = errors.New("sealpic: impression refused")

// ImpressionError says why an imported impression is refused.
type ImpressionError struct{ Reason string }

func (e *ImpressionError) Error() string { return "sealpic: impression refused: " + e.Reason }

// Unwrap returns ErrImpression.
func (e *ImpressionError) Unwrap() error { return ErrImpression }

func refuse(format string, args ...any) error {
	return &ImpressionError{Reason: fmt.Sprintf(format, args...)}
}

// Impression is an imported impression that passed CheckImpression.
type Impression struct {
	// WidthMM and HeightMM are its printed size, rounded to whole
	// millimetres (GB/T 38540 SES_ESPictrueInfo width and height).
	WidthMM, HeightMM int
	// DotsPerMM is the resolution it was measured at.
	DotsPerMM float64
}

// ImpressionSpec says what an impression must be.
type ImpressionSpec struct {
	// Round asks for a unit seal's round impression, MinRoundMM to
	// MaxRoundMM across; else a personal seal's square one, MinSquareMM
	// to MaxSquareMM a side.
	Round bool
	// DPI is the resolution the image was scanned at; 0 means the one its
	// pHYs chunk records, and none recorded is refused.
	DPI float64
}

// CheckImpression checks an imported impression (a PNG): as wide as high
// (within 3%), its printed size in the bounds for its shape at its
// resolution, and mostly red on a transparent or white ground — at least
// 1% of its pixels ink, at least 85% of the ink red. Anything else is
// refused with an *ImpressionError saying why (a blue impression, a
// blank one, one too small).
func CheckImpression(b []byte, s ImpressionSpec) (Impression, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return Impression{}, refuse("not a PNG: %v", err)
	}
	if cfg.Width > MaxImpressionSide || cfg.Height > MaxImpressionSide {
		return Impression{}, refuse("%d × %d pixels: no seal's impression is more than %d a side", cfg.Width, cfg.Height, MaxImpressionSide)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return Impression{}, refuse("not a PNG: %v", err)
	}
	dpmm := s.DPI / 25.4
	if dpmm == 0 {
		if dpmm = pngDotsPerMM(b); dpmm == 0 {
			return Impression{}, refuse("the PNG records no resolution (pHYs): give the DPI it was scanned at")
		}
	}
	if dpmm < 2 || dpmm > 200 {
		return Impression{}, refuse("a resolution of %.0f dpi: want 50 to 5000", dpmm*25.4)
	}
	r := img.Bounds()
	w, h := float64(r.Dx())/dpmm, float64(r.Dy())/dpmm
	imp := Impression{WidthMM: int(math.Round(w)), HeightMM: int(math.Round(h)), DotsPerMM: dpmm}
	lo, hi, shape := float64(MinSquareMM), float64(MaxSquareMM), "a personal seal's square impression"
	if s.Round {
		lo, hi, shape = MinRoundMM, MaxRoundMM, "a unit seal's round impression"
	}
	switch {
	case math.Abs(w-h) > 0.03*math.Max(w, h):
		return imp, refuse("%.1f × %.1f mm: %s is as wide as high", w, h, shape)
	case w < lo || w > hi:
		return imp, refuse("%.1f mm across at %.0f dpi: %s is %.0f to %.0f mm", w, dpmm*25.4, shape, lo, hi)
	}
	var red, other, total int
	var sum [3]int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			total++
			cr, cg, cb, ca := img.At(x, y).RGBA()
			if ca < 0x2000 {
				continue // transparent ground
			}
			// Un-premultiply, to 8 bits.
			R, G, B := int(cr*0xff/ca), int(cg*0xff/ca), int(cb*0xff/ca)
			switch {
			case R >= 200 && G >= 200 && B >= 200:
				// white ground
			case R >= 120 && R-G >= 50 && R-B >= 50:
				red++
			default:
				other++
				sum[0], sum[1], sum[2] = sum[0]+R, sum[1]+G, sum[2]+B
			}
		}
	}
	ink := red + other
	switch {
	case ink*100 < total:
		return imp, refuse("%d of %d pixels are ink: blank", ink, total)
	case red*100 < 85*ink:
		return imp, refuse("%d%% of the ink is red, the rest mostly %s: a seal's impression is red on a transparent or white ground",
			red*100/ink, colourName(sum[0]/other, sum[1]/other, sum[2]/other))
	}
	return imp, nil
}

// colourName names an average colour roughly, for a refusal.
func colourName(r, g, b int) string {
	switch {
	case max(r, g, b)-min(r, g, b) < 40:
		if max(r, g, b) < 100 {
			return "black"
		}
		return "grey"
	case b >= r && b >= g:
		return "blue"
	case g >= r && g >= b:
		return "green"
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", r, g, b)
}

// pngDotsPerMM returns the resolution a PNG's pHYs chunk records in
// dots per metre (ISO/IEC 15948 §11.3.5.3) as dots per millimetre; 0 if
// none, or one in no unit.
func pngDotsPerMM(b []byte) float64 {
	const sig = 8
	for p := sig; p+12 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[p:]))
		typ := string(b[p+4 : p+8])
		if n < 0 || p+12+n > len(b) {
			return 0
		}
		if typ == "pHYs" && n == 9 {
			d := b[p+8:]
			x, y, unit := binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:]), d[8]
			if unit != 1 || x != y {
				return 0
			}
			return float64(x) / 1000
		}
		if typ == "IDAT" {
			return 0 // pHYs comes before the image data
		}
		p += 12 + n
	}
	return 0
}
