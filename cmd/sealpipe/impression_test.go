package main

import (
	"os"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sealpipe/sealpipe/templates/sealpic/sealpictest"
)

func init() {
	// impression FILE MM [blue] writes a scanned impression of a unit
	// seal MM millimetres across, at 12 dots a millimetre recorded in the
	// PNG (sealpictest.Impression), its red turned blue with blue.
	scriptCmds["impression"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 || len(args) > 3 || len(args) == 3 && args[2] != "blue" {
			ts.Fatalf("usage: impression FILE MM [blue]")
		}
		mm, err := strconv.ParseFloat(args[1], 64)
		ts.Check(err)
		b, err := sealpictest.Impression(mm, len(args) == 3)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
	}
}
