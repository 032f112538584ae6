package pdffile

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// File is an open PDF file. Its methods read the file on demand and may be
// called from several goroutines; the io.ReaderAt must then allow
// concurrent calls, as its contract says.
type File struct {
	mu   sync.Mutex
	r    io.ReaderAt
	src  *source
	size int64
	opts Options

	version   string // from the header, e.g. "1.7"
	sections  []*xsection
	revisions []Revision
	trailer   types.Dict
	maxNr     int // one more than the highest object number in use or in /Size

	repairs    []Repair
	repairSeen map[repairKey]bool

	objs    *lru[int, cachedObject]
	objStms *lru[int, *objStream]
	extents map[int64]int64 // stream data offset → length found by searching for endstream
	depth   int             // objects being read, one needing the next
	scanned *scanState      // the scan of the file, once made
}

// SectionKind says how a cross-reference section is stored.
type SectionKind int

// Kinds of cross-reference section.
const (
	// SectionTable is a cross-reference table (ISO 32000-1 §7.5.4) followed
	// by its trailer (§7.5.5); in a hybrid file it names a stream with
	// /XRefStm (§7.5.8.4).
	SectionTable SectionKind = iota + 1
	// SectionStream is a cross-reference stream (§7.5.8), whose dictionary
	// is the trailer.
	SectionStream
	// SectionScan is the index made by scanning a file whose
	// cross-reference data could not be used; its trailer is the last one
	// found (or one made from the catalog found), and a revision made of it
	// ends at the end of the file.
	SectionScan
)

// String names the kind: "table", "stream" or "scan".
func (k SectionKind) String() string {
	switch k {
	case SectionTable:
		return "table"
	case SectionStream:
		return "stream"
	case SectionScan:
		return "scan"
	}
	return fmt.Sprintf("SectionKind(%d)", int(k))
}

// Section is one cross-reference section of the /Prev chain (§7.5.4,
// §7.5.8).
type Section struct {
	// Offset is where the section is in the file: its xref keyword or its
	// stream object's header (the offset startxref or /Prev gave, or
	// where a repair found the section). It is -1 for SectionScan.
	Offset int64
	// Kind says how the section is stored.
	Kind SectionKind
	// XRefStm is the offset of the cross-reference stream a table of a
	// hybrid file names with /XRefStm (§7.5.8.4), or 0.
	XRefStm int64
	// Trailer is the trailer dictionary; for a stream, the stream's
	// dictionary.
	Trailer types.Dict
	// End is the offset just after the section: after the trailer
	// dictionary of a table, after endobj (or endstream) of a stream.
	End int64
}

// Revision is the file as one incremental update (§7.5.6) left it: the
// sections from the one its startxref names back to the previous
// revision's, and where it ends. A revision normally has one section; the
// original of a linearized file (Annex F) has two, the first-page section
// and the main one.
type Revision struct {
	// Sections are the revision's cross-reference sections, newest (the
	// one startxref names) first.
	Sections []Section
	// End is the offset just after the %%EOF marker that closes the
	// revision (§7.5.5): the length the file had when the revision was
	// written. For the last revision it is the end of the last %%EOF in
	// the file, or the file's size if there is none.
	End int64
}

// Trailer returns the newest section's trailer dictionary (§7.5.5), or the
// dictionary of its cross-reference stream (§7.5.8.2). The caller must not
// modify it.
func (r Revision) Trailer() types.Dict {
	if len(r.Sections) == 0 {
		return nil
	}
	return r.Sections[0].Trailer
}

// Open reads the structure of the PDF file of size bytes that r holds:
// its header, its trailer and its cross-reference sections (ISO 32000-1
// §7.5). It reads no object but those holding cross-reference streams.
func Open(r io.ReaderAt, size int64, opts Options) (*File, error) {
	return OpenContext(context.Background(), r, size, opts)
}

