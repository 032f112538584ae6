package report

import (
	"errors"
	"testing"
)

func TestCombine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []Indication
		want Indication
	}{
		{nil, Passed},
		{[]Indication{Passed, Passed}, Passed},
		{[]Indication{Passed, Indeterminate}, Indeterminate},
		{[]Indication{Indeterminate, Failed, Passed}, Failed},
		{[]Indication{Failed, Indeterminate}, Failed},
	}
	for _, tt := range tests {
		if got := Combine(tt.in...); got != tt.want {
			t.Errorf("Combine(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestConclude(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		checks []Result
		want   Indication
	}{
		{"all passed", []Result{OK, OK}, Passed},
		{"skipped counts as passed", []Result{OK, Skipped}, Passed},
		{"unknown", []Result{OK, Unknown}, Indeterminate},
		{"failed wins", []Result{Unknown, NotOK, OK}, Failed},
	}
	for _, tt := range tests {
		s := Signature{}
		for _, r := range tt.checks {
			s.Checks = append(s.Checks, Check{Name: "c", Result: r})
		}
		s.Conclude()
		if s.Indication != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, s.Indication, tt.want)
		}
		d := Document{Signatures: []Signature{s}}
		d.Conclude()
		if d.Indication != tt.want {
			t.Errorf("%s: document %s, want %s", tt.name, d.Indication, tt.want)
		}
	}
	var empty Document
	empty.Conclude()
	if empty.Indication != Indeterminate {
		t.Errorf("a document without signatures is %s, want INDETERMINATE", empty.Indication)
	}
	broken := Document{Signatures: []Signature{{Indication: Passed}}, Error: "unreadable"}
	broken.Conclude()
	if broken.Indication != Indeterminate {
		t.Errorf("an unreadable document is %s", broken.Indication)
	}
}

func TestVerificationCode(t *testing.T) {
	t.Parallel()
	const sm3 = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0" // SM3("abc"), GB/T 32905 A.1
	code, err := VerificationCode(sm3)
	if err != nil {
		t.Fatal(err)
	}
	// 0x66c7f0f462eeedd9d1f2 in RFC 4648 base32 (M3D7B5DC53W5TUPS, as
	// Python's base64.b32encode gives it), letter by letter onto
	// Crockford's alphabet.
	if want := "CV3Z-1X32-XVPX-KMFJ"; code != want {
		t.Fatalf("VerificationCode = %s, want %s", code, want)
	}
	for _, bad := range []string{"", "66c7", sm3[:62], sm3 + "00", "zz" + sm3[2:]} {
		if c, err := VerificationCode(bad); !errors.Is(err, ErrBadCode) {
			t.Errorf("VerificationCode(%q) = %q, %v; want ErrBadCode", bad, c, err)
		}
	}
	tests := []struct {
		typed, want string
	}{
		{"CV3Z-1X32-XVPX-KMFJ", "CV3Z-1X32-XVPX-KMFJ"},
		{"cv3z1x32xvpxkmfj", "CV3Z-1X32-XVPX-KMFJ"},
		{"CV3Z 1X32 XVPX KMFJ", "CV3Z-1X32-XVPX-KMFJ"},
		{"cv3z-ix32-xvpx-kmfj", "CV3Z-1X32-XVPX-KMFJ"}, // I reads as 1
		{"OV3Z-LX32-XVPX-KMFJ", "0V3Z-1X32-XVPX-KMFJ"}, // O as 0, L as 1
		{"CV3Z-1X32-XVPX-KMF", ""},                     // too short
		{"CV3Z-1X32-XVPX-KMFJ0", ""},                   // too long
		{"CV3Z-1X32-XVPX-KMFU", ""},                    // U is not in the alphabet
		{"CV3Z/1X32/XVPX/KMFJ", ""},
	}
	for _, tt := range tests {
		got, err := ParseVerificationCode(tt.typed)
		if tt.want == "" {
			if !errors.Is(err, ErrBadCode) {
				t.Errorf("ParseVerificationCode(%q) = %q, %v; want ErrBadCode", tt.typed, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseVerificationCode(%q) = %q, %v; want %q", tt.typed, got, err, tt.want)
		}
	}
}
