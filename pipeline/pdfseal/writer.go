package pdfseal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"
)

// update accumulates an incremental update (§7.5.6) to be written after
// the original's size bytes. Offsets are file offsets: base plus the
// position in buf.
type update struct {
	base    int64 // where buf starts in the file
	xref    int64 // where its cross-reference section starts, once finished
	buf     bytes.Buffer
	offsets map[int]int64 // object number → offset of "nr gen obj"
	gens    map[int]int   // object number → generation
}

// newUpdate starts the update of in, with room for extra bytes. The
// update starts on a fresh line even if the input lacks a final EOL.
func newUpdate(in *source, extra int) *update {
	u := &update{base: in.size, offsets: make(map[int]int64), gens: make(map[int]int)}
	if b, ok := updateBuffers.Get().(*[]byte); ok {
		u.buf = *bytes.NewBuffer((*b)[:0])
	}
	u.buf.Grow(extra)
	if last := in.read(in.size-1, in.size); len(last) > 0 && last[0] != '\n' && last[0] != '\r' {
		u.buf.WriteByte('\n')
	}
	return u
}

// updateBuffers holds the buffers of released updates (Sealed.Release)
// of at most maxPooledUpdate bytes.
var updateBuffers sync.Pool // *[]byte

// maxPooledUpdate bounds the buffers kept for reuse: a seal's update is
// its picture, its signature and a few objects, tens of kilobytes; one
// that placed the seal on a thousand pages is not kept.
const maxPooledUpdate = 1 << 20

// offset is the current write position, a file offset.
func (u *update) offset() int64 { return u.base + int64(u.buf.Len()) }

// begin starts indirect object nr gen.
func (u *update) begin(nr, gen int) {
	u.offsets[nr] = u.offset()
	u.gens[nr] = gen
	fmt.Fprintf(&u.buf, "%d %d obj\n", nr, gen)
}

// end closes the current indirect object.
func (u *update) end() { u.buf.WriteString("\nendobj\n") }

// dictObject writes an indirect object whose value is d.
func (u *update) dictObject(nr, gen int, d types.Dict) error {
	b, err := appendObject(nil, d, 0)
	if err != nil {
		return fmt.Errorf("object %d %d: %w", nr, gen, err)
	}
	u.begin(nr, gen)
	u.buf.Write(b)
	u.end()
	return nil
}

// streamObject writes a stream object (§7.3.8): d gains /Length.
func (u *update) streamObject(nr int, d types.Dict, data []byte) error {
	d["Length"] = types.Integer(len(data))
	b, err := appendObject(nil, d, 0)
	if err != nil {
		return fmt.Errorf("object %d 0: %w", nr, err)
	}
	u.begin(nr, 0)
	u.buf.Write(b)
	u.buf.WriteString("\nstream\n")
	u.buf.Write(data)
	u.buf.WriteString("\nendstream")
	u.end()
	return nil
}

// trailerInfo is what the update's trailer repeats from the original.
type trailerInfo struct {
	root types.IndirectRef
	info *types.IndirectRef
	id   types.Array
	prev int64 // the section /Prev chains to; 0 for none (a complete section)
}

func (t trailerInfo) dict(size int) types.Dict {
	d := types.Dict{
		"Size": types.Integer(size),
		"Root": t.root,
	}
	if t.prev > 0 {
		d["Prev"] = types.Integer(t.prev)
	}
	if t.info != nil {
		d["Info"] = *t.info
	}
	if len(t.id) == 2 {
		d["ID"] = t.id
	}
	return d
}

// xrefEntry is one entry of a cross-reference section (§7.5.4, §7.5.8.3).
type xrefEntry struct {
	nr, gen int
	kind    pdffile.EntryKind
	off     int64 // in use: the offset of the object's header; compressed: the object stream's number; free: the next free object
	idx     int   // compressed: the index in the object stream
}

