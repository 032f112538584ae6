package pdfseal

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"
)

// This file checks the two structures a reader follows by reference, where
// a damaged file can send it round in circles: the chain of
// cross-reference sections (ISO 32000-1 §7.5.4–§7.5.8) and the page tree
// (§7.7.3). A reader that repairs or skips what it does not need may still
// read a file qpdf and other readers call damaged; Seal refuses such a file
// rather than chain an update onto it. It also decides which of the
// repairs pdffile made to read a file it can seal (xrefRepairs).

// maxXRefSections bounds the sections of one cross-reference chain.
const maxXRefSections = 4096

// errXRefLoop reports a /Prev chain that comes back to a section it has
// already visited.
var errXRefLoop = errors.New("the cross-reference chain loops")

// checkXRefChain follows the cross-reference sections of in from the one
// at start back through /Prev (§7.5.5, §7.5.6), including the streams a
// hybrid file's tables name with /XRefStm (§7.5.8.4). Each section must be
// a cross-reference table or stream, each offset inside the file, and no
// section may be reached twice: a /Prev that points back into the chain
// (two sections naming each other, say) is errXRefLoop. The work is
// bounded: at most maxXRefSections sections, each read once.
func checkXRefChain(in *source, start int64) error {
	seen := make(map[int64]bool)
	visit := func(off int64, from int64, key string) error {
		if off <= 0 || off >= in.size {
			return fmt.Errorf("the section at %d names %s %d, not an offset inside the %d-byte file", from, key, off, in.size)
		}
		if seen[off] {
			return fmt.Errorf("%w: the section at %d names %s %d, a section already in the chain", errXRefLoop, from, key, off)
		}
		if len(seen) >= maxXRefSections {
			return fmt.Errorf("more than %d cross-reference sections", maxXRefSections)
		}
		seen[off] = true
		return nil
	}
	if err := visit(start, start, "startxref"); err != nil {
		return err
	}
	for off := start; ; {
		trailer, stream, err := readXRefSection(in, off)
		if err != nil {
			return fmt.Errorf("the section at %d: %v", off, err)
		}
		if !stream {
			if o, ok := trailer.Find("XRefStm"); ok {
				stm, isInt := o.(types.Integer)
				if !isInt {
					return fmt.Errorf("the section at %d has /XRefStm %s, not an offset", off, pdfString(o))
				}
				if err := visit(int64(stm), off, "/XRefStm"); err != nil {
					return err
				}
				if _, isStream, err := readXRefSection(in, int64(stm)); err != nil || !isStream {
					return fmt.Errorf("the section at %d names /XRefStm %d, which is not a cross-reference stream (%v)", off, stm, err)
				}
			}
		}
		o, ok := trailer.Find("Prev")
		if !ok || o == nil {
			return nil
		}
		prev, isInt := o.(types.Integer)
		if !isInt {
			return fmt.Errorf("the section at %d has /Prev %s, not an offset", off, pdfString(o))
		}
		if err := visit(int64(prev), off, "/Prev"); err != nil {
			return err
		}
		off = int64(prev)
	}
}

