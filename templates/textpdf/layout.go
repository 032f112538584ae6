package textpdf

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sealpipe/sealpipe/templates/fonts"
)

// Page geometry, in millimetres from the page's lower-left corner.
const (
	pageWidth  = 210.0 // A4
	pageHeight = 297.0
	margin     = 20.0
	left       = margin
	right      = pageWidth - margin
	top        = pageHeight - margin
	bottom     = margin
	typeWidth  = right - left
	typeHeight = top - bottom

	mmPerPt = 25.4 / 72

	keyWidth = 40.0 // the key column of Rows
	keyGap   = 5.0  // between the key and the value column
	rowGap   = 1.0  // between two rows
)

// style is how a kind of text is set.
type style struct {
	size    float64 // the em, in millimetres
	leading float64 // the distance between baselines, in em
	before  float64 // space above the block, in millimetres, except at the top of a page
	color   Color
	bold    bool
}

// lineHeight is the height of one line, in millimetres.
func (s style) lineHeight() float64 { return s.size * s.leading }

var (
	headingStyle = style{size: 15 * mmPerPt, leading: 1.5, before: 5, bold: true}
	bodyStyle    = style{size: 10.5 * mmPerPt, leading: 1.6, before: 2}
	smallStyle   = style{size: 8 * mmPerPt, leading: 1.5, before: 1.5, color: Grey}
	keyStyle     = style{size: bodyStyle.size, leading: bodyStyle.leading, color: Grey}
	ruleBefore   = 2.0 // space above a rule, and below it
	imageBefore  = 3.0
)

// boldStroke is the width of the outline that thickens bold text, in em.
const boldStroke = 0.035

// page is a finished page: its content stream and the images it draws.
type page struct {
	content int
	images  []imageRef
}

// imageRef is an image XObject and its name in a page's resources.
type imageRef struct {
	name string
	obj  int
}

// typesetter lays blocks out on pages. The current page's content stream
// is the only one held in memory: a page goes into the file, compressed,
// as soon as the next one starts.
type typesetter struct {
	w     *writer
	font  *fontSubset
	block int // index of the block being set, for errors

	// Object numbers reserved up front, so that the first objects of the
	// file are the document's skeleton.
	catalog, pages, info int

	done     []page
	content  bytes.Buffer
	images   []imageRef // the current page's
	imageN   int        // images in the document so far
	y        float64    // top of the free space on the current page
	pageTop  bool       // nothing is on the current page yet
	usesFont bool
}

func newTypesetter() (*typesetter, error) {
	font, err := newFontSubset()
	if err != nil {
		return nil, err
	}
	t := &typesetter{w: newWriter(), font: font}
	t.catalog, t.pages, t.info = t.w.alloc(), t.w.alloc(), t.w.alloc()
	t.startPage()
	return t, nil
}

// startPage begins a new, empty page.
func (t *typesetter) startPage() {
	t.content.Reset()
	t.images = nil
	t.y, t.pageTop = top, true
	// Work in millimetres from here on (§8.3.2.3 user space, §8.4.4 cm).
	t.content.WriteString("2.834646 0 0 2.834646 0 0 cm\n")
}

// endPage writes the current page's content stream.
func (t *typesetter) endPage() error {
	n := t.w.alloc()
	if err := t.w.stream(n, "", t.content.Bytes()); err != nil {
		return err
	}
	t.done = append(t.done, page{content: n, images: t.images})
	return nil
}

// room makes room for something h millimetres high, before millimetres
// below what precedes it, and returns the top of that room. If it does not
// fit on the current page, or keep more millimetres do not fit under it
// (for a heading and the line after it), it goes at the top of the next.
func (t *typesetter) room(before, h, keep float64) (float64, error) {
	if !t.pageTop {
		if t.y-before-h-keep < bottom-1e-9 {
			if err := t.endPage(); err != nil {
				return 0, err
			}
			t.startPage()
		} else {
			t.y -= before
		}
	}
	y := t.y
	t.y -= h
	t.pageTop = false
	return y, nil
}

// typeset lays out one block.
func (t *typesetter) typeset(b Block) error {
	switch b := b.(type) {
	case Heading:
		return t.paragraph(b.Text, headingStyle, bodyStyle.lineHeight())
	case Paragraph:
		st := bodyStyle
		st.color, st.bold = b.Color, b.Bold
		return t.paragraph(b.Text, st, 0)
	case Small:
		return t.paragraph(b.Text, smallStyle, 0)
	case Rows:
		return t.rows(b)
	case Image:
		return t.image(b)
	case Rule:
		y, err := t.room(ruleBefore, 2*ruleBefore, 0)
		if err != nil {
			return err
		}
		y -= ruleBefore
		fmt.Fprintf(&t.content, "q 0.6 0.6 0.6 RG 0.25 w %s %s m %s %s l S Q\n", num(left), num(y), num(right), num(y))
		return nil
	case nil:
		return fmt.Errorf("%w: block %d is nil", ErrInvalid, t.block)
	}
	// A pointer to a block type is a Block too (its method set includes
	// the value's).
	switch b := b.(type) {
	case *Heading:
		if b != nil {
			return t.typeset(*b)
		}
	case *Paragraph:
		if b != nil {
			return t.typeset(*b)
		}
	case *Small:
		if b != nil {
			return t.typeset(*b)
		}
	case *Rows:
		if b != nil {
			return t.typeset(*b)
		}
	case *Image:
		if b != nil {
			return t.typeset(*b)
		}
	case *Rule:
		if b != nil {
			return t.typeset(*b)
		}
	}
	return fmt.Errorf("%w: block %d is a nil %T", ErrInvalid, t.block, b)
}

