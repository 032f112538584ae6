package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"

	"github.com/sealpipe/sealpipe/internal/fakehsm"
	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// The benchmarks compare signatures per second through the pool with raw
// crypto11 on the same SoftHSM2 token and ECDSA P-256 key, in the same
// run (issue 3, item 6; target: the pool at ≥ 90 % of raw crypto11):
//
//	go test -run '^$' -bench 'PoolSign|RawCrypto11Sign' -count 6 ./pipeline/keys/pkcs11/

const benchLabel = "bench"

var bench struct {
	once sync.Once
	tmp  string // to remove at exit
	ok   bool
	err  error
}

// benchToken makes, once per process, a SoftHSM2 token holding an ECDSA
// P-256 key, and points SOFTHSM2_CONF at it for the rest of the process.
func benchToken(b *testing.B) {
	b.Helper()
	bench.once.Do(func() {
		if bench.tmp, bench.err = os.MkdirTemp("", "sealpipe-pkcs11-bench"); bench.err != nil {
			return
		}
		h := setupSoftHSM(b, bench.tmp) // skips (or fails under CI) without SoftHSM2
		os.Setenv("SOFTHSM2_CONF", filepath.Join(h.dir, "softhsm2.conf"))
		h.initToken(benchLabel)
		h.generate(benchLabel, "EC:prime256v1", "k", 1)
		bench.ok = true
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	if !bench.ok {
		b.Skip("no SoftHSM2 token")
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.tmp != "" {
		os.RemoveAll(bench.tmp)
	}
	os.Exit(code)
}

func BenchmarkPoolSign(b *testing.B) {
	benchToken(b)
	be, err := New(Config{HealthInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	s, err := be.OpenKey(context.Background(), keys.Options{},
		"pkcs11:token="+benchLabel+";object=k?module-path="+softhsmLib+"&pin-value="+softhsmPIN)
	if err != nil {
		b.Fatal(err)
	}
	benchSign(b, s)
}

func BenchmarkRawCrypto11Sign(b *testing.B) {
	benchToken(b)
	c, err := crypto11.Configure(&crypto11.Config{Path: softhsmLib, TokenLabel: benchLabel, Pin: softhsmPIN})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, err := c.FindKeyPair(nil, []byte("k"))
	if err != nil {
		b.Fatal(err)
	}
	benchSign(b, s)
}

func benchSign(b *testing.B, s crypto.Signer) {
	digest := sha256Sum([]byte("benchmark"))
	sig, err := s.Sign(nil, digest, crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest, sig) {
		b.Fatalf("signature does not verify (err %v)", err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Sign(nil, digest, crypto.SHA256); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
}

// nullSigner signs instantly: with it, BenchmarkPoolOverhead measures
// what the pool adds to each signature.
type nullSigner struct{ pub crypto.PublicKey }

func (n nullSigner) Public() crypto.PublicKey { return n.pub }
func (nullSigner) Delete() error              { return nil }
func (nullSigner) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	return digest, nil
}

func BenchmarkPoolOverhead(b *testing.B) {
	h := fakehsm.New(fakehsm.Config{Mechanism: mechSM2})
	h.AddToken(1, fakehsm.Token{Label: "overhead", Serial: "fake0001", PIN: fakePIN})
	h.AddObject(1, true,
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC),
		p11.NewAttribute(p11.CKA_LABEL, "k"),
		p11.NewAttribute(p11.CKA_ID, []byte{1}),
		p11.NewAttribute(p11.CKA_EC_PARAMS, []byte("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07")),
	)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	h.SetKeyPair(nullSigner{&key.PublicKey})
	path := fakehsm.ModulePath(b, "overhead")
	be, err := New(Config{HealthInterval: -1, Dialer: fakeDialer{path: h}})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	s, err := be.OpenKey(context.Background(), keys.Options{}, "pkcs11:token=overhead;object=k?module-path="+path+"&pin-value="+fakePIN)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256Sum(nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Sign(nil, digest, crypto.SHA256); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
