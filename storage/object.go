package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// ErrTooLarge reports an object larger than the caller's limit (ReadAll).
var ErrTooLarge = errors.New("storage: object too large")

// ReadAll reads the object under key whole, together with its information.
// An object of more than limit bytes is an error wrapping ErrTooLarge,
// never a truncated read: the size the store reports is checked before
// reading, and the bytes read are counted too. A missing object is an error
// wrapping ErrNotExist, as from Get.
func ReadAll(ctx context.Context, st Store, key string, limit int64) ([]byte, ObjectInfo, error) {
	var buf bytes.Buffer
	_, info, err := CopyObject(ctx, st, key, limit, func(info ObjectInfo) (io.Writer, error) {
		if info.Size >= 0 {
			buf.Grow(int(info.Size) + bytes.MinRead) // read without growing
		}
		return &buf, nil
	})
	if err != nil {
		return nil, info, err
	}
	return buf.Bytes(), info, nil
}

// ReadEachConcurrency is how many objects ReadEach reads at once: enough
// to keep a remote store's round trips overlapping and every CPU busy
// with what fn does, few enough not to crowd the store.
const ReadEachConcurrency = 16

// ReadEach reads the objects under keys, each whole and of at most limit
// bytes (as ReadAll), up to ReadEachConcurrency at once, and calls fn with
// each key's index and bytes, from as many goroutines. It returns when
// every read it started has ended. After a failure (a read's or fn's) it
// starts no more; since reads start in the order of keys and each started
// one is finished, what it returns is the failure of the lowest index, as
// a loop over keys would. The bytes passed to fn are fn's to keep.
func ReadEach(ctx context.Context, st Store, keys []string, limit int64, fn func(i int, b []byte) error) error {
	errs := make([]error, len(keys))
	var (
		next   atomic.Int64
		failed atomic.Bool
		wg     sync.WaitGroup
	)
	for range min(ReadEachConcurrency, len(keys)) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(keys) {
					return
				}
				b, _, err := ReadAll(ctx, st, keys[i], limit)
				if err == nil {
					err = fn(i, b)
				}
				if err != nil {
					errs[i] = err
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// CopyObject copies the object under key, of at most limit bytes, to the
// writer that sink returns for the object's information (chosen by its
// size, say), and returns the number of bytes copied and the information.
// As with ReadAll, an object of more than limit bytes is an error wrapping
// ErrTooLarge, found before reading if the store reports the size and
// else by counting, and a missing one an error wrapping ErrNotExist: the
// writer may then hold a part of the object, which the caller discards.
func CopyObject(ctx context.Context, st Store, key string, limit int64, sink func(ObjectInfo) (io.Writer, error)) (int64, ObjectInfo, error) {
	rc, info, err := st.Get(ctx, key)
	if err != nil {
		return 0, ObjectInfo{}, err
	}
	defer rc.Close()
	if info.Size > limit {
		return 0, info, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrTooLarge, key, info.Size, limit)
	}
	w, err := sink(info)
	if err != nil {
		return 0, info, err
	}
	buf := copyBuffers.Get().(*[]byte)
	n, err := io.CopyBuffer(w, io.LimitReader(rc, limit+1), *buf) // one byte more reveals a longer content
	copyBuffers.Put(buf)
	switch {
	case err != nil:
		return n, info, fmt.Errorf("storage: read %s: %w", key, err)
	case n > limit:
		return n, info, fmt.Errorf("%w: %s holds more than %d bytes", ErrTooLarge, key, limit)
	}
	return n, info, nil
}

// copyBuffers holds CopyObject's buffers: a pipeline copies every
// document it seals, and a buffer each would cost more to clear than a
// small document does to hash.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// PutOnce writes body under key unless an object is there already: the
// first write stands, and a later one is not an error. It reports whether
// this call created the object. It sets opts.IfNoneMatch; opts.IfMatch
// must be empty.
func PutOnce(ctx context.Context, st Store, key string, body []byte, opts PutOptions) (created bool, err error) {
	return PutOnceFrom(ctx, st, key, bytes.NewReader(body), int64(len(body)), opts)
}

// PutOnceFrom is PutOnce of the size bytes r holds, which are streamed: a
// store that uploads large objects in parts (storage/s3's multipart
// upload) holds one part at a time.
func PutOnceFrom(ctx context.Context, st Store, key string, r io.Reader, size int64, opts PutOptions) (created bool, err error) {
	opts.IfNoneMatch = true
	_, err = st.Put(ctx, key, r, size, opts)
	switch {
	case errors.Is(err, ErrPreconditionFailed):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}
