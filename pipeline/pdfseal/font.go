package pdfseal

//go:generate go run gen_glyphs.go /usr/share/ghostscript/10.00.0/Resource/Init

import (
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	pdffont "github.com/pdfcpu/pdfcpu/pkg/font"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"
)

// pdfFont is what keyword search needs of a font (ISO 32000-1 §9.5–9.10):
// how a shown string splits into character codes, the text of each code
// and its width, and the height of the glyphs. Nothing of the glyphs'
// shapes is read.
type pdfFont struct {
	composite bool // Type0 (§9.7): codes of 1–4 bytes, CIDs
	// Composite fonts: the encoding CMap, embedded (enc) or predefined
	// (split, charset and cidOf from its name, §9.7.5.2).
	enc     *cmap
	split   func(s []byte) int
	charset func(code []byte) (string, bool)
	cidOf   func(code []byte) (uint32, bool)
	cidW    []cidWidth // /W, sorted
	dw      float64    // /DW

	toUnicode *cmap // /ToUnicode (§9.10.3), first choice for every code

	// Simple fonts: the text of each code by the encoding (§9.6.6), the
	// widths (§9.6.2.1), and for a standard 14 font without them its
	// metrics.
	text      [256]string
	firstChar int
	widths    []float64
	missing   float64
	core      string

	vertical        bool    // writing mode 1 (§9.7.4.3)
	ascent, descent float64 // glyph extent above and below the baseline, in text space units per unit of font size
	scale           float64 // glyph space units per text space unit: 0.001, or a Type 3 font's FontMatrix
}

type cidWidth struct {
	lo, hi uint32
	w      float64
}

// A glyph shown: its code's text and its horizontal or vertical
// displacement in glyph space units (§9.2.4).
type shown struct {
	text  string
	w     float64
	space bool // the single-byte code 32, to which word spacing applies (§9.3.3)
}

// codes splits a shown string into its characters (§9.4.3) and calls f
// for each.
func (ft *pdfFont) codes(s []byte, f func(g shown)) {
	for len(s) > 0 {
		n := 1
		if ft.composite {
			if ft.enc != nil {
				n = ft.enc.codeLength(s)
			} else {
				n = ft.split(s)
			}
			n = max(1, min(n, len(s)))
		}
		code := s[:n]
		s = s[n:]
		f(shown{text: ft.textOf(code), w: ft.width(code), space: n == 1 && code[0] == ' '})
	}
}

// textOf returns the Unicode text of a code: by /ToUnicode, else by the
// encoding; U+FFFD when neither says, so that a keyword never matches
// across an unknown character.
func (ft *pdfFont) textOf(code []byte) string {
	if ft.toUnicode != nil {
		if t, ok := ft.toUnicode.unicode(codeValue(code)); ok {
			return t
		}
	}
	switch {
	case !ft.composite:
		if t := ft.text[code[0]]; t != "" {
			return t
		}
	case ft.charset != nil:
		if t, ok := ft.charset(code); ok {
			return t
		}
	}
	return "\uFFFD"
}

// width returns the width of a code in glyph space units.
func (ft *pdfFont) width(code []byte) float64 {
	if !ft.composite {
		c := int(code[0])
		switch i := c - ft.firstChar; {
		case ft.widths != nil && i >= 0 && i < len(ft.widths):
			return ft.widths[i]
		case ft.widths == nil && ft.core != "":
			if w, err := pdffont.CharWidth(ft.core, rune(c)); err == nil {
				return float64(w)
			}
		}
		return ft.missing
	}
	var cid uint32
	var ok bool
	if ft.enc != nil {
		cid, ok = ft.enc.cid(codeValue(code))
	} else {
		cid, ok = ft.cidOf(code)
	}
	if !ok {
		return ft.dw
	}
	i := rangeAt(ft.cidW, cid, func(r cidWidth) uint32 { return r.lo })
	if i >= 0 && cid <= ft.cidW[i].hi {
		return ft.cidW[i].w
	}
	return ft.dw
}

// fontReader loads fonts for one keyword search, each font object once,
// reading its streams (ToUnicode, embedded CMaps) within the search's
// budget.
type fontReader struct {
	f     *pdffile.File
	b     *textBudget
	cache map[int]*pdfFont
}

