package pdfseal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
)

// twoRevisions builds a one-page document in two revisions, each ending
// with its own cross-reference table, whose trailers' /Prev (and other
// entries) trailers chooses from the offsets of the two tables and of
// object 1. The first revision's trailer is fixed-width, so that it may
// point forward. A 2 KB content stream puts the tables far enough apart
// that pdfcpu reads a /Prev loop without complaint.
func twoRevisions(trailers func(obj1, x1, x2 int) (first, second string)) []byte {
	data := "BT /F1 12 Tf 40 800 Td (filler) Tj ET" + strings.Repeat(" ", 2000)
	objs := []string{catalogObj, pagesObj,
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>",
		fmt.Sprintf("<</Length %d>>\nstream\n%s\nendstream", len(data), data)}
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x1 := b.Len()
	table := func(trailer string) string {
		s := fmt.Sprintf("xref\n0 %d\n0000000000 65535 f\r\n", len(objs)+1)
		for _, off := range offsets {
			s += fmt.Sprintf("%010d 00000 n\r\n", off)
		}
		return s + fmt.Sprintf("trailer\n<</Size %d/Root 1 0 R%-40s>>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailer, x1)
	}
	page := b.Len() + len(table(""))
	update := fmt.Sprintf("3 0 obj\n%s\nendobj\n", objs[2])
	x2 := page + len(update)
	first, second := trailers(offsets[0], x1, x2)
	b.WriteString(table(first))
	b.WriteString(update)
	fmt.Fprintf(&b, "xref\n3 1\n%010d 00000 n\r\ntrailer\n<</Size %d/Root 1 0 R%s>>\nstartxref\n%d\n%%%%EOF\n", page, len(objs)+1, second, x2)
	return b.Bytes()
}

// deepTree builds a page tree depth levels deep above its one page.
func deepTree(depth int) []byte {
	objs := []string{catalogObj}
	for i := range depth {
		parent := ""
		if i > 0 {
			parent = fmt.Sprintf("/Parent %d 0 R", i+1)
		}
		objs = append(objs, fmt.Sprintf("<</Type/Pages/Count 1/Kids[%d 0 R]%s>>", i+3, parent))
	}
	objs = append(objs, fmt.Sprintf("<</Type/Page/Parent %d 0 R/MediaBox[0 0 595 842]>>", depth+1))
	return pdfsealtest.Build(objs, "/Root 1 0 R")
}

// damagedPDFs are documents whose cross-reference chain or page tree a
// reader may follow round in circles, each with what Seal's refusal says.
func damagedPDFs() []struct {
	name string
	in   []byte
	says string
} {
	tree := func(objs ...string) []byte {
		return pdfsealtest.Build(append([]string{catalogObj}, objs...), "/Root 1 0 R")
	}
	return []struct {
		name string
		in   []byte
		says string
	}{
		{"xref /Prev ping-pong", twoRevisions(func(_, x1, x2 int) (string, string) {
			return fmt.Sprintf("/Prev %d", x2), fmt.Sprintf("/Prev %d", x1)
		}), "the cross-reference chain loops"},
		{"xref /Prev to itself", twoRevisions(func(_, x1, x2 int) (string, string) {
			return "", fmt.Sprintf("/Prev %d", x2)
		}), "the cross-reference chain loops"},
		{"hybrid /XRefStm back to the chain", twoRevisions(func(_, x1, x2 int) (string, string) {
			return fmt.Sprintf("/XRefStm %d", x2), fmt.Sprintf("/Prev %d", x1)
		}), "the cross-reference chain loops"},
		{"xref /Prev beyond the end", twoRevisions(func(_, x1, x2 int) (string, string) {
			return "", "/Prev 99999999"
		}), "not an offset inside the"},
		{"xref /Prev into an object", twoRevisions(func(obj1, x1, x2 int) (string, string) {
			return "", fmt.Sprintf("/Prev %d", obj1)
		}), "not a cross-reference stream"},
		{"hybrid /XRefStm to an object", twoRevisions(func(obj1, x1, x2 int) (string, string) {
			return fmt.Sprintf("/XRefStm %d", obj1), fmt.Sprintf("/Prev %d", x1)
		}), "which is not a cross-reference stream"},
		{"hybrid /XRefStm to a table", twoRevisions(func(_, x1, x2 int) (string, string) {
			return "", fmt.Sprintf("/XRefStm %d", x1)
		}), "which is not a cross-reference stream"},
		{"xref /Prev not a number", twoRevisions(func(_, x1, x2 int) (string, string) {
			return "", "/Prev /Here"
		}), "has /Prev /Here, not an offset"},
		{"xref /Prev into stream data", twoRevisions(func(obj1, x1, x2 int) (string, string) {
			return "", fmt.Sprintf("/Prev %d", x1-300)
		}), "neither a cross-reference table nor an object"},
		{"page tree: deeper than 32 levels", deepTree(maxTreeDepth + 1), "more than 32 levels deep"},
		{"page tree: a kid held inline", tree("<</Type/Pages/Count 1/Kids[<</Type/Page/MediaBox[0 0 595 842]>>]>>"), "not an indirect reference"},
		{"page tree: a kid that is no dictionary", tree("<</Type/Pages/Count 1/Kids[3 0 R]>>", "42"), "page tree node 3 is not a dictionary"},
		{"page tree: no /Count", tree("<</Type/Pages/Kids[3 0 R]>>", pageObj), "page tree node 2 has /Count null, not an integer"},
		{"page tree: a kid lists the root", tree("<</Type/Pages/Count 1/Kids[4 0 R]>>", "<</Type/Page/Parent 4 0 R/MediaBox[0 0 595 842]>>",
			"<</Type/Pages/Count 1/Kids[3 0 R 2 0 R]/Parent 2 0 R>>"), "appears twice in the page tree"},
		{"page tree: /Parent cycle", tree("<</Type/Pages/Count 1/Kids[3 0 R]>>", "<</Type/Page/Parent 4 0 R/MediaBox[0 0 595 842]>>",
			"<</Type/Pages/Count 1/Kids[]/Parent 5 0 R>>", "<</Type/Pages/Count 1/Kids[]/Parent 4 0 R>>"), "object 3 has /Parent 4 0 R, but object 2 lists it"},
		{"page tree: a page its own parent", tree("<</Type/Pages/Count 1/Kids[3 0 R]>>", "<</Type/Page/Parent 3 0 R/MediaBox[0 0 595 842]>>"),
			"object 3 has /Parent 3 0 R"},
		{"page tree: the root has a /Parent", tree("<</Type/Pages/Count 1/Kids[3 0 R]/Parent 2 0 R>>", pageObj), "the page tree root (object 2) has a /Parent"},
		{"page tree: a page with two parents", tree("<</Type/Pages/Count 2/Kids[3 0 R 4 0 R]>>", "<</Type/Page/Parent 4 0 R/MediaBox[0 0 595 842]>>",
			"<</Type/Pages/Count 1/Kids[3 0 R]/Parent 2 0 R>>"), "object 3 has /Parent 4 0 R, but object 2 lists it"},
		{"lying /Count: 5 for 1 page", tree("<</Type/Pages/Count 5/Kids[3 0 R]>>", pageObj), "/Count 5, but 1 pages lie below it"},
		{"lying /Count: 0 for 1 page", tree("<</Type/Pages/Count 0/Kids[3 0 R]>>", pageObj), "/Count 0, but 1 pages lie below it"},
		{"lying /Count in an inner node", tree("<</Type/Pages/Count 2/Kids[4 0 R]>>", "<</Type/Page/Parent 4 0 R/MediaBox[0 0 595 842]>>",
			"<</Type/Pages/Count 2/Kids[3 0 R]/Parent 2 0 R>>"), "page tree node 4 has /Count 2, but 1 pages lie below it"},
	}
}

// TestSealRefusesDamagedStructure: documents whose cross-reference chain
// loops or whose page tree lies are refused as malformed, each within a
// deadline and a memory bound; Verify ends on them too. It runs alone (not
// in parallel) so that the memory it measures is its own.
func TestSealRefusesDamagedStructure(t *testing.T) {
	sm2K, _ := keys(t)
	opts := options(t, sm2K, 0)
	opts.Placement.AllPages = true // the whole page tree is read
	for _, tc := range damagedPDFs() {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			done := make(chan error, 1)
			var w countingWriter
			go func() { done <- Seal(ctx, &w, tc.in, opts) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				t.Fatal("Seal did not return within 15 s")
			}
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Seal: %v; want ErrMalformed saying %q", err, tc.says)
			}
			if w.writes != 0 {
				t.Error("Seal wrote before failing")
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("Seal allocated %d MiB on a %d-byte document", alloc>>20, len(tc.in))
			}

			go func() { _, err := Verify(ctx, tc.in); done <- err }()
			select {
			case err = <-done:
				if err != nil && !errors.Is(err, ErrMalformed) {
					t.Errorf("Verify: %v; want a verdict or ErrMalformed", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("Verify did not return within 15 s")
			}
		})
	}
}

