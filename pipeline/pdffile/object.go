package pdffile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// cachedObject is an object as read, or why it could not be read.
type cachedObject struct {
	obj types.Object
	err error
}

// rawObject is an indirect object as found in the file (§7.3.10).
type rawObject struct {
	nr, gen int
	value   types.Object // nil for null; a stream's dictionary for a stream
	dict    types.Dict   // streams: the dictionary
	stream  bool
	dataOff int64 // streams: where the data starts (§7.3.8.1)
	end     int64 // after endobj, or where the text ended; streams: dataOff
}

// objectAt reads the indirect object whose header "nr gen obj" is at off:
// the header, the object's text up to endobj (or stream), parsed as
// pdfcpu's object parser parses it (parseValue). A missing endobj is
// repaired.
func (f *File) objectAt(off int64) (*rawObject, error) {
	n := 1024
	scratch := objectBuffers.Get().(*[]byte)
	defer objectBuffers.Put(scratch)
	for {
		// The text is read into a buffer kept for the next object (the
		// parsed values copy what they keep), unless it is large.
		want := int(min(int64(n), max(0, f.size-off)))
		buf := *scratch
		if cap(buf) < want {
			buf = make([]byte, want)
			if want <= maxObjectBuffer {
				*scratch = buf
			}
		}
		k, err := f.src.readAt(buf[:want], off)
		if err != nil {
			return nil, err
		}
		b := buf[:k]
		eof := off+int64(len(b)) >= f.size
		nr, gen, j, ok := objectHeader(b, 0)
		if !ok || nr > int64(f.opts.MaxObjects) || gen > 65535 {
			return nil, malformed("no object header at %d (%s)", off, quote(b[skipWhite(b, 0):]))
		}
		how, end, after := scanBody(b, j, eof)
		if how == endStream && !eof && after+3 > len(b) {
			how = endNone
		}
		if how == endNone {
			if int64(n) >= f.opts.MaxObjectSize {
				return nil, limit("object %d at %d: its text is longer than %d bytes", nr, off, f.opts.MaxObjectSize)
			}
			n = int(min(int64(n)*8, f.opts.MaxObjectSize))
			continue
		}
		raw := &rawObject{nr: int(nr), gen: int(gen), end: off + int64(after)}
		raw.value, err = f.parseValue(b[j:end])
		if err != nil {
			return nil, fmt.Errorf("object %d at %d: %w", nr, off, err)
		}
		switch how {
		case endNextObject, endKeyword, endEOF:
			f.repaired(RepairMissingEndobj, int(nr), off, "object %d has no endobj; it ends at %d", nr, off+int64(end))
		case endStream:
			d, ok := raw.value.(types.Dict)
			if !ok {
				return nil, malformed("object %d at %d: stream data after %s, not after a dictionary", nr, off, describe(raw.value))
			}
			raw.stream, raw.dict = true, d
			// The keyword stream is followed by CRLF or LF (§7.3.8.1);
			// writers also use CR alone, and spaces before the EOL.
			k := after
			for k < len(b) && b[k] == ' ' {
				k++
			}
			if k < len(b) && b[k] == '\r' {
				k++
			}
			if k < len(b) && b[k] == '\n' {
				k++
			}
			raw.dataOff = off + int64(k)
			raw.end = raw.dataOff
		}
		return raw, nil
	}
}

// objectBuffers holds objectAt's buffers, of at most maxObjectBuffer
// bytes, for any File: a verifier opens a File for each document, and the
// tens of kilobytes of a signature dictionary would cost each one a
// buffer.
var objectBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxObjectBuffer = 64 << 10