// maxFonts bounds the font dictionaries one search reads.
const maxFonts = 512

// load reads the font o refers to. A font that cannot be read is not an
// error: its characters have no text and a default width.
func (fr *fontReader) load(o types.Object) *pdfFont {
	ref, isRef := o.(types.IndirectRef)
	if isRef {
		if ft, ok := fr.cache[ref.ObjectNumber.Value()]; ok {
			return ft
		}
	}
	var ft *pdfFont
	if len(fr.cache) < maxFonts {
		if d, err := resolveDict(fr.f, o); err == nil && d != nil {
			ft = fr.font(d)
		}
	}
	if ft == nil {
		ft = &pdfFont{scale: 0.001, missing: 500, ascent: 0.8, descent: -0.2}
	}
	if isRef {
		fr.cache[ref.ObjectNumber.Value()] = ft
	}
	return ft
}

func (fr *fontReader) name(o types.Object) string {
	v, err := fr.f.Resolve(o)
	if n, ok := v.(types.Name); err == nil && ok {
		return string(n)
	}
	return ""
}

func (fr *fontReader) number(o types.Object) (float64, bool) {
	v, err := fr.f.Resolve(o)
	if err != nil {
		return 0, false
	}
	n, ok := number(v)
	return n, ok && !math.IsNaN(n) && !math.IsInf(n, 0)
}

// stream reads a stream's decoded data within the budget and maxCMapBytes.
func (fr *fontReader) stream(o types.Object) []byte {
	if _, isRef := o.(types.IndirectRef); !isRef {
		return nil
	}
	_, r, err := fr.f.StreamReader(o)
	if err != nil {
		return nil
	}
	limit := min(int64(maxCMapBytes), fr.b.bytes)
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil || int64(len(data)) > limit {
		return nil
	}
	fr.b.bytes -= int64(len(data))
	return data
}

func (fr *fontReader) font(d types.Dict) *pdfFont {
	ft := &pdfFont{scale: 0.001, ascent: 0.8, descent: -0.2}
	if tu := fr.stream(d["ToUnicode"]); tu != nil {
		ft.toUnicode = parseCMap(tu)
	}
	if fr.name(d["Subtype"]) == "Type0" {
		fr.composite(ft, d)
		return ft
	}
	fr.simple(ft, d)
	return ft
}

// simple reads a Type 1, TrueType or Type 3 font (§9.6).
func (fr *fontReader) simple(ft *pdfFont, d types.Dict) {
	base := fr.name(d["BaseFont"])
	if i := strings.IndexByte(base, '+'); i == 6 { // a subset tag (§9.6.4)
		base = base[7:]
	}
	desc, _ := resolveDict(fr.f, d["FontDescriptor"])
	fr.metrics(ft, desc)
	ft.missing = 500 // a guess where the font says nothing: better than 0 for centring
	if w, ok := fr.number(desc["MissingWidth"]); ok && w > 0 {
		ft.missing = w
	}
	if fc, ok := fr.number(d["FirstChar"]); ok && fc >= 0 && fc < 256 {
		ft.firstChar = int(fc)
	}
	if ws, err := resolveArray(fr.f, d["Widths"]); err == nil && ws != nil {
		ft.widths = make([]float64, 0, min(len(ws), 256))
		for _, o := range ws[:min(len(ws), 256)] {
			w, _ := fr.number(o)
			ft.widths = append(ft.widths, w)
		}
	} else {
		ft.core = coreFont(base)
	}
	if fr.name(d["Subtype"]) == "Type3" {
		// Glyph space is mapped to text space by the FontMatrix (§9.6.5).
		if m, err := resolveArray(fr.f, d["FontMatrix"]); err == nil && len(m) == 6 {
			if a, ok := fr.number(m[0]); ok && a != 0 && math.Abs(a) < 1 {
				ft.scale = math.Abs(a)
			}
		}
		ft.ascent, ft.descent = 0.8, -0.2
	}

	// The encoding (§9.6.6): a base encoding with /Differences. Without
	// one, the font's own, taken as StandardEncoding for Type 1 fonts and
	// WinAnsiEncoding for TrueType ones (what their producers use); the
	// symbol fonts have none a keyword could match.
	var table *[256]string
	switch {
	case base == "Symbol" || base == "ZapfDingbats":
	case fr.name(d["Subtype"]) == "TrueType":
		table = &winAnsiEncoding
	default:
		table = &standardEncoding
	}
	var diffs types.Array
	enc, _ := fr.f.Resolve(d["Encoding"])
	switch e := enc.(type) {
	case types.Name:
		if t := namedEncoding(string(e)); t != nil {
			table = t
		}
	case types.Dict:
		if t := namedEncoding(fr.name(e["BaseEncoding"])); t != nil {
			table = t
		}
		diffs, _ = resolveArray(fr.f, e["Differences"])
	}
	if table != nil {
		for c, n := range table {
			if n != "" {
				ft.text[c] = glyphText(n)
			}
		}
	}
	code := -1
	for _, o := range diffs[:min(len(diffs), 1024)] {
		v, _ := fr.f.Resolve(o)
		switch x := v.(type) {
		case types.Integer:
			code = int(x)
		case types.Name:
			if code >= 0 && code < 256 {
				ft.text[code] = glyphText(string(x))
				code++
			}
		}
	}
}

