package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/s3"
	"github.com/sealpipe/sealpipe/storage/storagetest"
)

// server returns the configuration of the MinIO server the tests run
// against, for a bucket of t's own that New creates and that is removed
// with everything in it when t ends (testenv.BucketName).
func server(t testing.TB) s3.Config {
	t.Helper()
	m := testenv.MinIO(t)
	return s3.Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Region: m.Region,
		Bucket: testenv.BucketName(t, m), CreateBucket: true}
}

// admin returns a plain minio-go client of the server in cfg, for looking
// behind a Store's back.
func admin(t testing.TB, cfg s3.Config) minio.Core {
	t.Helper()
	host, secure := strings.TrimPrefix(strings.TrimPrefix(cfg.Endpoint, "http://"), "https://"), strings.HasPrefix(cfg.Endpoint, "https://")
	c, err := minio.NewCore(host, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: secure,
		Region: cfg.Region,
	})
	if err != nil {
		t.Fatal(err)
	}
	return *c
}

// newBucket returns a configuration for a bucket of its own for t, as
// server does; before the bucket is removed, the cleanup checks that no
// multipart upload was left behind in it.
func newBucket(t testing.TB) s3.Config {
	t.Helper()
	cfg := server(t)
	c := admin(t, cfg)
	t.Cleanup(func() { // before testenv's removal of the bucket
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if ok, err := c.BucketExists(ctx, cfg.Bucket); err != nil || !ok {
			return // never created, or removed by the test
		}
		for _, u := range uploads(t, c, cfg.Bucket) {
			t.Errorf("multipart upload of %q (%s) left behind", u.Key, u.UploadID)
		}
	})
	return cfg
}

// uploads returns the incomplete multipart uploads in bucket.
func uploads(t testing.TB, c minio.Core, bucket string) []minio.ObjectMultipartInfo {
	t.Helper()
	res, err := c.ListMultipartUploads(context.Background(), bucket, "", "", "", "", 1000)
	if err != nil {
		t.Fatalf("listing multipart uploads: %v", err)
	}
	return res.Uploads
}

// open returns a Store for cfg or fails the test.
func open(t testing.TB, cfg s3.Config) *s3.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := s3.New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// newStore returns a Store on a bucket of its own, with cfg tuned by tune.
func newStore(t testing.TB, tune func(*s3.Config)) (*s3.Store, s3.Config) {
	t.Helper()
	cfg := newBucket(t)
	if tune != nil {
		tune(&cfg)
	}
	return open(t, cfg), cfg
}

func TestConformance(t *testing.T) {
	for _, partSize := range []int64{s3.MinPartSize, s3.DefaultPartSize} {
		t.Run(fmt.Sprintf("PartSize=%dMiB", partSize>>20), func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) storage.Store {
				s, _ := newStore(t, func(c *s3.Config) { c.PartSize = partSize })
				return s
			})
		})
	}
}

func BenchmarkStore(b *testing.B) {
	storagetest.Benchmark(b, func(b *testing.B) storage.Store {
		s, _ := newStore(b, nil)
		return s
	})
}

