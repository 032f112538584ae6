package reportview

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/report"
)

// sampleBatch is a batch of three documents, one refused.
func sampleBatch() *report.Batch {
	at := time.Date(2026, 3, 15, 1, 0, 0, 0, time.UTC)
	return &report.Batch{
		Department: "civil-affairs", Batch: "demo-3", Approver: "CN=approver-zhang,O=某某县民政局,C=CN", ApprovedAt: at,
		Sealed: 2, Rejected: 1, CompletedAt: at.Add(2 * time.Minute),
		Documents: []report.BatchEntry{
			{Document: "cert-00001.pdf", Outcome: report.OutcomeSealed, Indication: report.Passed, VerificationCode: "3Q7W-1D5K-ZX0M-8HAT"},
			{Document: "cert-00002.pdf", Outcome: report.OutcomeSealed, Indication: report.Passed},
			{Document: "zz-tampered.pdf", Outcome: report.OutcomeRejected, Code: "DIGEST_MISMATCH", Reason: "SM3 does not match the approved one"},
		},
		UsageLog: []report.LogCheckpoint{{Seal: "33010200000001", Seq: 3, SM3: strings.Repeat("ef", 32)}},
	}
}

// TestBatchReports renders batch reports as HTML (against golden files)
// and as PDF (checked with qpdf and pdftotext): the outcome, the
// approver, the times, the seals used, every document and why one was
// refused.
func TestBatchReports(t *testing.T) {
	t.Parallel()
	refused := &report.Batch{Department: "civil-affairs", Batch: "b9", Documents: []report.BatchEntry{},
		Rejection: &report.Rejection{Code: "APPROVAL_INVALID", Reason: "the signature of the approval does not verify"}}
	allSealed := sampleBatch()
	allSealed.Documents, allSealed.Sealed, allSealed.Rejected = allSealed.Documents[:2], 2, 0
	tests := []struct {
		name string
		b    *report.Batch
		lang Lang
		want []string
	}{
		{"some-refused.zh", sampleBatch(), Chinese, []string{"批次报告", "部分文件被拒绝", "civil-affairs", "demo-3", "approver-zhang", "2026-03-15 09:00:00", "2026-03-15 09:02:00", "33010200000001", "cert-00002.pdf", "签章有效 (TOTAL_PASSED) · 验证码 3Q7W-1D5K-ZX0M-8HAT", "zz-tampered.pdf", "DIGEST_MISMATCH: SM3 does not match the approved one"}},
		{"all-sealed.en", allSealed, English, []string{"Batch report", "All sealed", "usage log segment 3", "Verification code 3Q7W-1D5K-ZX0M-8HAT"}},
		{"refused.zh", refused, Chinese, []string{"整批被拒绝", "APPROVAL_INVALID: the signature of the approval does not verify"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := BatchHTML(&b, tt.b, Options{Lang: tt.lang}); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("page lacks %q", w)
				}
			}
			golden(t, "batch-"+tt.name+".html", b.Bytes())

			out, err := BatchPDF(tt.b, Options{Lang: tt.lang})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "batch.pdf")
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			run(t, "qpdf", "--check", path)
			text := strings.Join(strings.Fields(run(t, "pdftotext", "-enc", "UTF-8", path, "-")), " ")
			for _, w := range tt.want {
				if w = strings.Join(strings.Fields(w), " "); !strings.Contains(text, w) {
					t.Errorf("PDF text lacks %q:\n%s", w, text)
				}
			}
		})
	}
}
