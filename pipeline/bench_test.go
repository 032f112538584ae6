package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/memstore"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/storage"
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
			bb := c.env.benchBatch(b, fmt.Sprintf("bench-%d-%d", runs, b.N), len(doc), nil)
			for i := range b.N {
				if _, err := c.env.p.SealDocument(context.Background(), bb.Ref, demo.DocumentName(i+1)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSealStage measures the seal stage: SealDocument on demo
// certificates with a holder's photograph (withPhoto: about 98 KB, one
// page) over an in-memory store (internal/memstore, with sealed outputs
// counted but not kept: sinkStore), that is everything the pipeline does per document but the object store's own
// work, next to the floor of one SM3 pass over the certificate and one
// SM2 signature, measured in the same run. "stage" seals one document at
// a time and reports its cost in multiples of the floor (x-floor);
// "parallel" seals on every CPU at once and reports docs/s, and x-floor of
// the CPU time per document it implies.
func BenchmarkSealStage(b *testing.B) {
	e := newEnvOn(b, pipeline.Config{}, sinkStore{memstore.New("sealpipe")})
	photo := withPhoto(b)
	doc := photo(e.sampleBatch("bench-doc", 1, false).Files[demo.DocumentName(1)])
	b.Logf("the certificate: %d bytes, one page", len(doc))
	floor := benchFloor(b, doc)
	runs := 0
	batch := func(b *testing.B) *demo.Batch {
		runs++
		return e.benchBatch(b, fmt.Sprintf("stage-%d-%d", runs, b.N), len(doc), photo)
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
	// The same with the verification mark under each seal
	// (Config.VerifyBaseURL): a QR code and the code's text to draw.
	me := newEnvOn(b, pipeline.Config{VerifyBaseURL: "https://yz.example.gov.cn"}, sinkStore{memstore.New("sealpipe")})
	b.Run("stage-marked", func(b *testing.B) {
		runs++
		bb := me.benchBatch(b, fmt.Sprintf("stage-%d-%d", runs, b.N), len(doc), photo)
		for i := range b.N {
			if out, err := me.p.SealDocument(context.Background(), bb.Ref, demo.DocumentName(i+1)); err != nil || out != report.OutcomeSealed {
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
	// The same certificate, sealed in a store that keeps outputs.
	ve := newEnvOn(b, pipeline.Config{}, memstore.New("sealpipe"))
	bb := ve.sampleBatch("verify-doc", 1, false)
	ve.setDocument(bb, demo.DocumentName(1), photo(bb.Files[demo.DocumentName(1)]))
	if err := bb.Upload(context.Background(), ve.store); err != nil {
		b.Fatal(err)
	}
	if _, err := ve.p.SealDocument(context.Background(), bb.Ref, demo.DocumentName(1)); err != nil {
		b.Fatal(err)
	}
	sealed := ve.read(bb.Ref.SealedKey(demo.DocumentName(1)))
	v := &verify.Verifier{Trust: trust.NewPool([]*smx509.Certificate{ve.ca.Root}), Seals: ve.reg}
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

// benchBatch makes and uploads batch, b.N sample documents (each passed
// through with, if it is not nil, and the approval signed again over what
// it returns), before b's timer starts afresh, reporting size bytes per
// document sealed.
func (e *env) benchBatch(b *testing.B, batch string, size int, with func([]byte) []byte) *demo.Batch {
	bb := e.sampleBatch(batch, b.N, false)
	if with != nil {
		for i := range b.N {
			name := demo.DocumentName(i + 1)
			bb.Files[name] = with(bb.Files[name])
		}
		e.resign(bb, demo.Approver, func(m *approval.Manifest) {
			for i, d := range m.Documents {
				m.Documents[i] = approval.NewDocument(d.Name, bb.Files[d.Name], d.Seal, d.Placement)
			}
		})
	}
	if err := bb.Upload(context.Background(), e.store); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	return bb
}

// withPhoto returns doc, a demo certificate, with a holder's photograph
// on its page — a 300 × 380 pixel JPEG of noise, which does not compress —
// written by pdfcpu as a new file: the 100 KB one-page certificate of
// issue 11's benchmark.
func withPhoto(b *testing.B) func(doc []byte) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 300, 380))
	rng := mathrand.New(mathrand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.IntN(256))
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, img, &jpeg.Options{Quality: 60}); err != nil {
		b.Fatal(err)
	}
	photo := filepath.Join(b.TempDir(), "photo.jpg")
	if err := os.WriteFile(photo, jpg.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return func(doc []byte) []byte {
		// A watermark reads its image once.
		wm, err := pdfcpu.ParseImageWatermarkDetails(photo, "pos:tr, off:-50 -90, scale:0.15 rel, rot:0", true, types.POINTS)
		if err != nil {
			b.Fatal(err)
		}
		ctx, err := pdfcpu.Read(bytes.NewReader(doc), model.NewDefaultConfiguration())
		if err == nil {
			err = ctx.EnsurePageCount()
		}
		if err == nil {
			err = pdfcpu.AddWatermarks(ctx, types.IntSet{1: true}, wm)
		}
		var out bytes.Buffer
		if err == nil {
			ctx.Write.Writer = bufio.NewWriter(&out)
			err = errors.Join(pdfcpu.WriteContext(ctx), ctx.Write.Flush())
		}
		if err != nil {
			b.Fatal(err)
		}
		return out.Bytes()
	}
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

// sinkStore is a store for the seal stage's benchmark: it keeps every
// object but the sealed outputs, of which it keeps the key and the size
// only, so that the benchmark measures the pipeline's work and not a
// store holding b.N outputs in memory (the seal stage never reads an
// output it has just written back from the store). Create-only writes
// keep their meaning.
type sinkStore struct{ *memstore.Store }

func (s sinkStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.ObjectInfo, error) {
	if !strings.HasPrefix(key, storage.PrefixSealed) {
		return s.Store.Put(ctx, key, r, size, opts)
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if size >= 0 && n != size {
		return storage.ObjectInfo{}, fmt.Errorf("sink: put %q: read %d bytes, %d declared", key, n, size)
	}
	return s.Store.Put(ctx, key, strings.NewReader(""), 0, opts)
}
