package storage

import (
	"errors"
	"fmt"
)

// DefaultContentType is the media type of an object written without one.
const DefaultContentType = "application/octet-stream"

// MaxMetadataLen is the most user metadata, in bytes of keys plus values,
// any backend accepts (the S3 limit on user-defined metadata).
const MaxMetadataLen = 2048

// ErrInvalidOptions reports PutOptions a store refuses: both IfMatch and
// IfNoneMatch set, a malformed metadata key or value, too much metadata, or a
// content type that is not printable ASCII. Retrying cannot help.
var ErrInvalidOptions = errors.New("storage: invalid put options")

// CheckPutOptions reports whether every backend accepts opts. It returns nil
// or an error wrapping ErrInvalidOptions that quotes the offending value.
//
// The rules are the PutOptions field documentation, enforced so that a write
// that works on one backend works on all: metadata keys are non-empty
// lower-case ASCII letters, digits and '-' (S3 sends them as
// x-amz-meta-<key> headers and folds case); values and the content type are
// printable ASCII (no control characters that could split a header); and the
// metadata totals at most MaxMetadataLen bytes.
func CheckPutOptions(opts PutOptions) error {
	if opts.IfNoneMatch && opts.IfMatch != "" {
		return fmt.Errorf("%w: IfNoneMatch and IfMatch %q both set", ErrInvalidOptions, opts.IfMatch)
	}
	if !printableASCII(opts.ContentType) {
		return fmt.Errorf("%w: content type %q is not printable ASCII", ErrInvalidOptions, opts.ContentType)
	}
	total := 0
	for k, v := range opts.Metadata {
		if !metadataKey(k) {
			return fmt.Errorf("%w: metadata key %q: want lower-case ASCII letters, digits and '-'", ErrInvalidOptions, k)
		}
		if !printableASCII(v) {
			return fmt.Errorf("%w: metadata %q value %q is not printable ASCII", ErrInvalidOptions, k, v)
		}
		total += len(k) + len(v)
	}
	if total > MaxMetadataLen {
		return fmt.Errorf("%w: metadata is %d bytes, more than %d", ErrInvalidOptions, total, MaxMetadataLen)
	}
	return nil
}

// metadataKey reports whether k is a non-empty run of [a-z0-9-].
func metadataKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// printableASCII reports whether s holds only bytes from ' ' to '~'.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
