package pipeline_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/memstore"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/verify"
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
	e := newEnv(b, pipeline.Config{})
	doc := e.sampleBatch("bench-doc", 1, false).Files[demo.DocumentName(1)]

	benchFloor(b, doc)
	runs := 0
	for _, c := range []struct {
		name string
		env  *env
	}{
		{"pipeline", e},
		{"pipeline-nosync", newEnvWith(b, pipeline.Config{}, fs.Options{NoSync: true})},
	} {
		b.Run(c.name, func(b *testing.B) {
			runs++
			bb := c.env.benchBatch(b, fmt.Sprintf("bench-%d-%d", runs, b.N), len(doc))
			for i := range b.N {
				if _, err := c.env.p.SealDocument(context.Background(), bb.Ref, demo.DocumentName(i+1)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSealStage measures the seal stage: SealDocument on the demo
// certificates over an in-memory store (internal/memstore), that is
// everything the pipeline does per document but the object store's own
// work, next to the floor of one SM3 pass over the certificate and one
// SM2 signature, measured in the same run. "stage" seals one document at
// a time and reports its cost in multiples of the floor (x-floor);
// "parallel" seals on every CPU at once and reports docs/s, and x-floor of
// the CPU time per document it implies.
func BenchmarkSealStage(b *testing.B) {
	e := newEnvOn(b, pipeline.Config{}, memstore.New("sealpipe"))
	doc := e.sampleBatch("bench-doc", 1, false).Files[demo.DocumentName(1)]
	floor := benchFloor(b, doc)
	runs := 0
	batch := func(b *testing.B) *demo.Batch {
		runs++
		return e.benchBatch(b, fmt.Sprintf("stage-%d-%d", runs, b.N), len(doc))
	}
	perFloor := func(b *testing.B, cpuPerDoc time.Duration) {
		if floor > 0 {
			b.ReportMetric(float64(cpuPerDoc)/float64(floor), "x-floor")
		}
	}
	b.Run("stage", func(b *testing.B) {
		bb := batch(b)
		for i := range b.N {
			if out, err := e.p.SealDocument(context.Background(), bb.Ref, demo.DocumentName(i+1)); err != nil || out != report.OutcomeSealed {
				b.Fatal(out, err)
			}
		}
		perFloor(b, b.Elapsed()/time.Duration(b.N))
	})
	b.Run("parallel", func(b *testing.B) {
		bb := batch(b)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				name := demo.DocumentName(int(next.Add(1)))
				if out, err := e.p.SealDocument(context.Background(), bb.Ref, name); err != nil || out != report.OutcomeSealed {
					b.Error(name, out, err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		perFloor(b, b.Elapsed()*time.Duration(runtime.GOMAXPROCS(0))/time.Duration(b.N))
	})

	// Verification of a sealed certificate, as `sealpipe verify` and a
	// relying party do it: the whole file read and every check run, on
	// every CPU at once.
	bb := e.sampleBatch("verify-doc", 1, false)
	if err := bb.Upload(context.Background(), e.store); err != nil {
		b.Fatal(err)
	}
	if _, err := e.p.SealDocument(context.Background(), bb.Ref, demo.DocumentName(1)); err != nil {
		b.Fatal(err)
	}
	sealed := e.read(bb.Ref.SealedKey(demo.DocumentName(1)))
	v := &verify.Verifier{Trust: trust.NewPool([]*smx509.Certificate{e.ca.Root}), Seals: e.reg}
	b.Run("verify-parallel", func(b *testing.B) {
		b.SetBytes(int64(len(sealed)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if rep, err := v.PDF(context.Background(), "bench.pdf", sealed); err != nil || rep.Indication != report.Passed {
					b.Error(rep, err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		perFloor(b, b.Elapsed()*time.Duration(runtime.GOMAXPROCS(0))/time.Duration(b.N))
	})
}

// benchBatch makes and uploads batch, b.N sample documents, before b's
// timer starts afresh, reporting size bytes per document sealed.
func (e *env) benchBatch(b *testing.B, batch string, size int) *demo.Batch {
	bb := e.sampleBatch(batch, b.N, false)
	if err := bb.Upload(context.Background(), e.store); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	return bb
}

// benchFloor runs the floor of sealing doc as a sub-benchmark — one SM3
// pass over it and one SM2 signature — and returns its time per op.
func benchFloor(b *testing.B, doc []byte) time.Duration {
	var floor time.Duration
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
		floor = b.Elapsed() / time.Duration(b.N)
	})
	return floor
}