// sectionEntries returns the entries of the update's cross-reference
// section, by object number: the objects written so far and, for a
// complete section (base not nil), every other object of the file as base
// has it, with a free entry for each number in between, linked into the
// list of free objects that object 0 heads (§7.5.4).
func (u *update) sectionEntries(base []xrefEntry) []xrefEntry {
	if base == nil {
		nrs := u.objectNumbers()
		out := make([]xrefEntry, len(nrs))
		for i, n := range nrs {
			out[i] = xrefEntry{nr: n, gen: u.gens[n], kind: pdffile.EntryInUse, off: u.offsets[n]}
		}
		return out
	}
	byNr := make(map[int]xrefEntry, len(base)+len(u.offsets))
	size := 1
	for _, e := range base {
		byNr[e.nr] = e
		size = max(size, e.nr+1)
	}
	for n, off := range u.offsets {
		byNr[n] = xrefEntry{nr: n, gen: u.gens[n], kind: pdffile.EntryInUse, off: off}
		size = max(size, n+1)
	}
	out := make([]xrefEntry, size)
	lastFree := 0
	out[0] = xrefEntry{nr: 0, gen: 65535, kind: pdffile.EntryFree}
	for n := 1; n < size; n++ {
		e, ok := byNr[n]
		if !ok || e.kind == pdffile.EntryFree {
			e = xrefEntry{nr: n, kind: pdffile.EntryFree}
			out[lastFree].off = int64(n)
			lastFree = n
		}
		out[n] = e
	}
	return out
}

// runs groups entries, sorted by object number, into subsections of
// consecutive numbers (§7.5.4).
func runs(entries []xrefEntry) [][]xrefEntry {
	var out [][]xrefEntry
	start := 0
	for i := range entries {
		if i > 0 && entries[i].nr != entries[i-1].nr+1 {
			out = append(out, entries[start:i])
			start = i
		}
	}
	if start < len(entries) {
		out = append(out, entries[start:])
	}
	return out
}

// finishTable writes a cross-reference table section (§7.5.4) and the
// trailer (§7.5.5) for the objects written so far, and, when base is not
// nil, for every other object of the file (a complete section).
func (u *update) finishTable(t trailerInfo, base []xrefEntry) error {
	entries := u.sectionEntries(base)
	xref := u.offset()
	u.xref = xref
	u.buf.WriteString("xref\n")
	for _, r := range runs(entries) {
		fmt.Fprintf(&u.buf, "%d %d\n", r[0].nr, len(r))
		for _, e := range r {
			// Each entry is exactly 20 bytes, ending in a two-byte EOL.
			switch e.kind {
			case pdffile.EntryInUse:
				fmt.Fprintf(&u.buf, "%010d %05d n\r\n", e.off, e.gen)
			case pdffile.EntryFree:
				fmt.Fprintf(&u.buf, "%010d %05d f\r\n", e.off, e.gen)
			default:
				return fmt.Errorf("%w: object %d is in an object stream, which a cross-reference table cannot say", ErrMalformed, e.nr)
			}
		}
	}
	d, err := appendObject(nil, t.dict(entries[len(entries)-1].nr+1), 0)
	if err != nil {
		return fmt.Errorf("trailer: %w", err)
	}
	u.buf.WriteString("trailer\n")
	u.buf.Write(d)
	fmt.Fprintf(&u.buf, "\nstartxref\n%d\n%%%%EOF\n", xref)
	return nil
}

