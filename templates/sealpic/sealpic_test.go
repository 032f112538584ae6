package sealpic

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sealpipe/sealpipe/templates/fonts"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var hall = Spec{UnitName: "某某县人民政府政务服务中心", Purpose: "业务专用章", Code: "34012300012345"}

// picture decodes a rendered seal and knows where seal-space millimetres
// (origin at the centre, Y up) fall in it.
type picture struct {
	img       *image.NRGBA
	dotsPerMM float64
	k         float64 // diameter / 42 mm
}

func decode(t *testing.T, b []byte, s Spec) *picture {
	t.Helper()
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	// Convert pixel by pixel: draw.Draw would go through premultiplied
	// alpha and blur the colour of faint pixels.
	img := image.NewNRGBA(im.Bounds())
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			img.SetNRGBA(x, y, color.NRGBAModel.Convert(im.At(x, y)).(color.NRGBA))
		}
	}
	d, dpm := s.DiameterMM, s.DotsPerMM
	if d == 0 {
		d = 42
	}
	if dpm == 0 {
		dpm = 12
	}
	want := int(math.Round(d * dpm))
	if img.Rect.Dx() != want || img.Rect.Dy() != want {
		t.Fatalf("picture is %v, want %d×%d pixels for %v mm at %v dots/mm", img.Rect.Size(), want, want, d, dpm)
	}
	return &picture{img: img, dotsPerMM: dpm, k: d / 42}
}

// at returns the alpha of the pixel at seal-space (x, y) mm.
func (p *picture) at(x, y float64) uint8 {
	half := float64(p.img.Rect.Dx()) / 2
	px, py := int(math.Floor(half+x*p.dotsPerMM)), int(math.Floor(half-y*p.dotsPerMM))
	return p.img.NRGBAAt(px, py).A
}

// polar returns the alpha at radius r mm and angle deg degrees (0 = east,
// counter-clockwise).
func (p *picture) polar(r, deg float64) uint8 {
	s, c := math.Sincos(deg * math.Pi / 180)
	return p.at(r*c, r*s)
}

// inkShare returns the fraction of pixels with alpha ≥ 128 in the annulus
// between radii r0 and r1 mm and angles a0 to a1 degrees.
func (p *picture) inkShare(r0, r1, a0, a1 float64) float64 {
	var ink, all int
	for r := r0; r <= r1; r += 0.5 / p.dotsPerMM {
		for a := a0; a <= a1; a += 0.25 {
			all++
			if p.polar(r, a) >= 128 {
				ink++
			}
		}
	}
	return float64(ink) / float64(all)
}

