package pdfseal

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/cms"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// This file embeds a GB/T 38540-2020 SES_Signature in a PDF signature's
// /Contents (STANDARDS.md, "PDF embedding", the second practice): the
// signature dictionary is /Filter /Adobe.PPKLite /SubFilter
// /GBT38540.SES_Signature, and the SES_Signature's dataHash is the SM3 of
// the bytes its ByteRange covers, exactly as a CMS messageDigest would be.
// propertyInfo, which in OFD names the signed file, is "ByteRange". The
// signer signs DER(TBS_Sign), which embeds the whole SESeal (package ses,
// Sign), so a verifier needs nothing but /Contents to check seal, signer
// and document. The optional timeStamp is an RFC 3161 token over the
// signature value, written as ofdrw writes it ([0] around a BIT STRING).

// sesPropertyInfo is the propertyInfo of SES_Signatures in PDF.
const sesPropertyInfo = "ByteRange"

// sesSigner makes SES_Signatures.
type sesSigner struct {
	key          crypto.Signer
	cert         *smx509.Certificate
	seal         []byte
	maxSigLen    int
	stamper      TimeStamper
	stampReserve int
}

// newSESSigner checks that the key is one package ses signs with, that it
// is the certificate's, and that the seal is a version 4 SESeal listing
// that certificate.
func newSESSigner(key crypto.Signer, chain []*smx509.Certificate, seal []byte, stamper TimeStamper, reserve int) (*sesSigner, error) {
	if key == nil || len(chain) == 0 || chain[0] == nil {
		return nil, fmt.Errorf("%w: no signing key or certificate", ErrSigner)
	}
	if len(seal) == 0 {
		return nil, fmt.Errorf("%w: format %s embeds the seal: Options.SealData is empty", ErrSigner, FormatSES)
	}
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || !(sm2.IsSM2PublicKey(pub) || pub.Curve == elliptic.P256()) {
		return nil, fmt.Errorf("%w: format %s signs with SM2 or ECDSA P-256 keys, not %T", ErrSigner, FormatSES, key.Public())
	}
	if k, ok := key.(*ecdsa.PrivateKey); ok && sm2.IsSM2PublicKey(pub) {
		key = &sm2.PrivateKey{PrivateKey: *k} // an SM2 key typed as ECDSA would make an ECDSA signature
	}
	form, err := cms.FormOf(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
	}
	s := &sesSigner{key: key, cert: chain[0], seal: seal, maxSigLen: form.MaxSignatureLen}
	if stamper != nil {
		s.stamper, s.stampReserve = stamper, reserve
	}
	// A signature with a placeholder value checks the seal and the
	// certificate now, before the document is built.
	if _, err := s.maxSize(time.Now()); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *sesSigner) subFilter() string                { return SubFilterSES }
func (s *sesSigner) digestAlgorithm() digestAlgorithm { return digestSM3 }

// maxSize is the length of the SES_Signature with the longest signature
// value, plus the timestamp's room.
func (s *sesSigner) maxSize(t time.Time) (int, error) {
	der, err := s.build(context.Background(), make([]byte, sm3.Size), t, placeholderSigner{s.key, s.maxSigLen})
	if err != nil {
		return 0, err
	}
	n := len(der)
	if s.stamper != nil {
		n += s.stampReserve + timeStampOverhead
	}
	return n, nil
}

func (s *sesSigner) sign(ctx context.Context, digest []byte, t time.Time) ([]byte, error) {
	der, err := s.build(ctx, digest, t, s.key)
	if err != nil {
		return nil, err
	}
	if s.stamper == nil {
		return der, nil
	}
	sig, err := ses.ParseSignature(der)
	if err != nil {
		return nil, fmt.Errorf("%w: reading back the SES_Signature: %v", ErrSigner, err)
	}
	token, err := stamp(ctx, s.stamper, sig.SignatureValue, s.stampReserve)
	if err != nil {
		return nil, err
	}
	// SES_Signature ::= SEQUENCE { …, timeStamp [0] BIT STRING OPTIONAL }:
	// the outer SEQUENCE grows by the element.
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
	}
	return cms.TLV(0x30, outer.Bytes, cms.TLV(0xa0, cms.TLV(0x03, []byte{0}, token))), nil
}

