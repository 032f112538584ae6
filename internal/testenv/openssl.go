package testenv

import (
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SM2DistID is the default SM2 signer ID (GM/T 0009) that sealpipe's SM2
// signatures use and OpenSSL must be told of (STANDARDS.md).
const SM2DistID = "1234567812345678"

// OpenSSLVerify checks a signature over msg with OpenSSL 3, the
// independent verifier STANDARDS.md names, and reports its verdict.
// spki is the signer's DER SubjectPublicKeyInfo. An SM2 signature (sm2
// true) is checked as `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt
// distid:1234567812345678`; any other (ECDSA P-256, RSA) as `openssl dgst
// -sha256 -verify`. The test fails if OpenSSL reaches no verdict.
func OpenSSLVerify(t testing.TB, spki, msg, sig []byte, sm2 bool) bool {
	t.Helper()
	openssl := Tool(t, "openssl")
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"pub.pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}),
		"msg":     msg,
		"sig":     sig,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "msg"}
	if sm2 {
		args = []string{"pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg", "-sigfile", "sig",
			"-digest", "sm3", "-pkeyopt", "distid:" + SM2DistID}
	}
	cmd := exec.Command(openssl, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	ok := err == nil && (bytes.Contains(out, []byte("Signature Verified Successfully")) || bytes.Contains(out, []byte("Verified OK")))
	if !ok && !bytes.Contains(bytes.ToLower(out), []byte("verification failure")) {
		t.Fatalf("openssl %v did not reach a verdict (%v):\n%s", args, err, out)
	}
	return ok
}
