package pdfseal

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"testing/iotest"
)

// revisionEndsOf is revisionEnds over bytes in memory, as it was written
// before it streamed: the oracle for the chunked scan.
func revisionEndsOf(b []byte) []int64 {
	var ends []int64
	for at := 0; ; {
		i := bytes.Index(b[at:], []byte("%%EOF"))
		if i < 0 {
			return ends
		}
		i += at
		tail := bytes.TrimRight(b[max(0, i-32):i], whitespace)
		digits := len(tail) - len(bytes.TrimRight(tail, "0123456789"))
		if digits > 0 && !bytes.Equal(tail[len(tail)-digits:], []byte("0")) &&
			bytes.HasSuffix(bytes.TrimRight(tail[:len(tail)-digits], whitespace), []byte("startxref")) {
			ends = append(ends, int64(i+len("%%EOF")))
		}
		at = i + len("%%EOF")
	}
}

// TestSourceChunks: what the source finds by streaming in chunks of any
// size, in memory or through its io.ReaderAt — an occurrence across two chunks, the bytes before one that lie
// in the chunk before — is what a search of the bytes in memory finds.
func TestSourceChunks(t *testing.T) {
	t.Parallel()
	hello := conformance(t, "pdf/hello.pdf")
	inputs := []struct {
		name string
		b    []byte
	}{
		{"hello.pdf", hello},
		{"two revisions", append(bytes.Clone(hello), "1 0 obj\nnull\nendobj\nstartxref\r\n1234\r\n%%EOF  \n\n"...)},
		{"ends packed", []byte("startxref\n9\n%%EOF%%EOFstartxref 12%%EOF\x00\t startxref\n\n 0\n%%EOF")},
		{"white space only", bytes.Repeat([]byte(" \r\n"), 300)},
		{"empty", nil},
	}
	for _, in := range inputs {
		wantEnds := revisionEndsOf(in.b)
		wantLast := int64(bytes.LastIndex(in.b, []byte("endobj")))
		wantFirst := int64(bytes.Index(in.b, []byte("%%EOF")))
		wantTrim := int64(len(bytes.TrimRight(in.b, whitespace)))
		wantSkip := int64(len(in.b) - len(bytes.TrimLeft(in.b, whitespace)))
		for _, chunk := range []int{64, 65, 97, 128, 1000, scanChunk} {
			// The same, read in place and through the io.ReaderAt.
			for _, s := range []*source{bytesSource(in.b), newSource(bytes.NewReader(in.b), int64(len(in.b)))} {
				s.chunk = chunk
				if got := revisionEnds(s); !slices.Equal(got, wantEnds) {
					t.Errorf("%s, chunk %d: revisionEnds %v, want %v", in.name, chunk, got, wantEnds)
				}
				if got := s.lastIndex(s.size, []byte("endobj")); got != wantLast {
					t.Errorf("%s, chunk %d: lastIndex %d, want %d", in.name, chunk, got, wantLast)
				}
				if got := s.index(0, s.size, []byte("%%EOF")); got != wantFirst {
					t.Errorf("%s, chunk %d: index %d, want %d", in.name, chunk, got, wantFirst)
				}
				if got := s.trimWhite(s.size); got != wantTrim {
					t.Errorf("%s, chunk %d: trimWhite %d, want %d", in.name, chunk, got, wantTrim)
				}
				if got := s.skipWhite(0); got != wantSkip {
					t.Errorf("%s, chunk %d: skipWhite %d, want %d", in.name, chunk, got, wantSkip)
				}
				if got, want := stateOver(nil, s.span(0, s.size)).Sum(), sm3Sum(in.b); !bytes.Equal(got, want) {
					t.Errorf("%s, chunk %d: the streamed SM3 differs", in.name, chunk)
				}
			}
		}
	}
}

// TestSourceReadError: a document that cannot be read is the error of
// UpdateReader and VerifyReader, not a verdict on the bytes they lacked.
func TestSourceReadError(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	in := textPDF(1, 100)
	broken := iotest.ErrReader(errors.New("disk on fire"))
	r := readerAtFunc(func(p []byte, off int64) (int, error) {
		if off+int64(len(p)) > int64(len(in))/2 {
			return broken.Read(p)
		}
		return copy(p, in[off:]), nil
	})
	if _, err := UpdateReader(t.Context(), r, int64(len(in)), options(t, sm2K, 1)); err == nil || !bytes.Contains([]byte(err.Error()), []byte("disk on fire")) {
		t.Errorf("UpdateReader: %v, want the read error", err)
	}
	if _, err := VerifyReader(t.Context(), r, int64(len(in)), VerifyOptions{}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("disk on fire")) {
		t.Errorf("VerifyReader: %v, want the read error", err)
	}
}

type readerAtFunc func(p []byte, off int64) (int, error)

func (f readerAtFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }

// TestLastIndexOf: lastIndexOf finds what bytes.LastIndex finds, for
// separators at either end, overlapping, longer than the text, or whose
// last byte also occurs alone.
func TestLastIndexOf(t *testing.T) {
	tests := []struct{ b, sep string }{
		{"12 0 obj <</Contents<0a1b>>>", "obj"},
		{"obj", "obj"},
		{"ob", "obj"},
		{"", "obj"},
		{"objobj", "obj"},
		{"endobj\n3 0 obj jjj", "endobj"},
		{"xjj obj j", "obj"},
		{"aaaa", "aa"},
		{"jjj", "jj"},
		{"no separator here", "endobj"},
		{"abc", ""},
	}
	for _, tc := range tests {
		if got, want := lastIndexOf([]byte(tc.b), []byte(tc.sep)), bytes.LastIndex([]byte(tc.b), []byte(tc.sep)); got != want {
			t.Errorf("lastIndexOf(%q, %q) = %d, want %d", tc.b, tc.sep, got, want)
		}
	}
}
