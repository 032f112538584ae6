// Package s3 is a storage.Store on one bucket of an S3 server, built on
// minio-go. It is sealpipe's production object store,
// written against MinIO and usable with any server that implements S3's
// conditional writes.
//
// # Writes
//
// Put sends content of a known size up to Config.PartSize in one streamed
// PUT. Larger content, and content of unknown size that turns out larger
// than one part, goes up as a multipart upload: parts of PartSize bytes, up
// to Config.PartUploads of them in flight, each buffered so that a failed
// part can be sent again — unless Put can read the content where it lies,
// at offsets (an *io.SectionReader, *bytes.Reader or the like, at its
// start, of the declared size): then each part is a section of it, read
// again if sent again, and nothing is buffered, so a file of any size goes
// up in constant memory. Content of unknown size that fits in one part is
// buffered and sent in one PUT, so a small object always gets the plain MD5
// ETag. Either way the write is all or nothing: a PUT whose body ends early
// (or whose content turns out longer than declared) is cut off before its
// last byte, so the server never stores it, and a failed multipart upload is
// aborted before Put returns.
//
// # Conditional writes
//
// PutOptions.IfNoneMatch sends "If-None-Match: *" and PutOptions.IfMatch
// sends "If-Match" with the ETag, on the PUT or, for a multipart upload, on
// CompleteMultipartUpload: the request at which the server makes the new
// version visible and evaluates the condition atomically with it (MinIO under
// the object's namespace lock). minio-go's own multipart code drops these
// headers from the completion request, which would leave a window between
// the start of an upload and its completion; this package therefore drives
// multipart uploads itself, and checks the condition with a HEAD before
// uploading the first part only to fail early. Conditional writes need a
// server that honours the headers, as current MinIO releases and Amazon S3
// do; one that ignores them silently turns a conditional write into a
// plain one.
//
// A failed condition is reported as storage.ErrPreconditionFailed: HTTP 412
// PreconditionFailed, and also NoSuchKey for an IfMatch write of a missing
// object (MinIO's answer). Conditional PUTs and every
// CompleteMultipartUpload are sent once, never repeated by the client: a retry after a lost response could fail the condition its own
// first attempt satisfied. So ErrPreconditionFailed from Put always means
// that this call wrote nothing; a lost response is a retryable
// *storage.Error after which the write may or may not have happened.
//
// # Errors
//
// Failures are classified as package storage asks:
//
//	NoSuchKey                           storage.ErrNotExist
//	NoSuchBucket                        storage.ErrNotExist and ErrNoBucket
//	PreconditionFailed (412)            storage.ErrPreconditionFailed
//	KeyTooLongError, MinIO's refusals
//	of a key name                       storage.ErrInvalidKey
//	5xx but 501, 408, 429, SlowDown and
//	other throttling codes, AWS's
//	ConditionalRequestConflict,
//	timeouts, refused or reset
//	connections                         *storage.Error, Retryable
//	other 4xx, 501, TLS failures,
//	unknown host names                  *storage.Error, permanent
//
// An error made of the server's answer wraps the minio.ErrorResponse.
// Before a transient failure is returned, minio-go retries the request up
// to Config.MaxRetries times, with backoff, if it may be repeated: reads,
// listings, deletes, parts, and plain PUTs of buffered content (not those
// streamed from the caller's reader, nor conditional ones).
//
// # Metadata
//
// User metadata travels as x-amz-meta-* headers, whose names S3 folds to
// lower case, as storage.PutOptions requires of its keys. HTTP trims the
// spaces around a header value, and minio-go decodes every value that
// begins with "=?" as RFC 2047 encoded-words (the form in which Amazon S3
// and MinIO send values outside printable ASCII). So a value with a
// space at either end, an empty value, and one that begins with "=?" are
// sent as one RFC 2047 encoded-word ("=?utf-8?b?...?="), which minio-go
// decodes back on reading and other S3 clients can decode too. The
// encoded form counts against the server's 2 KiB limit on metadata.
//
// # Listings and times
//
// List pages through ListObjectsV2 (1000 keys a page) in the lexical order
// S3 gives. An S3 listing carries no content type, so listed ObjectInfo has
// an empty ContentType as well as nil Metadata. Objects written by other
// tools under keys storage.CheckKey refuses (such as the "folder/" markers
// some consoles create) are left out of listings.
//
// ModTime comes from the server's clock: Last-Modified for Stat and Get,
// the listing's LastModified for List, and the Date of the server's answer
// for Put. HTTP dates have whole seconds.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/sealpipe/sealpipe/storage"
)

