package pdffile

import (
	"container/list"
	"errors"
	"io"
)

// source reads the file through a small cache of fixed-size blocks, so
// that the many small reads of a lookup (a cross-reference entry, an
// object's first bytes) cost one ReadAt per block. Large reads bypass the
// cache. Not safe for concurrent use: File serialises access.
type source struct {
	r      io.ReaderAt
	size   int64
	blocks map[int64]*list.Element
	lru    list.List // of *block, most recently used first
	max    int
}

const (
	blockSize   = 1024
	cacheBlocks = 256 // 256 KiB
)

type block struct {
	idx  int64
	data []byte
}

func newSource(r io.ReaderAt, size int64) *source {
	return &source{r: r, size: size, blocks: make(map[int64]*list.Element), max: cacheBlocks}
}

// errShortRead reports a ReaderAt that returned less than the size it was
// opened with promised.
var errShortRead = errors.New("short read: the file is shorter than its size")

// readAt reads file[off:off+len(p)], clipped to the file, and returns how
// many bytes it read.
func (s *source) readAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.size {
		return 0, nil
	}
	if int64(len(p)) > s.size-off {
		p = p[:s.size-off]
	}
	if len(p) > 4*blockSize {
		n, err := s.r.ReadAt(p, off)
		if n == len(p) {
			return n, nil
		}
		if err == nil || err == io.EOF {
			err = errShortRead
		}
		return n, err
	}
	n := 0
	for n < len(p) {
		b, err := s.block((off + int64(n)) / blockSize)
		if err != nil {
			return n, err
		}
		start := int((off + int64(n)) % blockSize)
		if start >= len(b) {
			return n, errShortRead
		}
		n += copy(p[n:], b[start:])
	}
	return n, nil
}

// window returns a new slice holding file[off:off+n], clipped to the file.
func (s *source) window(off int64, n int) ([]byte, error) {
	if off < 0 || off >= s.size || n <= 0 {
		return nil, nil
	}
	n = int(min(int64(n), s.size-off))
	p := make([]byte, n)
	m, err := s.readAt(p, off)
	return p[:m], err
}

func (s *source) block(idx int64) ([]byte, error) {
	if e, ok := s.blocks[idx]; ok {
		s.lru.MoveToFront(e)
		return e.Value.(*block).data, nil
	}
	off := idx * blockSize
	n := int(min(blockSize, s.size-off))
	var b *block
	if s.lru.Len() >= s.max {
		e := s.lru.Back()
		b = e.Value.(*block)
		s.lru.Remove(e)
		delete(s.blocks, b.idx)
		b.data = b.data[:n]
	} else {
		b = &block{data: make([]byte, n, blockSize)}
	}
	m, err := s.r.ReadAt(b.data, off)
	if m < n {
		if err == nil || err == io.EOF {
			err = errShortRead
		}
		return nil, err
	}
	b.idx = idx
	s.blocks[idx] = s.lru.PushFront(b)
	return b.data, nil
}