// parseValue parses the text of one object with pdfcpu's parser (an
// empty text is null, §7.3.9). Parser panics become errors.
func (f *File) parseValue(text []byte) (o types.Object, err error) {
	if i, _ := skipSpace(text, 0); i >= len(text) {
		return nil, nil
	}
	if o, ok := fastParse(text, f.opts.MaxDepth); ok {
		return o, nil
	}
	s := string(text)
	defer func() {
		if r := recover(); r != nil {
			o, err = nil, malformed("the object parser failed: %v", r)
		}
	}()
	o, err = model.ParseObjectContext(context.Background(), &s, 0, f.opts.MaxDepth)
	if err != nil {
		if errors.Is(err, model.ErrMaxRecursionDepthExceeded) {
			return nil, limit("objects nested more than %d deep", f.opts.MaxDepth)
		}
		return nil, malformed("%v", err)
	}
	return o, nil
}

// Object returns object nr as its newest cross-reference entry defines it
// (§7.3.10): nil (null) for a free or undefined object, a
// types.StreamDict for a stream (its data is read by Stream), otherwise
// the parsed value. References inside it are not followed. The generation
// number of the entry is not compared with any reference's (see Entry).
// The value is shared with later calls: the caller must not modify it.
func (f *File) Object(nr int) (types.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.object(nr)
}

// Entry returns the cross-reference entry of object nr from the newest
// section that has one, and whether one has.
func (f *File) Entry(nr int) (Entry, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok, err := f.entry(nr)
	return e.export(), ok, err
}

func (f *File) entry(nr int) (entry, bool, error) {
	if nr <= 0 || nr >= f.opts.MaxObjects {
		return entry{}, false, nil
	}
	for _, s := range f.sections {
		e, ok, err := f.lookup(s, nr)
		if err != nil || ok {
			return e, ok, err
		}
	}
	return entry{}, false, nil
}

func (f *File) object(nr int) (types.Object, error) {
	if c, ok := f.objs.get(nr); ok {
		return c.obj, c.err
	}
	if f.depth >= f.opts.MaxDepth {
		return nil, limit("reading object %d needs more than %d objects read in a row", nr, f.opts.MaxDepth)
	}
	f.depth++
	o, err := f.readObject(nr)
	f.depth--
	if err != nil {
		err = fmt.Errorf("object %d: %w", nr, err)
	}
	f.objs.put(nr, cachedObject{o, err})
	return o, err
}

func (f *File) readObject(nr int) (types.Object, error) {
	e, ok, err := f.entry(nr)
	if err != nil || !ok {
		return nil, err
	}
	switch EntryKind(e.kind) {
	case EntryInUse:
		if e.off <= 0 {
			return nil, nil // "0000000000 00000 n": no object
		}
		raw, err := f.objectFor(nr, e.off)
		if err != nil {
			return nil, err
		}
		if raw.stream {
			return f.streamDict(raw), nil
		}
		return raw.value, nil
	case EntryCompressed:
		return f.compressedObject(nr, int(e.off), int(e.idx))
	}
	return nil, nil
}

// objectFor reads object nr, whose entry gives off: there, or within the
// repair window, or — if no header with its number is near — whatever
// object is at off.
func (f *File) objectFor(nr int, off int64) (*rawObject, error) {
	if h, err := f.src.window(off, 48); err == nil {
		if n, _, _, ok := objectHeader(h, 0); ok && n == int64(nr) {
			return f.objectAt(off) // the right header: its errors are the object's
		}
	}
	raw, err := f.objectAt(off)
	if err == nil && raw.nr == nr {
		return raw, nil
	}
	if errors.Is(err, ErrLimit) {
		return nil, err
	}
	for _, p := range f.headersNear(nr, off) {
		if r2, err2 := f.objectAt(p); err2 == nil && r2.nr == nr {
			f.repairedAt(RepairObjectOffset, nr, off, p, "object %d is at %d, %+d bytes away", nr, p, p-off)
			return r2, nil
		}
	}
	// Offsets far off: where a scan of the file finds the object.
	if p, ok := f.scannedOffset(nr); ok && p != off {
		if r2, err2 := f.objectAt(p); err2 == nil && r2.nr == nr {
			f.repairedAt(RepairObjectOffset, nr, off, p, "object %d is at %d, found by scanning the file", nr, p)
			return r2, nil
		}
	}
	if err != nil {
		return nil, err
	}
	f.repaired(RepairObjectNumber, nr, off, "the object at %d is numbered %d", off, raw.nr)
	return raw, nil
}

