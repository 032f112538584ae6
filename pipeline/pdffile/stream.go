package pdffile

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Stream returns the dictionary and the decoded data of a stream (§7.3.8):
// o is a reference to it or the types.StreamDict Object returned for it.
// The data is decoded through the stream's filters (§7.4): FlateDecode
// with its predictors, LZWDecode, ASCIIHexDecode, ASCII85Decode and
// RunLengthDecode; the image filters give ErrUnsupportedFilter. Decoded
// data longer than Options.MaxDecodedSize is ErrLimit.
func (f *File) Stream(o types.Object) (types.StreamDict, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sd, nr, err := f.streamObject(o)
	if err != nil {
		return sd, nil, err
	}
	data, err := f.streamData(sd, nr)
	return sd, data, err
}

// StreamReader is Stream returning a reader of the decoded data instead:
// data without filters and FlateDecode data are read as the reader is
// read, so a large stream is never held whole (the other filters decode
// into memory, within Options.MaxDecodedSize). Reading more than
// Options.MaxDecodedSize bytes of decoded data is ErrLimit; data stored
// without a filter is as long as it is.
func (f *File) StreamReader(o types.Object) (types.StreamDict, io.Reader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sd, nr, err := f.streamObject(o)
	if err != nil {
		return sd, nil, err
	}
	off, n, err := f.extent(sd, nr)
	if err != nil {
		return sd, nil, err
	}
	r, err := f.decoder(sd.Dict, off, n, f.resolve)
	if err != nil {
		return sd, nil, err
	}
	if _, ok := r.(*io.SectionReader); ok {
		return sd, r, nil // no filter: as long as it is stored
	}
	return sd, &limitedReader{r: r, n: f.opts.MaxDecodedSize}, nil
}

// RawStream returns the dictionary of a stream and a reader of its data as
// stored in the file, not decoded: the bytes between the EOL after the
// stream keyword and the endstream keyword (§7.3.8.1).
func (f *File) RawStream(o types.Object) (types.StreamDict, *io.SectionReader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sd, nr, err := f.streamObject(o)
	if err != nil {
		return sd, nil, err
	}
	off, n, err := f.extent(sd, nr)
	if err != nil {
		return sd, nil, err
	}
	return sd, io.NewSectionReader(f.r, off, n), nil
}

func (f *File) streamObject(o types.Object) (types.StreamDict, int, error) {
	nr := 0
	if ref, ok := o.(types.IndirectRef); ok {
		nr = ref.ObjectNumber.Value()
	}
	o, err := f.resolve(o)
	if err != nil {
		return types.StreamDict{}, 0, err
	}
	sd, ok := o.(types.StreamDict)
	if !ok {
		return types.StreamDict{}, 0, malformed("%s is %s, not a stream", objName(nr), describe(o))
	}
	return sd, nr, nil
}

func objName(nr int) string {
	if nr == 0 {
		return "the object"
	}
	return fmt.Sprintf("object %d", nr)
}

// streamData decodes the whole of a stream, within Options.MaxDecodedSize.
func (f *File) streamData(sd types.StreamDict, nr int) ([]byte, error) {
	off, n, err := f.extent(sd, nr)
	if err != nil {
		return nil, err
	}
	return f.decodeAll(sd.Dict, off, n, -1, f.resolve)
}

// extent returns where a stream's data is, from its /Length, resolved.
func (f *File) extent(sd types.StreamDict, nr int) (off, n int64, err error) {
	length := int64(-1)
	o, err := f.resolve(sd.Dict["Length"])
	if err == nil {
		if l, ok := o.(types.Integer); ok {
			length = int64(l)
		}
	}
	return f.streamExtent(nr, sd.StreamOffset, length)
}

