package pdffile

import (
	"bytes"
	"encoding/binary"
)

// Lexical helpers over byte slices (ISO 32000-1 §7.2).

// isSpace reports the white-space characters of §7.2.2, table 1.
func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

// isDelim reports the delimiter characters of §7.2.2, table 2.
func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// isRegular reports the regular characters: neither white space nor
// delimiters.
func isRegular(c byte) bool { return !isSpace(c) && !isDelim(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipSpace skips white space and comments (§7.2.3) from i. complete is
// false when a comment runs to the end of b, so that more bytes might
// extend it.
func skipSpace(b []byte, i int) (j int, complete bool) {
	for i < len(b) {
		switch c := b[i]; {
		case isSpace(c):
			i++
		case c == '%':
			k := bytes.IndexAny(b[i:], "\r\n")
			if k < 0 {
				return len(b), false
			}
			i += k
		default:
			return i, true
		}
	}
	return i, true
}

// skipWhite skips white space only, no comments.
func skipWhite(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// regularEnd returns the end of the run of regular characters from i.
func regularEnd(b []byte, i int) int {
	for i < len(b) && isRegular(b[i]) {
		i++
	}
	return i
}

// parseUint parses a run of decimal digits of at most 18 digits.
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// uintToken reads an unsigned integer token at i (after white space and
// comments) and returns it and the index after it.
func uintToken(b []byte, i int) (v int64, j int, ok bool) {
	i, _ = skipSpace(b, i)
	j = regularEnd(b, i)
	v, ok = parseUint(b[i:j])
	return v, j, ok
}

// hasKeyword reports whether b[i:] starts with the keyword kw as a whole
// token (followed by a non-regular character or the end of b).
func hasKeyword(b []byte, i int, kw string) bool {
	if !bytes.HasPrefix(b[i:], []byte(kw)) {
		return false
	}
	k := i + len(kw)
	return k == len(b) || !isRegular(b[k])
}

// objectHeader parses "nr gen obj" (§7.3.10) at b[i:], after white space,
// and returns the numbers and the index after "obj". The numbers must be
// separated by white space or comments.
func objectHeader(b []byte, i int) (nr, gen int64, j int, ok bool) {
	i, _ = skipSpace(b, i)
	e := regularEnd(b, i)
	nr, ok = parseUint(b[i:e])
	if !ok || e == len(b) || !isSpace(b[e]) && b[e] != '%' {
		return 0, 0, 0, false
	}
	i, _ = skipSpace(b, e)
	e = regularEnd(b, i)
	gen, ok = parseUint(b[i:e])
	if !ok || e == len(b) || !isSpace(b[e]) && b[e] != '%' {
		return 0, 0, 0, false
	}
	i, _ = skipSpace(b, e)
	if !hasKeyword(b, i, "obj") {
		return 0, 0, 0, false
	}
	return nr, gen, i + 3, true
}

// skipString skips the literal string (§7.3.4.2) opening at b[i] == '(',
// with balanced parentheses and backslash escapes, and returns the index
// after its closing parenthesis, or -1 if b ends first. Text between
// parentheses and backslashes is passed over eight bytes at a time: a
// string can be tens of kilobytes of binary data (a seal's /SESeal), read
// more than once on its way to being parsed.
func skipString(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		for i+8 <= len(b) && !stringSpecialIn(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i == len(b) {
			break
		}
		switch b[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// stringSpecialIn reports whether any of the eight bytes of w is one that
// skipString stops at: '(', ')' or a backslash. A byte of w equal to c
// leaves a zero byte in w XOR c repeated, which the borrow of subtracting
// 0x01 from each byte shows in its high bit ("determine if a word has a
// zero byte", Hacker's Delight §6-1).
func stringSpecialIn(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	return hasZero(w^(ones*'('))|hasZero(w^(ones*')'))|hasZero(w^(ones*'\\')) != 0
}

// bodyEnd says how the text of an object ended.
type bodyEnd int

const (
	endNone       bodyEnd = iota // more bytes needed
	endObj                       // the endobj keyword
	endStream                    // the stream keyword: a stream's data follows
	endNextObject                // no endobj: the next object's header
	endKeyword                   // no endobj: endstream, xref, trailer or startxref
	endEOF                       // no endobj: the end of the file
)

// scanBody scans the tokens of an object's text from i to the keyword
// ending it (§7.3.10): endobj, or stream for a stream object (§7.3.8).
// When endobj is missing it stops at the next object's header "n g obj"
// or at a keyword no object contains. It returns how the text ended, the
// index where the text ends and the index after the keyword. eof says
// whether b reaches the end of the file; when it does not and the
// scan runs out of bytes, it returns endNone and more bytes are needed.
func scanBody(b []byte, i int, eof bool) (how bodyEnd, end, after int) {
	// The last two tokens, for "n g obj": their starts, and whether each
	// was an unsigned integer.
	var prevStart [2]int
	var prevInt [2]bool
	push := func(start int, isInt bool) {
		prevStart[0], prevInt[0] = prevStart[1], prevInt[1]
		prevStart[1], prevInt[1] = start, isInt
	}
	more := func() (bodyEnd, int, int) {
		if eof {
			return endEOF, len(b), len(b)
		}
		return endNone, 0, 0
	}
	for {
		var complete bool
		i, complete = skipSpace(b, i)
		if i >= len(b) || !complete {
			return more()
		}
		switch c := b[i]; c {
		case '(':
			j := skipString(b, i)
			if j < 0 {
				return more()
			}
			push(i, false)
			i = j
		case '<':
			if i+1 < len(b) && b[i+1] == '<' {
				push(i, false)
				i += 2
				continue
			}
			if i+1 >= len(b) {
				return more()
			}
			k := bytes.IndexByte(b[i:], '>')
			if k < 0 {
				return more()
			}
			push(i, false)
			i += k + 1
		case '/':
			j := regularEnd(b, i+1)
			if j == len(b) && !eof {
				return more()
			}
			push(i, false)
			i = j
		case '>', '[', ']', '{', '}', ')':
			push(i, false)
			i++
		default:
			j := regularEnd(b, i)
			if j == len(b) && !eof {
				return more()
			}
			switch tok := string(b[i:j]); tok {
			case "endobj":
				return endObj, i, j
			case "stream":
				return endStream, i, j
			case "obj":
				if prevInt[0] && prevInt[1] {
					return endNextObject, prevStart[0], prevStart[0]
				}
			case "endstream", "xref", "trailer", "startxref":
				return endKeyword, i, i
			}
			_, isInt := parseUint(b[i:j])
			push(i, isInt)
			i = j
		}
	}
}
