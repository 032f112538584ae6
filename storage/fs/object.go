package fs

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"sync"

	"github.com/sealpipe/sealpipe/storage"
)

// object is an open object file, its information and the version it holds.
type object struct {
	f  *os.File
	fi iofs.FileInfo
	v  version
}

// openObject opens key's object file and finds the version it holds: in the
// sidecar or, for a file placed by hand, by hashing the file (and, if cache
// is set, recording the result in the sidecar). A concurrent Put may replace
// the file and then a second one drop its sidecar entry between the open and
// the sidecar read; openObject then opens the file again.
func (s *Store) openObject(ctx context.Context, op, key string, cache bool) (*object, error) {
	p := s.objectPath(key)
	for attempt := 1; ; attempt++ {
		f, err := os.OpenFile(p, openFlags, 0)
		switch {
		case err != nil && absent(err):
			return nil, notFound(op, key)
		case err != nil:
			return nil, opError(op, key, err)
		}
		obj, again, err := s.identify(ctx, op, key, f, cache, attempt < maxAttempts)
		if err != nil || again {
			f.Close()
		}
		if !again {
			return obj, err
		}
	}
}

// identify finds the version the open object file f holds. It reports again
// (if mayRetry) when f has no sidecar entry because it was replaced since
// it was opened.
func (s *Store) identify(ctx context.Context, op, key string, f *os.File, cache, mayRetry bool) (obj *object, again bool, err error) {
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, false, opError(op, key, err)
	case !fi.Mode().IsRegular():
		return nil, false, notFound(op, key)
	}
	v, ok, err := s.lookup(key, fi)
	switch {
	case err != nil:
		return nil, false, opError(op, key, err)
	case ok:
		return &object{f: f, fi: fi, v: v}, false, nil
	}
	if mayRetry {
		if now, err := os.Lstat(f.Name()); err != nil || !os.SameFile(now, fi) {
			return nil, true, nil
		}
	}
	// Placed by hand: the ETag is the content's MD5, as S3 gives for a
	// single-part upload.
	v, err = hashFile(ctx, f, fi)
	if err != nil {
		return nil, false, opError(op, key, err)
	}
	if cache {
		s.remember(key, fi, v)
	}
	return &object{f: f, fi: fi, v: v}, false, nil
}

// hashFile returns the version of an object file placed by hand: its MD5,
// size and identity, and the default content type. It reads with ReadAt, so
// f's offset stays at the start.
func hashFile(ctx context.Context, f *os.File, fi iofs.FileInfo) (version, error) {
	h := md5.New()
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	src := &source{ctx: ctx, r: io.NewSectionReader(f, 0, fi.Size())}
	if _, err := io.CopyBuffer(h, src, *buf); err != nil {
		return version{}, err
	}
	return version{
		ETag:        hex.EncodeToString(h.Sum(nil)),
		Size:        fi.Size(),
		ModTime:     fi.ModTime().UnixNano(),
		FileID:      fileID(fi),
		ContentType: storage.DefaultContentType,
	}, nil
}

// remember records v, the hashed version of the object file fi placed by
// hand, in key's sidecar, so that the file is not hashed again. It is best
// effort and never waits: if key's lock is busy, a writer is replacing the
// file anyway.
func (s *Store) remember(key string, fi iofs.FileInfo, v version) {
	unlock, ok := s.tryLock(key)
	if !ok {
		return
	}
	defer unlock()
	now, err := os.Lstat(s.objectPath(key))
	if err != nil || !os.SameFile(now, fi) || !v.describes(now) {
		return
	}
	if _, known, err := s.lookup(key, now); err != nil || known {
		return
	}
	_ = s.writeSidecar(key, []version{v})
}

// reader is the object content Get returns: the file, failing every read
// once ctx is done.
type reader struct {
	ctx context.Context
	f   *os.File
}

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.f.Read(p)
}

// ReadAt implements io.ReaderAt.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.f.ReadAt(p, off)
}

// Seek implements io.Seeker.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	return r.f.Seek(offset, whence)
}

// Close implements io.Closer.
func (r *reader) Close() error { return r.f.Close() }

// copyBuffers recycles the buffers content is copied through.
var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, 256<<10)
	return &b
}}

// source reads from r until ctx is done, remembering the first error other
// than io.EOF it returned.
type source struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// spooled is content copied into a temporary file, fsynced and closed.
type spooled struct {
	path string        // the temporary file
	etag string        // hex MD5 of the content
	fi   iofs.FileInfo // the file's information once written
}

// spool copies r into a new temporary file, checking the length against
// size unless size is -1. On failure it removes the file.
func (s *Store) spool(ctx context.Context, key string, r io.Reader, size int64) (_ *spooled, err error) {
	const op = "put"
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return nil, opError(op, key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(filePerm); err != nil {
		return nil, opError(op, key, err)
	}

	src := &source{ctx: ctx, r: r}
	var in io.Reader = src
	if size >= 0 {
		in = io.LimitReader(src, size+1) // one byte more reveals a longer content
	}
	h := md5.New()
	buf := copyBuffers.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(f, h), in, *buf)
	copyBuffers.Put(buf)
	switch {
	case ctx.Err() != nil:
		return nil, opError(op, key, ctx.Err())
	case err != nil && err == src.err:
		// The caller's reader failed: not a storage failure, so not an
		// *storage.Error, which would hide whether the reader's own
		// failure is retryable.
		return nil, fmt.Errorf("%s %q: reading the content: %w", op, key, err)
	case err != nil:
		return nil, opError(op, key, err)
	case size >= 0 && n < size:
		return nil, &storage.Error{Op: op, Key: key, Err: fmt.Errorf("content ended after %d of the %d bytes declared: %w", n, size, io.ErrUnexpectedEOF)}
	case size >= 0 && n > size:
		return nil, &storage.Error{Op: op, Key: key, Err: fmt.Errorf("content is longer than the %d bytes declared", size)}
	}
	if err := s.syncFile(f); err != nil {
		return nil, opError(op, key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, opError(op, key, err)
	}
	if err := f.Close(); err != nil {
		return nil, opError(op, key, err)
	}
	return &spooled{path: f.Name(), etag: hex.EncodeToString(h.Sum(nil)), fi: fi}, nil
}

// errLockBusy reports that tryLock found the lock held.
var errLockBusy = errors.New("fs: lock busy")
