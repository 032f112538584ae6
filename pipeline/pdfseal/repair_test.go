package pdfseal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/pdffile"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
)

// shifted inserts a comment line after the header of in, so that every
// offset its cross-reference data gives is len(pad) bytes short, and puts
// the last startxref right: the objects are found a few bytes from where
// their entries say (pdffile.RepairObjectOffset), the sections where they
// should be.
func shifted(t *testing.T, in []byte, pad string) []byte {
	t.Helper()
	eol := bytes.IndexByte(in, '\n') + 1
	out := append(append(bytes.Clone(in[:eol]), pad...), in[eol:]...)
	i := bytes.LastIndex(out, []byte("startxref")) + len("startxref")
	m := regexp.MustCompile(`^\s*(\d+)`).FindSubmatchIndex(out[i:])
	if m == nil {
		t.Fatal("no startxref")
	}
	n, _ := strconv.Atoi(string(out[i+m[2] : i+m[3]]))
	return append(append(bytes.Clone(out[:i+m[2]]), strconv.Itoa(n+len(pad))...), out[i+m[3]:]...)
}

// TestSealRepairedOffsets: a file whose objects are a few bytes from where
// its cross-reference entries say is sealed with a complete
// cross-reference section — every object where it is, no /Prev — that a
// reader of the output follows without any repair, of the input's kind (a
// stream where objects are compressed).
func TestSealRepairedOffsets(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	for _, tc := range []struct {
		name   string
		in     []byte
		page   int
		stream bool
	}{
		{"table", shifted(t, textPDF(3, 500), "%pad\n"), 2, false},
		{"stream with object streams", shifted(t, conformanceSetFile(t, "qpdf-object-streams.pdf"), "%padding\n"), 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, err := pdffile.Open(bytes.NewReader(tc.in), int64(len(tc.in)), pdffile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := in.Page(tc.page); err != nil || len(in.Repairs()) == 0 || in.Repairs()[0].Kind != pdffile.RepairObjectOffset {
				t.Fatalf("the test input: page %d: %v; repairs %v, want object offsets", tc.page, err, in.Repairs())
			}
			out := seal(t, tc.in, options(t, sm2K, tc.page))
			update := out[len(tc.in):]
			if bytes.Contains(update, []byte("/Prev")) {
				t.Error("the update's section chains to the damaged one with /Prev")
			}
			if got := bytes.Contains(update, []byte("/Type /XRef")); got != tc.stream {
				t.Errorf("cross-reference stream %v, want %v", got, tc.stream)
			}
			f, err := pdffile.Open(bytes.NewReader(out), int64(len(out)), pdffile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			nrs, err := f.ObjectNumbers()
			if err != nil {
				t.Fatal(err)
			}
			for _, nr := range nrs {
				if _, err := f.Object(nr); err != nil {
					t.Errorf("object %d of the output: %v", nr, err)
				}
			}
			if r := f.Repairs(); len(r) != 0 {
				t.Errorf("reading the output needs repairs: %v", r)
			}
			res, err := Verify(context.Background(), out)
			if err != nil || len(res) != 1 || res[0].Status != Valid || !res[0].CoversWholeFile {
				t.Fatalf("Verify: %v, %+v", err, res)
			}
			if _, err := runErr(t, "qpdf", "--version"); err == nil || testenv.CI() {
				qpdfCheck(t, out)
			}
		})
	}
}

// TestSealRepairs: what Seal does with each repair pdffile makes reading
// what it reads.
func TestSealRepairs(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	page := "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>"
	content := "<</Length %d>>\nstream\nBT ET\nendstream"
	missingEndobj := bytes.Replace(pdfsealtest.Build([]string{catalogObj, pagesObj, page, fmt.Sprintf(content, 5)}, "/Root 1 0 R"),
		[]byte(page+"\nendobj"), []byte(page+"\n      "), 1)
	// Object 4's entry leads to an object numbered 9, and no object 4 is
	// anywhere: readers take the object there or nothing.
	renumbered := bytes.Replace(pdfsealtest.Build([]string{catalogObj, pagesObj, page, fmt.Sprintf(content, 5)}, "/Root 1 0 R"),
		[]byte("\n4 0 obj"), []byte("\n9 0 obj"), 1)
	for _, tc := range []struct {
		name string
		in   []byte
		says string // "": sealed
	}{
		{"missing endobj: sealed, chained", missingEndobj, ""},
		{"an entry leading to another object: refused", renumbered, "object-number"},
		{"a page content /Length that misses endstream: refused",
			pdfsealtest.Build([]string{catalogObj, pagesObj, page, fmt.Sprintf(content, 3)}, "/Root 1 0 R"), "stream-length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var w recordingWriter
			err := Seal(context.Background(), &w, tc.in, options(t, sm2K, 1))
			if tc.says != "" {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.says) || w.writes != 0 {
					t.Fatalf("Seal: %v after %d writes; want ErrMalformed naming the repair %q", err, w.writes, tc.says)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(w.buf.Bytes()[len(tc.in):], []byte("/Prev")) {
				t.Error("the update does not chain to the input's section")
			}
			res, err := Verify(context.Background(), w.buf.Bytes())
			if err != nil || len(res) != 1 || res[0].Status != Valid {
				t.Fatalf("Verify: %v, %+v", err, res)
			}
		})
	}
}

// conformanceSetFile reads a file of the conformance set.
func conformanceSetFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(conformanceDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
