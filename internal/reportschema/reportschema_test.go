package reportschema_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/reportschema"
	"github.com/sealpipe/sealpipe/pipeline/report"
)

// validDocument is a verification report as the pipeline writes one.
const validDocument = `{
  "document": "cert-00001.pdf",
  "sm3": "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
  "size": 48213,
  "verified_at": "2026-03-01T08:30:00.123456789Z",
  "indication": "TOTAL_PASSED",
  "signatures": [
    {
      "field": "Signature1",
      "format": "adbe.pkcs7.detached (SM3)",
      "signer": "CN=civil-affairs signer,O=Civil Affairs",
      "signer_serial": "1f3a",
      "signing_time": "2026-03-01T16:29:59+08:00",
      "seal_id": "33010200000021",
      "seal_name": "民政局业务专用章",
      "seal_picture": {"type": "PNG", "data": "iVBORw0KGgo=", "width_mm": 40, "height_mm": 40},
      "covers_whole_document": true,
      "indication": "TOTAL_PASSED",
      "checks": [
        {"name": "signature-value", "clause": "GB/T 38540 §7.3 b", "result": "PASSED"},
        {"name": "registry-status", "result": "NOT_APPLICABLE", "detail": "no registry"},
        {"name": "signer-certificate", "result": "INDETERMINATE", "sub_indication": "NO_CERTIFICATE_CHAIN_FOUND"}
      ]
    }
  ]
}`

// validBatch is a batch report with a sealed and a rejected document.
const validBatch = `{
  "department": "civil-affairs",
  "batch": "2026-03-01.a",
  "approver": "Zhang San",
  "approved_at": "2026-03-01T08:00:00Z",
  "sealed": 1,
  "rejected": 1,
  "documents": [
    {"document": "a.pdf", "outcome": "sealed", "indication": "TOTAL_PASSED",
     "sealed": "sealed/civil-affairs/2026-03-01.a/a.pdf", "report": "reports/civil-affairs/2026-03-01.a/a.pdf.json"},
    {"document": "b.pdf", "outcome": "rejected", "code": "DIGEST_MISMATCH", "reason": "the document is not the one approved",
     "rejection": "rejected/civil-affairs/2026-03-01.a/b.pdf.json"},
    {"document": "notes.txt", "outcome": "rejected", "code": "DOCUMENT_NOT_APPROVED", "reason": "no document"}
  ],
  "usage_log": [{"seal": "33010200000021", "seq": 1, "sm3": "0000000000000000000000000000000000000000000000000000000000000000"}],
  "completed_at": "2026-03-01T08:31:00Z"
}`

// validRejection is a document's rejection record.
const validRejection = `{
  "department": "civil-affairs",
  "batch": "b1",
  "document": "b.pdf",
  "code": "DIGEST_MISMATCH",
  "reason": "the document is not the one approved",
  "at": "2026-03-01T08:30:00Z"
}`

// validError is what `sealpipe verify --json` prints for a file it could
// not read.
const validError = `{
  "document": "missing.pdf",
  "sm3": "",
  "size": 0,
  "verified_at": "0001-01-01T00:00:00Z",
  "signatures": [],
  "error": "open missing.pdf: no such file or directory"
}`

