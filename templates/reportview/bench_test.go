package reportview

import (
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
