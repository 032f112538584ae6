package pdfseal

import (
	"context"
	"encoding/asn1"
	"errors"
	"testing"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/smx509"
)

// TestVerifyCMS runs verifyCMS on SignedData made by this package and by
// gmsm's pkcs7 (an independent encoder), including forms Seal never makes.
func TestVerifyCMS(t *testing.T) {
	t.Parallel()
	sm2K, ecK := keys(t)
	content := []byte("the bytes a ByteRange covers")
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

	ours := func(k testKey) []byte {
		s, err := newCMSSigner(k.signer, []*smx509.Certificate{k.cert})
		if err != nil {
			t.Fatal(err)
		}
		h := s.digestAlgorithm().new()
		h.Write(content)
		der, err := s.sign(context.Background(), h.Sum(nil), at)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	// gmsm builds a detached SignedData; sm selects GM/T 0010 content types
	// and SM3, else the PKCS#7 ones with gmsm's default digest, SHA-1.
	gmsm := func(sm bool, signers []testKey, cfg pkcs7.SignerInfoConfig, withAttrs bool) []byte {
		newSD := pkcs7.NewSignedData
		if sm {
			newSD = pkcs7.NewSMSignedData
		}
		sd, err := newSD(content)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range signers {
			if withAttrs {
				err = sd.AddSigner(k.cert, k.signer, cfg)
			} else {
				err = sd.SignWithoutAttr(k.cert, k.signer, cfg)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		sd.Detach()
		der, err := sd.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	sha256ECDSA := func(withAttrs bool) []byte {
		sd, err := pkcs7.NewSignedData(content)
		if err != nil {
			t.Fatal(err)
		}
		sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
		if withAttrs {
			err = sd.AddSigner(ecK.cert, ecK.signer, pkcs7.SignerInfoConfig{})
		} else {
			err = sd.SignWithoutAttr(ecK.cert, ecK.signer, pkcs7.SignerInfoConfig{})
		}
		if err != nil {
			t.Fatal(err)
		}
		sd.Detach()
		der, err := sd.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return der
	}

	tests := []struct {
		name    string
		der     []byte
		content []byte
		status  Status
		err     error
		digest  string
	}{
		{"ours, SM2", ours(sm2K), content, Valid, nil, "SM3"},
		{"ours, ECDSA", ours(ecK), content, Valid, nil, "SHA-256"},
		{"ours, SM2, other content", ours(sm2K), []byte("other"), Invalid, ErrDigestMismatch, "SM3"},
		{"gmsm, SM2", gmsm(true, []testKey{sm2K}, pkcs7.SignerInfoConfig{}, true), content, Valid, nil, "SM3"},
		{"gmsm, SM2, no signed attributes", gmsm(true, []testKey{sm2K}, pkcs7.SignerInfoConfig{}, false), content, Valid, nil, "SM3"},
		{"gmsm, SM2, no signed attributes, other content", gmsm(true, []testKey{sm2K}, pkcs7.SignerInfoConfig{}, false), []byte("other"), Invalid, ErrBadSignature, "SM3"},
		{"gmsm, ECDSA SHA-256", sha256ECDSA(true), content, Valid, nil, "SHA-256"},
		{"gmsm, ECDSA SHA-256, no signed attributes", sha256ECDSA(false), content, Valid, nil, "SHA-256"},
		{"gmsm, ECDSA SHA-1: weak", gmsm(false, []testKey{ecK}, pkcs7.SignerInfoConfig{}, true), content, Indeterminate, ErrWeakAlgorithm, "SHA-1"},
		{"gmsm, certificate left out", gmsm(true, []testKey{sm2K}, pkcs7.SignerInfoConfig{SkipCertificates: true}, true), content, Indeterminate, ErrNoSignerCertificate, "SM3"},
		{"gmsm, two signers", gmsm(true, []testKey{sm2K, sm2K}, pkcs7.SignerInfoConfig{}, true), content, Indeterminate, ErrUnsupported, ""},
		{"not DER", []byte{0x30, 0x03, 0x02, 0x01}, content, Invalid, ErrSignatureFormat, ""},
		{"BER indefinite length, not a ContentInfo", []byte{0x30, 0x80, 0x06, 0x00, 0x00, 0x00}, content, Invalid, ErrSignatureFormat, ""},
		{"ours, SM2, in BER as NSS writes it", indefinite(t, ours(sm2K)), content, Valid, nil, "SM3"},
		{"gmsm, ECDSA SHA-256, in BER, other content", indefinite(t, sha256ECDSA(true)), []byte("other"), Invalid, ErrDigestMismatch, "SHA-256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r Result
			verifyCMS(&r, tc.der, covers(tc.content[:3], tc.content[3:]))
			if r.Status != tc.status || !errors.Is(r.Err, tc.err) || (tc.err == nil) != (r.Err == nil) {
				t.Fatalf("%v, %v; want %v, %v", r.Status, r.Err, tc.status, tc.err)
			}
			if r.DigestAlgorithm != tc.digest {
				t.Errorf("digest %q, want %q", r.DigestAlgorithm, tc.digest)
			}
			if tc.status == Valid && (r.Signer == nil || len(r.Certificates) == 0) {
				t.Error("valid without a signer certificate")
			}
		})
	}
	t.Run("signing time", func(t *testing.T) {
		var r Result
		verifyCMS(&r, ours(sm2K), covers(content))
		if !r.SigningTime.Equal(at) {
			t.Errorf("signing time %v, want %v", r.SigningTime, at)
		}
	})
}

func TestCMSMaxSize(t *testing.T) {
	t.Parallel()
	sm2K, ecK := keys(t)
	for _, k := range []testKey{sm2K, ecK, rsaTestKey(t)} {
		s, err := newCMSSigner(k.signer, []*smx509.Certificate{k.cert})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		bound, err := s.maxSize(at)
		if err != nil {
			t.Fatal(err)
		}
		for range 50 { // signature lengths vary with leading zero bytes
			der, err := s.sign(context.Background(), make([]byte, s.digestAlgorithm().new().Size()), at)
			if err != nil {
				t.Fatal(err)
			}
			if len(der) > bound {
				t.Fatalf("%s: %d-byte CMS above the %d-byte bound", k.cert.Subject.CommonName, len(der), bound)
			}
		}
	}
}

// indefinite returns the DER value der with its outer length in the BER
// indefinite form, as NSS writes a CMS ContentInfo.
func indefinite(t *testing.T, der []byte) []byte {
	t.Helper()
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(der, &raw); err != nil {
		t.Fatal(err)
	}
	return append(append([]byte{der[0], 0x80}, raw.Bytes...), 0, 0)
}
