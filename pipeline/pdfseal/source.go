package pdfseal

import (
	"bytes"
	"fmt"
	"io"
)

// source is the input document, read through an io.ReaderAt: what this
// package parses itself — the header, the tail with startxref, a
// cross-reference section, the text around a signature's /Contents — is
// read as a window of it, and what it hashes or scans is streamed through
// a buffer of scanChunk bytes. A document of any size is then sealed and
// verified in memory bounded by its structure, not by its length.
//
// A document the caller holds in memory is read in place: its windows
// and chunks are slices of it, not copies, and the logic is the same.
//
// The first read error is kept (a source and the prefixes made from it
// share it): reads after it see no bytes, and the entry points return it
// rather than any verdict built on what could not be read.
type source struct {
	r     io.ReaderAt
	size  int64
	mem   []byte // the document, when it is in memory
	err   *error
	chunk int // the size of the buffer scans and hashes stream through
}

// scanChunk is a source's chunk, but in the tests of chunk boundaries.
const scanChunk = 256 << 10

func newSource(r io.ReaderAt, size int64) *source {
	return &source{r: r, size: max(size, 0), err: new(error), chunk: scanChunk}
}

// bytesSource is the source of a document held in memory.
func bytesSource(b []byte) *source {
	s := newSource(bytes.NewReader(b), int64(len(b)))
	s.mem = b
	return s
}

// failed returns the first read error, if any.
func (s *source) failed() error { return *s.err }

// prefix returns the source of the document's first n bytes: a revision
// of it (§7.5.6).
func (s *source) prefix(n int64) *source {
	p := &source{r: s.r, size: min(max(n, 0), s.size), err: s.err, chunk: s.chunk}
	if s.mem != nil {
		p.mem = s.mem[:p.size]
	}
	return p
}

// reader returns the document as an io.ReaderAt that ends at its size,
// for pdffile.
func (s *source) reader() io.ReaderAt { return io.NewSectionReader(s.r, 0, s.size) }

// readInto reads the bytes [off, end), clipped to the document, into buf,
// which it grows if need be, and returns them; for a document in memory,
// it returns them in place. The caller does not modify them.
func (s *source) readInto(buf []byte, off, end int64) []byte {
	off, end = max(off, 0), min(end, s.size)
	if off >= end || *s.err != nil {
		return buf[:0]
	}
	if s.mem != nil {
		return s.mem[off:end:end]
	}
	n := int(end - off)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	m, err := s.r.ReadAt(buf, off)
	if m < n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		*s.err = fmt.Errorf("pdfseal: reading the document at %d: %w", off+int64(m), err)
		return buf[:m]
	}
	return buf
}

// read returns a new slice of the bytes [off, end), clipped to the
// document.
func (s *source) read(off, end int64) []byte { return s.readInto(nil, off, end) }

// each calls fn for every occurrence of sep in the bytes [from, to), in
// order, with the up to back bytes before it (not before from), until fn
// returns false. The bytes are streamed in chunks that overlap by back
// and by len(sep)-1, so an occurrence across two chunks is found once.
func (s *source) each(from, to int64, sep []byte, back int, fn func(at int64, before []byte) bool) {
	from, to = max(from, 0), min(to, s.size)
	var buf []byte
	for pos := from; pos < to; {
		lo := max(from, pos-int64(back))
		hi := min(to, pos+int64(s.chunk))
		buf = s.readInto(buf, lo, hi)
		if int64(len(buf)) < hi-lo {
			return
		}
		k := int(pos - lo)
		for {
			j := bytes.Index(buf[k:], sep)
			if j < 0 {
				break
			}
			i := k + j
			if !fn(lo+int64(i), buf[max(0, i-back):i]) {
				return
			}
			k = i + len(sep)
		}
		if hi == to {
			return
		}
		pos = max(lo+int64(k), hi-int64(len(sep))+1)
	}
}

