package fakehsm_test

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	p11 "github.com/miekg/pkcs11"

	"github.com/sealpipe/sealpipe/internal/fakehsm"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/keys/pkcs11"
)

const (
	slot = 3
	mech = p11.CKM_VENDOR_DEFINED + 0x8001
	pin  = "1234"
)

// TestSign signs through the PKCS #11 calls in each input and output form
// and checks the signature under the key.
func TestSign(t *testing.T) {
	t.Parallel()
	msg := []byte("document")
	for _, cfg := range []fakehsm.Config{
		{Mechanism: mech},
		{Mechanism: mech, Message: true},
		{Mechanism: mech, DER: true},
		{Mechanism: mech, Message: true, DER: true},
	} {
		t.Run(fmtConfig(cfg), func(t *testing.T) {
			t.Parallel()
			key := testpki.NewKey(t)
			h := fakehsm.New(cfg)
			h.AddToken(slot, fakehsm.Token{Label: "seals", Serial: "0001", PIN: pin})
			h.AddSM2Key(slot, "seal", []byte{1}, key)
			c := h.Conn(slot)
			sh, err := c.OpenSession(c.SlotID(), p11.CKF_SERIAL_SESSION)
			if err != nil {
				t.Fatal(err)
			}
			private := []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY), p11.NewAttribute(p11.CKA_LABEL, "seal")}
			if found := find(t, c, sh, private); len(found) != 0 {
				t.Fatalf("private key visible before login: %v", found)
			}
			if err := c.Login(sh, p11.CKU_USER, "wrong"); !errors.Is(err, p11.Error(p11.CKR_PIN_INCORRECT)) {
				t.Fatalf("login with a wrong PIN: %v", err)
			}
			if err := c.Login(sh, p11.CKU_USER, pin); err != nil {
				t.Fatal(err)
			}
			found := find(t, c, sh, private)
			if len(found) != 1 {
				t.Fatalf("found %d private keys labelled seal, want 1", len(found))
			}

			e, err := sm2.CalculateSM2Hash(&key.PublicKey, msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			in := e
			if cfg.Message {
				in = msg
			}
			if err := c.SignInit(sh, []*p11.Mechanism{p11.NewMechanism(mech+1, nil)}, found[0]); !errors.Is(err, p11.Error(p11.CKR_MECHANISM_INVALID)) {
				t.Fatalf("C_SignInit with another mechanism: %v", err)
			}
			if err := c.SignInit(sh, []*p11.Mechanism{p11.NewMechanism(mech, nil)}, found[0]); err != nil {
				t.Fatal(err)
			}
			sig, err := c.Sign(sh, in)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DER {
				if !sm2.VerifyASN1(&key.PublicKey, e, sig) {
					t.Fatal("DER signature does not verify")
				}
				return
			}
			if len(sig) != 64 || !sm2.Verify(&key.PublicKey, e, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
				t.Fatalf("r||s signature (%d bytes) does not verify", len(sig))
			}
		})
	}
}

func fmtConfig(cfg fakehsm.Config) string {
	in, out := "digest", "raw"
	if cfg.Message {
		in = "message"
	}
	if cfg.DER {
		out = "DER"
	}
	return in + "/" + out
}

// find returns the objects matching tmpl.
func find(t *testing.T, c *fakehsm.Conn, sh p11.SessionHandle, tmpl []*p11.Attribute) []p11.ObjectHandle {
	t.Helper()
	if err := c.FindObjectsInit(sh, tmpl); err != nil {
		t.Fatal(err)
	}
	defer c.FindObjectsFinal(sh)
	found, _, err := c.FindObjects(sh, 10)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// dialer connects a pool to the token in slot of an HSM, as the package
// comment shows.
type dialer struct{ hsm *fakehsm.HSM }

func (d dialer) Dial(ctx context.Context, path string, u *pkcs11.URI, maxSessions int) (pkcs11.Conn, error) {
	return d.hsm.Conn(slot), nil
}

// TestPool wires the HSM into the HSM pool the way the package comment
// shows, and signs.
func TestPool(t *testing.T) {
	t.Parallel()
	key := testpki.NewKey(t)
	hsm := fakehsm.New(fakehsm.Config{Mechanism: mech})
	hsm.AddToken(slot, fakehsm.Token{Label: "seals", Serial: "0001", PIN: pin})
	hsm.AddSM2Key(slot, "seal-01", []byte{1}, key)
	pool, err := pkcs11.New(pkcs11.Config{
		Module:         fakehsm.ModulePath(t, "fakehsm"),
		SM2:            pkcs11.SM2Mechanism{Mechanism: mech},
		Dialer:         dialer{hsm},
		HealthInterval: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	signer, err := pool.OpenKey(t.Context(), keys.Options{}, "pkcs11:token=seals;object=seal-01?pin-value="+pin)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("document")
	sig, err := signer.Sign(nil, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(&key.PublicKey, nil, msg, sig) {
		t.Fatal("signature does not verify")
	}
	if st := hsm.Stats(); st.Logins != 1 || st.Open == 0 {
		t.Errorf("stats %+v, want one login and open sessions", st)
	}
}
