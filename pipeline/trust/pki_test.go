package trust

import (
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testpki"
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
	key        crypto.Signer           // nil: a fresh SM2 key
	ski        []byte                  // nil: derived from the key (CAs only)
	ekus       []asn1.ObjectIdentifier // extended key usages (roles)
	anyEKU     bool                    // add anyExtendedKeyUsage
	policies   []asn1.ObjectIdentifier // certificate policies
	crlDPs     []string                // CRL distribution points
}

// issue makes a certificate for s, signed by parent (self-signed if nil).
func issue(t testing.TB, s spec, parent *testpki.Identity) *testpki.Identity {
	t.Helper()
	var key crypto.Signer = s.key
	if key == nil {
		key = testpki.NewKey(t)
	}
	if s.from.IsZero() {
		s.from = t0.AddDate(-1, 0, 0)
	}
	if s.to.IsZero() {
		s.to = t0.AddDate(5, 0, 0)
	}
	tmpl := &smx509.Certificate{
		Subject:               pkix.Name{CommonName: s.cn, Organization: []string{"sealpipe tests"}},
		NotBefore:             s.from,
		NotAfter:              s.to,
		KeyUsage:              s.ku,
		BasicConstraintsValid: !s.noBasic,
		IsCA:                  s.ca,
		ExtraExtensions:       s.extra,
		SubjectKeyId:          s.ski,
		UnknownExtKeyUsage:    s.ekus,
		CRLDistributionPoints: s.crlDPs,
	}
	for _, p := range s.policies {
		oid, err := smx509.ParseOID(p.String())
		if err != nil {
			t.Fatal(err)
		}
		tmpl.Policies = append(tmpl.Policies, oid)
	}
	if s.anyEKU {
		tmpl.ExtKeyUsage = []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny}
	}
	if s.ca {
		tmpl.MaxPathLen = s.maxPathLen
		tmpl.MaxPathLenZero = s.maxPathLen == 0
	}
	return &testpki.Identity{Cert: testpki.Issue(t, tmpl, key, parent), Key: key}
}

const caUsage = smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign

// revoke returns a CRL by issuer listing the certificates at the times given.
func revoke(t testing.TB, issuer *testpki.Identity, at map[*smx509.Certificate]time.Time, reason int) []byte {
	t.Helper()
	tmpl := &smx509.RevocationList{Number: big.NewInt(1), ThisUpdate: t0, NextUpdate: t0.AddDate(0, 0, 7)}
	for c, when := range at {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			smx509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: when, ReasonCode: reason})
	}
	der, err := smx509.CreateRevocationList(rand.Reader, tmpl, issuer.Cert, issuer.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
