// Package ofd reads OFD packages (GB/T 33190-2016, 电子文件存储与交换格式
// 版式文档) safely: it opens the ZIP container (§7.2, the package is a ZIP
// archive whose root holds OFD.xml), checks every entry before anything is
// decompressed, and parses the parts sealing and verification need — the
// entry file OFD.xml (§7.4, DocBody with DocRoot and Signatures), the
// document Document.xml (§7.5: CommonData/PageArea, the page list,
// Annotations), each page's physical box (§7.7, inherited from CommonData
// when the page states none), the signature list Signatures.xml (§18.2.1)
// and each signature description Signature.xml (§18.2.2: SignedInfo with
// Provider, SignatureMethod, SignatureDateTime, References, StampAnnot,
// Seal; SignedValue).
//
// # Hostile input
//
// Nothing read from a package chooses how much memory is spent. [Open]
// refuses, before decompressing anything, packages whose central directory
// declares more entries, larger entries, a larger total or a higher
// compression ratio than [Limits] allows ([ErrTooLarge]); entry names that
// are absolute, climb out of the package with "..", hold control
// characters or are not UTF-8 ([ErrUnsafePath]); and entries whose names
// are equal after normalisation or case folding ([ErrDuplicate]), so that
// a lookup can never be ambiguous. Archive/zip enforces the declared sizes
// while reading. XML parts are parsed with encoding/xml in strict mode
// under a size, depth and element budget; any DOCTYPE is refused
// ([ErrDTD]), so no entity is ever expanded.
//
// # Producer deviations accepted
//
// Real producers deviate from the standard; what can be read unambiguously
// is accepted:
//   - any XML namespace, or none, on OFD elements (the standard's is
//     http://www.ofdspec.org/2016; "http://www.ofdspec.org" is common);
//     attribute names matched case-insensitively when no exact match exists;
//   - locations written absolute ("/Doc_0/Document.xml"), relative to the
//     referencing part's folder ("Pages/Page_0/Content.xml"), "./"-prefixed,
//     with backslashes, or relative to the package root where the
//     folder-relative reading names no part ([Package.Locate]);
//   - a location whose case differs from the entry's ("TPLS/Tpl_0" for
//     "Tpls/Tpl_0"), since case-folded duplicates are refused;
//   - CJK part names (UTF-8 entry names);
//   - Signatures.xml anywhere in the package, repeated MaxSignId elements
//     (the last counts), Provider given as attributes or as child elements,
//     CheckValue base64 with white space, SignatureDateTime in the forms
//     seen ("20201010151120", "2020-01-25 15:31:56", "20221101092233Z",
//     "20201004072855.302Z", RFC 3339; without a zone it is read as China
//     Standard Time, UTC+8).
//
// Everything else that is ambiguous — two SignedValue elements, two
// References, a Boundary that is not four numbers — is refused with a
// [*PartError] naming the part.
package ofd

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Every error returned by this package wraps one of them,
// most through a [*PartError] naming the part at fault.
var (
	// ErrMalformed reports a package or part that cannot be read: not a
	// ZIP archive, no OFD.xml, XML that is not well formed, a required
	// element missing or repeated.
	ErrMalformed = errors.New("ofd: malformed package")
	// ErrTooLarge reports a package beyond the [Limits]: too many entries,
	// an entry or a total too large, a compression ratio too high, an XML
	// part too large, too deep or with too many elements.
	ErrTooLarge = errors.New("ofd: package exceeds limits")
	// ErrUnsafePath reports an entry name or a location that is absolute,
	// climbs out of the package, or holds control characters.
	ErrUnsafePath = errors.New("ofd: unsafe path")
	// ErrDuplicate reports two entries whose names are equal after
	// normalisation or case folding.
	ErrDuplicate = errors.New("ofd: duplicate entry")
	// ErrDTD reports an XML part with a DOCTYPE (or another directive):
	// entity declarations are never processed.
	ErrDTD = errors.New("ofd: XML document type declarations are not allowed")
	// ErrNotFound reports a location that names no part of the package.
	ErrNotFound = errors.New("ofd: part not found")
	// ErrUnsupported reports something readable but not supported: an
	// XML encoding other than UTF-8, a compression method archive/zip
	// does not know.
	ErrUnsupported = errors.New("ofd: unsupported")
)

// PartError locates an error in a part (or an entry) of the package.
type PartError struct {
	Part string // the part's name in the package, as normalised
	Err  error  // wraps one of the sentinels
}

func (e *PartError) Error() string { return fmt.Sprintf("ofd: %s: %v", quotePart(e.Part), e.Err) }

// Unwrap returns the underlying error, which wraps a sentinel.
func (e *PartError) Unwrap() error { return e.Err }

