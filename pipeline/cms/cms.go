// Package cms encodes the detached CMS SignedData (RFC 5652 §5) sealpipe
// signs with, in DER: the SM2 form of GM/T 0010 and GB/T 35275 (SM3
// digest, an SM2 signature over the DER signed attributes with the
// default signer ID of GM/T 0009, GM/T 0010's content-type OIDs) for an
// SM2 key, and ECDSA or RSA with SHA-256 (RFC 5754, RFC 5758) otherwise.
// pipeline/pdfseal signs PDF documents with it and pipeline/signed the
// records sealpipe writes; its DER primitives (TLV, AppendLength,
// Marshal) serve every encoder of the project.
//
// It is written here rather than with github.com/emmansun/gmsm/pkcs7,
// which the tests and the record reader use to cross-check it: gmsm stamps
// signingTime with time.Now where a PDF signature must state its own
// time, and costs as much as the signature it wraps (its reflective
// ASN.1 encoding allocates some 18 KB per signature).
package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"slices"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// Object identifiers of the SignedData this package writes.
var (
	OIDData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDSM2Data           = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 1} // GM/T 0010 data
	OIDSM2SignedData     = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 2} // GM/T 0010 signedData
	OIDAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	// OIDAttrSigningCertificateV2 is the ESS signing-certificate-v2
	// attribute's type (RFC 5035 §5.4), whose value SigningCertificateV2
	// encodes.
	OIDAttrSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	OIDSM3                      = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
	OIDSHA256                   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSM2Sign                  = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1} // SM2-1, as GB/T 35275 SignerInfo uses it
	OIDRSAEncryption            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	OIDECDSAWithSHA256          = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// Form is the SignedData a key makes: its algorithms and content types.
type Form struct {
	// SM2 is set for an SM2 key: the digest is SM3 and the key signs the
	// signed attributes themselves (it hashes them with its Z value).
	SM2 bool
	// Hash is the digest of an ECDSA or RSA key's form, crypto.SHA256;
	// zero for SM2, whose digest is SM3.
	Hash crypto.Hash
	// DigestID and SignatureID are the DER AlgorithmIdentifiers of the
	// digest and the signature.
	DigestID, SignatureID []byte
	// DataType is the encapsulated content's type and the contentType
	// attribute's value; SignedDataType the ContentInfo's. An SM2 form
	// may take the PKCS#7 ones (OIDData, OIDSignedData) for relying
	// parties that know no others.
	DataType, SignedDataType asn1.ObjectIdentifier
	// MaxSignatureLen bounds the length of the key's signature values.
	MaxSignatureLen int
}

// The AlgorithmIdentifiers of the forms, shared (never written to).
var (
	sm3ID         = AlgorithmID(OIDSM3, true)
	sha256ID      = AlgorithmID(OIDSHA256, true)
	sm2SignID     = AlgorithmID(OIDSM2Sign, true)
	ecdsaSHA256ID = AlgorithmID(OIDECDSAWithSHA256, false) // RFC 5758 §3.2: no parameters
	rsaID         = AlgorithmID(OIDRSAEncryption, true)
)

// FormOf returns the form of SignedData the public key pub signs.
func FormOf(pub crypto.PublicKey) (Form, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		f := Form{MaxSignatureLen: ecdsaMaxSignatureLen(p.Curve.Params().N.BitLen())}
		if sm2.IsSM2PublicKey(p) {
			f.SM2, f.DataType, f.SignedDataType = true, OIDSM2Data, OIDSM2SignedData
			f.DigestID, f.SignatureID = sm3ID, sm2SignID
			return f, nil
		}
		f.Hash, f.DataType, f.SignedDataType = crypto.SHA256, OIDData, OIDSignedData
		f.DigestID, f.SignatureID = sha256ID, ecdsaSHA256ID
		return f, nil
	case *rsa.PublicKey:
		return Form{
			Hash: crypto.SHA256, DataType: OIDData, SignedDataType: OIDSignedData,
			DigestID: sha256ID, SignatureID: rsaID, MaxSignatureLen: p.Size(),
		}, nil
	}
	return Form{}, fmt.Errorf("cms: %T keys are not supported (SM2, ECDSA or RSA needed)", pub)
}

// ecdsaMaxSignatureLen is the longest DER ECDSA-Sig-Value (SEQUENCE of two
// INTEGERs) for a curve of the given order size; SM2 uses the same form.
// The largest INTEGER below 2^orderBits takes orderBits/8 + 1 octets, a
// leading zero included where its top bit is set.
func ecdsaMaxSignatureLen(orderBits int) int {
	n := make([]byte, orderBits/8+1)
	return len(TLV(0x30, TLV(0x02, n), TLV(0x02, n)))
}

// Digest returns the form's digest of content: SM3 or SHA-256.
func (f Form) Digest(content []byte) []byte {
	if f.Hash == 0 {
		d := sm3.Sum(content)
		return d[:]
	}
	h := f.Hash.New()
	h.Write(content)
	return h.Sum(nil)
}

// SignedAttributes returns the DER SET OF Attribute that is signed for a
// content of the given digest signed at t: contentType, signingTime and
// messageDigest (RFC 5652 §11), in DER order.
func (f Form) SignedAttributes(digest []byte, t time.Time) ([]byte, error) {
	// RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise;
	// encoding/asn1 chooses the same way. Always UTC ("Z").
	st, err := asn1.Marshal(t.UTC().Truncate(time.Second))
	if err != nil {
		return nil, fmt.Errorf("cms: signing time %v: %w", t, err)
	}
	return Attributes(
		Attribute(OIDAttrContentType, Marshal(f.DataType)),
		Attribute(OIDAttrSigningTime, st),
		Attribute(OIDAttrMessageDigest, TLV(0x04, digest)),
	), nil
}

