package pdfseal

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// BenchmarkSeal seals a ~100 KB document and compares it, in the same run,
// with the floor of sealing: one SM3 pass over the document plus one
// SM2 signature. Each sub-benchmark after the floor reports its cost in
// multiples of it ("x-floor").
func BenchmarkSeal(b *testing.B) {
	sm2K, ecK := keys(b)
	doc := textPDF(20, 5000)
	var floor time.Duration
	measure := func(name string, f func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			f(b)
			perOp := b.Elapsed() / time.Duration(max(b.N, 1))
			if floor == 0 {
				floor = perOp
			} else {
				b.ReportMetric(float64(perOp)/float64(floor), "x-floor")
			}
		})
	}
	key := sm2K.signer.(*sm2.PrivateKey)
	measure("floor-SM3+SM2", func(b *testing.B) {
		for b.Loop() {
			sum := sm3.Sum(doc)
			if _, err := key.Sign(rand.Reader, sum[:], sm2.DefaultSM2SignerOpts); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, k := range []struct {
		name string
		key  testKey
	}{{"SM2", sm2K}, {"ECDSA-P256", ecK}} {
		opts := options(b, k.key, 20)
		measure("pdfseal/"+k.name, func(b *testing.B) {
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				if err := Seal(context.Background(), &out, doc, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	sealed := seal(b, doc, options(b, sm2K, 20))
	measure("verify/SM2", func(b *testing.B) {
		for b.Loop() {
			if res, err := Verify(context.Background(), sealed); err != nil || len(res) != 1 || res[0].Status != Valid {
				b.Fatal(err, res)
			}
		}
	})
	// Sealed twice: the first seal's revision is read again and compared
	// with the second's.
	twice := seal(b, sealed, options(b, ecK, 19))
	measure("verify/sealed-twice", func(b *testing.B) {
		for b.Loop() {
			if res, err := Verify(context.Background(), twice); err != nil || len(res) != 2 || res[0].Status != Valid || res[0].ChangesErr != nil {
				b.Fatal(err, res)
			}
		}
	})
}
