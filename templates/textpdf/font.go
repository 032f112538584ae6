package textpdf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

	"golang.org/x/image/font/sfnt"

	"github.com/sealpipe/sealpipe/templates/fonts"
)

// The text is set in a subset of Droid Sans Fallback (fonts.SansTTF),
// embedded as a composite font (ISO 32000-1 §9.7): a Type0 font with the
// Identity-H encoding (§9.7.5.2), so that a string's bytes are two-byte
// CIDs, over a CIDFontType2 descendant (§9.7.4) whose CIDs are the glyph
// indices of the subset font program (/CIDToGIDMap /Identity). The
// program (FontFile2, §9.9) is a TrueType font holding only the glyphs the
// document uses, renumbered from 1 in order of first use, then the
// components of any composite glyph among them. A ToUnicode CMap (§9.10.3)
// maps every CID back to its character, so that text extraction and
// search find the words on the page.
//
// Droid Sans Fallback has no glyphs for printable ASCII apart from the
// space. Like templates/fonts, which draws them with the fullwidth forms
// (U+FF01–U+FF5E) re-spaced to Latin widths, the subset gives each such
// character a glyph of its own: a composite glyph made of the fullwidth
// form moved left by the re-spacing, with the Latin advance. So the page
// looks like the other templates' text, and the ToUnicode CMap maps the
// glyph to the ASCII character, not to its fullwidth form.

// substitutes maps characters the font lacks to the look-alike that
// fonts.Sans draws for them (templates/fonts keeps the same table, which
// TestSubstitutesMatchFonts checks).
var substitutes = map[rune]rune{
	'\u00b7': '\u30fb', // MIDDLE DOT → KATAKANA MIDDLE DOT
}

// fullwidthOffset is what is added to a printable ASCII character to get
// its fullwidth form.
const fullwidthOffset = 0xFF01 - '!'

// ttf is the parsed table directory of the embedded font.
type ttf struct {
	tables     map[string][]byte
	upm        int
	longLoca   bool
	numGlyphs  int
	numHMetric int
}

// TrueType flags of a composite glyph's component (OpenType "glyf" table).
const (
	argWords       = 0x0001 // ARG_1_AND_2_ARE_WORDS
	argsXY         = 0x0002 // ARGS_ARE_XY_VALUES
	haveScale      = 0x0008 // WE_HAVE_A_SCALE
	moreComponents = 0x0020 // MORE_COMPONENTS
	haveXYScale    = 0x0040 // WE_HAVE_AN_X_AND_Y_SCALE
	haveTwoByTwo   = 0x0080 // WE_HAVE_A_TWO_BY_TWO
)

// errFont is wrapped by errors about the embedded font file itself, which
// mean the build is broken rather than the document.
var errFont = errors.New("textpdf: malformed embedded font")

var be = binary.BigEndian

// loadTTF parses the embedded font's table directory once.
var loadTTF = sync.OnceValues(func() (*ttf, error) { return parseTTF(fonts.SansTTF()) })

func parseTTF(b []byte) (*ttf, error) {
	if len(b) < 12 {
		return nil, fmt.Errorf("%w: %d bytes", errFont, len(b))
	}
	n := int(be.Uint16(b[4:]))
	if len(b) < 12+16*n {
		return nil, fmt.Errorf("%w: table directory truncated", errFont)
	}
	f := &ttf{tables: make(map[string][]byte, n)}
	for i := range n {
		r := b[12+16*i:]
		off, size := uint64(be.Uint32(r[8:])), uint64(be.Uint32(r[12:]))
		if off+size > uint64(len(b)) {
			return nil, fmt.Errorf("%w: table %q out of bounds", errFont, r[:4])
		}
		f.tables[string(r[:4])] = b[off : off+size]
	}
	for tag, size := range map[string]int{"head": 54, "hhea": 36, "maxp": 32, "hmtx": 4, "loca": 4, "glyf": 0} {
		if len(f.tables[tag]) < size || f.tables[tag] == nil {
			return nil, fmt.Errorf("%w: table %q missing or short", errFont, tag)
		}
	}
	head := f.tables["head"]
	f.upm = int(be.Uint16(head[18:]))
	f.longLoca = be.Uint16(head[50:]) == 1
	f.numGlyphs = int(be.Uint16(f.tables["maxp"][4:]))
	f.numHMetric = int(be.Uint16(f.tables["hhea"][34:]))
	locaSize := 2
	if f.longLoca {
		locaSize = 4
	}
	if f.upm == 0 || f.numHMetric == 0 || len(f.tables["hmtx"]) < 4*f.numHMetric ||
		len(f.tables["loca"]) < locaSize*(f.numGlyphs+1) {
		return nil, fmt.Errorf("%w: inconsistent head, maxp, hhea, hmtx or loca", errFont)
	}
	return f, nil
}

