package certofd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf16"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/sealpipe/sealpipe/templates/fonts"
)

// The certificate's font is a TrueType font (OpenType 1.9, "glyf" outlines)
// written here from the glyphs certpdf lays out: the outlines fonts.LoadGlyph
// returns, including its Latin stand-ins (fullwidth forms re-spaced to Latin
// widths, which Droid Sans Fallback lacks) and substitutes, mapped from the
// characters the TextCode elements hold. So a reader draws exactly the
// outlines the PDF draws, at the advances the layout used, and finds the
// real characters when searching. Hinting is left out.

// unitsPerEm is the subset's grid: eight times Droid Sans Fallback's 256, so
// every original coordinate stays an integer and the Latin stand-ins'
// re-spacing loses at most 1/4096 em.
const unitsPerEm = 2048

// errCubic is returned for an outline with cubic curves, which TrueType
// cannot hold; Droid Sans Fallback has none.
var errCubic = errors.New("certofd: cubic curve in a TrueType outline")

// ttPoint is a point of a TrueType contour, in font units.
type ttPoint struct {
	x, y int
	on   bool // on the curve, rather than a quadratic control point
}

// ttGlyph is one glyph of the subset.
type ttGlyph struct {
	r        rune
	advance  int
	contours [][]ttPoint
	xMin     int
	yMin     int
	xMax     int
	yMax     int
}

// contourPen collects an outline as TrueType contours.
type contourPen struct {
	contours [][]ttPoint
	err      error
}

func round(p fonts.Point) ttPoint {
	return ttPoint{x: int(math.Round(p.X)), y: int(math.Round(p.Y)), on: true}
}

func (p *contourPen) MoveTo(a fonts.Point) { p.contours = append(p.contours, []ttPoint{round(a)}) }

func (p *contourPen) LineTo(a fonts.Point) { p.add(round(a)) }

func (p *contourPen) QuadTo(c, a fonts.Point) {
	ctrl := round(c)
	ctrl.on = false
	p.add(ctrl, round(a))
}

func (p *contourPen) CubeTo(_, _, a fonts.Point) {
	p.err = errCubic
	p.add(round(a))
}

// ClosePath drops a final point that repeats the first: a TrueType contour
// closes itself.
func (p *contourPen) ClosePath() {
	c := p.contours[len(p.contours)-1]
	if len(c) > 1 && c[len(c)-1] == c[0] {
		p.contours[len(p.contours)-1] = c[:len(c)-1]
	}
}

func (p *contourPen) add(pts ...ttPoint) {
	last := len(p.contours) - 1
	p.contours[last] = append(p.contours[last], pts...)
}

// newTTGlyph converts g to font units.
func newTTGlyph(g *fonts.Glyph) (*ttGlyph, error) {
	pen := &contourPen{}
	g.Draw(pen, fonts.Scale(unitsPerEm, unitsPerEm))
	if pen.err != nil {
		return nil, fmt.Errorf("%w: %q (%U)", pen.err, g.Rune, g.Rune)
	}
	t := &ttGlyph{r: g.Rune, advance: int(math.Round(g.Advance * unitsPerEm)), contours: pen.contours}
	first := true
	for _, c := range t.contours {
		for _, p := range c {
			if first {
				t.xMin, t.xMax, t.yMin, t.yMax = p.x, p.x, p.y, p.y
				first = false
			}
			t.xMin, t.xMax = min(t.xMin, p.x), max(t.xMax, p.x)
			t.yMin, t.yMax = min(t.yMin, p.y), max(t.yMax, p.y)
		}
	}
	return t, nil
}

// points returns how many points the glyph has.
func (t *ttGlyph) points() int {
	n := 0
	for _, c := range t.contours {
		n += len(c)
	}
	return n
}