// streamExtent returns the offset and length of the data of the stream
// whose data starts at off and whose /Length is length (-1 if unknown):
// that length if the endstream keyword follows it, else the bytes up to
// endstream, found by searching the file with a fixed buffer.
func (f *File) streamExtent(nr int, off, length int64) (int64, int64, error) {
	if n, ok := f.extents[off]; ok {
		return off, n, nil
	}
	if off <= 0 || off > f.size {
		return 0, 0, malformed("%s: stream data at %d, outside the file", objName(nr), off)
	}
	if length >= 0 && length <= f.size-off {
		b, err := f.src.window(off+length, 32)
		if err != nil {
			return 0, 0, err
		}
		if hasKeyword(b, skipWhite(b, 0), "endstream") {
			return off, length, nil
		}
	}
	p, err := f.find(off, "endstream")
	if err != nil {
		return 0, 0, err
	}
	if p < 0 {
		return 0, 0, malformed("%s: stream data at %d has no endstream", objName(nr), off)
	}
	n := p - off
	// The EOL before endstream is not part of the data (§7.3.8.1).
	if n > 0 {
		tail, err := f.src.window(off+n-min(n, 2), int(min(n, 2)))
		if err != nil {
			return 0, 0, err
		}
		switch {
		case bytes.HasSuffix(tail, []byte("\r\n")):
			n -= 2
		case bytes.HasSuffix(tail, []byte("\n")), bytes.HasSuffix(tail, []byte("\r")):
			n--
		}
	}
	what := "no usable /Length"
	if length >= 0 {
		what = fmt.Sprintf("/Length %d", length)
	}
	f.repaired(RepairStreamLength, nr, off, "the stream data at %d has %s; %d bytes lie before endstream", off, what, n)
	if len(f.extents) < 10_000 {
		f.extents[off] = n
	}
	return off, n, nil
}

// find returns the offset of the first occurrence of word at or after
// off, or -1, reading the file through a fixed buffer.
func (f *File) find(off int64, word string) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for off < f.size {
		n, err := f.src.readAt(buf, off)
		if err != nil {
			return 0, err
		}
		if k := bytes.Index(buf[:n], []byte(word)); k >= 0 {
			return off + int64(k), nil
		}
		if off+int64(n) >= f.size {
			break
		}
		off += int64(n - len(word) + 1)
	}
	return -1, nil
}

// resolver resolves indirect references while decoding.
type resolver func(types.Object) (types.Object, error)

// noResolve stands for a resolver while the cross-reference data is being
// read: a reference reads as null.
func noResolve(o types.Object) (types.Object, error) {
	if _, ok := o.(types.IndirectRef); ok {
		return nil, nil
	}
	return o, nil
}

// decodeAll decodes the n bytes of stream data at off. With want >= 0
// it returns the first want bytes of the decoded data, or fewer if the
// data is shorter; otherwise all of it, within Options.MaxDecodedSize.
func (f *File) decodeAll(d types.Dict, off, n, want int64, res resolver) ([]byte, error) {
	r, err := f.decoder(d, off, n, res)
	if err != nil {
		return nil, err
	}
	if want >= 0 {
		// Memory follows the data decoded, not what the dictionary claims.
		return io.ReadAll(io.LimitReader(r, want))
	}
	return io.ReadAll(&limitedReader{r: r, n: f.opts.MaxDecodedSize})
}

// maxFilters bounds the filters of one stream.
const maxFilters = 16

// filterList returns the names of a stream's filters and their decode
// parameters (§7.3.8.2, table 5).
func filterList(d types.Dict, res resolver) ([]string, []types.Dict, error) {
	fo, err := res(d["Filter"])
	if err != nil {
		return nil, nil, err
	}
	var names []string
	switch v := fo.(type) {
	case nil:
		return nil, nil, nil
	case types.Name:
		names = []string{string(v)}
	case types.Array:
		if len(v) > maxFilters {
			return nil, nil, limit("more than %d filters", maxFilters)
		}
		for _, e := range v {
			e, err := res(e)
			if err != nil {
				return nil, nil, err
			}
			n, ok := e.(types.Name)
			if !ok {
				return nil, nil, malformed("/Filter %s is not an array of names", pdfString(fo))
			}
			names = append(names, string(n))
		}
	default:
		return nil, nil, malformed("/Filter is %s, not a name", describe(fo))
	}
	parms := make([]types.Dict, len(names))
	po, err := res(d["DecodeParms"])
	if err != nil {
		return nil, nil, err
	}
	switch v := po.(type) {
	case types.Dict:
		parms[0] = v
	case types.Array:
		for i, e := range v {
			if i >= len(parms) {
				break
			}
			e, err := res(e)
			if err != nil {
				return nil, nil, err
			}
			if pd, ok := e.(types.Dict); ok {
				parms[i] = pd
			}
		}
	}
	return names, parms, nil
}