// build signs an SES_Signature over a document digest with signer.
func (s *sesSigner) build(ctx context.Context, digest []byte, t time.Time, signer crypto.Signer) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	der, err := ses.Sign(rand.Reader, ses.SignRequest{
		Seal: s.seal, DataHash: digest, PropertyInfo: sesPropertyInfo, Time: t,
	}, signer, s.cert.Raw)
	if err != nil {
		if errors.Is(err, ses.ErrNotSealSigner) || errors.Is(err, ses.ErrInvalidRequest) || errors.Is(err, ses.ErrMalformed) ||
			errors.Is(err, ses.ErrUnsupportedAlgorithm) {
			return nil, fmt.Errorf("%w: SES_Signature: %w", ErrSigner, err)
		}
		return nil, fmt.Errorf("%w: signing failed: %w", ErrSigner, err)
	}
	return der, nil
}

// placeholderSigner returns a signature of the longest length, for sizing.
type placeholderSigner struct {
	crypto.Signer
	n int
}

func (p placeholderSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return make([]byte, p.n), nil
}

// isSESSignature tells an SES_Signature (SEQUENCE { TBS_Sign SEQUENCE, … })
// from a CMS ContentInfo (SEQUENCE { OBJECT IDENTIFIER, … }).
func isSESSignature(der []byte) bool {
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(der, &outer); err != nil || outer.Tag != asn1.TagSequence || len(outer.Bytes) == 0 {
		return false
	}
	return outer.Bytes[0] == 0x30
}

// verifySES checks an SES_Signature over the bytes c covers
// (GB/T 38540 §7.3 a, b, g; the seal's own checks, the signer's place in
// its certificate list and certificate chains are the caller's, from
// Result.SealData and Result.Signer) and records the outcome in r.
func verifySES(r *Result, contents []byte, c covered) {
	fail := func(status Status, err error) { r.Status, r.Err = status, err }
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(contents, &outer); err != nil {
		fail(Invalid, fmt.Errorf("%w: SES_Signature (starts %x): %v", ErrSignatureFormat, contents[:min(len(contents), 8)], err))
		return
	}
	sig, err := ses.ParseSignature(outer.FullBytes) // the zero padding of /Contents left out
	if err != nil {
		fail(Invalid, fmt.Errorf("%w: %w", ErrSignatureFormat, err))
		return
	}
	r.DigestAlgorithm = "SM3"
	r.SigningTime = sig.TimeInfo
	if len(r.SealData) > 0 && !bytes.Equal(r.SealData, sig.Seal.Raw) {
		fail(Invalid, fmt.Errorf("%w: the dictionary's /SESeal is not the seal the SES_Signature embeds", ErrSignatureFormat))
		return
	}
	r.SealData = sig.Seal.Raw
	if cert, err := ses.ParseCertificate(sig.Cert); err == nil {
		r.Signer, r.Certificates = cert, []*smx509.Certificate{cert}
	}
	if sum := c.digest(digestSM3); !bytes.Equal(sum, sig.DataHash) {
		fail(Invalid, &DigestMismatchError{Algorithm: "SM3", Signed: sig.DataHash, Computed: sum})
		return
	}
	if _, err := sig.Verify(); err != nil {
		switch {
		case errors.Is(err, ses.ErrUnsupportedAlgorithm):
			fail(Indeterminate, fmt.Errorf("%w: %w", ErrUnsupported, err))
		case errors.Is(err, ses.ErrMalformed):
			fail(Indeterminate, fmt.Errorf("%w: %w", ErrNoSignerCertificate, err))
		default:
			fail(Invalid, fmt.Errorf("%w: %w", ErrBadSignature, err))
		}
		return
	}
	r.Format = FormatSES
	r.Status, r.Err = Valid, nil
	if len(sig.TimeStamp) > 0 {
		checkTimeStamp(r, sig.TimeStamp, sig.SignatureValue)
	}
}
