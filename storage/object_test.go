package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/storage/storagetest"
)

// newStore returns an empty local store.
func newStore(t *testing.T) storage.Store {
	t.Helper()
	st, err := fs.Open(t.TempDir(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// watched wraps a store's Get to count the bytes read and whether the
// reader was closed, and can report an unknown size (-1), as a backend
// whose listing or headers do not say.
type watched struct {
	storage.Store
	hideSize bool
	read     int64
	closed   bool
}

func (w *watched) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	rc, info, err := w.Store.Get(ctx, key)
	if err != nil {
		return nil, info, err
	}
	if w.hideSize {
		info.Size = -1
	}
	return &watchedReader{rc, w}, info, nil
}

type watchedReader struct {
	io.ReadCloser
	w *watched
}

func (r *watchedReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.w.read += int64(n)
	return n, err
}

func (r *watchedReader) Close() error {
	r.w.closed = true
	return r.ReadCloser.Close()
}

func TestReadAll(t *testing.T) {
	t.Parallel()
	const content = "0123456789"
	for _, tc := range []struct {
		name     string
		key      string
		limit    int64
		hideSize bool
		want     error // nil: the content is read whole
		maxRead  int64 // most bytes the read may take from the store
	}{
		{name: "under the limit", key: "k", limit: 11, maxRead: 11},
		{name: "at the limit", key: "k", limit: 10, maxRead: 11},
		{name: "over the limit", key: "k", limit: 9, want: storage.ErrTooLarge, maxRead: 0},
		{name: "over the limit, size unknown", key: "k", limit: 9, hideSize: true, want: storage.ErrTooLarge, maxRead: 10},
		{name: "at the limit, size unknown", key: "k", limit: 10, hideSize: true, maxRead: 11},
		{name: "empty with no room", key: "empty", limit: 0, maxRead: 1},
		{name: "missing", key: "missing", limit: 10, want: storage.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := &watched{Store: newStore(t), hideSize: tc.hideSize}
			if _, err := st.Put(t.Context(), "k", strings.NewReader(content), int64(len(content)), storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Put(t.Context(), "empty", strings.NewReader(""), 0, storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			b, info, err := storage.ReadAll(t.Context(), st, tc.key, tc.limit)
			switch {
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("ReadAll = %q, %v; want an error wrapping %v", b, err, tc.want)
			case tc.want != nil && b != nil:
				t.Errorf("ReadAll returned %q with its error", b)
			case tc.want == nil && err != nil:
				t.Fatalf("ReadAll: %v", err)
			case tc.want == nil:
				if want, _ := storagetest.Get(t, st.Store, tc.key); string(b) != string(want) {
					t.Errorf("ReadAll = %q, want %q", b, want)
				}
				if info.Key != tc.key || info.ETag == "" {
					t.Errorf("ReadAll info = %+v", info)
				}
			}
			if st.read > tc.maxRead {
				t.Errorf("read %d bytes from the store, want at most %d", st.read, tc.maxRead)
			}
			if !st.closed && !errors.Is(err, storage.ErrNotExist) {
				t.Error("the object's reader was not closed")
			}
		})
	}
}

func TestPutOnce(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	opts := storage.PutOptions{ContentType: "application/json", Metadata: map[string]string{"seal-id": "1"}}

	created, err := storage.PutOnce(t.Context(), st, "r.json", []byte("first"), opts)
	if err != nil || !created {
		t.Fatalf("first PutOnce = %v, %v; want created", created, err)
	}
	first, info := storagetest.Get(t, st, "r.json")
	if string(first) != "first" || info.ContentType != opts.ContentType || !maps.Equal(info.Metadata, opts.Metadata) {
		t.Fatalf("after the first PutOnce: %q %+v", first, info)
	}

	created, err = storage.PutOnce(t.Context(), st, "r.json", []byte("second"), storage.PutOptions{})
	if err != nil || created {
		t.Fatalf("second PutOnce = %v, %v; want not created and no error", created, err)
	}
	if got, again := storagetest.Get(t, st, "r.json"); string(got) != "first" || again.ETag != info.ETag {
		t.Fatalf("after the second PutOnce: %q (ETag %s), want the first write (ETag %s)", got, again.ETag, info.ETag)
	}
}

// failingPuts is a store whose writes fail.
type failingPuts struct{ storage.Store }

var errDiskFull = errors.New("disk full")

func (failingPuts) Put(context.Context, string, io.Reader, int64, storage.PutOptions) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, &storage.Error{Op: "put", Retryable: true, Err: errDiskFull}
}

func TestPutOnceFailure(t *testing.T) {
	t.Parallel()
	created, err := storage.PutOnce(t.Context(), failingPuts{newStore(t)}, "r.json", []byte("x"), storage.PutOptions{})
	if created || !errors.Is(err, errDiskFull) || !storage.IsRetryable(err) {
		t.Fatalf("PutOnce on a failing store = %v, %v; want the store's error", created, err)
	}
}

// counted wraps a store's Get to count the reads, and the most in
// flight at once, each taking a millisecond so that they overlap.
type counted struct {
	storage.Store
	mu                  sync.Mutex
	gets, now, mostOpen int
}

func (c *counted) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	c.mu.Lock()
	c.gets++
	c.now++
	c.mostOpen = max(c.mostOpen, c.now)
	c.mu.Unlock()
	time.Sleep(time.Millisecond)
	defer func() { c.mu.Lock(); c.now--; c.mu.Unlock() }()
	return c.Store.Get(ctx, key)
}

func TestReadEach(t *testing.T) {
	t.Parallel()
	const n = 200
	st := &counted{Store: newStore(t)}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%03d", i)
		if _, err := st.Store.Put(t.Context(), keys[i], strings.NewReader(keys[i]), int64(len(keys[i])), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	errBad := errors.New("bad content")
	for _, tc := range []struct {
		name    string
		missing []int // indexes whose key is replaced by one with no object
		bad     []int // indexes whose fn fails
		want    error // nil: every object read, once, by its index
		wantKey string
	}{
		{name: "all there"},
		{name: "two missing", missing: []int{150, 40}, want: storage.ErrNotExist, wantKey: "gone040"},
		{name: "fn fails", bad: []int{7}, want: errBad},
		{name: "missing after a failure", missing: []int{90}, bad: []int{12}, want: errBad},
		{name: "first missing", missing: []int{0}, want: storage.ErrNotExist, wantKey: "gone000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &counted{Store: st.Store}
			ks := slices.Clone(keys)
			for _, i := range tc.missing {
				ks[i] = fmt.Sprintf("gone%03d", i)
			}
			var mu sync.Mutex
			got := map[int]string{}
			err := storage.ReadEach(t.Context(), c, ks, 100, func(i int, b []byte) error {
				mu.Lock()
				defer mu.Unlock()
				if _, twice := got[i]; twice {
					t.Errorf("index %d passed twice", i)
				}
				got[i] = string(b)
				if slices.Contains(tc.bad, i) {
					return errBad
				}
				return nil
			})
			if c.mostOpen > storage.ReadEachConcurrency || c.mostOpen < 2 {
				t.Errorf("%d reads at once, want 2 to %d", c.mostOpen, storage.ReadEachConcurrency)
			}
			if tc.want == nil {
				if err != nil || len(got) != n || c.gets != n {
					t.Fatalf("ReadEach: %v; %d objects passed, %d read; want all %d once", err, len(got), c.gets, n)
				}
				for i, b := range got {
					if b != keys[i] {
						t.Errorf("index %d got %q, want %q", i, b, keys[i])
					}
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wantKey) {
				t.Errorf("ReadEach = %v, want the lowest index's failure (%v %s)", err, tc.want, tc.wantKey)
			}
			if c.gets >= n/2 {
				t.Errorf("%d of %d objects read after a failure, want reading to stop", c.gets, n)
			}
		})
	}
}
