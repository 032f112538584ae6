package engine

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's settings table")

// readmePath is the README whose configuration section lists the settings.
const readmePath = "../../README.md"

// The README's settings table lies between these markers.
const (
	tableBegin = "<!-- settings: generated from internal/engine.Settings; go test ./internal/engine -run README -update rewrites it -->\n"
	tableEnd   = "<!-- /settings -->\n"
)

// TestREADMESettings keeps the README's table of settings the one Markdown
// derives from Settings: one list, in the code.
func TestREADMESettings(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, tableBegin), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the settings markers %q and %q", readmePath, tableBegin, tableEnd)
	}
	got, want := readme[i+len(tableBegin):j], Markdown()
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("the README's settings table is stale; run go test ./internal/engine -run README -update\nwant:\n%s", want)
	}
	if err := os.WriteFile(readmePath, []byte(readme[:i+len(tableBegin)]+want+readme[j:]), 0o644); err != nil {
		t.Fatal(err)
	}
}
