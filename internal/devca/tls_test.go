package devca_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// TestTLSCertificates: the development CA's TLS certificates have keys
// crypto/tls signs with, chain to the development TLS CA (made on first
// use) by package trust, carry their role and units, and their key files
// stay private and are never overwritten.
func TestTLSCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, err := devca.Init(devca.Config{Dir: filepath.Join(dir, "pki"), Passphrase: []byte("tls test")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	role := trust.DefaultApproverOID // any OID serves
	certPEM, keyPEM, err := ca.IssueTLSClient(ctx, devca.TLSClient{Name: "keeper-zhao", Role: role, Units: []string{"某某县民政局"}, Departments: []string{"civil-affairs"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("crypto/tls cannot use the pair: %v", err)
	}
	b, _ := pem.Decode(certPEM)
	cert, err := smx509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tlsCA, err := trust.LoadCertificates(ca.TLSCAPath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trust.NewPool(tlsCA).Verify(cert, time.Now(), trust.UsageAny); err != nil {
		t.Fatalf("chain: %v", err)
	}
	if _, err := ca.Pool().Verify(cert, time.Now(), trust.UsageAny); err == nil {
		t.Fatal("the SM2 root vouches for a TLS certificate: it should come from the TLS CA")
	}
	if !trust.HasRole(cert, role) || cert.Subject.CommonName != "keeper-zhao" || cert.Subject.Organization[0] != "某某县民政局" || cert.Subject.OrganizationalUnit[0] != "civil-affairs" {
		t.Fatalf("subject %s, EKU %v", cert.Subject, cert.UnknownExtKeyUsage)
	}
	out := filepath.Join(dir, "clients")
	crt, key, err := devca.WriteTLSPair(out, "keeper-zhao", certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key %s: %v, %v", key, fi.Mode(), err)
	}
	if _, err := tls.LoadX509KeyPair(crt, key); err != nil { // unencrypted: what curl --key takes
		t.Fatal(err)
	}
	if _, _, err := devca.WriteTLSPair(out, "keeper-zhao", certPEM, keyPEM); !errors.Is(err, devca.ErrExists) {
		t.Fatalf("second write = %v, want ErrExists", err)
	}
	if _, _, err := ca.IssueTLSClient(ctx, devca.TLSClient{Name: "../x", Role: role}); err == nil {
		t.Fatal("a name that is no slug was taken")
	}

	crt, key, err = ca.EnsureTLSServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(key); err != nil || !bytes.Contains(b, []byte("ENCRYPTED PRIVATE KEY")) {
		t.Fatalf("the server key under the CA directory is not encrypted: %v", err)
	}
	again, _, err := ca.EnsureTLSServer(ctx)
	if err != nil || again != crt {
		t.Fatalf("EnsureTLSServer again: %s, %v", again, err)
	}
	certs, err := trust.LoadCertificates(crt)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range devca.LocalHosts {
		if err := certs[0].VerifyHostname(h); err != nil {
			t.Errorf("server certificate: %v", err)
		}
	}
}
