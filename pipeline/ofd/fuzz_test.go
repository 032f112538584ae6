package ofd

import (
	"archive/zip"
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// sentinel reports whether err wraps one of the package's sentinels.
func sentinel(err error) bool {
	for _, s := range []error{ErrMalformed, ErrTooLarge, ErrUnsafePath, ErrDuplicate, ErrDTD, ErrNotFound, ErrUnsupported} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// corpusPackages returns the conformance OFDs, read in place, if present.
func corpusPackages(f *testing.F) [][]byte {
	dir, ok := testenv.ConformanceDir()
	if !ok {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(dir, "ofd", "*.ofd"))
	var out [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// fuzzSeed repacks a package into a seed the fuzzer can work with. The
// conformance packages hold up to 170 KB of deflated parts, fonts and
// templates; the fuzzer minimises every input that finds new coverage
// before it counts its execs, at a cost that grows with the input's
// length, so with the packages as they were the workers spent whole runs
// minimising and reported a handful of execs. And a random change to
// deflated bytes rarely survives decompression. The seed keeps every entry
// name (Open checks them all) and, whole, the XML parts FuzzOpen reads —
// OFD.xml, each Document.xml, Signatures.xml and Signature.xml — plus the
// first 1 KiB of each page's content (PageBox reads only its Area),
// stored uncompressed with a zero CRC-32, which archive/zip does not check,
// so that a mutation reaches the XML parser. Other parts are emptied.
func fuzzSeed(f *testing.F, pkg []byte) []byte {
	p, err := Open(pkg, Limits{})
	if err != nil {
		f.Fatal(err)
	}
	keep := map[string]int{"OFD.xml": -1}
	for _, body := range p.Bodies {
		keep[body.DocRoot] = -1
		if doc, err := p.Document(body); err == nil {
			for _, pg := range doc.Pages {
				keep[pg.Content] = 1 << 10
			}
		}
		if list, err := p.SignatureList(body); err == nil && list != nil {
			keep[list.Name] = -1
			for _, e := range list.Signatures {
				keep[e.BaseLoc] = -1
			}
		}
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range p.Entries() {
		var data []byte
		if n, ok := keep[e.Name]; ok {
			if data, err = p.Read(e.Name); err != nil {
				f.Fatal(err)
			}
			if n >= 0 && len(data) > n {
				data = data[:n]
			}
		}
		h := &zip.FileHeader{Name: e.File.Name, Method: zip.Store, CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))}
		fw, err := w.CreateRaw(h)
		if err != nil {
			f.Fatal(err)
		}
		fw.Write(data)
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// minimizeBudget bounds the fuzzer's minimisation of each new input unless
// -fuzzminimizetime is given. The fuzzer minimises every input that finds
// new coverage, not only failing ones, before it counts the execs spent;
// its byte-subset pass is quadratic in the input's length, so under the
// default 60 s an input of a few KB (every OFD package is one) holds a
// worker for the whole minute and the run reports almost no execs: 19 in
// 20 s before this bound, about 9,000 a second with it. A failing input is
// still minimised, within the same bound.
func minimizeBudget(f *testing.F) {
	set := false
	flag.Visit(func(fl *flag.Flag) { set = set || fl.Name == "test.fuzzminimizetime" })
	if fl := flag.Lookup("test.fuzzminimizetime"); fl != nil && !set {
		if err := fl.Value.Set("200x"); err != nil {
			f.Fatal(err)
		}
	}
}

// fuzzLimits keep each input cheap.
var fuzzLimits = Limits{MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20, MaxXMLSize: 1 << 20}

func FuzzOpen(f *testing.F) {
	minimizeBudget(f)
	for _, b := range corpusPackages(f) {
		f.Add(fuzzSeed(f, b))
	}
	f.Add(build(f, entry{name: "OFD.xml", data: []byte(minimalOFD)}, entry{name: "Doc_0/Document.xml", data: []byte(minimalDocument)}))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Open(data, fuzzLimits)
		if err != nil {
			if !sentinel(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		for _, body := range p.Bodies {
			if doc, err := p.Document(body); err == nil {
				for i := range doc.Pages {
					p.PageBox(doc, i)
				}
			} else if !sentinel(err) {
				t.Fatalf("Document: %v wraps no sentinel", err)
			}
			list, err := p.SignatureList(body)
			if err != nil || list == nil {
				continue
			}
			for _, e := range list.Signatures {
				if _, _, err := p.ReadSignature(e.BaseLoc); err != nil && !sentinel(err) {
					t.Fatalf("ReadSignature: %v wraps no sentinel", err)
				}
			}
		}
	})
}

func FuzzParseSignature(f *testing.F) {
	minimizeBudget(f)
	for _, b := range corpusPackages(f) {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			f.Fatal(err)
		}
		for _, zf := range zr.File {
			if filepath.Base(zf.Name) != "Signature.xml" {
				continue
			}
			rc, _ := zf.Open()
			x, _ := io.ReadAll(rc)
			rc.Close()
			f.Add(x)
		}
	}
	f.Add(billionLaughs())
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSignature(data)
		if err != nil {
			if !sentinel(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if s.SignedValue == "" {
			t.Fatal("parsed without a SignedValue")
		}
		s.Time()
	})
}
