// Package pipeline seals approved batches of documents: intake of a batch
// closed by its approval, validation of the approval, sealing of each
// document through a signing key, verification of the output and the
// writing of sealed documents, verification reports, usage records and
// rejection records back to the object store.
//
// It is plain Go over interfaces: it never imports a queue or an S3
// client. The workers package drives it from Asynq tasks; `sealpipe seal`
// and `sealpipe verify` use its parts directly.
//
// Every operation is idempotent: outputs are written create-only under keys
// derived from the batch and the document (storage.PutOnce), so a task
// delivered twice, or retried after a crash at any point, seals a document
// at most once and loses nothing.
//
// Where things are: pipeline.go holds Config, New and the batch flow
// (Intake, SealDocument); approvals.go loads, validates and caches
// approvals; sealing.go checks a seal's usability, reads the document,
// signs and self-checks the output (and SealLocalFile); records.go writes
// rejection and usage records; batchreport.go collects the outcomes into
// the batch report; batch.go names a batch's object keys; errors.go holds
// ErrNotReady, the rejection codes and RejectError.
package pipeline

import (
	"fmt"
	"strings"

	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/storage"
)

// BatchRef names a batch: the documents uploaded under inbox/<dept>/<batch>/.
type BatchRef struct {
	Department string `json:"department"`
	Batch      string `json:"batch"`
}

// String returns "<dept>/<batch>".
func (b BatchRef) String() string { return b.Department + "/" + b.Batch }

// Validate checks both segments.
func (b BatchRef) Validate() error {
	if err := approval.CheckSegment("department", b.Department); err != nil {
		return err
	}
	return approval.CheckSegment("batch", b.Batch)
}

// Inbox returns the batch's upload prefix, ending in a slash.
func (b BatchRef) Inbox() string { return b.prefix(storage.PrefixInbox) }

// SealedKey returns the object key of the sealed copy of document name.
func (b BatchRef) SealedKey(name string) string { return b.prefix(storage.PrefixSealed) + name }

// ReportKey returns the object key of document name's verification report.
func (b BatchRef) ReportKey(name string) string {
	return b.prefix(storage.PrefixReports) + name + ".json"
}

// RejectionKey returns the object key of document name's rejection record.
func (b BatchRef) RejectionKey(name string) string {
	return b.prefix(storage.PrefixRejected) + name + ".json"
}

// BatchReportKey returns the object key of the batch report.
func (b BatchRef) BatchReportKey() string { return b.prefix(storage.PrefixReports) + batchFile }

// DocumentPageKeys are the keys of the report of document name for
// people, beside its JSON report (ReportKey): an HTML page and a PDF file.
func (b BatchRef) DocumentPageKeys(name string) (html, pdf string) {
	base := strings.TrimSuffix(b.ReportKey(name), ".json")
	return base + ".html", base + ".pdf"
}

// BatchPageKey is the key of the batch report as an HTML page, for people
// (reportview.BatchHTML).
func (b BatchRef) BatchPageKey() string { return b.prefix(storage.PrefixReports) + "batch.html" }

// BatchPDFKey is the key of the batch report as a PDF file, for people
// (reportview.BatchPDF).
func (b BatchRef) BatchPDFKey() string { return b.prefix(storage.PrefixReports) + "batch.pdf" }

// BatchRejectionKey returns the object key of the record refusing the whole batch.
func (b BatchRef) BatchRejectionKey() string { return b.prefix(storage.PrefixRejected) + batchFile }

// batchFile names batch-level records. Documents must end in ".pdf" or
// ".ofd", so no document's report (<name>.json) can collide with it.
const batchFile = "batch.json"

func (b BatchRef) prefix(p string) string { return p + b.Department + "/" + b.Batch + "/" }

// ParseBatchLabel parses "<dept>/<batch>", as BatchRef.String writes it.
func ParseBatchLabel(label string) (BatchRef, error) {
	dept, batch, _ := strings.Cut(label, "/")
	ref := BatchRef{Department: dept, Batch: batch}
	if err := ref.Validate(); err != nil {
		return BatchRef{}, fmt.Errorf("pipeline: batch %q: %w", label, err)
	}
	return ref, nil
}

// ParseInboxKey splits an inbox object key "inbox/<dept>/<batch>/<name>"
// into its batch and file name.
func ParseInboxKey(key string) (BatchRef, string, error) {
	rest, ok := strings.CutPrefix(key, storage.PrefixInbox)
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 || parts[2] == "" {
		return BatchRef{}, "", fmt.Errorf("pipeline: key %q is not inbox/<dept>/<batch>/<file>", key)
	}
	ref := BatchRef{Department: parts[0], Batch: parts[1]}
	if err := ref.Validate(); err != nil {
		return BatchRef{}, "", fmt.Errorf("pipeline: key %q: %w", key, err)
	}
	return ref, parts[2], nil
}

// IsCommitKey reports whether an inbox object's arrival may close its batch:
// the approval manifest or its signature.
func IsCommitKey(name string) bool {
	return name == approval.ManifestName || name == approval.SignatureName
}
