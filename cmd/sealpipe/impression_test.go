package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sealpipe/sealpipe/templates/sealpic"
)

func init() {
	// impression FILE MM [blue] writes a scanned impression of a unit
	// seal MM millimetres across, at 12 dots a millimetre recorded in the
	// PNG (sealpic.Render), its red turned blue with blue.
	scriptCmds["impression"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 || len(args) > 3 || len(args) == 3 && args[2] != "blue" {
			ts.Fatalf("usage: impression FILE MM [blue]")
		}
		mm, err := strconv.ParseFloat(args[1], 64)
		ts.Check(err)
		b, err := sealpic.Render(sealpic.Spec{UnitName: "某某县民政局", Purpose: "业务专用章", Code: "33010200000301", DiameterMM: mm})
		ts.Check(err)
		if len(args) == 3 {
			img, err := png.Decode(bytes.NewReader(b))
			ts.Check(err)
			out := image.NewNRGBA(img.Bounds())
			for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
				for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
					c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					c.R, c.B = c.B, c.R
					out.SetNRGBA(x, y, c)
				}
			}
			var buf bytes.Buffer
			ts.Check(png.Encode(&buf, out))
			b = buf.Bytes()
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
	}
}
