package pdffile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// EntryKind says what a cross-reference entry holds (§7.5.4, §7.5.8.3).
type EntryKind int

// Kinds of cross-reference entry.
const (
	// EntryFree: the object is free (deleted, or never used); it reads as
	// null (§7.3.10).
	EntryFree EntryKind = iota
	// EntryInUse: the object is stored in the file at Offset.
	EntryInUse
	// EntryCompressed: the object is the Index-th object of the object
	// stream numbered Stream (§7.5.7).
	EntryCompressed
)

// Entry is the cross-reference entry of one object, from the newest
// section that has one.
type Entry struct {
	Kind   EntryKind
	Gen    int   // generation number; 0 for compressed objects
	Offset int64 // EntryInUse: where the object's header is
	Stream int   // EntryCompressed: the object stream's number
	Index  int   // EntryCompressed: the object's index in the stream
}

// entry is Entry stored compactly.
type entry struct {
	off  int64 // in use: offset; compressed: object stream number
	idx  int32 // compressed: index in the stream
	gen  uint16
	kind uint8 // EntryKind
	set  bool  // the slot holds an entry (for the scan index)
}

func (e entry) export() Entry {
	switch EntryKind(e.kind) {
	case EntryInUse:
		return Entry{Kind: EntryInUse, Gen: int(e.gen), Offset: e.off}
	case EntryCompressed:
		return Entry{Kind: EntryCompressed, Stream: int(e.off), Index: int(e.idx)}
	}
	return Entry{Kind: EntryFree, Gen: int(e.gen)}
}

// xsection is a cross-reference section and its index.
type xsection struct {
	Section
	nominal int64         // the offset that led to it (startxref, /Prev)
	subs    []*subsection // SectionTable
	stream  *streamIndex  // SectionStream, or a hybrid table's /XRefStm
	scan    map[int]entry // SectionScan
}

// subsection is a subsection of a cross-reference table (§7.5.4): count
// entries from object first. Entries of stride bytes from off are read in
// place; a subsection whose entries are not all of one length is parsed
// whole into parsed.
type subsection struct {
	first, count int
	off          int64
	stride       int
	parsed       []entry
}

// streamIndex is the decoded data of a cross-reference stream (§7.5.8.3).
type streamIndex struct {
	data   []byte
	w      [3]int
	ranges []xrange
}

type xrange struct{ first, count, start int }

// chainError is an error reading the cross-reference chain; fatal ones
// (loops, limits) are not worked around by scanning the file.
type chainError struct {
	err   error
	fatal bool
}

func (e *chainError) Error() string { return e.err.Error() }
func (e *chainError) Unwrap() error { return e.err }

func reconstructible(err error) bool {
	var ce *chainError
	if errors.As(err, &ce) {
		return !ce.fatal
	}
	return true
}

func fatal(err error) error { return &chainError{err: err, fatal: true} }

// findStartXRef returns the offset the last startxref of the file names
// (§7.5.5) and the end of the %%EOF after it (the size if there is none).
// It looks in the last 1024 bytes, then in the last 64 KiB for a file with
// trailing garbage.
func (f *File) findStartXRef() (off, eofEnd int64, err error) {
	for _, n := range []int64{1024, 64 << 10} {
		base := max(0, f.size-n)
		tail, err := f.src.window(base, int(f.size-base))
		if err != nil {
			return 0, 0, err
		}
		k := bytes.LastIndex(tail, []byte("startxref"))
		if k < 0 {
			if base == 0 {
				break
			}
			continue
		}
		v, j, ok := uintToken(tail, k+len("startxref"))
		if !ok {
			return 0, 0, malformed("startxref at %d is not followed by an offset", base+int64(k))
		}
		eofEnd = f.size
		if e := bytes.Index(tail[j:], []byte("%%EOF")); e >= 0 {
			eofEnd = base + int64(j+e+len("%%EOF"))
		}
		return v, eofEnd, nil
	}
	return 0, 0, malformed("no startxref near the end of the file")
}

