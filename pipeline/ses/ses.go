// Package ses reads, writes and verifies electronic seals (电子印章) and seal
// signatures (电子签章): the SESeal and SES_Signature structures of
// GB/T 38540-2020 (header version 4) and of its predecessor GM/T 0031-2014
// (versions 1 to 3), plus the "version 5" layout of GM/T 0031-2025 drafts as
// produced by ofdrw.
//
// # Encoding
//
// Encoding always produces GB/T 38540 version 4 with a certificate list
// (certListType 1) and SM2-with-SM3 (1.2.156.10197.1.501) signatures made
// through a [crypto.Signer], so keys held in an HSM work unchanged. What
// [MakeSeal] and [Sign] produce is strict DER (X.690 §10): minimal lengths
// and INTEGERs, GeneralizedTime in UTC with whole seconds and a `Z`
// (§11.7), `critical` omitted when FALSE (DEFAULT, §11.5), and signature
// values as DER SEQUENCE{r, s}. TestStrictDER decodes every output with
// encoding/asn1, a strict DER decoder, and requires it to re-encode byte
// for byte; TestOpenSSLASN1Parse has OpenSSL read it; OpenSSL verifies
// both signatures (TestOpenSSLInterop).
//
// # Lenient decoding
//
// Real producers deviate from DER and from the standard (the conformance
// corpus, ../shared/conformance/MANIFEST.md). Decoding accepts each
// deviation below, and nothing else, and every signature is checked over
// the original bytes: nothing is ever re-encoded before verification, so
// an accepted deviation cannot change what was signed. Each rule has a test
// vector signed over the deviating bytes:
//
//   - `critical FALSE` encoded explicitly in an ExtData, which DER forbids
//     for a DEFAULT value: read as not critical; any non-zero BOOLEAN octet
//     is TRUE (BER). Vectors: TestLenientSeal "explicit critical FALSE",
//     "critical TRUE written as 0x01"; TestLenientSignature "explicit
//     critical FALSE in extDatas"; in the corpus, v4signed.ofd.
//   - NUL bytes inside the seal's name (UTF8String): dropped from
//     [Seal.Name], kept in Raw. TestLenientSeal "NUL bytes in the name".
//   - GeneralizedTime without the trailing `Z` (`20220318213217`): read as
//     UTC. A two-digit-year value (`220725214639Z`) inside a
//     GeneralizedTime tag: read as UTCTime (RFC 5280 years 1950–2049).
//     Fractions and ±hhmm offsets are read too, and UTCTime where version 4
//     wants GeneralizedTime. TestLenientSeal "GeneralizedTime without Z",
//     "two-digit year in a GeneralizedTime tag", "GeneralizedTime with
//     fraction and offset", "UTCTime in a version 4 seal";
//     TestLenientSignature "timeInfo without Z", "timeInfo with a two-digit
//     year"; TestParseTime.
//   - GM/T 0031-2014 timeInfo as free text in a BIT STRING (or any string
//     type): read as an ASN.1 time or an RFC 3339-like text if it is one,
//     else kept in [Signature.TimeInfoRaw] with a zero TimeInfo.
//     TestLegacySignature.
//   - SM2 signature values as raw 64-byte r||s instead of DER, and DER
//     INTEGERs missing their leading 0x00 (which decode as negative): each
//     form is tried against the key (signatureForms). TestSignatureValueForms
//     (maker), TestLenientSignature "signature as raw r||s", "signature
//     INTEGERs without sign octets" (signer).
//   - The bare SM2 OID 1.2.156.10197.1.301.1 as the signature algorithm:
//     verified as SM2-with-SM3. TestSignatureValueForms "DER under the bare
//     SM2 OID".
//   - certListType values other than 1 and 2: the list is read as
//     certificates, as for 1. Seal types other than 1 and 2:
//     kept in [Seal.Type]. Picture type "ofd": kept. TestLenientSeal
//     "unknown certListType 3", "seal type 7", "picture type ofd";
//     v4signed.ofd.
//   - certList entries that are not OCTET STRINGs: an IA5String such as
//     n.ofd's "1" is skipped, a certificate SEQUENCE without its OCTET
//     STRING wrapper is taken as the certificate. certDigestList hash names
//     as written ("sm3", "SM3", the dotted OID, "SHA-256", "sha1"); an
//     unknown hash matches nothing. TestLenientSeal "certList entry that is
//     IA5String", "certificate without its OCTET STRING wrapper",
//     "certDigestList …"; n.ofd.
//   - Non-minimal long-form lengths and non-minimal INTEGERs (BER habits):
//     read by value. Indefinite lengths are refused. TestLenientSeal
//     "non-minimal length", "non-minimal INTEGER"; TestParseRejects.
//   - Unknown trailing elements inside a SEQUENCE: skipped if well formed,
//     which is how the structures grow; ofdrw's "version 5" trailing
//     `timeStamp [0]`, explicit or implicit, is kept in TimeStamp, not
//     checked. TestLenientSeal "unknown trailing elements";
//     TestSignatureTimeStamp; UserV5_ts.esl.
//   - Embedded certificates that Go's X.509 parser refuses (n.ofd's
//     mistagged subjectAltName): read as an RFC 5280 skeleton without
//     extensions (ParseCertificate), so chain validation still refuses them.
//     TestCertificateQuirks.
//
// Anything else malformed is a *ParseError wrapping [ErrMalformed] that
// names the field and byte offset (TestParseRejects, TestTruncated; the
// fuzz targets are seeded from the vectors).
//
// Verification follows GB/T 38540 §6.3 (seal) and §7.3 (signature). This
// package covers the structural and cryptographic steps: format (§6.3 step 1,
// §7.3 a), the maker's and the signer's signatures (§6.3 step 2, §7.3 b), the
// signer's membership in the seal's certificate list (§7.3 c, [Seal.HasSigner])
// and the seal's validity window (§6.3 step 4, §7.3 d, [Seal.ValidAt]).
// Certificate chains and revocation (package trust: CRLs from files or
// downloaded, for the maker's §6.3 (3) and the signer's §7.3 (e) and (f)
// certificates), timestamps, document hashes and registry status belong to
// the caller (package verify).
package ses

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// MaxSize bounds the size of a SESeal or SES_Signature accepted by
// [ParseSeal] and [ParseSignature]. Seal pictures are small; anything larger
// is refused before decoding.
const MaxSize = 16 << 20

