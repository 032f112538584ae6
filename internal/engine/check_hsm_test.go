//go:build cgo

package engine

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/sealpipe/sealpipe/internal/fakehsm"
)

// TestCheckPKCS11Keys: Check opens each pkcs11: key of the keyring — the
// module allowed, the token reached, the login accepted, the object found —
// and proves it with a test signature; each failure names its alias.
func TestCheckPKCS11Keys(t *testing.T) {
	t.Parallel()
	const mech = 0x80008001
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	module := fakehsm.ModulePath(t, "vendor")
	other := fakehsm.ModulePath(t, "other") // present, but not allowed
	for _, tc := range []struct {
		name, uri, pin string
		want           string // "" for OK, else a part of the failure
	}{
		{"key opens and signs", "pkcs11:token=seals;object=seal-01", "123456", ""},
		{"object not on the token", "pkcs11:token=seals;object=absent", "123456", "absent"},
		{"wrong PIN", "pkcs11:token=seals;object=seal-01", "000000", "PIN"},
		{"module not allowed", "pkcs11:token=seals;object=seal-01?module-path=" + other, "123456", "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hsm := fakehsm.New(fakehsm.Config{Mechanism: mech})
			hsm.AddToken(1, fakehsm.Token{Label: "seals", Serial: "0001", PIN: "123456"})
			hsm.AddSM2Key(1, "seal-01", []byte{1}, key)
			ring := writeFile(t, "keys.conf", "hsm-key  "+tc.uri+"\n")
			conf := writeFile(t, "sealpipe.env", fmt.Sprintf("SEALPIPE_DATA=%s\nSEALPIPE_KEYS=%s\nSEALPIPE_PKCS11_MODULE=%s\nSEALPIPE_PKCS11_PIN=%s\nSEALPIPE_PKCS11_SM2_MECHANISM=%#x\n",
				t.TempDir(), ring, module, tc.pin, mech))
			s, err := Load(conf, env(nil), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			e := New(s, WithPKCS11Dialer(fakeDialer{hsm}), WithLogger(slog.New(slog.DiscardHandler)))
			defer e.Close()
			results := e.Check(t.Context())
			var got *CheckResult
			for i, r := range results {
				if r.Check == "key hsm-key" {
					got = &results[i]
				}
				if r.Check == "pkcs11 module "+module && r.Status != CheckOK {
					t.Errorf("%+v, want the module present", r)
				}
			}
			if got != nil {
				t.Logf("%s %s: %s", got.Status, got.Check, got.Detail)
			}
			switch {
			case got == nil:
				t.Fatalf("no check of key hsm-key in %+v", results)
			case tc.want == "" && got.Status != CheckOK:
				t.Fatalf("%+v, want OK", *got)
			case tc.want != "" && (got.Status != CheckFailed || !strings.Contains(got.Detail, tc.want)):
				t.Fatalf("%+v, want FAILED naming %q", *got, tc.want)
			}
		})
	}
}
