package ses

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// ParseSeal decodes a SESeal of any supported version (see [Seal.Version]).
// The input is copied; the returned Seal does not alias it. Errors wrap
// [ErrMalformed] and are [*ParseError] values.
func ParseSeal(der []byte) (*Seal, error) {
	if err := checkSize("SESeal", der); err != nil {
		return nil, err
	}
	return parseSealBytes(bytes.Clone(der))
}

// parseSealBytes decodes a whole SESeal; the result aliases der.
func parseSealBytes(der []byte) (*Seal, error) {
	if err := checkSize("SESeal", der); err != nil {
		return nil, err
	}
	r := newReader("SESeal", der)
	s, err := parseSeal(r, "")
	if err != nil {
		return nil, err
	}
	if !r.empty() {
		return nil, r.errorf("", "%d byte(s) of trailing data", len(r.b))
	}
	return s, nil
}

// checkSize enforces MaxSize before any decoding.
func checkSize(structure string, der []byte) error {
	if len(der) > MaxSize {
		return &ParseError{Structure: structure, Detail: fmt.Sprintf("%d bytes exceed the %d byte limit", len(der), MaxSize)}
	}
	return nil
}

// parseSeal reads one SESeal element, named name, from r.
//
// GB/T 38540 §6.1 (versions 4 and 5):
//
//	SESeal ::= SEQUENCE { eSealInfo SES_SealInfo, cert OCTET STRING,
//	    signAlgID OBJECT IDENTIFIER, signedValue BIT STRING,
//	    timeStamp [0] BIT STRING OPTIONAL }  -- version 5 only
//
// GM/T 0031-2014 §6.1 (versions 1 to 3):
//
//	SESeal ::= SEQUENCE { esealInfo SES_SealInfo, signInfo SES_SignInfo }
//	SES_SignInfo ::= SEQUENCE { cert OCTET STRING,
//	    signatureAlgorithm OBJECT IDENTIFIER, signData BIT STRING }
//
// The layout is recognised by the element after SES_SealInfo, not by the
// version number, so a mislabelled seal still decodes and verifies.
func parseSeal(r *reader, name string) (*Seal, error) {
	outer, err := r.expect(name, tagSequence)
	if err != nil {
		return nil, err
	}
	sr := r.enter(outer, name)
	info, err := sr.expect("eSealInfo", tagSequence)
	if err != nil {
		return nil, err
	}
	s := &Seal{Raw: outer.raw}
	if err := s.parseSealInfo(sr.enter(info, "eSealInfo")); err != nil {
		return nil, err
	}
	switch t, _ := sr.peek(); t {
	case tagSequence: // GM/T 0031-2014 SES_SignInfo
		si, err := sr.next("signInfo")
		if err != nil {
			return nil, err
		}
		ir := sr.enter(si, "signInfo")
		cert, err := ir.expect("cert", tagOctetString)
		if err != nil {
			return nil, err
		}
		alg, err := ir.expect("signatureAlgorithm", tagOID)
		if err != nil {
			return nil, err
		}
		if s.SignatureAlgorithm, err = ir.oidOf("signatureAlgorithm", alg); err != nil {
			return nil, err
		}
		if s.SignatureValue, err = ir.bits("signData"); err != nil {
			return nil, err
		}
		s.MakerCert, s.legacy = cert.body, true
		// GM/T 0031-2014 §6.1: the maker signs the DER of
		// SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }, its
		// components taken verbatim from the seal.
		s.signed = tlv(tagSequence, info.raw, cert.raw, alg.raw)
	case tagOctetString: // GB/T 38540 §6.1
		if s.MakerCert, err = sr.octets("cert"); err != nil {
			return nil, err
		}
		if s.SignatureAlgorithm, err = sr.oid("signAlgID"); err != nil {
			return nil, err
		}
		if s.SignatureValue, err = sr.bits("signedValue"); err != nil {
			return nil, err
		}
		if s.TimeStamp, err = sr.timeStamp("timeStamp"); err != nil {
			return nil, err
		}
		// GB/T 38540 §6.1: signedValue is over the DER of eSealInfo.
		s.signed = info.raw
	default:
		if sr.empty() {
			return nil, sr.errorf("signInfo", "missing")
		}
		return nil, sr.errorf("signInfo", "found %s, want SES_SignInfo (SEQUENCE) or cert (OCTET STRING)", tagName(t))
	}
	return s, sr.skipRest()
}