// glyph returns the "glyf" data of glyph gid; empty for a glyph without
// an outline.
func (f *ttf) glyph(gid int) ([]byte, error) {
	if gid >= f.numGlyphs {
		return nil, fmt.Errorf("%w: glyph %d of %d", errFont, gid, f.numGlyphs)
	}
	loca := f.tables["loca"]
	var start, end int
	if f.longLoca {
		start, end = int(be.Uint32(loca[4*gid:])), int(be.Uint32(loca[4*gid+4:]))
	} else {
		start, end = 2*int(be.Uint16(loca[2*gid:])), 2*int(be.Uint16(loca[2*gid+2:]))
	}
	glyf := f.tables["glyf"]
	switch {
	case start > end || end > len(glyf):
		return nil, fmt.Errorf("%w: glyph %d out of bounds", errFont, gid)
	case start < end && end-start < 10:
		return nil, fmt.Errorf("%w: glyph %d truncated", errFont, gid)
	}
	return glyf[start:end], nil
}

// advance returns glyph gid's advance width in font units.
func (f *ttf) advance(gid int) int {
	return int(be.Uint16(f.tables["hmtx"][4*min(gid, f.numHMetric-1):]))
}

// components returns the offsets, within a composite glyph's data g, of
// its components' glyph indices; none for a simple glyph.
func components(g []byte) ([]int, error) {
	if len(g) == 0 || int16(be.Uint16(g)) >= 0 {
		return nil, nil
	}
	var at []int
	for p := 10; ; {
		if p+4 > len(g) {
			return nil, fmt.Errorf("%w: composite glyph truncated", errFont)
		}
		flags := be.Uint16(g[p:])
		at = append(at, p+2)
		p += 4
		if flags&argWords != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&haveScale != 0:
			p += 2
		case flags&haveXYScale != 0:
			p += 4
		case flags&haveTwoByTwo != 0:
			p += 8
		}
		if p > len(g) {
			return nil, fmt.Errorf("%w: composite glyph truncated", errFont)
		}
		if flags&moreComponents == 0 {
			return at, nil
		}
	}
}

// cidGlyph is one glyph the document's text uses, under its CID.
type cidGlyph struct {
	r     rune // the character it draws
	src   int  // its glyph in the embedded font
	latin bool // a re-spaced fullwidth form: a composite of src moved by dx
	dx    int
	adv   int // advance, font units
	width int // advance in thousandths of an em: the /W entry and the layout's
}

// fontSubset collects the glyphs of a document's text.
type fontSubset struct {
	ttf    *ttf
	sfnt   *sfnt.Font
	buf    sfnt.Buffer
	cids   map[rune]uint16
	glyphs []cidGlyph // indexed by CID; glyphs[0] is .notdef
}

func newFontSubset() (*fontSubset, error) {
	t, err := loadTTF()
	if err != nil {
		return nil, err
	}
	f, err := fonts.Sans.Font()
	if err != nil {
		return nil, fmt.Errorf("textpdf: %w", err)
	}
	return &fontSubset{ttf: t, sfnt: f, cids: make(map[rune]uint16), glyphs: []cidGlyph{{}}}, nil
}

// maxCID is the largest CID a two-byte Identity-H code can hold.
const maxCID = 0xFFFF

