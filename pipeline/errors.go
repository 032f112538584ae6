package pipeline

import (
	"errors"
	"fmt"

	"github.com/sealpipe/sealpipe/pipeline/report"
)

// ErrNotReady reports a batch or document that cannot be processed yet but
// may be later: the approval's manifest or signature has not arrived
// (Intake), a listed document has not arrived (SealDocument), or a
// document has no outcome yet (WriteBatchReport). Callers retry after a
// delay; each method's documentation says what ends the wait.
var ErrNotReady = errors.New("pipeline: not ready")

// ErrTampered reports an object under a key where the pipeline writes its
// records — a report, a rejection or usage record — that the pipeline did
// not sign: planted, or altered since. It is never taken as an outcome.
var ErrTampered = errors.New("pipeline: an object the pipeline did not write stands where its record belongs")

// Rejection codes: stable, machine-readable reasons a document or a batch
// is refused.
const (
	CodeApprovalMissing   report.Code = "APPROVAL_MISSING"
	CodeApprovalMalformed report.Code = "APPROVAL_MALFORMED"
	CodeApprovalSignature report.Code = "APPROVAL_SIGNATURE_INVALID"
	CodeApproverUntrusted report.Code = "APPROVER_UNTRUSTED"
	CodeApprovalStale     report.Code = "APPROVAL_STALE"
	CodeApprovalMismatch  report.Code = "APPROVAL_MISMATCH"
	CodeNotApproved       report.Code = "DOCUMENT_NOT_APPROVED"
	CodeDocumentMissing   report.Code = "DOCUMENT_MISSING"
	CodeDocumentTooLarge  report.Code = "DOCUMENT_TOO_LARGE"
	CodeDigestMismatch    report.Code = "DIGEST_MISMATCH"
	CodeDocumentMalformed report.Code = "DOCUMENT_MALFORMED"
	CodeDocumentEncrypted report.Code = "DOCUMENT_ENCRYPTED"
	// CodeDocumentLocked: the document is certified with DocMDP P=1
	// (ISO 32000-1 §12.8.2.2), which permits no change, a seal included.
	CodeDocumentLocked   report.Code = "DOCUMENT_LOCKED"
	CodePlacementInvalid report.Code = "PLACEMENT_INVALID"
	CodeSealUnknown      report.Code = "SEAL_UNKNOWN"
	CodeSealNotPermitted report.Code = "SEAL_NOT_PERMITTED"
	CodeSealNotActive    report.Code = "SEAL_NOT_ACTIVE"
	CodeSealExpired      report.Code = "SEAL_EXPIRED"
	CodeSealUnusable     report.Code = "SEAL_UNUSABLE"
	CodeRegistryInvalid  report.Code = "REGISTRY_INVALID"
	CodeSelfCheckFailed  report.Code = "SELF_CHECK_FAILED"
	CodeProcessingFailed report.Code = "PROCESSING_FAILED"
)

// RejectError is a refusal: the document or batch will never be sealed as
// submitted. It carries a rejection code and a reason for the record.
type RejectError struct {
	Code   report.Code
	Reason string
	Err    error // underlying cause, if any
}

func (e *RejectError) Error() string { return string(e.Code) + ": " + e.Reason }

// Unwrap returns the underlying cause.
func (e *RejectError) Unwrap() error { return e.Err }

func reject(code report.Code, cause error, format string, args ...any) *RejectError {
	return &RejectError{Code: code, Reason: fmt.Sprintf(format, args...), Err: cause}
}
