package ses

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/emmansun/gmsm/smx509"
)

// ParseCertificate parses a DER certificate found in a seal or signature.
//
// Certificates that smx509 accepts are returned as parsed. Some producers
// embed certificates that Go's strict X.509 parser rejects although their
// key is sound (n.ofd's dms360 certificates carry a subjectAltName of
// mistagged junk). For those, ParseCertificate falls back to reading the
// RFC 5280 §4.1 skeleton itself and returns a Certificate with only Raw,
// RawTBSCertificate, RawSubjectPublicKeyInfo, RawSubject, RawIssuer,
// Version, SerialNumber, Subject, Issuer, NotBefore, NotAfter, PublicKey,
// PublicKeyAlgorithm, Signature and SignatureAlgorithm filled: enough to
// check a signature made with it and the certificate's own signature, and
// no extensions, so any path validation that needs key usages or basic
// constraints will refuse it, as it should.
//
// The error wraps [ErrMalformed] when neither parse succeeds.
func ParseCertificate(der []byte) (*smx509.Certificate, error) {
	cert, err := smx509.ParseCertificate(der)
	if err == nil {
		return cert, nil
	}
	if cert, ferr := parseCertificateSkeleton(der); ferr == nil {
		return cert, nil
	}
	return nil, fmt.Errorf("%w: certificate: %v", ErrMalformed, err)
}

// certFields are the elements of a certificate (RFC 5280 §4.1) that locate
// its key and its own signature, as found:
//
//	Certificate ::= SEQUENCE { tbsCertificate TBSCertificate,
//	    signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
//	TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
//	    serialNumber INTEGER, signature AlgorithmIdentifier, issuer Name,
//	    validity Validity, subject Name, subjectPublicKeyInfo SubjectPublicKeyInfo, ... }
type certFields struct {
	outer, tbs, sigAlg                               element
	version, serial, issuer, validity, subject, spki element
	hasVersion                                       bool
	sigValue                                         []byte
	cr, tr                                           *reader // inside Certificate and tbsCertificate, for errors
}

func readCertFields(der []byte) (*certFields, error) {
	var f certFields
	r := newReader("Certificate", der)
	var err error
	if f.outer, err = r.expect("", tagSequence); err != nil {
		return nil, err
	}
	if !r.empty() {
		return nil, r.errorf("", "%d byte(s) of trailing data", len(r.b))
	}
	cr := r.enter(f.outer, "")
	if f.tbs, err = cr.expect("tbsCertificate", tagSequence); err != nil {
		return nil, err
	}
	if f.sigAlg, err = cr.expect("signatureAlgorithm", tagSequence); err != nil {
		return nil, err
	}
	if f.sigValue, err = cr.bits("signatureValue"); err != nil {
		return nil, err
	}
	f.cr, f.tr = cr, cr.enter(f.tbs, "tbsCertificate")
	tr := f.tr
	if f.version, f.hasVersion, err = tr.optional("version", tagContext0); err != nil {
		return nil, err
	}
	if f.serial, err = tr.expect("serialNumber", tagInteger); err != nil {
		return nil, err
	}
	if _, err := tr.expect("signature", tagSequence); err != nil {
		return nil, err
	}
	if f.issuer, err = tr.expect("issuer", tagSequence); err != nil {
		return nil, err
	}
	if f.validity, err = tr.expect("validity", tagSequence); err != nil {
		return nil, err
	}
	if f.subject, err = tr.expect("subject", tagSequence); err != nil {
		return nil, err
	}
	if f.spki, err = tr.expect("subjectPublicKeyInfo", tagSequence); err != nil {
		return nil, err
	}
	return &f, nil
}

// parseCertificateSkeleton decodes the certFields of der into a Certificate.
func parseCertificateSkeleton(der []byte) (*smx509.Certificate, error) {
	f, err := readCertFields(der)
	if err != nil {
		return nil, err
	}
	tr := f.tr
	c := &smx509.Certificate{
		Raw: f.outer.raw, RawTBSCertificate: f.tbs.raw, Signature: f.sigValue, Version: 1,
		RawIssuer: f.issuer.raw, RawSubject: f.subject.raw, RawSubjectPublicKeyInfo: f.spki.raw,
	}
	if alg, err := f.cr.enter(f.sigAlg, "signatureAlgorithm").oid("algorithm"); err == nil {
		switch {
		case alg.Equal(OIDSM2WithSM3):
			c.SignatureAlgorithm = smx509.SM2WithSM3
		case alg.Equal(OIDECDSAWithSHA256):
			c.SignatureAlgorithm = smx509.ECDSAWithSHA256
		}
	}
	if f.hasVersion {
		n, err := tr.enter(f.version, "version").smallInt("")
		if err != nil {
			return nil, err
		}
		c.Version = n + 1
	}
	if len(f.serial.body) == 0 {
		return nil, tr.errorAt("serialNumber", f.serial.off, "empty INTEGER")
	}
	c.SerialNumber = new(big.Int).SetBytes(f.serial.body)
	if f.serial.body[0]&0x80 != 0 { // two's complement negative
		c.SerialNumber.Sub(c.SerialNumber, new(big.Int).Lsh(big.NewInt(1), uint(8*len(f.serial.body))))
	}
	vr := tr.enter(f.validity, "validity")
	if c.NotBefore, err = vr.time("notBefore"); err != nil {
		return nil, err
	}
	if c.NotAfter, err = vr.time("notAfter"); err != nil {
		return nil, err
	}
	if c.PublicKey, err = smx509.ParsePKIXPublicKey(f.spki.raw); err != nil {
		return nil, tr.errorAt("subjectPublicKeyInfo", f.spki.off, "%v", err)
	}
	switch c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		c.PublicKeyAlgorithm = smx509.ECDSA
	case *rsa.PublicKey:
		c.PublicKeyAlgorithm = smx509.RSA
	}
	c.Issuer, c.Subject = parseName(f.issuer.raw), parseName(f.subject.raw)
	return c, nil
}

// parseName decodes an X.501 Name best-effort: an undecodable name is left
// empty (its raw bytes remain in RawSubject / RawIssuer).
func parseName(der []byte) pkix.Name {
	var rdns pkix.RDNSequence
	var n pkix.Name
	if rest, err := asn1.Unmarshal(der, &rdns); err == nil && len(rest) == 0 {
		n.FillFromRDNSequence(&rdns)
	}
	return n
}