// cid returns the CID of r, adding r's glyph to the subset on first use,
// and its advance in thousandths of an em. It accepts exactly the
// characters fonts.Sans draws, with the same advances; for others it
// returns a *GlyphError.
func (s *fontSubset) cid(r rune) (uint16, int, error) {
	if c, ok := s.cids[r]; ok {
		return c, s.glyphs[c].width, nil
	}
	g, err := fonts.Sans.Glyph(r)
	if errors.Is(err, fonts.ErrMissingGlyph) {
		return 0, 0, &GlyphError{Rune: r}
	}
	if err != nil {
		return 0, 0, fmt.Errorf("textpdf: %w", err)
	}
	upm := float64(s.ttf.upm)
	cg := cidGlyph{r: r, adv: int(math.Round(g.Advance * upm))}
	src := r
	if sub, ok := substitutes[r]; ok {
		src = sub
	}
	gid, err := s.sfnt.GlyphIndex(&s.buf, src)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", errFont, err)
	}
	if gid == 0 && r > ' ' && r <= '~' {
		// A Latin stand-in: fonts.Sans moved the fullwidth form's ink
		// from where the font has it to where g has it.
		full, err := fonts.Sans.Glyph(r + fullwidthOffset)
		if err != nil {
			return 0, 0, fmt.Errorf("textpdf: fullwidth form of %q: %w", r, err)
		}
		if gid, err = s.sfnt.GlyphIndex(&s.buf, r+fullwidthOffset); err != nil {
			return 0, 0, fmt.Errorf("%w: %w", errFont, err)
		}
		cg.latin, cg.dx = true, int(math.Round((g.Ink.Min.X-full.Ink.Min.X)*upm))
	}
	if gid == 0 {
		// fonts.Sans drew r from a glyph this package cannot find: the
		// two packages' tables of substitutes differ.
		return 0, 0, &GlyphError{Rune: r}
	}
	if len(s.glyphs) > maxCID {
		return 0, 0, fmt.Errorf("%w: more than %d distinct characters", ErrInvalid, maxCID)
	}
	cg.src = int(gid)
	cg.width = int(math.Round(float64(cg.adv) * 1000 / upm))
	c := uint16(len(s.glyphs))
	s.glyphs = append(s.glyphs, cg)
	s.cids[r] = c
	return c, cg.width, nil
}

// tag is the subset's six-letter tag (§9.6.4), derived from its
// characters so that different subsets get different names.
func (s *fontSubset) tag() string {
	h := sha256.New()
	for _, g := range s.glyphs[1:] {
		h.Write(be.AppendUint32(nil, uint32(g.r)))
	}
	sum := h.Sum(nil)
	var tag [6]byte
	for i := range tag {
		tag[i] = 'A' + sum[i]%26
	}
	return string(tag[:])
}

