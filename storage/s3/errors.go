package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/minio/minio-go/v7"

	"github.com/sealpipe/sealpipe/storage"
)

// Whether the S3 error codes named are worth trying again, where the HTTP
// status alone would say otherwise. Amazon S3 answers
// ConditionalRequestConflict (409) when a conditional write races another
// write to the same key; trying again evaluates the condition afresh.
var retryableByCode = map[string]bool{
	"RequestTimeout":             true,
	"RequestTimeTooSkewed":       false, // a wrong clock does not fix itself
	"NotImplemented":             false, // nor does a missing feature
	"SlowDown":                   true,
	"SlowDownRead":               true,
	"SlowDownWrite":              true,
	"Throttling":                 true,
	"ThrottlingException":        true,
	"RequestLimitExceeded":       true,
	"RequestThrottled":           true,
	"InternalError":              true,
	"ServiceUnavailable":         true,
	"ExpiredToken":               true, // credentials providers renew tokens
	"ConditionalRequestConflict": true,
	"XMinioServerNotInitialized": true,
	"XMinioReadQuorum":           true,
	"XMinioWriteQuorum":          true,
	"XMinioStorageFull":          true,
}

// MinIO error codes for a key it cannot store, though storage.CheckKey
// accepts it.
var invalidKeyCodes = map[string]bool{
	"KeyTooLongError":               true,
	"XMinioInvalidObjectName":       true,
	"XMinioObjectExistsAsDirectory": true,
}

// classify turns the failure err of operation op on key into the error
// package storage documents: a sentinel condition, or a *storage.Error
// that says whether trying again may help.
func (s *Store) classify(ctx context.Context, op, key string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &storage.Error{Op: op, Key: key, Retryable: transientContext(ctxErr), Err: ctxErr}
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return s.classifyResponse(op, key, resp)
	}
	return &storage.Error{Op: op, Key: key, Retryable: transientNetwork(err), Err: err}
}

// classifyResponse classifies an error answer of the server.
func (s *Store) classifyResponse(op, key string, resp minio.ErrorResponse) error {
	detail := serverError{resp}
	switch {
	case resp.Code == minio.NoSuchKey:
		return fmt.Errorf("%s %q: %w: %w", op, key, storage.ErrNotExist, detail)
	case resp.Code == minio.NoSuchBucket:
		return fmt.Errorf("%w: %w", noBucket(op, s.bucket), detail)
	case resp.Code == minio.PreconditionFailed || resp.StatusCode == http.StatusPreconditionFailed:
		return fmt.Errorf("%s %q: %w: %w", op, key, storage.ErrPreconditionFailed, detail)
	case invalidKeyCodes[resp.Code]:
		return fmt.Errorf("%s: %w %q: %w", op, storage.ErrInvalidKey, key, detail)
	}
	retryable, known := retryableByCode[resp.Code]
	if !known {
		retryable = resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented ||
			resp.StatusCode == http.StatusRequestTimeout ||
			resp.StatusCode == http.StatusTooManyRequests
	}
	return &storage.Error{Op: op, Key: key, Retryable: retryable, Err: detail}
}

// noBucket is the error of op when the bucket does not exist.
func noBucket(op, bucket string) error {
	return fmt.Errorf("%s: %w %q (%w)", op, ErrNoBucket, bucket, storage.ErrNotExist)
}

// transientContext reports whether a context's error may go away when
// the operation is tried again: a deadline may, a cancellation is meant.
func transientContext(err error) bool {
	return errors.Is(err, context.DeadlineExceeded)
}

// transientNetwork reports whether err, a failure below HTTP or inside
// the client, may go away by itself. Connections refused, reset or cut
// short and timeouts may; a certificate the client does not trust, a
// host name that does not resolve and the client's refusals of its
// arguments do not.
func transientNetwork(err error) bool {
	var (
		unknownCA   x509.UnknownAuthorityError
		badHost     x509.HostnameError
		badCert     x509.CertificateInvalidError
		certVerify  *tls.CertificateVerificationError
		recordError tls.RecordHeaderError
		dnsErr      *net.DNSError
		netErr      net.Error
		resp        minio.ErrorResponse
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &badCert),
		errors.As(err, &certVerify), errors.As(err, &recordError):
		return false // TLS misconfiguration, or HTTPS to an HTTP server
	case errors.As(err, &dnsErr):
		return !dnsErr.IsNotFound || dnsErr.IsTemporary
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.As(err, &netErr):
		return true // *url.Error and *net.OpError: the request did not get through
	case errors.As(err, &resp):
		return false // minio-go refused an argument before sending
	}
	// io.ErrUnexpectedEOF and the like: a connection cut short.
	return true
}

// serverError is an error answer of the server, quoted with its code and
// HTTP status. It unwraps to minio.ErrorResponse.
type serverError struct{ resp minio.ErrorResponse }

func (e serverError) Error() string {
	if e.resp.StatusCode == 0 {
		return fmt.Sprintf("%s: %s", e.resp.Code, e.resp.Message)
	}
	return fmt.Sprintf("%s (HTTP %d): %s", e.resp.Code, e.resp.StatusCode, e.resp.Message)
}

func (e serverError) Unwrap() error { return e.resp }
