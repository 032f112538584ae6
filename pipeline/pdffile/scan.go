package pdffile

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// scanChunk and scanOverlap size the fixed buffer of the reconstruction
// scan: chunks of the file overlap so that a header or keyword cut by a
// chunk's end is seen whole in the next.
const (
	scanChunk   = 256 << 10
	scanOverlap = 1024
	scanPeek    = 512 // bytes after an object header looked at for its /Type
	maxScanList = 100_000
)

// scanState is what the reconstruction scan has found so far.
type scanState struct {
	index    map[int]entry // by object number: the last header found
	trailers []int64       // offsets after each trailer keyword, the last few
	xrefs    []int64       // headers of objects that look like /XRef streams
	catalogs []int64       // headers of objects that look like catalogs
	objStms  []int64       // headers of objects that look like object streams
	inStream bool
	streamAt int64 // where the stream scanChunk is in began
	skip     bool  // skip stream data
	decoded  int64 // bytes of object streams decoded
}

// scanFile scans the whole file for object headers and trailers.
func (f *File) scanFile(ctx context.Context) (*scanState, error) {
	st := &scanState{index: map[int]entry{}}
	if err := f.scanFrom(ctx, st, 0, true); err != nil {
		return nil, err
	}
	if st.inStream {
		// A stream without endstream: scan what followed its keyword
		// again, this time looking into streams.
		st.inStream = false
		if err := f.scanFrom(ctx, st, st.streamAt, false); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// scannedOffset returns where the scan of the file found the last header
// of object nr, scanning the file the first time it is asked.
func (f *File) scannedOffset(nr int) (int64, bool) {
	if f.scanned == nil {
		st, err := f.scanFile(context.Background())
		if err != nil {
			st = &scanState{}
		}
		f.scanned = st
	}
	if e, ok := f.scanned.index[nr]; ok && EntryKind(e.kind) == EntryInUse {
		return e.off, true
	}
	return 0, false
}

// scanFrom scans the file from off to its end through a fixed buffer.
func (f *File) scanFrom(ctx context.Context, st *scanState, off int64, skipStreams bool) error {
	st.skip = skipStreams
	buf := make([]byte, scanChunk+scanOverlap)
	base := off // file offset of buf[0]
	from := 0   // where in buf to go on scanning
	for base < f.size {
		if err := ctx.Err(); err != nil {
			return err
		}
		want := int(min(int64(len(buf)), f.size-base))
		n, err := f.src.r.ReadAt(buf[:want], base)
		if n < want {
			if err == nil || err == io.EOF {
				err = errShortRead
			}
			return fmt.Errorf("%w: scanning the file: %v", ErrMalformed, err)
		}
		b := buf[:n]
		eof := base+int64(n) >= f.size
		stop := n
		if !eof {
			stop = n - scanOverlap
		}
		if err := f.scanChunk(st, b, base, from, stop); err != nil {
			return err
		}
		if eof {
			break
		}
		// Keep 64 bytes before stop for looking back at "nr gen".
		base += int64(stop - 64)
		from = 64
	}
	return nil
}

// reconstruct indexes the file by scanning it for object headers, as
// viewers do when the cross-reference data is unusable: the last header of
// each object number wins, objects of object streams are added where no
// header defines them, and the trailer is the last trailer dictionary with
// a /Root, else the dictionary of the last cross-reference stream with
// one, else one made from the last catalog found. The scan reads the file
// once through a fixed buffer, skipping stream data (from stream to
// endstream); it keeps one entry per object number.
func (f *File) reconstruct(ctx context.Context, why error) error {
	st, err := f.scanFile(ctx)
	if err != nil {
		return err
	}
	if err := f.indexObjectStreams(ctx, st); err != nil {
		return err
	}
	f.scanned = st
	sec := &xsection{Section: Section{Offset: -1, Kind: SectionScan, End: f.size}, scan: st.index}
	f.sections = []*xsection{sec}
	trailer, err := f.scanTrailer(st)
	if err != nil {
		return err
	}
	sec.Trailer = trailer
	f.trailer = trailer
	f.maxNr = sec.maxNumber()
	if s, ok := trailer["Size"].(types.Integer); ok && int(s) > f.maxNr {
		f.maxNr = min(int(s), f.opts.MaxObjects)
	}
	f.revisions = []Revision{{Sections: []Section{sec.Section}, End: f.size}}
	f.repaired(RepairReconstructed, 0, 0, "the cross-reference data is unusable (%v); %d objects found by scanning the file", why, f.countScan())
	return nil
}

func (f *File) countScan() int { return len(f.sections[0].scan) }

// scanChunk scans b (the file from base) from index from to stop for
// object headers, trailer keywords and the stream/endstream pairs between
// which it looks at nothing.
func (f *File) scanChunk(st *scanState, b []byte, base int64, from, stop int) error {
	i := from
	for i < stop {
		if st.inStream {
			k := bytes.Index(b[i:], []byte("endstream"))
			if k < 0 || i+k >= stop {
				return nil
			}
			i += k + len("endstream")
			st.inStream = false
			continue
		}
		k := bytes.IndexAny(b[i:stop], "ost")
		if k < 0 {
			return nil
		}
		p := i + k
		i = p + 1
		if p > 0 && isRegular(b[p-1]) {
			continue
		}
		switch {
		case hasKeyword(b, p, "obj"):
			q := p
			for q > 0 && isSpace(b[q-1]) {
				q--
			}
			gs := q
			for gs > 0 && isDigit(b[gs-1]) {
				gs--
			}
			if gs == q || gs == 0 || !isSpace(b[gs-1]) {
				continue
			}
			ns := gs - 1
			for ns > 0 && isSpace(b[ns-1]) {
				ns--
			}
			ne := ns
			for ns > 0 && isDigit(b[ns-1]) {
				ns--
			}
			if ns == ne || ns > 0 && isRegular(b[ns-1]) {
				continue
			}
			nr, ok1 := parseUint(b[ns:ne])
			gen, ok2 := parseUint(b[gs:q])
			if !ok1 || !ok2 || gen > 65535 {
				continue
			}
			if nr == 0 || nr >= int64(f.opts.MaxObjects) {
				continue // not a number an object can have
			}
			if len(st.index) >= f.opts.MaxObjects {
				return limit("the scan found more than %d objects", f.opts.MaxObjects)
			}
			off := base + int64(ns)
			st.index[int(nr)] = entry{kind: uint8(EntryInUse), off: off, gen: uint16(gen), set: true}
			peek := b[p+3 : min(len(b), p+3+scanPeek)]
			if e := bytes.Index(peek, []byte("endobj")); e >= 0 {
				peek = peek[:e]
			}
			switch {
			case bytes.Contains(peek, []byte("/XRef")) && !bytes.Contains(peek, []byte("/XRefStm")):
				st.xrefs = appendBounded(st.xrefs, off)
			case bytes.Contains(peek, []byte("/ObjStm")):
				st.objStms = appendBounded(st.objStms, off)
			case bytes.Contains(peek, []byte("/Catalog")):
				st.catalogs = appendBounded(st.catalogs, off)
			}
		case hasKeyword(b, p, "stream"):
			// Only after a dictionary: ">>" then white space.
			q := p
			for q > 0 && isSpace(b[q-1]) {
				q--
			}
			if st.skip && q >= 2 && b[q-1] == '>' && b[q-2] == '>' {
				st.inStream, st.streamAt = true, base+int64(p)
				i = p + len("stream")
			}
		case hasKeyword(b, p, "trailer"):
			st.trailers = appendBounded(st.trailers, base+int64(p+len("trailer")))
		}
	}
	return nil
}

// appendBounded appends off, keeping the last maxScanList offsets.
func appendBounded(list []int64, off int64) []int64 {
	if len(list) >= maxScanList {
		list = append(list[:0], list[len(list)/2:]...)
	}
	return append(list, off)
}

// indexObjectStreams adds the objects of the object streams found to the
// scan's index, where no header of their own defines them.
func (f *File) indexObjectStreams(ctx context.Context, st *scanState) error {
	f.sections = []*xsection{{Section: Section{Kind: SectionScan}, scan: st.index}}
	direct := func(nr int) bool {
		e, ok := st.index[nr]
		return ok && EntryKind(e.kind) == EntryInUse
	}
	type comp struct{ nr, stm, idx int }
	var found []comp
	for _, off := range st.objStms {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, err := f.objectAt(off)
		if err != nil || !raw.stream || st.index[raw.nr].off != off {
			continue // damaged, or an older definition
		}
		if st.decoded > f.opts.MaxDecodedSize {
			break // enough decoding for one scan
		}
		os, err := f.objStream(raw.nr)
		if err != nil {
			continue
		}
		st.decoded += int64(len(os.data))
		for i, nr := range os.nrs {
			if !direct(nr) {
				found = append(found, comp{nr, raw.nr, i})
			}
		}
	}
	for _, c := range found {
		st.index[c.nr] = entry{kind: uint8(EntryCompressed), off: int64(c.stm), idx: int32(c.idx), set: true}
	}
	f.objs = newLRU[int, cachedObject](f.opts.CacheObjects)
	f.objStms = newLRU[int, *objStream](4)
	return nil
}

// scanTrailer picks the trailer of a reconstructed file.
func (f *File) scanTrailer(st *scanState) (types.Dict, error) {
	var fallback types.Dict
	for k := len(st.trailers) - 1; k >= 0 && k >= len(st.trailers)-16; k-- {
		d, _, err := f.dictAt(st.trailers[k])
		if err != nil {
			continue
		}
		if _, ok := d["Root"].(types.IndirectRef); ok {
			return d, nil
		}
		if fallback == nil {
			fallback = d
		}
	}
	for k := len(st.xrefs) - 1; k >= 0 && k >= len(st.xrefs)-16; k-- {
		raw, err := f.objectAt(st.xrefs[k])
		if err != nil || !raw.stream {
			continue
		}
		if _, ok := raw.dict["Root"].(types.IndirectRef); ok {
			return raw.dict, nil
		}
	}
	for k := len(st.catalogs) - 1; k >= 0 && k >= len(st.catalogs)-16; k-- {
		raw, err := f.objectAt(st.catalogs[k])
		if err != nil {
			continue
		}
		if d, ok := raw.value.(types.Dict); ok {
			if t, _ := d["Type"].(types.Name); t == "Catalog" {
				t := types.Dict{}
				for k, v := range fallback {
					t[k] = v
				}
				t["Root"] = *types.NewIndirectRef(raw.nr, raw.gen)
				return t, nil
			}
		}
	}
	return nil, malformed("scanning the file found no trailer with /Root and no catalog")
}

// dictAt parses the dictionary that starts, after white space, at off and
// returns it and the offset after it.
func (f *File) dictAt(off int64) (types.Dict, int64, error) {
	n := 1024
	for {
		b, err := f.src.window(off, n)
		if err != nil {
			return nil, 0, err
		}
		eof := off+int64(len(b)) >= f.size
		i, _ := skipSpace(b, 0)
		if !bytes.HasPrefix(b[i:], []byte("<<")) {
			return nil, 0, malformed("%s at %d where a dictionary should be", quote(b[i:]), off+int64(i))
		}
		end, ok := dictEnd(b, i)
		if !ok {
			if eof {
				return nil, 0, malformed("the dictionary at %d does not end", off+int64(i))
			}
			if int64(n) >= f.opts.MaxObjectSize {
				return nil, 0, limit("the dictionary at %d is longer than %d bytes", off+int64(i), f.opts.MaxObjectSize)
			}
			n = int(min(int64(n)*8, f.opts.MaxObjectSize))
			continue
		}
		o, err := f.parseValue(b[i:end])
		if err != nil {
			return nil, 0, fmt.Errorf("the dictionary at %d: %w", off+int64(i), err)
		}
		d, ok := o.(types.Dict)
		if !ok {
			return nil, 0, malformed("the text at %d is %s, not a dictionary", off+int64(i), describe(o))
		}
		return d, off + int64(end), nil
	}
}

// dictEnd returns the index after the dictionary or array opening at i,
// counting nested brackets and skipping strings and comments.
func dictEnd(b []byte, i int) (int, bool) {
	depth := 0
	for i < len(b) {
		var complete bool
		if i, complete = skipSpace(b, i); !complete || i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case '(':
			j := skipString(b, i)
			if j < 0 {
				return 0, false
			}
			i = j
			continue
		case '<':
			if i+1 < len(b) && b[i+1] == '<' {
				depth++
				i += 2
				continue
			}
			k := bytes.IndexByte(b[i:], '>')
			if k < 0 {
				return 0, false
			}
			i += k + 1
			continue
		case '>':
			if i+1 < len(b) && b[i+1] == '>' {
				depth--
				i += 2
				if depth <= 0 {
					return i, true
				}
				continue
			}
		case '[':
			depth++
		case ']':
			depth--
		}
		i++
	}
	return 0, false
}