// index returns the offset of the first sep in [from, to), or -1.
func (s *source) index(from, to int64, sep []byte) int64 {
	found := int64(-1)
	s.each(from, to, sep, 0, func(at int64, _ []byte) bool {
		found = at
		return false
	})
	return found
}

// lastIndex returns the offset of the last sep in [0, end), or -1,
// reading backwards from end.
func (s *source) lastIndex(end int64, sep []byte) int64 {
	end = min(end, s.size)
	var buf []byte
	for hi := end; hi > 0; {
		lo := max(0, hi-int64(s.chunk))
		buf = s.readInto(buf, lo, hi)
		if int64(len(buf)) < hi-lo {
			return -1
		}
		if i := lastIndexOf(buf, sep); i >= 0 {
			return lo + int64(i)
		}
		if lo == 0 {
			return -1
		}
		hi = lo + int64(len(sep)) - 1
	}
	return -1
}

// skipWhite returns the offset of the first byte at or after off that is
// not PDF white space (§7.2.2), or the document's size.
func (s *source) skipWhite(off int64) int64 {
	var buf []byte
	for n := int64(64); off < s.size; n = min(4*n, int64(s.chunk)) {
		buf = s.readInto(buf, off, off+n)
		if len(buf) == 0 {
			return s.size
		}
		if n := len(buf) - len(bytes.TrimLeft(buf, whitespace)); n < len(buf) {
			return off + int64(n)
		}
		off += int64(len(buf))
	}
	return s.size
}

// trimWhite returns the length of the document's first end bytes without
// the white space that ends them.
func (s *source) trimWhite(end int64) int64 {
	end = min(end, s.size)
	var buf []byte
	for n := int64(64); end > 0; n = min(4*n, int64(s.chunk)) {
		buf = s.readInto(buf, max(0, end-n), end)
		if len(buf) == 0 {
			return 0
		}
		t := bytes.TrimRight(buf, whitespace)
		if len(t) > 0 {
			return end - int64(len(buf)-len(t))
		}
		end -= int64(len(buf))
	}
	return 0
}

// span returns the bytes [off, end) of the document as a span to hash.
func (s *source) span(off, end int64) span { return span{src: s, off: off, n: end - off} }

// span is a run of bytes to hash: b, or the n bytes at off of src, which
// are streamed.
type span struct {
	b      []byte
	src    *source
	off, n int64
}

// spans makes spans of byte slices.
func spans(parts ...[]byte) []span {
	out := make([]span, len(parts))
	for i, b := range parts {
		out[i] = span{b: b}
	}
	return out
}

// size is the length of the span.
func (p span) size() int64 {
	if p.src == nil {
		return int64(len(p.b))
	}
	return p.n
}

// lastIndexOf is bytes.LastIndex, five times faster for what a verifier
// looks for backwards: "obj" and "endobj" over the tens of kilobytes of
// hex strings of a signature dictionary, where their last byte never
// occurs. It looks for that byte alone (bytes.LastIndexByte, where
// bytes.LastIndex hashes every byte) and compares the rest where it
// lands.
func lastIndexOf(b, sep []byte) int {
	if len(sep) == 0 {
		return len(b)
	}
	last := sep[len(sep)-1]
	for at := len(b); ; {
		i := bytes.LastIndexByte(b[:at], last)
		if i < 0 {
			return -1
		}
		if start := i + 1 - len(sep); start >= 0 && bytes.Equal(b[start:i+1], sep) {
			return start
		}
		at = i
	}
}

// hashTo writes the span's bytes from skip on to w, a hash: its Write
// does not fail. A read error of src is kept in src.
func (p span) hashTo(w io.Writer, skip int64) {
	if p.src == nil {
		w.Write(p.b[skip:])
		return
	}
	var buf []byte
	for off, end := p.off+skip, p.off+p.n; off < end; {
		buf = p.src.readInto(buf, off, min(end, off+int64(p.src.chunk)))
		if len(buf) == 0 {
			return
		}
		w.Write(buf)
		off += int64(len(buf))
	}
}