// edit returns the JSON object doc with change applied to its decoded
// form.
func edit(t *testing.T, doc string, change func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sig returns the first signature of a decoded document.
func sig(m map[string]any) map[string]any { return m["signatures"].([]any)[0].(map[string]any) }

// entry returns the i-th entry of a decoded batch report.
func entry(m map[string]any, i int) map[string]any { return m["documents"].([]any)[i].(map[string]any) }

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind reportschema.Kind
		data string
		// want is a part of the error; "" for a valid value.
		want string
	}{
		{"document", reportschema.Document, validDocument, ""},
		{"document as any", reportschema.Any, validDocument, ""},
		{"document without signature", reportschema.Document, edit(t, validDocument, func(m map[string]any) {
			m["signatures"], m["indication"] = []any{}, "INDETERMINATE"
		}), ""},
		{"document with an error", reportschema.Document, validError, ""},
		{"verify --json", reportschema.Documents, "[" + validDocument + "," + validError + "]", ""},
		{"verify --json as any", reportschema.Any, "[" + validError + "]", ""},
		{"batch", reportschema.Batch, validBatch, ""},
		{"batch as any", reportschema.Any, validBatch, ""},
		{"rejected batch", reportschema.Batch, edit(t, validBatch, func(m map[string]any) {
			delete(m, "approver")
			delete(m, "approved_at")
			delete(m, "usage_log")
			m["rejection"] = map[string]any{"department": "civil-affairs", "batch": "2026-03-01.a", "code": "APPROVAL_SIGNATURE_INVALID", "reason": "x", "at": "2026-03-01T08:30:00Z"}
			m["documents"] = []any{}
		}), ""},
		{"rejection", reportschema.Rejection, validRejection, ""},
		{"rejection as any", reportschema.Any, validRejection, ""},

		{"wrong indication", reportschema.Document, edit(t, validDocument, func(m map[string]any) { m["indication"] = "PASSED" }), "/indication"},
		{"wrong signature indication", reportschema.Document, edit(t, validDocument, func(m map[string]any) { sig(m)["indication"] = "" }), "/signatures/0/indication"},
		{"wrong check result", reportschema.Document, edit(t, validDocument, func(m map[string]any) {
			sig(m)["checks"].([]any)[0].(map[string]any)["result"] = "OK"
		}), "/signatures/0/checks/0/result"},
		{"lower-case sub-indication", reportschema.Document, edit(t, validDocument, func(m map[string]any) {
			sig(m)["checks"].([]any)[0].(map[string]any)["sub_indication"] = "hash_failure"
		}), "/signatures/0/checks/0/sub_indication"},
		{"missing sm3", reportschema.Document, edit(t, validDocument, func(m map[string]any) { delete(m, "sm3") }), "sm3"},
		{"missing indication", reportschema.Document, edit(t, validDocument, func(m map[string]any) { delete(m, "indication") }), "indication"},
		{"missing signatures", reportschema.Document, edit(t, validDocument, func(m map[string]any) { delete(m, "signatures") }), "signatures"},
		{"null signatures", reportschema.Document, edit(t, validDocument, func(m map[string]any) { m["signatures"] = nil }), "/signatures"},
		{"missing checks", reportschema.Document, edit(t, validDocument, func(m map[string]any) { delete(sig(m), "checks") }), "checks"},
		{"extra property", reportschema.Document, edit(t, validDocument, func(m map[string]any) { m["verdict"] = "TOTAL_PASSED" }), "verdict"},
		{"extra signature property", reportschema.Document, edit(t, validDocument, func(m map[string]any) { sig(m)["seal"] = "x" }), "seal"},
		{"extra picture property", reportschema.Document, edit(t, validDocument, func(m map[string]any) {
			sig(m)["seal_picture"].(map[string]any)["dpi"] = 300
		}), "dpi"},
		{"picture not base64", reportschema.Document, edit(t, validDocument, func(m map[string]any) {
			sig(m)["seal_picture"].(map[string]any)["data"] = "not base64!"
		}), "/signatures/0/seal_picture/data"},
		{"negative picture width", reportschema.Document, edit(t, validDocument, func(m map[string]any) {
			sig(m)["seal_picture"].(map[string]any)["width_mm"] = -1
		}), "/signatures/0/seal_picture/width_mm"},
		{"bad date", reportschema.Document, edit(t, validDocument, func(m map[string]any) { m["verified_at"] = "2026-03-01 08:30:00" }), "/verified_at"},
		{"bad month", reportschema.Document, edit(t, validDocument, func(m map[string]any) { m["verified_at"] = "2026-13-01T08:30:00Z" }), "/verified_at"},
		{"bad signing time", reportschema.Document, edit(t, validDocument, func(m map[string]any) { sig(m)["signing_time"] = "yesterday" }), "/signatures/0/signing_time"},
		{"upper-case sm3", reportschema.Document, edit(t, validDocument, func(m map[string]any) {
			m["sm3"] = strings.ToUpper(m["sm3"].(string))
		}), "/sm3"},
		{"short sm3", reportschema.Document, edit(t, validDocument, func(m map[string]any) { m["sm3"] = "66c7f0" }), "/sm3"},
		{"empty sm3 without error", reportschema.Document, edit(t, validDocument, func(m map[string]any) { m["sm3"] = "" }), "/sm3"},
		{"negative size", reportschema.Document, edit(t, validDocument, func(m map[string]any) { m["size"] = -1 }), "/size"},
		{"fractional size", reportschema.Document, edit(t, validDocument, func(m map[string]any) { m["size"] = 1.5 }), "/size"},
		{"empty error", reportschema.Document, edit(t, validError, func(m map[string]any) { m["error"] = "" }), "/error"},
		{"a document is not documents", reportschema.Documents, validDocument, "array"},
		{"documents are not a document", reportschema.Document, "[" + validDocument + "]", "object"},
		{"bad document in documents", reportschema.Documents, "[" + validError + "," + edit(t, validDocument, func(m map[string]any) { m["indication"] = "MAYBE" }) + "]", "/1/indication"},

		{"batch: wrong outcome", reportschema.Batch, edit(t, validBatch, func(m map[string]any) { entry(m, 0)["outcome"] = "SEALED" }), "/documents/0/outcome"},
		{"batch: sealed without report", reportschema.Batch, edit(t, validBatch, func(m map[string]any) { delete(entry(m, 0), "report") }), "report"},
		{"batch: rejected without code", reportschema.Batch, edit(t, validBatch, func(m map[string]any) { delete(entry(m, 1), "code") }), "code"},
		{"batch: missing completed_at", reportschema.Batch, edit(t, validBatch, func(m map[string]any) { delete(m, "completed_at") }), "completed_at"},
		{"batch: bad checkpoint sm3", reportschema.Batch, edit(t, validBatch, func(m map[string]any) {
			m["usage_log"].([]any)[0].(map[string]any)["sm3"] = "xyz"
		}), "/usage_log/0/sm3"},
		{"batch: checkpoint seq 0", reportschema.Batch, edit(t, validBatch, func(m map[string]any) {
			m["usage_log"].([]any)[0].(map[string]any)["seq"] = 0
		}), "/usage_log/0/seq"},
		{"batch: bad department", reportschema.Batch, edit(t, validBatch, func(m map[string]any) { m["department"] = "../etc" }), "/department"},
		{"batch: extra property", reportschema.Batch, edit(t, validBatch, func(m map[string]any) { m["total"] = 2 }), "total"},
		{"batch: extra entry property", reportschema.Batch, edit(t, validBatch, func(m map[string]any) { entry(m, 0)["sm3"] = "" }), "sm3"},

		{"rejection: missing code", reportschema.Rejection, edit(t, validRejection, func(m map[string]any) { delete(m, "code") }), "code"},
		{"rejection: lower-case code", reportschema.Rejection, edit(t, validRejection, func(m map[string]any) { m["code"] = "digest_mismatch" }), "/code"},
		{"rejection: bad time", reportschema.Rejection, edit(t, validRejection, func(m map[string]any) { m["at"] = "2026-03-01T25:00:00Z" }), "/at"},
		{"rejection: empty document", reportschema.Rejection, edit(t, validRejection, func(m map[string]any) { m["document"] = "" }), "/document"},
		{"rejection: extra property", reportschema.Rejection, edit(t, validRejection, func(m map[string]any) { m["sm3"] = "" }), "sm3"},
		{"rejection is no batch", reportschema.Batch, validRejection, "missing properties"},

		{"any: none of them", reportschema.Any, `{"document": "a.pdf"}`, "oneOf"},
		{"not JSON", reportschema.Document, `{"document": `, "not one JSON value"},
		{"two values", reportschema.Rejection, validRejection + validRejection, "not one JSON value"},
		{"unknown kind", "report", validDocument, "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := reportschema.Validate(tt.kind, []byte(tt.data))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate(%s): %v", tt.kind, err)
			case tt.want != "" && err == nil:
				t.Errorf("Validate(%s) accepted\n%s", tt.kind, tt.data)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("Validate(%s): %v\nwant an error about %q", tt.kind, err, tt.want)
			}
		})
	}
}