// metrics reads the ascent and descent of a font descriptor (§9.8.1) when
// they are sane.
func (fr *fontReader) metrics(ft *pdfFont, desc types.Dict) {
	a, okA := fr.number(desc["Ascent"])
	dd, okD := fr.number(desc["Descent"])
	if okA && okD && a > 0 && a <= 2000 && dd <= 0 && dd >= -1000 {
		ft.ascent, ft.descent = a/1000, dd/1000
	}
}

// namedEncoding returns the table of a predefined simple-font encoding
// (Annex D.2); MacExpertEncoding, whose glyphs no keyword uses, is none.
func namedEncoding(name string) *[256]string {
	switch name {
	case "WinAnsiEncoding":
		return &winAnsiEncoding
	case "MacRomanEncoding":
		return &macRomanEncoding
	case "StandardEncoding":
		return &standardEncoding
	}
	return nil
}

// coreFont returns the standard 14 font (§9.6.2.2) whose metrics stand for
// a font without /Widths: the font itself, or the one an Arial, Times or
// Courier family name is metric-compatible with.
func coreFont(base string) string {
	if pdffont.IsCoreFont(base) {
		return base
	}
	bold := strings.Contains(base, "Bold")
	italic := strings.Contains(base, "Italic") || strings.Contains(base, "Oblique")
	pick := func(family, boldName, italicName, both string) string {
		switch {
		case bold && italic:
			return family + both
		case bold:
			return family + boldName
		case italic:
			return family + italicName
		}
		return family
	}
	switch {
	case strings.HasPrefix(base, "Arial"), strings.HasPrefix(base, "Helvetica"):
		return pick("Helvetica", "-Bold", "-Oblique", "-BoldOblique")
	case strings.HasPrefix(base, "Times"):
		if !bold && !italic {
			return "Times-Roman"
		}
		return pick("Times", "-Bold", "-Italic", "-BoldItalic")
	case strings.HasPrefix(base, "Courier"):
		return pick("Courier", "-Bold", "-Oblique", "-BoldOblique")
	}
	return ""
}

// composite reads a Type0 font (§9.7.6) and its CIDFont (§9.7.4).
func (fr *fontReader) composite(ft *pdfFont, d types.Dict) {
	ft.composite = true
	ft.ascent, ft.descent = 0.88, -0.12 // the ideographic em box of CJK fonts
	ft.dw = 1000
	enc, _ := fr.f.Resolve(d["Encoding"])
	switch e := enc.(type) {
	case types.Name:
		ft.split, ft.charset, ft.cidOf, ft.vertical = predefinedCMap(string(e))
	case types.StreamDict:
		if data := fr.stream(d["Encoding"]); data != nil {
			ft.enc = parseCMap(data)
			ft.vertical = ft.enc.vertical
			if m, ok := fr.number(e.Dict["WMode"]); ok {
				ft.vertical = m == 1
			}
		}
	}
	if ft.enc == nil && ft.split == nil {
		ft.split, ft.charset, ft.cidOf, ft.vertical = predefinedCMap("Identity-H")
	}
	kids, _ := resolveArray(fr.f, d["DescendantFonts"])
	if len(kids) == 0 {
		return
	}
	cid, err := resolveDict(fr.f, kids[0])
	if err != nil || cid == nil {
		return
	}
	desc, _ := resolveDict(fr.f, cid["FontDescriptor"])
	fr.metrics(ft, desc)
	if dw, ok := fr.number(cid["DW"]); ok && dw >= 0 {
		ft.dw = dw
	}
	ft.cidW = fr.cidWidths(cid["W"])
}