func TestRenderGeometry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec Spec
	}{
		{"service hall with purpose", hall},
		{"no purpose", Spec{UnitName: "某县民政局", Code: "34012300012346"}},
		{"small and coarse", Spec{UnitName: "某县市场监督管理局", Purpose: "合同专用章", Code: "34012300012347", DiameterMM: 38, DotsPerMM: 8}},
		{"large and fine", Spec{UnitName: "某县公安局", Purpose: "户籍专用章", Code: "34012300012348", DiameterMM: 58, DotsPerMM: 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Render(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			p := decode(t, b, tt.spec)
			k := p.k
			radius := 21 * k

			// Every visible pixel is seal red.
			for i := 0; i < len(p.img.Pix); i += 4 {
				px := p.img.Pix[i : i+4]
				if px[3] != 0 && (px[0] != Red.R || px[1] != Red.G || px[2] != Red.B) {
					t.Fatalf("pixel %d has colour %v, want seal red %v", i/4, px, Red)
				}
			}
			// The ring: a 1.2 mm band just inside the edge, solid all round.
			for _, in := range []float64{0.3, 0.6, 0.9} {
				for deg := 0.0; deg < 360; deg += 0.5 {
					if a := p.polar(radius-in*k, deg); a < 250 {
						t.Fatalf("ring at %v°, radius %.2f mm: alpha %d, want opaque", deg, radius-in*k, a)
					}
				}
			}
			// Clear just inside the ring where neither name nor code runs.
			for _, deg := range []float64{222, 318} {
				if a := p.polar(radius-1.2*k-0.4*k, deg); a != 0 {
					t.Errorf("inside the ring at %v°: alpha %d, want transparent", deg, a)
				}
			}
			// Nothing outside the seal's circle; the corners are transparent.
			for y := range p.img.Rect.Dy() {
				for x := range p.img.Rect.Dx() {
					dx := (float64(x)+0.5)/p.dotsPerMM - radius
					dy := (float64(y)+0.5)/p.dotsPerMM - radius
					if math.Hypot(dx, dy) > radius+0.5/p.dotsPerMM && p.img.NRGBAAt(x, y).A != 0 {
						t.Fatalf("pixel (%d,%d) outside the seal is not transparent", x, y)
					}
				}
			}
			last := p.img.Rect.Dx() - 1
			for _, c := range []image.Point{{0, 0}, {last, 0}, {0, last}, {last, last}} {
				if a := p.img.NRGBAAt(c.X, c.Y).A; a != 0 {
					t.Errorf("corner %v: alpha %d, want 0", c, a)
				}
			}
			// The star: solid at the centre and along its upper arm, empty
			// between two arms.
			if a := p.at(0, 0); a != 255 {
				t.Errorf("star centre: alpha %d, want 255", a)
			}
			if a := p.at(0, 5*k); a != 255 {
				t.Errorf("star's upper arm: alpha %d, want 255", a)
			}
			if a := p.polar(5*k, 90+36); a != 0 {
				t.Errorf("between the star's arms: alpha %d, want 0", a)
			}
			// The name: ink across the upper arc band, but not a solid block.
			if share := p.inkShare(13.2*k, 18.8*k, 30, 150); share < 0.10 || share > 0.70 {
				t.Errorf("upper arc band is %.0f%% ink, want text (10–70%%)", 100*share)
			}
			// The code: ink along the bottom.
			if share := p.inkShare(16.8*k, 18.9*k, 250, 290); share < 0.05 || share > 0.70 {
				t.Errorf("lower arc band is %.0f%% ink, want digits (5–70%%)", 100*share)
			}
			// The purpose line under the star is there exactly when asked for.
			var ink int
			for y := -7.6 * k; y > -11.2*k; y -= 0.5 / p.dotsPerMM {
				for x := -7 * k; x < 7*k; x += 0.5 / p.dotsPerMM {
					if p.at(x, y) >= 128 {
						ink++
					}
				}
			}
			if got, want := ink > 0, tt.spec.Purpose != ""; got != want {
				t.Errorf("purpose line has %d ink samples; purpose %q", ink, tt.spec.Purpose)
			}
		})
	}
}

func TestRenderPhysicalSize(t *testing.T) {
	t.Parallel()
	for _, dpm := range []float64{0, 8, 23.62} {
		b, err := Render(Spec{UnitName: "某县民政局", Code: "34012300012346", DotsPerMM: dpm})
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(b, []byte("pHYs"))
		if i < 0 || i+13 > len(b) {
			t.Fatalf("dots/mm %v: no pHYs chunk", dpm)
		}
		want := dpm
		if want == 0 {
			want = 12
		}
		x, y, unit := binary.BigEndian.Uint32(b[i+4:]), binary.BigEndian.Uint32(b[i+8:]), b[i+12]
		if wantPPM := uint32(math.Round(want * 1000)); x != wantPPM || y != wantPPM || unit != 1 {
			t.Errorf("dots/mm %v: pHYs = %d×%d unit %d, want %d pixels per metre", dpm, x, y, unit, wantPPM)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("dots/mm %v: PNG with pHYs does not decode: %v", dpm, err)
		}
	}
}

func TestRenderInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		spec    Spec
		field   string
		missing bool // the error must wrap fonts.ErrMissingGlyph
	}{
		{"empty name", Spec{Code: hall.Code}, "UnitName", false},
		{"blank name", Spec{UnitName: "   ", Code: hall.Code}, "UnitName", false},
		{"name with a space", Spec{UnitName: "某县 民政局", Code: hall.Code}, "UnitName", false},
		{"name too long", Spec{UnitName: strings.Repeat("县", MaxNameRunes+1), Code: hall.Code}, "UnitName", false},
		{"name not UTF-8", Spec{UnitName: "某县\xff民政局", Code: hall.Code}, "UnitName", false},
		{"name with a control character", Spec{UnitName: "某县\x07民政局", Code: hall.Code}, "UnitName", true},
		{"name glyph missing", Spec{UnitName: "\U0001F600某县民政局", Code: hall.Code}, "UnitName", true},
		{"purpose too long", Spec{UnitName: "某县民政局", Purpose: strings.Repeat("章", MaxPurposeRunes+1), Code: hall.Code}, "Purpose", false},
		{"purpose glyph missing", Spec{UnitName: "某县民政局", Purpose: "专用章\U0001F600", Code: hall.Code}, "Purpose", true},
		{"no code", Spec{UnitName: "某县民政局"}, "Code", false},
		{"13-digit code", Spec{UnitName: "某县民政局", Code: "3401230001234"}, "Code", false},
		{"15-digit code", Spec{UnitName: "某县民政局", Code: "340123000123456"}, "Code", false},
		{"code with a letter", Spec{UnitName: "某县民政局", Code: "3401230001234X"}, "Code", false},
		{"code in fullwidth digits", Spec{UnitName: "某县民政局", Code: "３４０１２３０００１２３４５"}, "Code", false},
		{"negative diameter", Spec{UnitName: "某县民政局", Code: hall.Code, DiameterMM: -42}, "DiameterMM", false},
		{"huge diameter", Spec{UnitName: "某县民政局", Code: hall.Code, DiameterMM: 420}, "DiameterMM", false},
		{"NaN diameter", Spec{UnitName: "某县民政局", Code: hall.Code, DiameterMM: math.NaN()}, "DiameterMM", false},
		{"resolution too fine", Spec{UnitName: "某县民政局", Code: hall.Code, DotsPerMM: 1000}, "DotsPerMM", false},
		{"infinite resolution", Spec{UnitName: "某县民政局", Code: hall.Code, DotsPerMM: math.Inf(1)}, "DotsPerMM", false},
		{"negative resolution", Spec{UnitName: "某县民政局", Code: hall.Code, DotsPerMM: -12}, "DotsPerMM", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Render(tt.spec)
			if err == nil {
				t.Fatalf("Render = %d bytes, want an error", len(b))
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error %v does not wrap ErrInvalidSpec", err)
			}
			var se *SpecError
			if !errors.As(err, &se) || se.Field != tt.field {
				t.Fatalf("error %v: want a *SpecError for field %s", err, tt.field)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", se.Value)) {
				t.Errorf("error %q does not quote the bad value", err)
			}
			if got := errors.Is(err, fonts.ErrMissingGlyph); got != tt.missing {
				t.Errorf("errors.Is(err, fonts.ErrMissingGlyph) = %v, want %v (err: %v)", got, tt.missing, err)
			}
		})
	}
}

func TestRenderDeterministic(t *testing.T) {
	t.Parallel()
	want, err := Render(hall)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := Render(hall)
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(got, want) {
				t.Error("two renders of the same Spec differ")
			}
		})
	}
	wg.Wait()
	other := hall
	other.Code = "34012300012346"
	got, err := Render(other)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		t.Error("a different code rendered the same bytes")
	}
}

// TestGolden compares pixels, not PNG bytes, so that a change in the zlib
// encoder of a later Go release does not break it; alpha may differ by a
// little on architectures whose floating point fuses multiply-adds.
func TestGolden(t *testing.T) {
	t.Parallel()
	b, err := Render(hall)
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, b, hall, filepath.Join("testdata", "seal.png"))
}

// compareGolden compares picture b, of the size s gives, with the golden
// file at path, which -update rewrites.
func compareGolden(t *testing.T, b []byte, s Spec, path string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	got, want := decode(t, b, s), decode(t, golden, s)
	const tolerance = 2
	var off int
	for i := range got.img.Pix {
		d := int(got.img.Pix[i]) - int(want.img.Pix[i])
		if d < -tolerance || d > tolerance {
			off++
		}
	}
	if off > 0 {
		t.Errorf("%d pixel channels differ from %s by more than %d; if the change is intended, view the new picture and run go test -update", off, path, tolerance)
	}
}

