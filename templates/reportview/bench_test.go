package reportview

import (
	"io"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline/report"
)

// BenchmarkPDF measures the PDF report of a one-signature document.
func BenchmarkPDF(b *testing.B) {
	doc := sample(report.Passed)
	for b.Loop() {
		if _, err := PDF(doc, Options{}); err != nil {
			b.Fatal(err)
		}
	}
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
