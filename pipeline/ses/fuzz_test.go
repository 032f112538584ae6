package ses

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// seeds returns the conformance vectors (when the corpus is present) and
// structures made here: seals, signatures and a GM/T 0031 seal.
func seeds(f *testing.F) [][]byte {
	var out [][]byte
	if dir, ok := testenv.ConformanceDir(); ok {
		for _, v := range vectors {
			pkg, member, inOFD := strings.Cut(v.file, ":")
			if !inOFD {
				b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(pkg)))
				if err != nil {
					f.Fatal(err)
				}
				out = append(out, b)
				continue
			}
			out = append(out, readZip(f, filepath.Join(dir, filepath.FromSlash(pkg)))[member])
		}
	}
	maker := testIdentity(f, "sm2", "maker")
	signer := testIdentity(f, "sm2", "signer")
	esl := makeTestSeal(f, signer)
	sig, err := Sign(rand.Reader, signRequest(esl), signer.key, signer.cert)
	if err != nil {
		f.Fatal(err)
	}
	return append(out, esl, sig, legacySeal(f, maker, signer))
}

// sentinel reports whether err wraps one of the package's sentinels.
func sentinel(err error) bool {
	for _, s := range []error{ErrMalformed, ErrSignature, ErrUnsupportedAlgorithm} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// The targets verify signatures (~100 µs each) and the seeds are 20–30 KiB,
// so the fuzzer's default minimisation of a new input can stall a run for a
// minute: run them with a bounded minimisation, e.g.
//
//	go test -run '^$' -fuzz '^FuzzParseSeal$' -fuzztime 20s -fuzzminimizetime 500x

func FuzzParseSeal(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSeal(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(s.Raw, data) {
			t.Fatal("Raw is not the input")
		}
		again, err := ParseSeal(s.Raw)
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("re-parse of Raw differs (%v)", err)
		}
		if _, err := s.VerifyMaker(); err != nil && !sentinel(err) {
			t.Fatalf("VerifyMaker error %v wraps no sentinel", err)
		}
		for _, c := range s.Certs {
			if !s.HasSigner(c) && len(c) > 0 {
				t.Fatal("HasSigner misses a listed certificate")
			}
		}
		if s.HasSigner(nil) {
			t.Fatal("HasSigner(nil)")
		}
		s.ValidAt(s.CreateDate)
	})
}

func FuzzParseSignature(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSignature(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(s.Raw, data) || !bytes.Contains(s.SignedData(), s.Seal.Raw) {
			t.Fatal("Raw is not the input, or TBS_Sign does not hold the seal")
		}
		again, err := ParseSignature(s.Raw)
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("re-parse of Raw differs (%v)", err)
		}
		if _, err := s.Verify(); err != nil && !sentinel(err) {
			t.Fatalf("Verify error %v wraps no sentinel", err)
		}
		if _, err := s.Seal.VerifyMaker(); err != nil && !sentinel(err) {
			t.Fatalf("VerifyMaker error %v wraps no sentinel", err)
		}
		s.Seal.HasSigner(s.Cert)
	})
}

func FuzzParseCertificate(f *testing.F) {
	for _, s := range seeds(f) {
		if seal, err := ParseSeal(s); err == nil {
			f.Add(seal.MakerCert)
		} else if sig, err := ParseSignature(s); err == nil {
			f.Add(sig.Cert)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCertificate(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(c.Raw, data) {
			t.Fatal("Raw is not the input")
		}
	})
}
