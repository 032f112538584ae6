package pdffile

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

func ref(nr int) types.IndirectRef { return types.IndirectRef{ObjectNumber: types.Integer(nr)} }

// TestDamagedObjects reads objects that are damaged in ways no repair
// fixes: each is an error, with the file still usable for other objects.
func TestDamagedObjects(t *testing.T) {
	b := simpleDoc(newBuilder())
	b.obj(20, "21 0 R").obj(21, "22 0 R").obj(22, "20 0 R") // a reference loop
	b.obj(23, strings.Repeat("[", 100)+strings.Repeat("]", 100))
	b.obj(24, "<< /Type /Pages /Kids [24 0 R] /Count 1 >>") // a page tree node that is its own kid
	b.obj(25, "<< /Type /Pages /Kids [4 0 R] /Count 7 >>")  // /Count lies
	b.stream(26, "/Filter /FlateDecode", deflate(make([]byte, 2<<20)))
	b.stream(27, "/Filter /DCTDecode", []byte("\xff\xd8\xff"))
	b.stream(28, "/Filter [/ASCIIHexDecode /FlateDecode]", []byte(hex.EncodeToString(deflate([]byte("two filters")))+">"))
	b.obj(29, "<< /Type /Pages /Kids [4 0 R 30 0 R] /Count 2 >>")
	b.obj(30, "(not a page)")
	b.stream(31, "/Filter /FlateDecode", []byte("not zlib data at all"))
	b.rawObj(32, "<< /Length 32 0 R >>\nstream\nself\nendstream\nendobj\n") // /Length refers to itself
	b.obj(33, "<< /Type /ObjStm /N 1 /First 4 >>")                          // not a stream
	b.table(b.keys(), nil, "/Size 34 /Root 1 0 R")
	// Objects in the object stream 40, which is itself said to be in 41,
	// and object 42 said to be in stream 33 (a dictionary).
	f := open(t, b.bytes(), Options{MaxDecodedSize: 1 << 20})
	f.sections[0].subs = append(f.sections[0].subs, &subsection{first: 40, count: 3, parsed: []entry{
		{kind: uint8(EntryCompressed), off: 41, set: true},
		{kind: uint8(EntryCompressed), off: 40, set: true},
		{kind: uint8(EntryCompressed), off: 33, set: true},
	}})

	tests := []struct {
		name string
		do   func() error
		err  error
		text string
	}{
		{"reference loop", func() error { _, err := f.Resolve(ref(20)); return err }, ErrMalformed, "refers back"},
		{"deep nesting", func() error { _, err := f.Object(23); return err }, ErrLimit, "nested"},
		{"flate bomb, Stream", func() error { _, _, err := f.Stream(ref(26)); return err }, ErrLimit, "limit"},
		{"flate bomb, StreamReader", func() error {
			_, r, err := f.StreamReader(ref(26))
			if err == nil {
				_, err = io.Copy(io.Discard, r)
			}
			return err
		}, ErrLimit, "limit"},
		{"image filter", func() error { _, _, err := f.Stream(ref(27)); return err }, ErrUnsupportedFilter, "DCTDecode"},
		{"not zlib", func() error { _, _, err := f.Stream(ref(31)); return err }, ErrMalformed, "FlateDecode"},
		{"not a stream", func() error { _, _, err := f.Stream(ref(8)); return err }, ErrMalformed, "not a stream"},
		{"object stream in itself", func() error { _, err := f.Object(40); return err }, ErrMalformed, "not an object stored"},
		{"object stream not a stream", func() error { _, err := f.Object(42); return err }, ErrMalformed, "not a stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("%v; want %v containing %q", err, tt.err, tt.text)
			}
		})
	}
	t.Run("two filters", func(t *testing.T) {
		_, data, err := f.Stream(ref(28))
		if err != nil || string(data) != "two filters" {
			t.Fatalf("%q, %v", data, err)
		}
	})
	t.Run("/Length referring to its own stream", func(t *testing.T) {
		_, data, err := f.Stream(ref(32))
		if err != nil || string(data) != "self" {
			t.Fatalf("%q, %v", data, err)
		}
	})
	// The page tree, reached from other roots.
	for _, tt := range []struct {
		root int
		page int
		text string
	}{{24, 1, "loops"}, {25, 3, "fewer pages"}, {29, 2, "not a page"}} {
		t.Run(fmt.Sprintf("page tree %d", tt.root), func(t *testing.T) {
			f.mu.Lock()
			f.trailer = types.Dict{"Root": ref(50)}
			f.objs.put(50, cachedObject{obj: types.Dict{"Type": types.Name("Catalog"), "Pages": ref(tt.root)}})
			f.mu.Unlock()
			_, _, _, err := f.Page(tt.page)
			if tt.root == 29 {
				// A kid that is not a dictionary.
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Page(%d): %v", tt.page, err)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Page(%d): %v; want %q", tt.page, err, tt.text)
			}
		})
	}
}

