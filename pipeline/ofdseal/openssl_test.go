package ofdseal

import (
	"bytes"
	"crypto/ecdsa"
	"os/exec"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// opensslVerify checks a signature over msg with OpenSSL 3: an SM2 one
// with SM3 and the default signer ID, an ECDSA P-256 one with SHA-256. It
// reports OpenSSL's verdict.
func opensslVerify(t *testing.T, certDER, msg, sig []byte) bool {
	t.Helper()
	cert, err := ses.ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := smx509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	return testenv.OpenSSLVerify(t, spki, msg, sig, ok && sm2.IsSM2PublicKey(pub))
}

// opensslSM3 returns `openssl dgst -sm3` of data.
func opensslSM3(t *testing.T, data []byte) []byte {
	t.Helper()
	cmd := exec.Command(testenv.Tool(t, "openssl"), "dgst", "-sm3", "-binary")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil || len(out) != 32 {
		t.Fatalf("openssl dgst -sm3: %v, %d bytes", err, len(out))
	}
	return out
}

// checkOpenSSL has OpenSSL check a sealed package independently: the
// signer's signature over DER(TBS_Sign), the maker's over the seal (and a
// changed TBS_Sign failing), and the SM3 of every referenced file against
// its CheckValue.
func checkOpenSSL(t *testing.T, pkg []byte, r Result) {
	t.Helper()
	parts, _ := unzip(t, pkg)
	s := r.SES // parsed from SignedValue.dat by Verify, over its bytes
	checks := []struct {
		name           string
		cert, msg, sig []byte
		want           bool
	}{
		{"signature over TBS_Sign", s.Cert, s.SignedData(), s.SignatureValue, true},
		{"signature over a changed TBS_Sign", s.Cert, flip(s.SignedData(), 40), s.SignatureValue, false},
		{"maker's signature over the seal", s.Seal.MakerCert, s.Seal.SignedData(), s.Seal.SignatureValue, true},
	}
	for _, c := range checks {
		if got := opensslVerify(t, c.cert, c.msg, c.sig); got != c.want {
			t.Errorf("openssl: %s: verdict %v, want %v", c.name, got, c.want)
		}
	}
	for i, ref := range r.References {
		data, ok := parts[ref.Part]
		if !ok {
			t.Errorf("reference %q: no such part", ref.FileRef)
			continue
		}
		if sum := opensslSM3(t, data); !bytes.Equal(sum, r.Signature.References[i].CheckValue) {
			t.Errorf("reference %q: openssl dgst -sm3 %x, CheckValue %x", ref.FileRef, sum, r.Signature.References[i].CheckValue)
		}
	}
}
