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