// decoder returns a reader of the decoded data of the n bytes at off.
func (f *File) decoder(d types.Dict, off, n int64, res resolver) (io.Reader, error) {
	names, parms, err := filterList(d, res)
	if err != nil {
		return nil, err
	}
	var r io.Reader = io.NewSectionReader(f.r, off, n)
	for i, name := range names {
		if r, err = f.filter(name, parms[i], r, res); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Filter names and their abbreviations (§7.4, §8.9.7 table 94).
var pdfcpuFilters = map[string]string{
	"ASCIIHexDecode": filter.ASCIIHex, "AHx": filter.ASCIIHex,
	"ASCII85Decode": filter.ASCII85, "A85": filter.ASCII85,
	"LZWDecode": filter.LZW, "LZW": filter.LZW,
	"RunLengthDecode": filter.RunLength, "RL": filter.RunLength,
}

func (f *File) filter(name string, parms types.Dict, r io.Reader, res resolver) (io.Reader, error) {
	p := map[string]int{}
	for k, v := range parms {
		v, err := res(v)
		if err != nil {
			return nil, err
		}
		if i, ok := v.(types.Integer); ok {
			p[k] = int(i)
		}
	}
	switch name {
	case "FlateDecode", "Fl":
		return predictor(newFlateReader(r), p)
	case "Crypt":
		if n, _ := parms["Name"].(types.Name); n == "" || n == "Identity" {
			return r, nil
		}
		return nil, fmt.Errorf("%w: /Crypt with /Name %s", ErrUnsupportedFilter, pdfString(parms["Name"]))
	}
	canon, ok := pdfcpuFilters[name]
	if !ok {
		return nil, fmt.Errorf("%w: /%s", ErrUnsupportedFilter, name)
	}
	// pdfcpu's decoders read their whole input and write their whole
	// output to memory, within the decode limit.
	fl, err := filter.NewFilter(canon, p, f.opts.MaxDecodedSize)
	if err != nil {
		return nil, fmt.Errorf("%w: /%s: %v", ErrUnsupportedFilter, name, err)
	}
	var out io.Reader
	err = func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("decoder failure: %v", r)
			}
		}()
		out, err = fl.Decode(&limitedReader{r: r, n: f.opts.MaxDecodedSize * 4})
		return err
	}()
	if err != nil {
		if errors.Is(err, filter.ErrDecodeLimitExceeded) || errors.Is(err, ErrLimit) {
			return nil, limit("/%s data decodes to more than %d bytes", name, f.opts.MaxDecodedSize)
		}
		return nil, malformed("/%s: %v", name, err)
	}
	return out, nil
}

// limitedReader fails with ErrLimit once more than n bytes are read.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, limit("decoded stream data longer than the limit")
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, limit("decoded stream data longer than the limit")
	}
	return n, err
}

// flateReader inflates zlib data (RFC 1950), or raw deflate data (RFC
// 1951) when the zlib header is missing, as some writers produce. Data
// that ends early ends the stream, as viewers read it.
type flateReader struct {
	src  io.Reader
	br   *bufio.Reader
	r    io.Reader  // the inflater, from pool
	pool *sync.Pool // zlibReaders or flateReaders
	err  error
}

// Inflaters and their input buffers are reused: a sealing reads an object
// stream or two per document, and a fresh inflater's 32 KB window costs
// more to allocate and clear than the stream does to inflate. A reader
// returns them once its stream ends or fails; one left unread is
// collected with them.
var (
	bufReaders   = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	zlibReaders  sync.Pool // zlib readers, zlib.Resetter
	flateReaders sync.Pool // raw deflate readers, flate.Resetter
)

func newFlateReader(r io.Reader) io.Reader { return &flateReader{src: r} }

func (z *flateReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if z.r == nil {
		if err := z.start(); err != nil {
			z.err = err
			z.release()
			return 0, err
		}
	}
	n, err := z.r.Read(p)
	switch {
	case err == nil, err == io.EOF:
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = io.EOF
	default:
		err = malformed("FlateDecode: %v", err)
	}
	if err != nil {
		z.err = err
		z.release()
	}
	return n, err
}

