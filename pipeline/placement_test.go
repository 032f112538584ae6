package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/pipeline/report"
)

// TestPDFPlacements seals a batch whose approval places each document in
// another mode — on every page from the upper-right corner, a riding seal
// that certifies, on the certificate's seal area — and checks what the
// pipeline publishes: sealed, verified, the seal one signature with as
// many widgets as the mode puts, the certification reported.
func TestPDFPlacements(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("placed", 3, false)
	e.resign(b, demo.Approver, func(m *approval.Manifest) {
		m.Documents[0].Placement = approval.Placement{Pages: approval.AllPages, Corner: "upper-right", X: 10, Y: 10}
		m.Documents[1].Placement = approval.Placement{Riding: true, Y: 50, Certify: 2}
	})
	e.upload(b)
	rep := e.runBatch(b.Ref)
	if rep.Sealed != 3 {
		t.Fatalf("sealed %d of 3: %+v", rep.Sealed, rep.Documents)
	}
	for i, d := range rep.Documents {
		out := e.read(b.Ref.SealedKey(d.Document))
		res, err := pdfseal.Verify(context.Background(), out)
		if err != nil || len(res) != 1 || res[0].Status != pdfseal.Valid {
			t.Fatalf("%s: Verify %v, %+v", d.Document, err, res)
		}
		if want := []int{0, 2, 0}[i]; res[0].DocMDP != want {
			t.Errorf("%s: DocMDP %d, want %d", d.Document, res[0].DocMDP, want)
		}
		var doc report.Document
		e.record(b.Ref.ReportKey(d.Document), &doc)
		if doc.Indication != report.Passed {
			t.Errorf("%s: %s", d.Document, doc.Indication)
		}
		certified := slices.ContainsFunc(doc.Signatures[0].Checks, func(c report.Check) bool { return strings.Contains(c.Detail, "DocMDP P=2") })
		if certified != (i == 1) {
			t.Errorf("%s: the report says DocMDP P=2: %v", d.Document, certified)
		}
	}
}

// TestPDFPlacementRejections: placements a PDF cannot take are refused
// PLACEMENT_INVALID, never retried or sealed elsewhere.
func TestPDFPlacementRejections(t *testing.T) {
	longTable(t)
	tests := []struct {
		name   string
		mutate func(t *testing.T, e *env, b *demo.Batch) string
	}{
		{"a keyword the document does not show", func(t *testing.T, e *env, b *demo.Batch) string {
			// The sample certificates draw their text as paths: no text.
			e.resign(b, demo.Approver, func(m *approval.Manifest) { m.Documents[0].Placement = approval.Placement{Keyword: "（盖章）"} })
			return demo.DocumentName(1)
		}},
		{"a box above the page", func(t *testing.T, e *env, b *demo.Batch) string {
			e.resign(b, demo.Approver, func(m *approval.Manifest) { m.Documents[0].Placement.Y = 4000 })
			return demo.DocumentName(1)
		}},
		{"a box wider than the page from the right", func(t *testing.T, e *env, b *demo.Batch) string {
			e.resign(b, demo.Approver, func(m *approval.Manifest) {
				m.Documents[0].Placement = approval.Placement{Page: 1, Corner: "lower-right", X: 300, Y: 10}
			})
			return demo.DocumentName(1)
		}},
		{"a page listed that the document does not have", func(t *testing.T, e *env, b *demo.Batch) string {
			e.resign(b, demo.Approver, func(m *approval.Manifest) {
				m.Documents[0].Placement = approval.Placement{Pages: approval.PageList(1, 2)}
			})
			return demo.DocumentName(1)
		}},
		{"certifying a signed document", func(t *testing.T, e *env, b *demo.Batch) string {
			signed, _, err := e.sealLocal(b.Files[demo.DocumentName(1)], demo.SealCivil, approval.DefaultPlacement, "signed.pdf")
			if err != nil {
				t.Fatal(err)
			}
			e.resign(b, demo.Approver, func(m *approval.Manifest) { m.Documents[0].Placement.Certify = 1 })
			e.setDocument(b, "signed.pdf", signed)
			return "signed.pdf"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, pipeline.Config{})
			b := e.sampleBatch("doc", 1, false)
			e.wantRejected(b, tt.mutate(t, e, b), pipeline.CodePlacementInvalid)
		})
	}
}

// TestLocalSealKeyword seals a CJK document of the PDF conformance set
// (LibreOffice Writer) on its "（盖章）" with `sealpipe seal`'s path; a
// keyword it lacks is PLACEMENT_INVALID naming it.
func TestLocalSealKeyword(t *testing.T) {
	e := newEnv(t, pipeline.Config{Operator: "local:tester"})
	in, err := os.ReadFile(filepath.Join("pdfseal", "testdata", "conformance", "libreoffice-writer-cjk.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	_, rep, err := e.sealLocal(in, demo.SealCivil, approval.Placement{Keyword: "（盖章）"}, "kw.pdf")
	if err != nil || rep.Indication != report.Passed {
		t.Fatalf("SealLocalFile: %v, %+v", err, rep)
	}
	var rj *pipeline.RejectError
	_, _, err = e.sealLocal(in, demo.SealCivil, approval.Placement{Keyword: "人民法院"}, "kw2.pdf")
	if !errors.As(err, &rj) || rj.Code != pipeline.CodePlacementInvalid || !strings.Contains(rj.Reason, `"人民法院"`) {
		t.Fatalf("a missing keyword: %v", err)
	}
}

// TestOFDPlacementRejections: what only a PDF placement has is refused on
// an OFD package, not dropped.
func TestOFDPlacementRejections(t *testing.T) {
	longTable(t)
	first := demo.FormatOFD.DocumentName(1)
	for name, pl := range map[string]approval.Placement{
		"keyword": {Page: 1, Keyword: "民政局"},
		"pages":   {Pages: approval.AllPages, X: 20, Y: 20},
		"corner":  {Page: 1, X: 20, Y: 20, Corner: "lower-left"},
		"certify": {Page: 1, X: 20, Y: 20, Certify: 2},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, pipeline.Config{})
			b := e.formatBatch("ofd", 1, false, demo.FormatOFD)
			e.resign(b, demo.Approver, func(m *approval.Manifest) { m.Documents[0].Placement = pl })
			e.wantRejected(b, first, pipeline.CodePlacementInvalid)
			var rj report.Rejection
			e.record(b.Ref.RejectionKey(first), &rj)
			if want := name + " apply to PDF documents only"; !strings.Contains(rj.Reason, want) {
				t.Errorf("rejection %q does not say %q", rj.Reason, want)
			}
		})
	}
}
