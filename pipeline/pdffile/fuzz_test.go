package pdffile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// fuzzSeeds are files of each form this package reads: the hand-built
// ones of TestOpen, which the fuzzer mutates.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	b := simpleDoc(newBuilder())
	b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
	seeds = append(seeds, b.bytes())

	b = simpleDoc(newBuilder())
	b.obj(9, "(old)")
	b.table(b.keys(), nil, "/Size 10 /Root 1 0 R")
	b.obj(9, "(new)")
	b.xrefStream(10, []int{9}, []int{8}, "/Root 1 0 R", 2, true)
	seeds = append(seeds, b.bytes())

	b = newBuilder()
	b.stream(7, "/Filter /FlateDecode", deflate([]byte("BT /F1 12 Tf 72 720 Td (Hello) Tj ET")))
	b.objStm(10, map[int]string{
		1: "<< /Type /Catalog /Pages 2 0 R >>",
		2: "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 612 792] >>",
		3: "<< /Type /Page /Parent 2 0 R /Contents 7 0 R >>",
	})
	b.xrefStream(11, slices.Concat(b.keys(), b.compressed()), nil, "/Root 1 0 R", 2, true)
	seeds = append(seeds, b.bytes())

	seeds = append(seeds, hybrid(true), linearized())
	seeds = append(seeds, simpleDoc(newBuilder()).bytes()) // to reconstruct
	// The small files of the conformance set, where it is.
	files, _ := filepath.Glob(filepath.Join(conformanceDir, "*.pdf"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 32<<10 {
			seeds = append(seeds, b)
		}
	}
	return seeds
}

// FuzzOpen opens arbitrary bytes and reads what sealing reads — the
// trailer, the catalog, every page (up to 20) and its content — and some
// objects: nothing may panic, and each input is done within seconds.
func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	opts := Options{MaxObjectSize: 1 << 20, MaxDecodedSize: 4 << 20, MaxObjects: 1 << 16, MaxPageNodes: 10_000, MaxSections: 64}
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		file, err := OpenContext(ctx, bytes.NewReader(b), int64(len(b)), opts)
		if err != nil {
			return
		}
		_ = file.Trailer()
		_ = file.Revisions()
		_ = file.Encrypted()
		if cat, err := file.Catalog(); err == nil {
			_, _ = file.Resolve(cat["AcroForm"])
		}
		n, _ := file.NumPages()
		for i := 1; i <= min(n, 20); i++ {
			d, _, _, err := file.Page(i)
			if err != nil {
				continue
			}
			contents, _ := file.Resolve(d["Contents"])
			if a, ok := contents.(types.Array); ok && len(a) > 0 {
				contents = a[0]
			}
			_, _, _ = file.Stream(contents)
		}
		for nr := range min(file.XRefSize(), 50) {
			_, _ = file.Object(nr)
		}
		_ = file.Repairs()
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("%d bytes took %v", len(b), d)
		}
	})
}