func TestCheckXRefChain(t *testing.T) {
	t.Parallel()
	in := textPDF(1, 100)
	off, err := startXRef(bytesSource(in))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkXRefChain(bytesSource(in), off); err != nil {
		t.Fatalf("a sound single-section file: %v", err)
	}
	loop := twoRevisions(func(_, x1, x2 int) (string, string) { return fmt.Sprintf("/Prev %d", x2), fmt.Sprintf("/Prev %d", x1) })
	off, _ = startXRef(bytesSource(loop))
	if err := checkXRefChain(bytesSource(loop), off); !errors.Is(err, errXRefLoop) {
		t.Fatalf("ping-pong: %v, want errXRefLoop", err)
	}
	sound := twoRevisions(func(_, x1, _ int) (string, string) { return "", fmt.Sprintf("/Prev %d", x1) })
	off, _ = startXRef(bytesSource(sound))
	if err := checkXRefChain(bytesSource(sound), off); err != nil {
		t.Fatalf("two sound revisions: %v", err)
	}
	sm2K, _ := keys(t)
	var w countingWriter
	if err := Seal(context.Background(), &w, sound, options(t, sm2K, 1)); err != nil {
		t.Fatalf("Seal of two sound revisions: %v", err)
	}
	if err := Seal(context.Background(), &w, deepTree(maxTreeDepth), options(t, sm2K, 1)); err != nil {
		t.Fatalf("Seal of a page tree %d levels deep: %v", maxTreeDepth, err)
	}

	// A chain of more sections than maxXRefSections, each a free entry
	// and a trailer naming the one before.
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	prev := 0
	for i := range maxXRefSections + 1 {
		at := b.Len()
		fmt.Fprintf(&b, "xref\n0 1\n0000000000 65535 f\r\ntrailer\n<</Size 1")
		if i > 0 {
			fmt.Fprintf(&b, "/Prev %d", prev)
		}
		fmt.Fprintf(&b, ">>\nstartxref\n%d\n%%%%EOF\n", at)
		prev = at
	}
	if err := checkXRefChain(bytesSource(b.Bytes()), int64(prev)); err == nil || !strings.Contains(err.Error(), "more than 4096 cross-reference sections") {
		t.Fatalf("a chain of %d sections: %v", maxXRefSections+1, err)
	}
}

