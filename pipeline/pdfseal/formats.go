package pdfseal

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/sealpipe/sealpipe/pipeline/cms"
)

// Format is the form of the signature Seal writes into /Contents. The zero
// value, FormatDefault, is what Seal has always written: the GM/T 0010 SM2
// CMS for an SM2 key, a PKCS#7 SHA-256 one for ECDSA and RSA keys.
type Format string

// Signature formats (issue 11 item 6).
const (
	// FormatDefault follows the key: FormatGMT0010 for SM2 keys, a PKCS#7
	// SHA-256 adbe.pkcs7.detached CMS (with signingTime) for ECDSA and RSA.
	FormatDefault Format = ""
	// FormatGMT0010 is /SubFilter /adbe.pkcs7.detached holding a GM/T 0010
	// (GB/T 35275) SignedData: content types 1.2.156.10197.6.1.4.2.1/.2,
	// SM3, SM2 signature over the DER signed attributes (contentType,
	// signingTime, messageDigest) with the default signer ID. What Chinese
	// verifiers expect. SM2 keys only.
	FormatGMT0010 Format = "gmt0010"
	// FormatPKCS7 is the same SignedData with the PKCS#7 content types
	// 1.2.840.113549.1.7.1/.2, which NSS (poppler's pdfsig, Firefox) and
	// OpenSSL read, so that they can at least name the signer; SM3 digest
	// and SM2-with-SM3 signature for an SM2 key, SHA-256 for ECDSA and RSA.
	FormatPKCS7 Format = "pkcs7"
	// FormatSES is /SubFilter /GBT38540.SES_Signature: /Contents holds the
	// DER GB/T 38540 SES_Signature itself (version 4) whose dataHash is the
	// SM3 of the ByteRange bytes and whose propertyInfo is "ByteRange"; its
	// eseal is Options.SealData, which must list the signer's certificate.
	// SM2 or ECDSA P-256 keys (package ses).
	FormatSES Format = "ses"
	// FormatPAdESBB is PAdES baseline B-B (ETSI EN 319 142-1 §6.3):
	// /SubFilter /ETSI.CAdES.detached, a SignedData with SHA-256 whose
	// signed attributes are contentType (id-data), messageDigest and ESS
	// signing-certificate-v2 (RFC 5035), and no signingTime: the claimed
	// time is the dictionary's /M. ECDSA (P-256 and the other NIST curves)
	// and RSA keys.
	FormatPAdESBB Format = "pades-b-b"
	// FormatPAdESBT is B-B plus an RFC 3161 signature-time-stamp
	// (id-aa-signatureTimeStampToken, an unsigned attribute, ETSI EN
	// 319 122-1 §5.3) over the signature value, from Options.TimeStamper.
	FormatPAdESBT Format = "pades-b-t"
)

// Formats lists the named formats, for help texts.
var Formats = []Format{FormatGMT0010, FormatPKCS7, FormatSES, FormatPAdESBB, FormatPAdESBT}

// ParseFormat reads a format's name; "" and "default" are FormatDefault.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if f == "" || f == "default" {
		return FormatDefault, nil
	}
	for _, k := range Formats {
		if f == k {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w: signature format %q (want one of %s, or default)", ErrSigner, s, formatNames())
}

func formatNames() string {
	var names []string
	for _, f := range Formats {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

// SubFilter values of the signature dictionaries Seal writes.
const (
	SubFilterPKCS7 = "adbe.pkcs7.detached"
	SubFilterCAdES = "ETSI.CAdES.detached"
	// SubFilterSES marks a GB/T 38540 SES_Signature in /Contents. No
	// standard names one (STANDARDS.md, "PDF embedding": two practices);
	// Verify also reads an SES_Signature found under adbe.pkcs7.detached,
	// as some producers write it.
	SubFilterSES = "GBT38540.SES_Signature"
)

// TimeStamper obtains RFC 3161 timestamp tokens; *tsa.Client is one.
type TimeStamper interface {
	// TimeStamp returns a DER TimeStampToken whose messageImprint is a
	// hash of data.
	TimeStamp(ctx context.Context, data []byte) ([]byte, error)
}

// DefaultTimeStampSize is the room /Contents keeps for a timestamp token
// when Options.TimeStampSize is zero: a token with a TSA certificate and an
// intermediate or two.
const DefaultTimeStampSize = 8192

// contentsSigner makes what /Contents holds, over the digest of the
// ByteRange bytes.
type contentsSigner interface {
	// subFilter is the dictionary's /SubFilter.
	subFilter() string
	// digestAlgorithm is the digest of the ByteRange bytes the signer signs.
	digestAlgorithm() digestAlgorithm
	// maxSize bounds the DER the signer makes for a signature at t.
	maxSize(t time.Time) (int, error)
	// sign returns the DER for a digest of the ByteRange bytes.
	sign(ctx context.Context, digest []byte, t time.Time) ([]byte, error)
}

var (
	_ contentsSigner = (*cmsSigner)(nil)
	_ contentsSigner = (*sesSigner)(nil)
)

// newSigner picks the signer of opts.Format for opts' key.
func newSigner(opts *Options) (contentsSigner, error) {
	f, err := ParseFormat(string(opts.Format))
	if err != nil {
		return nil, err
	}
	isSM2 := false
	if opts.Signer != nil {
		if p, ok := opts.Signer.Public().(*ecdsa.PublicKey); ok && sm2.IsSM2PublicKey(p) {
			isSM2 = true
		}
	}
	reserve := opts.TimeStampSize
	if reserve <= 0 {
		reserve = DefaultTimeStampSize
	}
	switch f {
	case FormatSES:
		return newSESSigner(opts.Signer, opts.Chain, opts.SealData, opts.TimeStamper, reserve)
	case FormatPAdESBB:
		if opts.TimeStamper != nil {
			return nil, fmt.Errorf("%w: format %s has no timestamp; %s adds one", ErrSigner, f, FormatPAdESBT)
		}
	case FormatPAdESBT:
		if opts.TimeStamper == nil {
			return nil, fmt.Errorf("%w: format %s needs a timestamp authority (Options.TimeStamper)", ErrSigner, f)
		}
	}
	s, err := newCMSSigner(opts.Signer, opts.Chain)
	if err != nil {
		return nil, err
	}
	switch f {
	case FormatGMT0010:
		if !isSM2 {
			return nil, fmt.Errorf("%w: format %s needs an SM2 key, not %T", ErrSigner, f, opts.Signer.Public())
		}
	case FormatPKCS7:
		if isSM2 {
			s.form.DataType, s.form.SignedDataType = oidData, oidSignedData
		}
	case FormatPAdESBB, FormatPAdESBT:
		if isSM2 {
			return nil, fmt.Errorf("%w: format %s is for ECDSA and RSA keys (relying parties that cannot check SM2); an SM2 key has %s, %s or %s",
				ErrSigner, f, FormatGMT0010, FormatPKCS7, FormatSES)
		}
		s.pades = true
		s.essCertV2 = cms.SigningCertificateV2(s.chain[0])
	}
	if opts.TimeStamper != nil {
		s.stamper, s.stampReserve = opts.TimeStamper, reserve
	}
	return s, nil
}
