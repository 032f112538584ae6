package pdfseal

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
	"github.com/sealpipe/sealpipe/templates/fonts"
)

// The placement tests' document, made here rather than committed: three
// A4 pages whose text is shown in the ways the keyword search must read.
//
//	page 1: Helvetica (a standard 14 font, WinAnsiEncoding, no /Widths)
//	        with Tc, Tz, a cm and TJ kerning: "Civil Affairs" twice, first
//	        on the top line; Droid Sans Fallback as a Type0 font, Identity-H,
//	        CIDFontType2 embedded (a subset), /W and /ToUnicode, with Tm and
//	        Tc: "发证机关：杭州市民政局" and, 2 em further, "（盖章）".
//	page 2: /Rotate 90, Helvetica set upright for the reader with a
//	        rotated Tm: "… ROTATED …".
//	page 3: a Form XObject with its own /Matrix and /Resources showing
//	        "FORM-MARK", and "SEAL" in a Type 1 font whose /Differences
//	        give codes 1–5 the glyphs S, E, A, L and space.
const (
	a4W, a4H = 595.28, 841.89 // points: 210 × 297 mm
)

var (
	placementDocOnce sync.Once
	placementDocData []byte
	placementDocErr  error
)

// placementDoc returns the document, made once per test binary.
func placementDoc(t testing.TB) []byte {
	t.Helper()
	placementDocOnce.Do(func() { placementDocData, placementDocErr = makePlacementDoc() })
	if placementDocErr != nil {
		t.Fatal(placementDocErr)
	}
	return placementDocData
}

// cjkFont is the CJK font of the document: CIDs are the glyph indices of
// Droid Sans Fallback (CIDToGIDMap /Identity).
type cjkFont struct {
	gids    map[rune]uint16
	widths  map[uint16]int // in 1/1000 em
	program []byte         // a TrueType subset holding the glyphs used
}

func newCJKFont(text string) (*cjkFont, error) {
	f, err := fonts.CJK()
	if err != nil {
		return nil, err
	}
	var buf sfnt.Buffer
	upem := f.UnitsPerEm()
	c := &cjkFont{gids: map[rune]uint16{}, widths: map[uint16]int{}}
	for _, r := range text {
		gi, err := f.GlyphIndex(&buf, r)
		if err != nil || gi == 0 {
			return nil, fmt.Errorf("no glyph for %q: %v", r, err)
		}
		adv, err := f.GlyphAdvance(&buf, gi, fixed.I(int(upem)), 0)
		if err != nil {
			return nil, err
		}
		c.gids[r] = uint16(gi)
		c.widths[uint16(gi)] = int(adv.Round()) * 1000 / int(upem)
	}
	raw, err := os.ReadFile("../../templates/fonts/DroidSansFallbackFull.ttf")
	if err != nil {
		return nil, err
	}
	keep := map[uint16]bool{0: true}
	for _, g := range c.gids {
		keep[g] = true
	}
	c.program, err = subsetTrueType(raw, keep)
	return c, err
}

// hex encodes text as the font's 2-byte codes.
func (c *cjkFont) hex(text string) string {
	var b strings.Builder
	b.WriteByte('<')
	for _, r := range text {
		fmt.Fprintf(&b, "%04X", c.gids[r])
	}
	b.WriteByte('>')
	return b.String()
}