// start readies an inflater for the data: zlib's if it begins with a zlib
// header, raw deflate's otherwise.
func (z *flateReader) start() error {
	z.br = bufReaders.Get().(*bufio.Reader)
	z.br.Reset(z.src)
	h, _ := z.br.Peek(2)
	if len(h) == 2 && h[0]&0x0f == 8 && (uint(h[0])<<8|uint(h[1]))%31 == 0 {
		z.pool = &zlibReaders
		if zr, ok := zlibReaders.Get().(io.Reader); ok {
			z.r = zr
			if err := zr.(zlib.Resetter).Reset(z.br, nil); err != nil {
				return malformed("FlateDecode: %v", err)
			}
			return nil
		}
		zr, err := zlib.NewReader(z.br)
		if err != nil {
			return malformed("FlateDecode: %v", err)
		}
		z.r = zr
		return nil
	}
	z.pool = &flateReaders
	if fr, ok := flateReaders.Get().(io.Reader); ok {
		z.r = fr
		return fr.(flate.Resetter).Reset(z.br, nil) // never fails: it reads nothing yet
	}
	z.r = flate.NewReader(z.br)
	return nil
}

// release returns the inflater and its buffer for reuse.
func (z *flateReader) release() {
	if z.r != nil {
		z.pool.Put(z.r)
		z.r = nil
	}
	if z.br != nil {
		z.br.Reset(nil)
		bufReaders.Put(z.br)
		z.br = nil
	}
}

// predictor undoes the predictor of FlateDecode or LZWDecode parameters
// (§7.4.4.4, table 8): 2 for TIFF, 10 to 15 for PNG.
func predictor(r io.Reader, p map[string]int) (io.Reader, error) {
	pred := p["Predictor"]
	if pred <= 1 {
		return r, nil
	}
	colors, bpc, columns := 1, 8, 1
	if v, ok := p["Colors"]; ok {
		colors = v
	}
	if v, ok := p["BitsPerComponent"]; ok {
		bpc = v
	}
	if v, ok := p["Columns"]; ok {
		columns = v
	}
	if colors < 1 || colors > 32 || columns < 1 || columns > 1<<20 || bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16 {
		return nil, malformed("predictor %d with /Colors %d /BitsPerComponent %d /Columns %d", pred, colors, bpc, columns)
	}
	rowLen := (colors*bpc*columns + 7) / 8
	bpp := max(1, (colors*bpc+7)/8)
	switch {
	case pred == 2:
		if bpc != 8 {
			return nil, fmt.Errorf("%w: TIFF predictor with %d bits per component", ErrUnsupportedFilter, bpc)
		}
		return &predictReader{r: r, tiff: true, cur: make([]byte, rowLen), prev: make([]byte, rowLen), bpp: bpp}, nil
	case pred >= 10 && pred <= 15:
		return &predictReader{r: r, cur: make([]byte, rowLen+1), prev: make([]byte, rowLen+1), bpp: bpp}, nil
	}
	return nil, malformed("/Predictor %d", pred)
}

// predictReader undoes a predictor row by row.
type predictReader struct {
	r         io.Reader
	tiff      bool
	cur, prev []byte // PNG: a filter-type byte, then the row
	bpp       int
	out       []byte // decoded bytes not yet returned
	err       error
}

func (p *predictReader) Read(b []byte) (int, error) {
	for len(p.out) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		n, err := io.ReadFull(p.r, p.cur)
		if n < len(p.cur) {
			// A partial last row is dropped.
			if err == nil || err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			p.err = err
			continue
		}
		p.prev, p.cur = p.cur, p.prev
		row := p.prev // the row just read, now decoded in place
		if p.tiff {
			for i := p.bpp; i < len(row); i++ {
				row[i] += row[i-p.bpp]
			}
			p.out = row
			continue
		}
		up := p.cur[1:] // the row before
		line := row[1:]
		switch row[0] {
		case 0:
		case 1: // Sub
			for i := p.bpp; i < len(line); i++ {
				line[i] += line[i-p.bpp]
			}
		case 2: // Up
			for i := range line {
				line[i] += up[i]
			}
		case 3: // Average
			for i := range line {
				var left byte
				if i >= p.bpp {
					left = line[i-p.bpp]
				}
				line[i] += byte((int(left) + int(up[i])) / 2)
			}
		case 4: // Paeth
			for i := range line {
				var a, c byte
				if i >= p.bpp {
					a, c = line[i-p.bpp], up[i-p.bpp]
				}
				line[i] += paeth(a, up[i], c)
			}
		default:
			p.err = malformed("PNG predictor: row filter type %d", row[0])
			return 0, p.err
		}
		p.out = line
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	return n, nil
}

func paeth(a, b, c byte) byte {
	pa := abs(int64(b) - int64(c))
	pb := abs(int64(a) - int64(c))
	pc := abs(int64(a) + int64(b) - 2*int64(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}