// Defaults for the zero values of Config.
const (
	// DefaultRegion is the region of a Config without one. MinIO accepts
	// any region unless it is configured with one.
	DefaultRegion = "us-east-1"
	// DefaultPartSize is the part size of multipart uploads, and the
	// largest content sent in one PUT. It is minio-go's.
	DefaultPartSize = 16 << 20
	// DefaultPartUploads is how many parts of one Put are in flight at once.
	DefaultPartUploads = 4
	// DefaultMaxRetries is how many times a failed request that may be
	// repeated is retried.
	DefaultMaxRetries = 3
	// DefaultDialTimeout bounds the setting up of a connection.
	DefaultDialTimeout = 10 * time.Second
	// DefaultResponseHeaderTimeout bounds the wait for the server's answer
	// once a request has been sent in full.
	DefaultResponseHeaderTimeout = 2 * time.Minute
	// DefaultIdleConnTimeout is how long an unused connection is kept open.
	DefaultIdleConnTimeout = 90 * time.Second
	// DefaultWriteTimeout bounds each write of a request to a connection.
	DefaultWriteTimeout = time.Minute
)

// S3's limits on multipart uploads.
const (
	// MinPartSize is the smallest part S3 accepts, except for the last.
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part S3 accepts.
	MaxPartSize = 5 << 30
	// maxParts is the most parts one upload may have.
	maxParts = 10000
)

// ErrNoBucket reports that the configured bucket does not exist. Errors
// wrapping it also wrap storage.ErrNotExist.
var ErrNoBucket = errors.New("s3: bucket does not exist")

// Config says where a Store's bucket is and how to reach it. Zero values
// mean the documented defaults; Endpoint, AccessKey, SecretKey and Bucket
// are required.
type Config struct {
	// Endpoint is the server's host and port, such as "127.0.0.1:9000" or
	// "s3.cn-north-1.amazonaws.com.cn". An "http://" or "https://" prefix
	// is accepted and chooses Secure.
	Endpoint string
	// AccessKey and SecretKey are the static credentials to sign
	// requests with; SessionToken goes with temporary ones.
	AccessKey, SecretKey, SessionToken string
	// Region is the bucket's region. Empty means DefaultRegion.
	Region string
	// Bucket names the bucket the Store reads and writes.
	Bucket string
	// Secure makes the Store use HTTPS.
	Secure bool
	// CreateBucket makes New create the bucket if it does not exist.
	// Otherwise a missing bucket is an error wrapping ErrNoBucket.
	CreateBucket bool
	// SkipBucketCheck makes New neither check nor create the bucket: for
	// credentials that may not look at the bucket itself, such as a
	// department's (package iam), whose first request says whether the
	// bucket is there. CreateBucket is then ignored.
	SkipBucketCheck bool

	// PartSize is the size of the parts of a multipart upload, from
	// MinPartSize to MaxPartSize; content of known size up to PartSize
	// goes up in one PUT. Zero means DefaultPartSize. A Put of unknown
	// size may hold 10000 parts at most, so PartSize bounds its length. A
	// larger Put of known size uses larger parts if 10000 do not suffice.
	PartSize int64
	// PartUploads is how many parts of one Put are uploaded at once. A
	// multipart Put of content it cannot read at offsets holds up to
	// PartUploads buffers of PartSize bytes.
	// Zero means DefaultPartUploads.
	PartUploads int
	// MaxRetries is how many times a request that may safely be repeated
	// is retried after a transient failure, with exponential backoff.
	// Zero means DefaultMaxRetries; a negative value disables retries.
	MaxRetries int

	// DialTimeout bounds connecting to the server, TLS handshake
	// included. Zero means DefaultDialTimeout.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the server to begin its
	// answer once a request has been sent. Zero means
	// DefaultResponseHeaderTimeout.
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout is how long an idle connection is kept for reuse.
	// Zero means DefaultIdleConnTimeout.
	IdleConnTimeout time.Duration
	// WriteTimeout bounds each write of a request to a connection (at
	// most a few tens of KiB), so that an upload the server stops
	// reading fails instead of hanging: ResponseHeaderTimeout only
	// starts once the request is sent. Zero means DefaultWriteTimeout.
	// Reading Get's content is bounded by its context only.
	WriteTimeout time.Duration
	// Transport, if set, carries the requests instead of a transport
	// built from the timeouts above, which it then ignores (for custom
	// TLS roots or proxies, and for tests).
	Transport http.RoundTripper
}

