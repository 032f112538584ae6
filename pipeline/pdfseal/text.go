package pdfseal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode"
	"unicode/utf8"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"golang.org/x/text/unicode/norm"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"
)

// This file finds a keyword on a page: it runs the page's content streams
// (ISO 32000-1 §7.8.2) far enough to know where each character is shown —
// the graphics state's CTM (§8.4.4: cm, q, Q), the text state (§9.3: Tc,
// Tw, Tz, TL, Tf, Ts) and the text and text line matrices (§9.4.2: BT,
// Td, TD, Tm, T*) — and the text of each character from its font
// (font.go): Tj, TJ, ' and " (§9.4.3). Form XObjects (§8.10) the page
// paints with Do are followed, to a depth of maxFormDepth, with their
// /Matrix and /Resources; images, inline ones included, are skipped.
// Nothing is drawn and nothing is clipped: text that the page hides (a
// clip, a white fill, rendering mode 3 of an OCR layer) is found too.
//
// Hostile content is bounded: the decoded bytes of content streams,
// fonts' CMaps and embedded CMaps read in one search (textBudget), the
// operators run, the characters shown, the q nesting and the operand
// stack. Passing a bound stops the search with ErrPlacement.

// Bounds of one keyword search, over every page it reads: decoded content
// and CMap bytes, operators and characters (variables for the tests).
var (
	maxTextBytes  int64 = 64 << 20
	maxTextOps          = 8_000_000
	maxTextGlyphs       = 2_000_000
)

// Bounds of content streams.
const (
	maxFormDepth   = 8
	maxGStateDepth = 256
	maxOperands    = 1024
	maxTJItems     = 1 << 16
)

// textBudget is what a search may still read and run.
type textBudget struct {
	ctx    context.Context
	bytes  int64
	ops    int
	glyphs int
	reuse  []placedGlyph // the last page's glyphs, their room reused for the next
}

func newTextBudget(ctx context.Context) *textBudget {
	return &textBudget{ctx: ctx, bytes: maxTextBytes, ops: maxTextOps, glyphs: maxTextGlyphs}
}

// errBudget reports a search that passed one of its bounds.
var errBudget = errors.New("the keyword search passes its bounds")

// matrix is a transformation matrix [a b c d e f] (§8.3.4).
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n: m applied first.
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
}

// placedGlyph is a character shown on the page: its text and the box of
// its glyph's em square (advance × ascent–descent) in default user space.
type placedGlyph struct {
	text string
	box  box
}

// textState is the text state of the graphics state (§9.3.1).
type textState struct {
	font                                    *pdfFont
	size, charSpace, wordSpace, scale, lead float64
	rise                                    float64
}

type gstate struct {
	ctm matrix
	ts  textState
}

// interp runs content streams for their text.
type interp struct {
	fonts *fontReader
	b     *textBudget
	out   []placedGlyph
	gs    gstate
	stack []gstate
	tm    matrix // text matrix
	tlm   matrix // text line matrix
	forms int    // depth of Form XObjects being run
}

// pageGlyphs returns the characters page n shows, in the order its content
// streams show them, in room the next call reuses.
func pageGlyphs(f *pdffile.File, n int, b *textBudget, fonts *fontReader) ([]placedGlyph, error) {
	d, _, attrs, err := f.Page(n)
	if err != nil {
		return nil, fmt.Errorf("%w: page %d: %v", ErrMalformed, n, err)
	}
	res, _ := resolveDict(f, attrs.Resources)
	data, err := contentData(f, d["Contents"], b)
	if err != nil {
		return nil, err
	}
	in := &interp{fonts: fonts, b: b, gs: gstate{ctm: identity, ts: textState{scale: 1}}, out: b.reuse[:0]}
	err = in.run(data, res)
	b.reuse = in.out
	if err != nil {
		return nil, err
	}
	return in.out, nil
}

// contentData reads and joins a page's content streams (§7.8.2): a stream
// or an array of them, which divide the content at token boundaries. A
// stream that cannot be read shows nothing, as in viewers.
func contentData(f *pdffile.File, contents types.Object, b *textBudget) ([]byte, error) {
	o, err := f.Resolve(contents)
	if err != nil {
		return nil, nil
	}
	streams := types.Array{contents}
	if a, ok := o.(types.Array); ok {
		streams = a[:min(len(a), maxArrayLen)]
	}
	var data []byte
	for _, s := range streams {
		chunk, err := streamText(f, s, b)
		if err != nil {
			return nil, err
		}
		data = append(append(data, chunk...), '\n')
	}
	return data, nil
}

