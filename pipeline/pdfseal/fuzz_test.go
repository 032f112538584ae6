package pdfseal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// fuzzSeeds are the conformance PDFs, as found, and sealed.
func fuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	var seeds [][]byte
	if dir, ok := testenv.ConformanceDir(); ok {
		names, _ := filepath.Glob(filepath.Join(dir, "pdf", "*.pdf"))
		for _, n := range names {
			if b, err := os.ReadFile(n); err == nil {
				seeds = append(seeds, b)
			}
		}
	}
	seeds = append(seeds, textPDF(2, 300))
	sm2K, _ := keys(f)
	opts := options(f, sm2K, 1)
	opts.Image = sealPNG(f, 8, 8) // small seeds keep the fuzzer's minimisation short
	for _, in := range seeds[:len(seeds):len(seeds)] {
		var out bytes.Buffer
		if err := Seal(context.Background(), &out, in, opts); err == nil {
			seeds = append(seeds, out.Bytes())
		}
	}
	return seeds
}

// documentErrors are the sentinels an unreadable document may produce.
var documentErrors = []error{ErrMalformed, ErrEncrypted, ErrTooLarge}

func wrapsOneOf(err error, sentinels ...error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := Verify(ctx, in)
		if err != nil {
			if !wrapsOneOf(err, documentErrors...) {
				t.Fatalf("Verify error wraps no sentinel: %v", err)
			}
			return
		}
		for _, r := range res {
			if r.Status == Valid && (r.Err != nil || r.Signer == nil || r.SignedSize > int64(len(in)) || r.ByteRange[0] != 0) {
				t.Fatalf("inconsistent Valid result: %+v", r)
			}
			if r.Status != Valid && r.Err == nil {
				t.Fatalf("%v result without a reason: %+v", r.Status, r)
			}
		}
	})
}

func FuzzSeal(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint8(1))
	}
	sm2K, _ := keys(f)
	base := options(f, sm2K, 1)
	base.Image = sealPNG(f, 8, 8)
	base.Placement = Placement{X: 1, Y: 1, Width: 10, Height: 10}
	base.MaxInputSize = 1 << 20
	f.Fuzz(func(t *testing.T, in []byte, page uint8) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		opts := base
		opts.Placement.Page = int(page)
		var out bytes.Buffer
		if err := Seal(ctx, &out, in, opts); err != nil {
			if !wrapsOneOf(err, append(documentErrors, ErrNoPage, ErrPlacement)...) {
				t.Fatalf("Seal error wraps no input sentinel: %v", err)
			}
			if out.Len() != 0 {
				t.Fatal("Seal failed after writing")
			}
			return
		}
		if !bytes.HasPrefix(out.Bytes(), in) {
			t.Fatal("the input is not a prefix of the output")
		}
		res, err := Verify(ctx, out.Bytes())
		if err != nil {
			t.Fatalf("Verify of Seal's output: %v", err)
		}
		for _, r := range res {
			if r.CoversWholeFile {
				if r.Status != Valid {
					t.Fatalf("the new signature is %v: %v", r.Status, r.Err)
				}
				return
			}
		}
		t.Fatalf("Verify does not find the new signature among %d", len(res))
	})
}
