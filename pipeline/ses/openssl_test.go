package ses

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/emmansun/gmsm/smx509"
	"github.com/sealpipe/sealpipe/internal/testenv"
)

// opensslVerify checks an SM2 signature with OpenSSL 3, the independent
// verifier STANDARDS.md names, and reports whether OpenSSL accepted it.
func opensslVerify(t *testing.T, certDER, msg, sig []byte) bool {
	t.Helper()
	cert, err := ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := smx509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return testenv.OpenSSLVerify(t, spki, msg, sig, true)
}

func TestOpenSSLInterop(t *testing.T) {
	t.Parallel()
	testenv.Tool(t, "openssl")
	signer := testIdentity(t, "sm2", "signer")
	esl := makeTestSeal(t, signer)
	seal, err := ParseSeal(esl)
	if err != nil {
		t.Fatal(err)
	}
	der, err := Sign(rand.Reader, signRequest(esl), signer.key, signer.cert)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	type check struct {
		name           string
		cert, msg, sig []byte
		want           bool
	}
	checks := []check{
		{"MakeSeal maker signature", seal.MakerCert, seal.SignedData(), seal.SignatureValue, true},
		{"MakeSeal, tampered SES_SealInfo", seal.MakerCert, append(bytes.Clone(seal.SignedData()), 0), seal.SignatureValue, false},
		{"Sign over TBS_Sign", sig.Cert, sig.SignedData(), sig.SignatureValue, true},
		{"Sign, wrong key", seal.MakerCert, sig.SignedData(), sig.SignatureValue, false},
	}
	if dir, ok := testenv.ConformanceDir(); ok {
		for _, f := range []struct {
			file string
			want bool
		}{{"UserV1.esl", true}, {"UserV4.esl", true}, {"UserV5.esl", true}, {"SESealData.DER", false}} {
			b, err := os.ReadFile(filepath.Join(dir, "ses", f.file))
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseSeal(b)
			if err != nil {
				t.Fatal(err)
			}
			checks = append(checks, check{"conformance " + f.file, s.MakerCert, s.SignedData(), s.SignatureValue, f.want})
		}
		// n.ofd: certificates Go's x509 rejects; the maker signature holds,
		// the document signature is not over TBS_Sign.
		n := readZip(t, filepath.Join(dir, "ofd", "n.ofd"))
		ns, err := ParseSignature(n["Doc_0/Signs/Sign_0/SignedValue.dat"])
		if err != nil {
			t.Fatal(err)
		}
		checks = append(checks,
			check{"conformance n.ofd seal", ns.Seal.MakerCert, ns.Seal.SignedData(), ns.Seal.SignatureValue, true},
			check{"conformance n.ofd signature", ns.Cert, ns.SignedData(), ns.SignatureValue, false})
	} else {
		testenv.Missing(t, "conformance corpus for the OpenSSL cross-check")
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := opensslVerify(t, c.cert, c.msg, c.sig); got != c.want {
				t.Errorf("openssl verdict %v, want %v", got, c.want)
			}
		})
	}
}
