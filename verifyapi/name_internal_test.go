package verifyapi

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                       defaultName,
		"证明.pdf":                 "证明.pdf",
		`C:\Users\clerk\证明.pdf`:  "证明.pdf",
		"/etc/passwd":            "passwd",
		"../../x.pdf":            "x.pdf",
		"a\x00b\nc\x7f.pdf":      "abc.pdf",
		"bad\xffutf8.pdf":        "bad\uFFFDutf8.pdf",
		"/":                      defaultName,
		".":                      defaultName,
		strings.Repeat("章", 100): strings.Repeat("章", 85),
		strings.Repeat("a", 300): strings.Repeat("a", 255),
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCleanName: whatever a client names its file, the report's name is
// short valid UTF-8 without a path or control characters.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"", "证明.pdf", `a\b/c`, "\x00\xff", strings.Repeat("章", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := cleanName(in)
		switch {
		case got == "", len(got) > maxNameBytes, !utf8.ValidString(got), strings.ContainsAny(got, "/\\"):
			t.Fatalf("cleanName(%q) = %q", in, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("cleanName(%q) = %q has a control character", in, got)
			}
		}
	})
}
