package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestHandmadeReproducible: the hand-made files of the conformance set are
// what the generator makes now, byte for byte, so they can be regenerated
// and reviewed as code.
func TestHandmadeReproducible(t *testing.T) {
	dir := filepath.Join("..", "..", "pipeline", "pdfseal", "testdata", "conformance")
	n := 0
	for _, s := range specs() {
		if s.Producer != handmade {
			continue
		}
		n++
		t.Run(s.File, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, s.File))
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.build(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the generator makes %d bytes, the checked-in file has %d: regenerate with go run ./internal/pdfcorpus -only '^(handmade|hostile)-'", len(got), len(want))
			}
		})
	}
	if n < 10 {
		t.Errorf("%d hand-made files; expected the valid and hostile ones", n)
	}
}