// finishStream writes a cross-reference stream (§7.5.8) as object nr, with
// the trailer entries in its dictionary, for the objects written so far
// and, when base is not nil, for every other object of the file.
func (u *update) finishStream(nr int, t trailerInfo, base []xrefEntry) error {
	xref := u.offset()
	u.xref = xref
	u.offsets[nr], u.gens[nr] = xref, 0
	entries := u.sectionEntries(base)
	var field2, field3 uint64 = uint64(xref), 0xffff
	for _, e := range entries {
		field2 = max(field2, uint64(e.off))
		field3 = max(field3, uint64(e.gen), uint64(e.idx))
	}
	width := func(v uint64) int {
		w := 1
		for v>>(8*w) > 0 {
			w++
		}
		return w
	}
	w2, w3 := width(field2), width(field3)
	var data []byte
	var index types.Array
	put := func(v uint64, w int) {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], v)
		data = append(data, b[8-w:]...)
	}
	for _, r := range runs(entries) {
		index = append(index, types.Integer(r[0].nr), types.Integer(len(r)))
		for _, e := range r {
			// Types 0, 1 and 2 of table 18: free, at an offset, in an object stream.
			switch e.kind {
			case pdffile.EntryFree:
				data = append(data, 0)
				put(uint64(e.off), w2)
				put(uint64(e.gen), w3)
			case pdffile.EntryInUse:
				data = append(data, 1)
				put(uint64(e.off), w2)
				put(uint64(e.gen), w3)
			case pdffile.EntryCompressed:
				data = append(data, 2)
				put(uint64(e.off), w2)
				put(uint64(e.idx), w3)
			}
		}
	}
	d := t.dict(entries[len(entries)-1].nr + 1)
	d["Type"] = types.Name("XRef")
	d["W"] = types.Array{types.Integer(1), types.Integer(w2), types.Integer(w3)}
	d["Index"] = index
	// streamObject records the offset again: the same value.
	if err := u.streamObject(nr, d, data); err != nil {
		return err
	}
	fmt.Fprintf(&u.buf, "startxref\n%d\n%%%%EOF\n", xref)
	return nil
}

func (u *update) objectNumbers() []int {
	nrs := make([]int, 0, len(u.offsets))
	for n := range u.offsets {
		nrs = append(nrs, n)
	}
	slices.Sort(nrs)
	return nrs
}

// appendObject serialises a pdfcpu object (§7.3). Unlike pdfcpu's
// PDFString, it fails on a type it cannot write instead of dropping it.
// String and hex literals are kept as pdfcpu read them (escapes intact).
func appendObject(b []byte, o types.Object, depth int) ([]byte, error) {
	if depth > maxTreeDepth*2 {
		return nil, fmt.Errorf("%w: objects nested more than %d deep", ErrMalformed, maxTreeDepth*2)
	}
	switch v := o.(type) {
	case nil:
		return append(b, "null"...), nil
	case types.Boolean:
		return strconv.AppendBool(b, bool(v)), nil
	case types.Integer:
		return strconv.AppendInt(b, int64(v), 10), nil
	case types.Float:
		// Exactly: objects copied from the input keep their values (the
		// revision comparison of Verify sees a rounded copy as a change).
		return appendFloat(b, float64(v)), nil
	case types.Name:
		return append(append(b, '/'), types.EncodeName(string(v))...), nil
	case types.StringLiteral:
		return append(append(append(b, '('), v...), ')'), nil
	case types.HexLiteral:
		return append(append(append(b, '<'), v...), '>'), nil
	case types.IndirectRef:
		return fmt.Appendf(b, "%d %d R", v.ObjectNumber, v.GenerationNumber), nil
	case *types.IndirectRef:
		return appendObject(b, *v, depth)
	case types.Array:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ' ')
			}
			var err error
			if b, err = appendObject(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case types.Dict:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, "<<"...)
		for _, k := range keys {
			b = append(append(b, '/'), types.EncodeName(k)...)
			b = append(b, ' ')
			var err error
			if b, err = appendObject(b, v[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ">>"...), nil
	default:
		return nil, fmt.Errorf("%w: cannot write a %T inside a dictionary", ErrMalformed, o)
	}
}

// appendNumber writes a real number the package computed (§7.3.3): no
// exponent, at most 4 decimals — far below a device pixel.
func appendNumber(b []byte, f float64) []byte { return appendFloat(b, round4(f)) }

// round4 rounds f to 4 decimals.
func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

// appendFloat writes f as a real number (§7.3.3) without an exponent, in
// the fewest digits that read back as f; NaN and infinities as 0.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if s == "-0" {
		s = "0"
	}
	return append(b, s...)
}

