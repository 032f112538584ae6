package fs

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/sealpipe/sealpipe/storage"
)

// absent reports whether err, from an operation on a path, means that
// nothing is there: the path or one of its parents is missing, a parent is a
// file, the name is longer than the file system allows, or (opened without
// following links) it is a symbolic link.
func absent(err error) bool {
	return errors.Is(err, iofs.ErrNotExist) ||
		errors.Is(err, syscall.ENOTDIR) ||
		errors.Is(err, syscall.ENAMETOOLONG) ||
		errors.Is(err, syscall.ELOOP)
}

// notFound is the error of op on key when there is no such object.
func notFound(op, key string) error {
	return fmt.Errorf("%s %q: %w", op, key, storage.ErrNotExist)
}

// opError wraps a failure that is none of the sentinel conditions.
func opError(op, key string, err error) error {
	return &storage.Error{Op: op, Key: key, Retryable: transient(err), Err: err}
}

// transient reports whether err may go away by itself: a deadline, a full
// disk or quota, a busy or interrupted call, too many open files.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.ENOSPC, syscall.EDQUOT, syscall.EBUSY:
		return true
	}
	return errno.Temporary() || errno.Timeout()
}

// conflict is the error of op on a valid key the file system cannot hold.
func conflict(op, key, why string) error {
	return fmt.Errorf("%s: %w %q: %s", op, storage.ErrInvalidKey, key, why)
}

// pathError classifies the failure err of writing key's object or sidecar
// file into place.
func (s *Store) pathError(op, key string, err error) error {
	switch {
	case errors.Is(err, syscall.ENAMETOOLONG):
		return conflict(op, key, "a segment is longer than this file system allows")
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR):
		return s.parentConflict(op, key)
	}
	return opError(op, key, err)
}

// parentConflict is the error of writing key when a file stands where one
// of its folders must go.
func (s *Store) parentConflict(op, key string) error {
	for i := strings.IndexByte(key, '/'); i >= 0; i = next(key, i) {
		if fi, err := os.Lstat(s.objectPath(key[:i])); err == nil && !fi.IsDir() {
			return conflict(op, key, fmt.Sprintf("%q is an object, so it cannot also be a folder", key[:i]))
		}
	}
	return conflict(op, key, `its metadata file collides with another key's (keys "k" and "k.json/…" cannot both exist)`)
}

// next returns the index of the first slash in key after index i, or -1.
func next(key string, i int) int {
	j := strings.IndexByte(key[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}
