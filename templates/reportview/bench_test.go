package reportview

import (
	"fmt"
	"io"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline/report"
)

// BenchmarkPDF measures the PDF report of a one-signature document, and
// reports its size.
func BenchmarkPDF(b *testing.B) {
	doc := sample(report.Passed)
	var size int
	for b.Loop() {
		out, err := PDF(doc, Options{})
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(size), "pdf-bytes")
}

// BenchmarkHTML measures the HTML report of the same document.
func BenchmarkHTML(b *testing.B) {
	doc := sample(report.Passed)
	for b.Loop() {
		if err := HTML(io.Discard, doc, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchPDF measures the PDF report of a batch of 2,000
// documents.
func BenchmarkBatchPDF(b *testing.B) {
	batch := sampleBatch()
	doc := batch.Documents[0]
	batch.Documents = nil
	for i := range 2000 {
		d := doc
		d.Document = fmt.Sprintf("cert-%05d.pdf", i+1)
		batch.Documents = append(batch.Documents, d)
	}
	for b.Loop() {
		if _, err := BatchPDF(batch, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
