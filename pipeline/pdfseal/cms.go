package pdfseal

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha1"   // registers crypto.SHA1 for verifying old signatures
	_ "crypto/sha512" // registers crypto.SHA384 and crypto.SHA512
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"slices"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/cms"
)

// This file makes (with pipeline/cms) and checks the CMS SignedData (RFC
// 5652 §5; GM/T 0010 and GB/T 35275 for SM2) held in a PDF signature's
// /Contents. It checks it here rather than with
// github.com/emmansun/gmsm/pkcs7, whose verifier re-encodes the signed
// attributes before checking the signature, while a verifier must check
// the bytes that were signed. The tests cross-check the output with
// gmsm's pkcs7 and with OpenSSL.

// Object identifiers.
var (
	oidData              = cms.OIDData
	oidSignedData        = cms.OIDSignedData
	oidSM2SignedData     = cms.OIDSM2SignedData
	oidAttrContentType   = cms.OIDAttrContentType
	oidAttrMessageDigest = cms.OIDAttrMessageDigest
	oidAttrSigningTime   = cms.OIDAttrSigningTime

	oidSM3    = cms.OIDSM3
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256 = cms.OIDSHA256
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidSM2Sign          = cms.OIDSM2Sign
	oidSM2WithSM3       = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}
	oidSM2PublicKey     = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
	oidECPublicKey      = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidRSAWithDigestArc = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1} // sha1WithRSAEncryption (.5), sha256WithRSAEncryption (.11), …
	oidECDSAWithArc     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4}     // ecdsa-with-SHA1 (.1), ecdsa-with-SHA256 (.3.2), …
)

// digestAlgorithm is a message digest a signature may use.
type digestAlgorithm struct {
	name string
	oid  asn1.ObjectIdentifier
	hash crypto.Hash // zero for SM3
	weak bool        // collisions are practical: no longer acceptable
}

func (d digestAlgorithm) new() hash.Hash {
	if d.hash == 0 {
		return sm3.New()
	}
	return d.hash.New()
}

var (
	digestSM3    = digestAlgorithm{name: "SM3", oid: oidSM3}
	digestSHA256 = digestAlgorithm{name: "SHA-256", oid: oidSHA256, hash: crypto.SHA256}

	digestAlgorithms = []digestAlgorithm{
		digestSM3,
		digestSHA256,
		{name: "SHA-384", oid: oidSHA384, hash: crypto.SHA384},
		{name: "SHA-512", oid: oidSHA512, hash: crypto.SHA512},
		{name: "SHA-224", oid: oidSHA224, hash: crypto.SHA224},
		{name: "SHA-1", oid: oidSHA1, hash: crypto.SHA1, weak: true},
	}
)

func digestByOID(oid asn1.ObjectIdentifier) (digestAlgorithm, bool) {
	for _, d := range digestAlgorithms {
		if d.oid.Equal(oid) {
			return d, true
		}
	}
	return digestAlgorithm{}, false
}

// cmsSigner makes the detached SignedData of a PDF signature
// (pipeline/cms).
type cmsSigner struct {
	key   crypto.Signer
	chain []*smx509.Certificate
	form  cms.Form

	// pades makes a PAdES (CAdES) SignedData: no signingTime, an ESS
	// signing-certificate-v2 attribute (essCertV2, its value), /SubFilter
	// /ETSI.CAdES.detached.
	pades     bool
	essCertV2 []byte
	// stamper, if set, stamps the signature value: the token goes into an
	// unsigned signature-time-stamp attribute, within stampReserve bytes.
	stamper      TimeStamper
	stampReserve int
}

func (s *cmsSigner) subFilter() string {
	if s.pades {
		return SubFilterCAdES
	}
	return SubFilterPKCS7
}

// digestAlgorithm is the form's digest: SM3 for SM2, else SHA-256.
func (s *cmsSigner) digestAlgorithm() digestAlgorithm {
	if s.form.SM2 {
		return digestSM3
	}
	return digestSHA256
}

