package devca_test

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// TestRenewSigner: a unit's signer certificate renewed for the same key
// keeps its subject, key usages and key identifier, gets a new serial and
// a later end, and the one it replaces is kept; a renewal that would end
// no later, of an unknown unit, or whose key is not the certificate's is
// refused with the certificate unchanged.
func TestRenewSigner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	ca, err := devca.Init(devca.Config{Dir: dir, Passphrase: []byte("renew test"), Units: []devca.Unit{{Slug: "civil-affairs", Name: "某某县民政局"}}, Validity: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	certPath := filepath.Join(dir, "signers", "civil-affairs.crt")
	other, err := keys.GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		unit     string
		validity time.Duration
		open     func(context.Context) (crypto.Signer, error)
		want     error  // nil: renewed
		msg      string // in the error
	}{
		{"no later end", "civil-affairs", 200 * 24 * time.Hour, nil, devca.ErrNoLaterValidity, "no later than the current one"},
		{"unknown unit", "nowhere", 0, nil, devca.ErrUnknownIdentity, `unit "nowhere"`},
		{"another key", "civil-affairs", 0, func(context.Context) (crypto.Signer, error) { return other, nil }, nil, "is not its certificate's"},
		{"the key missing", "civil-affairs", 0, func(context.Context) (crypto.Signer, error) { return nil, keys.ErrKeyNotFound }, keys.ErrKeyNotFound, "the certificate's key"},
		{"renewed", "civil-affairs", 0, nil, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, err := os.ReadFile(certPath)
			if err != nil {
				t.Fatal(err)
			}
			prev := ca.Signers["civil-affairs"]
			old, renewed, err := ca.RenewSigner(ctx, c.unit, c.validity, c.open)
			if c.msg != "" {
				if err == nil || !strings.Contains(err.Error(), c.msg) || (c.want != nil && !errors.Is(err, c.want)) {
					t.Fatalf("err = %v, want %v %q", err, c.want, c.msg)
				}
				if after, _ := os.ReadFile(certPath); !bytes.Equal(after, before) {
					t.Fatal("a refused renewal changed the certificate")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n, o := renewed.Cert, old.Cert
			switch {
			case o.SerialNumber.Cmp(prev.Cert.SerialNumber) != 0:
				t.Errorf("old serial %X, want %X", o.SerialNumber, prev.Cert.SerialNumber)
			case n.SerialNumber.Cmp(o.SerialNumber) == 0:
				t.Error("the same serial number")
			case !bytes.Equal(n.RawSubject, o.RawSubject) || !bytes.Equal(n.SubjectKeyId, o.SubjectKeyId) || n.KeyUsage != o.KeyUsage:
				t.Errorf("subject %s / %s, SKI %x / %x, key usage %v / %v", n.Subject, o.Subject, n.SubjectKeyId, o.SubjectKeyId, n.KeyUsage, o.KeyUsage)
			case !n.NotAfter.After(o.NotAfter.Add(300 * 24 * time.Hour)):
				t.Errorf("ends %s, the old one %s: want about a year later", n.NotAfter, o.NotAfter)
			case renewed.KeyURI != old.KeyURI || renewed.KeyPath != old.KeyPath:
				t.Errorf("key %s → %s", old.KeyURI, renewed.KeyURI)
			}
			if err := n.CheckSignatureFrom(ca.Root); err != nil {
				t.Fatal(err)
			}
			// On disk: a chain loaded again has the new certificate and the
			// same key, which opens with it; the old one is kept.
			again, err := devca.Load(dir, []byte("renew test"))
			if err != nil {
				t.Fatal(err)
			}
			id, err := again.Unit("civil-affairs")
			if err != nil || !bytes.Equal(id.Cert.Raw, n.Raw) {
				t.Fatalf("loaded again: %v, serial %X", err, id.Cert.SerialNumber)
			}
			if _, err := again.Signer(ctx, id); err != nil {
				t.Fatalf("the key with the renewed certificate: %v", err)
			}
			kept, err := filepath.Glob(filepath.Join(dir, "signers", "previous", "civil-affairs-*.crt"))
			if err != nil || len(kept) != 1 || !strings.Contains(kept[0], strings.ToUpper(o.SerialNumber.Text(16))) {
				t.Fatalf("previous certificates kept: %v %v", kept, err)
			}
		})
	}
}