func quotePart(p string) string {
	if p == "" {
		return "package"
	}
	return fmt.Sprintf("%q", p)
}

// partErr builds a *PartError whose Err wraps sentinel with a detail.
func partErr(part string, sentinel error, format string, args ...any) error {
	return &PartError{Part: part, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// Limits bound what [Open] accepts and how much any part may cost. The zero
// value of each field means its documented default.
type Limits struct {
	// MaxEntries is the most entries (files and folders) a package may
	// have. Default 10,000.
	MaxEntries int
	// MaxEntrySize is the largest uncompressed size an entry may declare.
	// Default 256 MiB.
	MaxEntrySize int64
	// MaxTotalSize is the largest sum of the uncompressed sizes the
	// entries declare. Default 1 GiB.
	MaxTotalSize int64
	// MaxRatio is the highest compression ratio (uncompressed size over
	// compressed size) an entry larger than 1 MiB uncompressed may have.
	// Deflate reaches at most about 1032:1; real XML and fonts stay far
	// below 100:1. Default 200.
	MaxRatio int
	// MaxXMLSize is the largest XML part parsed. Default 16 MiB.
	MaxXMLSize int64
	// MaxXMLDepth is the deepest element nesting accepted. Default 64.
	MaxXMLDepth int
	// MaxXMLElements is the most elements one XML part may hold. Default
	// 200,000.
	MaxXMLElements int
}

// Default limits (see [Limits]).
const (
	DefaultMaxEntries     = 10000
	DefaultMaxEntrySize   = 256 << 20
	DefaultMaxTotalSize   = 1 << 30
	DefaultMaxRatio       = 200
	DefaultMaxXMLSize     = 16 << 20
	DefaultMaxXMLDepth    = 64
	DefaultMaxXMLElements = 200000

	// ratioFloor is the uncompressed size below which MaxRatio is not
	// applied: small entries cost little whatever their ratio.
	ratioFloor = 1 << 20
)

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt(&l.MaxEntries, DefaultMaxEntries)
	def(&l.MaxEntrySize, DefaultMaxEntrySize)
	def(&l.MaxTotalSize, DefaultMaxTotalSize)
	defInt(&l.MaxRatio, DefaultMaxRatio)
	def(&l.MaxXMLSize, DefaultMaxXMLSize)
	defInt(&l.MaxXMLDepth, DefaultMaxXMLDepth)
	defInt(&l.MaxXMLElements, DefaultMaxXMLElements)
	return l
}

// Entry is one file of the package: its normalised name and the ZIP entry
// as found. A writer carrying the part over byte for byte copies
// File.OpenRaw() under File.FileHeader with zip.Writer.CreateRaw.
type Entry struct {
	Name string
	File *zip.File
}

// Package is an opened OFD package. It is safe for concurrent reads.
type Package struct {
	lim     Limits
	entries []Entry
	byName  map[string]int // normalised name → index in entries
	byFold  map[string]int // case-folded name → index in entries

	// Bodies are the DocBody elements of OFD.xml (GB/T 33190 §7.4), in
	// order: one per document of the package.
	Bodies []DocBody
	// Version and DocType are OFD.xml's attributes, as found.
	Version, DocType string
}

// DocBody is one DocBody of OFD.xml (GB/T 33190 §7.4, Table 3).
type DocBody struct {
	// DocRoot is the part name of the document's Document.xml.
	DocRoot string
	// Signatures is the part name of the document's Signatures.xml
	// (§18.1), or "" when the document has none. It may name a missing
	// part: [Package.SignatureList] then reports ErrNotFound.
	Signatures string
}

// Open reads an OFD package held in data under lim (zero fields: defaults)
// and parses its OFD.xml. The returned Package reads data in place; the
// caller must not modify it. Errors wrap [ErrMalformed], [ErrTooLarge],
// [ErrUnsafePath], [ErrDuplicate], [ErrDTD], [ErrNotFound] or
// [ErrUnsupported].
func Open(data []byte, lim Limits) (*Package, error) {
	lim = lim.withDefaults()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are checked below
		return nil, fmt.Errorf("%w: not a ZIP archive: %v", ErrMalformed, err)
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, fmt.Errorf("%w: %d entries, the limit is %d", ErrTooLarge, len(zr.File), lim.MaxEntries)
	}
	p := &Package{lim: lim, byName: make(map[string]int, len(zr.File)), byFold: make(map[string]int, len(zr.File))}
	var total uint64
	for _, f := range zr.File {
		name, dir, err := entryName(f.Name)
		if err != nil {
			return nil, err
		}
		if err := checkSize(f, name, lim); err != nil {
			return nil, err
		}
		if total += f.UncompressedSize64; total > uint64(lim.MaxTotalSize) {
			return nil, fmt.Errorf("%w: entries declare more than %d bytes in all", ErrTooLarge, lim.MaxTotalSize)
		}
		if dir {
			continue
		}
		fold := foldName(name)
		if i, ok := p.byFold[fold]; ok {
			return nil, partErr(name, ErrDuplicate, "the package also holds %q", p.entries[i].File.Name)
		}
		p.byName[name] = len(p.entries)
		p.byFold[fold] = len(p.entries)
		p.entries = append(p.entries, Entry{Name: name, File: f})
	}
	if err := p.readOFD(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkSize applies the size and ratio limits to an entry's declared sizes.
func checkSize(f *zip.File, name string, lim Limits) error {
	size := f.UncompressedSize64
	if size > uint64(lim.MaxEntrySize) {
		return partErr(name, ErrTooLarge, "declares %d bytes uncompressed, the limit is %d", size, lim.MaxEntrySize)
	}
	if size > ratioFloor && size/uint64(lim.MaxRatio) > f.CompressedSize64 {
		return partErr(name, ErrTooLarge, "compression ratio %d:1 (%d bytes from %d) exceeds %d:1", size/max(f.CompressedSize64, 1), size, f.CompressedSize64, lim.MaxRatio)
	}
	if f.Method != zip.Store && f.Method != zip.Deflate {
		return partErr(name, ErrUnsupported, "compression method %d", f.Method)
	}
	return nil
}

// entryName normalises a ZIP entry name: backslashes become slashes, "."
// segments and repeated slashes go. It refuses names that are not UTF-8,
// hold control characters, are absolute (a leading slash or a drive
// letter) or contain "..". dir reports a folder entry.
func entryName(raw string) (name string, dir bool, err error) {
	bad := func(format string, args ...any) error {
		return partErr(raw, ErrUnsafePath, format, args...)
	}
	if !utf8.ValidString(raw) {
		return "", false, bad("entry name is not UTF-8")
	}
	if strings.IndexFunc(raw, unicode.IsControl) >= 0 {
		return "", false, bad("entry name holds a control character")
	}
	s := strings.ReplaceAll(raw, `\`, "/")
	if strings.HasPrefix(s, "/") || (len(s) >= 2 && s[1] == ':') {
		return "", false, bad("absolute entry name")
	}
	dir = strings.HasSuffix(s, "/")
	var segs []string
	for seg := range strings.SplitSeq(s, "/") {
		switch seg {
		case "", ".":
		case "..":
			return "", false, bad("entry name climbs out of the package")
		default:
			segs = append(segs, seg)
		}
	}
	if len(segs) == 0 {
		if dir {
			return "", true, nil
		}
		return "", false, bad("empty entry name")
	}
	return strings.Join(segs, "/"), dir, nil
}

// foldName is the key under which names that differ only in case collide.
func foldName(name string) string { return strings.ToLower(strings.ToUpper(name)) }

// Resolve turns a location found in part base into a part name (GB/T 33190
// §7.2: a location starting with "/" is absolute from the package root;
// others are relative to the folder holding base). Backslashes are read as
// slashes, "." segments dropped and ".." applied; a location that climbs
// out of the package, is empty or holds control characters is refused
// with [ErrUnsafePath] or [ErrMalformed]. Resolve does not check that the
// part exists (see [Package.Locate]).
func Resolve(base, loc string) (string, error) {
	loc = strings.TrimSpace(strings.ReplaceAll(loc, `\`, "/"))
	switch {
	case loc == "":
		return "", partErr(base, ErrMalformed, "empty location")
	case strings.IndexFunc(loc, unicode.IsControl) >= 0 || !utf8.ValidString(loc):
		return "", partErr(base, ErrUnsafePath, "location %q holds a control character or is not UTF-8", loc)
	}
	var segs []string
	if !strings.HasPrefix(loc, "/") {
		if i := strings.LastIndex(base, "/"); i >= 0 {
			segs = strings.Split(base[:i], "/")
		}
	}
	for seg := range strings.SplitSeq(loc, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(segs) == 0 {
				return "", partErr(base, ErrUnsafePath, "location %q climbs out of the package", loc)
			}
			segs = segs[:len(segs)-1]
		default:
			segs = append(segs, seg)
		}
	}
	if len(segs) == 0 {
		return "", partErr(base, ErrMalformed, "location %q names the package root", loc)
	}
	return strings.Join(segs, "/"), nil
}

// Entries returns the package's files (folders left out) in archive order.
// The caller must not modify the slice.
func (p *Package) Entries() []Entry { return p.entries }

// Lookup finds the entry for a part name: the exact normalised name, or
// failing that the one name equal to it under case folding. It returns the
// entry's normalised name.
func (p *Package) Lookup(name string) (string, bool) {
	if i, ok := p.byName[name]; ok {
		return p.entries[i].Name, true
	}
	if i, ok := p.byFold[foldName(name)]; ok {
		return p.entries[i].Name, true
	}
	return "", false
}

// Entry returns the ZIP entry of a part found by [Package.Lookup].
func (p *Package) Entry(name string) (*zip.File, bool) {
	n, ok := p.Lookup(name)
	if !ok {
		return nil, false
	}
	return p.entries[p.byName[n]].File, true
}

// Locate resolves a location found in part base ([Resolve]) and finds its
// part ([Package.Lookup]). A relative location that names no part relative
// to base's folder is tried relative to the package root, as some
// producers write them. The error wraps [ErrNotFound] and names the part
// the location resolves to.
func (p *Package) Locate(base, loc string) (string, error) {
	name, err := Resolve(base, loc)
	if err != nil {
		return "", err
	}
	if n, ok := p.Lookup(name); ok {
		return n, nil
	}
	if rooted, err := Resolve("", loc); err == nil && rooted != name {
		if n, ok := p.Lookup(rooted); ok {
			return n, nil
		}
	}
	return "", partErr(name, ErrNotFound, "named %q in %s", loc, quotePart(base))
}

// find is Locate, except that a location naming no part gives the name it
// resolves to rather than an error: the part is reported missing when read.
func (p *Package) find(base, loc string) (string, error) {
	name, err := p.Locate(base, loc)
	if errors.Is(err, ErrNotFound) {
		return Resolve(base, loc)
	}
	return name, err
}

// OpenPart opens a part for reading, decompressing as it is read.
// archive/zip refuses to deliver more or fewer bytes than the entry
// declares, which [Open] has checked against the limits.
func (p *Package) OpenPart(name string) (io.ReadCloser, error) {
	f, ok := p.Entry(name)
	if !ok {
		return nil, partErr(name, ErrNotFound, "no such entry")
	}
	rc, err := f.Open()
	if err != nil {
		return nil, partErr(name, ErrMalformed, "%v", err)
	}
	return rc, nil
}

// Read returns a part's uncompressed bytes (at most Limits.MaxEntrySize).
func (p *Package) Read(name string) ([]byte, error) {
	return p.read(name, p.lim.MaxEntrySize)
}

// read reads a part of at most limit bytes.
func (p *Package) read(name string, limit int64) ([]byte, error) {
	f, ok := p.Entry(name)
	if !ok {
		return nil, partErr(name, ErrNotFound, "no such entry")
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, partErr(name, ErrTooLarge, "%d bytes, the limit is %d", f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, partErr(name, ErrMalformed, "%v", err)
	}
	defer rc.Close()
	buf := make([]byte, 0, f.UncompressedSize64)
	b := bytes.NewBuffer(buf)
	if _, err := io.Copy(b, io.LimitReader(rc, limit+1)); err != nil {
		return nil, partErr(name, ErrMalformed, "%v", err)
	}
	if int64(b.Len()) > limit {
		return nil, partErr(name, ErrTooLarge, "more than %d bytes", limit)
	}
	return b.Bytes(), nil
}

// readXML reads and parses an XML part.
func (p *Package) readXML(name string) (*node, error) {
	data, err := p.read(name, p.lim.MaxXMLSize)
	if err != nil {
		return nil, err
	}
	return parseXML(name, data, p.lim)
}

// readOFD parses OFD.xml (GB/T 33190 §7.4).
func (p *Package) readOFD() error {
	name, ok := p.Lookup("OFD.xml")
	if !ok {
		return fmt.Errorf("%w: no OFD.xml at the package root", ErrMalformed)
	}
	root, err := p.readXML(name)
	if err != nil {
		return err
	}
	if root.name != "OFD" {
		return partErr(name, ErrMalformed, "root element <%s>, want <OFD>", root.name)
	}
	p.Version, p.DocType = root.attr("Version"), root.attr("DocType")
	for _, b := range root.all("DocBody") {
		docRoot, err := b.one(name, "DocRoot", true)
		if err != nil {
			return err
		}
		var body DocBody
		if body.DocRoot, err = p.Locate(name, docRoot.text); err != nil {
			return err
		}
		sigs, err := b.one(name, "Signatures", false)
		if err != nil {
			return err
		}
		if sigs != nil {
			if body.Signatures, err = p.find(name, sigs.text); err != nil {
				return err
			}
		}
		p.Bodies = append(p.Bodies, body)
	}
	if len(p.Bodies) == 0 {
		return partErr(name, ErrMalformed, "no DocBody")
	}
	return nil
}
