package pdfseal

import (
	"bytes"
	"strconv"
)

// This file tokenises content streams (ISO 32000-1 §7.8.2) and CMaps
// (§9.7.5, §9.10.3), whose syntax is that of PDF objects (§7.2, §7.3)
// with operators between them. Every token is bounded by the input: the
// lexer allocates only for the strings and names it returns.

// tokenKind is the kind of a lexical token.
type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokNumber
	tokString // a literal or hexadecimal string, decoded
	tokName   // a name, #xx escapes decoded, without the slash
	tokKeyword
	tokArrayOpen
	tokArrayClose
	tokDictOpen
	tokDictClose
)

// token is one lexical token: num for a number, b for a string, a name or
// a keyword (an operator, true, false, null).
type token struct {
	kind tokenKind
	num  float64
	b    []byte
}

// lexer reads tokens from b.
type lexer struct {
	b []byte
	i int
}

func isWhite(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == 0
}

func isDelimiter(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// skip passes white space and comments (§7.2.3).
func (l *lexer) skip() {
	for l.i < len(l.b) {
		c := l.b[l.i]
		switch {
		case isWhite(c):
			l.i++
		case c == '%':
			for l.i < len(l.b) && l.b[l.i] != '\r' && l.b[l.i] != '\n' {
				l.i++
			}
		default:
			return
		}
	}
}

// next returns the next token; tokEOF at the end.
func (l *lexer) next() token {
	l.skip()
	if l.i >= len(l.b) {
		return token{kind: tokEOF}
	}
	c := l.b[l.i]
	switch {
	case c == '(':
		return token{kind: tokString, b: l.literal()}
	case c == '<' && l.i+1 < len(l.b) && l.b[l.i+1] == '<':
		l.i += 2
		return token{kind: tokDictOpen}
	case c == '>' && l.i+1 < len(l.b) && l.b[l.i+1] == '>':
		l.i += 2
		return token{kind: tokDictClose}
	case c == '<':
		return token{kind: tokString, b: l.hex()}
	case c == '[':
		l.i++
		return token{kind: tokArrayOpen}
	case c == ']':
		l.i++
		return token{kind: tokArrayClose}
	case c == '/':
		l.i++
		return token{kind: tokName, b: decodeName(l.regular())}
	case c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9':
		raw := l.regular()
		return token{kind: tokNumber, num: parseNumber(raw)}
	case isDelimiter(c): // ')', '>', '{', '}' out of place: a keyword of one byte
		l.i++
		return token{kind: tokKeyword, b: l.b[l.i-1 : l.i]}
	}
	return token{kind: tokKeyword, b: l.regular()}
}

// regular returns the run of regular characters at l.i.
func (l *lexer) regular() []byte {
	start := l.i
	for l.i < len(l.b) && !isWhite(l.b[l.i]) && !isDelimiter(l.b[l.i]) {
		l.i++
	}
	return l.b[start:l.i]
}

// parseNumber reads an integer or real (§7.3.3); what does not parse, as
// writers' "--5" or "1.2.3", is 0, as viewers take it.
func parseNumber(raw []byte) float64 {
	if len(raw) > 1 && raw[0] == '-' && raw[1] == '-' { // a doubled sign, as some writers leave it
		raw = raw[1:]
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || v != v || v > 1e30 || v < -1e30 {
		return 0
	}
	return v
}

// decodeName decodes #xx escapes (§7.3.5).
func decodeName(raw []byte) []byte {
	if bytes.IndexByte(raw, '#') < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '#' && i+2 < len(raw) {
			if v, err := strconv.ParseUint(string(raw[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, raw[i])
	}
	return out
}

// literal reads a literal string (§7.3.4.2) at l.i, its escapes decoded;
// an unterminated string runs to the end.
func (l *lexer) literal() []byte {
	l.i++ // (
	var out []byte
	depth := 1
	for l.i < len(l.b) {
		c := l.b[l.i]
		l.i++
		switch c {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return out
			}
		case '\\':
			if l.i >= len(l.b) {
				return out
			}
			e := l.b[l.i]
			l.i++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r': // a line continuation
				if l.i < len(l.b) && l.b[l.i] == '\n' {
					l.i++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.i < len(l.b) && l.b[l.i] >= '0' && l.b[l.i] <= '7'; k++ {
						v = v*8 + int(l.b[l.i]-'0')
						l.i++
					}
					c = byte(v)
				} else {
					c = e // \( \) \\ and an unknown escape, whose backslash is ignored
				}
			}
		case '\r': // an end of line in a string is read as \n (§7.3.4.2)
			if l.i < len(l.b) && l.b[l.i] == '\n' {
				l.i++
			}
			c = '\n'
		}
		out = append(out, c)
	}
	return out
}

// hex reads a hexadecimal string (§7.3.4.3) at l.i: white space ignored,
// an odd last digit followed by 0, other bytes skipped.
func (l *lexer) hex() []byte {
	l.i++ // <
	var out []byte
	half, odd := byte(0), false
	for l.i < len(l.b) {
		c := l.b[l.i]
		l.i++
		var v byte
		switch {
		case c == '>':
			if odd {
				out = append(out, half<<4)
			}
			return out
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			continue
		}
		if odd {
			out = append(out, half<<4|v)
		} else {
			half = v
		}
		odd = !odd
	}
	if odd { // unterminated: what was read, as for a closed string
		out = append(out, half<<4)
	}
	return out
}

// skipInlineImage passes the data of an inline image (§8.9.7) after its
// ID operator: one white-space byte, then the data up to an EI keyword
// that white space precedes and white space, a delimiter or the end
// follows.
func (l *lexer) skipInlineImage() {
	i := l.i + 1
	for i < len(l.b) {
		j := bytes.Index(l.b[i:], []byte("EI"))
		if j < 0 {
			break
		}
		j += i
		if isWhite(l.b[j-1]) && (j+2 == len(l.b) || isWhite(l.b[j+2]) || isDelimiter(l.b[j+2])) {
			l.i = j + 2
			return
		}
		i = j + 2
	}
	l.i = len(l.b)
}