// OpenContext is Open with a context, checked while reading the
// cross-reference chain and while reconstructing it by scanning the file.
func OpenContext(ctx context.Context, r io.ReaderAt, size int64, opts Options) (*File, error) {
	if r == nil || size <= 0 {
		return nil, malformed("empty file")
	}
	opts = opts.withDefaults()
	f := &File{
		r:          r,
		src:        newSource(r, size),
		size:       size,
		opts:       opts,
		repairSeen: make(map[repairKey]bool),
		objs:       newLRU[int, cachedObject](opts.CacheObjects),
		objStms:    newLRU[int, *objStream](4),
		extents:    make(map[int64]int64),
	}
	head, err := f.src.window(0, 1024)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the header: %v", ErrMalformed, err)
	}
	i := bytes.Index(head, []byte("%PDF-"))
	if i < 0 {
		return nil, malformed("no %%PDF- header in the first 1024 bytes")
	}
	v := head[i+5:]
	v = v[:min(len(v), regularEnd(v, 0), 8)]
	f.version = string(v)

	chainErr := f.readChain(ctx)
	if chainErr == nil {
		return f, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if opts.NoReconstruct || !reconstructible(chainErr) {
		return nil, chainErr
	}
	f.sections, f.revisions, f.trailer, f.maxNr = nil, nil, nil, 0
	if err := f.reconstruct(ctx, chainErr); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w (reconstructing after: %v)", err, chainErr)
	}
	return f, nil
}

// Size returns the size of the file, as given to Open.
func (f *File) Size() int64 { return f.size }

// Version returns the version in the file's header (§7.5.2), e.g. "1.7".
// The catalog's /Version may name a later one.
func (f *File) Version() string { return f.version }

// Trailer returns the trailer dictionary of the newest section (§7.5.5):
// the one startxref names (for a cross-reference stream, its dictionary,
// §7.5.8.2), or the one a reconstruction found. /Root, /Info, /ID and
// /Encrypt missing from it are taken from older trailers, as readers do
// with updates that fail to repeat them (§7.5.6 requires they be). The
// caller must not modify it; Revisions has each section's own trailer.
func (f *File) Trailer() types.Dict { return f.trailer }

// Encrypted reports whether the trailer has an /Encrypt entry (§7.6.1):
// strings and streams of such a file are returned still encrypted.
func (f *File) Encrypted() bool {
	o, ok := f.trailer.Find("Encrypt")
	return ok && o != nil
}

// XRefSize returns one more than the highest object number any
// cross-reference section uses or any trailer's /Size allows: the least
// /Size of a section appended to the file (§7.5.5), and the first number
// free for a new object.
func (f *File) XRefSize() int { return f.maxNr }

// Revisions returns the file's revisions, oldest first (§7.5.6). A file
// whose cross-reference data was reconstructed by scanning has one
// revision, of one SectionScan section.
func (f *File) Revisions() []Revision {
	out := make([]Revision, len(f.revisions))
	for i, r := range f.revisions {
		out[i] = Revision{Sections: slices.Clone(r.Sections), End: r.End}
	}
	return out
}

// StartXRef returns the offset of the newest cross-reference section (what
// the last startxref names, or where a repair found it), which an
// appended section chains to with /Prev; it is -1 when the
// cross-reference data was reconstructed by scanning.
func (f *File) StartXRef() int64 {
	if len(f.sections) == 0 {
		return -1
	}
	return f.sections[0].Offset
}

// Catalog returns the document catalog (§7.7.2), the dictionary the
// trailer's /Root refers to.
func (f *File) Catalog() (types.Dict, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.catalog()
}

func (f *File) catalog() (types.Dict, error) {
	root, ok := f.trailer.Find("Root")
	if !ok || root == nil {
		return nil, malformed("the trailer has no /Root")
	}
	if _, isRef := root.(types.IndirectRef); !isRef {
		return nil, malformed("the trailer's /Root is %s, not an indirect reference", pdfString(root))
	}
	o, err := f.resolve(root)
	if err != nil {
		return nil, fmt.Errorf("the catalog: %w", err)
	}
	d, ok := o.(types.Dict)
	if !ok {
		return nil, malformed("the catalog %s is %s, not a dictionary", root.PDFString(), describe(o))
	}
	return d, nil
}

// pdfString writes o as PDF syntax for a message; nil is null.
func pdfString(o types.Object) string {
	if o == nil {
		return "null"
	}
	s := o.PDFString()
	if len(s) > 64 {
		s = s[:61] + "..."
	}
	return s
}

// describe names the type of o for a message.
func describe(o types.Object) string {
	switch o.(type) {
	case nil:
		return "null"
	case types.Dict:
		return "a dictionary"
	case types.StreamDict:
		return "a stream"
	case types.Array:
		return "an array"
	case types.Integer:
		return "an integer"
	case types.Float:
		return "a real number"
	case types.Name:
		return "a name"
	case types.StringLiteral, types.HexLiteral:
		return "a string"
	case types.Boolean:
		return "a boolean"
	case types.IndirectRef:
		return "a reference"
	}
	return fmt.Sprintf("%T", o)
}
