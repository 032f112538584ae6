package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// TestSoftHSMChangePIN changes the user PIN of a SoftHSM2 token of the
// test's own (never the shared one): the old PIN logs in no more, the new
// one does and a key opened with it signs; a refused change leaves the PIN
// as it was.
func TestSoftHSMChangePIN(t *testing.T) {
	h := newSoftHSM(t, "pins")
	h.generate("pins", "EC:prime256v1", "seal", 1)
	b, _ := newBackend(t, Config{Module: softhsmLib, AllowedModules: []string{softhsmLib}})
	ctx := context.Background()
	const token = "pkcs11:token=pins"
	const newPIN = "Nw-pin-4826"

	for _, c := range []struct {
		name        string
		old, new    string
		want        error  // nil: changed
		nowAccepted string // the PIN the token takes afterwards
	}{
		{"wrong old PIN", "000000", newPIN, ErrLogin, softhsmPIN},
		{"new PIN too long for the token", softhsmPIN, strings.Repeat("7", 300), ErrLogin, softhsmPIN},
		{"changed", softhsmPIN, newPIN, nil, newPIN},
		{"back again", newPIN, softhsmPIN, nil, softhsmPIN},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := b.ChangePIN(ctx, token, c.old, c.new)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("ChangePIN: %v, want %v", err, c.want)
			}
			if err := b.Login(ctx, token, c.nowAccepted); err != nil {
				t.Fatalf("Login with the PIN the token should take: %v", err)
			}
			for _, other := range []string{softhsmPIN, newPIN} {
				if other == c.nowAccepted {
					continue
				}
				if err := b.Login(ctx, token, other); !errors.Is(err, ErrLogin) {
					t.Fatalf("Login with the other PIN: %v, want ErrLogin", err)
				}
			}
		})
	}

	// A key opened through a pin-source holding the new PIN signs.
	if err := b.ChangePIN(ctx, token, softhsmPIN, newPIN); err != nil {
		t.Fatal(err)
	}
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(newPIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	uri := "pkcs11:token=pins;object=seal?pin-source=file:" + pinFile
	tok, err := b.Token(uri)
	if err != nil || tok.PINFile != pinFile || tok.Name != "pins" {
		t.Fatalf("Token(%s) = %+v, %v", uri, tok, err)
	}
	if other, _ := b.Token(token); other.ID != tok.ID {
		t.Fatalf("the same token has IDs %q and %q", tok.ID, other.ID)
	}
	if minLen, maxLen, err := b.PINLength(ctx, token); err != nil || minLen < 1 || maxLen < minLen {
		t.Fatalf("PINLength = %d, %d, %v", minLen, maxLen, err)
	}
	s, err := b.OpenKey(ctx, keys.Options{}, uri)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256Sum([]byte("after the PIN change"))
	sig, err := s.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest, sig) {
		t.Fatal("signature does not verify")
	}
}

// TestTokenRefusesModule: a token URI naming a module that is not allowed
// is refused before anything is loaded.
func TestTokenRefusesModule(t *testing.T) {
	b, _ := newBackend(t, Config{AllowedModules: []string{"/nonexistent/allowed.so"}})
	for _, uri := range []string{
		"pkcs11:token=x?module-path=" + softhsmLib,
		"pkcs11:object=x?module-path=" + softhsmLib,
	} {
		if _, err := b.Token(uri); err == nil {
			t.Errorf("Token(%s) succeeded", uri)
		}
		if err := b.ChangePIN(context.Background(), uri, "123456", "654321x"); err == nil {
			t.Errorf("ChangePIN(%s) succeeded", uri)
		}
	}
}
