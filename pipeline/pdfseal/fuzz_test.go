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
	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
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

// laterRevisionSeeds are sealed documents followed by later revisions,
// for the revision comparison: a second seal, a black rectangle, a filled
// in form field.
func laterRevisionSeeds(f *testing.F) [][]byte {
	f.Helper()
	sm2K, ecK := keys(f)
	opts := options(f, sm2K, 1)
	opts.Image = sealPNG(f, 8, 8)
	second := options(f, ecK, 1)
	second.Image = opts.Image
	base := seal(f, formPDF(), opts)
	return [][]byte{seal(f, base, second), pdfsealtest.Blackout(f, base, 1), seal(f, pdfsealtest.Blackout(f, base, 1), second), fillIn(f, base)}
}

// checkResults fails t on a Result that contradicts itself.
func checkResults(t *testing.T, in []byte, res []Result) {
	t.Helper()
	for _, r := range res {
		if r.Status == Valid && (r.Err != nil || r.Signer == nil || r.SignedSize > int64(len(in)) || r.ByteRange[0] != 0) {
			t.Fatalf("inconsistent Valid result: %+v", r)
		}
		if r.Status != Valid && r.Err == nil {
			t.Fatalf("%v result without a reason: %+v", r.Status, r)
		}
		var me *ModificationError
		switch err := r.ChangesErr; {
		case r.CoversWholeFile && (err != nil || r.Changes != NoChange):
			t.Fatalf("changes after a signature covering the whole file: %v, %v", r.Changes, err)
		case err == nil && r.Changes > r.Permits:
			t.Fatalf("%v changes pass a signature permitting %v", r.Changes, r.Permits)
		case errors.As(err, &me) && (me.Level <= me.Permits || me.Permits != r.Permits || r.Changes < me.Level):
			t.Fatalf("inconsistent %#v for changes %v permitting %v", me, r.Changes, r.Permits)
		case err != nil && me == nil && !errors.Is(err, ErrUnsupported):
			t.Fatalf("ChangesErr wraps no sentinel: %v", err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	for _, s := range append(fuzzSeeds(f), laterRevisionSeeds(f)...) {
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
		checkResults(t, in, res)
	})
}

// FuzzChanges appends arbitrary bytes to a sealed document: whatever they
// are, verification ends, and the judgement of the seal is consistent.
// The seeds are real later revisions, so the fuzzer starts from the
// revision comparison's paths.
func FuzzChanges(f *testing.F) {
	sm2K, _ := keys(f)
	opts := options(f, sm2K, 1)
	opts.Image = sealPNG(f, 8, 8)
	base := seal(f, formPDF(), opts)
	for _, s := range laterRevisionSeeds(f) {
		if bytes.HasPrefix(s, base) {
			f.Add(s[len(base):])
		}
	}
	f.Add([]byte("junk"))
	f.Fuzz(func(t *testing.T, tail []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		in := append(bytes.Clone(base), tail...)
		res, err := Verify(ctx, in)
		if err != nil {
			if !wrapsOneOf(err, documentErrors...) {
				t.Fatalf("Verify error wraps no sentinel: %v", err)
			}
			return
		}
		checkResults(t, in, res)
	})
}

func FuzzSeal(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint8(1))
		f.Add(s, uint8(0x80)) // the keyword search, on every page
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
		if page >= 0x80 {
			// The keyword search over whatever the pages show, on page
			// page-0x80, or on every page for 0x80.
			opts.Placement = Placement{Page: int(page - 0x80), Keyword: "Page", Width: 10, Height: 10}
		}
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
