package pdfseal

import (
	"cmp"
	"slices"
	"unicode/utf16"
)

// A cmap is what keyword search needs of a CMap stream (ISO 32000-1
// §9.7.5, Adobe Technical Note #5014): as a font's /Encoding, its
// codespace ranges, which split a string into character codes, and its
// cidchar/cidrange mappings to CIDs (for the widths, §9.7.4.3); as a
// /ToUnicode CMap (§9.10.3), its bfchar/bfrange mappings to Unicode.
// Mappings are kept as ranges, never expanded, and their number is
// bounded (maxCMapEntries).
type cmap struct {
	space    []codeRange
	uni      []uniRange // sorted by lo
	cids     []cidRange // sorted by lo
	vertical bool       // /WMode 1
}

// codeRange is a codespace range: codes of len(lo) bytes whose every byte
// lies between the bytes of lo and hi (§9.7.6.2).
type codeRange struct{ lo, hi []byte }

// uniRange maps the codes lo..hi to Unicode: with list, code lo+i to
// list[i]; else to base with its last character advanced by code-lo.
type uniRange struct {
	lo, hi uint32
	base   []rune
	list   [][]rune
}

// cidRange maps the codes lo..hi to the CIDs cid..cid+hi-lo.
type cidRange struct{ lo, hi, cid uint32 }

// Bounds on one CMap.
const (
	maxCMapEntries = 100_000 // mappings and codespace ranges
	maxCMapBytes   = 4 << 20 // decoded stream
)

// codeValue reads up to 4 bytes as a big-endian number.
func codeValue(b []byte) uint32 {
	var v uint32
	for _, c := range b[:min(len(b), 4)] {
		v = v<<8 | uint32(c)
	}
	return v
}

