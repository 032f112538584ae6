package pdfseal

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/cms"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/tsa"
)

// This file holds what PAdES adds to the CMS (ETSI EN 319 142-1, EN 319
// 122-1): the ESS signing-certificate attributes, which bind the signer's
// certificate into what is signed, and the signature-time-stamp, an RFC
// 3161 token over the signature value kept among the unsigned attributes.

var (
	oidAttrSigningCertificate = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12} // RFC 2634 §5.4, SHA-1
	oidAttrTimeStampToken     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14} // RFC 3161 Appendix A
)

// essCertID is ESSCertID (RFC 2634) and ESSCertIDv2 (RFC 5035) alike: v1
// has no hash algorithm (SHA-1), v2's defaults to SHA-256.
type essCertID struct {
	HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"`
	CertHash      []byte
	IssuerSerial  struct {
		Issuer []asn1.RawValue // GeneralNames
		Serial *big.Int
	} `asn1:"optional"`
}

type signingCertificate struct {
	Certs    []essCertID
	Policies asn1.RawValue `asn1:"optional"`
}

// checkSigningCertificate looks for the ESS signing-certificate(-v2)
// attribute among the signed attributes and checks that its first
// ESSCertID names signer (RFC 5035 §5.4: the first is the signer's). It
// reports whether one was found; err says it names another certificate or
// does not decode.
func checkSigningCertificate(attrs []cmsAttribute, signer *smx509.Certificate) (found bool, err error) {
	for _, a := range attrs {
		v2 := a.Type.Equal(cms.OIDAttrSigningCertificateV2)
		if !v2 && !a.Type.Equal(oidAttrSigningCertificate) {
			continue
		}
		if found {
			return true, fmt.Errorf("%w: two ESS signing-certificate attributes", ErrSignatureFormat)
		}
		found = true
		var sc signingCertificate
		if rest, err := asn1.Unmarshal(a.Values.Bytes, &sc); err != nil || len(rest) > 0 || len(sc.Certs) == 0 {
			return true, fmt.Errorf("%w: ESS signing-certificate attribute (%x): %v", ErrSignatureFormat, a.Values.Bytes[:min(len(a.Values.Bytes), 16)], err)
		}
		id := sc.Certs[0]
		var sum []byte
		switch alg := id.HashAlgorithm.Algorithm; {
		case !v2:
			s := sha1.Sum(signer.Raw)
			sum = s[:]
		case len(alg) == 0:
			s := sha256.Sum256(signer.Raw)
			sum = s[:]
		default:
			d, ok := digestByOID(alg)
			if !ok {
				return true, fmt.Errorf("%w: ESS signing-certificate-v2 hash %v", ErrUnsupported, alg)
			}
			h := d.new()
			h.Write(signer.Raw)
			sum = h.Sum(nil)
		}
		if !bytes.Equal(sum, id.CertHash) {
			return true, fmt.Errorf("%w: the ESS signing-certificate attribute names a certificate hashing to %x, not the signer %q", ErrBadSignature, id.CertHash, signer.Subject.CommonName)
		}
		if is := id.IssuerSerial; is.Serial != nil {
			named := false
			for _, gn := range is.Issuer {
				if gn.Class == asn1.ClassContextSpecific && gn.Tag == 4 && bytes.Equal(gn.Bytes, signer.RawIssuer) {
					named = true
				}
			}
			if !named || is.Serial.Cmp(signer.SerialNumber) != 0 {
				return true, fmt.Errorf("%w: the ESS signing-certificate attribute names serial %x of another issuer than the signer's", ErrBadSignature, is.Serial)
			}
		}
	}
	return found, nil
}

// timeStampAttribute returns the unsigned attributes ([1] IMPLICIT SET OF
// Attribute) holding a signature-time-stamp token.
func timeStampAttribute(token []byte) []byte {
	return cms.TLV(0xa1, cms.Attribute(oidAttrTimeStampToken, token))
}

// timeStampOverhead bounds what the unsigned attributes around a token
// add: the [1] and the Attribute's headers, the OID, the SET's header.
const timeStampOverhead = 32

// stamp asks the TSA for a token over a signature value and checks that
// the token stamps it and verifies (tsa.VerifyToken).
func stamp(ctx context.Context, stamper TimeStamper, sig []byte, reserve int) ([]byte, error) {
	token, err := stamper.TimeStamp(ctx, sig)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTimeStamp, err)
	}
	if _, err := tsa.VerifyToken(token, sig); err != nil {
		return nil, fmt.Errorf("%w: the TSA's token: %w", ErrTimeStamp, err)
	}
	if len(token) > reserve {
		return nil, fmt.Errorf("%w: the TSA's token of %d bytes exceeds the %d reserved (Options.TimeStampSize)", ErrTimeStamp, len(token), reserve)
	}
	return token, nil
}

// checkTimeStamp verifies a signature-time-stamp token over the signature
// value sig and records it in r. A token that does not stamp sig or whose
// signature does not verify makes the signature Invalid; one that cannot
// be checked (no TSA certificate, an unknown algorithm), Indeterminate.
func checkTimeStamp(r *Result, token, sig []byte) {
	tok, err := tsa.VerifyToken(token, sig)
	if r.TimeStamp == nil {
		r.TimeStamp = tok
	}
	switch {
	case err == nil:
	case errors.Is(err, ses.ErrTimeStampSigner), errors.Is(err, ses.ErrUnsupportedAlgorithm):
		r.Status, r.Err = Indeterminate, fmt.Errorf("%w: %w", ErrTimeStamp, err)
	default:
		r.Status, r.Err = Invalid, fmt.Errorf("%w: %w", ErrTimeStamp, err)
	}
}

// unsignedTimeStamps returns the tokens of the signature-time-stamp
// attributes among the unsigned attributes ([1] IMPLICIT), if any.
func unsignedTimeStamps(unsigned asn1.RawValue) ([][]byte, error) {
	if len(unsigned.FullBytes) == 0 {
		return nil, nil
	}
	set := slices.Clone(unsigned.FullBytes)
	set[0] = 0x31
	var attrs []cmsAttribute
	if rest, err := asn1.UnmarshalWithParams(set, &attrs, "set"); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: unsigned attributes: %v", ErrSignatureFormat, err)
	}
	var tokens [][]byte
	for _, a := range attrs {
		if !a.Type.Equal(oidAttrTimeStampToken) {
			continue
		}
		for rest := a.Values.Bytes; len(rest) > 0; {
			var v asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &v); err != nil {
				return nil, fmt.Errorf("%w: signature-time-stamp attribute: %v", ErrSignatureFormat, err)
			}
			tokens = append(tokens, v.FullBytes)
		}
	}
	return tokens, nil
}
