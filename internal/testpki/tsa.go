package testpki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/smx509"
)

// TSA returns a time-stamping authority: a new SM2 key with a certificate
// for it, issued by parent (self-signed when parent is nil), valid from
// 2020 to 2040, with the key usage digitalSignature and the one extended
// key usage id-kp-timeStamping, critical, as RFC 3161 §2.3 requires.
func TSA(tb testing.TB, cn string, parent *Identity) *Identity {
	tb.Helper()
	key := NewKey(tb)
	cert := Issue(tb, &smx509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		NotBefore:   time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:    time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:    smx509.KeyUsageDigitalSignature,
		ExtKeyUsage: []smx509.ExtKeyUsage{smx509.ExtKeyUsageTimeStamping},
	}, key, parent)
	return &Identity{Cert: cert, Key: key}
}

// TokenOptions vary a test timestamp token.
type TokenOptions struct {
	// OmitCertificate leaves the TSA certificate out of the token.
	OmitCertificate bool
	// Chain lists certificates carried beside the TSA's (its issuers).
	Chain []*smx509.Certificate
}

// oidSM3 is the SM3 digest (GM/T 0004).
var oidSM3 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}

// TimeStampToken returns an RFC 3161 TimeStampToken (§2.4.2) issued by tsa
// at genTime whose messageImprint is SM3 with the digest imprint: a GB/T
// 35275 SignedData (SM2 with SM3) encapsulating a TSTInfo as
// id-ct-TSTInfo, signed with the contentType, messageDigest and no
// signingTime attributes. The SM2 signature value is the token's last
// element: changing its last byte breaks the signature and nothing else.
func TimeStampToken(tb testing.TB, tsa *Identity, imprint []byte, genTime time.Time, o TokenOptions) []byte {
	tb.Helper()
	type algorithm struct {
		Algorithm asn1.ObjectIdentifier
	}
	info, err := asn1.Marshal(struct {
		Version        int
		Policy         asn1.ObjectIdentifier
		MessageImprint struct {
			HashAlgorithm algorithm
			HashedMessage []byte
		}
		SerialNumber *big.Int
		GenTime      time.Time `asn1:"generalized"`
	}{
		Version: 1,
		Policy:  asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 3161, 1},
		MessageImprint: struct {
			HashAlgorithm algorithm
			HashedMessage []byte
		}{algorithm{oidSM3}, imprint},
		SerialNumber: big.NewInt(genTime.Unix()),
		GenTime:      genTime.UTC(),
	})
	if err != nil {
		tb.Fatalf("encoding a TSTInfo: %v", err)
	}
	sd, err := pkcs7.NewSMSignedData(info)
	if err != nil {
		tb.Fatalf("timestamp token: %v", err)
	}
	// RFC 3161 §2.4.2: the encapsulated content type is id-ct-TSTInfo;
	// pkcs7 signs the content type it finds here as the contentType
	// attribute.
	sd.GetSignedData().ContentInfo.ContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	cfg := pkcs7.SignerInfoConfig{SkipCertificates: o.OmitCertificate}
	if err := sd.AddSigner(tsa.Cert, tsa.Key, cfg); err != nil {
		tb.Fatalf("signing a timestamp token: %v", err)
	}
	for _, c := range o.Chain {
		sd.AddCertificate(c)
	}
	der, err := sd.Finish()
	if err != nil {
		tb.Fatalf("timestamp token: %v", err)
	}
	return der
}