// Seal types (GB/T 38540 §6.1, SES_ESPropertyInfo.type). The standard lets
// a business define further values; these two are the common ones.
const (
	TypeUnit     = 1 // 单位印章
	TypePersonal = 2 // 个人印章
)

// Certificate list types (GB/T 38540 §6.1, SES_ESPropertyInfo.certListType).
const (
	CertListCerts   = 1 // certs: DER certificates
	CertListDigests = 2 // certDigestList: hashes of certificates
)

// Signature algorithm identifiers this package signs with or verifies.
var (
	// OIDSM2WithSM3 is SM2 with SM3 (GM/T 0006), the algorithm of GB/T 38540.
	OIDSM2WithSM3 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}
	// OIDSM2Sign is the bare SM2 signature identifier; some producers use it
	// in place of OIDSM2WithSM3 and it is verified the same way.
	OIDSM2Sign = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}
	// OIDECDSAWithSHA256 is ECDSA with SHA-256 (RFC 5758), accepted and
	// produced for P-256 keys.
	OIDECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// Sentinel errors. Every error returned by this package wraps one of them,
// except a failure of the crypto.Signer given to [MakeSeal] or [Sign], which
// is wrapped as it comes (an HSM's error stays inspectable).
var (
	// ErrMalformed reports input that is not a decodable SESeal or
	// SES_Signature, or a certificate inside one that does not parse.
	ErrMalformed = errors.New("ses: malformed structure")
	// ErrSignature reports a signature that does not verify.
	ErrSignature = errors.New("ses: signature verification failed")
	// ErrUnsupportedAlgorithm reports a signature algorithm or key type this
	// package cannot check or produce.
	ErrUnsupportedAlgorithm = errors.New("ses: unsupported signature algorithm")
	// ErrNotSealSigner reports a signer certificate absent from the seal's
	// certificate list (GB/T 38540 §7.3 c); [Sign] refuses to sign with it.
	ErrNotSealSigner = errors.New("ses: certificate is not in the seal's certificate list")
	// ErrInvalidRequest reports a [MakeSealRequest] or [SignRequest] that
	// cannot yield a conforming structure.
	ErrInvalidRequest = errors.New("ses: invalid request")
)

// ParseError locates a decoding failure. It wraps [ErrMalformed].
type ParseError struct {
	Structure string // "SESeal" or "SES_Signature"
	Field     string // dotted path of the offending element, e.g. "eSealInfo.property.validEnd"
	Offset    int    // byte offset of that element in the input
	Detail    string // what was wrong, quoting the bad value
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("ses: malformed %s at offset %d: %s", e.Structure, e.Offset, e.Detail)
	}
	return fmt.Sprintf("ses: malformed %s: %s at offset %d: %s", e.Structure, e.Field, e.Offset, e.Detail)
}