// Store is a storage.Store on one S3 bucket. It is safe for concurrent use.
type Store struct {
	bucket      string
	partSize    int64
	partUploads int
	client      *minio.Client // retries requests that may be repeated
	core        minio.Core    // client's low-level API
	once        minio.Core    // sends each request once: conditional PUTs, completions
	buffers     sync.Pool     // *[]byte of partSize bytes
}

var _ storage.Store = (*Store)(nil)

// New returns the Store for cfg.Bucket. It checks that the bucket exists,
// creating it if cfg.CreateBucket is set, so that a wrong endpoint,
// credentials or bucket show up here rather than at the first write
// (unless cfg.SkipBucketCheck). Its errors are classified like those of
// the Store's methods.
func New(ctx context.Context, cfg Config) (*Store, error) {
	cfg, endpoint, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	transport := cfg.Transport
	if transport == nil {
		transport = newTransport(cfg)
	}
	transport = &dateRecorder{next: transport}
	newClient := func(attempts int) (*minio.Client, error) {
		return minio.New(endpoint, &minio.Options{
			Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
			Secure:       cfg.Secure,
			Transport:    transport,
			Region:       cfg.Region,
			BucketLookup: minio.BucketLookupAuto,
			MaxRetries:   attempts,
		})
	}
	client, err := newClient(1 + cfg.MaxRetries)
	if err != nil {
		return nil, fmt.Errorf("s3: endpoint %q: %w", cfg.Endpoint, err)
	}
	once, err := newClient(1)
	if err != nil {
		return nil, fmt.Errorf("s3: endpoint %q: %w", cfg.Endpoint, err)
	}
	s := &Store{
		bucket:      cfg.Bucket,
		partSize:    cfg.PartSize,
		partUploads: cfg.PartUploads,
		client:      client,
		core:        minio.Core{Client: client},
		once:        minio.Core{Client: once},
	}
	s.buffers.New = func() any {
		b := make([]byte, s.partSize)
		return &b
	}
	if cfg.SkipBucketCheck {
		return s, nil
	}
	if err := s.checkBucket(ctx, cfg.CreateBucket); err != nil {
		return nil, err
	}
	return s, nil
}