// streamText reads the decoded data of a stream within the budget. Only
// a stream longer than the budget is an error.
func streamText(f *pdffile.File, s types.Object, b *textBudget) ([]byte, error) {
	if _, isRef := s.(types.IndirectRef); !isRef {
		return nil, nil
	}
	_, r, err := f.StreamReader(s)
	if err != nil {
		if errors.Is(err, pdffile.ErrLimit) {
			return nil, fmt.Errorf("%w: %v", errBudget, err)
		}
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, b.bytes+1))
	if int64(len(data)) > b.bytes || errors.Is(err, pdffile.ErrLimit) {
		return nil, fmt.Errorf("%w: more than %d bytes of content", errBudget, maxTextBytes)
	}
	b.bytes -= int64(len(data))
	return data, nil // a stream that breaks off shows what was read
}

// run interprets one content stream with its resources.
func (in *interp) run(data []byte, res types.Dict) error {
	l := &lexer{b: data}
	var ops []token
	var arrays [][]token // the TJ array being read, nested arrays flattened
	depth := 0           // nesting of arrays and dictionaries
	for {
		t := l.next()
		switch t.kind {
		case tokEOF:
			return nil
		case tokArrayOpen:
			if depth++; depth == 1 {
				arrays = append(arrays[:0], nil)
			}
			continue
		case tokArrayClose:
			if depth > 0 {
				if depth--; depth == 0 && len(ops) < maxOperands {
					ops = append(ops, token{kind: tokArrayOpen, num: float64(len(arrays) - 1)})
				}
			}
			continue
		case tokDictOpen:
			depth++
			continue
		case tokDictClose:
			depth = max(0, depth-1)
			continue
		case tokKeyword:
			if depth > 0 {
				continue // true, false, null inside an array or dictionary
			}
		default:
			if depth > 0 {
				if len(arrays) == 1 && len(arrays[0]) < maxTJItems && (t.kind == tokString || t.kind == tokNumber) {
					arrays[0] = append(arrays[0], t)
				}
				continue
			}
			if len(ops) < maxOperands {
				ops = append(ops, t)
			}
			continue
		}
		if in.b.ops--; in.b.ops < 0 {
			return fmt.Errorf("%w: more than %d operators", errBudget, maxTextOps)
		}
		if in.b.ops%4096 == 0 {
			if err := in.b.ctx.Err(); err != nil {
				return err
			}
		}
		var tj []token
		if len(arrays) > 0 {
			tj = arrays[0]
		}
		if err := in.op(string(t.b), ops, tj, res, l); err != nil {
			return err
		}
		ops = ops[:0]
		arrays = arrays[:0]
	}
}

// nums returns the last n operands as numbers, or false.
func nums(ops []token, n int) ([]float64, bool) {
	if len(ops) < n {
		return nil, false
	}
	out := make([]float64, n)
	for i, t := range ops[len(ops)-n:] {
		if t.kind != tokNumber {
			return nil, false
		}
		out[i] = t.num
	}
	return out, true
}

func lastString(ops []token) ([]byte, bool) {
	if len(ops) == 0 || ops[len(ops)-1].kind != tokString {
		return nil, false
	}
	return ops[len(ops)-1].b, true
}