// utf16Runes decodes a bfchar/bfrange destination: UTF-16BE, surrogate
// pairs included; an odd length is read as bytes.
func utf16Runes(b []byte) []rune {
	if len(b)%2 == 1 {
		out := make([]rune, len(b))
		for i, c := range b {
			out[i] = rune(c)
		}
		return out
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return utf16.Decode(u)
}

// parseCMap reads the mappings of a CMap stream's data. It is lenient, as
// readers are: what it does not understand it skips, and it stops at
// maxCMapEntries entries.
func parseCMap(data []byte) *cmap {
	c := &cmap{}
	l := &lexer{b: data}
	var operands []token
	entries := 0
	for entries < maxCMapEntries {
		t := l.next()
		switch t.kind {
		case tokEOF:
			c.sort()
			return c
		case tokKeyword:
		default:
			if len(operands) < 64 {
				operands = append(operands, t)
			}
			continue
		}
		switch string(t.b) {
		case "def":
			if len(operands) >= 2 && operands[len(operands)-2].kind == tokName && string(operands[len(operands)-2].b) == "WMode" {
				c.vertical = operands[len(operands)-1].num == 1
			}
		case "begincodespacerange":
			entries += c.codespace(l)
		case "beginbfchar":
			entries += c.bfchar(l)
		case "beginbfrange":
			entries += c.bfrange(l)
		case "begincidchar":
			entries += c.cidchar(l)
		case "begincidrange":
			entries += c.cidrange(l)
		}
		operands = operands[:0]
	}
	c.sort()
	return c
}

func (c *cmap) sort() {
	slices.SortStableFunc(c.uni, func(a, b uniRange) int { return int(int64(a.lo) - int64(b.lo)) })
	slices.SortStableFunc(c.cids, func(a, b cidRange) int { return int(int64(a.lo) - int64(b.lo)) })
}

// item is one operand in a CMap section: a token, or for an array the
// strings it holds.
type item struct {
	token
	list [][]byte
}

// section reads the operands up to the keyword that ends a section, in
// groups of n, calling f for each group; it returns the number of groups.
// Something out of place (another keyword) starts a new group.
func section(l *lexer, end string, n int, f func(g []item)) int {
	var g []item
	count := 0
	for count < maxCMapEntries {
		t := l.next()
		it := item{token: t}
		switch t.kind {
		case tokEOF:
			return count
		case tokKeyword:
			if string(t.b) == end {
				return count
			}
			g = g[:0]
			continue
		case tokArrayOpen:
			for len(it.list) < maxCMapEntries {
				e := l.next()
				if e.kind == tokArrayClose || e.kind == tokEOF {
					break
				}
				if e.kind == tokString {
					it.list = append(it.list, e.b)
				}
			}
			count += len(it.list) / 16 // a long array costs like entries
		}
		g = append(g, it)
		if len(g) == n {
			f(g)
			g = g[:0]
			count++
		}
	}
	return count
}

func (c *cmap) codespace(l *lexer) int {
	return section(l, "endcodespacerange", 2, func(g []item) {
		if g[0].kind == tokString && g[1].kind == tokString && len(g[0].b) == len(g[1].b) && len(g[0].b) >= 1 && len(g[0].b) <= 4 {
			c.space = append(c.space, codeRange{lo: g[0].b, hi: g[1].b})
		}
	})
}

func (c *cmap) bfchar(l *lexer) int {
	return section(l, "endbfchar", 2, func(g []item) {
		if g[0].kind == tokString && len(g[0].b) <= 4 {
			v := codeValue(g[0].b)
			switch g[1].kind {
			case tokString:
				c.uni = append(c.uni, uniRange{lo: v, hi: v, base: utf16Runes(g[1].b)})
			case tokName: // a glyph name, as in some producers' CMaps
				if r, ok := glyphRune(string(g[1].b)); ok {
					c.uni = append(c.uni, uniRange{lo: v, hi: v, base: []rune{r}})
				}
			}
		}
	})
}

func (c *cmap) bfrange(l *lexer) int {
	return section(l, "endbfrange", 3, func(g []item) {
		if g[0].kind != tokString || g[1].kind != tokString || len(g[0].b) > 4 {
			return
		}
		lo, hi := codeValue(g[0].b), codeValue(g[1].b)
		if hi < lo {
			return
		}
		switch g[2].kind {
		case tokString:
			c.uni = append(c.uni, uniRange{lo: lo, hi: hi, base: utf16Runes(g[2].b)})
		case tokArrayOpen:
			list := make([][]rune, 0, len(g[2].list))
			for _, a := range g[2].list {
				list = append(list, utf16Runes(a))
			}
			c.uni = append(c.uni, uniRange{lo: lo, hi: hi, list: list})
		}
	})
}

func (c *cmap) cidchar(l *lexer) int {
	return section(l, "endcidchar", 2, func(g []item) {
		if g[0].kind == tokString && g[1].kind == tokNumber && g[1].num >= 0 {
			v := codeValue(g[0].b)
			c.cids = append(c.cids, cidRange{lo: v, hi: v, cid: uint32(g[1].num)})
		}
	})
}

func (c *cmap) cidrange(l *lexer) int {
	return section(l, "endcidrange", 3, func(g []item) {
		if g[0].kind == tokString && g[1].kind == tokString && g[2].kind == tokNumber && g[2].num >= 0 {
			lo, hi := codeValue(g[0].b), codeValue(g[1].b)
			if hi >= lo {
				c.cids = append(c.cids, cidRange{lo: lo, hi: hi, cid: uint32(g[2].num)})
			}
		}
	})
}

// codeLength returns the length of the code at the start of s (§9.7.6.2):
// the shortest codespace range that matches it, else the length of a
// range its first byte falls in, else 1.
func (c *cmap) codeLength(s []byte) int {
	for n := 1; n <= 4 && n <= len(s); n++ {
		for _, r := range c.space {
			if len(r.lo) == n && inRange(s[:n], r) {
				return n
			}
		}
	}
	for _, r := range c.space {
		if s[0] >= r.lo[0] && s[0] <= r.hi[0] {
			return min(len(r.lo), len(s))
		}
	}
	return 1
}

func inRange(b []byte, r codeRange) bool {
	for i := range b {
		if b[i] < r.lo[i] || b[i] > r.hi[i] {
			return false
		}
	}
	return true
}

// rangeAt returns the index of the range of ranges, sorted by their low
// ends lo, that starts at code (the first such) or else the last one
// starting below it; -1 if none does.
func rangeAt[R any](ranges []R, code uint32, lo func(R) uint32) int {
	i, found := slices.BinarySearchFunc(ranges, code, func(r R, v uint32) int { return cmp.Compare(lo(r), v) })
	if !found {
		i--
	}
	return i
}

// unicode returns the text code maps to, and whether it maps.
func (c *cmap) unicode(code uint32) (string, bool) {
	i := rangeAt(c.uni, code, func(r uniRange) uint32 { return r.lo })
	// Ranges may overlap; look back a little for one that holds code.
	for k := i; k >= 0 && k > i-8; k-- {
		r := c.uni[k]
		if code < r.lo || code > r.hi {
			continue
		}
		off := code - r.lo
		if r.list != nil {
			if int(off) < len(r.list) {
				return string(r.list[off]), true
			}
			return "", false
		}
		if len(r.base) == 0 {
			return "", true
		}
		out := slices.Clone(r.base)
		out[len(out)-1] += rune(off)
		return string(out), true
	}
	return "", false
}

// cid returns the CID code maps to, and whether it maps.
func (c *cmap) cid(code uint32) (uint32, bool) {
	i := rangeAt(c.cids, code, func(r cidRange) uint32 { return r.lo })
	for k := i; k >= 0 && k > i-8; k-- {
		if r := c.cids[k]; code >= r.lo && code <= r.hi {
			return r.cid + code - r.lo, true
		}
	}
	return 0, false
}
