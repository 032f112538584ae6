package ofd

import (
	"archive/zip"
	"bytes"
	"errors"
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

// fuzzLimits keep each input cheap.
var fuzzLimits = Limits{MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20, MaxXMLSize: 1 << 20}

func FuzzOpen(f *testing.F) {
	for _, b := range corpusPackages(f) {
		f.Add(b)
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
