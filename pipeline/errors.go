package pipeline

import (
	"errors"
	"fmt"
)

// ErrNotReady reports a batch or document that cannot be processed yet but
// may be later: the approval's signature or a listed document has not
// arrived. Callers retry after a delay.
var ErrNotReady = errors.New("pipeline: not ready")

// Rejection codes: stable, machine-readable reasons a document or a batch
// is refused.
const (
	CodeApprovalMissing   = "APPROVAL_MISSING"
	CodeApprovalMalformed = "APPROVAL_MALFORMED"
	CodeApprovalSignature = "APPROVAL_SIGNATURE_INVALID"
	CodeApproverUntrusted = "APPROVER_UNTRUSTED"
	CodeApprovalStale     = "APPROVAL_STALE"
	CodeApprovalMismatch  = "APPROVAL_MISMATCH"
	CodeNotApproved       = "DOCUMENT_NOT_APPROVED"
	CodeDocumentMissing   = "DOCUMENT_MISSING"
	CodeDocumentTooLarge  = "DOCUMENT_TOO_LARGE"
	CodeDigestMismatch    = "DIGEST_MISMATCH"
	CodeDocumentMalformed = "DOCUMENT_MALFORMED"
	CodeDocumentEncrypted = "DOCUMENT_ENCRYPTED"
	CodePlacementInvalid  = "PLACEMENT_INVALID"
	CodeSealUnknown       = "SEAL_UNKNOWN"
	CodeSealNotPermitted  = "SEAL_NOT_PERMITTED"
	CodeSealNotActive     = "SEAL_NOT_ACTIVE"
	CodeSealExpired       = "SEAL_EXPIRED"
	CodeSealUnusable      = "SEAL_UNUSABLE"
	CodeSelfCheckFailed   = "SELF_CHECK_FAILED"
	CodeProcessingFailed  = "PROCESSING_FAILED"
)

// RejectError is a refusal: the document or batch will never be sealed as
// submitted. It carries a rejection code and a reason for the record.
type RejectError struct {
	Code   string
	Reason string
	Err    error // underlying cause, if any
}

func (e *RejectError) Error() string { return e.Code + ": " + e.Reason }

// Unwrap returns the underlying cause.
func (e *RejectError) Unwrap() error { return e.Err }

func reject(code string, cause error, format string, args ...any) *RejectError {
	return &RejectError{Code: code, Reason: fmt.Sprintf(format, args...), Err: cause}
}