// mustPut writes content under key or fails the test.
func mustPut(t testing.TB, s storage.Store, key, content string, opts storage.PutOptions) storage.ObjectInfo {
	t.Helper()
	info, err := s.Put(t.Context(), key, strings.NewReader(content), int64(len(content)), opts)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func TestKeys(t *testing.T) {
	s, cfg := newStore(t, nil)
	c := admin(t, cfg)
	// Characters that URL encoding, S3 listing encodings and signing
	// treat specially; keys that look already encoded must stay distinct
	// from their decoded forms.
	keys := []string{
		"with space/file name.pdf",
		" leading space/trailing space ",
		"inbox/税务局/批次 1/文件（一）.pdf",
		"日本語/한국어/中文/🔏",
		"plus+sign/a+b=c",
		"+",
		"%",
		"%25",
		"percent%/100% done",
		"encoded/a b",
		"encoded/a%20b",
		"encoded/a+b",
		"encoded/a%2Bb",
		"encoded/a%2Fb",
		"encoded/%E7%A8%8E",
		"encoded/%zz",
		"query?x=1&y=2#fragment",
		"punctuation/~!@$^*()[]{}<>|;:,'\"`",
	}
	for i, key := range keys {
		content := fmt.Sprintf("object %d", i)
		put := mustPut(t, s, key, content, storage.PutOptions{})
		got, info := storagetest.Get(t, s, key)
		if string(got) != content || info.Key != key || info.ETag != put.ETag {
			t.Errorf("Get(%q) = %q key %q ETag %q, want %q key %q ETag %q", key, got, info.Key, info.ETag, content, key, put.ETag)
		}
		// The server holds the key as given, not an encoding of it.
		if oi, err := c.StatObject(t.Context(), cfg.Bucket, key, minio.StatObjectOptions{}); err != nil || oi.Size != int64(len(content)) {
			t.Errorf("the server's StatObject(%q) = size %d, %v; want the object of %d bytes", key, oi.Size, err, len(content))
		}
		if got := storagetest.Keys(storagetest.List(t, s, key)); !slices.Contains(got, key) {
			t.Errorf("List(%q) = %q, want it to hold the key itself", key, got)
		}
	}
	want := slices.Sorted(slices.Values(keys))
	if got := storagetest.Keys(storagetest.List(t, s, "")); !slices.Equal(got, want) {
		t.Errorf("List(\"\") =\n%q\nwant\n%q", got, want)
	}
	for _, key := range keys {
		if err := s.Delete(t.Context(), key); err != nil {
			t.Errorf("Delete(%q): %v", key, err)
		}
	}
	if got := storagetest.Keys(storagetest.List(t, s, "")); len(got) != 0 {
		t.Errorf("after deleting every key, List(\"\") = %q", got)
	}
}

// content returns n pseudo-random bytes, different for each seed.
func content(seed byte, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// md5Hex returns the hex MD5 of b: the ETag S3 gives a single-part object.
func md5Hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}

// readerOnly hides any method but Read, such as the Len or Seek an
// implementation could use.
type readerOnly struct{ io.Reader }

func TestMultipart(t *testing.T) {
	const partSize = s3.MinPartSize
	for _, parallel := range []int{1, 3} {
		s, _ := newStore(t, func(c *s3.Config) { c.PartSize = partSize; c.PartUploads = parallel })
		for _, tc := range []struct {
			size  int
			parts int // 0: one PUT
		}{
			{1, 0},
			{partSize - 1, 0},
			{partSize, 0},
			{partSize + 1, 2},
			{4 * partSize, 4},
			{4*partSize + 12345, 5},
		} {
			// Content of unknown size, of known size read as a stream
			// (buffered part by part), of known size read at offsets
			// (each part a section of it, nothing buffered).
			for _, how := range []string{"size unknown", "size declared", "read at offsets"} {
				name := fmt.Sprintf("%d parallel, %d bytes, %s", parallel, tc.size, how)
				t.Run(name, func(t *testing.T) {
					key := fmt.Sprintf("multipart/%d/%d/%s", parallel, tc.size, how)
					want := content(byte(tc.size), tc.size)
					var body io.Reader = readerOnly{bytes.NewReader(want)}
					size := int64(len(want))
					switch how {
					case "size unknown":
						size = -1
					case "read at offsets":
						body = io.NewSectionReader(bytes.NewReader(want), 0, size)
					}
					put, err := s.Put(t.Context(), key, body, size, storage.PutOptions{ContentType: "application/pdf"})
					if err != nil {
						t.Fatal(err)
					}
					if put.Size != int64(tc.size) {
						t.Errorf("Put returned size %d, want %d", put.Size, tc.size)
					}
					// S3's ETags tell how an object was uploaded: the MD5
					// of a single PUT, "<md5 of part MD5s>-<parts>" of a
					// multipart upload.
					wantSuffix := fmt.Sprintf("-%d", tc.parts)
					switch {
					case tc.parts == 0 && put.ETag != md5Hex(want):
						t.Errorf("ETag %q, want the content's MD5 %s from a single PUT", put.ETag, md5Hex(want))
					case tc.parts > 0 && !strings.HasSuffix(put.ETag, wantSuffix):
						t.Errorf("ETag %q, want one of a multipart upload of %d parts", put.ETag, tc.parts)
					}
					got, info := storagetest.Get(t, s, key)
					if !bytes.Equal(got, want) {
						t.Errorf("read back %d bytes with SHA-256 %x, want %d bytes with %x", len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
					}
					if info.ETag != put.ETag || info.ContentType != "application/pdf" {
						t.Errorf("Get: ETag %q type %q, want %q application/pdf", info.ETag, info.ContentType, put.ETag)
					}
				})
			}
		}
	}
}

func TestConditionalMultipart(t *testing.T) {
	const size = 2*s3.MinPartSize + 1
	s, _ := newStore(t, func(c *s3.Config) { c.PartSize = s3.MinPartSize })
	ctx := t.Context()
	putBig := func(key string, seed byte, opts storage.PutOptions) (storage.ObjectInfo, error) {
		return s.Put(ctx, key, readerOnly{bytes.NewReader(content(seed, size))}, -1, opts)
	}

	first, err := putBig("big/create-only", 1, storage.PutOptions{IfNoneMatch: true})
	if err != nil {
		t.Fatalf("create-only multipart Put of a new key: %v", err)
	}
	if !strings.HasSuffix(first.ETag, "-3") {
		t.Fatalf("ETag %q: the test wants a multipart upload of 3 parts", first.ETag)
	}
	if _, err := putBig("big/create-only", 2, storage.PutOptions{IfNoneMatch: true}); !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Errorf("second create-only multipart Put: %v, want ErrPreconditionFailed", err)
	}

	second, err := putBig("big/create-only", 3, storage.PutOptions{IfMatch: first.ETag})
	if err != nil {
		t.Fatalf("multipart Put IfMatch the current ETag: %v", err)
	}
	for _, tc := range []struct{ name, key, etag string }{
		{"stale ETag", "big/create-only", first.ETag},
		{"missing object", "big/missing", second.ETag},
	} {
		if _, err := putBig(tc.key, 4, storage.PutOptions{IfMatch: tc.etag}); !errors.Is(err, storage.ErrPreconditionFailed) {
			t.Errorf("multipart Put IfMatch with a %s: %v, want ErrPreconditionFailed", tc.name, err)
		}
	}
	if got, info := storagetest.Get(t, s, "big/create-only"); !bytes.Equal(got, content(3, size)) || info.ETag != second.ETag {
		t.Errorf("object holds ETag %q, want the one written IfMatch, %q", info.ETag, second.ETag)
	}
}

// TestConditionalMultipartRace changes the object between the upload of
// the parts and the completion: the condition must be evaluated when the
// upload completes, not only when it starts.
func TestConditionalMultipartRace(t *testing.T) {
	const size = s3.MinPartSize + 1
	s, cfg := newStore(t, func(c *s3.Config) { c.PartSize = s3.MinPartSize })
	c := admin(t, cfg)
	interloper := []byte("written while the upload was in progress")

	for _, tc := range []struct {
		name  string
		exist bool // the object exists before the Put
		opts  func(current string) storage.PutOptions
	}{
		{"IfNoneMatch", false, func(string) storage.PutOptions { return storage.PutOptions{IfNoneMatch: true} }},
		{"IfMatch", true, func(etag string) storage.PutOptions { return storage.PutOptions{IfMatch: etag} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "race/" + tc.name
			var current string
			if tc.exist {
				current = mustPut(t, s, key, "original", storage.PutOptions{}).ETag
			}
			var interfered atomic.Bool
			defer s3.SetTestHookBeforeComplete(func(k string) {
				if k != key {
					return
				}
				// Behind the Store's back, as another process would.
				if _, err := c.PutObject(context.Background(), cfg.Bucket, key, bytes.NewReader(interloper), int64(len(interloper)), "", "", minio.PutObjectOptions{}); err != nil {
					t.Errorf("interloping write: %v", err)
				}
				interfered.Store(true)
			})()
			_, err := s.Put(t.Context(), key, readerOnly{bytes.NewReader(content(9, size))}, -1, tc.opts(current))
			if !interfered.Load() {
				t.Fatal("the upload never reached its completion")
			}
			if !errors.Is(err, storage.ErrPreconditionFailed) {
				t.Errorf("conditional multipart Put that lost a race: %v, want ErrPreconditionFailed", err)
			}
			if got, _ := storagetest.Get(t, s, key); !bytes.Equal(got, interloper) {
				t.Errorf("object holds %d bytes, want the interloper's %q", len(got), interloper)
			}
		})
	}
}

func TestMultipartCreateOnlyConcurrent(t *testing.T) {
	const writers, size = 4, s3.MinPartSize + 1
	s, _ := newStore(t, func(c *s3.Config) { c.PartSize = s3.MinPartSize })
	const key = "race/multipart"
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins = map[int]storage.ObjectInfo{}
	)
	for i := range writers {
		wg.Go(func() {
			info, err := s.Put(t.Context(), key, readerOnly{bytes.NewReader(content(byte(i), size))}, -1, storage.PutOptions{IfNoneMatch: true})
			switch {
			case err == nil:
				mu.Lock()
				wins[i] = info
				mu.Unlock()
			case !errors.Is(err, storage.ErrPreconditionFailed):
				t.Errorf("writer %d: %v, want success or ErrPreconditionFailed", i, err)
			}
		})
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("%d writers won, want 1", len(wins))
	}
	for i, info := range wins {
		if got, gi := storagetest.Get(t, s, key); !bytes.Equal(got, content(byte(i), size)) || gi.ETag != info.ETag {
			t.Errorf("object is not winner %d's", i)
		}
	}
}

