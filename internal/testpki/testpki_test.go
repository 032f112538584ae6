package testpki_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testpki"
)

func TestSelfSigned(t *testing.T) {
	t.Parallel()
	before := time.Now()
	key, cert := testpki.SelfSigned(t, "approver-zhang")
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("the certificate is not for the key returned")
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("not signed by its own key: %v", err)
	}
	if cert.Subject.CommonName != "approver-zhang" || cert.KeyUsage != smx509.KeyUsageDigitalSignature {
		t.Errorf("subject %q, key usage %v; want approver-zhang, digitalSignature", cert.Subject, cert.KeyUsage)
	}
	if !cert.NotBefore.Before(before) || !cert.NotAfter.After(before) {
		t.Errorf("valid %v to %v, not at %v", cert.NotBefore, cert.NotAfter, before)
	}
}

func TestIssue(t *testing.T) {
	t.Parallel()
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	rootKey := testpki.NewKey(t)
	rootTmpl := &smx509.Certificate{
		Subject: pkix.Name{CommonName: "Test Root"}, NotBefore: from, NotAfter: to,
		KeyUsage: smx509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	root := &testpki.Identity{Cert: testpki.Issue(t, rootTmpl, rootKey, nil), Key: rootKey}
	if rootTmpl.SerialNumber != nil {
		t.Error("Issue set the template's serial number")
	}
	if err := root.Cert.CheckSignatureFrom(root.Cert); err != nil || !root.Cert.IsCA {
		t.Fatalf("root: CA %v, self-signature: %v", root.Cert.IsCA, err)
	}

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		key    crypto.Signer
		serial *big.Int
	}{
		{"SM2", testpki.NewKey(t), nil},
		{"SM2 with a serial number", testpki.NewKey(t), big.NewInt(7)},
		{"ECDSA P-256", ecKey, nil},
		{"RSA", rsaKey, nil},
		{"Ed25519", edKey, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cert := testpki.Issue(t, &smx509.Certificate{
				SerialNumber: tc.serial, Subject: pkix.Name{CommonName: tc.name}, NotBefore: from, NotAfter: to,
				KeyUsage: smx509.KeyUsageDigitalSignature, ExtKeyUsage: []smx509.ExtKeyUsage{smx509.ExtKeyUsageEmailProtection},
			}, tc.key, root)
			if err := cert.CheckSignatureFrom(root.Cert); err != nil {
				t.Errorf("not signed by the root: %v", err)
			}
			if cert.Issuer.CommonName != "Test Root" || cert.Subject.CommonName != tc.name {
				t.Errorf("issuer %q, subject %q", cert.Issuer, cert.Subject)
			}
			if !cert.NotBefore.Equal(from) || !cert.NotAfter.Equal(to) || len(cert.ExtKeyUsage) != 1 {
				t.Errorf("valid %v to %v, extended key usages %v: not the template's", cert.NotBefore, cert.NotAfter, cert.ExtKeyUsage)
			}
			if tc.serial != nil && cert.SerialNumber.Cmp(tc.serial) != 0 {
				t.Errorf("serial number %v, want the template's %v", cert.SerialNumber, tc.serial)
			}
			if cert.SerialNumber.Sign() < 0 || cert.SerialNumber.Cmp(root.Cert.SerialNumber) == 0 {
				t.Errorf("serial number %v: negative or the root's", cert.SerialNumber)
			}
		})
	}
}
