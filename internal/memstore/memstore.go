// Package memstore is a storage.Store held in memory, for benchmarks that
// measure what sealpipe does apart from its object store (the pipeline's
// seal stage). It passes the storage conformance suite
// (storage/storagetest), so code that runs on it runs on the real
// backends; it is not for data that must outlive the process.
package memstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sealpipe/sealpipe/storage"
)

// Store is an object store in memory, bound to one bucket. The zero value
// is not usable; call New.
type Store struct {
	bucket string
	mu     sync.RWMutex
	objs   map[string]*object
}

// versions numbers every object written: its ETag, which changes with
// every write, without a pass over its content.
var versions atomic.Int64

type object struct {
	data []byte
	info storage.ObjectInfo
}

// New returns an empty store named bucket.
func New(bucket string) *Store {
	return &Store{bucket: bucket, objs: make(map[string]*object)}
}

// Bucket names the store's bucket.
func (s *Store) Bucket() string { return s.bucket }

func (s *Store) lookup(ctx context.Context, op, key string) (*object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.CheckKey(key); err != nil {
		return nil, err
	}
	s.mu.RLock()
	o := s.objs[key]
	s.mu.RUnlock()
	if o == nil {
		return nil, fmt.Errorf("memstore: %s %q: %w", op, key, storage.ErrNotExist)
	}
	return o, nil
}

// Get opens the object for reading.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	o, err := s.lookup(ctx, "get", key)
	if err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	return &reader{ctx: ctx, r: bytes.NewReader(o.data)}, withMetadata(o.info), nil
}

// Stat returns the object's information.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	o, err := s.lookup(ctx, "stat", key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	return withMetadata(o.info), nil
}

// Put stores the content of r under key, all or nothing.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := storage.CheckKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := storage.CheckPutOptions(opts); err != nil {
		return storage.ObjectInfo{}, err
	}
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size) + bytes.MinRead) // ReadFrom wants room for more before it sees the end
	}
	if _, err := io.Copy(&buf, &reader{ctx: ctx, r: r}); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("memstore: put %q: %w", key, err)
	}
	if size >= 0 && int64(buf.Len()) != size {
		return storage.ObjectInfo{}, fmt.Errorf("memstore: put %q: read %d bytes, %d declared", key, buf.Len(), size)
	}
	ct := opts.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	o := &object{data: buf.Bytes(), info: storage.ObjectInfo{
		Key: key, Size: int64(buf.Len()), ETag: strconv.FormatInt(versions.Add(1), 10), ModTime: time.Now(),
		ContentType: ct, Metadata: maps.Clone(opts.Metadata),
	}}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.objs[key]
	switch {
	case opts.IfNoneMatch && old != nil:
		return storage.ObjectInfo{}, fmt.Errorf("memstore: put %q: exists: %w", key, storage.ErrPreconditionFailed)
	case opts.IfMatch != "" && (old == nil || old.info.ETag != opts.IfMatch):
		return storage.ObjectInfo{}, fmt.Errorf("memstore: put %q: ETag is not %s: %w", key, opts.IfMatch, storage.ErrPreconditionFailed)
	}
	s.objs[key] = o
	return withMetadata(o.info), nil
}

// Delete removes the object; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.objs, key)
	s.mu.Unlock()
	return nil
}

// List calls fn for every object under prefix in lexical key order.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	var infos []storage.ObjectInfo
	for k, o := range s.objs {
		if strings.HasPrefix(k, prefix) {
			info := o.info
			info.Metadata = nil
			infos = append(infos, info)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(infos, func(a, b storage.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// withMetadata returns info with a copy of its metadata, never nil.
func withMetadata(info storage.ObjectInfo) storage.ObjectInfo {
	info.Metadata = maps.Clone(info.Metadata)
	if info.Metadata == nil {
		info.Metadata = map[string]string{}
	}
	return info
}

// reader reads r until ctx is done.
type reader struct {
	ctx context.Context
	r   io.Reader
}

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r *reader) Close() error { return nil }