// TestPredictors decodes FlateDecode data with each PNG row filter
// (§7.4.4.4) and the TIFF predictor.
func TestPredictors(t *testing.T) {
	const columns, colors = 5, 3
	rowLen := columns * colors
	rows := make([][]byte, 7)
	for i := range rows {
		rows[i] = make([]byte, rowLen)
		for j := range rows[i] {
			rows[i][j] = byte(i*37 + j*j*11 + 3)
		}
	}
	var want []byte
	for _, r := range rows {
		want = append(want, r...)
	}
	bpp := colors
	encode := func(ft byte, cur, prev []byte) []byte {
		out := []byte{ft}
		for i := range cur {
			var a, b, c byte
			if i >= bpp {
				a, c = cur[i-bpp], prev[i-bpp]
			}
			b = prev[i]
			var p byte
			switch ft {
			case 1:
				p = a
			case 2:
				p = b
			case 3:
				p = byte((int(a) + int(b)) / 2)
			case 4:
				p = paeth(a, b, c)
			}
			out = append(out, cur[i]-p)
		}
		return out
	}
	b := newBuilder()
	for ft := byte(0); ft <= 4; ft++ {
		var enc []byte
		prev := make([]byte, rowLen)
		for _, r := range rows {
			enc = append(enc, encode(ft, r, prev)...)
			prev = r
		}
		b.stream(int(ft)+1, fmt.Sprintf("/Filter /FlateDecode /DecodeParms << /Predictor %d /Colors %d /Columns %d >>", 10+ft, colors, columns), deflate(enc))
	}
	var tiff []byte
	for _, r := range rows {
		for i := range r {
			if i >= bpp {
				tiff = append(tiff, r[i]-r[i-bpp])
			} else {
				tiff = append(tiff, r[i])
			}
		}
	}
	b.stream(6, fmt.Sprintf("/Filter /FlateDecode /DecodeParms << /Predictor 2 /Colors %d /Columns %d >>", colors, columns), deflate(tiff))
	b.obj(7, "<< /Type /Catalog >>")
	b.table(b.keys(), nil, "/Size 8 /Root 7 0 R")
	f := open(t, b.bytes(), Options{})
	for nr := 1; nr <= 6; nr++ {
		_, got, err := f.Stream(ref(nr))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("stream %d: %v, %v; want %v", nr, got, err, want)
		}
	}
	crossCheck(t, b.bytes(), f)
}

// TestConcurrentUse reads one File from several goroutines (run with
// -race to check the locking).
func TestConcurrentUse(t *testing.T) {
	b := simpleDoc(newBuilder())
	b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
	f := open(t, b.bytes(), Options{CacheObjects: 2})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if _, _, _, err := f.Page(1 + (g+i)%3); err != nil {
					t.Error(err)
					return
				}
				if _, r, err := f.StreamReader(ref(7)); err != nil {
					t.Error(err)
				} else if _, err := io.ReadAll(r); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// TestInflatersReused reads zlib, raw deflate, truncated and corrupt
// streams in turn from several goroutines: the inflaters a stream hands
// back once it ends (or fails) serve the next streams, each of which
// still reads its own data, whatever the one before held or how it ended.
func TestInflatersReused(t *testing.T) {
	text := func(i int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("stream %d; ", i)), 2000+i) }
	raw := func(p []byte) []byte {
		var out bytes.Buffer
		w, _ := flate.NewWriter(&out, flate.BestSpeed)
		w.Write(p)
		w.Close()
		return out.Bytes()
	}
	b := simpleDoc(newBuilder())
	want := map[int][]byte{}
	for i := range 4 {
		b.stream(20+i, "/Filter /FlateDecode", deflate(text(20+i)))
		want[20+i] = text(20 + i)
		b.stream(30+i, "/Filter /FlateDecode", raw(text(30+i)))
		want[30+i] = text(30 + i)
	}
	// Data that ends early ends the stream (flateReader): this one after
	// its first bytes.
	short := deflate(text(40))
	b.stream(40, "/Filter /FlateDecode", short[:len(short)/2])
	b.stream(41, "/Filter /FlateDecode", []byte("x\x9cnot deflate data")) // a zlib header, then garbage
	b.table(b.keys(), nil, "/Size 42 /Root 1 0 R")
	f := open(t, b.bytes(), Options{CacheObjects: -1})
	nrs := []int{20, 30, 40, 21, 41, 31, 22, 32, 23, 33}

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 40 {
				nr := nrs[(g+i)%len(nrs)]
				_, got, err := f.Stream(ref(nr))
				switch {
				case nr == 41:
					if !errors.Is(err, ErrMalformed) {
						t.Errorf("stream 41, not deflate data: %v, want ErrMalformed", err)
					}
				case nr == 40:
					if err != nil || len(got) == 0 || !bytes.HasPrefix(text(40), got) {
						t.Errorf("stream 40, cut short: %d bytes, %v; want a prefix of its text", len(got), err)
					}
				case err != nil || !bytes.Equal(got, want[nr]):
					t.Errorf("stream %d: %d bytes (%.20q), %v; want its %d bytes", nr, len(got), got, err, len(want[nr]))
				}
			}
		})
	}
	wg.Wait()
}