// Unwrap returns [ErrMalformed].
func (e *ParseError) Unwrap() error { return ErrMalformed }

// Picture is the seal's image (SES_ESPictrueInfo).
type Picture struct {
	Type     string // "PNG", "GIF", "JPG", "BMP", "SVG"; "ofd" is seen in the wild
	Data     []byte
	WidthMM  int // display width in millimetres
	HeightMM int // display height in millimetres
}

// Extension is one ExtData of an ExtensionDatas list.
type Extension struct {
	ID       asn1.ObjectIdentifier
	Critical bool
	Value    []byte
}

// CertDigest is one entry of a certDigestList (certListType 2).
type CertDigest struct {
	Type  string // hash algorithm as written: "sm3", "SM3", an OID in dotted text, "sha1", "sha256"…
	Value []byte
}

// Seal is a decoded SESeal of any version. Byte slices alias Raw. A Seal
// from [ParseSeal] is safe for concurrent use as long as no one modifies it.
type Seal struct {
	// Version is the header version: 1–3 for GM/T 0031-2014, 4 for
	// GB/T 38540-2020, 5 for ofdrw's GM/T 0031-2025 layout.
	Version int
	// VendorID is the header's Vid; ID is esID, the seal's code.
	VendorID, ID string
	// Type is 1 (unit seal) or 2 (personal seal); other values are kept.
	Type int
	// Name is the seal's name, NUL bytes removed.
	Name string
	// CertListType is 1 (Certs) or 2 (CertDigests) in version 4 and later,
	// as found; GM/T 0031-2014 seals, which have no such field, report 1.
	CertListType int
	// Certs holds the DER certificates of certListType 1. Entries that are
	// neither an OCTET STRING nor a certificate are skipped.
	Certs [][]byte
	// CertDigests holds the entries of certListType 2.
	CertDigests []CertDigest
	// CreateDate, ValidStart and ValidEnd are the making date and the
	// validity window, in UTC.
	CreateDate, ValidStart, ValidEnd time.Time
	// Picture is the seal's image.
	Picture Picture
	// Extensions are the seal's extDatas.
	Extensions []Extension
	// MakerCert is the seal maker's DER certificate.
	MakerCert []byte
	// SignatureAlgorithm identifies the maker's signature algorithm.
	SignatureAlgorithm asn1.ObjectIdentifier
	// SignatureValue is the maker's signature as found: a DER SEQUENCE{r, s}
	// or raw r||s.
	SignatureValue []byte
	// TimeStamp is the contents of the trailing [0] timeStamp of version 5
	// seals, if present; it is not checked here.
	TimeStamp []byte
	// Raw is the whole SESeal as given.
	Raw []byte

	signed []byte // the exact bytes the maker signed
	legacy bool   // GM/T 0031-2014 layout (SES_SignInfo)
}

// Signature is a decoded SES_Signature. Byte slices, and those of Seal,
// alias Raw. It is safe for concurrent use as long as no one modifies it.
type Signature struct {
	// Version is TBS_Sign.version: the seal's version in GB/T 38540.
	Version int
	// Seal is the embedded SESeal.
	Seal *Seal
	// TimeInfo is the signing time claimed by the signer, in UTC. In
	// GM/T 0031-2014 signatures timeInfo is free-form; TimeInfo is then the
	// zero time unless the text reads as a time.
	TimeInfo time.Time
	// TimeInfoRaw is the contents of the timeInfo element as found.
	TimeInfoRaw []byte
	// DataHash is the hash of the signed document data (in OFD, the SM3 of
	// the Signature.xml file).
	DataHash []byte
	// PropertyInfo describes the signed data (in OFD, the Signature.xml path).
	PropertyInfo string
	// Extensions are TBS_Sign's extDatas.
	Extensions []Extension
	// Cert is the signer's DER certificate.
	Cert []byte
	// SignatureAlgorithm identifies the signer's signature algorithm.
	SignatureAlgorithm asn1.ObjectIdentifier
	// SignatureValue is the signature as found: DER SEQUENCE{r, s} or raw r||s.
	SignatureValue []byte
	// TimeStamp is the contents of the optional [0] timeStamp (an RFC 3161
	// token over the signature value), if present; it is not checked here
	// (see [ParseTimeStampToken]).
	TimeStamp []byte
	// Raw is the whole SES_Signature as given.
	Raw []byte

	signed []byte // the exact bytes the signer signed: TBS_Sign as found
}