// TestGoValues: the report types' JSON encoding is valid, as the
// pipeline's records and the commands' output rely on — empty slices as
// []; a nil one, encoded null, is not.
func TestGoValues(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 8, 30, 0, 123, time.UTC)
	sum := strings.Repeat("ab", 32)
	sig := report.Signature{
		Field: "Signature1", Format: "adbe.pkcs7.detached (SM3)", Signer: "CN=x", SignerSerial: "1f",
		SigningTime: at.In(time.FixedZone("CST", 8*3600)), SealID: "33010200000021", SealName: "章",
		CoversWholeDocument: true,
		Checks:              []report.Check{{Name: "signature-value", Clause: "GB/T 38540 §7.3 b", Result: report.OK}, {Name: "timestamp", Result: report.Skipped}},
	}
	sig.Conclude()
	doc := report.Document{Document: "a.pdf", SM3: sum, Size: 10, VerifiedAt: at, Signatures: []report.Signature{sig}}
	doc.Conclude()
	unsigned := report.Document{Document: "b.pdf", SM3: sum, VerifiedAt: at, Signatures: []report.Signature{}}
	unsigned.Conclude()
	unread := report.Document{Document: "c.pdf", Error: "unreadable", Signatures: []report.Signature{}}
	rej := report.Rejection{Department: "civil-affairs", Batch: "b1", Document: "b.pdf", Code: "DIGEST_MISMATCH", Reason: "x", At: at}
	batchRej := rej
	batchRej.Document = ""
	batch := report.Batch{
		Department: "civil-affairs", Batch: "b1", Approver: "Zhang San", ApprovedAt: at, Sealed: 1, Rejected: 1,
		Documents: []report.BatchEntry{
			{Document: "a.pdf", Outcome: report.OutcomeSealed, Indication: report.Passed, Sealed: "sealed/civil-affairs/b1/a.pdf", Report: "reports/civil-affairs/b1/a.pdf.json"},
			{Document: "b.pdf", Outcome: report.OutcomeRejected, Code: "DIGEST_MISMATCH", Reason: "x", Rejection: "rejected/civil-affairs/b1/b.pdf.json"},
		},
		UsageLog:    []report.LogCheckpoint{{Seal: "33010200000021", Seq: 1, SM3: sum}},
		CompletedAt: at,
	}
	refused := report.Batch{Department: "civil-affairs", Batch: "b2", Rejection: &batchRej, Documents: []report.BatchEntry{}, CompletedAt: at}
	for _, v := range []any{doc, &unsigned, unread, []*report.Document{&doc, &unread}, rej, batchRej, batch, &refused} {
		reportschema.CheckValue(t, v)
	}

	nilSlice := report.Document{Document: "a.pdf", SM3: sum, VerifiedAt: at, Indication: report.Indeterminate}
	b, _ := json.Marshal(nilSlice)
	if err := reportschema.Validate(reportschema.Document, b); err == nil {
		t.Errorf("a document with signatures null is valid: %s", b)
	}
	if _, ok := reportschema.KindOf(struct{}{}); ok {
		t.Error("KindOf(struct{}{}) is a report")
	}
}

// TestCheck: Check reports the validator's message through t.
func TestCheck(t *testing.T) {
	t.Parallel()
	rec := &recorder{TB: t}
	reportschema.Check(rec, reportschema.Rejection, []byte(validRejection))
	if rec.msg != "" {
		t.Errorf("Check of a valid rejection: %s", rec.msg)
	}
	reportschema.Check(rec, reportschema.Rejection, []byte(edit(t, validRejection, func(m map[string]any) { m["code"] = 1 })))
	if !strings.Contains(rec.msg, "/code") || !strings.Contains(rec.msg, `"code": 1`) {
		t.Errorf("Check of an invalid rejection reported %q, want the error at /code and the value", rec.msg)
	}
}

// recorder is a testing.TB that records the messages of Errorf instead of
// failing.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}

func (r *recorder) Errorf(format string, args ...any) {
	r.msg += fmt.Sprintf(format, args...) + "\n"
}