func BenchmarkRenderSeal(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(hall); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzRender(f *testing.F) {
	f.Add(hall.UnitName, hall.Purpose, hall.Code)
	f.Add("某县民政局", "", "34012300012346")
	f.Add("ABC科技有限公司", "合同专用章", "00000000000000")
	f.Add("阿依古丽·买买提", "\xff", "1234567890123")
	f.Fuzz(func(t *testing.T, name, purpose, code string) {
		s := Spec{UnitName: name, Purpose: purpose, Code: code, DotsPerMM: 4}
		b, err := Render(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("Render(%q, %q, %q): error %v does not wrap ErrInvalidSpec", name, purpose, code, err)
			}
			return
		}
		decode(t, b, s)
	})
}

// nameCell returns the share of inked pixels (alpha ≥ 128) in the grid cell
// at column col (0 = right) and row of a name seal picture with rows rows.
func nameCell(p *picture, side float64, rows, col, row int) float64 {
	k := side / DefaultNameSideMM
	origin := (nameBorder + nameMargin) * k
	area := side - 2*origin
	gap := nameCellGap * k
	w, h := (area-gap)/2, (area-gap*float64(rows-1))/float64(rows)
	x0 := origin + float64(1-col)*(w+gap)
	y0 := origin + float64(row)*(h+gap)
	var ink, all int
	for y := y0; y < y0+h; y += 0.5 / p.dotsPerMM {
		for x := x0; x < x0+w; x += 0.5 / p.dotsPerMM {
			all++
			if p.img.NRGBAAt(int(x*p.dotsPerMM), int(y*p.dotsPerMM)).A >= 128 {
				ink++
			}
		}
	}
	return float64(ink) / float64(all)
}

func TestNameText(t *testing.T) {
	t.Parallel()
	for holder, want := range map[string]string{
		"张三":       "张三之印",
		"李小明":      "李小明印",
		"欧阳春华":     "欧阳春华",
		"司马相如之":    "司马相如之印",
		"阿依古丽·买买提": "阿依古丽·买买提",
	} {
		if got := NameText(holder); got != want {
			t.Errorf("NameText(%q) = %q, want %q", holder, got, want)
		}
	}
}

// TestRenderName checks a personal name seal's picture: every visible pixel
// seal red, a solid red border on all four sides, a clear margin inside it,
// and ink in every cell of the two-column grid.
func TestRenderName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec NameSpec
		rows int
	}{
		{"two characters and 之印", NameSpec{Holder: "张三"}, 2},
		{"three characters and 印", NameSpec{Holder: "李小明"}, 2},
		{"four characters", NameSpec{Holder: "欧阳春华", SideMM: 16, DotsPerMM: 8}, 2},
		{"five characters, three rows", NameSpec{Holder: "爱新觉罗恒", SideMM: 24}, 3},
		{"minority name, four rows", NameSpec{Holder: "阿依古丽·买买提", SideMM: 30, DotsPerMM: 16}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := RenderName(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			side, dpm := tt.spec.SideMM, tt.spec.DotsPerMM
			if side == 0 {
				side = DefaultNameSideMM
			}
			p := decode(t, b, Spec{DiameterMM: side, DotsPerMM: dpm})
			k := side / DefaultNameSideMM
			for i := 0; i < len(p.img.Pix); i += 4 {
				px := p.img.Pix[i : i+4]
				if px[3] != 0 && (px[0] != Red.R || px[1] != Red.G || px[2] != Red.B) {
					t.Fatalf("pixel %d has colour %v, want seal red %v", i/4, px, Red)
				}
			}
			n := p.img.Rect.Dx()
			at := func(x, y float64) uint8 { // mm from the top-left corner
				return p.img.NRGBAAt(int(x*p.dotsPerMM), int(y*p.dotsPerMM)).A
			}
			for _, in := range []float64{0.25, 0.5, 0.75} {
				d := in * nameBorder * k
				for s := d; s < side-d; s += 0.25 {
					for _, a := range [][2]float64{{s, d}, {s, side - d}, {d, s}, {side - d, s}} {
						if v := at(a[0], a[1]); v < 250 {
							t.Fatalf("border at (%.2f, %.2f) mm: alpha %d, want opaque", a[0], a[1], v)
						}
					}
				}
			}
			// The margin inside the border is clear.
			m := (nameBorder + nameMargin/2) * k
			for s := m; s < side-m; s += 0.25 {
				for _, a := range [][2]float64{{s, m}, {s, side - m}, {m, s}, {side - m, s}} {
					if v := at(a[0], a[1]); v != 0 {
						t.Errorf("margin at (%.2f, %.2f) mm: alpha %d, want transparent", a[0], a[1], v)
					}
				}
			}
			if n != int(math.Round(side*p.dotsPerMM)) {
				t.Fatalf("picture is %d pixels wide", n)
			}
			cells := 0
			for col := range 2 {
				for row := range tt.rows {
					share := nameCell(p, side, tt.rows, col, row)
					if share > 0.06 && share < 0.75 {
						cells++
					} else if NameText(tt.spec.Holder) != "阿依古丽·买买提" || col != 1 || row != 0 {
						t.Errorf("cell column %d row %d is %.0f%% ink, want a character", col, row, 100*share)
					}
				}
			}
			if cells < 2*tt.rows-1 {
				t.Errorf("%d of %d cells inked", cells, 2*tt.rows)
			}
		})
	}
}

func TestRenderNameInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		spec    NameSpec
		field   string
		missing bool
	}{
		{"empty", NameSpec{}, "Holder", false},
		{"one character", NameSpec{Holder: "张"}, "Holder", false},
		{"too long", NameSpec{Holder: strings.Repeat("张", MaxHolderRunes+1)}, "Holder", false},
		{"space", NameSpec{Holder: "张 三"}, "Holder", false},
		{"ideographic space", NameSpec{Holder: "张\u3000三"}, "Holder", false},
		{"not UTF-8", NameSpec{Holder: "张\xff"}, "Holder", false},
		{"glyph missing", NameSpec{Holder: "张\U0001F600"}, "Holder", true},
		{"side too small", NameSpec{Holder: "张三", SideMM: 5}, "SideMM", false},
		{"NaN side", NameSpec{Holder: "张三", SideMM: math.NaN()}, "SideMM", false},
		{"resolution too fine", NameSpec{Holder: "张三", DotsPerMM: 100}, "DotsPerMM", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := RenderName(tt.spec)
			var se *SpecError
			if !errors.Is(err, ErrInvalidSpec) || !errors.As(err, &se) || se.Field != tt.field {
				t.Fatalf("RenderName error %v, want a *SpecError for %s", err, tt.field)
			}
			if got := errors.Is(err, fonts.ErrMissingGlyph); got != tt.missing {
				t.Errorf("errors.Is(err, fonts.ErrMissingGlyph) = %v, want %v", got, tt.missing)
			}
		})
	}
}

// TestGoldenName compares the default personal seal with testdata/name.png,
// pixel by pixel as TestGolden does.
func TestGoldenName(t *testing.T) {
	t.Parallel()
	spec := NameSpec{Holder: "张三"}
	b, err := RenderName(spec)
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, b, Spec{DiameterMM: DefaultNameSideMM}, filepath.Join("testdata", "name.png"))
}

// TestSerifCovers: the unit names and purposes sealpipe's demo and tests
// seal with, and the characters name seals add, are all in the embedded
// serif face itself, not drawn by the sans-serif fallback.
func TestSerifCovers(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		hall.UnitName, hall.Purpose,
		"某某县民政局", "某某县人民政府办公室", "业务专用章", "合同专用章", "户籍专用章", "财务专用章", "公章",
		"之印", "张三", "王芳", "李娜", "阿依古丽·买买提",
	} {
		for _, r := range s {
			if !fonts.Serif.Has(r) {
				t.Errorf("%q: %q (%U) is not in %s", s, r, r, fonts.Serif.Name())
			}
		}
	}
}