// readChain reads the cross-reference sections from the one startxref
// names back through /Prev (§7.5.5, §7.5.6), with the streams of hybrid
// tables (§7.5.8.4).
func (f *File) readChain(ctx context.Context) error {
	start, lastEnd, err := f.findStartXRef()
	if err != nil {
		return err
	}
	seen := make(map[int64]int64) // section offsets → the offset that named them
	var secs []*xsection
	count := 0
	visit := func(off, from int64, key string) error {
		if from2, ok := seen[off]; ok {
			return fatal(malformed("the cross-reference chain loops: %s %d (in the section at %d) names the section at %d, already reached from %d", key, off, from, off, from2))
		}
		count++
		if count > f.opts.MaxSections {
			return fatal(limit("more than %d cross-reference sections", f.opts.MaxSections))
		}
		seen[off] = from
		return nil
	}
	off, from, key := start, int64(-1), "startxref"
	for {
		if err := ctx.Err(); err != nil {
			return fatal(err)
		}
		if err := visit(off, from, key); err != nil {
			return err
		}
		sec, err := f.readSection(off, false)
		if err != nil {
			return fmt.Errorf("the cross-reference section at %d (%s): %w", off, key, err)
		}
		if sec.Offset != off {
			if _, ok := seen[sec.Offset]; ok {
				return fatal(malformed("the cross-reference chain loops: %s %d leads to the section at %d, already in the chain", key, off, sec.Offset))
			}
			seen[sec.Offset] = off
		}
		secs = append(secs, sec)
		if sec.Kind == SectionTable {
			if o, ok := sec.Trailer.Find("XRefStm"); ok && o != nil {
				xs, isInt := o.(types.Integer)
				if !isInt {
					return malformed("the trailer at %d has /XRefStm %s, not an offset", sec.Offset, pdfString(o))
				}
				if err := visit(int64(xs), sec.Offset, "/XRefStm"); err != nil {
					return err
				}
				hs, err := f.readSection(int64(xs), true)
				if err != nil {
					return fmt.Errorf("the cross-reference stream at %d (/XRefStm of the table at %d): %w", xs, sec.Offset, err)
				}
				sec.XRefStm = hs.Offset
				sec.stream = hs.stream
			}
		}
		o, ok := sec.Trailer.Find("Prev")
		if !ok || o == nil {
			break
		}
		prev, isInt := o.(types.Integer)
		if !isInt {
			return malformed("the section at %d has /Prev %s, not an offset", sec.Offset, pdfString(o))
		}
		if prev == 0 {
			break // written by some tools for "none"; offset 0 is the header
		}
		off, from, key = int64(prev), sec.Offset, "/Prev"
	}
	f.sections = secs
	f.trailer = mergedTrailer(secs)
	f.maxNr = 0
	for _, s := range secs {
		f.maxNr = max(f.maxNr, s.maxNumber())
		if n, ok := s.Trailer["Size"].(types.Integer); ok && int(n) > 0 {
			f.maxNr = max(f.maxNr, min(int(n), f.opts.MaxObjects))
		}
	}
	f.revisions = f.buildRevisions(secs, start, lastEnd)
	return nil
}

// mergedTrailer is the newest trailer, with /Root, /Info, /ID and
// /Encrypt taken from older ones when it lacks them, as readers do for
// updates that do not repeat them (§7.5.6 requires they be repeated).
func mergedTrailer(secs []*xsection) types.Dict {
	t := types.Dict{}
	for k, v := range secs[0].Trailer {
		t[k] = v
	}
	for _, s := range secs[1:] {
		for _, k := range []string{"Root", "Info", "ID", "Encrypt"} {
			if v, ok := t[k]; (!ok || v == nil) && s.Trailer[k] != nil {
				t[k] = s.Trailer[k]
			}
		}
	}
	return t
}

// buildRevisions groups the sections into revisions. A revision is closed
// by "startxref N %%EOF" (§7.5.5) where N names its newest section; the
// first-page section of a linearized file is followed by a startxref of 0
// (Annex F) and belongs with the main section after it.
func (f *File) buildRevisions(secs []*xsection, start, lastEnd int64) []Revision {
	ends := map[int64]int64{start: lastEnd}
	for _, s := range secs[1:] {
		if n, end, ok := f.trailingStartXRef(s.End); ok && n != 0 {
			if _, dup := ends[n]; !dup {
				ends[n] = end
			}
		}
	}
	var revs []Revision
	for i, s := range secs {
		end, opens := ends[s.nominal]
		if !opens {
			end, opens = ends[s.Offset]
		}
		if i == 0 || opens {
			revs = append(revs, Revision{End: end})
		}
		r := &revs[len(revs)-1]
		r.Sections = append(r.Sections, s.Section)
	}
	slices.Reverse(revs)
	return revs
}

