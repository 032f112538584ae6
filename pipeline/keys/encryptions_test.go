package keys

import (
	"bytes"
	"crypto"
	"errors"
	"testing"
)

// TestTwoEncryptions: a key file holding the key under two passphrases,
// as a passphrase rotation leaves it for a moment (MaxEncryptions), opens
// with either and no other; three encryptions are refused.
func TestTwoEncryptions(t *testing.T) {
	key, err := GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	newer, err := MarshalEncryptedPEM(key, []byte("the new passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	older, err := MarshalEncryptedPEM(key, []byte("the old passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	both := bytes.Join([][]byte{newer, older}, nil)
	for _, c := range []struct {
		name string
		file []byte
		pass string
		want error
	}{
		{"new, first encryption", both, "the new passphrase", nil},
		{"old, second encryption", both, "the old passphrase", nil},
		{"neither", both, "another passphrase", ErrBadPassphrase},
		{"one encryption, old", newer, "the old passphrase", ErrBadPassphrase},
		{"three encryptions", bytes.Join([][]byte{newer, older, older}, nil), "the old passphrase", ErrMalformedKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseEncryptedPEM(c.file, []byte(c.pass))
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("ParseEncryptedPEM: %v, want %v", err, c.want)
			}
			if err == nil && !got.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Fatal("opened another key")
			}
		})
	}
	if n := len(EncryptedBlocks(both)); n != 2 {
		t.Fatalf("EncryptedBlocks = %d blocks, want 2", n)
	}
}