// parseSealInfo reads SES_SealInfo (GB/T 38540 §6.1, GM/T 0031-2014 §6.1):
//
//	SES_SealInfo ::= SEQUENCE { header SES_Header, esID IA5String,
//	    property SES_ESPropertyInfo, picture SES_ESPictrueInfo,
//	    extDatas ExtensionDatas OPTIONAL }
//	SES_Header ::= SEQUENCE { ID IA5String ("ES"), version INTEGER, Vid IA5String }
func (s *Seal) parseSealInfo(r *reader) error {
	h, err := r.expect("header", tagSequence)
	if err != nil {
		return err
	}
	hr := r.enter(h, "header")
	at := hr.off
	magic, err := hr.str("ID")
	if err != nil {
		return err
	}
	if magic != "ES" {
		return hr.errorAt("ID", at, "file identifier %q, want \"ES\"", magic)
	}
	if s.Version, err = hr.smallInt("version"); err != nil {
		return err
	}
	if s.VendorID, err = hr.str("Vid"); err != nil {
		return err
	}
	if s.ID, err = r.str("esID"); err != nil {
		return err
	}
	p, err := r.expect("property", tagSequence)
	if err != nil {
		return err
	}
	if err := s.parseProperty(r.enter(p, "property")); err != nil {
		return err
	}
	pic, err := r.expect("picture", tagSequence)
	if err != nil {
		return err
	}
	if err := s.parsePicture(r.enter(pic, "picture")); err != nil {
		return err
	}
	if s.Extensions, err = r.extensions("extDatas"); err != nil {
		return err
	}
	return r.skipRest()
}

// parseProperty reads SES_ESPropertyInfo. GB/T 38540 §6.1:
//
//	SEQUENCE { type INTEGER, name UTF8String, certListType INTEGER,
//	    certList SES_CertList, createDate GeneralizedTime,
//	    validStart GeneralizedTime, validEnd GeneralizedTime }
//
// GM/T 0031-2014 §6.1 has no certListType, a SEQUENCE OF cert and UTCTime.
// Either time type is accepted in either layout.
func (s *Seal) parseProperty(r *reader) error {
	var err error
	if s.Type, err = r.smallInt("type"); err != nil {
		return err
	}
	if s.Name, err = r.str("name"); err != nil {
		return err
	}
	s.CertListType = CertListCerts
	if t, _ := r.peek(); t == tagInteger {
		if s.CertListType, err = r.smallInt("certListType"); err != nil {
			return err
		}
	}
	list, err := r.expect("certList", tagSequence)
	if err != nil {
		return err
	}
	if err := s.parseCertList(r.enter(list, "certList")); err != nil {
		return err
	}
	if s.CreateDate, err = r.time("createDate"); err != nil {
		return err
	}
	if s.ValidStart, err = r.time("validStart"); err != nil {
		return err
	}
	if s.ValidEnd, err = r.time("validEnd"); err != nil {
		return err
	}
	return r.skipRest()
}

// parseCertList reads SES_CertList, an untagged CHOICE whose branch
// certListType selects (GB/T 38540 §6.1):
//
//	certs SEQUENCE OF OCTET STRING                 -- certListType 1
//	certDigestList SEQUENCE OF SEQUENCE { type PrintableString, value OCTET STRING } -- 2
//
// For any type other than 2, an OCTET STRING entry is a certificate, a
// SEQUENCE entry is taken as a certificate embedded without its OCTET STRING
// wrapper, and any other entry (one producer writes IA5String "1") is skipped.
func (s *Seal) parseCertList(r *reader) error {
	for i := 0; !r.empty(); i++ {
		name := fmt.Sprintf("[%d]", i)
		e, err := r.next(name)
		if err != nil {
			return err
		}
		switch {
		case s.CertListType == CertListDigests && e.tag == tagSequence:
			dr := r.enter(e, name)
			var d CertDigest
			if d.Type, err = dr.str("type"); err != nil {
				return err
			}
			v, err := dr.expect("value", tagOctetString, tagBitString)
			if err != nil {
				return err
			}
			d.Value = v.body
			if v.tag == tagBitString {
				if d.Value, err = dr.bitsOf("value", v); err != nil {
					return err
				}
			}
			s.CertDigests = append(s.CertDigests, d)
		case s.CertListType != CertListDigests && e.tag == tagOctetString:
			s.Certs = append(s.Certs, e.body)
		case s.CertListType != CertListDigests && e.tag == tagSequence:
			s.Certs = append(s.Certs, e.raw)
		}
	}
	return nil
}