// headersNear returns where the header of object nr starts within the
// repair window of off, nearest first.
func (f *File) headersNear(nr int, off int64) []int64 {
	w := int64(f.opts.RepairWindow)
	if w == 0 || off >= f.size+w {
		return nil
	}
	base := max(0, off-w)
	b, err := f.src.window(base, int(off+w+32-base))
	if err != nil {
		return nil
	}
	num := []byte(strconv.Itoa(nr))
	var cands []int64
	for i := 0; ; {
		k := bytes.Index(b[i:], num)
		if k < 0 {
			break
		}
		p := i + k
		i = p + 1
		if p > 0 && isRegular(b[p-1]) {
			continue
		}
		if n, _, _, ok := objectHeader(b, p); ok && n == int64(nr) {
			cands = append(cands, base+int64(p))
		}
	}
	slices.SortStableFunc(cands, func(a, b int64) int { return int(abs(a-off) - abs(b-off)) })
	return cands[:min(len(cands), 4)]
}

// streamDict makes the types.StreamDict of a stream object, with its
// data's offset and, where given directly, its length and filters; the
// data is not read.
func (f *File) streamDict(raw *rawObject) types.StreamDict {
	sd := types.StreamDict{Dict: raw.dict, StreamOffset: raw.dataOff}
	switch l := raw.dict["Length"].(type) {
	case types.Integer:
		v := int64(l)
		sd.StreamLength = &v
	case types.IndirectRef:
		v := l.ObjectNumber.Value()
		sd.StreamLengthObjNr = &v
	}
	names, parms, err := filterList(raw.dict, noResolve)
	if err == nil {
		for i, n := range names {
			sd.FilterPipeline = append(sd.FilterPipeline, types.PDFFilter{Name: n, DecodeParms: parms[i]})
		}
	}
	return sd
}

// objStream is a decoded object stream (§7.5.7).
type objStream struct {
	nrs  []int
	offs []int
	data []byte // from /First on
}

// compressedObject reads object nr, the idx-th object of object stream stm.
func (f *File) compressedObject(nr, stm, idx int) (types.Object, error) {
	os, err := f.objStream(stm)
	if err != nil {
		return nil, err
	}
	if idx >= len(os.nrs) || os.nrs[idx] != nr {
		i := slices.Index(os.nrs, nr)
		if i < 0 {
			return nil, malformed("object stream %d does not hold object %d (its entry says index %d)", stm, nr, idx)
		}
		f.repaired(RepairObjectNumber, nr, 0, "object stream %d holds object %d at index %d, not %d", stm, nr, i, idx)
		idx = i
	}
	start, end := os.offs[idx], len(os.data)
	// The object ends where the next one (in offset order) begins.
	for _, o := range os.offs {
		if o > start && o < end {
			end = o
		}
	}
	if start > len(os.data) {
		return nil, malformed("object stream %d puts object %d at %d, past its end", stm, nr, start)
	}
	o, err := f.parseValue(os.data[start:end])
	if err != nil {
		return nil, fmt.Errorf("in object stream %d: %w", stm, err)
	}
	return o, nil
}