// program returns the subset TrueType font program: glyph 0 is .notdef,
// glyph i (1 ≤ i < len(s.glyphs)) is CID i's, and the components of
// composite glyphs follow. It also returns the font's bounding box in
// font units.
func (s *fontSubset) program() ([]byte, [4]int, error) {
	t := s.ttf
	type outGlyph struct {
		data []byte
		adv  int
	}
	out := make([]outGlyph, 0, len(s.glyphs))
	newGID := map[int]int{} // source glyph → subset glyph, for components
	queue := []int{}        // source glyphs of out[i] to copy, -1 for glyphs built here
	gidOf := func(src int) int {
		if g, ok := newGID[src]; ok {
			return g
		}
		g := len(queue)
		newGID[src] = g
		queue = append(queue, src)
		return g
	}
	// CIDs first, so that CID i is glyph i; a glyph drawn for two
	// characters is copied twice, which keeps the numbering simple.
	queue = append(queue, 0)
	newGID[0] = 0
	for _, g := range s.glyphs[1:] {
		if g.latin {
			queue = append(queue, -1)
			continue
		}
		if _, ok := newGID[g.src]; !ok {
			newGID[g.src] = len(queue)
		}
		queue = append(queue, g.src)
	}
	synthetic := false
	for i := 0; i < len(queue); i++ {
		if queue[i] < 0 {
			// A Latin stand-in: one component, the fullwidth form, moved
			// by dx (ARGS_ARE_XY_VALUES), with the Latin advance.
			g := s.glyphs[i]
			comp, err := t.glyph(g.src)
			if err != nil {
				return nil, [4]int{}, err
			}
			if len(comp) == 0 {
				out = append(out, outGlyph{adv: g.adv})
				continue
			}
			synthetic = true
			d := make([]byte, 0, 20)
			d = be.AppendUint16(d, 0xFFFF) // numberOfContours -1: composite
			d = be.AppendUint16(d, uint16(int16(be.Uint16(comp[2:]))+int16(g.dx)))
			d = append(d, comp[4:6]...)
			d = be.AppendUint16(d, uint16(int16(be.Uint16(comp[6:]))+int16(g.dx)))
			d = append(d, comp[8:10]...)
			d = be.AppendUint16(d, argWords|argsXY)
			d = be.AppendUint16(d, uint16(gidOf(g.src)))
			d = be.AppendUint16(d, uint16(int16(g.dx)))
			d = be.AppendUint16(d, 0)
			out = append(out, outGlyph{data: d, adv: g.adv})
			continue
		}
		data, err := t.glyph(queue[i])
		if err != nil {
			return nil, [4]int{}, err
		}
		at, err := components(data)
		if err != nil {
			return nil, [4]int{}, err
		}
		if len(at) > 0 {
			data = slices.Clone(data)
			for _, p := range at {
				c := int(be.Uint16(data[p:]))
				if c >= t.numGlyphs {
					return nil, [4]int{}, fmt.Errorf("%w: glyph %d has component %d", errFont, queue[i], c)
				}
				be.PutUint16(data[p:], uint16(gidOf(c)))
			}
		}
		adv := t.advance(queue[i])
		if i < len(s.glyphs) && i > 0 {
			adv = s.glyphs[i].adv
		}
		out = append(out, outGlyph{data: data, adv: adv})
	}
	if len(out) > 0xFFFF {
		return nil, [4]int{}, fmt.Errorf("%w: more than 65535 glyphs", ErrInvalid)
	}

	// glyf, loca (long offsets) and hmtx (a full metric for every glyph,
	// its left side bearing being its xMin).
	var glyf bytes.Buffer
	loca := make([]byte, 0, 4*(len(out)+1))
	hmtx := make([]byte, 0, 4*len(out))
	var bbox [4]int
	inked, advMax := false, 0
	for _, g := range out {
		loca = be.AppendUint32(loca, uint32(glyf.Len()))
		glyf.Write(g.data)
		for glyf.Len()%4 != 0 {
			glyf.WriteByte(0)
		}
		lsb := 0
		if len(g.data) >= 10 {
			var b [4]int
			for j := range b {
				b[j] = int(int16(be.Uint16(g.data[2+2*j:])))
			}
			lsb = b[0]
			if !inked {
				bbox, inked = b, true
			}
			bbox = [4]int{min(bbox[0], b[0]), min(bbox[1], b[1]), max(bbox[2], b[2]), max(bbox[3], b[3])}
		}
		advMax = max(advMax, g.adv)
		hmtx = be.AppendUint16(hmtx, uint16(g.adv))
		hmtx = be.AppendUint16(hmtx, uint16(int16(lsb)))
	}
	loca = be.AppendUint32(loca, uint32(glyf.Len()))
	if glyf.Len() == 0 {
		glyf.Write([]byte{0, 0, 0, 0}) // no table may be empty
	}

	head := slices.Clone(t.tables["head"][:54])
	be.PutUint32(head[8:], 0) // checkSumAdjustment, set by assemble
	for j, v := range bbox {
		be.PutUint16(head[36+2*j:], uint16(int16(v)))
	}
	be.PutUint16(head[50:], 1) // indexToLocFormat: long
	hhea := slices.Clone(t.tables["hhea"][:36])
	be.PutUint16(hhea[10:], uint16(advMax))
	be.PutUint16(hhea[34:], uint16(len(out))) // numberOfHMetrics
	maxp := slices.Clone(t.tables["maxp"][:32])
	be.PutUint16(maxp[4:], uint16(len(out)))
	if synthetic {
		// The stand-ins add a level of nesting above the fullwidth forms.
		be.PutUint16(maxp[28:], max(be.Uint16(maxp[28:]), 1)) // maxComponentElements
		be.PutUint16(maxp[30:], be.Uint16(maxp[30:])+1)       // maxComponentDepth
	}

	tables := map[string][]byte{
		"cmap": s.cmap(),
		"glyf": glyf.Bytes(),
		"head": head,
		"hhea": hhea,
		"hmtx": hmtx,
		"loca": loca,
		"maxp": maxp,
	}
	// The hinting programs the glyphs' instructions may call.
	for _, tag := range []string{"cvt ", "fpgm", "prep"} {
		if b := t.tables[tag]; len(b) > 0 {
			tables[tag] = b
		}
	}
	// "post", which font tools expect, as version 3: no glyph names.
	if post := t.tables["post"]; len(post) >= 32 {
		post = slices.Clone(post[:32])
		be.PutUint32(post, 0x00030000)
		tables["post"] = post
	}
	return fonts.AssembleFont(tables), bbox, nil
}

