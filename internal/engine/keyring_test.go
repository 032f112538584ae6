package engine

import (
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/keys"
)

func TestKeyringParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, ring string
		err        string // substring; empty: parses
	}{
		{"comments and blanks", "# a comment\n\n  civil-affairs  file:///k/civil.key\ncounty file:///k/county.key passphrase-file=/run/secrets/county\n", ""},
		{"alias twice", "a file:///x\na file:///y\n", "appears twice"},
		{"URI as alias", "pkcs11:token=x file:///x\n", "key alias"},
		{"no URI", "civil-affairs\n", "want ALIAS KEY-URI"},
		{"unknown option", "a file:///x pin=1234\n", "unknown option"},
		{"relative passphrase file", "a file:///x passphrase-file=secret\n", "unknown option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ring, err := readKeyring(writeFile(t, "keys.conf", tc.ring))
			if tc.err == "" {
				if err != nil || len(ring) == 0 {
					t.Fatalf("readKeyring = %v, %v", ring, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrSettings) {
				t.Fatalf("readKeyring: %v, want an ErrSettings error containing %q", err, tc.err)
			}
		})
	}
}

// TestKeyringOpens: keys are opened by alias only, each with its own
// passphrase file if it names one.
func TestKeyringOpens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, key crypto.Signer, pass string) string {
		t.Helper()
		pem, err := keys.MarshalEncryptedPEM(key, []byte(pass))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	civil, county := testpki.NewKey(t), testpki.NewKey(t)
	civilPath := write("civil.key", civil, "shared passphrase")
	countyPath := write("county.key", county, "county's own")
	countyPass := filepath.Join(dir, "county.pass")
	if err := os.WriteFile(countyPass, []byte("county's own\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ring := writeFile(t, "keys.conf", "civil-affairs file://"+civilPath+"\ncounty-office file://"+countyPath+" passphrase-file="+countyPass+"\n")
	e := New(Settings{Keys: ring, KeyPassphrase: "shared passphrase"})
	defer e.Close()
	for alias, want := range map[string]crypto.PublicKey{"civil-affairs": civil.Public(), "county-office": county.Public()} {
		s, err := e.OpenKey(t.Context(), alias)
		if err != nil {
			t.Fatalf("%s: %v", alias, err)
		}
		if !s.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(want) {
			t.Errorf("%s opened another key", alias)
		}
	}
	for _, alias := range []string{"tax-bureau", civilPath, "file://" + civilPath} {
		if _, err := e.OpenKey(t.Context(), alias); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("OpenKey(%q) = %v, want ErrUnknownKey: only aliases the keyring lists open", alias, err)
		}
	}
}

func TestAddKey(t *testing.T) {
	t.Parallel()
	ring := filepath.Join(t.TempDir(), "sub", "keys.conf")
	e := New(Settings{Keys: ring})
	for _, step := range []struct {
		alias, uri string
		ok         bool
	}{
		{"civil-affairs", "file:///k/civil.key", true},
		{"civil-affairs", "file:///k/civil.key", true},  // again: nothing to do
		{"civil-affairs", "file:///k/other.key", false}, // another key under the alias
		{"bad alias!", "file:///k/x.key", false},
		{"spaces", "file:///k/a b.key", false},
	} {
		if err := e.AddKey(step.alias, step.uri); (err == nil) != step.ok {
			t.Errorf("AddKey(%q, %q) = %v", step.alias, step.uri, err)
		}
	}
	got, err := readKeyring(ring)
	if err != nil || len(got) != 1 || got["civil-affairs"].uri != "file:///k/civil.key" {
		t.Fatalf("keyring %v, %v", got, err)
	}
	if fi, err := os.Stat(ring); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("keyring mode %v, %v; want 0600", fi.Mode(), err)
	}
}