// newCMSSigner checks that key and chain belong together and picks the CMS
// form the key's algorithm calls for.
func newCMSSigner(key crypto.Signer, chain []*smx509.Certificate) (*cmsSigner, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no signing key", ErrSigner)
	}
	if len(chain) == 0 || chain[0] == nil {
		return nil, fmt.Errorf("%w: no signer certificate", ErrSigner)
	}
	for i, c := range chain {
		if c == nil {
			return nil, fmt.Errorf("%w: chain[%d] is nil", ErrSigner, i)
		}
	}
	leaf := chain[0]
	pub := key.Public()
	eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(leaf.PublicKey) {
		return nil, fmt.Errorf("%w: certificate %q (serial %x) is not the signing key's", ErrSigner, leaf.Subject.String(), leaf.SerialNumber)
	}
	form, err := cms.FormOf(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %T keys have no adbe.pkcs7.detached signature here (SM2, ECDSA or RSA needed)", ErrSigner, pub)
	}
	return &cmsSigner{key: key, chain: chain, form: form}, nil
}

// maxSize is an upper bound of the DER SignedData's length for a signature
// made at t: the exact length with the longest possible signature value.
func (s *cmsSigner) maxSize(t time.Time) (int, error) {
	attrs, err := s.signedAttributes(make([]byte, s.digestAlgorithm().new().Size()), t)
	if err != nil {
		return 0, err
	}
	n := len(s.form.Encode(s.chain, attrs, make([]byte, s.form.MaxSignatureLen), nil))
	if s.stamper != nil {
		n += s.stampReserve + timeStampOverhead
	}
	return n, nil
}

// sign returns the DER SignedData for a document digest.
func (s *cmsSigner) sign(ctx context.Context, digest []byte, t time.Time) ([]byte, error) {
	attrs, err := s.signedAttributes(digest, t)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sig, err := s.form.Sign(s.key, attrs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
	}
	var unsigned []byte
	if s.stamper != nil {
		// ETSI EN 319 122-1 §5.3: the signature-time-stamp's imprint is
		// the hash of the SignerInfo's signature value.
		token, err := stamp(ctx, s.stamper, sig, s.stampReserve)
		if err != nil {
			return nil, err
		}
		unsigned = timeStampAttribute(token)
	}
	return s.form.Encode(s.chain, attrs, sig, unsigned), nil
}

// signedAttributes returns the DER SET OF Attribute that is signed:
// contentType, signingTime and messageDigest (RFC 5652 §11), in DER order;
// for PAdES contentType, messageDigest and signing-certificate-v2 (ETSI
// EN 319 142-1 §6.3: no signingTime, the time claimed is /M).
func (s *cmsSigner) signedAttributes(digest []byte, t time.Time) ([]byte, error) {
	if s.pades {
		return cms.Attributes(
			cms.Attribute(oidAttrContentType, cms.Marshal(s.form.DataType)),
			cms.Attribute(oidAttrMessageDigest, cms.TLV(0x04, digest)),
			cms.Attribute(cms.OIDAttrSigningCertificateV2, s.essCertV2),
		), nil
	}
	attrs, err := s.form.SignedAttributes(digest, t)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
	}
	return attrs, nil
}

