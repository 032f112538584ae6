package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sealpipe/sealpipe/storage"
)

// abortTimeout bounds the abort of a failed multipart upload, which runs
// even when the Put's context is done. An upload left behind only takes
// space until the server's stale-upload cleanup (MinIO: 24 hours; Amazon
// S3: a lifecycle rule) removes it.
const abortTimeout = 10 * time.Second

// Put stores the content of r under key, all or nothing; see the package
// documentation for how. The returned ObjectInfo is that of the version
// written, its ModTime the Date of the server's answer.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.ObjectInfo, error) {
	const op = "put"
	if err := precheck(ctx, op, key); err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := storage.CheckPutOptions(opts); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("%s %q: %w", op, key, err)
	}
	if size < -1 {
		return storage.ObjectInfo{}, &storage.Error{Op: op, Key: key, Err: fmt.Errorf("invalid content length %d", size)}
	}
	ctx, date := withServerDate(ctx)
	w := &write{s: s, ctx: ctx, key: key, opts: opts, src: &source{ctx: ctx, r: r}, size: size}
	var (
		etag string
		n    int64
		err  error
	)
	if ra, ok := readsAt(r, size); ok && size > s.partSize {
		etag, n, err = w.sectioned(ra)
	} else if size >= 0 && size <= s.partSize {
		etag, err = w.streamed()
		n = size
	} else {
		etag, n, err = w.buffered()
	}
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	contentType := opts.ContentType
	if contentType == "" {
		contentType = storage.DefaultContentType
	}
	return storage.ObjectInfo{
		Key:         key,
		Size:        n,
		ETag:        etag,
		ModTime:     date.get(),
		ContentType: contentType,
		Metadata:    cloneMetadata(opts.Metadata),
	}, nil
}

// write is one Put in progress.
type write struct {
	s    *Store
	ctx  context.Context
	key  string
	opts storage.PutOptions
	src  *source
	size int64 // declared length, or -1

	// lengthErr records that the content is shorter or longer than
	// declared.
	lengthErr error
}

// conditional reports whether the write has a condition.
func (w *write) conditional() bool { return w.opts.IfNoneMatch || w.opts.IfMatch != "" }

// putOptions returns the options of the write's PUT or multipart upload.
// withCondition adds the headers of its condition.
func (w *write) putOptions(withCondition bool) minio.PutObjectOptions {
	po := minio.PutObjectOptions{
		ContentType:  w.opts.ContentType,
		UserMetadata: encodeMetadata(w.opts.Metadata),
	}
	if withCondition {
		w.addCondition(&po)
	}
	return po
}

// addCondition adds the headers of the write's condition to po.
func (w *write) addCondition(po *minio.PutObjectOptions) {
	switch {
	case w.opts.IfNoneMatch:
		po.SetMatchETagExcept("*")
	case w.opts.IfMatch != "":
		po.SetMatchETag(trimETag(w.opts.IfMatch))
	}
}

// sender returns the client for a request that makes the new version
// visible: one that never repeats a conditional request.
func (w *write) sender() minio.Core {
	if w.conditional() {
		return w.s.once
	}
	return w.s.core
}

// streamed sends content of known length up to one part in one PUT,
// straight from the caller's reader.
func (w *write) streamed() (string, error) {
	var body io.Reader
	if w.size == 0 {
		// minio-go sends no body at all for length 0: make sure there
		// is none to send.
		if err := w.checkEnd(); err != nil {
			return "", w.fail(err)
		}
		body = bytes.NewReader(nil)
	} else {
		body = &exactReader{w: w, left: w.size}
	}
	info, err := w.sender().PutObject(w.ctx, w.s.bucket, w.key, body, w.size, "", "", w.putOptions(true))
	if err != nil {
		return "", w.fail(err)
	}
	return trimETag(info.ETag), nil
}

// buffered sends content of unknown length, or longer than one part: in
// one PUT if it turns out to fit in one part, else as a multipart upload.
func (w *write) buffered() (etag string, n int64, err error) {
	partSize := w.partSize()
	parts := &bufferedParts{partReader: partReader{w: w}, size: partSize}
	buf := w.s.buffer(partSize)
	first, last, err := parts.read(*buf)
	if err != nil {
		w.s.release(buf)
		return "", 0, w.fail(err)
	}
	if !last {
		// The multipart upload releases buf.
		parts.first = &part{body: bytes.NewReader((*buf)[:first]), size: int64(first), release: func() { w.s.release(buf) }}
		etag, err = w.multipart(parts)
		return etag, parts.total, err
	}
	defer w.s.release(buf)
	// A seekable body: the unconditional client may send it again.
	info, err := w.sender().PutObject(w.ctx, w.s.bucket, w.key, bytes.NewReader((*buf)[:first]), int64(first), "", "", w.putOptions(true))
	if err != nil {
		return "", 0, w.fail(err)
	}
	return trimETag(info.ETag), int64(first), nil
}

