package pipeline_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/largepdf"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/s3"
)

// TestLargeDocumentStreamed: a document larger than the pipeline holds in
// memory is spooled to a file while it is hashed, sealed over the file,
// and its output uploaded from it — to MinIO as a multipart upload, its
// parts larger than s3.DefaultPartSize — and the output is the input
// followed by the seal's update, verifying as the stored report says. A
// retry after a crash reads the stored output spooled too.
func TestLargeDocumentStreamed(t *testing.T) {
	t.Parallel()
	var doc bytes.Buffer
	if err := largepdf.Write(&doc, 24<<20); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) storage.Store
	}{
		{"fs", nil},
		{"minio", func(t *testing.T) storage.Store {
			m := testenv.MinIO(t)
			st, err := s3.New(context.Background(), s3.Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Region: m.Region, Bucket: testenv.Bucket(t, m)})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var e *env
			if tc.store == nil {
				e = newEnv(t, pipeline.Config{})
			} else {
				e = newEnvOn(t, pipeline.Config{}, tc.store(t))
			}
			b := e.sampleBatch("large", 1, false)
			const name = "large.pdf"
			e.setDocument(b, name, doc.Bytes())
			e.upload(b)
			if rep := e.runBatch(b.Ref); rep.Sealed != 2 {
				t.Fatalf("batch report %+v", rep.Documents)
			}
			var stored report.Document
			e.record(b.Ref.ReportKey(name), &stored)
			out := e.read(b.Ref.SealedKey(name))
			if !bytes.HasPrefix(out, doc.Bytes()) || len(out) == doc.Len() {
				t.Fatalf("the %d-byte output is not the %d-byte input followed by an update", len(out), doc.Len())
			}
			v := &verify.Verifier{Trust: trust.NewPool([]*smx509.Certificate{e.ca.Root}), Seals: e.reg}
			full, err := v.PDF(context.Background(), name, out)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Indication != report.Passed || full.Indication != report.Passed || stored.SM3 != full.SM3 || stored.Size != int64(len(out)) {
				t.Fatalf("stored report %s %s %d; full verification %s %s %d", stored.Indication, stored.SM3, stored.Size, full.Indication, full.SM3, full.Size)
			}

			// A crash after the output was written, before its report: the
			// retry reads the stored output — spooled, as large as it is —
			// and derives the same report from it.
			ctx := context.Background()
			if err := e.store.Delete(ctx, b.Ref.ReportKey(name)); err != nil {
				t.Fatal(err)
			}
			e.rebuild()
			if out, err := e.p.SealDocument(ctx, b.Ref, name); err != nil || out != report.OutcomeSealed {
				t.Fatalf("SealDocument after the crash = %v, %v", out, err)
			}
			var again report.Document
			e.record(b.Ref.ReportKey(name), &again)
			if again.Indication != report.Passed || again.SM3 != stored.SM3 || again.Size != stored.Size || !bytes.Equal(e.read(b.Ref.SealedKey(name)), out) {
				t.Fatalf("after the crash: report %s %s %d, output unchanged %v", again.Indication, again.SM3, again.Size, bytes.Equal(e.read(b.Ref.SealedKey(name)), out))
			}
		})
	}
}
