package demo_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/templates/fonts"
	"github.com/sealpipe/sealpipe/templates/sealpic"
)

// setupDemo makes the demo's trust chain and registers its seals.
func setupDemo(t *testing.T) (context.Context, *registry.Registry, demo.BatchOptions, func(context.Context) (pdfseal.Options, error)) {
	t.Helper()
	ctx := context.Background()
	st, err := fs.Open(t.TempDir(), "demo-render")
	if err != nil {
		t.Fatal(err)
	}
	ca, reg, err := demo.Setup(ctx, t.TempDir(), []byte("pass"), st)
	if err != nil {
		t.Fatal(err)
	}
	approver := ca.Approvers[demo.Approver]
	akey, err := ca.Signer(ctx, approver)
	if err != nil {
		t.Fatal(err)
	}
	opts := demo.BatchOptions{Ref: pipeline.BatchRef{Department: demo.Department, Batch: "render"}, ApproverKey: akey, ApproverCert: approver.Cert}
	signer := ca.Signers[demo.Units[0].Slug]
	sealOpts := func(ctx context.Context) (pdfseal.Options, error) {
		key, err := ca.Signer(ctx, signer)
		return pdfseal.Options{Signer: key, Chain: []*smx509.Certificate{signer.Cert}}, err
	}
	return ctx, reg, opts, sealOpts
}

// TestSealedCertificateCoversDate renders a sealed demo certificate with
// pdftoppm at 100 dpi and finds the seal's red pixels over the date line
// (骑年盖月), placed where the demo's approval puts the seal.
func TestSealedCertificateCoversDate(t *testing.T) {
	pdftoppm := testenv.Tool(t, "pdftoppm")
	ctx, reg, opts, sealOpts := setupDemo(t)
	tests := []struct {
		name string
		date time.Time
	}{
		{"short date", time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)},
		{"long date", time.Date(2025, 12, 31, 10, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := opts
			opts.Docs, opts.Date = 1, tt.date
			b, err := demo.MakeBatch(opts)
			if err != nil {
				t.Fatal(err)
			}
			m, err := approval.Parse(b.Files[approval.ManifestName])
			if err != nil {
				t.Fatal(err)
			}
			d := m.Documents[0]
			e, err := reg.Get(ctx, d.Seal)
			if err != nil {
				t.Fatal(err)
			}
			so, err := sealOpts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pic := e.Seal.Picture
			so.Image = pic.Data
			so.Placement = pdfseal.Placement{Page: d.Placement.Page, X: d.Placement.X, Y: d.Placement.Y, Width: float64(pic.WidthMM), Height: float64(pic.HeightMM)}
			var sealed bytes.Buffer
			if err := pdfseal.Seal(ctx, &sealed, b.Files[d.Name], so); err != nil {
				t.Fatal(err)
			}

			dir := t.TempDir()
			in := filepath.Join(dir, "sealed.pdf")
			if err := os.WriteFile(in, sealed.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			const dpi = 100
			if out, err := exec.Command(pdftoppm, "-r", "100", "-png", "-singlefile", in, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
				t.Fatalf("pdftoppm: %v\n%s", err, out)
			}
			f, err := os.Open(filepath.Join(dir, "page.png"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}

			// The date line's em box, from the certificate's layout.
			c := certpdf.Sample(1, tt.date)
			c.Department = demo.Units[0].Name
			page, err := certpdf.Layout(c)
			if err != nil {
				t.Fatal(err)
			}
			var date *certpdf.Run
			for i, r := range page.Runs {
				if s := r.Text(); strings.HasSuffix(s, "日") && strings.Contains(s, "年") && strings.Contains(s, "月") {
					date = &page.Runs[i]
				}
			}
			if date == nil {
				t.Fatal("no date line in the layout")
			}
			w := (fonts.Advance(date.Glyphs) + date.Tracking*float64(len(date.Glyphs))) * date.Size
			px := func(mm float64) int { return int(mm * dpi / 25.4) }
			box := image.Rect(px(date.X), px(page.Height-date.Y-date.Size), px(date.X+w), px(page.Height-date.Y))

			red := func(x, y int) bool {
				r, g, b, _ := img.At(x, y).RGBA()
				return r>>8 > 180 && g>>8 < 110 && b>>8 < 110
			}
			count := func(rect image.Rectangle) (n int) {
				for y := rect.Min.Y; y < rect.Max.Y; y++ {
					for x := rect.Min.X; x < rect.Max.X; x++ {
						if red(x, y) {
							n++
						}
					}
				}
				return n
			}
			if n := count(box); n < box.Dx()*box.Dy()/20 {
				t.Errorf("date line %q at %v px holds %d red pixels of %d; want the seal over it", date.Text(), box, n, box.Dx()*box.Dy())
			}
			// The red is the seal's: none far from the placement.
			seal := image.Rect(px(d.Placement.X), px(page.Height-d.Placement.Y-float64(pic.HeightMM)), px(d.Placement.X+float64(pic.WidthMM)), px(page.Height-d.Placement.Y)).Inset(-2)
			if all, in := count(img.Bounds()), count(seal); all != in {
				t.Errorf("%d red pixels outside the seal's place %v", all-in, seal)
			}
		})
	}
}

// TestDemoSealsInSerif: every character of the demo seals' unit names and
// purposes is in the embedded serif face, so the seals are engraved in it
// throughout.
func TestDemoSealsInSerif(t *testing.T) {
	ctx, reg, _, _ := setupDemo(t)
	for _, id := range []string{demo.SealCivil, demo.SealCounty} {
		e, err := reg.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{e.Record.Unit, e.Record.Purpose} {
			for _, r := range s {
				if !fonts.Serif.Has(r) {
					t.Errorf("seal %s: %q (%U) of %q is not in %s", id, r, r, s, fonts.Serif.Name())
				}
			}
		}
		if w, h := e.Seal.Picture.WidthMM, e.Seal.Picture.HeightMM; w != sealpic.DefaultDiameterMM || h != sealpic.DefaultDiameterMM {
			t.Errorf("seal %s picture %d×%d mm", id, w, h)
		}
	}
	if _, _, _, w, h := certpdf.SealArea(); w != sealpic.DefaultDiameterMM || h != sealpic.DefaultDiameterMM {
		t.Errorf("seal area %v×%v mm, want the %d mm seal's square", w, h, sealpic.DefaultDiameterMM)
	}
}