// cidWidths reads a /W array (§9.7.4.3): "c [w1 w2 …]" and "cfirst clast
// w" groups, at most maxArrayLen numbers.
func (fr *fontReader) cidWidths(o types.Object) []cidWidth {
	a, err := resolveArray(fr.f, o)
	if err != nil {
		return nil
	}
	var out []cidWidth
	seen := 0
	for i := 0; i < len(a) && seen < maxArrayLen; {
		c, ok := fr.number(a[i])
		if !ok || c < 0 || c > math.MaxUint32 || i+1 >= len(a) {
			break
		}
		v, _ := fr.f.Resolve(a[i+1])
		if list, isList := v.(types.Array); isList {
			for k, e := range list {
				if seen++; seen > maxArrayLen {
					break
				}
				w, _ := fr.number(e)
				out = append(out, cidWidth{uint32(c) + uint32(k), uint32(c) + uint32(k), w})
			}
			i += 2
			continue
		}
		last, ok1 := fr.number(a[i+1])
		if i+2 >= len(a) || !ok1 || last < c || last > math.MaxUint32 {
			break
		}
		w, _ := fr.number(a[i+2])
		out = append(out, cidWidth{uint32(c), uint32(last), w})
		seen++
		i += 3
	}
	slices.SortStableFunc(out, func(a, b cidWidth) int { return int(int64(a.lo) - int64(b.lo)) })
	return out
}

