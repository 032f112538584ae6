package trust

import (
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// t0 is the reference time of the test PKI.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// spec describes a test certificate.
type spec struct {
	cn         string
	ca         bool
	noBasic    bool // omit basicConstraints
	ku         smx509.KeyUsage
	from, to   time.Time // zero: t0-1y … t0+5y
	maxPathLen int       // for CAs: -1 unlimited, else the constraint
	extra      []pkix.Extension
	key        crypto.Signer // nil: a fresh SM2 key
	ski        []byte        // nil: derived from the key (CAs only)
}

// ident is a certificate with its key.
type ident struct {
	cert *smx509.Certificate
	key  crypto.Signer
}

var serial int64

// issue makes a certificate for s, signed by parent (self-signed if nil).
func issue(t testing.TB, s spec, parent *ident) *ident {
	t.Helper()
	var key crypto.Signer = s.key
	if key == nil {
		k, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	if s.from.IsZero() {
		s.from = t0.AddDate(-1, 0, 0)
	}
	if s.to.IsZero() {
		s.to = t0.AddDate(5, 0, 0)
	}
	serial++
	tmpl := &smx509.Certificate{
		SerialNumber:          big.NewInt(1000 + serial),
		Subject:               pkix.Name{CommonName: s.cn, Organization: []string{"sealpipe tests"}},
		NotBefore:             s.from,
		NotAfter:              s.to,
		KeyUsage:              s.ku,
		BasicConstraintsValid: !s.noBasic,
		IsCA:                  s.ca,
		ExtraExtensions:       s.extra,
		SubjectKeyId:          s.ski,
	}
	if s.ca {
		tmpl.MaxPathLen = s.maxPathLen
		tmpl.MaxPathLenZero = s.maxPathLen == 0
	}
	signer, parentCert := crypto.Signer(key), tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &ident{cert: c, key: key}
}

const caUsage = smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign

// revoke returns a CRL by issuer listing the certificates at the times given.
func revoke(t testing.TB, issuer *ident, at map[*smx509.Certificate]time.Time, reason int) []byte {
	t.Helper()
	tmpl := &smx509.RevocationList{Number: big.NewInt(1), ThisUpdate: t0, NextUpdate: t0.AddDate(0, 0, 7)}
	for c, when := range at {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			smx509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: when, ReasonCode: reason})
	}
	der, err := smx509.CreateRevocationList(rand.Reader, tmpl, issuer.cert, issuer.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
