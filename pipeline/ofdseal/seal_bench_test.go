package ofdseal

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// BenchmarkSeal seals a one-page OFD (the demo certificate, its font
// embedded) and compares it, in the same run, with the floor of sealing:
// one SM3 pass over the package's bytes plus one SM2 signature. Each
// sub-benchmark after the floor reports its cost in multiples of it
// ("x-floor").
func BenchmarkSeal(b *testing.B) {
	sm2K, ecK := testKeys(b)
	doc := certificateOFD(b)
	measure := floorBench(b, len(doc))
	key := sm2K.signer.(*sm2.PrivateKey)
	measure("floor-SM3+SM2", func() {
		sum := sm3.Sum(doc)
		if _, err := key.Sign(rand.Reader, sum[:], sm2.DefaultSM2SignerOpts); err != nil {
			b.Fatal(err)
		}
	})
	var out bytes.Buffer
	for _, k := range []struct {
		name string
		key  sealKey
	}{{"SM2", sm2K}, {"ECDSA-P256", ecK}} {
		opts := sealOptions(k.key, Placement{Page: 1, X: 30, Y: 30})
		measure("ofdseal.Seal/"+k.name, func() {
			out.Reset()
			if err := Seal(context.Background(), &out, doc, opts); err != nil {
				b.Fatal(err)
			}
		})
	}
	riding := sealOptions(sm2K, Placement{Riding: true, Y: 30})
	measure("ofdseal.Seal/SM2-riding", func() {
		out.Reset()
		if err := Seal(context.Background(), &out, doc, riding); err != nil {
			b.Fatal(err)
		}
	})
}

// floorBench returns a function that runs a sub-benchmark over size bytes:
// the first one run is the floor, each later one reports its cost in
// multiples of it ("x-floor"), measured in the same run.
func floorBench(b *testing.B, size int) func(name string, f func()) {
	var floor time.Duration
	return func(name string, f func()) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				f()
			}
			perOp := b.Elapsed() / time.Duration(max(b.N, 1))
			if floor == 0 {
				floor = perOp
			} else {
				b.ReportMetric(float64(perOp)/float64(floor), "x-floor")
			}
		})
	}
}
