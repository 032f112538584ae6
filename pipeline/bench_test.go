package pipeline_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/demo"
)

// BenchmarkSealDocument measures one document through the whole per-document
// path — approval and seal checks, digest, sealing, verification of the
// output, and the writes of the sealed PDF, report and usage record — next to
// the floor of one SM3 pass over the document plus one SM2 signature, in the
// same run. Report the ratio of the two, not the absolute times.
func BenchmarkSealDocument(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t, pipeline.Config{})
	batch := e.sampleBatch("bench", 1, false)
	doc := batch.Files[demo.DocumentName(1)]

	b.Run("floor-sm3+sm2", func(b *testing.B) {
		key, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			sum := sm3.Sum(doc)
			if _, err := key.Sign(rand.Reader, sum[:], nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pipeline", func(b *testing.B) {
		// One batch of b.N documents, made and uploaded before timing.
		ctx := context.Background()
		b.StopTimer()
		bb := e.sampleBatch(fmt.Sprintf("bench-%d", b.N), b.N, false)
		if err := bb.Upload(ctx, e.store); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(doc)))
		b.ResetTimer()
		b.StartTimer()
		for i := range b.N {
			if _, err := e.p.SealDocument(ctx, bb.Ref, demo.DocumentName(i+1)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