// paragraph sets text in lines as wide as the type area; keep is how much
// room must remain under each line (for a heading, a line of body text).
func (t *typesetter) paragraph(text string, st style, keep float64) error {
	lines, err := t.lines(text, st, typeWidth)
	if err != nil {
		return err
	}
	for i, l := range lines {
		before := 0.0
		if i == 0 {
			before = st.before
		}
		y, err := t.room(before, st.lineHeight(), keep)
		if err != nil {
			return err
		}
		t.text(l, left, y, st)
	}
	return nil
}

// rows sets a two-column table, line by line, so that a row taller than
// the rest of a page continues on the next.
func (t *typesetter) rows(rows Rows) error {
	valueStyle := bodyStyle
	for i, row := range rows {
		keys, err := t.lines(row[0], keyStyle, keyWidth)
		if err != nil {
			return err
		}
		values, err := t.lines(row[1], valueStyle, typeWidth-keyWidth-keyGap)
		if err != nil {
			return err
		}
		for j := range max(len(keys), len(values)) {
			before := 0.0
			switch {
			case j > 0:
			case i == 0:
				before = bodyStyle.before
			default:
				before = rowGap
			}
			y, err := t.room(before, valueStyle.lineHeight(), 0)
			if err != nil {
				return err
			}
			if j < len(keys) {
				t.text(keys[j], left, y, keyStyle)
			}
			if j < len(values) {
				t.text(values[j], left+keyWidth+keyGap, y, valueStyle)
			}
		}
	}
	return nil
}

// glyph is one character of shaped text.
type glyph struct {
	r     rune
	cid   uint16
	width int // advance, thousandths of an em
}

// lines shapes text in the font and breaks it into lines at most width
// millimetres wide; each newline starts a new line.
func (t *typesetter) lines(text string, st style, width float64) ([][]glyph, error) {
	if !utf8.ValidString(text) {
		return nil, fmt.Errorf("%w: block %d: text is not valid UTF-8", ErrInvalid, t.block)
	}
	limit := int(width / st.size * 1000)
	var lines [][]glyph
	for para := range strings.SplitSeq(text, "\n") {
		gs := make([]glyph, 0, len(para))
		for _, r := range para {
			cid, w, err := t.font.cid(r)
			if err != nil {
				return nil, err
			}
			gs = append(gs, glyph{r: r, cid: cid, width: w})
		}
		lines = append(lines, wrap(gs, limit)...)
	}
	return lines, nil
}

// text draws one line of glyphs from x, in a line box whose top is at y.
// The line box centres the ideographic em box (fonts.IdeoBottom to
// fonts.IdeoTop) vertically.
func (t *typesetter) text(gs []glyph, x, y float64, st style) {
	if len(gs) == 0 {
		return
	}
	t.usesFont = true
	baseline := y - (st.lineHeight()-st.size)/2 - fonts.IdeoTop*st.size
	c := &t.content
	r, g, b := num(float64(st.color.R)/255), num(float64(st.color.G)/255), num(float64(st.color.B)/255)
	fmt.Fprintf(c, "q %s %s %s rg", r, g, b)
	if st.bold {
		// §9.3.6 text rendering mode 2: fill, then stroke, the glyphs.
		fmt.Fprintf(c, " %s %s %s RG %s w 2 Tr", r, g, b, num(boldStroke*st.size))
	}
	// §9.4 text objects; Identity-H codes are the CIDs, two bytes each.
	fmt.Fprintf(c, " BT /F1 %s Tf %s %s Td <", num(st.size), num(x), num(baseline))
	var hex [4]byte
	for _, g := range gs {
		c.Write(strconv.AppendUint(hex[:0], uint64(g.cid)|0x10000, 16)[1:])
	}
	c.WriteString("> Tj ET Q\n")
}