// objStream decodes object stream nr and parses the pairs of numbers at its
// start (§7.5.7); it keeps a few decoded streams.
func (f *File) objStream(nr int) (*objStream, error) {
	if os, ok := f.objStms.get(nr); ok {
		return os, nil
	}
	e, ok, err := f.entry(nr)
	if err != nil {
		return nil, err
	}
	if !ok || EntryKind(e.kind) != EntryInUse {
		return nil, malformed("object stream %d is not an object stored in the file", nr)
	}
	o, err := f.object(nr)
	if err != nil {
		return nil, err
	}
	sd, ok := o.(types.StreamDict)
	if !ok {
		return nil, malformed("object stream %d is %s, not a stream", nr, describe(o))
	}
	if t, _ := sd.Dict["Type"].(types.Name); t != "ObjStm" {
		return nil, malformed("object stream %d has /Type %s, not /ObjStm", nr, pdfString(sd.Dict["Type"]))
	}
	n, ok1 := sd.Dict["N"].(types.Integer)
	first, ok2 := sd.Dict["First"].(types.Integer)
	if !ok1 || !ok2 || n < 0 || first < 0 || int(n) > f.opts.MaxObjects {
		return nil, malformed("object stream %d has /N %s and /First %s", nr, pdfString(sd.Dict["N"]), pdfString(sd.Dict["First"]))
	}
	data, err := f.streamData(sd, nr)
	if err != nil {
		return nil, fmt.Errorf("object stream %d: %w", nr, err)
	}
	if int(first) > len(data) {
		return nil, malformed("object stream %d has /First %d, past its %d bytes", nr, first, len(data))
	}
	head := data[:first]
	os := &objStream{data: data[first:]}
	i := 0
	for range int(n) {
		a, j, ok1 := uintToken(head, i)
		b, k, ok2 := uintToken(head, j)
		if !ok1 || !ok2 || a >= int64(f.opts.MaxObjects) || b > int64(len(os.data)) {
			return nil, malformed("object stream %d: /N is %d but pair %d of its header is not two numbers", nr, n, len(os.nrs)+1)
		}
		os.nrs = append(os.nrs, int(a))
		os.offs = append(os.offs, int(b))
		i = k
	}
	f.objStms.put(nr, os)
	return os, nil
}

// Resolve follows o while it is an indirect reference (§7.3.10) and
// returns the object at the end: nil (null) for a reference to a free or
// undefined object. At most Options.MaxDepth references are followed; a
// reference that comes back to itself is an error.
func (f *File) Resolve(o types.Object) (types.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resolve(o)
}

func (f *File) resolve(o types.Object) (types.Object, error) {
	var seen []int
	for {
		ref, ok := o.(types.IndirectRef)
		if !ok {
			return o, nil
		}
		nr := ref.ObjectNumber.Value()
		if slices.Contains(seen, nr) {
			return nil, malformed("object %d refers back to itself through %v", nr, seen)
		}
		if len(seen) >= f.opts.MaxDepth {
			return nil, limit("more than %d references in a row", f.opts.MaxDepth)
		}
		seen = append(seen, nr)
		var err error
		if o, err = f.object(nr); err != nil {
			return nil, err
		}
	}
}

// resolveDict resolves o and returns it as a dictionary, nil for null.
func (f *File) resolveDict(o types.Object, what string) (types.Dict, error) {
	o, err := f.resolve(o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	switch d := o.(type) {
	case nil:
		return nil, nil
	case types.Dict:
		return d, nil
	}
	return nil, malformed("%s is %s, not a dictionary", what, describe(o))
}

// ObjectAt reads the indirect object whose header "nr gen obj" is at
// offset (§7.3.10), whatever the cross-reference data says: a verifier
// reads a signature dictionary where the signed bytes hold it. A stream
// is returned as a types.StreamDict. It is not cached.
func (f *File) ObjectAt(offset int64) (nr, gen int, obj types.Object, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if offset < 0 || offset >= f.size {
		return 0, 0, nil, malformed("offset %d is not inside the %d-byte file", offset, f.size)
	}
	raw, err := f.objectAt(offset)
	if err != nil {
		return 0, 0, nil, err
	}
	if raw.stream {
		return raw.nr, raw.gen, f.streamDict(raw), nil
	}
	return raw.nr, raw.gen, raw.value, nil
}
