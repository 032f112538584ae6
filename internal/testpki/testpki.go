// Package testpki makes keys and certificates for tests: an SM2 key with a
// self-signed certificate for a name, or any certificate a template
// describes, issued by a parent or by its own key.
//
// It is test support, not API: only tests import it. It imports nothing
// from sealpipe, so the tests of every package can use it, down to
// pipeline/ses, without an import cycle.
//
//	rootKey := testpki.NewKey(t)
//	root := &testpki.Identity{Key: rootKey, Cert: testpki.Issue(t, &smx509.Certificate{
//		Subject: pkix.Name{CommonName: "Test Root"}, NotBefore: from, NotAfter: to,
//		KeyUsage: smx509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
//	}, rootKey, nil)}
//	signerKey := testpki.NewKey(t)
//	signer := testpki.Issue(t, &smx509.Certificate{
//		Subject: pkix.Name{CommonName: "signer"}, NotBefore: from, NotAfter: to,
//		KeyUsage: smx509.KeyUsageDigitalSignature,
//	}, signerKey, root)
package testpki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Identity is a certificate and the private key of its public key: an
// issuer of certificates, or a signer.
type Identity struct {
	Cert *smx509.Certificate
	Key  crypto.Signer
}

// NewKey returns a new SM2 private key. It fails tb if it cannot make one.
func NewKey(tb testing.TB) *sm2.PrivateKey {
	tb.Helper()
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatalf("generating an SM2 key: %v", err)
	}
	return key
}

// SelfSigned returns a new SM2 key and a certificate signed by that key for
// the common name cn, with the key usage digitalSignature, valid from an
// hour ago to an hour from now: a signer that no trusted root vouches for.
func SelfSigned(tb testing.TB, cn string) (*sm2.PrivateKey, *smx509.Certificate) {
	tb.Helper()
	key := NewKey(tb)
	now := time.Now()
	return key, Issue(tb, &smx509.Certificate{
		Subject:   pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour),
		NotAfter:  now.Add(time.Hour),
		KeyUsage:  smx509.KeyUsageDigitalSignature,
	}, key, nil)
}

// serialLimit bounds random serial numbers: 2¹²⁸, within the 20 octets
// RFC 5280 §4.1.2.2 allows.
var serialLimit = new(big.Int).Lsh(big.NewInt(1), 128)

// Issue returns the certificate tmpl describes for the public key of key,
// signed by parent's key and naming parent's subject as its issuer, or
// signed by key itself when parent is nil. A nil tmpl.SerialNumber stands
// for a new random one; tmpl is not modified. key may be of any type
// smx509.CreateCertificate accepts: SM2, ECDSA, RSA or Ed25519. Issue fails
// tb if the certificate cannot be made.
func Issue(tb testing.TB, tmpl *smx509.Certificate, key crypto.Signer, parent *Identity) *smx509.Certificate {
	tb.Helper()
	c := *tmpl
	if c.SerialNumber == nil {
		serial, err := rand.Int(rand.Reader, serialLimit)
		if err != nil {
			tb.Fatalf("choosing a serial number: %v", err)
		}
		c.SerialNumber = serial
	}
	issuer, signer := &c, key
	if parent != nil {
		issuer, signer = parent.Cert, parent.Key
	}
	der, err := smx509.CreateCertificate(rand.Reader, &c, issuer, key.Public(), signer)
	if err != nil {
		tb.Fatalf("issuing a certificate for %q: %v", c.Subject.CommonName, err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("parsing the certificate issued for %q: %v", c.Subject.CommonName, err)
	}
	return cert
}

// CA returns a new SM2 root certificate authority named cn, valid from an
// hour ago for five years.
func CA(tb testing.TB, cn string) *Identity {
	tb.Helper()
	key := NewKey(tb)
	return &Identity{Key: key, Cert: Issue(tb, &smx509.Certificate{
		Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}, key, nil)}
}

// Leaf returns a new SM2 signer named cn that parent issues, valid from an
// hour ago for a year, with the key usage digitalSignature and oids as
// extended key usages (such as the role OIDs of package trust).
func Leaf(tb testing.TB, parent *Identity, cn string, oids ...asn1.ObjectIdentifier) *Identity {
	tb.Helper()
	key := NewKey(tb)
	return &Identity{Key: key, Cert: Issue(tb, &smx509.Certificate{
		Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: smx509.KeyUsageDigitalSignature, UnknownExtKeyUsage: oids,
	}, key, parent)}
}