// encode writes the glyph's "glyf" entry: a simple glyph without
// instructions, coordinates as deltas in their shortest form. A glyph
// without contours has an empty entry.
func (t *ttGlyph) encode(b *bytes.Buffer) {
	if len(t.contours) == 0 {
		return
	}
	be := binary.BigEndian
	var hdr []byte
	hdr = be.AppendUint16(hdr, uint16(len(t.contours)))
	for _, v := range []int{t.xMin, t.yMin, t.xMax, t.yMax} {
		hdr = be.AppendUint16(hdr, uint16(int16(v)))
	}
	end := -1
	for _, c := range t.contours {
		end += len(c)
		hdr = be.AppendUint16(hdr, uint16(end))
	}
	hdr = be.AppendUint16(hdr, 0) // instructionLength
	b.Write(hdr)

	const (
		onCurve = 0x01
		xShort  = 0x02
		yShort  = 0x04
		xSame   = 0x10 // with xShort: the delta is positive
		ySame   = 0x20
	)
	var flags, xs, ys []byte
	coord := func(d int, short, same byte, out []byte) (byte, []byte) {
		switch {
		case d == 0:
			return same, out
		case d > 0 && d <= 255:
			return short | same, append(out, byte(d))
		case d < 0 && d >= -255:
			return short, append(out, byte(-d))
		}
		return 0, be.AppendUint16(out, uint16(int16(d)))
	}
	var px, py int
	for _, c := range t.contours {
		for _, p := range c {
			var f, fx, fy byte
			if p.on {
				f = onCurve
			}
			fx, xs = coord(p.x-px, xShort, xSame, xs)
			fy, ys = coord(p.y-py, yShort, ySame, ys)
			flags = append(flags, f|fx|fy)
			px, py = p.x, p.y
		}
	}
	b.Write(flags)
	b.Write(xs)
	b.Write(ys)
}