// op runs one operator.
func (in *interp) op(name string, ops, tj []token, res types.Dict, l *lexer) error {
	ts := &in.gs.ts
	switch name {
	case "q":
		if len(in.stack) >= maxGStateDepth {
			return fmt.Errorf("%w: q nested more than %d deep", errBudget, maxGStateDepth)
		}
		in.stack = append(in.stack, in.gs)
	case "Q":
		if n := len(in.stack); n > 0 {
			in.gs, in.stack = in.stack[n-1], in.stack[:n-1]
		}
	case "cm":
		if v, ok := nums(ops, 6); ok {
			in.gs.ctm = matrix(v).mul(in.gs.ctm)
		}
	case "BT":
		in.tm, in.tlm = identity, identity
	case "Tf":
		if v, ok := nums(ops, 1); ok && len(ops) >= 2 && ops[len(ops)-2].kind == tokName {
			ts.size = v[0]
			ts.font = in.font(res, string(ops[len(ops)-2].b))
		}
	case "Tc":
		if v, ok := nums(ops, 1); ok {
			ts.charSpace = v[0]
		}
	case "Tw":
		if v, ok := nums(ops, 1); ok {
			ts.wordSpace = v[0]
		}
	case "Tz":
		if v, ok := nums(ops, 1); ok {
			ts.scale = v[0] / 100
		}
	case "TL":
		if v, ok := nums(ops, 1); ok {
			ts.lead = v[0]
		}
	case "Ts":
		if v, ok := nums(ops, 1); ok {
			ts.rise = v[0]
		}
	case "Td":
		if v, ok := nums(ops, 2); ok {
			in.nextLine(v[0], v[1])
		}
	case "TD":
		if v, ok := nums(ops, 2); ok {
			ts.lead = -v[1]
			in.nextLine(v[0], v[1])
		}
	case "Tm":
		if v, ok := nums(ops, 6); ok {
			in.tm, in.tlm = matrix(v), matrix(v)
		}
	case "T*":
		in.nextLine(0, -ts.lead)
	case "Tj":
		if s, ok := lastString(ops); ok {
			return in.show(s)
		}
	case "'":
		in.nextLine(0, -ts.lead)
		if s, ok := lastString(ops); ok {
			return in.show(s)
		}
	case "\"":
		if v, ok := nums(ops[:max(0, len(ops)-1)], 2); ok {
			ts.wordSpace, ts.charSpace = v[0], v[1]
		}
		in.nextLine(0, -ts.lead)
		if s, ok := lastString(ops); ok {
			return in.show(s)
		}
	case "TJ":
		for _, e := range tj {
			if e.kind == tokString {
				if err := in.show(e.b); err != nil {
					return err
				}
				continue
			}
			// A number moves the next glyph back by thousandths of a text
			// space unit (§9.4.3): horizontally, or down in vertical mode.
			adj := -e.num / 1000 * ts.size
			if ts.font != nil && ts.font.vertical {
				in.tm = matrix{1, 0, 0, 1, 0, adj}.mul(in.tm)
			} else {
				in.tm = matrix{1, 0, 0, 1, adj * ts.scale, 0}.mul(in.tm)
			}
		}
	case "Do":
		if len(ops) > 0 && ops[len(ops)-1].kind == tokName {
			return in.form(res, string(ops[len(ops)-1].b))
		}
	case "ID": // the data of an inline image (BI … ID data EI)
		l.skipInlineImage()
	}
	return nil
}

func (in *interp) nextLine(tx, ty float64) {
	in.tlm = matrix{1, 0, 0, 1, tx, ty}.mul(in.tlm)
	in.tm = in.tlm
}

// font returns the font a /Font resource names; nil for none.
func (in *interp) font(res types.Dict, name string) *pdfFont {
	fonts, err := resolveDict(in.fonts.f, res["Font"])
	if err != nil || fonts == nil {
		return nil
	}
	o, ok := fonts[name]
	if !ok {
		return nil
	}
	return in.fonts.load(o)
}

// show records the glyphs of a shown string and advances the text matrix
// (§9.4.4).
func (in *interp) show(s []byte) error {
	ts := &in.gs.ts
	ft := ts.font
	if ft == nil {
		return nil // no font selected: nothing a reader could show
	}
	// Text space to user space: Trm = [Tfs×Th 0 0 Tfs 0 Trise] × Tm × CTM.
	var err error
	ft.codes(s, func(g shown) {
		if err != nil {
			return
		}
		if in.b.glyphs--; in.b.glyphs < 0 {
			err = fmt.Errorf("%w: more than %d characters", errBudget, maxTextGlyphs)
			return
		}
		w := g.w * ft.scale // in text space units per unit of font size
		trm := matrix{ts.size * ts.scale, 0, 0, ts.size, 0, ts.rise}.mul(in.tm).mul(in.gs.ctm)
		var x0, x1, y0, y1 float64
		if ft.vertical {
			// The vertical origin is at the top centre of the em box
			// (§9.7.4.3, the default /DW2 [880 −1000]).
			x0, x1, y0, y1 = -w/2, w/2, -1, 0
		} else {
			x0, x1, y0, y1 = 0, w, ft.descent, ft.ascent
		}
		in.out = append(in.out, placedGlyph{text: g.text, box: transformedBox(trm, x0, y0, x1, y1)})
		spacing := ts.charSpace
		if g.space {
			spacing += ts.wordSpace
		}
		if ft.vertical {
			in.tm = matrix{1, 0, 0, 1, 0, -ts.size + spacing}.mul(in.tm)
		} else {
			in.tm = matrix{1, 0, 0, 1, (w*ts.size + spacing) * ts.scale, 0}.mul(in.tm)
		}
	})
	return err
}

