package pdffile

import (
	"bytes"
	"strconv"
	"unsafe"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// fastParse parses the text of one object (§7.3) when it is written in the
// plain syntax nearly every writer uses — dictionaries, arrays, names,
// integers, reals written with a point, references, literal strings, hex
// strings of an even number of digits, true, false, null, separated by
// white space — and returns what pdfcpu's parser returns for the same
// text (model.ParseObjectContext, whose representations this package
// keeps: a literal string as written between its parentheses, a hex
// string in upper case, a name decoded, null entries left out of
// dictionaries). Anything else — comments, other number forms, odd
// syntax pdfcpu reads in its own ways, nesting near the depth limit — makes
// it return false, and the caller asks pdfcpu. FuzzFastParse checks that
// the two agree.
func fastParse(b []byte, maxDepth int) (types.Object, bool) {
	p := fastParser{b: b, maxDepth: maxDepth}
	p.space()
	o, ok := p.value(0)
	if !ok {
		return nil, false
	}
	p.space()
	return o, ok && p.i == len(p.b)
}

type fastParser struct {
	b        []byte
	i        int
	maxDepth int
}

// space skips the white space both parsers agree on.
func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\n', '\r', '\t', '\f', 0:
			p.i++
		default:
			return
		}
	}
}

func isFastSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

// token returns the run of regular characters from p.i, if it ends where
// pdfcpu's number scanner ends it too: at white space, at one of
// / < ( [ ] >, or at the end.
func (p *fastParser) token() ([]byte, bool) {
	j := p.i
	for j < len(p.b) && isRegular(p.b[j]) && p.b[j] < 0x80 && p.b[j] != '\v' {
		j++
	}
	if j == p.i {
		return nil, false
	}
	if j < len(p.b) {
		switch c := p.b[j]; {
		case isFastSpace(c), c == '/', c == '<', c == '(', c == '[', c == ']', c == '>':
		default:
			return nil, false
		}
	}
	t := p.b[p.i:j]
	p.i = j
	return t, true
}

