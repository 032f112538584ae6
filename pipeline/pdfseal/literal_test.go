package pdfseal

import (
	"bytes"
	"regexp"
	"testing"
)

// escapePair matches a backslash and the byte after it.
var escapePair = regexp.MustCompile(`\\[\x00-\xff]`)

// TestUnescapeLiteral: the text of literal strings as any writer may
// escape it (§7.3.4.2) stands for the bytes the standard gives.
func TestUnescapeLiteral(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ text, want string }{
		{"plain text", "plain text"},
		{`\n\r\t\b\f\(\)\\`, "\n\r\t\b\f()\\"},
		{`\0\07\007\0070`, "\x00\x07\x07\x070"},
		{`\152\45\400`, "j%\x00"}, // \400: the high-order overflow is ignored
		{`\8\q\ `, "8q "},         // a backslash before another character is ignored
		{"a\\\nb\\\r\nc\\\rd", "abcd"},
		{"a\rb\r\nc\nd", "a\nb\nc\nd"}, // a bare end of line is LF
		{`(nested)`, "(nested)"},
		{`ends in \`, `ends in \`},
		{`\15`, "\r"},
		// Long runs between escapes and ends of line, copied whole.
		{"0123456789\r0123456789\\n0123456789\r\nabcdefghij\\", "0123456789\n0123456789\n0123456789\nabcdefghij\\"},
		{"\r\r\r\\(\r\n\r", "\n\n\n(\n\n"},
		{"abcdefghijklmnop\\qrstuvwxyz\\\\\\", "abcdefghijklmnopqrstuvwxyz\\\\"},
	} {
		if got := unescapeLiteral(tc.text); string(got) != tc.want {
			t.Errorf("unescapeLiteral(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

// FuzzLiteralString: whatever bytes appendBinaryString writes, the text
// between its parentheses holds no bare parenthesis, CR, "obj" or "%%EOF", and
// unescapeLiteral reads back exactly those bytes.
func FuzzLiteralString(f *testing.F) {
	for _, s := range []string{"", "endobj\r\n", "%%EOF", `\\(`, "j1\\", "\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lit := appendBinaryString(nil, b)
		if lit[0] != '(' || lit[len(lit)-1] != ')' {
			t.Fatalf("%q is not a literal string", lit)
		}
		text := lit[1 : len(lit)-1]
		if bytes.ContainsAny(escapePair.ReplaceAll(text, nil), "()") {
			t.Errorf("%q holds a bare parenthesis: the string would end elsewhere", text)
		}
		for _, bare := range []string{"\r", "obj", "%%EOF"} {
			if bytes.Contains(text, []byte(bare)) {
				t.Errorf("%q holds %q bare", text, bare)
			}
		}
		if got := unescapeLiteral(string(text)); !bytes.Equal(got, b) {
			t.Errorf("unescapeLiteral(%q) = %q, want %q", text, got, b)
		}
	})
}