// partSize returns the size of the parts of a multipart upload of the
// write: the Store's, or larger if a known length needs more than
// maxParts of those.
func (w *write) partSize() int64 {
	if w.size > 0 {
		return max(w.s.partSize, ceilMiB((w.size+maxParts-1)/maxParts))
	}
	return w.s.partSize
}

// readsAt returns r as content a multipart upload can send part by part
// where it lies, without buffering it — if r reads at offsets from its
// start, is there (io.Seeker at 0) and holds exactly size bytes (Size),
// as an *io.SectionReader or *bytes.Reader does.
func readsAt(r io.Reader, size int64) (io.ReaderAt, bool) {
	ra, ok := r.(interface {
		io.ReaderAt
		io.Seeker
		Size() int64
	})
	if !ok || ra.Size() != size {
		return nil, false
	}
	if at, err := ra.Seek(0, io.SeekCurrent); err != nil || at != 0 {
		return nil, false
	}
	return ra, true
}

// sectioned sends content of known length, longer than one part, that it
// reads where it lies (readsAt), as a multipart upload whose parts are
// sections of it: nothing is buffered, and a part sent again is read
// again.
func (w *write) sectioned(ra io.ReaderAt) (string, int64, error) {
	etag, err := w.multipart(&sections{w: w, ra: ra, size: w.partSize()})
	return etag, w.size, err
}

// part is one part of a multipart upload.
type part struct {
	body    io.ReadSeeker // seekable, so that a failed request may be sent again
	size    int64
	release func() // called once the part is uploaded or abandoned
	last    bool
}

// parts yields the parts of a multipart upload in order.
type parts interface {
	next() (part, error)
}

// bufferedParts reads the parts of content it cannot read at offsets into
// buffers of size bytes, the first of which buffered has read already.
type bufferedParts struct {
	partReader
	size  int64
	first *part
}

func (b *bufferedParts) next() (part, error) {
	if p := b.first; p != nil {
		b.first = nil
		return *p, nil
	}
	buf := b.w.s.buffer(b.size)
	n, last, err := b.read(*buf)
	if err != nil {
		b.w.s.release(buf)
		return part{}, err
	}
	return part{body: bytes.NewReader((*buf)[:n]), size: int64(n), release: func() { b.w.s.release(buf) }, last: last}, nil
}

// sections cuts content read at offsets into parts of size bytes.
type sections struct {
	w    *write
	ra   io.ReaderAt
	size int64
	at   int64
}

func (s *sections) next() (part, error) {
	n := min(s.size, s.w.size-s.at)
	p := part{body: io.NewSectionReader(readerAt{s.w.src, s.ra}, s.at, n), size: n, release: func() {}, last: s.at+n == s.w.size}
	s.at += n
	return p, nil
}

// multipart sends the content as a multipart upload of the parts ps
// yields. It checks the write's condition before the first part only to
// fail early: the completion request carries it and decides. A failed
// upload is aborted.
func (w *write) multipart(ps parts) (etag string, err error) {
	abandon := func() {
		if b, ok := ps.(*bufferedParts); ok && b.first != nil {
			b.first.release()
		}
	}
	if err := w.checkCondition(); err != nil {
		abandon()
		return "", err
	}
	uploadID, err := w.s.core.NewMultipartUpload(w.ctx, w.s.bucket, w.key, w.putOptions(false))
	if err != nil {
		abandon()
		return "", w.fail(err)
	}
	defer func() {
		if err != nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), abortTimeout)
			defer cancel()
			_ = w.s.core.AbortMultipartUpload(ctx, w.s.bucket, w.key, uploadID)
		}
	}()

	completed, err := w.uploadParts(uploadID, ps)
	abandon() // a first part never taken
	if err != nil {
		return "", err
	}
	if testHookBeforeComplete != nil {
		testHookBeforeComplete(w.key)
	}
	po := minio.PutObjectOptions{}
	w.addCondition(&po)
	info, err := w.s.once.CompleteMultipartUpload(w.ctx, w.s.bucket, w.key, uploadID, completed, po)
	if err != nil {
		return "", w.fail(err)
	}
	return trimETag(info.ETag), nil
}