// fontFile returns a TrueType font holding the glyphs gs (one per
// character, sorted by character), each mapped from its character, dated
// created.
func fontFile(gs []*fonts.Glyph, created time.Time) ([]byte, error) {
	src, err := fonts.CJK()
	if err != nil {
		return nil, err
	}
	var sb sfnt.Buffer
	srcUPM := fixed.Int26_6(src.UnitsPerEm())
	m, err := src.Metrics(&sb, srcUPM, font.HintingNone)
	if err != nil {
		return nil, fmt.Errorf("certofd: metrics of %s: %w", fonts.Name, err)
	}
	scale := func(v fixed.Int26_6) int { return int(v) * unitsPerEm / int(srcUPM) }
	ascent, descent := scale(m.Ascent), scale(m.Descent)
	lineGap := max(scale(m.Height)-ascent-descent, 0)

	// Glyph 0 is .notdef, empty, half an em wide.
	glyphs := []*ttGlyph{{advance: unitsPerEm / 2}}
	for _, g := range gs {
		t, err := newTTGlyph(g)
		if err != nil {
			return nil, err
		}
		glyphs = append(glyphs, t)
	}

	// glyf and loca (long offsets).
	var glyf bytes.Buffer
	loca := make([]byte, 0, 4*(len(glyphs)+1))
	be := binary.BigEndian
	var xMin, yMin, xMax, yMax, maxPoints, maxContours, advMax int
	minLSB, minRSB, maxExtent := math.MaxInt16, math.MaxInt16, math.MinInt16
	inked := false
	var hmtx []byte
	var advSum, advN int
	for _, t := range glyphs {
		loca = be.AppendUint32(loca, uint32(glyf.Len()))
		t.encode(&glyf)
		for glyf.Len()%4 != 0 {
			glyf.WriteByte(0)
		}
		hmtx = be.AppendUint16(hmtx, uint16(t.advance))
		hmtx = be.AppendUint16(hmtx, uint16(int16(t.xMin)))
		advMax = max(advMax, t.advance)
		if t.advance > 0 {
			advSum += t.advance
			advN++
		}
		if len(t.contours) == 0 {
			continue
		}
		if !inked {
			xMin, yMin, xMax, yMax = t.xMin, t.yMin, t.xMax, t.yMax
			inked = true
		}
		xMin, yMin = min(xMin, t.xMin), min(yMin, t.yMin)
		xMax, yMax = max(xMax, t.xMax), max(yMax, t.yMax)
		maxPoints = max(maxPoints, t.points())
		maxContours = max(maxContours, len(t.contours))
		minLSB = min(minLSB, t.xMin)
		minRSB = min(minRSB, t.advance-t.xMax)
		maxExtent = max(maxExtent, t.xMax)
	}
	loca = be.AppendUint32(loca, uint32(glyf.Len()))
	if !inked {
		minLSB, minRSB, maxExtent = 0, 0, 0
	}
	if glyf.Len() == 0 {
		glyf.Write([]byte{0, 0, 0, 0}) // no table may be empty
	}

	i16 := func(v int) uint16 { return uint16(int16(v)) }
	tables := map[string][]byte{}

	head := be.AppendUint32(nil, 0x00010000) // version
	head = be.AppendUint32(head, 0x00010000) // fontRevision
	head = be.AppendUint32(head, 0)          // checkSumAdjustment, set last
	head = be.AppendUint32(head, 0x5F0F3CF5) // magicNumber
	// Flags: baseline at y=0, left side bearing point at x=0 (hmtx holds
	// each glyph's xMin).
	head = be.AppendUint16(head, 0x0003)
	head = be.AppendUint16(head, unitsPerEm)
	// Seconds since 1904-01-01 UTC.
	stamp := uint64(max(created.Unix()+2082844800, 0))
	head = be.AppendUint64(head, stamp) // created
	head = be.AppendUint64(head, stamp) // modified
	for _, v := range []int{xMin, yMin, xMax, yMax} {
		head = be.AppendUint16(head, i16(v))
	}
	head = be.AppendUint16(head, 0) // macStyle
	head = be.AppendUint16(head, 8) // lowestRecPPEM
	head = be.AppendUint16(head, 2) // fontDirectionHint
	head = be.AppendUint16(head, 1) // indexToLocFormat: long
	head = be.AppendUint16(head, 0) // glyphDataFormat
	tables["head"] = head

	hhea := be.AppendUint32(nil, 0x00010000)
	for _, v := range []int{ascent, -descent, lineGap, advMax, minLSB, minRSB, maxExtent, 1, 0, 0, 0, 0, 0, 0, 0} {
		hhea = be.AppendUint16(hhea, i16(v))
	}
	hhea = be.AppendUint16(hhea, uint16(len(glyphs))) // numberOfHMetrics
	tables["hhea"] = hhea

	maxp := be.AppendUint32(nil, 0x00010000)
	maxp = be.AppendUint16(maxp, uint16(len(glyphs)))
	for _, v := range []int{maxPoints, maxContours, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0} {
		maxp = be.AppendUint16(maxp, uint16(v))
	}
	tables["maxp"] = maxp

	tables["hmtx"] = hmtx
	tables["loca"] = loca
	tables["glyf"] = glyf.Bytes()
	tables["cmap"] = cmap(glyphs)

	names, err := nameTable(src, &sb, gs)
	if err != nil {
		return nil, err
	}
	tables["name"] = names

	pt := src.PostTable()
	post := be.AppendUint32(nil, 0x00030000) // version 3: no glyph names
	post = be.AppendUint32(post, uint32(int32(math.Round(pt.ItalicAngle*65536))))
	post = be.AppendUint16(post, i16(int(pt.UnderlinePosition)*unitsPerEm/int(srcUPM)))
	post = be.AppendUint16(post, i16(int(pt.UnderlineThickness)*unitsPerEm/int(srcUPM)))
	post = be.AppendUint32(post, 0)          // isFixedPitch
	post = append(post, make([]byte, 16)...) // memory use hints
	tables["post"] = post

	first, last := 0xFFFF, 0
	if len(gs) > 0 {
		first, last = min(int(gs[0].Rune), 0xFFFF), min(int(gs[len(gs)-1].Rune), 0xFFFF)
	}
	avg := 0
	if advN > 0 {
		avg = advSum / advN
	}
	em := func(f float64) int { return int(math.Round(f * unitsPerEm)) }
	os2 := be.AppendUint16(nil, 4) // version
	for _, v := range []int{
		avg, 400, 5, 0, // xAvgCharWidth, usWeightClass (regular), usWidthClass (medium), fsType (installable)
		em(0.65), em(0.6), 0, em(0.075), // subscript size and offset
		em(0.65), em(0.6), 0, em(0.35), // superscript
		int(pt.UnderlineThickness) * unitsPerEm / int(srcUPM), em(0.25), // strikeout
		0, // sFamilyClass
	} {
		os2 = be.AppendUint16(os2, i16(v))
	}
	os2 = append(os2, make([]byte, 10)...) // PANOSE: any
	// Unicode ranges: Basic Latin (0), CJK Symbols and Punctuation (48),
	// CJK Unified Ideographs (59), Halfwidth and Fullwidth Forms (68).
	os2 = be.AppendUint32(os2, 1<<0)
	os2 = be.AppendUint32(os2, 1<<(48-32)|1<<(59-32))
	os2 = be.AppendUint32(os2, 1<<(68-64))
	os2 = be.AppendUint32(os2, 0)
	os2 = append(os2, "    "...)     // achVendID: unknown
	os2 = be.AppendUint16(os2, 0x40) // fsSelection: REGULAR
	os2 = be.AppendUint16(os2, uint16(first))
	os2 = be.AppendUint16(os2, uint16(last))
	for _, v := range []int{ascent, -descent, lineGap, max(ascent, yMax), max(descent, -yMin)} {
		os2 = be.AppendUint16(os2, i16(v))
	}
	os2 = be.AppendUint32(os2, 1<<0|1<<18) // code pages: Latin 1, Simplified Chinese (936)
	os2 = be.AppendUint32(os2, 0)
	for _, v := range []int{scale(m.XHeight), scale(m.CapHeight), 0, ' ', 0} {
		os2 = be.AppendUint16(os2, i16(v))
	}
	tables["OS/2"] = os2

	return fonts.AssembleFont(tables), nil
}