// transformedBox returns the bounding box of a rectangle under m.
func transformedBox(m matrix, x0, y0, x1, y1 float64) box {
	b := box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range [4][2]float64{{x0, y0}, {x1, y0}, {x0, y1}, {x1, y1}} {
		x, y := m.apply(p[0], p[1])
		b = box{min(b.llx, x), min(b.lly, y), max(b.urx, x), max(b.ury, y)}
	}
	return b
}

// form runs the Form XObject an /XObject resource names (§8.10.1), with
// its /Matrix and its own /Resources (the page's when it has none).
func (in *interp) form(res types.Dict, name string) error {
	if in.forms >= maxFormDepth {
		return nil
	}
	xobjs, err := resolveDict(in.fonts.f, res["XObject"])
	if err != nil || xobjs == nil {
		return nil
	}
	ref := xobjs[name]
	v, err := in.fonts.f.Resolve(ref)
	sd, ok := v.(types.StreamDict)
	if err != nil || !ok || in.fonts.name(sd.Dict["Subtype"]) != "Form" {
		return nil
	}
	data, err := streamText(in.fonts.f, ref, in.b)
	if err != nil || data == nil {
		return err
	}
	formRes := res
	if r, err := resolveDict(in.fonts.f, sd.Dict["Resources"]); err == nil && r != nil {
		formRes = r
	}
	saved, savedStack, tm, tlm := in.gs, in.stack, in.tm, in.tlm
	in.stack = nil
	if m, err := resolveArray(in.fonts.f, sd.Dict["Matrix"]); err == nil && len(m) == 6 {
		var v matrix
		for i, e := range m {
			v[i], _ = in.fonts.number(e)
		}
		in.gs.ctm = v.mul(in.gs.ctm)
	}
	in.forms++
	err = in.run(data, formRes)
	in.forms--
	in.gs, in.stack, in.tm, in.tlm = saved, savedStack, tm, tlm
	return err
}

// findText returns the box, in default user space, of the first
// occurrence of keyword among glyphs whose centre lies in visible: the
// union of the boxes of its characters. White space is ignored on both
// sides (documents often leave spaces out, as positioning, or put them
// in), and both are compared in Unicode normalization form NFKC, so that
// a ligature (ﬁ) matches its letters and a full-width form (（盖章）) its
// ASCII one.
func findText(glyphs []placedGlyph, keyword string, visible box) (box, bool) {
	want := squeeze(norm.NFKC.String(keyword))
	if len(want) == 0 {
		return box{}, false
	}
	type char struct {
		r     rune
		glyph int
	}
	var text []char
	for i, g := range glyphs {
		for _, r := range norm.NFKC.String(g.text) {
			if !unicode.IsSpace(r) {
				text = append(text, char{r, i})
			}
		}
	}
	for start := 0; start+len(want) <= len(text); start++ {
		match := true
		for k, r := range want {
			if text[start+k].r != r {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		first, last := text[start].glyph, text[start+len(want)-1].glyph
		b := glyphs[first].box
		for _, g := range glyphs[first+1 : last+1] {
			b = box{min(b.llx, g.box.llx), min(b.lly, g.box.lly), max(b.urx, g.box.urx), max(b.ury, g.box.ury)}
		}
		cx, cy := (b.llx+b.urx)/2, (b.lly+b.ury)/2
		if cx >= visible.llx && cx <= visible.urx && cy >= visible.lly && cy <= visible.ury {
			return b, true
		}
	}
	return box{}, false
}

// squeeze returns the runes of s that are not white space.
func squeeze(s string) []rune {
	out := make([]rune, 0, utf8.RuneCountInString(s))
	for _, r := range s {
		if !unicode.IsSpace(r) {
			out = append(out, r)
		}
	}
	return out
}
