package pdffile

import (
	"math/rand/v2"
	"testing"
)

// skipStringBytewise is skipString one byte at a time: the definition the
// word-at-a-time version must agree with.
func skipStringBytewise(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
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

// TestSkipString checks skipString against skipStringBytewise on strings
// whose special bytes fall at every position of an eight-byte word, and on
// random text in which they are rare (as in a seal's binary /SESeal) or
// common.
func TestSkipString(t *testing.T) {
	check := func(b []byte) {
		t.Helper()
		if got, want := skipString(b, 0), skipStringBytewise(b, 0); got != want {
			t.Fatalf("skipString(%q) = %d, want %d", b, got, want)
		}
	}
	for _, s := range []string{
		"()", "(", "(abc", "(abc)", "(a(b)c)d", "(a\\)b)", "(a\\\\)b)", "(\\", "(abcdefg\\", "((((((((", "(abcdefghijklmnop)",
		"(abcdefg)", "(abcdefgh)", "(abcdefghi)", "(abcdefg\\)hijklmnop)", "(abcdefghijklmno(p)q)r)",
	} {
		check([]byte(s))
	}
	// Each special byte at each offset of a long run, and the end at each.
	for _, c := range []byte{'(', ')', '\\'} {
		for at := 1; at < 40; at++ {
			for n := at + 1; n < 48; n++ {
				b := make([]byte, n)
				b[0] = '('
				for i := 1; i < n; i++ {
					b[i] = 'a' + byte(i%26)
				}
				b[at] = c
				check(b)
				check(append(b, ')'))
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rare := range []bool{true, false} {
		for range 2000 {
			b := make([]byte, 1+rng.IntN(300))
			b[0] = '('
			for i := 1; i < len(b); i++ {
				b[i] = byte(rng.IntN(256))
				if !rare && rng.IntN(4) == 0 {
					b[i] = "()\\"[rng.IntN(3)]
				}
			}
			check(b)
		}
	}
}

// FuzzSkipString checks skipString against skipStringBytewise.
func FuzzSkipString(f *testing.F) {
	for _, s := range []string{"(abc)", "(a(b)c\\))", "(abcdefghij\\(klmnop)", "(\x00\xff()"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := range min(len(b), 9) {
			if got, want := skipString(b, i), skipStringBytewise(b, i); got != want {
				t.Fatalf("skipString(%q, %d) = %d, want %d", b, i, got, want)
			}
		}
	})
}
