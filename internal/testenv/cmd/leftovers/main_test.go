package main

import (
	"slices"
	"testing"
)

func TestParseObjects(t *testing.T) {
	// pkcs11-tool 0.23 (Debian 12) on SoftHSM2.
	const listing = `Private Key Object; EC
  label:      unit-1795779739441681373
  ID:         18ebe428984961ef
  Usage:      decrypt, sign, unwrap, derive
  Access:     sensitive, always sensitive, never extractable, local
Public Key Object; EC  EC_POINT 256 bits
  EC_POINT:   0441044632d1732a7032407dd63f2eff3ff47988d5d93167e8102b07bd81514740f1857b10079bac94152a6ee3d3b570c1f5e055a4e0ae334b41bb3bf0ca1c54b0ac85
  EC_PARAMS:  06082a8648ce3d030107
  label:      unit-1795779739441681373
  ID:         18ebe428984961ef
  Usage:      encrypt, verify, wrap, derive
  Access:     local
Private Key Object; RSA 
  label:      b
  ID:         02
Data object 2147483650
  label:      'notes'
Certificate Object; type = X.509 cert
  label:      seal cert
  subject:    DN: CN=x
  ID:         0a
Secret Key Object; AES length 32
  ID:         0b
`
	want := []string{
		`Private Key Object label="unit-1795779739441681373" id=18ebe428984961ef`,
		`Public Key Object label="unit-1795779739441681373" id=18ebe428984961ef`,
		`Private Key Object label="b" id=02`,
		`Data object label="'notes'" id=`,
		`Certificate Object label="seal cert" id=0a`,
		`Secret Key Object label="" id=0b`,
	}
	if got := parseObjects(listing); !slices.Equal(got, want) {
		t.Errorf("parseObjects =\n%q\nwant\n%q", got, want)
	}
	if got := parseObjects(""); len(got) != 0 {
		t.Errorf("parseObjects of an empty token = %q", got)
	}
}

func TestDiff(t *testing.T) {
	before := inventory{"bucket sealpipe": "(made then)", "bucket old-leftover": "", "MinIO policy readwrite": "", "token object: gone": ""}
	after := inventory{"bucket sealpipe": "(made then)", "bucket old-leftover": "", "MinIO policy readwrite": "",
		"bucket testx-0123456789ab": "(made now)", "MinIO user sealpipe_testx_d": ""}
	left, gone := diff(before, after)
	if want := []string{"MinIO user sealpipe_testx_d", "bucket testx-0123456789ab (made now)"}; !slices.Equal(left, want) {
		t.Errorf("left = %q, want %q", left, want)
	}
	if want := []string{"token object: gone"}; !slices.Equal(gone, want) {
		t.Errorf("gone = %q, want %q", gone, want)
	}
	if left, gone := diff(after, after); len(left)+len(gone) != 0 {
		t.Errorf("diff of an inventory with itself: %q, %q", left, gone)
	}
}
