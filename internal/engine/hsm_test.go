//go:build cgo

package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/sealpipe/sealpipe/internal/fakehsm"
	"github.com/sealpipe/sealpipe/pipeline/keys/pkcs11"
)

// fakeDialer connects the HSM pool to the one token of an in-process HSM.
type fakeDialer struct{ hsm *fakehsm.HSM }

func (d fakeDialer) Dial(_ context.Context, _ string, u *pkcs11.URI, _ int) (pkcs11.Conn, error) {
	return d.hsm.Conn(1), nil
}

// TestSM2MechanismFromSettings: the HSM pool's SM2 vendor mechanism — its
// code, input form and output form — is configured by settings alone (a
// config file, as an operator writes it), and sealing keys held in such a
// token sign through it. The in-process token accepts only the mechanism
// and forms it was made with, so a signature that verifies proves that the
// settings reached the token.
func TestSM2MechanismFromSettings(t *testing.T) {
	t.Parallel()
	const mech = 0x80008001
	for _, tc := range []struct {
		name    string
		token   fakehsm.Config
		file    string // SM2 settings in the config file
		wantErr error  // nil: the signature verifies
	}{
		{"GM/T 0018 digest in, r||s out", fakehsm.Config{Mechanism: mech},
			"SEALPIPE_PKCS11_SM2_MECHANISM=0x80008001\n", nil},
		{"message in, DER out", fakehsm.Config{Mechanism: mech, Message: true, DER: true},
			"SEALPIPE_PKCS11_SM2_MECHANISM=2147516417\nSEALPIPE_PKCS11_SM2_INPUT=message\nSEALPIPE_PKCS11_SM2_OUTPUT=der\n", nil},
		{"no mechanism configured", fakehsm.Config{Mechanism: mech},
			"", pkcs11.ErrMechanism},
		{"another vendor's code", fakehsm.Config{Mechanism: mech},
			"SEALPIPE_PKCS11_SM2_MECHANISM=0x80008002\n", pkcs11.ErrMechanism},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, err := sm2.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			hsm := fakehsm.New(tc.token)
			hsm.AddToken(1, fakehsm.Token{Label: "seals", Serial: "0001", PIN: "123456"})
			hsm.AddSM2Key(1, "seal-01", []byte{1}, key)
			ring := writeFile(t, "keys.conf", "seal-01  pkcs11:token=seals;object=seal-01\n")
			conf := writeFile(t, "sealpipe.env", fmt.Sprintf("SEALPIPE_KEYS=%s\nSEALPIPE_PKCS11_MODULE=%s\nSEALPIPE_PKCS11_PIN=123456\n%s",
				ring, fakehsm.ModulePath(t, "vendor"), tc.file))
			s, err := Load(conf, env(nil), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			e := New(s, WithPKCS11Dialer(fakeDialer{hsm}), WithLogger(slog.New(slog.DiscardHandler)))
			defer e.Close()

			signer, err := e.Signers().Signer(t.Context(), "seal-01")
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("GB/T 38540 signed content")
			sig, err := signer.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Sign: %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sm2.VerifyASN1WithSM2(&key.PublicKey, nil, msg, sig) {
				t.Fatal("the signature does not verify under the token's key")
			}
			if st := hsm.Stats(); st.Logins == 0 {
				t.Errorf("the token saw no login: %+v", st)
			}
		})
	}
}

// TestHSMSettingsRefusedEarly: a word the SM2 settings do not know is
// refused when the HSM pool is made, naming the setting.
func TestHSMSettingsRefusedEarly(t *testing.T) {
	t.Parallel()
	ring := writeFile(t, "keys.conf", "seal-01  pkcs11:token=seals;object=seal-01\n")
	e := New(Settings{Keys: ring, PKCS11: PKCS11Settings{SM2Input: "hash"}})
	defer e.Close()
	_, err := e.OpenKey(t.Context(), "seal-01")
	var se *SettingError
	if !errors.As(err, &se) || se.Key != "SEALPIPE_PKCS11_SM2_INPUT" || !errors.Is(err, ErrSettings) {
		t.Fatalf("OpenKey: %v, want a SettingError for SEALPIPE_PKCS11_SM2_INPUT", err)
	}
}
