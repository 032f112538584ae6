package s3

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sealpipe/sealpipe/storage"
)

// newWrite returns a write of content declared as size bytes, reading it
// through wrap.
func newWrite(content []byte, size int64, wrap func(io.Reader) io.Reader) *write {
	ctx := context.Background()
	return &write{ctx: ctx, key: "k", size: size, src: &source{ctx: ctx, r: wrap(bytes.NewReader(content))}}
}

// readers are the ways the tests hand content to a write.
var readers = map[string]func(io.Reader) io.Reader{
	"plain":        func(r io.Reader) io.Reader { return r },
	"one byte":     iotest.OneByteReader,
	"data and EOF": iotest.DataErrReader,
	"half":         iotest.HalfReader,
}

func TestExactReader(t *testing.T) {
	for _, tc := range []struct {
		length, declared int
	}{
		{1, 1}, {2, 2}, {100, 100},
		{5, 10}, {0, 3}, {99, 100},
		{10, 5}, {2, 1}, {101, 100},
	} {
		for name, wrap := range readers {
			t.Run(fmt.Sprintf("%d bytes declared %d, %s", tc.length, tc.declared, name), func(t *testing.T) {
				content := bytes.Repeat([]byte("x"), tc.length)
				w := newWrite(content, int64(tc.declared), wrap)
				got, err := io.ReadAll(&exactReader{w: w, left: int64(tc.declared)})
				switch {
				case tc.length == tc.declared:
					if err != nil || !bytes.Equal(got, content) {
						t.Errorf("read %d bytes, %v; want all %d", len(got), err, tc.length)
					}
				case err == nil || !errors.Is(err, w.lengthErr):
					t.Errorf("read %d bytes, error %v; want the length error", len(got), err)
				case len(got) >= tc.declared:
					// The body must fall short of its Content-Length, or
					// the server would store it.
					t.Errorf("passed on %d bytes of content declared as %d, want fewer", len(got), tc.declared)
				case tc.length < tc.declared && !errors.Is(err, io.ErrUnexpectedEOF):
					t.Errorf("short content: %v, want io.ErrUnexpectedEOF", err)
				}
			})
		}
	}
}

func TestPartReader(t *testing.T) {
	const partSize = 4
	for _, tc := range []struct {
		length, declared int // declared -1: unknown
		parts            []int
		wantErr          bool
	}{
		{0, -1, []int{0}, false},
		{1, -1, []int{1}, false},
		{4, -1, []int{4}, false},
		{5, -1, []int{4, 1}, false},
		{8, -1, []int{4, 4}, false},
		{9, -1, []int{4, 4, 1}, false},
		{9, 9, []int{4, 4, 1}, false},
		{8, 8, []int{4, 4}, false},
		{8, 9, nil, true},
		{8, 7, nil, true},
		{12, 8, nil, true},
		{3, 8, nil, true},
	} {
		for name, wrap := range readers {
			t.Run(fmt.Sprintf("%d bytes declared %d, %s", tc.length, tc.declared, name), func(t *testing.T) {
				content := make([]byte, tc.length)
				for i := range content {
					content[i] = byte(i)
				}
				w := newWrite(content, int64(tc.declared), wrap)
				p := &partReader{w: w}
				var got []byte
				var parts []int
				for {
					buf := make([]byte, partSize)
					n, last, err := p.read(buf)
					if err != nil {
						if !tc.wantErr || !errors.Is(err, w.lengthErr) {
							t.Fatalf("part %d: %v", len(parts)+1, err)
						}
						return
					}
					parts = append(parts, n)
					got = append(got, buf[:n]...)
					if last != p.done {
						t.Errorf("last %v, done %v", last, p.done)
					}
					if last {
						break
					}
				}
				if tc.wantErr {
					t.Fatalf("parts %v of %d bytes declared %d, want a length error", parts, tc.length, tc.declared)
				}
				if fmt.Sprint(parts) != fmt.Sprint(tc.parts) || !bytes.Equal(got, content) || p.total != int64(tc.length) {
					t.Errorf("parts %v holding %x (total %d), want %v holding %x", parts, got, p.total, tc.parts, content)
				}
			})
		}
	}
}

