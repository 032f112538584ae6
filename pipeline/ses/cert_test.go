package ses

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/sealpipe/sealpipe/internal/testenv"
)

// TestCertificateSkeleton compares the fallback parser with smx509 on
// certificates both accept.
func TestCertificateSkeleton(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sm2", "p256"} {
		id := testIdentity(t, kind, "skeleton")
		want, err := smx509.ParseCertificate(id.cert)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseCertificateSkeleton(id.cert)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case got.Subject.String() != want.Subject.String() || got.Issuer.String() != want.Issuer.String():
			t.Errorf("%s: names %q / %q, want %q / %q", kind, got.Subject, got.Issuer, want.Subject, want.Issuer)
		case got.SerialNumber.Cmp(want.SerialNumber) != 0 || got.Version != want.Version:
			t.Errorf("%s: serial %v version %d, want %v %d", kind, got.SerialNumber, got.Version, want.SerialNumber, want.Version)
		case !got.NotBefore.Equal(want.NotBefore) || !got.NotAfter.Equal(want.NotAfter):
			t.Errorf("%s: validity %s – %s", kind, got.NotBefore, got.NotAfter)
		case !got.PublicKey.(*ecdsa.PublicKey).Equal(want.PublicKey) || got.PublicKeyAlgorithm != want.PublicKeyAlgorithm:
			t.Errorf("%s: public key differs", kind)
		case got.SignatureAlgorithm != want.SignatureAlgorithm:
			t.Errorf("%s: signature algorithm %v, want %v", kind, got.SignatureAlgorithm, want.SignatureAlgorithm)
		case !bytes.Equal(got.RawTBSCertificate, want.RawTBSCertificate) || !bytes.Equal(got.Signature, want.Signature) ||
			!bytes.Equal(got.RawSubjectPublicKeyInfo, want.RawSubjectPublicKeyInfo):
			t.Errorf("%s: raw parts differ", kind)
		}
		if err := got.CheckSignature(want.SignatureAlgorithm, want.RawTBSCertificate, want.Signature); err != nil {
			t.Errorf("%s: the skeleton's key does not check the certificate's signature: %v", kind, err)
		}
		// Without extensions the skeleton can never act as a CA.
		if err := want.CheckSignatureFrom(got); err == nil {
			t.Errorf("%s: a skeleton certificate was accepted as an issuer", kind)
		}
	}
	for _, bad := range [][]byte{nil, {0x30, 0x00}, {0x30, 0x03, 0x30, 0x01, 0x00}} {
		if _, err := ParseCertificate(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCertificate(% x) = %v, want ErrMalformed", bad, err)
		}
	}
}

// TestCertificateQuirks parses n.ofd's certificate, which smx509 rejects for
// its subjectAltName, and checks the fields and its own signature.
func TestCertificateQuirks(t *testing.T) {
	t.Parallel()
	files := readZip(t, filepath.Join(testenv.Conformance(t), "ofd", "n.ofd"))
	seal, err := ParseSeal(files["Doc_0/Signs/Sign_0/Seal.esl"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := smx509.ParseCertificate(seal.MakerCert); err == nil {
		t.Fatal("smx509 now accepts the certificate: this test no longer covers the fallback")
	}
	c, err := ParseCertificate(seal.MakerCert)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != "www.dms360.cn" || c.Version != 3 || c.SerialNumber.Int64() != 1 ||
		!c.NotBefore.Equal(time.Date(2019, 9, 26, 13, 2, 43, 0, time.UTC)) || c.SignatureAlgorithm != smx509.SM2WithSM3 {
		t.Errorf("decoded CN %q version %d serial %v notBefore %s alg %v", c.Subject.CommonName, c.Version, c.SerialNumber, c.NotBefore, c.SignatureAlgorithm)
	}
	// Self-issued: its own key checks its signature, so the skeleton's raw
	// TBS, signature and key are the right bytes.
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		t.Errorf("self-signature: %v", err)
	}
}

// TestZeroValues: values not made by the parsers refuse to verify.
func TestZeroValues(t *testing.T) {
	t.Parallel()
	if _, err := new(Seal).VerifyMaker(); !errors.Is(err, ErrMalformed) {
		t.Errorf("Seal{}.VerifyMaker = %v, want ErrMalformed", err)
	}
	if _, err := new(Signature).Verify(); !errors.Is(err, ErrMalformed) {
		t.Errorf("Signature{}.Verify = %v, want ErrMalformed", err)
	}
	if new(Seal).HasSigner(nil) {
		t.Error("Seal{}.HasSigner(nil) = true")
	}
}
