package trust

import (
	"bytes"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/smx509"
)

// CRL extensions this package understands (RFC 5280 §5.2, §5.3).
var (
	oidAuthorityKeyID = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLNumber      = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidReasonCode     = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidInvalidityDate = asn1.ObjectIdentifier{2, 5, 29, 24}
)

// AddCRL adds a certificate revocation list, DER or PEM ("X509 CRL"). It
// must be signed by a CA already in the pool whose key usage allows
// cRLSign; its entries then apply to the certificates that CA issued. CRLs
// from one issuer accumulate: a serial on any of them is revoked, at the
// earliest time stated.
//
// A CRL with a critical extension this package does not process — a delta
// CRL indicator, an issuing distribution point, an indirect CRL's
// certificate issuer — is refused with ErrUnhandledCritical rather than
// half-applied.
func (p *Pool) AddCRL(der []byte) error {
	crl, err := ParseCRL(der)
	if err != nil {
		return err
	}
	if err := criticalCRLHandled(crl); err != nil {
		return err
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	issuer, err := p.crlIssuer(crl)
	if err != nil {
		return err
	}
	m := p.revoked[string(issuer.Raw)]
	if m == nil {
		m = make(map[string]revocation)
		p.revoked[string(issuer.Raw)] = m
	}
	for _, entry := range crl.RevokedCertificateEntries {
		k := entry.SerialNumber.String()
		if have, ok := m[k]; ok && !entry.RevocationTime.Before(have.at) {
			continue
		}
		m[k] = revocation{at: entry.RevocationTime, reason: entry.ReasonCode}
	}
	return nil
}

// crlIssuer finds the pool certificate that signed crl.
func (p *Pool) crlIssuer(crl *smx509.RevocationList) (*smx509.Certificate, error) {
	var firstErr error
	for _, ca := range p.bySubject[string(crl.RawIssuer)] {
		if len(crl.AuthorityKeyId) > 0 && len(ca.SubjectKeyId) > 0 && !bytes.Equal(crl.AuthorityKeyId, ca.SubjectKeyId) {
			continue
		}
		err := crl.CheckSignatureFrom(ca)
		if err == nil {
			return ca, nil
		}
		var cv smx509.ConstraintViolationError
		if errors.As(err, &cv) {
			err = certErr(ca, ErrInvalidCA, "may not sign CRLs (cA %v, key usage %s)", ca.IsCA, keyUsageString(ca.KeyUsage))
		} else {
			err = fmt.Errorf("%w: CRL signature does not verify with the key of %s: %v", ErrUnknownAuthority, Name(ca), err)
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, fmt.Errorf("%w: CRL issuer %q is not in the trust pool", ErrUnknownAuthority, crl.Issuer.String())
}

// ParseCRL parses a certificate revocation list, DER or PEM ("X509 CRL").
// Errors wrap ErrMalformed. The signature is not checked.
func ParseCRL(der []byte) (*smx509.RevocationList, error) {
	if block, _ := pem.Decode(der); block != nil {
		if block.Type != "X509 CRL" {
			return nil, fmt.Errorf("%w: PEM block %q, want \"X509 CRL\"", ErrMalformed, block.Type)
		}
		der = block.Bytes
	}
	crl, err := smx509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("%w: CRL: %v", ErrMalformed, err)
	}
	return crl, nil
}

// criticalCRLHandled refuses a CRL with a critical extension, of its own or
// of an entry, that this package does not process (RFC 5280 §5.2, §5.3).
func criticalCRLHandled(crl *smx509.RevocationList) error {
	for _, e := range crl.Extensions {
		if e.Critical && !e.Id.Equal(oidAuthorityKeyID) && !e.Id.Equal(oidCRLNumber) {
			return fmt.Errorf("%w: CRL from %q has critical extension %v", ErrUnhandledCritical, crl.Issuer.String(), e.Id)
		}
	}
	for _, entry := range crl.RevokedCertificateEntries {
		for _, e := range entry.Extensions {
			if e.Critical && !e.Id.Equal(oidReasonCode) && !e.Id.Equal(oidInvalidityDate) {
				return fmt.Errorf("%w: CRL from %q: entry for serial %X has critical extension %v", ErrUnhandledCritical, crl.Issuer.String(), entry.SerialNumber, e.Id)
			}
		}
	}
	return nil
}