// textString encodes s as a PDF text string (§7.9.2.2): a literal string
// when s is printable ASCII, else UTF-16BE with a byte order mark, as a hex
// string.
func textString(s string) types.Object {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		return types.StringLiteral(escapeLiteral(s))
	}
	u := utf16.Encode([]rune(s))
	raw := make([]byte, 2, 2+2*len(u))
	raw[0], raw[1] = 0xfe, 0xff
	for _, c := range u {
		raw = binary.BigEndian.AppendUint16(raw, c)
	}
	return types.HexLiteral(hex.EncodeToString(raw))
}

// escapeLiteral escapes the characters a literal string cannot hold bare
// (§7.3.4.2).
func escapeLiteral(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '(', ')', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// appendBinaryString appends b, any bytes, to dst as a literal string
// (§7.3.4.2). Besides what a literal string cannot hold bare ("(", ")",
// "\\") it escapes CR, which a reader would turn into LF (§7.3.4.2: an
// end-of-line marker in a literal string stands for LF), "j", which keeps
// the keywords "obj" and "endobj" out of the string for the verifier's
// backward scan for the signature dictionary's header (signedDictionary),
// and "%", which keeps "%%EOF" out for its count of revisions
// (revisionEnds). Each escape but CR's is octal, three digits, so no
// digit that follows can extend it.
func appendBinaryString(dst, b []byte) []byte {
	dst = slices.Grow(dst, len(b)+len(b)/64+2)
	dst = append(dst, '(')
	run := 0 // b[run:i] needs no escape
	for i, c := range b {
		if !escapedInBinary[c] {
			continue
		}
		dst = append(dst, b[run:i]...)
		run = i + 1
		switch c {
		case '\r':
			dst = append(dst, '\\', 'r')
		case 'j', '%':
			dst = append(dst, '\\', '0'+c>>6, '0'+c>>3&7, '0'+c&7)
		default: // "(", ")" or a backslash
			dst = append(dst, '\\', c)
		}
	}
	dst = append(dst, b[run:]...)
	return append(dst, ')')
}

// escapedInBinary marks the bytes appendBinaryString escapes.
var escapedInBinary = [256]bool{'(': true, ')': true, '\\': true, '\r': true, 'j': true, '%': true}

// unescapeLiteral returns the bytes a literal string's text s (between
// its parentheses) stands for (§7.3.4.2): the escapes of table 3, octal
// escapes of one to three digits, a backslash before an end of line
// continuing the string, a bare end of line read as LF, and a backslash
// before any other character ignored. Text with no backslash or CR, as
// most is, is its bytes. It reads what appendBinaryString writes.
func unescapeLiteral(s string) []byte {
	out := make([]byte, 0, len(s))
	bs := -1 // the next backslash at or after i (len(s): none), once looked for
	for i := 0; i < len(s); i++ {
		// The text up to the next backslash or CR is its bytes: copied
		// whole (a seal's /SESeal is tens of kilobytes). Each byte is
		// searched once.
		if bs < i {
			bs = len(s)
			if k := strings.IndexByte(s[i:], '\\'); k >= 0 {
				bs = i + k
			}
		}
		run := s[i:bs]
		if cr := strings.IndexByte(run, '\r'); cr >= 0 {
			run = run[:cr]
		}
		out = append(out, run...)
		if i += len(run); i == len(s) {
			break
		}
		c := s[i]
		if c == '\r' { // CR or CR LF: LF
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			out = append(out, '\n')
			continue
		}
		if c != '\\' || i+1 == len(s) {
			out = append(out, c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case '\r': // a continued line: CR or CR LF
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		case '\n':
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := c - '0'
			for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
				i++
				v = v<<3 | (s[i] - '0') // high-order overflow is ignored (§7.3.4.2)
			}
			out = append(out, v)
		default: // ( ) \ stand for themselves; before others the backslash is ignored
			out = append(out, c)
		}
	}
	return out
}

// pdfDate formats t as a PDF date (§7.9.4): D:YYYYMMDDHHmmSS+HH'mm'.
func pdfDate(t time.Time) types.StringLiteral {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return types.StringLiteral(fmt.Sprintf("D:%s%c%02d'%02d'", t.Format("20060102150405"), sign, off/3600, off%3600/60))
}