// testHookBeforeComplete, if set, runs after the parts of a multipart
// upload are uploaded and before it is completed.
var testHookBeforeComplete func(key string)

// uploadParts uploads the parts ps yields, up to Store.partUploads at
// once (so at most that many buffers of bufferedParts are in use). It
// returns the parts in order once all are uploaded, or the first failure.
func (w *write) uploadParts(uploadID string, ps parts) ([]minio.CompletePart, error) {
	ctx, cancel := context.WithCancelCause(w.ctx)
	defer cancel(nil)
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		completed []minio.CompletePart
		slots     = make(chan struct{}, w.s.partUploads) // parts in flight
		failed    error
	)
	fail := func(err error) {
		mu.Lock()
		if failed == nil {
			failed = err
		}
		mu.Unlock()
		cancel(err)
	}
	for number := 1; ; number++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		p, err := ps.next()
		if err != nil {
			<-slots
			fail(err)
			break
		}
		wg.Go(func() {
			defer func() { p.release(); <-slots }()
			uploaded, err := w.s.core.PutObjectPart(ctx, w.s.bucket, w.key, uploadID, number,
				p.body, p.size, minio.PutObjectPartOptions{})
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			completed = append(completed, minio.CompletePart{PartNumber: number, ETag: uploaded.ETag})
			mu.Unlock()
		})
		if p.last {
			break
		}
		if number == maxParts {
			w.lengthErr = fmt.Errorf("content is longer than %d parts", maxParts)
			fail(w.lengthErr)
			break
		}
	}
	wg.Wait()
	if failed != nil {
		return nil, w.fail(failed)
	}
	if err := w.ctx.Err(); err != nil {
		return nil, w.fail(err)
	}
	slices.SortFunc(completed, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	return completed, nil
}

// checkCondition fails early, with a HEAD request, a conditional write
// that cannot succeed as things stand. It returns nil if the write has no
// condition or its condition holds for now.
func (w *write) checkCondition() error {
	const op = "put"
	if !w.conditional() {
		return nil
	}
	info, err := w.s.Stat(w.ctx, w.key)
	exists := err == nil
	switch {
	case err != nil && (!errors.Is(err, storage.ErrNotExist) || errors.Is(err, ErrNoBucket)):
		return fmt.Errorf("%s: checking the condition: %w", op, err)
	case w.opts.IfNoneMatch && exists:
		return fmt.Errorf("%s %q: %w: the object exists", op, w.key, storage.ErrPreconditionFailed)
	case w.opts.IfMatch != "" && !exists:
		return fmt.Errorf("%s %q: %w: the object does not exist, want ETag %q", op, w.key, storage.ErrPreconditionFailed, w.opts.IfMatch)
	case w.opts.IfMatch != "" && info.ETag != trimETag(w.opts.IfMatch):
		return fmt.Errorf("%s %q: %w: ETag is %q, want %q", op, w.key, storage.ErrPreconditionFailed, info.ETag, w.opts.IfMatch)
	}
	return nil
}

// fail classifies the failure err of the write, putting first what caused
// it: a done context, the caller's reader, a wrong declared length.
func (w *write) fail(err error) error {
	const op = "put"
	switch {
	case w.ctx.Err() != nil:
		return w.s.classify(w.ctx, op, w.key, err)
	case w.src.failure() != nil:
		// Not a storage failure, so not an *storage.Error, which would
		// hide whether the reader's own failure is retryable.
		return fmt.Errorf("%s %q: reading the content: %w", op, w.key, w.src.failure())
	case w.lengthErr != nil:
		return &storage.Error{Op: op, Key: w.key, Err: w.lengthErr}
	}
	err = w.s.classify(w.ctx, op, w.key, err)
	if w.opts.IfMatch != "" && errors.Is(err, storage.ErrNotExist) && !errors.Is(err, ErrNoBucket) {
		// MinIO answers NoSuchKey to If-Match on a missing object.
		return fmt.Errorf("%s %q: %w: the object does not exist, want ETag %q", op, w.key, storage.ErrPreconditionFailed, w.opts.IfMatch)
	}
	return err
}