// toUnicode is the font's /ToUnicode CMap (§9.10.3): one bfchar per code.
func (c *cjkFont) toUnicode() string {
	var b strings.Builder
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	runes := make([]rune, 0, len(c.gids))
	for r := range c.gids {
		runes = append(runes, r)
	}
	slices.Sort(runes)
	fmt.Fprintf(&b, "%d beginbfchar\n", len(runes))
	for _, r := range runes {
		fmt.Fprintf(&b, "<%04X> <%04X>\n", c.gids[r], r)
	}
	b.WriteString("endbfchar\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return b.String()
}

// w is the CIDFont's /W array.
func (c *cjkFont) w() string {
	gids := make([]int, 0, len(c.widths))
	for g := range c.widths {
		gids = append(gids, int(g))
	}
	sort.Ints(gids)
	var b strings.Builder
	b.WriteByte('[')
	for _, g := range gids {
		fmt.Fprintf(&b, "%d [%d] ", g, c.widths[uint16(g)])
	}
	b.WriteByte(']')
	return b.String()
}

// subsetTrueType keeps the glyphs of keep (and their components) of a
// TrueType font and the tables a PDF CIDFontType2 needs (head, hhea, maxp,
// hmtx, loca, glyf, cvt, fpgm, prep): every other glyph is left empty.
func subsetTrueType(font []byte, keep map[uint16]bool) ([]byte, error) {
	be := binary.BigEndian
	tables := map[string][]byte{}
	for i := range int(be.Uint16(font[4:])) {
		rec := font[12+16*i:]
		off, n := be.Uint32(rec[8:]), be.Uint32(rec[12:])
		tables[string(rec[:4])] = font[off : off+n]
	}
	head, loca, glyf := slices.Clone(tables["head"]), tables["loca"], tables["glyf"]
	numGlyphs := int(be.Uint16(tables["maxp"][4:]))
	long := be.Uint16(head[50:]) == 1
	at := func(g int) (uint32, uint32) {
		if long {
			return be.Uint32(loca[4*g:]), be.Uint32(loca[4*g+4:])
		}
		return 2 * uint32(be.Uint16(loca[2*g:])), 2 * uint32(be.Uint16(loca[2*g+2:]))
	}
	// Composite glyphs (numberOfContours < 0) keep their components.
	for todo := slices.Collect(func(yield func(uint16) bool) {
		for g := range keep {
			if !yield(g) {
				return
			}
		}
	}); len(todo) > 0; {
		g := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		s, e := at(int(g))
		data := glyf[s:e]
		if len(data) < 10 || int16(be.Uint16(data)) >= 0 {
			continue
		}
		for p := 10; p+4 <= len(data); {
			flags, comp := be.Uint16(data[p:]), be.Uint16(data[p+2:])
			if !keep[comp] {
				keep[comp] = true
				todo = append(todo, comp)
			}
			p += 4
			p += map[bool]int{true: 4, false: 2}[flags&0x0001 != 0]
			switch {
			case flags&0x0008 != 0:
				p += 2
			case flags&0x0040 != 0:
				p += 4
			case flags&0x0080 != 0:
				p += 8
			}
			if flags&0x0020 == 0 {
				break
			}
		}
	}
	var newGlyf []byte
	newLoca := make([]byte, 4*(numGlyphs+1))
	for g := range numGlyphs {
		be.PutUint32(newLoca[4*g:], uint32(len(newGlyf)))
		if keep[uint16(g)] {
			s, e := at(g)
			newGlyf = append(newGlyf, glyf[s:e]...)
			for len(newGlyf)%4 != 0 {
				newGlyf = append(newGlyf, 0)
			}
		}
	}
	be.PutUint32(newLoca[4*numGlyphs:], uint32(len(newGlyf)))
	be.PutUint16(head[50:], 1) // indexToLocFormat: long offsets
	be.PutUint32(head[8:], 0)  // checkSumAdjustment, not recomputed
	out := map[string][]byte{"head": head, "loca": newLoca, "glyf": newGlyf}
	for _, tag := range []string{"hhea", "maxp", "hmtx", "cvt ", "fpgm", "prep"} {
		if d, ok := tables[tag]; ok {
			out[tag] = d
		}
	}
	tags := make([]string, 0, len(out))
	for tag := range out {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	var b bytes.Buffer
	hdr := make([]byte, 12+16*len(tags))
	be.PutUint32(hdr, 0x00010000)
	be.PutUint16(hdr[4:], uint16(len(tags)))
	b.Write(hdr)
	for i, tag := range tags {
		data := out[tag]
		rec := hdr[12+16*i:]
		copy(rec, tag)
		var sum uint32
		padded := append(slices.Clone(data), make([]byte, (4-len(data)%4)%4)...)
		for k := 0; k < len(padded); k += 4 {
			sum += be.Uint32(padded[k:])
		}
		be.PutUint32(rec[4:], sum)
		be.PutUint32(rec[8:], uint32(b.Len()))
		be.PutUint32(rec[12:], uint32(len(data)))
		b.Write(padded)
	}
	res := b.Bytes()
	copy(res, hdr)
	return res, nil
}

func flate(data []byte) []byte {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

func streamObj(dict string, data []byte) string {
	return fmt.Sprintf("<<%s/Length %d>>\nstream\n%s\nendstream", dict, len(data), data)
}

func makePlacementDoc() ([]byte, error) {
	const cjkLine, cjkKeyword = "发证机关：杭州市民政局", "（盖章）"
	cjk, err := newCJKFont(cjkLine + cjkKeyword)
	if err != nil {
		return nil, err
	}
	page1 := fmt.Sprintf(`BT /F1 12 Tf 0.3 Tc 95 Tz 72 770 Td (Issued under the seal of the ) Tj (Civil Affairs Bureau.) Tj ET
q 1 0 0 1 0 -10 cm
BT /F1 12 Tf 72 740 Td [(Second mention: Civil) -250 (Affairs.)] TJ ET
Q
BT /F2 16 Tf 1 0 0 1 72 680 Tm 1 Tc [%s -2000 %s] TJ ET
`, cjk.hex(cjkLine), cjk.hex(cjkKeyword))
	page2 := "BT /F1 14 Tf 0 1 -1 0 300 100 Tm (Rotated page: the ROTATED mark reads upright.) Tj ET\n"
	page3 := "q 1 0 0 1 100 300 cm /Fx Do Q\nBT /F3 20 Tf 72 500 Td <0102030405> Tj /F1 12 Tf (Page 3.) Tj ET\n"
	form := "BT /F1 11 Tf 10 10 Td (Annex: FORM-MARK) Tj ET"
	page := func(content int, extra string) string {
		return fmt.Sprintf("<</Type/Page/Parent 2 0 R/MediaBox[0 0 %g %g]/Contents %d 0 R%s>>", a4W, a4H, content, extra)
	}
	objs := []string{
		"<</Type/Catalog/Pages 2 0 R>>",
		"<</Type/Pages/Count 3/Kids[3 0 R 4 0 R 5 0 R]>>",
		page(11, "/Resources<</Font<</F1 6 0 R/F2 7 0 R>>>>"),
		page(12, "/Rotate 90/Resources<</Font<</F1 6 0 R>>>>"),
		page(13, "/Resources<</Font<</F1 6 0 R/F3 8 0 R>>/XObject<</Fx 14 0 R>>>>"),
		"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
		"<</Type/Font/Subtype/Type0/BaseFont/DroidSansFallback/Encoding/Identity-H/DescendantFonts[9 0 R]/ToUnicode 10 0 R>>",
		"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/FirstChar 1/LastChar 5/Widths[667 667 667 556 278]/Encoding<</Type/Encoding/BaseEncoding/WinAnsiEncoding/Differences[1/S/E/A/L/space]>>>>",
		fmt.Sprintf("<</Type/Font/Subtype/CIDFontType2/BaseFont/DroidSansFallback/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>/FontDescriptor 15 0 R/DW 1000/W %s/CIDToGIDMap/Identity>>", cjk.w()),
		streamObj("", []byte(cjk.toUnicode())),
		streamObj("", []byte(page1)),
		streamObj("", []byte(page2)),
		streamObj("", []byte(page3)),
		streamObj("/Type/XObject/Subtype/Form/BBox[0 0 400 100]/Matrix[1 0 0 1 0 50]/Resources<</Font<</F1 6 0 R>>>>", []byte(form)),
		"<</Type/FontDescriptor/FontName/DroidSansFallback/Flags 4/FontBBox[-100 -250 1100 1000]/ItalicAngle 0/Ascent 880/Descent -120/CapHeight 700/StemV 80/FontFile2 16 0 R>>",
		streamObj(fmt.Sprintf("/Filter/FlateDecode/Length1 %d", len(cjk.program)), flate(cjk.program)),
	}
	return pdfsealtest.Build(objs, "/Root 1 0 R"), nil
}