// cmap returns a "cmap" table mapping each glyph's character to it: format
// 4 for the Basic Multilingual Plane (Windows Unicode BMP) and format 12
// for all of Unicode, consecutive characters with consecutive glyphs in one
// segment.
func cmap(glyphs []*ttGlyph) []byte {
	type span struct {
		first, last rune
		glyph       int
	}
	var spans []span
	for gid, t := range glyphs[1:] {
		gid++
		if n := len(spans); n > 0 && spans[n-1].last+1 == t.r && spans[n-1].glyph+int(t.r-spans[n-1].first) == gid {
			spans[n-1].last = t.r
			continue
		}
		spans = append(spans, span{t.r, t.r, gid})
	}
	be := binary.BigEndian

	var bmp []span
	for _, s := range spans {
		if s.first > 0xFFFE {
			break
		}
		s.last = min(s.last, 0xFFFE)
		bmp = append(bmp, s)
	}
	bmp = append(bmp, span{0xFFFF, 0xFFFF, 0}) // the required last segment, mapping 0xFFFF to .notdef
	segs := len(bmp)
	searchRange, selector := 2, 0
	for searchRange*2 <= 2*segs {
		searchRange *= 2
		selector++
	}
	f4 := be.AppendUint16(nil, 4)
	f4 = be.AppendUint16(f4, uint16(16+8*segs)) // length
	f4 = be.AppendUint16(f4, 0)                 // language
	f4 = be.AppendUint16(f4, uint16(2*segs))
	f4 = be.AppendUint16(f4, uint16(searchRange))
	f4 = be.AppendUint16(f4, uint16(selector))
	f4 = be.AppendUint16(f4, uint16(2*segs-searchRange))
	for _, s := range bmp {
		f4 = be.AppendUint16(f4, uint16(s.last))
	}
	f4 = be.AppendUint16(f4, 0) // reservedPad
	for _, s := range bmp {
		f4 = be.AppendUint16(f4, uint16(s.first))
	}
	for i, s := range bmp {
		delta := s.glyph - int(s.first)
		if i == len(bmp)-1 {
			delta = 1 // 0xFFFF + 1 wraps to glyph 0
		}
		f4 = be.AppendUint16(f4, uint16(delta))
	}
	for range bmp {
		f4 = be.AppendUint16(f4, 0) // idRangeOffset
	}

	f12 := be.AppendUint16(nil, 12)
	f12 = be.AppendUint16(f12, 0)
	f12 = be.AppendUint32(f12, uint32(16+12*len(spans)))
	f12 = be.AppendUint32(f12, 0) // language
	f12 = be.AppendUint32(f12, uint32(len(spans)))
	for _, s := range spans {
		f12 = be.AppendUint32(f12, uint32(s.first))
		f12 = be.AppendUint32(f12, uint32(s.last))
		f12 = be.AppendUint32(f12, uint32(s.glyph))
	}

	const header = 4 + 2*8
	t := be.AppendUint16(nil, 0) // version
	t = be.AppendUint16(t, 2)
	t = be.AppendUint16(t, 3) // Windows
	t = be.AppendUint16(t, 1) // Unicode BMP
	t = be.AppendUint32(t, header)
	t = be.AppendUint16(t, 3)
	t = be.AppendUint16(t, 10) // Unicode full repertoire
	t = be.AppendUint32(t, uint32(header+len(f4)))
	return slices.Concat(t, f4, f12)
}

