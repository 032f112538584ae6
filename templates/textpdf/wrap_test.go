package textpdf

import (
	"strings"
	"testing"
)

// glyphsOf shapes s with made-up widths: 1000 for a wide character, 250
// for a space, 500 for anything else.
func glyphsOf(s string) []glyph {
	var gs []glyph
	for _, r := range s {
		w := 500
		switch {
		case wide(r):
			w = 1000
		case r == ' ':
			w = 250
		}
		gs = append(gs, glyph{r: r, width: w})
	}
	return gs
}

func lineText(gs []glyph) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteRune(g.r)
	}
	return b.String()
}

func TestWrap(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		width int
		want  string // the lines, separated by "|"
	}{
		{"empty", "", 3000, ""},
		{"fits", "验章报告", 4000, "验章报告"},
		{"Chinese breaks anywhere", "一二三四五", 3000, "一二三|四五"},
		{"closing punctuation stays on the line", "一二，三四", 2000, "一|二，|三四"},
		{"closing punctuation after a word", "签章SM2，有效", 4000, "签章|SM2，有|效"},
		{"several closing marks", "一二三）。四", 3000, "一二|三）。|四"},
		{"opening punctuation goes with what follows", "一二（三）", 3000, "一二|（三）"},
		{"opening punctuation before a word", "一二三《ABC》", 4500, "一二三|《ABC》"},
		{"Latin breaks at spaces", "ab cd ef", 2500, "ab cd|ef"},
		{"spaces at breaks are dropped", "ab   cd", 1000, "ab|cd"},
		{"leading and trailing spaces", "  一  ", 3000, "一"},
		{"Latin next to Chinese", "签名SM2算法", 3500, "签名SM2|算法"},
		{"long token breaks anywhere", "abcdefghij", 2000, "abcd|efgh|ij"},
		{"no closing punctuation after a split", "abcd.", 2000, "abc|d."},
		{"long token on its own line", "一 abcdefgh", 2000, "一|abcd|efgh"},
		{"digest", strings.Repeat("0123456789abcdef", 4), 16000, strings.Repeat("0123456789abcdef", 2) + "|" + strings.Repeat("0123456789abcdef", 2)},
		{"narrower than a glyph", "一二", 500, "一|二"},
		{"only spaces", "   ", 1000, ""},
		{"only opening punctuation", "（（（", 2000, "（（|（"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, l := range wrap(glyphsOf(tt.text), tt.width) {
				got = append(got, lineText(l))
			}
			if g := strings.Join(got, "|"); g != tt.want {
				t.Errorf("wrap(%q, %d) = %q, want %q", tt.text, tt.width, g, tt.want)
			}
		})
	}
}

// TestWrapInvariants wraps real text at many widths: no line is wider than
// the width (unless it is one glyph), no text is lost, and closing
// punctuation starts no line (unless a token had to be split).
func TestWrapInvariants(t *testing.T) {
	text := strings.Repeat("本报告列出文件中每个电子印章的验证结果（包括签章者证书、签名算法和时间戳）。"+
		"Each seal is checked against its certificate chain, and the digest "+strings.Repeat("0f", 32)+" is compared. ", 3)
	gs := glyphsOf(text)
	for width := 500; width <= 40000; width += 250 {
		lines := wrap(gs, width)
		var all strings.Builder
		for i, l := range lines {
			s := lineText(l)
			all.WriteString(s)
			if w := advance(l); w > width && len(l) > 1 {
				t.Errorf("width %d: line %d %q is %d wide", width, i, s, w)
			}
			if s != strings.TrimSpace(s) {
				t.Errorf("width %d: line %d %q has spaces at an end", width, i, s)
			}
			if width >= 3000 && i > 0 && strings.ContainsAny(s[:len(string([]rune(s)[0]))], noLineStart) {
				t.Errorf("width %d: line %d %q starts with closing punctuation", width, i, s)
			}
		}
		if got, want := all.String(), strings.ReplaceAll(text, " ", ""); strings.ReplaceAll(got, " ", "") != want {
			t.Fatalf("width %d: lines hold %q, want %q", width, got, want)
		}
	}
}
