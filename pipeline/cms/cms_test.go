package cms_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/cms"
)

// TestSign signs with every key type through FormOf, SignedAttributes,
// Sign and Encode, and has gmsm's pkcs7 verify the result: the right
// content types, the signing time given, the content's digest, the
// signature over the attributes, the certificate included.
func TestSign(t *testing.T) {
	t.Parallel()
	sm2Key := testpki.NewKey(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		key        crypto.Signer
		signedData asn1.ObjectIdentifier
	}{
		{"SM2", sm2Key, cms.OIDSM2SignedData},
		{"SM2 held as ECDSA", &sm2Key.PrivateKey, cms.OIDSM2SignedData},
		{"ECDSA P-256", ecKey, cms.OIDSignedData},
		{"RSA 2048", rsaKey, cms.OIDSignedData},
	}
	content := []byte(`{"record":"a use of seal 33010200000001"}`)
	at := time.Date(2026, 11, 28, 9, 30, 15, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			issuer := tc.key
			if _, ok := issuer.(*ecdsa.PrivateKey); ok && tc.signedData.Equal(cms.OIDSM2SignedData) {
				issuer = sm2Key // smx509 signs the certificate as ECDSA too
			}
			cert := testpki.Issue(t, &smx509.Certificate{Subject: pkix.Name{CommonName: tc.name},
				NotBefore: at.Add(-time.Hour), NotAfter: at.Add(time.Hour), KeyUsage: smx509.KeyUsageDigitalSignature}, issuer, nil)
			form, err := cms.FormOf(tc.key.Public())
			if err != nil {
				t.Fatal(err)
			}
			attrs, err := form.SignedAttributes(form.Digest(content), at)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := form.Sign(tc.key, attrs)
			if err != nil {
				t.Fatal(err)
			}
			der := form.Encode([]*smx509.Certificate{cert}, attrs, sig, nil)

			var ci struct {
				Type    asn1.ObjectIdentifier
				Content asn1.RawValue `asn1:"explicit,tag:0"`
			}
			if rest, err := asn1.Unmarshal(der, &ci); err != nil || len(rest) > 0 || !ci.Type.Equal(tc.signedData) {
				t.Fatalf("ContentInfo: %v, %d bytes after it, type %v; want %v", err, len(rest), ci.Type, tc.signedData)
			}
			p7, err := pkcs7.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			p7.Content = content
			if err := p7.Verify(); err != nil {
				t.Fatalf("gmsm verifies: %v", err)
			}
			if got := p7.GetOnlySigner(); got == nil || !bytes.Equal(got.Raw, cert.Raw) {
				t.Error("the signer's certificate is not included")
			}
			var when time.Time
			if err := p7.UnmarshalSignedAttribute(cms.OIDAttrSigningTime, &when); err != nil || !when.Equal(at) {
				t.Errorf("signingTime %v, %v; want %v", when, err, at)
			}
			p7.Content = append(bytes.Clone(content), '!')
			if err := p7.Verify(); err == nil {
				t.Error("gmsm verifies the signature over other content")
			}
		})
	}
}

// TestFormOf: a key of another kind has no form, and says which.
func TestFormOf(t *testing.T) {
	t.Parallel()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.FormOf(pub); err == nil || !strings.Contains(err.Error(), "ed25519") {
		t.Errorf("FormOf(ed25519): %v, want an error naming the key type", err)
	}
}

// TestMaxSignatureLen: the bound FormOf gives is the length of the
// longest signature value of the key's curve, or of its RSA modulus.
func TestMaxSignatureLen(t *testing.T) {
	t.Parallel()
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521(), testpki.NewKey(t).Curve} {
		n := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(curve.Params().N.BitLen())), big.NewInt(1))
		longest, err := asn1.Marshal(struct{ R, S *big.Int }{n, n})
		if err != nil {
			t.Fatal(err)
		}
		form, err := cms.FormOf(&ecdsa.PublicKey{Curve: curve})
		if err != nil || form.MaxSignatureLen != len(longest) {
			t.Errorf("%s: %d, %v; the longest signature is %d bytes", curve.Params().Name, form.MaxSignatureLen, err, len(longest))
		}
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if form, _ := cms.FormOf(rsaKey.Public()); form.MaxSignatureLen != 256 {
		t.Errorf("RSA 2048: %d, want 256", form.MaxSignatureLen)
	}
}

// TestTLV: TLV's lengths are encoding/asn1's, at every boundary of the
// length's form.
func TestTLV(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536, 1<<24 - 1, 1 << 24} {
		content := make([]byte, n)
		want, err := asn1.Marshal(content)
		if err != nil {
			t.Fatal(err)
		}
		if got := cms.TLV(0x04, content[:n/2], content[n/2:]); !bytes.Equal(got, want) {
			t.Errorf("%d bytes: header % x, want % x", n, got[:min(len(got), 6)], want[:min(len(want), 6)])
		}
	}
}
