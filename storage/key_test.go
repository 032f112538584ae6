package storage_test

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sealpipe/sealpipe/storage"
)

func TestCheckKey(t *testing.T) {
	long := strings.Repeat("k", storage.MaxKeyLen)
	for _, tc := range []struct {
		key    string
		reason string // "" for a valid key; else a fragment of the error
	}{
		{"a", ""},
		{"inbox/tax/b1/doc.pdf", ""},
		{"inbox/税务局/批次 1/文件（一）.pdf", ""},
		{".hidden/..dots/...", ""},
		{"a..b/c.d", ""},
		{"spaces and+plus=eq&q?#%", ""},
		{long, ""},
		{strings.Repeat("税", storage.MaxKeyLen/3), ""},

		{"", "empty"},
		{long + "k", "1025 bytes long"},
		{"bad\xffutf8", "not valid UTF-8"},
		{"/abs", `begins with "/"`},
		{"/", `begins with "/"`},
		{"a//b", "empty segment"},
		{"trailing/", "empty segment"},
		{".", `"." segment`},
		{"./a", `"." segment`},
		{"a/./b", `"." segment`},
		{"..", `".." segment`},
		{"../a", `".." segment`},
		{"a/../b", `".." segment`},
		{"a/..", `".." segment`},
		{"nul\x00", "NUL at byte 3"},
		{`a\b`, "backslash at byte 1"},
		{`..\a`, "backslash"},
		{"tab\there", "control character U+0009"},
		{"line\nfeed", "control character U+000A"},
		{"del\x7f", "control character U+007F"},
		{"c1\u0085", "control character U+0085"},
	} {
		err := storage.CheckKey(tc.key)
		if tc.reason == "" {
			if err != nil {
				t.Errorf("CheckKey(%.40q) = %v, want nil", tc.key, err)
			}
			continue
		}
		switch {
		case !errors.Is(err, storage.ErrInvalidKey):
			t.Errorf("CheckKey(%.40q) = %v, want ErrInvalidKey", tc.key, err)
		case !strings.Contains(err.Error(), tc.reason):
			t.Errorf("CheckKey(%.40q) = %v, want it to say %q", tc.key, err, tc.reason)
		}
	}
}

func TestCheckKeyQuotesTheKey(t *testing.T) {
	err := storage.CheckKey("a//b")
	if err == nil || !strings.Contains(err.Error(), `"a//b"`) {
		t.Errorf("error %v does not quote the key", err)
	}
	// A long key is shortened, on a rune boundary, with its length.
	long := strings.Repeat("税", 400) // 1200 bytes
	err = storage.CheckKey(long)
	if err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), "(1200 bytes)") || !utf8.ValidString(err.Error()) {
		t.Errorf("error for a %d-byte key: %q; want a short, valid message with the length", len(long), err)
	}
}

func FuzzCheckKey(f *testing.F) {
	for _, seed := range []string{
		"inbox/tax/b1/doc.pdf", "reports/tax/b1/batch.json", "registry/S-1.esl", "audit/S-1/local/x.json",
		"", "/", "a//b", "../a", "a/..", `a\b`, "a\x00", "\xff", ".hidden", "a/.../b", "税/务",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := storage.CheckKey(key)
		if err != nil {
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Fatalf("CheckKey(%q) = %v, not wrapping ErrInvalidKey", key, err)
			}
			return
		}
		// A valid key is a clean, local, slash-separated path that a
		// folder store can use as is.
		switch {
		case key == "" || len(key) > storage.MaxKeyLen || !utf8.ValidString(key):
			t.Fatalf("CheckKey accepted %q: empty, too long or not UTF-8", key)
		case path.Clean(key) != key || path.IsAbs(key):
			t.Fatalf("CheckKey accepted %q, which path.Clean makes %q", key, path.Clean(key))
		case !filepath.IsLocal(filepath.FromSlash(key)):
			t.Fatalf("CheckKey accepted %q, which is not a local path", key)
		case strings.ContainsAny(key, "\\\x00"):
			t.Fatalf("CheckKey accepted %q, holding a backslash or NUL", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("CheckKey accepted %q with segment %q", key, seg)
			}
		}
		for _, r := range key {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) {
				t.Fatalf("CheckKey accepted %q holding control character %U", key, r)
			}
		}
	})
}

func TestCheckName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"cert-00001.pdf", true},
		{"居民身份证明 第1号.pdf", true},
		{strings.Repeat("证", storage.MaxNameLen/3), true},
		{strings.Repeat("a", storage.MaxNameLen), true},
		{strings.Repeat("a", storage.MaxNameLen+1), false}, // 246–255 bytes used to pass
		{"a\u0085b.pdf", false},                            // C1 control (NEL)
		{"a\u202eb.pdf", false},                            // right-to-left override
		{"a\u200bb.pdf", false},                            // zero-width space
		{"\ufeffa.pdf", false},                             // byte order mark
		{"a\ue000.pdf", false},                             // private use
		{"a\tb.pdf", false},
		{"a/b.pdf", false},
		{`a\b.pdf`, false},
		{".hidden.pdf", false},
		{" a.pdf", false},
		{"a.pdf ", false},
		{"", false},
		{"\xff.pdf", false},
	} {
		err := storage.CheckName(tc.name)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, storage.ErrInvalidKey)) {
			t.Errorf("CheckName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
		// Every name that passes makes storable record keys.
		if tc.ok {
			if err := storage.CheckKey("reports/dept/batch/" + tc.name + ".json"); err != nil {
				t.Errorf("%q passes, but its record key does not: %v", tc.name, err)
			}
		}
	}
}
