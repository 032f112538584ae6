package main

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sealpipe/sealpipe/pipeline/exchange"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// province is a script's provincial seal system: the province's own CA
// and its signing certificate (role trust.DefaultProvinceOID), and a
// stranger with the same role under a CA nobody trusts.
type province struct {
	signer, stranger signed.Signer
	base             time.Time // list N is issued at base + N minutes
}

// provinces holds each running script's province, by its work folder.
var provinces sync.Map

func init() {
	// province-list [-untrusted] OUT NUMBER SEAL… writes to OUT revocation
	// list NUMBER of the script's province revoking the seals (reason
	// key-compromised), and the province's root to $WORK/province-root.crt;
	// -untrusted signs it with the stranger.
	scriptCmds["province-list"] = func(ts *testscript.TestScript, neg bool, args []string) {
		untrusted := len(args) > 0 && args[0] == "-untrusted"
		if untrusted {
			args = args[1:]
		}
		if neg || len(args) < 2 {
			ts.Fatalf("usage: province-list [-untrusted] OUT NUMBER SEAL...")
		}
		n, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		work := ts.Getenv("WORK")
		v, _ := provinces.LoadOrStore(work, sync.OnceValues(func() (*province, error) { return newProvince(work) }))
		p, err := v.(func() (*province, error))()
		ts.Check(err)
		issued := p.base.Add(time.Duration(n) * time.Minute)
		l := exchange.RevocationList{Format: exchange.RevocationListFormat, Version: exchange.RevocationListVersion,
			Issuer: "某某省电子印章管理系统", Number: n, IssuedAt: issued, Revocations: []exchange.Revocation{}}
		for _, s := range args[2:] {
			l.Revocations = append(l.Revocations, exchange.Revocation{Seal: s, RevokedAt: issued.Add(-time.Minute), Reason: exchange.ReasonKeyCompromised})
		}
		signer := p.signer
		if untrusted {
			signer = p.stranger
		}
		doc, err := signer.Marshal(l)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), doc, 0o644))
	}
}

// newProvince makes a province for the script in work and writes its root.
func newProvince(work string) (*province, error) {
	now := time.Now()
	ca := func(cn string) (*smx509.Certificate, *sm2.PrivateKey, error) {
		return certificate(&smx509.Certificate{
			Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
			KeyUsage: smx509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		}, nil, nil)
	}
	leaf := func(parent *smx509.Certificate, parentKey *sm2.PrivateKey) (signed.Signer, error) {
		cert, key, err := certificate(&smx509.Certificate{
			Subject: pkix.Name{CommonName: "province", Organization: []string{"某某省电子印章管理系统"}}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
			KeyUsage: smx509.KeyUsageDigitalSignature, UnknownExtKeyUsage: []asn1.ObjectIdentifier{trust.DefaultProvinceOID},
		}, parent, parentKey)
		return signed.Signer{Key: key, Cert: cert}, err
	}
	root, rootKey, err := ca("Province Root")
	if err != nil {
		return nil, err
	}
	other, otherKey, err := ca("Stranger Root")
	if err != nil {
		return nil, err
	}
	p := &province{base: now.Add(-2 * time.Hour)}
	if p.signer, err = leaf(root, rootKey); err != nil {
		return nil, err
	}
	if p.stranger, err = leaf(other, otherKey); err != nil {
		return nil, err
	}
	return p, os.WriteFile(filepath.Join(work, "province-root.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o644)
}

// certificate issues tmpl for a new SM2 key, signed by parent's key, or
// by its own when parent is nil.
func certificate(tmpl, parent *smx509.Certificate, parentKey *sm2.PrivateKey) (*smx509.Certificate, *sm2.PrivateKey, error) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := smx509.ParseCertificate(der)
	return cert, key, err
}