// brokenReader yields zeros; after n bytes it calls hook, if set, and
// fails with err, if set, or ends after limit bytes.
type brokenReader struct {
	n, limit int
	hook     func()
	err      error
}

func (r *brokenReader) Read(p []byte) (int, error) {
	if r.limit == 0 {
		return 0, io.EOF
	}
	if r.n == 0 {
		if r.hook != nil {
			r.hook()
			r.hook = nil
		}
		if r.err != nil {
			return 0, r.err
		}
	}
	k := min(len(p), r.limit)
	if r.n > 0 {
		k = min(k, r.n)
	}
	clear(p[:k])
	r.limit -= k
	r.n = max(r.n-k, 0)
	return k, nil
}

// TestMultipartFailures breaks multipart uploads after some parts are
// uploaded: nothing may be stored, and the upload must be aborted.
func TestMultipartFailures(t *testing.T) {
	const mib = 1 << 20
	s, cfg := newStore(t, func(c *s3.Config) { c.PartSize = s3.MinPartSize; c.PartUploads = 2 })
	c := admin(t, cfg)
	errBroken := errors.New("upload connection broken")
	for _, tc := range []struct {
		name  string
		r     func(cancel context.CancelFunc) io.Reader
		size  int64
		check func(error) bool
	}{
		{"cancelled", func(cancel context.CancelFunc) io.Reader {
			return &brokenReader{n: 12 * mib, limit: 40 * mib, hook: cancel}
		}, -1, func(err error) bool { return errors.Is(err, context.Canceled) }},
		{"reader fails", func(context.CancelFunc) io.Reader {
			return &brokenReader{n: 12 * mib, limit: 40 * mib, err: errBroken}
		}, -1, func(err error) bool { return errors.Is(err, errBroken) && !storage.IsRetryable(err) }},
		{"shorter than declared", func(context.CancelFunc) io.Reader {
			return &brokenReader{limit: 12 * mib}
		}, 20 * mib, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) && !storage.IsRetryable(err) }},
		{"longer than declared", func(context.CancelFunc) io.Reader {
			return &brokenReader{limit: 20 * mib}
		}, 12 * mib, func(err error) bool { return err != nil && !storage.IsRetryable(err) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			key := "broken/" + tc.name
			_, err := s.Put(ctx, key, tc.r(cancel), tc.size, storage.PutOptions{})
			if !tc.check(err) {
				t.Errorf("Put: %v", err)
			}
			if _, err := s.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotExist) {
				t.Errorf("Stat after the failed Put: %v, want ErrNotExist", err)
			}
			if u := uploads(t, c, cfg.Bucket); len(u) != 0 {
				t.Errorf("uploads left after the failed Put: %+v", u)
			}
		})
	}
}

