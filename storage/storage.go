// Package storage defines the object store sealpipe keeps its records in: the
// Store interface every backend satisfies, the metadata of an object, and the
// errors a backend must classify its failures into.
//
// The object store is sealpipe's system of record (Redis holds only queues):
// inbound documents and approvals, sealed outputs, reports, rejection records,
// seal registry entries and usage records all live in one. Conditional writes
// (create-only and compare-and-swap on the ETag) make retried work idempotent.
//
// Key layout inside a bucket:
//
//	inbox/<dept>/<batch>/     documents and the approval manifest, uploaded by a department
//	sealed/<dept>/<batch>/    sealed documents
//	reports/<dept>/<batch>/   one verification report per document plus batch.json
//	rejected/<dept>/<batch>/  one rejection record per refused document (or the batch)
//	archive/<dept>/<batch>/   a finished batch's inbox, moved there by the retention rule
//	registry/                 seal registry entries
//	audit/                    seal usage records
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Well-known key prefixes. Each ends in a slash.
const (
	PrefixInbox    = "inbox/"
	PrefixSealed   = "sealed/"
	PrefixReports  = "reports/"
	PrefixRejected = "rejected/"
	PrefixRegistry = "registry/"
	PrefixAudit    = "audit/"
	// PrefixArchive holds the inboxes of finished batches that the inbox
	// retention rule archived (package pipeline/retention): the objects
	// of inbox/<dept>/<batch>/ under archive/<dept>/<batch>/, unchanged.
	PrefixArchive = "archive/"
	// PrefixCodes holds the index of verification codes: for each sealed
	// document, codes/<code>.json names its report (package pipeline,
	// CodeKey).
	PrefixCodes = "codes/"
)

// Errors a backend wraps (with %w) so callers can test them with errors.Is.
var (
	// ErrNotExist reports that the object does not exist.
	ErrNotExist = errors.New("storage: object does not exist")
	// ErrPreconditionFailed reports that a conditional write lost: the object
	// already exists (PutOptions.IfNoneMatch) or its ETag changed
	// (PutOptions.IfMatch).
	ErrPreconditionFailed = errors.New("storage: precondition failed")
	// ErrInvalidKey reports an object key the store refuses: empty, absolute,
	// containing "..", NUL or backslash segments, or longer than MaxKeyLen.
	ErrInvalidKey = errors.New("storage: invalid object key")
)

// MaxKeyLen is the longest object key, in bytes, any backend accepts (the S3 limit).
const MaxKeyLen = 1024

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	// Key is the object's key inside the bucket.
	Key string
	// Size is the object's length in bytes.
	Size int64
	// ETag identifies this version of the object's content. It changes
	// whenever the content changes; compare it, never parse it.
	ETag string
	// ModTime is when this version was written.
	ModTime time.Time
	// ContentType is the media type given when the object was written.
	ContentType string
	// Metadata holds user metadata set when the object was written. Keys are
	// lower-case. Listings leave it nil; Stat and Get fill it.
	Metadata map[string]string
}

// PutOptions controls a write. The zero value writes unconditionally with
// content type application/octet-stream and no metadata.
type PutOptions struct {
	// IfNoneMatch makes the write create-only: it fails with
	// ErrPreconditionFailed if the key exists (S3 "If-None-Match: *").
	IfNoneMatch bool
	// IfMatch, when set, makes the write succeed only if the current object's
	// ETag equals it; otherwise it fails with ErrPreconditionFailed, also when
	// the object does not exist.
	IfMatch string
	// ContentType is the object's media type. Empty means application/octet-stream.
	ContentType string
	// Metadata is stored with the object. Keys must be lower-case ASCII
	// letters, digits and '-'; values printable ASCII.
	Metadata map[string]string
}

// Store is a flat key/value object store bound to one bucket. Keys are
// slash-separated paths; "directories" exist only as key prefixes.
//
// Every method takes a context and must return promptly once it is done.
// Errors wrap ErrNotExist, ErrPreconditionFailed or ErrInvalidKey where those
// apply; any other failure may be tested with IsRetryable.
type Store interface {
	// Bucket names the bucket this store reads and writes.
	Bucket() string
	// Get opens the object for reading. The caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// Stat returns the object's information without its content.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Put stores the content of r under key, all or nothing: a reader sees
	// either the old object or the complete new one, never a partial write.
	// size is the content length, or -1 if unknown.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error)
	// Delete removes the object. Deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every object whose key starts with prefix, in
	// lexical key order, recursing into sub-prefixes. Listings do not carry
	// Metadata. If fn returns an error, List stops and returns it.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
}

// Error is a backend failure that is neither of the sentinel conditions. It
// records whether trying again may succeed.
type Error struct {
	Op        string // operation, e.g. "put"
	Key       string // object key, if any
	Retryable bool   // true for transient failures: timeouts, throttling, 5xx
	Err       error  // underlying error
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("storage: %s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("storage: %s %q: %v", e.Op, e.Key, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// IsRetryable reports whether err is a storage failure that may succeed if
// the operation is tried again. Sentinel conditions are never retryable.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}