func TestTransientNetwork(t *testing.T) {
	opErr := func(err error) error {
		return &url.Error{Op: "Put", URL: "http://127.0.0.1:9/b/k", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: err}}}
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", opErr(syscall.ECONNREFUSED), true},
		{"connection reset", opErr(syscall.ECONNRESET), true},
		{"host unreachable", opErr(syscall.EHOSTUNREACH), true},
		{"i/o timeout", &url.Error{Op: "Get", URL: "u", Err: &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}}, true},
		{"cut short", &url.Error{Op: "Get", URL: "u", Err: io.ErrUnexpectedEOF}, true},
		{"EOF", &url.Error{Op: "Get", URL: "u", Err: io.EOF}, true},
		{"unknown host", &url.Error{Op: "Get", URL: "u", Err: &net.DNSError{Err: "no such host", Name: "s3.invalid", IsNotFound: true}}, false},
		{"DNS timeout", &url.Error{Op: "Get", URL: "u", Err: &net.DNSError{Err: "timeout", Name: "s3.example", IsTimeout: true}}, true},
		{"untrusted certificate", &url.Error{Op: "Get", URL: "u", Err: x509.UnknownAuthorityError{}}, false},
		{"wrong host in certificate", &url.Error{Op: "Get", URL: "u", Err: x509.HostnameError{Host: "s3.example"}}, false},
		{"client refused an argument", minio.ErrorResponse{Code: "InvalidArgument", StatusCode: http.StatusBadRequest}, false},
	} {
		if got := transientNetwork(tc.err); got != tc.want {
			t.Errorf("%s (%v): transient %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestClassifyContext(t *testing.T) {
	s := &Store{bucket: "b"}
	for _, tc := range []struct {
		cause     error
		retryable bool
	}{
		{context.Canceled, false},
		{context.DeadlineExceeded, true},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		if tc.cause == context.DeadlineExceeded {
			ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		}
		cancel()
		// Whatever the client says, a done context is the cause.
		err := s.classify(ctx, "get", "k", minio.ErrorResponse{Code: "InternalError", StatusCode: 500})
		if !errors.Is(err, tc.cause) || storage.IsRetryable(err) != tc.retryable {
			t.Errorf("context done with %v: %v, retryable %v; want it to wrap the cause, retryable %v", tc.cause, err, storage.IsRetryable(err), tc.retryable)
		}
	}
}

func TestValidPrefix(t *testing.T) {
	for prefix, want := range map[string]bool{
		"":                                     true,
		"inbox/":                               true,
		"inbox":                                true,
		"inbox/a.":                             true,
		"inbox/.":                              true, // "inbox/.x"
		"inbox/..":                             true, // "inbox/..x"
		strings.Repeat("k", storage.MaxKeyLen): true,
		"/":                                    false,
		"../":                                  false,
		"a//":                                  false,
		"a/../":                                false,
		`a\`:                                   false,
		"bad\xff":                              false,
		strings.Repeat("k", storage.MaxKeyLen) + "/": false,
	} {
		if got := validPrefix(prefix); got != want {
			t.Errorf("validPrefix(%q) = %v, want %v", prefix, got, want)
		}
	}
}

// metadataSeeds are values that HTTP or minio-go would alter if sent as
// they are, and ordinary ones.
var metadataSeeds = []string{
	"", " ", "  leading", "trailing  ", " both ", "in  side", "plain",
	"=?utf-8?b?eA==?=", "=?utf-8?b??=", "=?", "?=", "a=?b?=", "=?broken",
	"=?utf-8?q?a_b?= =?utf-8?q?c?=", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
}

// roundTrip sends the metadata value v as a Put would and returns what a
// Stat would make of the server's answer carrying it back.
func roundTrip(t testing.TB, v string) string {
	enc := encodeValue(v)
	if strings.TrimSpace(enc) != enc || strings.ContainsFunc(enc, func(r rune) bool { return r < ' ' || r > '~' }) {
		t.Fatalf("encodeValue(%q) = %q, which an HTTP header does not carry unchanged", v, enc)
	}
	h := http.Header{
		"Content-Length": {"1"},
		"Etag":           {`"0123"`},
		"Last-Modified":  {time.Now().UTC().Format(http.TimeFormat)},
		metaPrefix + "K": {enc},
	}
	oi, err := minio.ToObjectInfo("bucket", "key", h)
	if err != nil {
		t.Fatal(err)
	}
	info, err := objectInfo("key", oi)
	if err != nil {
		t.Fatal(err)
	}
	return info.Metadata["k"]
}

func TestMetadataRoundTrip(t *testing.T) {
	for _, v := range metadataSeeds {
		if got := roundTrip(t, v); got != v {
			t.Errorf("metadata value %q came back as %q", v, got)
		}
	}
	// Ordinary values go as they are.
	for _, v := range []string{"plain", "in  side", "a=?b?="} {
		if enc := encodeValue(v); enc != v {
			t.Errorf("encodeValue(%q) = %q, want it unchanged", v, enc)
		}
	}
}

func FuzzMetadataRoundTrip(f *testing.F) {
	for _, v := range metadataSeeds {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if storage.CheckPutOptions(storage.PutOptions{Metadata: map[string]string{"k": v}}) != nil {
			return // a value no Store accepts
		}
		if got := roundTrip(t, v); got != v {
			t.Errorf("metadata value %q came back as %q", v, got)
		}
	})
}

func TestReadsAt(t *testing.T) {
	data := []byte("0123456789")
	advanced := bytes.NewReader(data)
	advanced.Seek(3, io.SeekStart)
	for _, tc := range []struct {
		name string
		r    io.Reader
		size int64
		want bool
	}{
		{"section at its start", io.NewSectionReader(bytes.NewReader(data), 0, 10), 10, true},
		{"section of the middle", io.NewSectionReader(bytes.NewReader(data), 2, 5), 5, true},
		{"bytes.Reader", bytes.NewReader(data), 10, true},
		{"bytes.Reader read from", advanced, 7, false},
		{"declared shorter", bytes.NewReader(data), 9, false},
		{"declared longer", bytes.NewReader(data), 11, false},
		{"size unknown", bytes.NewReader(data), -1, false},
		{"a stream", iotest.OneByteReader(bytes.NewReader(data)), 10, false},
	} {
		if _, got := readsAt(tc.r, tc.size); got != tc.want {
			t.Errorf("%s: readsAt = %v, want %v", tc.name, got, tc.want)
		}
	}
}
