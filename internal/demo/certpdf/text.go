package certpdf

import (
	"strings"

	"github.com/sealpipe/sealpipe/templates/fonts"
)

// Line breaking for Chinese body text: any two ideographs may be broken
// between; a run of Latin letters and digits (an ID number, a date) stays
// whole; closing punctuation never starts a line and opening punctuation
// never ends one (the 避头尾 rules of GB/T 15834-2011 §5.1). A closing
// mark that would start a line instead hangs into the right margin, by at
// most one em.

const (
	noLineStart = "，。、；：？！）》」』】〕〉’”…,.;:?!)]}%"
	noLineEnd   = "（《「『【〔〈‘“([{"
)

// line is one typeset line: its glyphs and how far it is indented, in em.
type line struct {
	glyphs []*fonts.Glyph
	indent float64
}

// wrap breaks a paragraph into lines at most width em wide (not counting
// hanging punctuation); the first line is indented by indent em.
func wrap(gs []*fonts.Glyph, width, indent float64) []line {
	var lines []line
	cur := line{indent: indent}
	used := indent
	for _, tok := range tokens(gs) {
		w := fitWidth(tok)
		if used+w > width && len(cur.glyphs) > 0 {
			lines = append(lines, cur)
			cur, used = line{}, 0
		}
		// A token wider than a whole line (a very long Latin run) is split
		// glyph by glyph.
		for used+w > width && len(tok) > 1 {
			n := 0
			for acc := used; n < len(tok) && acc+tok[n].Advance <= width; n++ {
				acc += tok[n].Advance
			}
			n = max(n, 1)
			cur.glyphs = append(cur.glyphs, tok[:n]...)
			lines = append(lines, cur)
			cur, used = line{}, 0
			tok = tok[n:]
			w = fitWidth(tok)
		}
		cur.glyphs = append(cur.glyphs, tok...)
		used += fonts.Advance(tok)
	}
	if len(cur.glyphs) > 0 {
		lines = append(lines, cur)
	}
	return lines
}

// tokens groups glyphs into units that must not be split across lines:
// opening punctuation, then one ideograph or a whole Latin word, then
// closing punctuation.
func tokens(gs []*fonts.Glyph) [][]*fonts.Glyph {
	var toks [][]*fonts.Glyph
	for i := 0; i < len(gs); {
		j := i
		for j < len(gs)-1 && strings.ContainsRune(noLineEnd, gs[j].Rune) {
			j++
		}
		if isWordRune(gs[j].Rune) {
			for j++; j < len(gs) && isWordRune(gs[j].Rune); j++ {
			}
		} else {
			j++
		}
		for j < len(gs) && strings.ContainsRune(noLineStart, gs[j].Rune) {
			j++
		}
		toks = append(toks, gs[i:j])
		i = j
	}
	return toks
}

// fitWidth is the width a token needs on its line: closing punctuation at
// its end may hang into the margin, up to one em.
func fitWidth(tok []*fonts.Glyph) float64 {
	w, hang := fonts.Advance(tok), 0.0
	for i := len(tok) - 1; i > 0 && strings.ContainsRune(noLineStart, tok[i].Rune); i-- {
		hang += tok[i].Advance
	}
	return w - min(hang, 1)
}

// isWordRune reports whether r belongs to a Latin word or number.
func isWordRune(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-' || r == '_' || r == '/'
}