// TestClaimedSizes opens files whose numbers claim much more than their
// bytes hold: what Open allocates follows the bytes.
func TestClaimedSizes(t *testing.T) {
	tests := []struct {
		name  string
		build func() []byte
	}{
		{"a cross-reference stream claiming 8 million entries", func() []byte {
			b := simpleDoc(newBuilder())
			at := b.off()
			data := deflate([]byte{1, 0, 0, 0, 15, 0, 0})
			b.raw(fmt.Sprintf("9 0 obj\n<< /Type /XRef /Size 8000000 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n", len(data)))
			b.raw(string(data) + "\nendstream\nendobj\n")
			b.raw(fmt.Sprintf("startxref\n%d\n%%%%EOF\n", at))
			return b.bytes()
		}},
		{"a table claiming 8 million entries", func() []byte {
			b := simpleDoc(newBuilder())
			at := b.off()
			b.raw("xref\n0 8000000\n0000000000 65535 f \n0000000015 00000 n \n")
			b.raw(fmt.Sprintf("trailer\n<< /Size 8000000 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", at))
			return b.bytes()
		}},
		{"a scan finding object 8,388,000", func() []byte {
			return simpleDoc(newBuilder()).raw("8388000 0 obj\n(far)\nendobj\n").bytes()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.build()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			f, err := Open(bytes.NewReader(b), int64(len(b)), Options{})
			if err == nil {
				_, _, _, err = f.Page(1)
			}
			runtime.ReadMemStats(&after)
			t.Logf("%v; %d KiB allocated", err, (after.TotalAlloc-before.TotalAlloc)>>10)
			if after.TotalAlloc-before.TotalAlloc > 16<<20 {
				t.Errorf("allocated %d MiB", (after.TotalAlloc-before.TotalAlloc)>>20)
			}
		})
	}
}

func TestObjectAt(t *testing.T) {
	b := simpleDoc(newBuilder())
	b.obj(9, "(old)")
	b.table(b.keys(), nil, "/Size 10 /Root 1 0 R")
	old := b.offs[9]
	b.obj(9, "(new)")
	b.table([]int{9}, nil, "/Size 10 /Root 1 0 R")
	f := open(t, b.bytes(), Options{})
	nr, gen, o, err := f.ObjectAt(old)
	if err != nil || nr != 9 || gen != 0 || o != types.StringLiteral("old") {
		t.Errorf("ObjectAt(%d) = %d %d %v %v", old, nr, gen, o, err)
	}
	if _, _, o, err := f.ObjectAt(b.offs[7]); err != nil || !isStream(o) {
		t.Errorf("ObjectAt(stream) = %v %v", o, err)
	}
	for _, off := range []int64{-1, 3, f.Size()} {
		if _, _, _, err := f.ObjectAt(off); !errors.Is(err, ErrMalformed) {
			t.Errorf("ObjectAt(%d): %v", off, err)
		}
	}
}

func isStream(o types.Object) bool { _, ok := o.(types.StreamDict); return ok }