// resolve validates cfg and fills in its defaults. It returns the endpoint
// as minio-go wants it: host and port without a scheme.
func (cfg Config) resolve() (Config, string, error) {
	bad := func(format string, args ...any) (Config, string, error) {
		return Config{}, "", fmt.Errorf("s3: invalid config: "+format, args...)
	}
	endpoint := cfg.Endpoint
	if scheme, rest, ok := strings.Cut(endpoint, "://"); ok {
		switch scheme {
		case "https":
			cfg.Secure = true
		case "http":
			if cfg.Secure {
				return bad("endpoint %q is http:// but Secure is set", cfg.Endpoint)
			}
		default:
			return bad("endpoint %q: scheme %q, want http or https", cfg.Endpoint, scheme)
		}
		endpoint = strings.TrimSuffix(rest, "/")
	}
	if endpoint == "" || strings.ContainsAny(endpoint, "/?#@ ") {
		return bad("endpoint %q: want host[:port]", cfg.Endpoint)
	}
	if _, err := url.Parse("http://" + endpoint); err != nil {
		return bad("endpoint %q: %v", cfg.Endpoint, err)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return bad("AccessKey and SecretKey are required")
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return bad("bucket %q: %v", cfg.Bucket, err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	switch {
	case cfg.PartSize == 0:
		cfg.PartSize = DefaultPartSize
	case cfg.PartSize < MinPartSize || cfg.PartSize > MaxPartSize:
		return bad("PartSize %d: want %d to %d bytes", cfg.PartSize, MinPartSize, MaxPartSize)
	}
	switch {
	case cfg.PartUploads == 0:
		cfg.PartUploads = DefaultPartUploads
	case cfg.PartUploads < 0:
		return bad("PartUploads %d: want a positive number", cfg.PartUploads)
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	for _, d := range []*time.Duration{&cfg.DialTimeout, &cfg.ResponseHeaderTimeout, &cfg.IdleConnTimeout, &cfg.WriteTimeout} {
		if *d < 0 {
			return bad("negative timeout %v", *d)
		}
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.ResponseHeaderTimeout == 0 {
		cfg.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	}
	if cfg.IdleConnTimeout == 0 {
		cfg.IdleConnTimeout = DefaultIdleConnTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	return cfg, endpoint, nil
}

// checkBucket makes sure the bucket exists, creating it if create is set.
func (s *Store) checkBucket(ctx context.Context, create bool) error {
	const op = "open bucket"
	ok, err := s.client.BucketExists(ctx, s.bucket)
	switch {
	case err != nil:
		return s.classify(ctx, op, "", err)
	case ok:
		return nil
	case !create:
		return noBucket(op, s.bucket)
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{})
	if code := minio.ToErrorResponse(err).Code; code == minio.BucketAlreadyOwnedByYou || code == minio.BucketAlreadyExists {
		// Created meanwhile by someone else. BucketAlreadyExists may
		// mean that someone is another account: the next request says.
		return nil
	}
	if err != nil {
		return s.classify(ctx, "create bucket", "", err)
	}
	return nil
}

// Bucket returns the name of the Store's bucket.
func (s *Store) Bucket() string { return s.bucket }

// Get opens the object for reading with one GET request, whose answer
// carries the object's information. Reads fail once ctx is done; a read
// that fails otherwise returns a classified *storage.Error.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	const op = "get"
	if err := precheck(ctx, op, key); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	body, oi, _, err := s.core.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, storage.ObjectInfo{}, s.classify(ctx, op, key, err)
	}
	info, err := objectInfo(key, oi)
	if err != nil {
		body.Close()
		return nil, storage.ObjectInfo{}, &storage.Error{Op: op, Key: key, Err: err}
	}
	return &reader{s: s, ctx: ctx, key: key, body: body}, info, nil
}

// Stat returns the object's information with one HEAD request.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	const op = "stat"
	if err := precheck(ctx, op, key); err != nil {
		return storage.ObjectInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return storage.ObjectInfo{}, s.classify(ctx, op, key, err)
	}
	info, err := objectInfo(key, oi)
	if err != nil {
		return storage.ObjectInfo{}, &storage.Error{Op: op, Key: key, Err: err}
	}
	return info, nil
}

// Delete removes the object. S3 reports success for a missing object
// too; so does Delete if a server answers NoSuchKey instead.
func (s *Store) Delete(ctx context.Context, key string) error {
	const op = "delete"
	if err := precheck(ctx, op, key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err == nil {
		return nil
	}
	err = s.classify(ctx, op, key, err)
	if errors.Is(err, storage.ErrNotExist) && !errors.Is(err, ErrNoBucket) {
		return nil
	}
	return err
}

// List calls fn for every object whose key starts with prefix, in the
// lexical order of the server's ListObjectsV2 pages. It skips keys that
// storage.CheckKey refuses.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	const op = "list"
	if err := ctx.Err(); err != nil {
		return &storage.Error{Op: op, Key: prefix, Retryable: transientContext(err), Err: err}
	}
	if !validPrefix(prefix) {
		return nil
	}
	// Stopping early must end the listing's requests too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	noOwner := false
	objects := s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix:     prefix,
		Recursive:  true,
		FetchOwner: &noOwner,
	})
	for oi := range objects {
		if oi.Err != nil {
			return s.classify(ctx, op, prefix, oi.Err)
		}
		if storage.CheckKey(oi.Key) != nil {
			continue
		}
		if err := fn(storage.ObjectInfo{
			Key:     oi.Key,
			Size:    oi.Size,
			ETag:    trimETag(oi.ETag),
			ModTime: oi.LastModified,
		}); err != nil {
			return err
		}
	}
	// The iterator ends quietly when ctx is done.
	if err := ctx.Err(); err != nil {
		return &storage.Error{Op: op, Key: prefix, Retryable: transientContext(err), Err: err}
	}
	return nil
}

// validPrefix reports whether some key storage.CheckKey accepts begins
// with prefix: the prefix is a valid key itself, or it is one when a
// letter is added (which also mends a trailing slash, dot or "..").
func validPrefix(prefix string) bool {
	return prefix == "" || storage.CheckKey(prefix) == nil || storage.CheckKey(prefix+"x") == nil
}

// precheck validates key and ctx before an operation.
func precheck(ctx context.Context, op, key string) error {
	if err := storage.CheckKey(key); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return &storage.Error{Op: op, Key: key, Retryable: transientContext(err), Err: err}
	}
	return nil
}

// reader is the content Get returns: the response body, with its failures
// classified.
type reader struct {
	s    *Store
	ctx  context.Context
	key  string
	body io.ReadCloser
}

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.classify(r.ctx, "get", r.key, err)
	}
	return n, err
}

// Close implements io.Closer.
func (r *reader) Close() error { return r.body.Close() }
