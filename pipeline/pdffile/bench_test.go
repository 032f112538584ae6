package pdffile

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
)

// certificate returns a one-page demo certificate of the project's demo
// generator (internal/demo/certpdf): the document the pipeline seals.
func certificate(tb testing.TB) []byte {
	tb.Helper()
	b, err := certpdf.Render(certpdf.Sample(7, time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkOpenPage opens a one-page certificate and finds its catalog
// and page 1, as sealing does, with pdffile and with pdfcpu
// (ReadWithContext, which reads the whole file, then the catalog and the
// page). The pdffile run reports how many times faster it is than pdfcpu's
// ("x-faster").
func BenchmarkOpenPage(b *testing.B) {
	doc := certificate(b)
	var pdfcpuPerOp time.Duration
	b.Run("pdfcpu", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			ctx, err := pdfcpuRead(doc)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ctx.Catalog(); err != nil {
				b.Fatal(err)
			}
			if err := ctx.EnsurePageCount(); err != nil {
				b.Fatal(err)
			}
			if d, _, _, err := ctx.PageDict(1, false); err != nil || d == nil {
				b.Fatal(err)
			}
		}
		pdfcpuPerOp = b.Elapsed() / time.Duration(max(b.N, 1))
	})
	b.Run("pdffile", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			f, err := OpenContext(context.Background(), bytes.NewReader(doc), int64(len(doc)), Options{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Catalog(); err != nil {
				b.Fatal(err)
			}
			if d, _, _, err := f.Page(1); err != nil || d["Type"] != types.Name("Page") {
				b.Fatal(err)
			}
		}
		perOp := b.Elapsed() / time.Duration(max(b.N, 1))
		if pdfcpuPerOp > 0 && perOp > 0 {
			b.ReportMetric(float64(pdfcpuPerOp)/float64(perOp), "x-faster")
		}
	})
}

func TestCertificate(t *testing.T) {
	doc := certificate(t)
	f := open(t, doc, Options{})
	if _, _, _, err := f.Page(1); err != nil {
		t.Fatal(err)
	}
	crossCheck(t, doc, f)
}
