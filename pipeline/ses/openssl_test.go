package ses

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/emmansun/gmsm/smx509"
	"github.com/sealpipe/sealpipe/internal/testenv"
)

// opensslVerify checks an SM2 signature with OpenSSL 3, the independent
// verifier STANDARDS.md names, and reports whether OpenSSL accepted it.
func opensslVerify(t *testing.T, certDER, msg, sig []byte) bool {
	t.Helper()
	openssl := testenv.Tool(t, "openssl")
	cert, err := ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := smx509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"pub.pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}),
		"msg":     msg,
		"sig":     sig,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin",
		"-in", "msg", "-sigfile", "sig", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	ok := err == nil && bytes.Contains(out, []byte("Signature Verified Successfully"))
	if !ok && !bytes.Contains(out, []byte("Signature Verification Failure")) {
		t.Fatalf("openssl did not reach a verdict (%v):\n%s", err, out)
	}
	return ok
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