// Parsing side. Field types keep raw encodings where a signature covers
// them or where matching must be byte-exact.

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo struct {
		EContentType asn1.ObjectIdentifier
		EContent     asn1.RawValue `asn1:"explicit,optional,tag:0"`
	}
	Certificates asn1.RawValue `asn1:"optional,tag:0"`
	CRLs         asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos  []signerInfo  `asn1:"set"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type cmsAttribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// verifyCMS checks a detached SignedData over the bytes c covers and
// records the outcome in r: Status, Err, certificates, signer, signing
// time, digest algorithm.
func verifyCMS(r *Result, der []byte, c covered) {
	fail := func(status Status, err error) {
		r.Status, r.Err = status, err
	}
	// Some signers (NSS, as poppler's pdfsig uses it) write BER, with
	// indefinite lengths: read as DER, which leaves the signed
	// attributes, DER already, as they are. What is not even BER is left
	// to the DER parser to refuse.
	if d, _, err := berToDER(der); err == nil {
		der = d
	}
	var ci contentInfo
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		// Trailing bytes are the zero padding of /Contents and are ignored.
		fail(Invalid, fmt.Errorf("%w: CMS ContentInfo (starts %x): %v", ErrSignatureFormat, der[:min(len(der), 8)], err))
		return
	}
	if !ci.ContentType.Equal(oidSignedData) && !ci.ContentType.Equal(oidSM2SignedData) {
		fail(Invalid, fmt.Errorf("%w: CMS content type %v is not signedData", ErrSignatureFormat, ci.ContentType))
		return
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		fail(Invalid, fmt.Errorf("%w: SignedData: %v", ErrSignatureFormat, err))
		return
	}
	r.Certificates = parseCertificates(sd.Certificates.Bytes)
	if len(sd.EncapContentInfo.EContent.FullBytes) > 0 {
		fail(Invalid, fmt.Errorf("%w: SignedData encapsulates content; a detached signature must not", ErrSignatureFormat))
		return
	}
	if len(sd.SignerInfos) != 1 {
		fail(Indeterminate, fmt.Errorf("%w: %d SignerInfos, one expected", ErrUnsupported, len(sd.SignerInfos)))
		return
	}
	si := sd.SignerInfos[0]
	dig, ok := digestByOID(si.DigestAlgorithm.Algorithm)
	if !ok {
		fail(Indeterminate, fmt.Errorf("%w: digest algorithm %v", ErrUnsupported, si.DigestAlgorithm.Algorithm))
		return
	}
	r.DigestAlgorithm = dig.name
	contentDigest := c.digest(dig)

	var signedAttrs []byte // what the signature covers when attributes are present
	var attrList []cmsAttribute
	if len(si.SignedAttrs.FullBytes) > 0 {
		// RFC 5652 §5.4: the signature is over the attributes' DER with the
		// SET OF tag, not the [0] IMPLICIT tag they are stored under.
		signedAttrs = slices.Clone(si.SignedAttrs.FullBytes)
		signedAttrs[0] = 0x31
		md, ct, st, err := readSignedAttributes(signedAttrs)
		if err == nil {
			_, err = asn1.UnmarshalWithParams(signedAttrs, &attrList, "set")
		}
		if err != nil {
			fail(Invalid, err)
			return
		}
		// RFC 5652 §11.1: the contentType attribute names the signed
		// content's type; a different one would let the signature be
		// replayed over another kind of content.
		if ct != nil && !ct.Equal(sd.EncapContentInfo.EContentType) {
			fail(Invalid, fmt.Errorf("%w: contentType attribute %v differs from the encapsulated content type %v", ErrSignatureFormat, ct, sd.EncapContentInfo.EContentType))
			return
		}
		r.SigningTime = st
		if !bytes.Equal(md, contentDigest) {
			fail(Invalid, &DigestMismatchError{Algorithm: dig.name, Signed: md, Computed: contentDigest})
			return
		}
	}
	signer := findSigner(r.Certificates, si.SID)
	if signer == nil {
		fail(Indeterminate, fmt.Errorf("%w: no certificate in the CMS matches its SignerInfo", ErrNoSignerCertificate))
		return
	}
	r.Signer = signer
	if status, err := checkSignatureValue(signer, si, dig, signedAttrs, contentDigest, c.parts); err != nil {
		fail(status, err)
		return
	}
	// ESS signing-certificate(-v2): when present it must name the signer;
	// CAdES requires it (ETSI EN 319 142-1 §6.3, EN 319 122-1 §5.2.2.3),
	// lest another certificate of the same key pass for the signer's.
	ess, err := checkSigningCertificate(attrList, signer)
	switch {
	case err != nil && errors.Is(err, ErrUnsupported):
		fail(Indeterminate, err)
		return
	case err != nil:
		fail(Invalid, err)
		return
	case !ess && r.SubFilter == SubFilterCAdES:
		fail(Invalid, fmt.Errorf("%w: an %s signature without the ESS signing-certificate(-v2) attribute", ErrSignatureFormat, SubFilterCAdES))
		return
	}
	tokens, err := unsignedTimeStamps(si.UnsignedAttrs)
	if err != nil {
		fail(Invalid, err)
		return
	}
	switch {
	case ci.ContentType.Equal(oidSM2SignedData):
		r.Format = FormatGMT0010
	case r.SubFilter == SubFilterCAdES && len(tokens) > 0:
		r.Format = FormatPAdESBT
	case r.SubFilter == SubFilterCAdES:
		r.Format = FormatPAdESBB
	default:
		r.Format = FormatPKCS7
	}
	if dig.weak {
		fail(Indeterminate, fmt.Errorf("%w: the signature verifies but uses %s", ErrWeakAlgorithm, dig.name))
		return
	}
	r.Status, r.Err = Valid, nil
	for _, token := range tokens {
		if checkTimeStamp(r, token, si.Signature); r.Status != Valid {
			return
		}
	}
}

// readSignedAttributes returns the messageDigest, contentType (nil if
// absent) and signingTime (zero if absent) attributes from DER signed
// attributes (a SET OF Attribute).
func readSignedAttributes(der []byte) (digest []byte, contentType asn1.ObjectIdentifier, signingTime time.Time, err error) {
	var attrs []cmsAttribute
	if rest, err := asn1.UnmarshalWithParams(der, &attrs, "set"); err != nil || len(rest) > 0 {
		return nil, nil, time.Time{}, fmt.Errorf("%w: signed attributes: %v", ErrSignatureFormat, err)
	}
	seen := false
	for _, a := range attrs {
		switch {
		case a.Type.Equal(oidAttrMessageDigest):
			if seen {
				return nil, nil, time.Time{}, fmt.Errorf("%w: two messageDigest attributes", ErrSignatureFormat)
			}
			seen = true
			rest, err := asn1.Unmarshal(a.Values.Bytes, &digest)
			if err != nil || len(rest) > 0 {
				return nil, nil, time.Time{}, fmt.Errorf("%w: messageDigest attribute must hold one OCTET STRING (%x)", ErrSignatureFormat, a.Values.Bytes)
			}
		case a.Type.Equal(oidAttrContentType):
			if _, err := asn1.Unmarshal(a.Values.Bytes, &contentType); err != nil {
				return nil, nil, time.Time{}, fmt.Errorf("%w: contentType attribute (%x): %v", ErrSignatureFormat, a.Values.Bytes, err)
			}
		case a.Type.Equal(oidAttrSigningTime):
			// UTCTime or GeneralizedTime; an unreadable time is reported as
			// absent rather than failing an otherwise valid signature.
			var t time.Time
			if _, err := asn1.Unmarshal(a.Values.Bytes, &t); err == nil {
				signingTime = t
			}
		}
	}
	if !seen {
		return nil, nil, time.Time{}, fmt.Errorf("%w: signed attributes lack messageDigest", ErrSignatureFormat)
	}
	return digest, contentType, signingTime, nil
}

// parseCertificates reads the CertificateChoices of a SignedData, keeping
// the X.509 certificates it can parse.
func parseCertificates(b []byte) []*smx509.Certificate {
	var out []*smx509.Certificate
	for len(b) > 0 {
		var raw asn1.RawValue
		rest, err := asn1.Unmarshal(b, &raw)
		if err != nil {
			break
		}
		b = rest
		if raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagSequence {
			continue // attribute certificates and other choices
		}
		if c, err := smx509.ParseCertificate(raw.FullBytes); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// findSigner returns the certificate a SignerIdentifier names (RFC 5652
// §5.3): issuerAndSerialNumber, or [0] subjectKeyIdentifier.
func findSigner(certs []*smx509.Certificate, sid asn1.RawValue) *smx509.Certificate {
	switch {
	case sid.Class == asn1.ClassUniversal && sid.Tag == asn1.TagSequence:
		var ias struct {
			Issuer asn1.RawValue
			Serial asn1.RawValue
		}
		if _, err := asn1.Unmarshal(sid.FullBytes, &ias); err != nil || len(ias.Serial.Bytes) == 0 {
			return nil
		}
		serial := new(big.Int).SetBytes(ias.Serial.Bytes)
		if ias.Serial.Bytes[0]&0x80 != 0 { // negative: two's complement
			serial.Sub(serial, new(big.Int).Lsh(big.NewInt(1), uint(8*len(ias.Serial.Bytes))))
		}
		for _, c := range certs {
			if bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(serial) == 0 {
				return c
			}
		}
	case sid.Class == asn1.ClassContextSpecific && sid.Tag == 0:
		for _, c := range certs {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, sid.Bytes) {
				return c
			}
		}
	}
	return nil
}

// checkSignatureValue verifies the SignerInfo's signature with the signer's
// public key. With signed attributes the signature covers them; without,
// it covers the content itself (RFC 5652 §5.4).
func checkSignatureValue(cert *smx509.Certificate, si signerInfo, dig digestAlgorithm, signedAttrs, contentDigest []byte, parts []span) (Status, error) {
	alg := si.SignatureAlgorithm.Algorithm
	bad := func(format string, args ...any) (Status, error) {
		return Invalid, fmt.Errorf("%w: "+format, append([]any{ErrBadSignature}, args...)...)
	}
	// digestOf is the digest the signature is computed on.
	digestOf := func() []byte {
		if signedAttrs == nil {
			return contentDigest
		}
		h := dig.new()
		h.Write(signedAttrs)
		return h.Sum(nil)
	}
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if sm2.IsSM2PublicKey(pub) {
			if !(alg.Equal(oidSM2Sign) || alg.Equal(oidSM2WithSM3) || alg.Equal(oidSM2PublicKey) || alg.Equal(oidECPublicKey)) {
				return bad("signature algorithm %v does not fit the signer's SM2 key", alg)
			}
			if dig.hash != 0 {
				return Indeterminate, fmt.Errorf("%w: SM2 signature with %s digest", ErrUnsupported, dig.name)
			}
			// GM/T 0009: e = SM3(Z_A ‖ M) with the default signer ID.
			h, err := sm2.NewHash(pub)
			if err != nil {
				return bad("SM2 public key: %v", err)
			}
			if signedAttrs != nil {
				h.Write(signedAttrs)
			} else {
				for _, p := range parts {
					p.hashTo(h, 0)
				}
			}
			if !sm2.VerifyASN1(pub, h.Sum(nil), si.Signature) {
				return bad("SM2 signature of %q", cert.Subject.CommonName)
			}
			return Valid, nil
		}
		if !(alg.Equal(oidECPublicKey) || isUnder(alg, oidECDSAWithArc)) {
			return bad("signature algorithm %v does not fit the signer's ECDSA key", alg)
		}
		if !ecdsa.VerifyASN1(pub, digestOf(), si.Signature) {
			return bad("ECDSA signature of %q", cert.Subject.CommonName)
		}
		return Valid, nil
	case *rsa.PublicKey:
		if !isUnder(alg, oidRSAWithDigestArc) {
			return bad("signature algorithm %v does not fit the signer's RSA key", alg)
		}
		if alg.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}) {
			return Indeterminate, fmt.Errorf("%w: RSASSA-PSS signatures", ErrUnsupported)
		}
		if dig.hash == 0 {
			return Indeterminate, fmt.Errorf("%w: RSA signature with %s digest", ErrUnsupported, dig.name)
		}
		if err := rsa.VerifyPKCS1v15(pub, dig.hash, digestOf(), si.Signature); err != nil {
			return bad("RSA signature of %q: %v", cert.Subject.CommonName, err)
		}
		return Valid, nil
	default:
		return Indeterminate, fmt.Errorf("%w: signer key type %T", ErrUnsupported, cert.PublicKey)
	}
}

// isUnder reports whether oid lies in the arc (is arc or a descendant).
func isUnder(oid, arc asn1.ObjectIdentifier) bool {
	return len(oid) >= len(arc) && slices.Equal(oid[:len(arc)], arc)
}