func (p *fastParser) value(depth int) (types.Object, bool) {
	if p.i >= len(p.b) || depth+2 >= p.maxDepth {
		return nil, false
	}
	switch p.b[p.i] {
	case '[':
		p.i++
		a := make(types.Array, 0, 4)
		for {
			p.space()
			if p.i >= len(p.b) {
				return nil, false
			}
			if p.b[p.i] == ']' {
				p.i++
				return a, true
			}
			v, ok := p.value(depth + 1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
		}
	case '<':
		if p.i+1 < len(p.b) && p.b[p.i+1] == '<' {
			p.i += 2
			d := types.Dict{}
			for {
				p.space()
				if p.i+1 < len(p.b) && p.b[p.i] == '>' && p.b[p.i+1] == '>' {
					p.i += 2
					return d, true
				}
				if p.i >= len(p.b) || p.b[p.i] != '/' {
					return nil, false
				}
				k, ok := p.name()
				if !ok {
					return nil, false
				}
				p.space()
				v, ok := p.value(depth + 1)
				if !ok {
					return nil, false
				}
				if v != nil {
					d[string(k)] = v
				}
			}
		}
		k := bytes.IndexByte(p.b[p.i:], '>')
		if k < 0 {
			return nil, false
		}
		h := p.b[p.i+1 : p.i+k]
		if len(h)%2 != 0 {
			return nil, false
		}
		// Upper case, as pdfcpu's parser leaves it: signature dictionaries
		// hold tens of kilobytes of hex, so a byte costs a table look-up.
		up := make([]byte, len(h))
		for i, c := range h {
			if up[i] = upperHex[c]; up[i] == 0 {
				return nil, false
			}
		}
		p.i += k + 1
		// up is not written again: the string can share its bytes rather
		// than copy them (as strings.Builder does).
		return types.HexLiteral(unsafe.String(unsafe.SliceData(up), len(up))), true
	case '(':
		j := skipString(p.b, p.i)
		if j < 0 {
			return nil, false
		}
		s := types.StringLiteral(p.b[p.i+1 : j-1])
		p.i = j
		return s, true
	case '/':
		n, ok := p.name()
		if !ok {
			return nil, false
		}
		return n, true
	}
	t, ok := p.token()
	if !ok {
		return nil, false
	}
	switch string(t) {
	case "true":
		return types.Boolean(true), true
	case "false":
		return types.Boolean(false), true
	case "null":
		return nil, true
	}
	if !isInteger(t) {
		if !isReal(t) {
			return nil, false
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return nil, false
		}
		return types.Float(f), true
	}
	if len(t) > 18 {
		return nil, false // pdfcpu reads integers out of range as 0
	}
	v, err := strconv.Atoi(string(t))
	if err != nil {
		return nil, false
	}
	// "n g R" (§7.3.10), looked for as pdfcpu does: after an integer
	// followed by white space, a second integer followed by white space,
	// then R.
	if p.i >= len(p.b) || !isFastSpace(p.b[p.i]) {
		return types.Integer(v), true // at the end, or at / < ( [ ] >
	}
	after := p.i
	integer := func() (types.Object, bool) {
		p.i = after
		return types.Integer(v), true
	}
	p.space()
	if p.i >= len(p.b) || isTerminator(p.b[p.i]) {
		return integer()
	}
	g, ok := p.token()
	if !ok {
		return nil, false
	}
	if p.i >= len(p.b) || !isFastSpace(p.b[p.i]) {
		return integer()
	}
	if !isInteger(g) {
		return integer()
	}
	if len(g) > 18 {
		return nil, false
	}
	gen, _ := strconv.Atoi(string(g))
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != 'R' {
		if p.i < len(p.b) && (p.b[p.i] == '%' || p.b[p.i] >= 0x80 || p.b[p.i] == '\v') {
			return nil, false
		}
		return integer()
	}
	if p.i+1 < len(p.b) && isRegular(p.b[p.i+1]) {
		return nil, false
	}
	p.i++
	return *types.NewIndirectRef(v, gen), true
}

// isTerminator reports the delimiters that end pdfcpu's number tokens and
// that its reference check stops at.
func isTerminator(c byte) bool {
	return c == '/' || c == '<' || c == '(' || c == '[' || c == ']' || c == '>'
}

// name reads a name (§7.3.5) at p.i, which is '/', up to where pdfcpu ends
// one: white space or one of / < > ( ) [ ] %.
func (p *fastParser) name() (types.Name, bool) {
	j := p.i + 1
	hash := false
	for j < len(p.b) {
		c := p.b[j]
		if isFastSpace(c) || c == '/' || c == '<' || c == '>' || c == '(' || c == ')' || c == '[' || c == ']' || c == '%' {
			break
		}
		if c >= 0x80 || c == '\v' || c == '{' || c == '}' {
			return "", false
		}
		hash = hash || c == '#'
		j++
	}
	n := p.b[p.i+1 : j]
	if len(n) == 0 {
		return "", false
	}
	p.i = j
	if !hash {
		return types.Name(n), true
	}
	s, err := types.DecodeName(string(n))
	if err != nil {
		return "", false
	}
	return types.Name(s), true
}

// upperHex maps a hexadecimal digit to its upper-case form and every
// other byte to 0.
var upperHex = func() (t [256]byte) {
	for _, c := range []byte("0123456789ABCDEF") {
		t[c] = c
	}
	for _, c := range []byte("abcdef") {
		t[c] = c - 'a' + 'A'
	}
	return t
}()

// isInteger matches [+-]?[0-9]+ (§7.3.3), what strconv.Atoi accepts.
func isInteger(t []byte) bool {
	if len(t) > 0 && (t[0] == '+' || t[0] == '-') {
		t = t[1:]
	}
	if len(t) == 0 {
		return false
	}
	for _, c := range t {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// isReal matches [+-]?([0-9]+\.[0-9]*|\.[0-9]+) (§7.3.3).
func isReal(t []byte) bool {
	if len(t) > 0 && (t[0] == '+' || t[0] == '-') {
		t = t[1:]
	}
	dot, digits := false, 0
	for _, c := range t {
		switch {
		case isDigit(c):
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return dot && digits > 0 && len(t) <= 32
}