// finish ends the last page and writes the objects that depend on the
// whole document: the font, the pages, the page tree, the catalog and the
// document information dictionary.
func (t *typesetter) finish(d Document) ([]byte, error) {
	if err := t.endPage(); err != nil {
		return nil, err
	}
	w := t.w
	fontRes := ""
	if t.usesFont {
		font := w.alloc()
		if err := t.font.writeFont(w, font); err != nil {
			return nil, err
		}
		fontRes = " /Font << /F1 " + ref(font) + " >>"
	}

	var kids strings.Builder
	for i, p := range t.done {
		n := w.alloc()
		if i > 0 {
			kids.WriteByte(' ')
		}
		kids.WriteString(ref(n))
		var res strings.Builder
		res.WriteString("<<" + fontRes)
		if len(p.images) > 0 {
			res.WriteString(" /XObject <<")
			for _, im := range p.images {
				res.WriteString(" /" + im.name + " " + ref(im.obj))
			}
			res.WriteString(" >>")
		}
		res.WriteString(" >>")
		// §7.7.3.3 page objects.
		w.object(n, fmt.Sprintf("<< /Type /Page /Parent %s /MediaBox [0 0 %s %s] /Resources %s /Contents %s >>",
			ref(t.pages), num(pageWidth/mmPerPt), num(pageHeight/mmPerPt), res.String(), ref(p.content)))
	}
	// §7.7.3.2 the page tree: one node, all pages its kids.
	w.object(t.pages, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), len(t.done)))

	// §7.7.2 the catalog; §14.9.2.1 /Lang.
	catalog := "<< /Type /Catalog /Pages " + ref(t.pages)
	if d.Lang != "" {
		catalog += " /Lang " + textString(d.Lang)
	}
	if d.Title != "" {
		catalog += " /ViewerPreferences << /DisplayDocTitle true >>"
	}
	w.object(t.catalog, catalog+" >>")

	// §14.3.3 the document information dictionary.
	info := "<<"
	for _, e := range []struct{ key, value string }{{"Title", d.Title}, {"Author", d.Author}, {"Subject", d.Subject}} {
		if e.value != "" {
			info += " /" + e.key + " " + textString(e.value)
		}
	}
	info += " /Producer (sealpipe templates/textpdf)"
	if !d.Created.IsZero() {
		info += " /CreationDate " + pdfDate(d.Created)
	}
	w.object(t.info, info+" >>")
	return w.finish(t.catalog, t.info)
}

// Line breaking. Between two Chinese characters a line may break anywhere,
// and between words at spaces; but closing punctuation never starts a line
// and opening punctuation never ends one (the 避头尾 rules of GB/T
// 15834-2011 §5.1, as internal/demo/certpdf has them). A run of characters
// wider than a whole line breaks where the line is full.

const (
	noLineStart = "，。、；：？！）》」』】〕〉’”…,.;:?!)]}%"
	noLineEnd   = "（《「『【〔〈‘“([{"
)

// wide reports whether a line may break before and after r: CJK
// characters and symbols, kana, Hangul and fullwidth forms.
func wide(r rune) bool { return r >= 0x2E80 }

// wrap breaks a line of glyphs into lines at most width thousandths of an
// em wide. Spaces at the ends of the lines it makes are dropped. It always
// returns at least one line, which may be empty.
func wrap(gs []glyph, width int) [][]glyph {
	var lines [][]glyph
	var cur []glyph
	used := 0
	for _, tok := range tokens(gs) {
		w := advance(tok)
		if tok[0].r == ' ' {
			if len(cur) > 0 {
				cur = append(cur, tok...)
				used += w
			}
			continue
		}
		if used+w > width && len(cur) > 0 {
			lines = append(lines, trimSpaces(cur))
			cur, used = nil, 0
		}
		for w > width && len(tok) > 1 {
			n, acc := 0, 0
			for n < len(tok) && acc+tok[n].width <= width {
				acc += tok[n].width
				n++
			}
			// Nor here may closing punctuation start the next line.
			for n > 1 && n < len(tok) && strings.ContainsRune(noLineStart, tok[n].r) {
				n--
			}
			n = max(n, 1)
			lines = append(lines, tok[:n:n])
			tok = tok[n:]
			w = advance(tok)
		}
		cur = append(cur, tok...)
		used += w
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, trimSpaces(cur))
	}
	return lines
}

// tokens splits glyphs into runs of spaces and units no line may break
// inside: opening punctuation, then one wide character or a run of narrow
// ones (a word), then closing punctuation.
func tokens(gs []glyph) [][]glyph {
	var toks [][]glyph
	for i := 0; i < len(gs); {
		j := i
		if gs[i].r == ' ' {
			for j < len(gs) && gs[j].r == ' ' {
				j++
			}
		} else {
			for j < len(gs)-1 && strings.ContainsRune(noLineEnd, gs[j].r) && gs[j+1].r != ' ' {
				j++
			}
			if wide(gs[j].r) {
				j++
			} else {
				for j < len(gs) && gs[j].r != ' ' && !wide(gs[j].r) {
					j++
				}
			}
			for j < len(gs) && strings.ContainsRune(noLineStart, gs[j].r) {
				j++
			}
		}
		toks = append(toks, gs[i:j])
		i = j
	}
	return toks
}

// advance is the width of glyphs, in thousandths of an em.
func advance(gs []glyph) int {
	w := 0
	for _, g := range gs {
		w += g.width
	}
	return w
}

// trimSpaces drops the spaces at the end of a line.
func trimSpaces(gs []glyph) []glyph {
	for len(gs) > 0 && gs[len(gs)-1].r == ' ' {
		gs = gs[:len(gs)-1]
	}
	return gs
}