// parsePicture reads SES_ESPictrueInfo (GB/T 38540 §6.1):
//
//	SEQUENCE { type IA5String, data OCTET STRING, width INTEGER, height INTEGER }
func (s *Seal) parsePicture(r *reader) error {
	var err error
	if s.Picture.Type, err = r.str("type"); err != nil {
		return err
	}
	if s.Picture.Data, err = r.octets("data"); err != nil {
		return err
	}
	if s.Picture.WidthMM, err = r.smallInt("width"); err != nil {
		return err
	}
	if s.Picture.HeightMM, err = r.smallInt("height"); err != nil {
		return err
	}
	return r.skipRest()
}

// SignedData returns the exact bytes the seal maker signed: the DER of
// SES_SealInfo as found (GB/T 38540 §6.1), or for GM/T 0031-2014 seals the
// SEQUENCE of SES_SealInfo, cert and signatureAlgorithm built from the
// original components (GM/T 0031-2014 §6.1). The caller must not modify it.
func (s *Seal) SignedData() []byte { return s.signed }

// VerifyMaker checks the seal maker's signature (GB/T 38540 §6.3 step 2)
// over the original signed bytes and returns the maker's certificate, parsed
// with [ParseCertificate]. It does not check the certificate's chain,
// validity or revocation (§6.3 step 3).
//
// The error wraps [ErrSignature] when the signature does not verify,
// [ErrUnsupportedAlgorithm] for an algorithm other than SM2-with-SM3 or
// ECDSA-with-SHA256, and [ErrMalformed] when the maker certificate does not
// parse or the Seal did not come from [ParseSeal].
func (s *Seal) VerifyMaker() (*smx509.Certificate, error) {
	if s.signed == nil {
		return nil, fmt.Errorf("%w: seal was not decoded by ParseSeal", ErrMalformed)
	}
	return verify("seal maker", s.MakerCert, s.SignatureAlgorithm, s.signed, s.SignatureValue)
}

// HasSigner reports whether certDER is in the seal's certificate list
// (GB/T 38540 §7.3 c): byte-equal to one of Certs, or hashing to one of
// CertDigests with the digest's algorithm (SM3, SHA-1 or SHA-256, named in
// any case, with or without a hyphen, or by OID).
func (s *Seal) HasSigner(certDER []byte) bool {
	if len(certDER) == 0 {
		return false
	}
	for _, c := range s.Certs {
		if bytes.Equal(c, certDER) {
			return true
		}
	}
	for _, d := range s.CertDigests {
		if h := digestByName(d.Type); h != nil && bytes.Equal(h(certDER), d.Value) {
			return true
		}
	}
	return false
}

// digestByName maps the hash names producers write in certDigestList.type
// to a hash function, or nil if unknown.
func digestByName(name string) func([]byte) []byte {
	n := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(name)))
	switch n {
	case "sm3", "1.2.156.10197.1.401":
		return func(b []byte) []byte { h := sm3.Sum(b); return h[:] }
	case "sha1", "1.3.14.3.2.26":
		return func(b []byte) []byte { h := sha1.Sum(b); return h[:] }
	case "sha256", "2.16.840.1.101.3.4.2.1":
		return func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
	}
	return nil
}

// ValidAt reports whether t lies in the seal's validity window
// [ValidStart, ValidEnd], both ends included (GB/T 38540 §6.3 step 4).
func (s *Seal) ValidAt(t time.Time) bool {
	return !t.Before(s.ValidStart) && !t.After(s.ValidEnd)
}

// MakeSealRequest describes a seal for [MakeSeal].
type MakeSealRequest struct {
	VendorID string // header Vid: the making system's vendor code (ASCII)
	ID       string // esID: the seal's code (ASCII)
	// Type is TypeUnit, TypePersonal, or another positive type the
	// business defines (GB/T 38540 §6.1 leaves the values open).
	Type int
	Name string
	// SignerCerts are the DER certificates allowed to sign with the seal
	// (certListType 1). At least one is required.
	SignerCerts [][]byte
	// CreateDate, ValidStart and ValidEnd are encoded in UTC with whole
	// seconds; ValidStart must not be after ValidEnd.
	CreateDate, ValidStart, ValidEnd time.Time
	// Picture is the seal image; Type must be ASCII ("PNG", "GIF"…).
	Picture Picture
	// Extensions become the seal's extDatas; leave nil for none.
	Extensions []Extension
}

