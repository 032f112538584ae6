package ses

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// verify checks sig over msg with the key of the DER certificate certDER and
// returns the parsed certificate. role names the signer in errors.
func verify(role string, certDER []byte, alg asn1.ObjectIdentifier, msg, sig []byte) (*smx509.Certificate, error) {
	cert, err := ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", role, err)
	}
	if err := checkSignature(cert.PublicKey, alg, msg, sig); err != nil {
		return nil, fmt.Errorf("%s signature (%s): %w", role, cert.Subject, err)
	}
	return cert, nil
}

// checkSignature verifies sig over msg. SM2 uses the default signer ID
// 1234567812345678 (GM/T 0009, GB/T 35276), as GB/T 38540 requires. sig may
// be a DER SEQUENCE{r, s}, with or without the sign octets DER requires, or a
// raw fixed-width r||s.
func checkSignature(pub crypto.PublicKey, alg asn1.ObjectIdentifier, msg, sig []byte) error {
	pk, _ := pub.(*ecdsa.PublicKey)
	var check func(der []byte) bool
	switch {
	case alg.Equal(OIDSM2WithSM3) || alg.Equal(OIDSM2Sign):
		if pk == nil || !sm2.IsSM2PublicKey(pk) {
			return fmt.Errorf("%w: algorithm %v needs an SM2 key, the certificate holds %T", ErrSignature, alg, pub)
		}
		e, err := sm2.CalculateSM2Hash(pk, msg, nil) // e = SM3(Z_A || msg), default ID
		if err != nil {
			return fmt.Errorf("%w: %v", ErrSignature, err)
		}
		check = func(der []byte) bool { return sm2.VerifyASN1(pk, e, der) }
	case alg.Equal(OIDECDSAWithSHA256):
		if pk == nil || pk.Curve != elliptic.P256() {
			return fmt.Errorf("%w: algorithm %v needs a P-256 key, the certificate holds %T", ErrSignature, alg, pub)
		}
		h := sha256.Sum256(msg)
		check = func(der []byte) bool { return ecdsa.VerifyASN1(pk, h[:], der) }
	default:
		return fmt.Errorf("%w: %v", ErrUnsupportedAlgorithm, alg)
	}
	candidates := signatureForms(sig, (pk.Curve.Params().BitSize+7)/8)
	if len(candidates) == 0 {
		return fmt.Errorf("%w: signature value (%d bytes, % .8x…) is neither DER SEQUENCE{r, s} nor raw r||s", ErrSignature, len(sig), sig)
	}
	for _, c := range candidates {
		if check(c) {
			return nil
		}
	}
	return fmt.Errorf("%w: %v signature does not match the signed data", ErrSignature, alg)
}

// signatureForms returns the canonical DER encodings sig may stand for: its
// own integers re-encoded if it parses as SEQUENCE{INTEGER, INTEGER} (the
// integers read as unsigned, so a missing 0x00 sign octet does no harm), and
// its two halves if it is exactly 2×size bytes (raw r||s).
func signatureForms(sig []byte, size int) [][]byte {
	var forms [][]byte
	r := newReader("signature", sig)
	if seq, err := r.expect("", tagSequence); err == nil && r.empty() {
		sr := r.enter(seq, "")
		x, err1 := sr.expect("r", tagInteger)
		y, err2 := sr.expect("s", tagInteger)
		if err1 == nil && err2 == nil && sr.empty() {
			forms = append(forms, encodeRS(x.body, y.body))
		}
	}
	if len(sig) == 2*size {
		forms = append(forms, encodeRS(sig[:size], sig[size:]))
	}
	return forms
}

// encodeRS encodes two unsigned big-endian integers as a DER SEQUENCE{r, s}.
func encodeRS(r, s []byte) []byte {
	return tlv(tagSequence, unsignedInt(r), unsignedInt(s))
}

func unsignedInt(b []byte) []byte {
	b = bytes.TrimLeft(b, "\x00")
	if len(b) == 0 || b[0]&0x80 != 0 {
		return tlv(tagInteger, []byte{0}, b)
	}
	return tlv(tagInteger, b)
}

// signMessage signs msg with signer and returns the DER signature and its
// algorithm identifier. SM2 signers get the whole message with
// sm2.DefaultSM2SignerOpts and compute e = SM3(Z_A || msg) themselves (or
// their HSM does); ECDSA P-256 signers get SHA-256(msg).
func signMessage(rand io.Reader, signer crypto.Signer, msg []byte) ([]byte, asn1.ObjectIdentifier, error) {
	pub, _ := signer.Public().(*ecdsa.PublicKey)
	switch {
	case pub != nil && sm2.IsSM2PublicKey(pub):
		sig, err := signer.Sign(rand, msg, sm2.DefaultSM2SignerOpts)
		return sig, OIDSM2WithSM3, err
	case pub != nil && pub.Curve == elliptic.P256():
		h := sha256.Sum256(msg)
		sig, err := signer.Sign(rand, h[:], crypto.SHA256)
		return sig, OIDECDSAWithSHA256, err
	}
	return nil, nil, fmt.Errorf("%w: %T key (want SM2 or ECDSA P-256)", ErrUnsupportedAlgorithm, signer.Public())
}

// matchCert checks that certDER parses and holds signer's public key.
func matchCert(role string, certDER []byte, signer crypto.Signer) error {
	cert, err := smx509.ParseCertificate(certDER)
	if err != nil {
		return fmt.Errorf("%w: %s certificate: %v", ErrMalformed, role, err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if k, ok := signer.Public().(equaler); !ok || !k.Equal(cert.PublicKey) {
		return fmt.Errorf("%w: %s certificate (%s) does not hold the signing key", ErrMalformed, role, cert.Subject)
	}
	return nil
}

// matchCertFast is matchCert for the signing hot path: it first compares the
// certificate's SubjectPublicKeyInfo with the encoding of signer's key and
// parses the whole certificate only when they differ (another encoding of
// the same key, or a mismatch to report).
func matchCertFast(role string, certDER []byte, signer crypto.Signer) error {
	if f, err := readCertFields(certDER); err == nil {
		if spki, err := smx509.MarshalPKIXPublicKey(signer.Public()); err == nil && bytes.Equal(spki, f.spki.raw) {
			return nil
		}
	}
	return matchCert(role, certDER, signer)
}

// encodeExtensions encodes ExtensionDatas (GB/T 38540 §6.1), omitting
// critical when false as DER's DEFAULT rule requires.
func encodeExtensions(exts []Extension) ([]byte, error) {
	var list builder
	for _, x := range exts {
		id, err := derOID(x.ID)
		if err != nil {
			return nil, err
		}
		if x.Critical {
			list.add(tagSequence, id, []byte{tagBoolean, 1, 0xff}, derOctets(x.Value))
		} else {
			list.add(tagSequence, id, derOctets(x.Value))
		}
	}
	return tlv(tagSequence, list), nil
}
