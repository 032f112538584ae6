package pdfseal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

func prefixOf(t *testing.T, b []byte) *Prefix {
	t.Helper()
	h := sm3.New()
	h.Write(b)
	p, err := NewPrefix(h, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrefix runs every signature format with the SM3 state of the input
// handed over: SM3 digests continue it (a prefix of other bytes then
// gives a digest mismatch, which shows the input was not hashed again),
// SHA-2 digests ignore it; either way the output verifies without it.
func TestPrefix(t *testing.T) {
	p := newFormatPKI(t)
	tsaURL := tsaServer(t, p)
	in := conformance(t, "pdf/hello.pdf")
	good := prefixOf(t, in)
	other := slices.Clone(in)
	other[len(other)/2] ^= 1
	wrong := prefixOf(t, other)
	for _, tc := range formatCases(p) {
		t.Run(tc.name, func(t *testing.T) {
			opts := formatOptions(t, p, tc, tsaURL)
			verify := func(doc []byte, pfx *Prefix) Result {
				t.Helper()
				var sum []byte
				res, err := VerifyWith(context.Background(), doc, VerifyOptions{Prefix: pfx, SM3: &sum})
				if err != nil || len(res) != 1 {
					t.Fatalf("VerifyWith: %v, %d results", err, len(res))
				}
				// The file's SM3, computed along with an SM3 digest, is
				// the file's whenever the bytes hashed are (a valid
				// signature).
				want := sm3.Sum(doc)
				switch sm3Digest := res[0].DigestAlgorithm == "SM3"; {
				case sm3Digest && res[0].Status == Valid && !bytes.Equal(sum, want[:]):
					t.Errorf("VerifyOptions.SM3 = %x, the file's %x", sum, want)
				case !sm3Digest && sum != nil:
					t.Errorf("VerifyOptions.SM3 set to %x with a %s digest", sum, res[0].DigestAlgorithm)
				}
				return res[0]
			}
			opts.Prefix = good
			sealed := seal(t, in, opts)
			for name, pfx := range map[string]*Prefix{"without": nil, "with": good} {
				if r := verify(sealed, pfx); r.Status != Valid {
					t.Errorf("sealed with the prefix, verified %s it: %s %v", name, r.Status, r.Err)
				}
			}
			if got, want := good.Sum(sealed[len(in):]), sm3.Sum(sealed); !bytes.Equal(got, want[:]) {
				t.Errorf("Prefix.Sum over the update = %x, SM3 of the output %x", got, want)
			}

			opts.Prefix = wrong
			forged := seal(t, in, opts)
			r := verify(forged, nil)
			var mm *DigestMismatchError
			sm3Digest := r.DigestAlgorithm == "SM3"
			switch {
			case sm3Digest && !errors.As(r.Err, &mm):
				t.Errorf("sealed with another input's prefix: %s %v, want a digest mismatch", r.Status, r.Err)
			case !sm3Digest && r.Status != Valid:
				t.Errorf("%s digest sealed with a prefix it must ignore: %s %v", r.DigestAlgorithm, r.Status, r.Err)
			}
			r = verify(sealed, wrong)
			switch {
			case sm3Digest && !errors.As(r.Err, &mm):
				t.Errorf("verified with another input's prefix: %s %v, want a digest mismatch", r.Status, r.Err)
			case !sm3Digest && r.Status != Valid:
				t.Errorf("%s digest verified with a prefix it must ignore: %s %v", r.DigestAlgorithm, r.Status, r.Err)
			}
		})
	}
}

// TestNewPrefix: only an SM3 state makes a prefix.
func TestNewPrefix(t *testing.T) {
	if _, err := NewPrefix(sha256.New(), 0); err == nil {
		t.Error("NewPrefix accepted a SHA-256 state")
	}
	if p, err := NewPrefix(sm3.New(), 0); err != nil || !bytes.Equal(p.Sum([]byte("abc")), sm3Sum([]byte("abc"))) {
		t.Errorf("NewPrefix(empty SM3): %v", err)
	}
}

func sm3Sum(b []byte) []byte { s := sm3.Sum(b); return s[:] }
