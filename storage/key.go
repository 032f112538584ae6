package storage

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckKey reports whether key is an object key every backend accepts. It
// returns nil for a valid key and otherwise an error wrapping ErrInvalidKey
// that quotes the key and says what is wrong with it.
//
// A valid key is at most MaxKeyLen bytes of valid UTF-8, made of one or more
// non-empty segments separated by single slashes: it does not begin or end
// with "/", holds no "//", no "." or ".." segment, and no NUL, backslash or
// other control character. Such a key is also a local, clean relative path
// on every operating system sealpipe runs on, so a folder-backed store can
// use it as one without escaping its bucket.
func CheckKey(key string) error {
	if reason := keyProblem(key); reason != "" {
		return fmt.Errorf("%w %s: %s", ErrInvalidKey, quoteKey(key), reason)
	}
	return nil
}

// keyProblem returns why key is invalid, or "" if it is valid.
func keyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > MaxKeyLen:
		return fmt.Sprintf("%d bytes long, more than %d", len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return "not valid UTF-8"
	case key[0] == '/':
		return `begins with "/"`
	}
	for i, r := range key {
		switch {
		case r == 0:
			return fmt.Sprintf("NUL at byte %d", i)
		case r == '\\':
			return fmt.Sprintf("backslash at byte %d", i)
		case unicode.IsControl(r):
			return fmt.Sprintf("control character %U at byte %d", r, i)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return "empty segment"
		case ".", "..":
			return fmt.Sprintf("%q segment", seg)
		}
	}
	return ""
}

// maxQuotedKey bounds how much of a key an error message repeats.
const maxQuotedKey = 96

// quoteKey quotes key for an error message, shortening a long one to its
// first maxQuotedKey bytes (cut on a rune boundary) plus its length.
func quoteKey(key string) string {
	if len(key) <= maxQuotedKey {
		return fmt.Sprintf("%q", key)
	}
	cut := maxQuotedKey
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", key[:cut], len(key))
}

// MaxNameLen bounds a name sealpipe derives object keys from, such as a
// document's file name: with the suffixes keys add (".json" for a record,
// and a folder-backed store's own ".json" beside it) a segment stays within
// the 255 bytes file systems allow.
const MaxNameLen = 240

// CheckName reports whether name — a document's file name, or another name
// sealpipe makes object keys of — is one segment every backend stores
// as given and every person reads as shown: at most MaxNameLen bytes of
// valid UTF-8; no '/', '\' or NUL; no control characters (C0, DEL, C1 such
// as U+0085), no format characters (bidi controls such as U+202E, zero-width
// characters such as U+200B, U+FEFF), no private-use or unassigned code
// points; not beginning with '.' or a space and not ending with a space.
// It returns an error wrapping ErrInvalidKey that quotes the name.
func CheckName(name string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: name %s: %s", ErrInvalidKey, quoteKey(name), fmt.Sprintf(format, args...))
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > MaxNameLen:
		return bad("%d bytes long, more than %d", len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return bad("not valid UTF-8")
	case name[0] == '.' || name[0] == ' ' || name[len(name)-1] == ' ':
		return bad("begins with '.' or a space, or ends with a space")
	}
	for i, r := range name {
		switch {
		case r == '/' || r == '\\':
			return bad("%q at byte %d", r, i)
		case unicode.IsControl(r):
			return bad("control character %U at byte %d", r, i)
		case unicode.Is(unicode.Cf, r):
			return bad("format character %U (bidi control or zero-width) at byte %d", r, i)
		case unicode.Is(unicode.Co, r) || !unicode.IsPrint(r) && !unicode.IsSpace(r):
			return bad("private-use, unassigned or invisible character %U at byte %d", r, i)
		}
	}
	return nil
}
