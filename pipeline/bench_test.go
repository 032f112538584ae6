package pipeline_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/storage/fs"
)

// BenchmarkSealDocument measures one document through the whole per-document
// path — approval and seal checks, digest, sealing, verification of the
// output, and the writes of the sealed PDF, report and usage record — next to
// the floor of one SM3 pass over the document plus one SM2 signature, in the
// same run. Report the ratio of the two, not the absolute times. The
// "pipeline-nosync" case runs over a local store that skips fsync, which
// separates the cost of computing from the cost of durable writes.
func BenchmarkSealDocument(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t, pipeline.Config{})
	doc := e.sampleBatch("bench-doc", 1, false).Files[demo.DocumentName(1)]

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
	runs := 0
	for _, c := range []struct {
		name string
		env  *env
	}{
		{"pipeline", e},
		{"pipeline-nosync", newEnvWith(t, pipeline.Config{}, fs.Options{NoSync: true})},
	} {
		b.Run(c.name, func(b *testing.B) {
			// One batch of b.N documents, made and uploaded before timing.
			ctx := context.Background()
			runs++
			bb := c.env.sampleBatch(fmt.Sprintf("bench-%d-%d", runs, b.N), b.N, false)
			if err := bb.Upload(ctx, c.env.store); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(doc)))
			b.ResetTimer()
			for i := range b.N {
				if _, err := c.env.p.SealDocument(ctx, bb.Ref, demo.DocumentName(i+1)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
