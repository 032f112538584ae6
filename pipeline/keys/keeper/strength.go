package keeper

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Errors from this package wrap one of them, or one of
// package keys (keys.ErrBadPassphrase, keys.ErrUnencryptedKey, …).
var (
	// ErrWeakSecret reports a new passphrase or PIN that is refused: empty,
	// too short, too simple, or the same as the current one.
	ErrWeakSecret = errors.New("keeper: secret refused")
	// ErrPINUnknown reports a token that accepts neither the PIN in the
	// PIN file nor the one a PIN change left staged.
	ErrPINUnknown = errors.New("keeper: the token accepts neither the PIN file's PIN nor the staged one")
	// ErrNoTerminal reports that a secret was to be asked for and standard
	// input is no terminal.
	ErrNoTerminal = errors.New("keeper: not a terminal: cannot ask for a secret")
)

// Strength rules.
const (
	// MinPassphrase is the fewest characters a key file's passphrase may
	// have.
	MinPassphrase = 12
	// MinPIN is the fewest characters a token PIN may have (more if the
	// token asks for more).
	MinPIN = 6
	// maxSecret is the most bytes of a passphrase or PIN; secret files
	// are read up to 4 KiB.
	maxSecret = 1024
	// minDistinct is the fewest different characters a passphrase may
	// have.
	minDistinct = 5
)

// weak returns an error wrapping ErrWeakSecret.
func weak(what, format string, args ...any) error {
	return fmt.Errorf("%w: the new %s %s", ErrWeakSecret, what, fmt.Sprintf(format, args...))
}

// CheckPassphrase reports why p may not protect a key file, or nil: it
// must be valid UTF-8 of MinPassphrase to 1024 bytes, hold no control
// character and begin and end with no white space (a passphrase file loses
// a trailing newline), have at least five different characters and not be
// a run of consecutive characters ("abcdefghijkl").
func CheckPassphrase(p []byte) error {
	return checkSecret("passphrase", string(p), MinPassphrase, maxSecret, minDistinct)
}

// CheckPIN reports why pin may not become a token's user PIN, or nil: it
// must have MinPIN characters or the token's minimum if more, and no more
// than the token's maximum (tokenMin and tokenMax: 0 for unknown); no
// control character or white space at its ends; not one character
// repeated; not a run of consecutive characters ("123456", "654321").
func CheckPIN(pin string, tokenMin, tokenMax int) error {
	most := maxSecret
	if tokenMax > 0 {
		most = min(most, tokenMax)
	}
	return checkSecret("PIN", pin, max(MinPIN, tokenMin), most, 2)
}

func checkSecret(what, s string, least, most, distinct int) error {
	n := utf8.RuneCountInString(s)
	switch {
	case s == "":
		return weak(what, "is empty")
	case !utf8.ValidString(s):
		return weak(what, "is not valid UTF-8 text")
	case n < least:
		return weak(what, "has %d characters: it needs at least %d", n, least)
	case len(s) > most:
		return weak(what, "has %d bytes: at most %d are allowed", len(s), most)
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return weak(what, "begins or ends with white space")
	}
	seen := map[rune]bool{}
	up, down := true, true
	prev := rune(-1)
	for _, r := range s {
		if unicode.IsControl(r) {
			return weak(what, "holds a control character")
		}
		seen[r] = true
		if prev >= 0 {
			up = up && r == prev+1
			down = down && r == prev-1
		}
		prev = r
	}
	switch {
	case len(seen) < distinct:
		return weak(what, "has %d different characters: it needs at least %d", len(seen), distinct)
	case up || down:
		return weak(what, "is a run of consecutive characters")
	}
	return nil
}