// trailingStartXRef finds "startxref N %%EOF" within 1 KiB after off and
// returns N and the end of %%EOF.
func (f *File) trailingStartXRef(off int64) (n, end int64, ok bool) {
	b, err := f.src.window(off, 1024)
	if err != nil {
		return 0, 0, false
	}
	k := bytes.Index(b, []byte("startxref"))
	if k < 0 {
		return 0, 0, false
	}
	v, j, ok := uintToken(b, k+len("startxref"))
	if !ok {
		return 0, 0, false
	}
	e := bytes.Index(b[j:min(len(b), j+64)], []byte("%%EOF"))
	if e < 0 {
		return 0, 0, false
	}
	return v, off + int64(j+e+len("%%EOF")), true
}

// maxNumber returns one more than the highest object number the section
// has an entry for.
func (s *xsection) maxNumber() int {
	n := 0
	for _, sub := range s.subs {
		n = max(n, sub.first+sub.count)
	}
	if s.stream != nil {
		for _, r := range s.stream.ranges {
			n = max(n, r.first+r.count)
		}
	}
	for nr := range s.scan {
		n = max(n, nr+1)
	}
	return n
}

// readSection reads the cross-reference section at off, or, failing that,
// one found within the repair window of off.
func (f *File) readSection(off int64, wantStream bool) (*xsection, error) {
	sec, err := f.readSectionAt(off, wantStream)
	if err == nil {
		sec.nominal = off
		return sec, nil
	}
	for _, p := range f.sectionsNear(off) {
		if s, err2 := f.readSectionAt(p, wantStream); err2 == nil {
			f.repairedAt(RepairXRefOffset, 0, off, p, "the cross-reference section is at %d, %+d bytes away", p, p-off)
			s.nominal = off
			return s, nil
		}
	}
	return nil, err
}

func (f *File) readSectionAt(off int64, wantStream bool) (*xsection, error) {
	if off <= 0 || off >= f.size {
		return nil, malformed("offset %d is not inside the %d-byte file", off, f.size)
	}
	b, err := f.src.window(off, 64)
	if err != nil {
		return nil, err
	}
	i := skipWhite(b, 0)
	if !wantStream && hasKeyword(b, i, "xref") {
		return f.readTable(off + int64(i))
	}
	if _, _, _, ok := objectHeader(b, i); ok {
		return f.readStreamSection(off + int64(i))
	}
	return nil, malformed("offset %d holds %q, neither a cross-reference table nor a stream", off, quote(b))
}