func TestUploadsCheck(t *testing.T) {
	// The cleanup of newBucket checks that no upload is left behind; make
	// sure that it would see one.
	cfg := server(t)
	open(t, cfg)
	c := admin(t, cfg)
	id, err := c.NewMultipartUpload(t.Context(), cfg.Bucket, "left/behind", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := uploads(t, c, cfg.Bucket); len(u) != 1 || u[0].Key != "left/behind" {
		t.Errorf("uploads = %+v, want the one left behind", u)
	}
	if err := c.AbortMultipartUpload(t.Context(), cfg.Bucket, "left/behind", id); err != nil {
		t.Fatal(err)
	}
	if u := uploads(t, c, cfg.Bucket); len(u) != 0 {
		t.Errorf("uploads = %+v after the abort, want none", u)
	}
}

func TestMetadataValues(t *testing.T) {
	s, cfg := newStore(t, nil)
	c := admin(t, cfg)
	// Values HTTP would trim, or that look encoded, must come back as
	// they were given.
	values := []string{
		"",
		" ",
		"  leading",
		"trailing  ",
		" both ",
		"in  side",
		"=?utf-8?b?eA==?=",
		"=?utf-8?b??=",
		"=?",
		"?=",
		"a=?b?=",
		"=?broken",
		"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
	}
	md := map[string]string{}
	for i, v := range values {
		md[fmt.Sprintf("v%d", i)] = v
	}
	const key = "metadata/values"
	mustPut(t, s, key, "x", storage.PutOptions{Metadata: md})
	st, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	_, gi := storagetest.Get(t, s, key)
	for op, got := range map[string]map[string]string{"Stat": st.Metadata, "Get": gi.Metadata} {
		for k, want := range md {
			if v, ok := got[k]; !ok || v != want {
				t.Errorf("%s metadata %s = %q (present %v), want %q", op, k, v, ok, want)
			}
		}
		if len(got) != len(md) {
			t.Errorf("%s metadata has %d entries, want %d: %q", op, len(got), len(md), got)
		}
	}

	// Other S3 clients see the encoded values as RFC 2047 encoded-words.
	u, err := c.Presign(t.Context(), http.MethodHead, cfg.Bucket, key, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Head(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var dec mime.WordDecoder
	if raw := resp.Header.Get("X-Amz-Meta-V4"); !strings.HasPrefix(raw, "=?") {
		t.Errorf("x-amz-meta-v4 is sent as %q, want an encoded-word", raw)
	} else if d, err := dec.Decode(raw); err != nil || d != " both " {
		t.Errorf("x-amz-meta-v4 = %q decodes to %q, %v; want \" both \"", raw, d, err)
	}
	if raw := resp.Header.Get("X-Amz-Meta-V5"); raw != "in  side" {
		t.Errorf("x-amz-meta-v5 is sent as %q, want it as it is", raw)
	}

	// And encoded-words other clients write are decoded.
	foreign := map[string]string{"name": mime.BEncoding.Encode("utf-8", "税务局 印章"), "plain": "as is"}
	if _, err := c.PutObject(t.Context(), cfg.Bucket, "metadata/foreign", strings.NewReader("x"), 1, "", "", minio.PutObjectOptions{UserMetadata: foreign}); err != nil {
		t.Fatal(err)
	}
	st, err = s.Stat(t.Context(), "metadata/foreign")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"name": "税务局 印章", "plain": "as is"}; !maps.Equal(st.Metadata, want) {
		t.Errorf("metadata written by another client = %q, want %q", st.Metadata, want)
	}
}

func TestListSkipsForeignKeys(t *testing.T) {
	s, cfg := newStore(t, nil)
	c := admin(t, cfg)
	// A "folder" marker as S3 consoles create it: not a valid key.
	if _, err := c.PutObject(t.Context(), cfg.Bucket, "inbox/tax/", bytes.NewReader(nil), 0, "", "", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "inbox/tax/doc.pdf", "doc", storage.PutOptions{})
	if got := storagetest.Keys(storagetest.List(t, s, "inbox/")); !slices.Equal(got, []string{"inbox/tax/doc.pdf"}) {
		t.Errorf("List(\"inbox/\") = %q, want only inbox/tax/doc.pdf", got)
	}
}

func TestPutModTime(t *testing.T) {
	s, _ := newStore(t, nil)
	for _, size := range []int{10, s3.MinPartSize + 1} {
		key := fmt.Sprintf("modtime/%d", size)
		start := time.Now()
		put, err := s.Put(t.Context(), key, bytes.NewReader(make([]byte, size)), -1, storage.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		st, err := s.Stat(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		// Both come from the server's clock, in whole seconds: the Date of
		// the answer follows the object's Last-Modified by at most the time
		// the Put took, which a loaded machine may stretch past a second.
		if d := put.ModTime.Sub(st.ModTime); d < -time.Second || d > took+time.Second {
			t.Errorf("Put ModTime %v is %v from Stat's %v (the Put took %v)", put.ModTime, d, st.ModTime, took)
		}
	}
}

func TestMissingBucket(t *testing.T) {
	cfg := newBucket(t)
	cfg.CreateBucket = false
	_, err := s3.New(t.Context(), cfg)
	if !errors.Is(err, s3.ErrNoBucket) || !errors.Is(err, storage.ErrNotExist) || storage.IsRetryable(err) {
		t.Fatalf("New without the bucket: %v, want ErrNoBucket and ErrNotExist, not retryable", err)
	}
	if !strings.Contains(err.Error(), cfg.Bucket) {
		t.Errorf("error %q does not name the bucket %q", err, cfg.Bucket)
	}

	// The bucket disappears under a Store.
	cfg.CreateBucket = true
	s := open(t, cfg)
	open(t, cfg) // creating an existing bucket is no error
	if err := admin(t, cfg).RemoveBucket(t.Context(), cfg.Bucket); err != nil {
		t.Fatal(err)
	}
	errs := map[string]error{}
	_, errs["Put"] = s.Put(t.Context(), "k", strings.NewReader("x"), 1, storage.PutOptions{})
	_, errs["Put IfMatch"] = s.Put(t.Context(), "k", strings.NewReader("x"), 1, storage.PutOptions{IfMatch: "abc"})
	_, errs["Stat"] = s.Stat(t.Context(), "k")
	_, _, errs["Get"] = s.Get(t.Context(), "k")
	errs["List"] = s.List(t.Context(), "", func(storage.ObjectInfo) error { return nil })
	for op, err := range errs {
		if !errors.Is(err, storage.ErrNotExist) || storage.IsRetryable(err) {
			t.Errorf("%s in a removed bucket: %v, want ErrNotExist, not retryable", op, err)
		}
		// A HEAD answer has no body to tell a missing bucket from a
		// missing key.
		if op != "Stat" && !errors.Is(err, s3.ErrNoBucket) {
			t.Errorf("%s in a removed bucket: %v, want ErrNoBucket", op, err)
		}
	}
}

func TestWrongCredentials(t *testing.T) {
	for _, tc := range []struct {
		name string
		tune func(*s3.Config)
	}{
		{"wrong secret", func(c *s3.Config) { c.SecretKey += "x" }},
		{"unknown access key", func(c *s3.Config) { c.AccessKey = "nobody-at-all" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newBucket(t)
			open(t, cfg) // the bucket exists
			tc.tune(&cfg)
			_, err := s3.New(t.Context(), cfg)
			var se *storage.Error
			var resp minio.ErrorResponse
			switch {
			case !errors.As(err, &se) || se.Retryable:
				t.Errorf("New with the %s: %v, want a permanent *storage.Error", tc.name, err)
			case !errors.As(err, &resp) || resp.StatusCode != http.StatusForbidden:
				t.Errorf("New with the %s: %v, want it to carry the server's 403", tc.name, err)
			}
		})
	}
}

// fault is an error answer a faultTransport gives instead of the server.
type fault struct {
	status int
	code   string
}

// faultTransport passes requests on to the server until armed with a fault,
// then answers them all with it, counting them.
type faultTransport struct {
	next     http.RoundTripper
	fault    atomic.Pointer[fault]
	answered atomic.Int64
}

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ft := f.fault.Load()
	if ft == nil {
		return f.next.RoundTrip(req)
	}
	f.answered.Add(1)
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	body := ""
	if req.Method != http.MethodHead { // HEAD answers have no body
		body = fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>injected by the test</Message><RequestId>test</RequestId></Error>`, ft.code)
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", ft.status, http.StatusText(ft.status)),
		StatusCode:    ft.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/xml"}, "Date": {time.Now().UTC().Format(http.TimeFormat)}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

// outcome is how an error is classified.
type outcome string

const (
	success      outcome = "success"
	retryable    outcome = "retryable"
	permanent    outcome = "permanent"
	notExist     outcome = "ErrNotExist"
	noBucket     outcome = "ErrNoBucket"
	precondition outcome = "ErrPreconditionFailed"
	invalidKey   outcome = "ErrInvalidKey"
)

// classify returns the outcome err stands for.
func classify(err error) outcome {
	var se *storage.Error
	switch {
	case err == nil:
		return success
	case errors.Is(err, s3.ErrNoBucket):
		return noBucket
	case errors.Is(err, storage.ErrNotExist):
		return notExist
	case errors.Is(err, storage.ErrPreconditionFailed):
		return precondition
	case errors.Is(err, storage.ErrInvalidKey):
		return invalidKey
	case errors.As(err, &se) && se.Retryable:
		return retryable
	case errors.As(err, &se):
		return permanent
	}
	return outcome(fmt.Sprintf("unclassified %T", err))
}

// operations are the Store's operations, each on one small object, keyed
// by a name for messages.
var operations = map[string]func(ctx context.Context, s storage.Store) error{
	"Get": func(ctx context.Context, s storage.Store) error {
		rc, _, err := s.Get(ctx, "obj")
		if rc != nil {
			rc.Close()
		}
		return err
	},
	"Stat": func(ctx context.Context, s storage.Store) error {
		_, err := s.Stat(ctx, "obj")
		return err
	},
	"Put": func(ctx context.Context, s storage.Store) error {
		_, err := s.Put(ctx, "obj", strings.NewReader("new"), 3, storage.PutOptions{})
		return err
	},
	"Put unknown size": func(ctx context.Context, s storage.Store) error {
		_, err := s.Put(ctx, "obj", strings.NewReader("new"), -1, storage.PutOptions{})
		return err
	},
	"Put IfNoneMatch": func(ctx context.Context, s storage.Store) error {
		_, err := s.Put(ctx, "new", strings.NewReader("new"), -1, storage.PutOptions{IfNoneMatch: true})
		return err
	},
	"Put IfMatch": func(ctx context.Context, s storage.Store) error {
		_, err := s.Put(ctx, "obj", strings.NewReader("new"), 3, storage.PutOptions{IfMatch: "0123456789abcdef0123456789abcdef"})
		return err
	},
	"Delete": func(ctx context.Context, s storage.Store) error {
		return s.Delete(ctx, "obj")
	},
	"List": func(ctx context.Context, s storage.Store) error {
		return s.List(ctx, "", func(storage.ObjectInfo) error { return nil })
	},
}

func TestServerErrors(t *testing.T) {
	ft := &faultTransport{next: http.DefaultTransport}
	s, _ := newStore(t, func(c *s3.Config) { c.Transport = ft; c.MaxRetries = -1 })
	mustPut(t, s, "obj", "old", storage.PutOptions{})

	for _, tc := range []struct {
		fault fault
		want  outcome
		// exceptions, by operation
		except map[string]outcome
	}{
		{fault{503, "SlowDown"}, retryable, nil},
		{fault{503, "ServiceUnavailable"}, retryable, nil},
		{fault{500, "InternalError"}, retryable, nil},
		{fault{502, "BadGateway"}, retryable, nil},
		{fault{429, "TooManyRequests"}, retryable, nil},
		{fault{400, "RequestTimeout"}, retryable, map[string]outcome{"Stat": permanent}},
		{fault{409, "ConditionalRequestConflict"}, retryable, map[string]outcome{"Stat": permanent}},
		{fault{400, "InvalidArgument"}, permanent, nil},
		{fault{403, "AccessDenied"}, permanent, nil},
		{fault{403, "SignatureDoesNotMatch"}, permanent, nil},
		{fault{501, "NotImplemented"}, permanent, nil},
		{fault{404, "NoSuchKey"}, notExist, map[string]outcome{"Delete": success, "Put IfMatch": precondition}},
		{fault{404, "NoSuchBucket"}, noBucket, map[string]outcome{"Stat": notExist}},
		{fault{412, "PreconditionFailed"}, precondition, nil},
	} {
		ft.fault.Store(&tc.fault)
		for name, op := range operations {
			want := tc.want
			if w, ok := tc.except[name]; ok {
				want = w
			}
			err := op(t.Context(), s)
			if got := classify(err); got != want {
				t.Errorf("%s answered %d %s: %v, classified %s, want %s", name, tc.fault.status, tc.fault.code, err, got, want)
			}
		}
	}
}

// TestRetries checks which requests the Store repeats after a transient
// failure: those that may safely be repeated, and never a conditional
// write.
func TestRetries(t *testing.T) {
	const maxRetries = 2
	ft := &faultTransport{next: http.DefaultTransport}
	s, _ := newStore(t, func(c *s3.Config) { c.Transport = ft; c.MaxRetries = maxRetries })
	mustPut(t, s, "obj", "old", storage.PutOptions{})
	ft.fault.Store(&fault{503, "SlowDown"})
	for name, want := range map[string]int64{
		"Get":              1 + maxRetries,
		"Stat":             1 + maxRetries,
		"Delete":           1 + maxRetries,
		"List":             1 + maxRetries,
		"Put unknown size": 1 + maxRetries, // buffered, so it can be sent again
		"Put":              1,              // streamed from the caller's reader
		"Put IfNoneMatch":  1,
		"Put IfMatch":      1,
	} {
		ft.answered.Store(0)
		err := operations[name](t.Context(), s)
		if !storage.IsRetryable(err) {
			t.Errorf("%s: %v, want a retryable error", name, err)
		}
		if got := ft.answered.Load(); got != want {
			t.Errorf("%s sent %d requests, want %d", name, got, want)
		}
	}
}

// proxy is a TCP proxy in front of the server, whose failures the tests
// control.
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string
	mode   atomic.Value // string: "forward", "reset" or "hang"
	mu     sync.Mutex
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// startProxy starts a proxy to the host:port target, forwarding.
func startProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.mode.Store("forward")
	p.wg.Go(p.serve)
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		switch p.mode.Load() {
		case "reset":
			c.(*net.TCPConn).SetLinger(0) // close with RST
			c.Close()
		case "hang": // accept, read nothing, answer nothing
			p.track(c)
		default:
			p.track(c)
			p.wg.Go(func() { p.forward(c) })
		}
	}
}

// track remembers c, to close it when the proxy stops.
func (p *proxy) track(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		p.conns[c] = true
	}
}

func (p *proxy) forward(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.track(up)
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// stop closes the listener and every connection: from then on,
// connections to the proxy's address are refused, as by a stopped server.
func (p *proxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func TestNetworkErrors(t *testing.T) {
	cfg := newBucket(t)
	open(t, cfg) // create the bucket
	target := strings.TrimPrefix(cfg.Endpoint, "http://")
	if strings.HasPrefix(cfg.Endpoint, "https://") {
		t.Skip("the proxy test speaks plain HTTP")
	}

	// Each case writes an object through a proxy, makes a Store with short
	// timeouts through it, then breaks the path to the server.
	for _, tc := range []struct {
		name  string
		brk   func(*proxy)
		check func(t *testing.T, err error)
	}{
		{"server stopped", (*proxy).stop, func(t *testing.T, err error) {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("error %v, want it to wrap ECONNREFUSED", err)
			}
		}},
		{"connections reset", func(p *proxy) { p.mode.Store("reset"); p.dropConns() }, nil},
		{"server hangs", func(p *proxy) { p.mode.Store("hang"); p.dropConns() }, func(t *testing.T, err error) {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("error %v, want a timeout", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, target)
			cfg := cfg
			cfg.Endpoint = "http://" + p.ln.Addr().String()
			cfg.MaxRetries = -1
			// The object is written with the default timeouts: a loaded
			// machine may take longer than the short one to store it.
			mustPut(t, open(t, cfg), "obj", "old", storage.PutOptions{})
			cfg.ResponseHeaderTimeout = 300 * time.Millisecond
			// Every request after the breakdown dials afresh, rather than
			// finding a kept connection closed by it: idle connections are
			// dropped before the breakdown is looked at. Not much sooner:
			// New's own requests reuse a connection, and one taken just as
			// its idle timer fires fails ("idle connection timeout").
			cfg.IdleConnTimeout = 30 * time.Millisecond
			s := open(t, cfg)
			tc.brk(p)
			time.Sleep(100 * time.Millisecond)
			for name, op := range operations {
				start := time.Now()
				err := op(t.Context(), s)
				if got := classify(err); got != retryable {
					t.Errorf("%s: %v, classified %s, want retryable", name, err, got)
				}
				if tc.check != nil {
					tc.check(t, err)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("%s took %v to fail", name, d)
				}
			}
		})
	}

	t.Run("server stops reading", func(t *testing.T) {
		p := startProxy(t, target)
		cfg := cfg
		cfg.Endpoint = "http://" + p.ln.Addr().String()
		cfg.MaxRetries = -1
		cfg.WriteTimeout = 300 * time.Millisecond
		cfg.PartSize = 64 << 20 // more than the sockets' buffers hold
		// The Put must dial afresh, not reuse the connection New made
		// before the proxy hung.
		cfg.IdleConnTimeout = time.Millisecond
		s := open(t, cfg)
		p.mode.Store("hang")
		time.Sleep(50 * time.Millisecond)
		const size = 64 << 20
		start := time.Now()
		_, err := s.Put(t.Context(), "obj", io.LimitReader(zeros{}, size), size, storage.PutOptions{})
		var ne net.Error
		if got := classify(err); got != retryable || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("Put to a server that stopped reading: %v, classified %s, want a retryable timeout", err, got)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Put took %v to fail", d)
		}
	})

	t.Run("nothing listening", func(t *testing.T) {
		p := startProxy(t, target)
		p.stop()
		cfg := cfg
		cfg.Endpoint = "http://" + p.ln.Addr().String()
		cfg.MaxRetries = -1
		_, err := s3.New(t.Context(), cfg)
		if got := classify(err); got != retryable || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("New: %v, classified %s, want retryable ECONNREFUSED", err, got)
		}
	})
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// dropConns closes the connections open through the proxy, so that the
// client must make new ones.
func (p *proxy) dropConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func TestConfig(t *testing.T) {
	valid := s3.Config{Endpoint: "127.0.0.1:9", AccessKey: "a", SecretKey: "s", Bucket: "records"}
	for _, tc := range []struct {
		name string
		tune func(*s3.Config)
		want string // in the error
	}{
		{"no endpoint", func(c *s3.Config) { c.Endpoint = "" }, "endpoint"},
		{"endpoint with a path", func(c *s3.Config) { c.Endpoint = "http://127.0.0.1:9/bucket" }, "host[:port]"},
		{"unknown scheme", func(c *s3.Config) { c.Endpoint = "ftp://127.0.0.1:9" }, `"ftp"`},
		{"http and Secure", func(c *s3.Config) { c.Endpoint = "http://127.0.0.1:9"; c.Secure = true }, "Secure"},
		{"no access key", func(c *s3.Config) { c.AccessKey = "" }, "AccessKey"},
		{"no secret key", func(c *s3.Config) { c.SecretKey = "" }, "SecretKey"},
		{"no bucket", func(c *s3.Config) { c.Bucket = "" }, "bucket"},
		{"bad bucket", func(c *s3.Config) { c.Bucket = "Records_2024" }, `"Records_2024"`},
		{"small parts", func(c *s3.Config) { c.PartSize = s3.MinPartSize - 1 }, "PartSize"},
		{"huge parts", func(c *s3.Config) { c.PartSize = s3.MaxPartSize + 1 }, "PartSize"},
		{"negative part uploads", func(c *s3.Config) { c.PartUploads = -1 }, "PartUploads"},
		{"negative timeout", func(c *s3.Config) { c.DialTimeout = -time.Second }, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.tune(&cfg)
			_, err := s3.New(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error about %s", err, tc.want)
			}
			if storage.IsRetryable(err) {
				t.Errorf("invalid config reported retryable: %v", err)
			}
		})
	}
}