// cmap returns a "cmap" table mapping each character to its CID's glyph.
// PDF readers do not need it (they map CIDs to glyphs by CIDToGIDMap), but
// it makes the program a font that font tools accept on its own, and maps
// Latin stand-ins to their ASCII characters there too. It has a format 12
// subtable (Windows, full Unicode) and, if its segments fit, a format 4
// one (Windows, BMP); each character is its own segment.
func (s *fontSubset) cmap() []byte {
	var bmp []cidGlyph
	f12 := be.AppendUint16(nil, 12)
	f12 = be.AppendUint16(f12, 0)
	f12 = be.AppendUint32(f12, uint32(16+12*(len(s.glyphs)-1)))
	f12 = be.AppendUint32(f12, 0) // language
	f12 = be.AppendUint32(f12, uint32(len(s.glyphs)-1))
	byRune := slices.Clone(s.glyphs[1:])
	slices.SortFunc(byRune, func(a, b cidGlyph) int { return int(a.r - b.r) })
	for _, g := range byRune {
		f12 = be.AppendUint32(f12, uint32(g.r))
		f12 = be.AppendUint32(f12, uint32(g.r))
		f12 = be.AppendUint32(f12, uint32(s.cids[g.r]))
		if g.r < 0xFFFF {
			bmp = append(bmp, g)
		}
	}
	segs := len(bmp) + 1 // and the required last segment, 0xFFFF
	var f4 []byte
	if 16+8*segs <= 0xFFFF {
		searchRange, selector := 2, 0
		for searchRange*2 <= 2*segs {
			searchRange *= 2
			selector++
		}
		f4 = be.AppendUint16(nil, 4)
		f4 = be.AppendUint16(f4, uint16(16+8*segs)) // length
		f4 = be.AppendUint16(f4, 0)                 // language
		f4 = be.AppendUint16(f4, uint16(2*segs))
		f4 = be.AppendUint16(f4, uint16(searchRange))
		f4 = be.AppendUint16(f4, uint16(selector))
		f4 = be.AppendUint16(f4, uint16(2*segs-searchRange))
		for _, g := range bmp {
			f4 = be.AppendUint16(f4, uint16(g.r)) // endCode
		}
		f4 = be.AppendUint16(f4, 0xFFFF)
		f4 = be.AppendUint16(f4, 0) // reservedPad
		for _, g := range bmp {
			f4 = be.AppendUint16(f4, uint16(g.r)) // startCode
		}
		f4 = be.AppendUint16(f4, 0xFFFF)
		for _, g := range bmp {
			f4 = be.AppendUint16(f4, uint16(int(s.cids[g.r])-int(g.r))) // idDelta, modulo 65536
		}
		f4 = be.AppendUint16(f4, 1)              // 0xFFFF + 1 wraps to glyph 0
		f4 = append(f4, make([]byte, 2*segs)...) // idRangeOffset: none
	}

	n := 1
	if f4 != nil {
		n = 2
	}
	t := be.AppendUint16(nil, 0) // version
	t = be.AppendUint16(t, uint16(n))
	offset := 4 + 8*n
	if f4 != nil {
		t = be.AppendUint16(t, 3) // Windows
		t = be.AppendUint16(t, 1) // Unicode BMP
		t = be.AppendUint32(t, uint32(offset))
		offset += len(f4)
	}
	t = be.AppendUint16(t, 3)  // Windows
	t = be.AppendUint16(t, 10) // Unicode full repertoire
	t = be.AppendUint32(t, uint32(offset))
	return slices.Concat(t, f4, f12)
}