// TestPageTreeReadUpToTarget (issue 11: read only what is needed): sealing
// reads the page tree up to the last page it places the seal on and none
// after, so damage in the pages after it does not stop a seal on an
// earlier page; a seal on the damaged page, or on every page, refuses the
// document.
func TestPageTreeReadUpToTarget(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	page := "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>"
	for _, tc := range []struct {
		name string
		objs []string
		says string
	}{
		{"a loop after page 1", []string{"<</Type/Pages/Count 2/Kids[3 0 R 2 0 R]>>", page}, "appears twice in the page tree"},
		{"a page 2 that is no dictionary", []string{"<</Type/Pages/Count 2/Kids[3 0 R 4 0 R]>>", page, "42"}, "page tree node 4 is not a dictionary"},
		{"a lying /Count after page 1", []string{"<</Type/Pages/Count 3/Kids[3 0 R 4 0 R]>>", page,
			"<</Type/Pages/Count 5/Kids[5 0 R]/Parent 2 0 R>>", "<</Type/Page/Parent 4 0 R/MediaBox[0 0 595 842]>>"}, "page tree node 4 has /Count 5, but 1 pages lie below it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := pdfsealtest.Build(append([]string{catalogObj}, tc.objs...), "/Root 1 0 R")
			if out := seal(t, in, options(t, sm2K, 1)); !bytes.HasPrefix(out, in) {
				t.Fatal("the output does not begin with the input")
			}
			all := options(t, sm2K, 0)
			all.Placement.AllPages = true
			if err := Seal(context.Background(), io.Discard, in, all); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Seal on every page: %v; want ErrMalformed saying %q", err, tc.says)
			}
		})
	}
}