// MakeSeal builds a GB/T 38540-2020 SESeal (version 4, certListType 1) and
// signs its SES_SealInfo with maker, whose certificate makerCert is embedded.
// SM2 makers sign with SM2-with-SM3 and the default signer ID; ECDSA P-256
// makers sign with ECDSA-with-SHA256. The signature is a DER SEQUENCE{r, s}.
//
// Errors wrap [ErrInvalidRequest] for a request that cannot be encoded,
// [ErrMalformed] for a makerCert that does not parse or does not hold maker's
// public key, and [ErrUnsupportedAlgorithm] for other key types.
func MakeSeal(rand io.Reader, req MakeSealRequest, maker crypto.Signer, makerCert []byte) ([]byte, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	if err := matchCert("maker", makerCert, maker); err != nil {
		return nil, err
	}
	info, err := req.sealInfo()
	if err != nil {
		return nil, err
	}
	sig, alg, err := signMessage(rand, maker, info)
	if err != nil {
		return nil, fmt.Errorf("ses: signing the seal: %w", err)
	}
	algDER, err := derOID(alg)
	if err != nil {
		return nil, err
	}
	// GB/T 38540 §6.1: SESeal ::= SEQUENCE { eSealInfo, cert, signAlgID, signedValue }
	return tlv(tagSequence, info, derOctets(makerCert), algDER, derBits(sig)), nil
}

func (req *MakeSealRequest) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: seal: "+format, append([]any{ErrInvalidRequest}, args...)...)
	}
	for _, f := range []struct{ name, v string }{{"VendorID", req.VendorID}, {"ID", req.ID}, {"Picture.Type", req.Picture.Type}} {
		if f.v == "" || !isIA5(f.v) {
			return bad("%s %q must be non-empty ASCII", f.name, f.v)
		}
	}
	switch {
	case req.Type < 1:
		return bad("Type %d, want %d (unit), %d (personal) or another positive type", req.Type, TypeUnit, TypePersonal)
	case req.Name == "" || !utf8.ValidString(req.Name) || strings.ContainsRune(req.Name, 0):
		return bad("Name %q must be non-empty UTF-8 without NUL", req.Name)
	case len(req.SignerCerts) == 0:
		return bad("no SignerCerts")
	case req.CreateDate.IsZero() || req.ValidStart.IsZero() || req.ValidEnd.IsZero():
		return bad("CreateDate, ValidStart and ValidEnd are required")
	case req.ValidEnd.Before(req.ValidStart):
		return bad("ValidEnd %s is before ValidStart %s", req.ValidEnd.Format(time.RFC3339), req.ValidStart.Format(time.RFC3339))
	case len(req.Picture.Data) == 0:
		return bad("no Picture.Data")
	case req.Picture.WidthMM <= 0 || req.Picture.HeightMM <= 0:
		return bad("picture size %d×%d mm must be positive", req.Picture.WidthMM, req.Picture.HeightMM)
	}
	for i, c := range req.SignerCerts {
		if _, err := smx509.ParseCertificate(c); err != nil {
			return bad("SignerCerts[%d]: %v", i, err)
		}
	}
	for _, t := range []time.Time{req.CreateDate, req.ValidStart, req.ValidEnd} {
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return bad("time %s outside years 1–9999", t.Format(time.RFC3339))
		}
	}
	return nil
}

// sealInfo encodes SES_SealInfo, version 4 (GB/T 38540 §6.1).
func (req *MakeSealRequest) sealInfo() ([]byte, error) {
	header := tlv(tagSequence, derString(tagIA5String, "ES"), derInt(4), derString(tagIA5String, req.VendorID))
	var certs builder
	for _, c := range req.SignerCerts {
		certs.add(tagOctetString, c)
	}
	property := tlv(tagSequence,
		derInt(int64(req.Type)),
		derString(tagUTF8String, req.Name),
		derInt(CertListCerts),
		tlv(tagSequence, certs),
		derGeneralizedTime(req.CreateDate),
		derGeneralizedTime(req.ValidStart),
		derGeneralizedTime(req.ValidEnd))
	picture := tlv(tagSequence,
		derString(tagIA5String, req.Picture.Type),
		derOctets(req.Picture.Data),
		derInt(int64(req.Picture.WidthMM)),
		derInt(int64(req.Picture.HeightMM)))
	parts := [][]byte{header, derString(tagIA5String, req.ID), property, picture}
	if len(req.Extensions) > 0 {
		ext, err := encodeExtensions(req.Extensions)
		if err != nil {
			return nil, fmt.Errorf("%w: seal: %v", ErrInvalidRequest, err)
		}
		parts = append(parts, ext)
	}
	return tlv(tagSequence, parts...), nil
}

func isIA5(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