// writeFont writes the Type0 font, object font, with its descendant, font
// descriptor, font program and ToUnicode CMap in new objects.
func (s *fontSubset) writeFont(w *writer, font int) error {
	program, bbox, err := s.program()
	if err != nil {
		return err
	}
	t := s.ttf
	em := func(v int) string { return num(float64(v) * 1000 / float64(t.upm)) }
	name := s.tag() + "+DroidSansFallback"
	cidFont, descriptor, file, toUnicode := w.alloc(), w.alloc(), w.alloc(), w.alloc()

	// §9.7.6.1 Type 0 font dictionary; §9.7.5.2 the predefined CMap
	// Identity-H: two-byte codes, each its own CID.
	w.object(font, fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%s] /ToUnicode %s >>",
		name, ref(cidFont), ref(toUnicode)))

	// §9.7.4 CIDFont dictionary; §9.7.4.3 /W, consecutive CIDs from 1.
	var widths strings.Builder
	for i, g := range s.glyphs[1:] {
		if i > 0 {
			widths.WriteByte(' ')
		}
		widths.WriteString(strconv.Itoa(g.width))
	}
	w.object(cidFont, fmt.Sprintf("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s "+
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "+
		"/FontDescriptor %s /DW 1000 /W [1 [%s]] /CIDToGIDMap /Identity >>",
		name, ref(descriptor), widths.String()))

	// §9.8 font descriptor. Flags 4: symbolic, as the glyphs lie outside
	// the standard Latin set (§9.8.2).
	hhea := t.tables["hhea"]
	ascent, descent := int(int16(be.Uint16(hhea[4:]))), int(int16(be.Uint16(hhea[6:])))
	capHeight := ascent
	if os2 := t.tables["OS/2"]; len(os2) >= 90 && be.Uint16(os2) >= 2 && int16(be.Uint16(os2[88:])) > 0 {
		capHeight = int(int16(be.Uint16(os2[88:])))
	}
	w.object(descriptor, fmt.Sprintf("<< /Type /FontDescriptor /FontName /%s /Flags 4 /FontBBox [%s %s %s %s] "+
		"/ItalicAngle 0 /Ascent %s /Descent %s /CapHeight %s /StemV 80 /FontFile2 %s >>",
		name, em(bbox[0]), em(bbox[1]), em(bbox[2]), em(bbox[3]), em(ascent), em(descent), em(capHeight), ref(file)))

	// §9.9 Table 126: /Length1 is the program's length before compression.
	if err := w.stream(file, fmt.Sprintf("/Length1 %d", len(program)), program); err != nil {
		return err
	}
	return w.stream(toUnicode, "", s.toUnicode())
}

// toUnicode returns the ToUnicode CMap (§9.10.3): each CID, as its
// two-byte code, to its character in UTF-16BE.
func (s *fontSubset) toUnicode() []byte {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	glyphs := s.glyphs[1:]
	for len(glyphs) > 0 {
		// A CMap's bfchar sections hold at most 100 entries each.
		n := min(len(glyphs), 100)
		fmt.Fprintf(&b, "%d beginbfchar\n", n)
		for _, g := range glyphs[:n] {
			fmt.Fprintf(&b, "<%04X> <", s.cids[g.r])
			for _, u := range utf16.Encode([]rune{g.r}) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
		glyphs = glyphs[n:]
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return b.Bytes()
}
