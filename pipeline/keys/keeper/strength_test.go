package keeper

import (
	"errors"
	"testing"
)

func TestCheckPassphrase(t *testing.T) {
	for _, c := range []struct {
		p  string
		ok bool
	}{
		{"", false},
		{"short", false},
		{"elevenchars", false},
		{"aaaaaaaaaaaaaaaa", false},
		{"abcabcabcabcabca", false},
		{"abcdefghijklmnop", false},
		{"ponmlkjihgfedcba", false},
		{" leading space passphrase", false},
		{"trailing space passphrase ", false},
		{"tab\tinside passphrase", false},
		{"county seal keeper 2026", true},
		{"遂平县电子印章保管口令二〇二六", true},
		{string(make([]byte, 2000)), false},
		{"\xff\xfe invalid utf-8 bytes", false},
	} {
		err := CheckPassphrase([]byte(c.p))
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrWeakSecret) {
			t.Errorf("CheckPassphrase(%q) = %v, want ok %v", c.p, err, c.ok)
		}
	}
}

func TestCheckPIN(t *testing.T) {
	for _, c := range []struct {
		pin      string
		min, max int
		ok       bool
	}{
		{"", 0, 0, false},
		{"4711", 4, 0, false},
		{"471108", 4, 255, true},
		{"471108", 8, 255, false},
		{"47110815", 8, 255, true},
		{"47110815", 4, 6, false},
		{"000000", 0, 0, false},
		{"012345", 0, 0, false},
		{"543210", 0, 0, false},
		{"121212", 0, 0, true},
		{" 471108", 0, 0, false},
	} {
		err := CheckPIN(c.pin, c.min, c.max)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrWeakSecret) {
			t.Errorf("CheckPIN(%q, %d, %d) = %v, want ok %v", c.pin, c.min, c.max, err, c.ok)
		}
	}
}