// readXRefSection reads the cross-reference section at off: a table
// (§7.5.4) and its trailer, or a cross-reference stream object (§7.5.8),
// whose dictionary holds the trailer entries. It returns that dictionary
// and whether the section is a stream; the stream's data is not read.
func readXRefSection(in *source, off int64) (types.Dict, bool, error) {
	off = in.skipWhite(off)
	if bytes.Equal(in.read(off, off+4), []byte("xref")) {
		d, err := readXRefTable(in, off+int64(len("xref")))
		return d, false, err
	}
	var d types.Dict
	err := parseGrowing(in, off, maxHeaderBytes+maxTrailerBytes, func(at []byte) error {
		_, n, ok := objectHeader(at)
		if !ok {
			return fmt.Errorf("%q is neither a cross-reference table nor an object", snippet(at, 0))
		}
		text := string(at[n:min(len(at), n+maxTrailerBytes)])
		o, err := model.ParseObject(&text)
		if err != nil {
			return fmt.Errorf("cross-reference stream dictionary: %v", err)
		}
		d, ok = o.(types.Dict)
		if !ok || d.Type() == nil || *d.Type() != "XRef" {
			return fmt.Errorf("the object there is not a cross-reference stream (%s)", snippet(at, 0))
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return d, true, nil
}

// maxHeaderBytes bounds the text read for an object's header, "nr gen
// obj" (§7.3.10), white space included.
const maxHeaderBytes = 4096

// headerAt returns the number of the object whose header, "nr gen obj",
// is at off, after white space.
func headerAt(in *source, off int64) (nr int, ok bool) {
	off = in.skipWhite(off)
	err := parseGrowing(in, off, maxHeaderBytes, func(b []byte) error {
		if nr, _, ok = objectHeader(b); !ok {
			return errNoHeader
		}
		return nil
	})
	return nr, err == nil
}

var errNoHeader = errors.New("no object header")

// readXRefTable checks the cross-reference table whose "xref" keyword
// ends at off, and returns its trailer (checkXRefTable), read in a window
// that grows until the table and its trailer fit it, up to
// maxXRefTableBytes: a damaged table does not draw the rest of the file
// into memory.
func readXRefTable(in *source, off int64) (types.Dict, error) {
	var d types.Dict
	err := parseGrowing(in, off, maxXRefTableBytes, func(b []byte) (err error) {
		d, err = checkXRefTable(b)
		return err
	})
	if err != nil && off+maxXRefTableBytes < in.size && in.failed() == nil {
		err = fmt.Errorf("%w (the cross-reference table at %d was read up to its first %d MiB)", err, off, maxXRefTableBytes>>20)
	}
	return d, err
}

// maxXRefTableBytes bounds the window a cross-reference table and its
// trailer are read in. A table holds 20 bytes an object (§7.5.4): 64 MiB
// is 3.3 million objects, far more than documents to seal have; a table
// that does not fit is damaged.
const maxXRefTableBytes = 64 << 20

// parseGrowing calls parse on the bytes of in from off, 64 of them and
// then four times more each time, until it succeeds or has had the
// first most bytes (or all to the end). parse must succeed on a window
// only where it would on every larger one, with the same result: the
// structures this package reads itself are short, whatever the length of
// the document, and are read in a window of about their size.
func parseGrowing(in *source, off, most int64, parse func([]byte) error) error {
	for n := int64(64); ; n *= 4 {
		n = min(n, most)
		err := parse(in.read(off, off+n))
		if err == nil || n == most || off+n >= in.size || in.failed() != nil {
			return err
		}
	}
}

// checkPageTree walks the page tree (§7.7.3) from the catalog's /Pages, in
// page order, up to page upTo (every page when upTo is 0), and checks what
// a reader relies on to number those pages: every node is reached once
// (no loops, no node shared between two parents), each kid's /Parent,
// where present, is the node listing it, the root has none, and each
// intermediate node whose pages it walks has the /Count of the pages below
// it (§7.7.3.2); one on the way to page upTo, whose later pages it does
// not read, must not count fewer than lie before. Sealing so reads the
// pages up to the last it places the seal on, and none after (issue 11:
// read only what is needed). The walk visits each object once and at most
// maxTreeDepth levels deep.
func checkPageTree(f *pdffile.File, catalog types.Dict, upTo int) error {
	root, ok := catalog["Pages"].(types.IndirectRef)
	if !ok {
		return fmt.Errorf("the catalog's /Pages is %s, not an indirect reference", pdfString(catalog["Pages"]))
	}
	seen := make(map[int]bool)
	walked := 0 // pages walked so far, in order
	// walk returns the pages below ref it walked, and whether it stopped
	// at page upTo.
	var walk func(ref types.IndirectRef, parent *types.IndirectRef, depth int) (int, bool, error)
	walk = func(ref types.IndirectRef, parent *types.IndirectRef, depth int) (int, bool, error) {
		nr := ref.ObjectNumber.Value()
		switch {
		case seen[nr]:
			return 0, false, fmt.Errorf("object %d appears twice in the page tree (a loop, or a node with two parents)", nr)
		case depth > maxTreeDepth:
			return 0, false, fmt.Errorf("the page tree is more than %d levels deep", maxTreeDepth)
		}
		seen[nr] = true
		d, err := resolveDict(f, ref)
		if err != nil || d == nil {
			return 0, false, fmt.Errorf("page tree node %d is not a dictionary (%v)", nr, err)
		}
		p, hasParent := d.Find("Parent")
		switch pr, isRef := p.(types.IndirectRef); {
		case parent == nil && hasParent && p != nil:
			return 0, false, fmt.Errorf("the page tree root (object %d) has a /Parent %s", nr, pdfString(p))
		case parent != nil && hasParent && (!isRef || pr.ObjectNumber != parent.ObjectNumber):
			return 0, false, fmt.Errorf("object %d has /Parent %s, but object %d lists it among its /Kids", nr, pdfString(p), parent.ObjectNumber)
		}
		kidsObj, hasKids := d.Find("Kids")
		if t := d.Type(); t != nil && *t == "Page" || t == nil && !hasKids {
			walked++
			return 1, walked == upTo, nil
		}
		kids, err := resolveArray(f, kidsObj)
		if err != nil {
			return 0, false, fmt.Errorf("page tree node %d: /Kids: %v", nr, err)
		}
		pages, stopped := 0, false
		for _, k := range kids {
			kr, ok := k.(types.IndirectRef)
			if !ok {
				return 0, false, fmt.Errorf("page tree node %d lists %s among its /Kids, not an indirect reference", nr, pdfString(k))
			}
			n, stop, err := walk(kr, &ref, depth+1)
			if err != nil {
				return 0, false, err
			}
			if pages += n; stop {
				stopped = true
				break
			}
		}
		count, ok := resolveInteger(f, d["Count"])
		switch {
		case !ok:
			return 0, false, fmt.Errorf("page tree node %d has /Count %s, not an integer", nr, pdfString(d["Count"]))
		case stopped && count < pages:
			return 0, false, fmt.Errorf("page tree node %d has /Count %d, but more pages lie below it", nr, count)
		case !stopped && count != pages:
			return 0, false, fmt.Errorf("page tree node %d has /Count %d, but %d pages lie below it", nr, count, pages)
		}
		return pages, stopped, nil
	}
	_, _, err := walk(root, nil, 0)
	return err
}

// pdfString writes o as PDF syntax for a message; nil is null.
func pdfString(o types.Object) string {
	if o == nil {
		return "null"
	}
	return o.PDFString()
}

// xrefRepairs decides, from the repairs pdffile made reading what Seal
// read, whether the input can be sealed and how the update's
// cross-reference section must be written:
//
//   - a missing endobj (§7.3.10): the object ends where the next begins,
//     as readers read it, and the update, whose objects are whole, chains
//     to the input as usual; nil is returned;
//   - an object not at the offset its entry gives but near it (§7.5.4):
//     the update's section is complete — every object of the file where
//     it really is, no /Prev (§7.5.6) — so that no reader of the output
//     meets the wrong offsets; those entries are returned;
//   - anything else — a cross-reference section not where startxref or
//     /Prev says, an entry leading to another object than its own, a
//     stream whose /Length does not reach endstream (§7.3.8.2), data
//     reconstructed by scanning — is ErrMalformed naming the repair: the
//     document the seal would certify is not one every reader reads alike.
func xrefRepairs(in *source, f *pdffile.File) ([]xrefEntry, error) {
	complete := false
	for _, r := range f.Repairs() {
		switch r.Kind {
		case pdffile.RepairMissingEndobj:
		case pdffile.RepairObjectOffset:
			complete = true
		default:
			return nil, fmt.Errorf("%w: the file needed a repair readers may not make alike (%s)", ErrMalformed, r)
		}
	}
	if !complete {
		return nil, nil
	}
	return completeXRef(in, f)
}

// completeXRef returns an entry for every object the file defines, with
// the offset where its header really is: as its entry says, or as pdffile
// found it nearby when reading it.
func completeXRef(in *source, f *pdffile.File) ([]xrefEntry, error) {
	nrs, err := f.ObjectNumbers()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	out := make([]xrefEntry, 0, len(nrs))
	var misplaced []int // indices into out
	for _, nr := range nrs {
		e, ok, err := f.Entry(nr)
		if err != nil {
			return nil, fmt.Errorf("%w: object %d: %v", ErrMalformed, nr, err)
		}
		switch {
		case !ok:
		case e.Kind == pdffile.EntryCompressed:
			out = append(out, xrefEntry{nr: nr, kind: e.Kind, off: int64(e.Stream), idx: e.Index})
		case e.Kind == pdffile.EntryInUse && e.Offset > 0:
			if h, ok := headerAt(in, e.Offset); !ok || h != nr {
				misplaced = append(misplaced, len(out))
				// Reading it makes pdffile look for it (Repairs).
				_, _ = f.Object(nr)
			}
			out = append(out, xrefEntry{nr: nr, gen: e.Gen, kind: e.Kind, off: e.Offset})
		}
	}
	if len(misplaced) == 0 {
		return out, nil
	}
	type at struct {
		nr  int
		off int64
	}
	found := make(map[at]int64)
	for _, r := range f.Repairs() {
		switch r.Kind {
		case pdffile.RepairObjectOffset:
			found[at{r.Object, r.Offset}] = r.Found
		case pdffile.RepairMissingEndobj:
		default:
			return nil, fmt.Errorf("%w: the file needed a repair readers may not make alike (%s)", ErrMalformed, r)
		}
	}
	for _, i := range misplaced {
		// An object pdffile cannot find either keeps its entry: nothing
		// Seal reads refers to it.
		if p, ok := found[at{out[i].nr, out[i].off}]; ok {
			out[i].off = p
		}
	}
	return out, nil
}