// sectionsNear returns the offsets within the repair window of off where
// an xref keyword or an object header starts, nearest first.
func (f *File) sectionsNear(off int64) []int64 {
	w := int64(f.opts.RepairWindow)
	if w == 0 || off < 0 || off >= f.size+w {
		return nil
	}
	base := max(0, off-w)
	b, err := f.src.window(base, int(off+w+32-base))
	if err != nil {
		return nil
	}
	var cands []int64
	for i := 0; i < len(b); i++ {
		if i > 0 && isRegular(b[i-1]) {
			continue
		}
		if hasKeyword(b, i, "xref") {
			cands = append(cands, base+int64(i))
		} else if isDigit(b[i]) {
			if _, _, _, ok := objectHeader(b, i); ok {
				cands = append(cands, base+int64(i))
			}
		}
	}
	slices.SortStableFunc(cands, func(a, b int64) int { return int(abs(a-off) - abs(b-off)) })
	if len(cands) > 4 {
		cands = cands[:4]
	}
	return cands
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// quote returns the first bytes of b for a message.
func quote(b []byte) string {
	return strconv.Quote(string(b[:min(len(b), 24)]))
}

// readTable reads the cross-reference table whose xref keyword is at p
// (§7.5.4) and its trailer (§7.5.5).
func (f *File) readTable(p int64) (*xsection, error) {
	sec := &xsection{Section: Section{Offset: p, Kind: SectionTable}}
	pos := p + int64(len("xref"))
	for n := 0; ; n++ {
		if n > 1<<20 {
			return nil, limit("more than %d subsections in the table at %d", 1<<20, p)
		}
		b, err := f.src.window(pos, 96)
		if err != nil {
			return nil, err
		}
		i, _ := skipSpace(b, 0)
		if hasKeyword(b, i, "trailer") {
			pos += int64(i + len("trailer"))
			break
		}
		first, j, ok1 := uintToken(b, i)
		count, k, ok2 := uintToken(b, j)
		if !ok1 || !ok2 {
			return nil, malformed("the table at %d: %q at %d is neither a subsection header nor the trailer", p, quote(b[i:]), pos+int64(i))
		}
		if first+count > int64(f.opts.MaxObjects) {
			return nil, limit("the table at %d has a subsection of objects %d to %d; the limit is %d", p, first, first+count-1, f.opts.MaxObjects)
		}
		sub := &subsection{first: int(first), count: int(count), off: pos + int64(skipWhite(b, k))}
		next, err := f.layOut(sub)
		if err != nil {
			return nil, fmt.Errorf("the table at %d, subsection %d %d: %w", p, first, count, err)
		}
		sec.subs = append(sec.subs, sub)
		pos = next
	}
	d, end, err := f.dictAt(pos)
	if err != nil {
		return nil, fmt.Errorf("the trailer of the table at %d: %w", p, err)
	}
	sec.Trailer, sec.End = d, end
	return sec, nil
}

// entryText parses one entry of a cross-reference table in the fixed
// format of §7.5.4, "nnnnnnnnnn ggggg n": ten digits, five digits, n or f.
func entryText(b []byte) (entry, bool) {
	if len(b) < 18 || b[10] != ' ' || b[16] != ' ' || b[17] != 'n' && b[17] != 'f' {
		return entry{}, false
	}
	off, ok1 := parseUint(b[:10])
	gen, ok2 := parseUint(b[11:16])
	if !ok1 || !ok2 || gen > 65535 || len(b) > 18 && isRegular(b[18]) {
		return entry{}, false
	}
	if b[17] == 'f' {
		return entry{kind: uint8(EntryFree), gen: uint16(gen), set: true}, true
	}
	return entry{kind: uint8(EntryInUse), off: off, gen: uint16(gen), set: true}, true
}

// layOut works out where the entries of sub are: at a fixed stride when
// its first and last entries are in the fixed format and the stride fits,
// else by parsing them all. It returns the offset after the subsection.
func (f *File) layOut(sub *subsection) (int64, error) {
	if sub.count == 0 {
		return sub.off, nil
	}
	b, err := f.src.window(sub.off, 40)
	if err != nil {
		return 0, err
	}
	if _, ok := entryText(b); ok {
		stride := skipWhite(b, 18)
		if stride >= 19 && stride <= 21 {
			lastOff := sub.off + int64(sub.count-1)*int64(stride)
			if lb, err := f.src.window(lastOff, stride+8); err == nil {
				if _, ok := entryText(lb); ok {
					sub.stride = stride
					return lastOff + int64(skipWhite(lb, 18)), nil
				}
			}
		}
	}
	return f.parseSubsection(sub)
}

// parseSubsection parses the entries of sub token by token, tolerating
// any white space between them, and returns the offset after them.
func (f *File) parseSubsection(sub *subsection) (int64, error) {
	sub.parsed = make([]entry, 0, min(sub.count, 1<<16))
	t := newTokenizer(f.src, sub.off)
	for range sub.count {
		o, err1 := t.uint()
		g, err2 := t.uint()
		kw, err3 := t.word()
		if err := errors.Join(err1, err2, err3); err != nil {
			return 0, fmt.Errorf("entry %d: %w", sub.first+len(sub.parsed), err)
		}
		if g > 65535 || kw != "n" && kw != "f" {
			return 0, malformed("entry %d at %d is not \"offset generation n|f\"", sub.first+len(sub.parsed), t.pos)
		}
		e := entry{kind: uint8(EntryFree), gen: uint16(g), set: true}
		if kw == "n" {
			e.kind, e.off = uint8(EntryInUse), o
		}
		sub.parsed = append(sub.parsed, e)
	}
	return t.pos, nil
}

// tokenizer reads regular-character tokens from the file sequentially
// through a fixed buffer.
type tokenizer struct {
	src *source
	pos int64
	buf []byte
	at  int64 // file offset of buf[0]
}

func newTokenizer(src *source, pos int64) *tokenizer { return &tokenizer{src: src, pos: pos} }

func (t *tokenizer) word() (string, error) {
	for {
		i := int(t.pos - t.at)
		if t.buf == nil || i < 0 || i+64 > len(t.buf) && t.at+int64(len(t.buf)) < t.src.size {
			b, err := t.src.window(t.pos, 16<<10)
			if err != nil {
				return "", err
			}
			t.buf, t.at, i = b, t.pos, 0
		}
		j, complete := skipSpace(t.buf, i)
		if !complete && t.at+int64(len(t.buf)) < t.src.size {
			t.pos = t.at + int64(len(t.buf))
			t.buf = nil
			continue
		}
		if j >= len(t.buf) {
			return "", malformed("unexpected end of the file at %d", t.at+int64(j))
		}
		e := regularEnd(t.buf, j)
		if e == j {
			return "", malformed("%q at %d where a number or keyword was expected", quote(t.buf[j:]), t.at+int64(j))
		}
		if e-j > 32 {
			return "", malformed("overlong token at %d", t.at+int64(j))
		}
		t.pos = t.at + int64(e)
		return string(t.buf[j:e]), nil
	}
}

func (t *tokenizer) uint() (int64, error) {
	at := t.pos
	w, err := t.word()
	if err != nil {
		return 0, err
	}
	v, ok := parseUint([]byte(w))
	if !ok {
		return 0, malformed("%q at %d is not a number", w, at)
	}
	return v, nil
}

// lookup returns the section's entry for nr, if it has one.
func (f *File) lookup(s *xsection, nr int) (entry, bool, error) {
	switch s.Kind {
	case SectionScan:
		e, ok := s.scan[nr]
		return e, ok, nil
	case SectionStream:
		e, ok := s.stream.lookup(nr)
		return e, ok, nil
	}
	var found entry
	ok := false
	for _, sub := range s.subs {
		if nr < sub.first || nr >= sub.first+sub.count {
			continue
		}
		e, err := f.subsectionEntry(sub, nr)
		if err != nil {
			return entry{}, false, err
		}
		found, ok = e, true
		break
	}
	// A hybrid file's table leaves out, or marks free, the objects only
	// its /XRefStm stream has (§7.5.8.4): the stream is read after the
	// table and before /Prev.
	if s.stream != nil && (!ok || EntryKind(found.kind) == EntryFree) {
		if e, sok := s.stream.lookup(nr); sok && EntryKind(e.kind) != EntryFree {
			return e, true, nil
		}
	}
	return found, ok, nil
}

func (f *File) subsectionEntry(sub *subsection, nr int) (entry, error) {
	i := nr - sub.first
	if sub.parsed == nil {
		b, err := f.src.window(sub.off+int64(i)*int64(sub.stride), 20)
		if err != nil {
			return entry{}, err
		}
		if e, ok := entryText(b); ok {
			return e, nil
		}
		// Entries of unequal length: parse the whole subsection.
		if _, err := f.parseSubsection(sub); err != nil {
			sub.parsed = nil
			return entry{}, fmt.Errorf("the cross-reference subsection of objects %d to %d: %w", sub.first, sub.first+sub.count-1, err)
		}
	}
	if i >= len(sub.parsed) {
		return entry{}, nil
	}
	return sub.parsed[i], nil
}

// lookup returns the stream's entry for nr (§7.5.8.3, table 18).
func (x *streamIndex) lookup(nr int) (entry, bool) {
	width := x.w[0] + x.w[1] + x.w[2]
	for _, r := range x.ranges {
		if nr < r.first || nr >= r.first+r.count {
			continue
		}
		p := (r.start + nr - r.first) * width
		if p+width > len(x.data) {
			return entry{}, false
		}
		b := x.data[p : p+width]
		field := func(k int) int64 {
			var v int64
			for _, c := range b[:x.w[k]] {
				v = v<<8 | int64(c)
			}
			b = b[x.w[k]:]
			return v
		}
		typ := int64(1)
		if x.w[0] > 0 {
			typ = field(0)
		}
		f2, f3 := field(1), field(2)
		switch typ {
		case 0:
			return entry{kind: uint8(EntryFree), gen: uint16(min(f3, 65535)), set: true}, true
		case 1:
			return entry{kind: uint8(EntryInUse), off: f2, gen: uint16(min(f3, 65535)), set: true}, true
		case 2:
			if f3 > 1<<31-1 {
				return entry{kind: uint8(EntryFree), set: true}, true
			}
			return entry{kind: uint8(EntryCompressed), off: f2, idx: int32(f3), set: true}, true
		}
		// Other types are references to the null object.
		return entry{kind: uint8(EntryFree), set: true}, true
	}
	return entry{}, false
}

// readStreamSection reads the cross-reference stream whose object header
// is at p (§7.5.8).
func (f *File) readStreamSection(p int64) (*xsection, error) {
	raw, err := f.objectAt(p)
	if err != nil {
		return nil, err
	}
	if !raw.stream {
		return nil, malformed("the object at %d is not a cross-reference stream", p)
	}
	d := raw.dict
	if t, _ := d["Type"].(types.Name); t != "XRef" {
		return nil, malformed("the stream at %d has /Type %s, not /XRef", p, pdfString(d["Type"]))
	}
	x := &streamIndex{}
	w, ok := d["W"].(types.Array)
	if !ok || len(w) != 3 {
		return nil, malformed("the cross-reference stream at %d has /W %s, not an array of three integers", p, pdfString(d["W"]))
	}
	for k, o := range w {
		v, ok := o.(types.Integer)
		if !ok || v < 0 || v > 8 {
			return nil, malformed("the cross-reference stream at %d has /W %s", p, pdfString(d["W"]))
		}
		x.w[k] = int(v)
	}
	width := x.w[0] + x.w[1] + x.w[2]
	if width == 0 {
		return nil, malformed("the cross-reference stream at %d has /W [0 0 0]", p)
	}
	size, ok := d["Size"].(types.Integer)
	if !ok || size < 0 {
		return nil, malformed("the cross-reference stream at %d has /Size %s, not a count", p, pdfString(d["Size"]))
	}
	index := types.Array{types.Integer(0), size}
	if o, ok := d["Index"]; ok && o != nil {
		if index, ok = o.(types.Array); !ok || len(index)%2 != 0 {
			return nil, malformed("the cross-reference stream at %d has /Index %s, not pairs of integers", p, pdfString(o))
		}
	}
	total := 0
	for k := 0; k < len(index); k += 2 {
		first, ok1 := index[k].(types.Integer)
		count, ok2 := index[k+1].(types.Integer)
		if !ok1 || !ok2 || first < 0 || count < 0 {
			return nil, malformed("the cross-reference stream at %d has /Index %s, not pairs of integers", p, pdfString(index))
		}
		if int64(first)+int64(count) > int64(f.opts.MaxObjects) {
			return nil, limit("the cross-reference stream at %d has entries for objects %d to %d; the limit is %d", p, first, int64(first)+int64(count)-1, f.opts.MaxObjects)
		}
		x.ranges = append(x.ranges, xrange{int(first), int(count), total})
		total += int(count)
		if total > f.opts.MaxObjects {
			return nil, limit("the cross-reference stream at %d has more than %d entries", p, f.opts.MaxObjects)
		}
	}
	need := int64(total) * int64(width)
	if need > f.opts.MaxDecodedSize {
		return nil, limit("the cross-reference stream at %d needs %d bytes of entries; the limit is %d", p, need, f.opts.MaxDecodedSize)
	}
	length := int64(-1)
	if l, ok := d["Length"].(types.Integer); ok {
		length = int64(l)
	}
	off, n, err := f.streamExtent(raw.nr, raw.dataOff, length)
	if err != nil {
		return nil, err
	}
	x.data, err = f.decodeAll(d, off, n, need, noResolve)
	if err != nil {
		return nil, fmt.Errorf("the cross-reference stream at %d: %w", p, err)
	}
	sec := &xsection{Section: Section{Offset: p, Kind: SectionStream, Trailer: d, End: f.afterStream(off + n)}, stream: x}
	return sec, nil
}

// afterStream returns the offset after the endstream and endobj keywords
// that follow stream data ending at end (or after those present).
func (f *File) afterStream(end int64) int64 {
	b, err := f.src.window(end, 64)
	if err != nil {
		return end
	}
	i := skipWhite(b, 0)
	if !hasKeyword(b, i, "endstream") {
		return end
	}
	i += len("endstream")
	end += int64(i)
	if j := skipWhite(b, i); hasKeyword(b, j, "endobj") {
		end += int64(j - i + len("endobj"))
	}
	return end
}