// nameTable returns a "name" table with Droid Sans Fallback's names and
// licence (Windows platform, US English). The PostScript name and unique
// identifier get a subset tag derived from the characters, as subset fonts
// conventionally do, so that no reader takes the subset for the whole font.
func nameTable(src *sfnt.Font, b *sfnt.Buffer, gs []*fonts.Glyph) ([]byte, error) {
	tag := subsetTag(gs)
	type record struct {
		id   uint16
		text []uint16
	}
	var recs []record
	for id := sfnt.NameID(0); id <= sfnt.NameIDLicenseURL; id++ {
		s, err := src.Name(b, id)
		if errors.Is(err, sfnt.ErrNotFound) || s == "" {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("certofd: name %d of %s: %w", id, fonts.Name, err)
		}
		switch id {
		case sfnt.NameIDUniqueIdentifier, sfnt.NameIDPostScript:
			s = tag + "+" + s
		}
		recs = append(recs, record{uint16(id), utf16.Encode([]rune(s))})
	}
	be := binary.BigEndian
	t := be.AppendUint16(nil, 0) // format
	t = be.AppendUint16(t, uint16(len(recs)))
	t = be.AppendUint16(t, uint16(6+12*len(recs)))
	var storage []byte
	for _, r := range recs {
		t = be.AppendUint16(t, 3)      // Windows
		t = be.AppendUint16(t, 1)      // Unicode BMP
		t = be.AppendUint16(t, 0x0409) // English (United States)
		t = be.AppendUint16(t, r.id)
		t = be.AppendUint16(t, uint16(2*len(r.text)))
		t = be.AppendUint16(t, uint16(len(storage)))
		for _, u := range r.text {
			storage = be.AppendUint16(storage, u)
		}
	}
	return append(t, storage...), nil
}

// subsetTag is six capital letters derived from the characters of a subset.
func subsetTag(gs []*fonts.Glyph) string {
	h := uint64(14695981039346656037) // FNV-1a
	for _, g := range gs {
		h ^= uint64(g.Rune)
		h *= 1099511628211
	}
	var tag [6]byte
	for i := range tag {
		tag[i] = 'A' + byte(h%26)
		h /= 26
	}
	return string(tag[:])
}