// checkEnd makes sure the content holds nothing after the declared
// length, which has been read, recording a length error if it does.
func (w *write) checkEnd() error {
	var one [1]byte
	switch k, err := io.ReadFull(w.src, one[:]); {
	case k > 0:
		w.lengthErr = fmt.Errorf("content is longer than the %d bytes declared", w.size)
		return w.lengthErr
	case err != io.EOF:
		return err
	}
	return nil
}

// short records that the content ended after n bytes, before the length
// declared, and returns the length error.
func (w *write) short(n int64) error {
	w.lengthErr = fmt.Errorf("content ended after %d of the %d bytes declared: %w", n, w.size, io.ErrUnexpectedEOF)
	return w.lengthErr
}

// exactReader passes on the declared length of the content and no more.
// It holds back the last byte until it has made sure that the content
// ends there, and fails the read otherwise; so a server never receives in
// full a body whose content is longer or shorter than declared, and never
// stores it.
type exactReader struct {
	w    *write
	read int64 // bytes passed on
	left int64 // bytes still to pass on
}

// Read implements io.Reader.
func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) >= e.left {
		p = p[:e.left]
	}
	if e.left > 1 && int64(len(p)) == e.left {
		p = p[:len(p)-1] // hold back the last byte
	}
	n, err := e.w.src.Read(p)
	e.read += int64(n)
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		return n, e.w.short(e.read)
	case err != nil && err != io.EOF:
		return n, err
	case e.left == 0:
		// The last byte is in p: pass it on only if nothing follows.
		if err := e.w.checkEnd(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// partReader cuts the content into parts, read into buffers. It reads one
// byte ahead, so that it knows which part is the last.
type partReader struct {
	w       *write
	total   int64 // bytes read into parts
	ahead   byte  // the byte read ahead, if pending
	pending bool
	done    bool // the last part has been read
}

// read fills buf with the next part, reporting its length and whether it
// is the last. A part is shorter than buf only if it is the last.
func (p *partReader) read(buf []byte) (n int, last bool, err error) {
	if p.pending {
		buf[0], n, p.pending = p.ahead, 1, false
	}
	k, err := io.ReadFull(p.w.src, buf[n:])
	n += k
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		last = true
	case err != nil:
		return 0, false, err
	default:
		var one [1]byte
		switch k, err := io.ReadFull(p.w.src, one[:]); {
		case k == 1:
			p.ahead, p.pending = one[0], true
		case err == io.EOF:
			last = true
		default:
			return 0, false, err
		}
	}
	p.total += int64(n)
	p.done = last
	if declared := p.w.size; declared >= 0 {
		switch {
		case p.total > declared || p.total == declared && !last:
			p.w.lengthErr = fmt.Errorf("content is longer than the %d bytes declared", declared)
			return 0, false, p.w.lengthErr
		case last && p.total < declared:
			return 0, false, p.w.short(p.total)
		}
	}
	return n, last, nil
}

// source reads the caller's content until ctx is done, remembering the
// first error other than io.EOF it returned.
type source struct {
	ctx context.Context
	r   io.Reader

	mu  sync.Mutex // parts read at offsets (readerAt) fail side by side
	err error
}

// Read implements io.Reader.
func (s *source) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	s.record(err)
	return n, err
}

// record remembers err if it is the content's first failure.
func (s *source) record(err error) {
	if err == nil || err == io.EOF {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// failure returns the content's first failure, if any.
func (s *source) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// readerAt reads the caller's content at offsets (sectioned), recording
// its failures in src.
type readerAt struct {
	src *source
	ra  io.ReaderAt
}

// ReadAt implements io.ReaderAt.
func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.ra.ReadAt(p, off)
	r.src.record(err)
	return n, err
}

// buffer returns a buffer of size bytes, from the pool if it has the
// Store's part size.
func (s *Store) buffer(size int64) *[]byte {
	if size == s.partSize {
		return s.buffers.Get().(*[]byte)
	}
	b := make([]byte, size)
	return &b
}

// release returns a buffer from buffer to the pool.
func (s *Store) release(b *[]byte) {
	if int64(len(*b)) == s.partSize {
		s.buffers.Put(b)
	}
}

// ceilMiB rounds n up to a whole number of MiB.
func ceilMiB(n int64) int64 {
	const mib = 1 << 20
	return (n + mib - 1) / mib * mib
}
