package pdffile

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// conformanceDir is the conformance set of pipeline/pdfseal (issue 11),
// read in place: MANIFEST.json there describes each file.
const conformanceDir = "../pdfseal/testdata/conformance"

type manifestEntry struct {
	File     string   `json:"file"`
	Features []string `json:"features"`
	Expect   string   `json:"expect"`
	Page     int      `json:"page"`
	Error    string   `json:"error"`
}

// hostile says what pdffile does with each damaged file of the set:
// pdfseal's decision (seal or refuse) is made from these on top.
var hostile = map[string]struct {
	openErr error  // Open fails with it, or
	repairs string // Open succeeds with these repairs (kinds, space-separated)
	pageErr string // and reading the pages fails with this
}{
	"hostile-empty.pdf":                  {openErr: ErrMalformed},
	"hostile-not-a-pdf.pdf":              {openErr: ErrMalformed},
	"hostile-prev-loop.pdf":              {openErr: ErrMalformed},
	"hostile-startxref-nowhere.pdf":      {repairs: "reconstructed"},
	"hostile-truncated.pdf":              {repairs: "reconstructed", pageErr: "null"},
	"hostile-page-tree-loop.pdf":         {pageErr: "loops"},
	"hostile-deep-nesting.pdf":           {pageErr: "nested more than"},
	"hostile-objstm-overclaim.pdf":       {pageErr: "/N is"},
	"hostile-huge-size.pdf":              {},
	"hostile-deep-nesting-elsewhere.pdf": {},
	"hostile-missing-endobj.pdf":         {repairs: "missing-endobj"},
	"hostile-xref-offsets-off.pdf":       {repairs: "object-offset object-offset object-offset"},
}

// pdfcpuDiffers lists the files of the set pdfcpu reads otherwise, and
// why.
var pdfcpuDiffers = map[string]string{
	"handmade-hybrid.pdf": "the table marks objects 6 and 7 free and the /XRefStm stream puts them in an object stream " +
		"(§7.5.8.4): pdffile reads them from the stream, pdfcpu lets the free entries hide them",
	"hostile-deep-nesting-elsewhere.pdf": "object 7, which nothing refers to, nests deeper than Options.MaxDepth: " +
		"pdffile's Object(7) is ErrLimit, pdfcpu reads it as null",
}

func TestConformanceSet(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(conformanceDir, "MANIFEST.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no conformance set at %s", conformanceDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Files []manifestEntry }
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) == 0 {
		t.Fatal("MANIFEST.json lists no files")
	}
	for _, e := range m.Files {
		t.Run(e.File, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(conformanceDir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			f, err := Open(bytes.NewReader(b), int64(len(b)), Options{})
			h, isHostile := hostile[e.File]
			switch {
			case isHostile && h.openErr != nil:
				if !errors.Is(err, h.openErr) {
					t.Fatalf("Open: %v, want %v", err, h.openErr)
				}
				return
			case err != nil:
				t.Fatalf("Open: %v", err)
			}
			encrypted := slices.Contains(e.Features, "encrypted")
			if f.Encrypted() != encrypted {
				t.Errorf("Encrypted() = %v", f.Encrypted())
			}
			if encrypted {
				return // strings and streams are encrypted: there is nothing more to read
			}
			// Every page, as sealing on any of them would read it.
			var pageErr error
			n, err := f.NumPages()
			if err != nil {
				pageErr = err
			}
			for i := 1; i <= n && pageErr == nil; i++ {
				_, _, a, err := f.Page(i)
				if err == nil && a.MediaBox == nil {
					t.Errorf("page %d has no MediaBox", i)
				}
				pageErr = err
			}
			var repairs []string
			for _, r := range f.Repairs() {
				repairs = append(repairs, r.Kind.String())
			}
			switch {
			case isHostile:
				if got := strings.Join(repairs, " "); got != h.repairs {
					t.Errorf("repairs %v, want %q", f.Repairs(), h.repairs)
				}
				if h.pageErr == "" && pageErr != nil || h.pageErr != "" && (pageErr == nil || !strings.Contains(pageErr.Error(), h.pageErr)) {
					t.Errorf("reading the pages: %v, want an error containing %q", pageErr, h.pageErr)
				}
			case slices.Contains(e.Features, "hostile"):
				t.Logf("a hostile file not listed in hostile: repairs %v, pages: %v", repairs, pageErr)
			case e.Expect == "seal":
				if pageErr != nil {
					t.Fatalf("reading the pages: %v", pageErr)
				}
				if e.Page > n {
					t.Errorf("the manifest seals page %d of %d", e.Page, n)
				}
				if len(repairs) > 0 {
					t.Errorf("repairs %v", f.Repairs())
				}
				if slices.Contains(e.Features, "incremental") && len(f.Revisions()) < 2 {
					t.Errorf("an incremental file with %d revision", len(f.Revisions()))
				}
			default:
				t.Logf("%s (%s): repairs %v, pages: %v", e.Expect, e.Error, repairs, pageErr)
			}
			t.Logf("%d pages, %d revisions, %v", n, len(f.Revisions()), time.Since(start))
			if !isHostile && !slices.Contains(e.Features, "hostile") {
				// pdfseal finds revisions by their "startxref N %%EOF"
				// (N not 0); the chain must give the same ends.
				var ends []int64
				for _, r := range f.Revisions() {
					ends = append(ends, r.End)
				}
				if want := eofEnds(b); !slices.Equal(ends, want) {
					t.Errorf("revisions end at %v; the file's startxref-%%%%EOF pairs at %v", ends, want)
				}
			}
			if pageErr != nil {
				return
			}
			res := compareWithPDFCPU(b, f)
			switch why, differs := pdfcpuDiffers[e.File]; {
			case res.pdfcpuErr != nil:
				t.Logf("pdfcpu does not read the file: %v", res.pdfcpuErr)
			case differs && len(res.diffs) == 0:
				t.Errorf("pdfcpu now reads the file as pdffile does (listed as differing: %s)", why)
			case !differs:
				for _, d := range res.diffs {
					t.Errorf("pdffile and pdfcpu differ: %s", d)
				}
			}
			t.Logf("pdfcpu cross-check: %s", res)
		})
	}
}

// eofEnds returns the end of each "startxref N %%EOF" of b with N not 0
// (§7.5.5; 0 follows the first-page trailer of a linearized file), as
// pipeline/pdfseal's revisionEnds finds them.
func eofEnds(b []byte) []int64 {
	var ends []int64
	for at := 0; ; {
		i := bytes.Index(b[at:], []byte("%%EOF"))
		if i < 0 {
			return ends
		}
		i += at
		tail := bytes.TrimRight(b[max(0, i-32):i], " \t\r\n\f\x00")
		digits := len(tail) - len(bytes.TrimRight(tail, "0123456789"))
		if digits > 0 && !bytes.Equal(tail[len(tail)-digits:], []byte("0")) &&
			bytes.HasSuffix(bytes.TrimRight(tail[:len(tail)-digits], " \t\r\n\f\x00"), []byte("startxref")) {
			ends = append(ends, int64(i+len("%%EOF")))
		}
		at = i + len("%%EOF")
	}
}
