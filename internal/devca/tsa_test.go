package devca_test

import (
	"context"
	"crypto"
	"path/filepath"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/tsa"
)

// TestEnsureTSA: the development TSA's SM2 and ECDSA certificates are TSA
// certificates (RFC 3161 §2.3), chain to the SM2 root and the PAdES CA,
// serve as tsa.Authority, and are kept on a second call.
func TestEnsureTSA(t *testing.T) {
	dir := t.TempDir()
	ca, err := devca.Init(devca.Config{Dir: filepath.Join(dir, "pki"), Passphrase: []byte("tsa test")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := ca.EnsureTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		id   devca.Identity
		pool *trust.Pool
	}{
		{"SM2", got.SM2, ca.Pool()},
		{"ECDSA", got.ECDSA, trust.NewPool([]*smx509.Certificate{got.ECDSAIssuer})},
	} {
		if !tsa.TimeStampingOnly(c.id.Cert) {
			t.Errorf("%s: EKU %v is not a TSA's", c.name, c.id.Cert.ExtKeyUsage)
		}
		if c.name == "ECDSA" && (got.ECDSAIssuer.Subject.CommonName != "sealpipe development PAdES CA" || ca.PAdESRoot == nil || !ca.PAdESRoot.Equal(got.ECDSAIssuer)) {
			t.Errorf("ECDSA TSA issued by %s", got.ECDSAIssuer.Subject)
		}
		if _, err := c.pool.Verify(c.id.Cert, time.Now(), trust.UsageAny); err != nil {
			t.Errorf("%s: chain: %v", c.name, err)
		}
	}
	for _, a := range []struct {
		id  devca.Identity
		key crypto.Signer
	}{{got.SM2, got.SM2Key}, {got.ECDSA, got.ECDSAKey}} {
		if _, err := tsa.NewAuthority(a.key, []*smx509.Certificate{a.id.Cert}); err != nil {
			t.Errorf("tsa.NewAuthority(%s): %v", a.id.Cert.Subject.CommonName, err)
		}
	}
	again, err := ca.EnsureTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !again.SM2.Cert.Equal(got.SM2.Cert) || !again.ECDSA.Cert.Equal(got.ECDSA.Cert) {
		t.Error("EnsureTSA issued new certificates on its second call")
	}
}
