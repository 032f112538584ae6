package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// maxKeyFileSize bounds what the file backend reads: a PEM key is a few KiB.
const maxKeyFileSize = 1 << 20

// fileBackend opens PEM key files named by file: URIs or bare paths.
type fileBackend struct{}

// Open reads and decrypts the key file u names.
func (fileBackend) Open(ctx context.Context, u *url.URL, opts Options) (crypto.Signer, error) {
	path, err := filePath(u)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	s, err := parsePEM(b, opts)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return s, nil
}

// filePath returns the local path a file URI names. It accepts
// file:/abs, file:///abs, file://localhost/abs, file:relative and the
// bare paths Open turns into file URIs.
func filePath(u *url.URL) (string, error) {
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("%w: %q names host %q: only local key files are supported", ErrKeyNotFound, redact(u), u.Host)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%w: file URI %q carries a query, fragment or user: a file URI names only a path", ErrKeyNotFound, redact(u))
	}
	p := u.Path
	if u.Opaque != "" {
		var err error
		if p, err = url.PathUnescape(u.Opaque); err != nil {
			return "", fmt.Errorf("%w: file URI %q: %v", ErrKeyNotFound, redact(u), err)
		}
	}
	if p == "" {
		return "", fmt.Errorf("%w: file URI %q names no path", ErrKeyNotFound, redact(u))
	}
	return filepath.Clean(filepath.FromSlash(p)), nil
}

// readKeyFile reads at most maxKeyFileSize bytes of path.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyNotFound, path, err)
	} else if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	if len(b) > maxKeyFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes: not a key file", ErrMalformedKey, path, maxKeyFileSize)
	}
	return b, nil
}

// FileURI returns the file: URI of path made absolute, percent-encoded as
// needed, for use as a key URI (file:///abs/path/key.pem).
func FileURI(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("keys: file URI for %q: %w", path, err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// FilePath returns the local path of the key file a file: URI (or a bare
// path, as Open takes it) names, or an error wrapping ErrKeyNotFound if
// the URI names no local file.
func FilePath(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		u = &url.URL{Scheme: "file", Path: uri}
	}
	if u.Scheme != "file" {
		return "", fmt.Errorf("%w: %q is not a file: URI", ErrKeyNotFound, redact(u))
	}
	return filePath(u)
}