// predefinedCMap returns, for a predefined CMap (§9.7.5.2, table 118), how
// its codes split, the Unicode text of a code where the CMap's character
// set says it (the Unicode CMaps and the national encodings, decoded with
// golang.org/x/text), an approximate CID where the widths need one, and
// the writing mode. The Adobe character collections' CID tables are not
// carried: a code of a national encoding maps to a CID only for ASCII,
// whose CIDs 1–95 are the same in Adobe-GB1, -CNS1, -Japan1 and -Korea1;
// other codes take the font's /DW, the full width of CJK characters.
func predefinedCMap(name string) (split func([]byte) int, charset func([]byte) (string, bool), cidOf func([]byte) (uint32, bool), vertical bool) {
	vertical = strings.HasSuffix(name, "-V")
	asciiCID := func(text func([]byte) (string, bool)) func([]byte) (uint32, bool) {
		return func(code []byte) (uint32, bool) {
			t, ok := text(code)
			if r, n := utf8.DecodeRuneInString(t); ok && n == len(t) && r >= 0x20 && r <= 0x7e {
				return uint32(r) - 0x1f, true
			}
			return 0, false
		}
	}
	two := func(s []byte) int { return 2 }
	decoder := func(e encoding.Encoding) func([]byte) (string, bool) {
		return func(code []byte) (string, bool) {
			b, err := e.NewDecoder().Bytes(code)
			if err != nil || len(b) == 0 || strings.ContainsRune(string(b), utf8.RuneError) {
				return "", false
			}
			return string(b), true
		}
	}
	// Single bytes below 0x80, else two (the EUC and Big5 layouts).
	euc := func(s []byte) int {
		if s[0] < 0x80 {
			return 1
		}
		return 2
	}
	switch {
	case name == "Identity-H" || name == "Identity-V":
		return two, nil, func(code []byte) (uint32, bool) { return codeValue(code), true }, vertical
	case strings.Contains(name, "-UCS2-") || strings.Contains(name, "-UTF16-"):
		split = func(s []byte) int {
			if len(s) >= 4 && s[0] >= 0xd8 && s[0] <= 0xdb {
				return 4
			}
			return 2
		}
		charset = func(code []byte) (string, bool) {
			if len(code)%2 != 0 {
				return "", false
			}
			u := make([]uint16, len(code)/2)
			for i := range u {
				u[i] = uint16(code[2*i])<<8 | uint16(code[2*i+1])
			}
			s := string(utf16.Decode(u))
			return s, !strings.ContainsRune(s, utf8.RuneError)
		}
	case strings.Contains(name, "-UTF8-"):
		split = func(s []byte) int {
			_, n := utf8.DecodeRune(s)
			return n
		}
		charset = func(code []byte) (string, bool) { return string(code), utf8.Valid(code) }
	case strings.Contains(name, "-UTF32-"):
		split = func([]byte) int { return 4 }
		charset = func(code []byte) (string, bool) {
			r := rune(codeValue(code))
			return string(r), len(code) == 4 && utf8.ValidRune(r)
		}
	case strings.HasPrefix(name, "GBK2K"):
		split = func(s []byte) int {
			switch {
			case s[0] < 0x80:
				return 1
			case len(s) >= 2 && s[1] >= 0x30 && s[1] <= 0x39:
				return 4
			}
			return 2
		}
		charset = decoder(simplifiedchinese.GB18030)
	case strings.HasPrefix(name, "GB"): // GB-EUC, GBpc-EUC, GBK-EUC, GBKp-EUC, GBT-EUC, GBTpc-EUC
		split, charset = euc, decoder(simplifiedchinese.GBK)
	case strings.HasPrefix(name, "B5") || strings.HasPrefix(name, "ETen") || strings.HasPrefix(name, "HKscs"):
		split, charset = euc, decoder(traditionalchinese.Big5)
	case strings.Contains(name, "RKSJ"):
		split = func(s []byte) int {
			if s[0] <= 0x80 || s[0] >= 0xa0 && s[0] <= 0xdf {
				return 1
			}
			return 2
		}
		charset = decoder(japanese.ShiftJIS)
	case name == "EUC-H" || name == "EUC-V":
		split = func(s []byte) int {
			switch {
			case s[0] == 0x8f:
				return 3
			case s[0] >= 0x80:
				return 2
			}
			return 1
		}
		charset = decoder(japanese.EUCJP)
	case strings.HasPrefix(name, "KSC"):
		split, charset = euc, decoder(korean.EUCKR)
	default:
		return two, nil, func([]byte) (uint32, bool) { return 0, false }, vertical
	}
	return split, charset, asciiCID(charset), vertical
}

// glyphText returns the Unicode text of a glyph name, following the Adobe
// Glyph List specification: a suffix after a period is dropped, a name of
// components joined by underscores is their texts joined (a ligature), and
// each component is a name of the list, uniXXXX… (groups of four hex
// digits) or uXXXX to uXXXXXX. "" when the name says nothing.
func glyphText(name string) string {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if r, ok := glyphRunes[part]; ok {
			b.WriteRune(r)
			continue
		}
		switch {
		case strings.HasPrefix(part, "uni") && len(part) > 3 && (len(part)-3)%4 == 0:
			for i := 3; i < len(part); i += 4 {
				v, err := strconv.ParseUint(part[i:i+4], 16, 16)
				if err != nil || v >= 0xd800 && v <= 0xdfff {
					return b.String()
				}
				b.WriteRune(rune(v))
			}
		case strings.HasPrefix(part, "u") && len(part) >= 5 && len(part) <= 7:
			v, err := strconv.ParseUint(part[1:], 16, 32)
			if err == nil && utf8.ValidRune(rune(v)) {
				b.WriteRune(rune(v))
			}
		case len(part) == 1 && part[0] > ' ' && part[0] < 0x7f:
			b.WriteString(part)
		}
	}
	return b.String()
}

// glyphRune is glyphText for a name of one character.
func glyphRune(name string) (rune, bool) {
	t := glyphText(name)
	r, n := utf8.DecodeRuneInString(t)
	return r, n > 0 && n == len(t)
}