// Attributes returns the DER SET OF the attributes given, sorted as
// X.690 §11.6 orders a SET OF.
func Attributes(attrs ...[]byte) []byte {
	slices.SortFunc(attrs, bytes.Compare)
	return TLV(0x31, attrs...)
}

// Sign signs the DER signed attributes with key, as RFC 5652 §5.4 has it:
// an SM2 key signs them itself (e = SM3(Z_A ‖ M), GM/T 0009's default
// ID), another key their SHA-256 digest. An SM2 key held as an
// *ecdsa.PrivateKey signs as SM2.
func (f Form) Sign(key crypto.Signer, attrs []byte) ([]byte, error) {
	msg, opts := attrs, crypto.SignerOpts(sm2.DefaultSM2SignerOpts)
	if k, ok := key.(*ecdsa.PrivateKey); ok && f.SM2 {
		key = &sm2.PrivateKey{PrivateKey: *k} // an SM2 key typed as ECDSA would make an ECDSA signature
	}
	if !f.SM2 {
		h := sha256.Sum256(attrs)
		msg, opts = h[:], crypto.SHA256
	}
	sig, err := key.Sign(rand.Reader, msg, opts)
	if err != nil {
		return nil, fmt.Errorf("cms: signing failed: %w", err)
	}
	if len(sig) > f.MaxSignatureLen {
		return nil, fmt.Errorf("cms: the key returned a %d-byte signature, at most %d expected", len(sig), f.MaxSignatureLen)
	}
	return sig, nil
}

// Encode returns ContentInfo{signedData}, detached, around the signed
// attributes, the signature value and the unsigned attributes (DER [1]
// IMPLICIT, or nil) of the signer chain[0], with every certificate of
// chain included.
func (f Form) Encode(chain []*smx509.Certificate, attrs, sig, unsigned []byte) []byte {
	leaf := chain[0]
	sid := TLV(0x30, leaf.RawIssuer, Marshal(leaf.SerialNumber)) // IssuerAndSerialNumber
	implicitAttrs := slices.Clone(attrs)
	implicitAttrs[0] = 0xa0 // signedAttrs [0] IMPLICIT
	signerInfo := TLV(0x30,
		Marshal(1), // version 1: issuerAndSerialNumber
		sid,
		f.DigestID,
		implicitAttrs,
		f.SignatureID,
		TLV(0x04, sig),
		unsigned,
	)
	certs := make([][]byte, len(chain))
	for i, c := range chain {
		certs[i] = c.Raw
	}
	signedData := TLV(0x30,
		Marshal(1),
		TLV(0x31, f.DigestID),          // digestAlgorithms
		TLV(0x30, Marshal(f.DataType)), // encapContentInfo, detached: no eContent
		TLV(0xa0, certs...),            // certificates [0] IMPLICIT
		TLV(0x31, signerInfo),          // signerInfos
	)
	return TLV(0x30, Marshal(f.SignedDataType), TLV(0xa0, signedData))
}

// Attribute encodes Attribute ::= SEQUENCE { attrType, attrValues SET OF }
// with one value.
func Attribute(oid asn1.ObjectIdentifier, value []byte) []byte {
	return TLV(0x30, Marshal(oid), TLV(0x31, value))
}

// AlgorithmID encodes an AlgorithmIdentifier, with NULL parameters or none.
func AlgorithmID(oid asn1.ObjectIdentifier, nullParams bool) []byte {
	if nullParams {
		return TLV(0x30, Marshal(oid), []byte{0x05, 0x00})
	}
	return TLV(0x30, Marshal(oid))
}

// Marshal DER-encodes a value of the caller's own making (an OID, a small
// integer, a parsed certificate's serial), which cannot fail.
func Marshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("cms: encoding %T: %v", v, err))
	}
	return b
}

// TLV encodes a DER element with the given identifier octet and contents.
func TLV(tag byte, contents ...[]byte) []byte {
	n := 0
	for _, c := range contents {
		n += len(c)
	}
	b := AppendLength(append(make([]byte, 0, n+6), tag), n)
	for _, c := range contents {
		b = append(b, c...)
	}
	return b
}

// AppendLength appends the DER length octets of a content of n < 2^32
// bytes: the short form below 128, else the long form in as few octets as
// hold n (X.690 §8.1.3, §10.1).
func AppendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xff:
		return append(b, 0x81, byte(n))
	case n <= 0xffff:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// SigningCertificateV2 returns the DER value of an ESS
// signing-certificate-v2 attribute naming cert (RFC 5035 §5.4):
// SigningCertificateV2 { certs { ESSCertIDv2 { hashAlgorithm DEFAULT
// sha256 (left out, as DER wants), certHash, issuerSerial { issuer
// GeneralNames { directoryName [4] }, serialNumber } } } }.
func SigningCertificateV2(cert *smx509.Certificate) []byte {
	h := sha256.Sum256(cert.Raw)
	issuerSerial := TLV(0x30, TLV(0x30, TLV(0xa4, cert.RawIssuer)), Marshal(cert.SerialNumber))
	return TLV(0x30, TLV(0x30, TLV(0x30, TLV(0x04, h[:]), issuerSerial)))
}
