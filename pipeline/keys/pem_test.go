package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/pkcs8"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// privateKey is what every key type this package returns can do.
type privateKey interface {
	crypto.Signer
	Equal(crypto.PrivateKey) bool
}

// testKeys returns one fresh key of each supported type.
func testKeys(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	s, err := GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{"SM2": s, "ECDSA-P256": e, "RSA-2048": r}
}

func TestEncryptedPEMRoundTrip(t *testing.T) {
	pass := []byte("correct horse battery staple")
	for name, key := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			b, err := MarshalEncryptedPEM(key, pass)
			if err != nil {
				t.Fatal(err)
			}
			checkEncryptionParams(t, b)
			got, err := ParseEncryptedPEM(b, pass)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%T", got) != fmt.Sprintf("%T", key) {
				t.Errorf("parsed a %T, want %T", got, key)
			}
			if !got.(privateKey).Equal(key) {
				t.Error("parsed key differs from the marshalled one")
			}
			// Two encryptions of one key differ (fresh salt and IV).
			b2, err := MarshalEncryptedPEM(key, pass)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) == string(b2) {
				t.Error("two encryptions of the same key are identical: salt or IV not random")
			}
		})
	}
}

// checkEncryptionParams asserts the PEM holds PBES2 / PBKDF2-HMAC-SM3 with
// PBKDF2Iterations and a 16-byte salt / SM4-CBC with a 16-byte IV.
func checkEncryptionParams(t *testing.T, b []byte) {
	t.Helper()
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "ENCRYPTED PRIVATE KEY" || len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("want exactly one ENCRYPTED PRIVATE KEY block, got %q", b)
	}
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(block.Bytes, &info); err != nil {
		t.Fatal(err)
	}
	var params pkcs.PBES2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		t.Fatal(err)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		t.Fatal(err)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"scheme", info.Algorithm.Algorithm.String(), "1.2.840.113549.1.5.13"},
		{"KDF", params.KeyDerivationFunc.Algorithm.String(), "1.2.840.113549.1.5.12"},
		{"PRF", kdf.PRF.Algorithm.String(), "1.2.156.10197.1.401.2"},
		{"iterations", kdf.Iterations, PBKDF2Iterations},
		{"salt length", len(kdf.Salt), 16},
		{"cipher", params.EncryptionScheme.Algorithm.String(), "1.2.156.10197.1.104.2"},
		{"IV length", len(iv), 16},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if PBKDF2Iterations < 100_000 {
		t.Errorf("PBKDF2Iterations = %d, want at least 100,000", PBKDF2Iterations)
	}
}

// lowIterationPEM encrypts key like MarshalEncryptedPEM but with few
// PBKDF2 iterations and the given PRF, so tests can afford many tries.
func lowIterationPEM(t testing.TB, key crypto.Signer, pass []byte, prf pkcs.Hash) []byte {
	t.Helper()
	enc := pkcs.NewPBESEncrypter(pkcs.SM4CBC, pkcs.NewPBKDF2Opts(prf, 16, 16))
	der, err := pkcs8.MarshalPrivateKey(key, pass, enc)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})
}

func TestWrongPassphrase(t *testing.T) {
	key, err := GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalEncryptedPEM(key, []byte("right"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pass := range []string{"wrong", "Right", "right ", ""} {
		if _, err := ParseEncryptedPEM(b, []byte(pass)); !errors.Is(err, ErrBadPassphrase) {
			t.Errorf("passphrase %q: err = %v, want ErrBadPassphrase", pass, err)
		}
	}
	// About 1 wrong passphrase in 256 decrypts to valid CBC padding; those
	// must still report ErrBadPassphrase, not a malformed or unsupported key.
	cheap := lowIterationPEM(t, key, []byte("right"), pkcs.SM3)
	for i := range 3000 {
		_, err := ParseEncryptedPEM(cheap, fmt.Appendf(nil, "wrong-%d", i))
		if !errors.Is(err, ErrBadPassphrase) {
			t.Fatalf("wrong passphrase #%d: err = %v, want ErrBadPassphrase", i, err)
		}
	}
	if _, err := ParseEncryptedPEM(cheap, []byte("right")); err != nil {
		t.Fatalf("right passphrase: %v", err)
	}
}

func TestMarshalEncryptedPEMRefuses(t *testing.T) {
	key, err := GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MarshalEncryptedPEM(key, nil); !errors.Is(err, ErrBadPassphrase) {
		t.Errorf("empty passphrase: err = %v, want ErrBadPassphrase", err)
	}
	if _, err := MarshalEncryptedPEM(otherSigner{}, []byte("x")); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("foreign signer: err = %v, want ErrUnsupportedKey", err)
	}
}

// otherSigner is a crypto.Signer of no supported type.
type otherSigner struct{}

func (otherSigner) Public() crypto.PublicKey { return nil }
func (otherSigner) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("no")
}

func TestParseEncryptedPEMRejects(t *testing.T) {
	key, err := GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := smx509.MarshalSM2PrivateKey(key.(*sm2.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	good := lowIterationPEM(t, key, []byte("p"), pkcs.SM3)
	block, _ := pem.Decode(good)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformedKey},
		{"no PEM", []byte("not a key"), ErrMalformedKey},
		{"certificate only", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), ErrMalformedKey},
		{"plaintext PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: plain}), ErrUnencryptedKey},
		{"plaintext SEC1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), ErrUnencryptedKey},
		{"legacy Proc-Type", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"}, Bytes: sec1}), ErrUnsupportedKey},
		{"truncated ciphertext", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: block.Bytes[:len(block.Bytes)-3]}), ErrMalformedKey},
		{"trailing bytes", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: append(append([]byte{}, block.Bytes...), 0)}), ErrMalformedKey},
		{"plain DER in encrypted block", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: plain}), ErrMalformedKey},
		{"PBES1", craft(t, oidPBES1MD5DES, asn1.NullRawValue, 16), ErrUnsupportedKey},
		{"3DES cipher", craftPBES2(t, oidPBKDF2, 2048, asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}, 8), ErrUnsupportedKey},
		{"unknown KDF", craftPBES2(t, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}, 2048, oidSM4CBC, 16), ErrUnsupportedKey},
		{"iterations 0", craftPBES2(t, oidPBKDF2, 0, oidSM4CBC, 16), ErrMalformedKey},
		{"iterations 2^31-1", craftPBES2(t, oidPBKDF2, 1<<31-1, oidSM4CBC, 16), ErrMalformedKey},
		{"short IV", craftPBES2(t, oidPBKDF2, 2048, oidSM4CBC, 8), ErrMalformedKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseEncryptedPEM(tc.in, []byte("p")); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestOpenSSLVector reads a key OpenSSL 3.0 encrypted (testdata, made with
// `openssl pkcs8 -topk8 -v2 sm4-cbc -v2prf hmacWithSHA256 -iter 2048
// -passout pass:sealpipe-test`) and checks it against OpenSSL's public key.
func TestOpenSSLVector(t *testing.T) {
	b, err := os.ReadFile("testdata/openssl-sm2-sm4cbc-hmacsha256.pem")
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := os.ReadFile("testdata/openssl-sm2-sm4cbc-hmacsha256.pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseEncryptedPEM(b, []byte("sealpipe-test"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*sm2.PrivateKey); !ok {
		t.Fatalf("OpenSSL SM2 key parsed as %T, want *sm2.PrivateKey", s)
	}
	blk, _ := pem.Decode(pubPEM)
	pub, err := smx509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Public().(*ecdsa.PublicKey).Equal(pub) {
		t.Error("decrypted key does not match the public key OpenSSL wrote")
	}
	if _, err := ParseEncryptedPEM(b, []byte("sealpipe-Test")); !errors.Is(err, ErrBadPassphrase) {
		t.Errorf("wrong passphrase: err = %v, want ErrBadPassphrase", err)
	}
}

// TestOpenSSLInterop checks our files with OpenSSL 3.0 and OpenSSL's files
// with us.
//
// OpenSSL 3.0 has no HMAC-SM3 PRF for PBKDF2 (`openssl pkcs8 -v2prf
// hmacWithSM3` says "Unknown PRF algorithm"), so it cannot decrypt what
// MarshalEncryptedPEM writes: the test asserts it fails for exactly that
// reason ("unsupported prf") and that the same structure with HMAC-SHA256
// as the PRF — PBES2, PBKDF2, SM4-CBC — decrypts to the same key.
func TestOpenSSLInterop(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	dir := t.TempDir()
	pass := "s3cret pass"
	key, err := GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := smx509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	wantPub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))

	ours, err := MarshalEncryptedPEM(key, []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	oursPath := write(t, dir, "ours.pem", ours)
	out, err := exec.Command(openssl, "pkey", "-in", oursPath, "-passin", "pass:"+pass, "-noout").CombinedOutput()
	switch {
	case err == nil:
		t.Logf("this OpenSSL decrypts PBKDF2-HMAC-SM3 keys: %s", out)
	case !strings.Contains(string(out), "unsupported prf"):
		t.Errorf("OpenSSL failed on our key for a reason other than the HMAC-SM3 PRF: %v\n%s", err, out)
	}

	sha := lowIterationPEM(t, key, []byte(pass), pkcs.SHA256)
	shaPath := write(t, dir, "sha256prf.pem", sha)
	out, err = exec.Command(openssl, "pkey", "-in", shaPath, "-passin", "pass:"+pass, "-pubout").CombinedOutput()
	if err != nil {
		t.Fatalf("OpenSSL cannot read PBES2/PBKDF2-HMAC-SHA256/SM4-CBC: %v\n%s", err, out)
	}
	if string(out) != wantPub {
		t.Errorf("OpenSSL decrypted a different key:\n%s\nwant\n%s", out, wantPub)
	}
	if out, err := exec.Command(openssl, "pkey", "-in", shaPath, "-passin", "pass:wrong", "-noout").CombinedOutput(); err == nil {
		t.Errorf("OpenSSL accepted a wrong passphrase: %s", out)
	}

	// OpenSSL's own encryptions, default (AES-256-CBC) and SM4-CBC, read back.
	plainPath := filepath.Join(dir, "plain.pem")
	run(t, openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", plainPath)
	for _, cipher := range []string{"aes-256-cbc", "sm4-cbc"} {
		encPath := filepath.Join(dir, cipher+".pem")
		run(t, openssl, "pkcs8", "-topk8", "-in", plainPath, "-v2", cipher, "-passout", "pass:"+pass, "-out", encPath)
		b, err := os.ReadFile(encPath)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseEncryptedPEM(b, []byte(pass))
		if err != nil {
			t.Errorf("%s: %v", cipher, err)
			continue
		}
		pub := run(t, openssl, "pkey", "-in", plainPath, "-pubout")
		der, _ := smx509.MarshalPKIXPublicKey(s.Public())
		if got := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); got != pub {
			t.Errorf("%s: decrypted public key\n%s\nwant\n%s", cipher, got, pub)
		}
	}
}

var oidPBES1MD5DES = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 3}

// craft builds an ENCRYPTED PRIVATE KEY PEM with the given scheme and
// parameters over n bytes of ciphertext.
func craft(t testing.TB, scheme asn1.ObjectIdentifier, params asn1.RawValue, n int) []byte {
	t.Helper()
	der, err := asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm:     pkix.AlgorithmIdentifier{Algorithm: scheme, Parameters: params},
		EncryptedData: make([]byte, n),
	})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})
}

// craftPBES2 builds a PBES2 key with the given KDF, iteration count,
// cipher and IV length.
func craftPBES2(t testing.TB, kdf asn1.ObjectIdentifier, iter int, cipher asn1.ObjectIdentifier, ivLen int) []byte {
	t.Helper()
	kp, err := asn1.Marshal(pbkdf2Params{Salt: make([]byte, 8), Iterations: iter, PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACSM3, Parameters: asn1.NullRawValue}})
	if err != nil {
		t.Fatal(err)
	}
	iv, err := asn1.Marshal(make([]byte, ivLen))
	if err != nil {
		t.Fatal(err)
	}
	p, err := asn1.Marshal(pkcs.PBES2Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: kdf, Parameters: asn1.RawValue{FullBytes: kp}},
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: cipher, Parameters: asn1.RawValue{FullBytes: iv}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return craft(t, oidPBES2, asn1.RawValue{FullBytes: p}, 32)
}

func write(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}

func FuzzParseEncryptedPEM(f *testing.F) {
	key, err := GenerateSM2()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(lowIterationPEM(f, key, []byte("fuzz"), pkcs.SM3))
	f.Add(lowIterationPEM(f, key, []byte("fuzz"), pkcs.SHA256))
	if b, err := os.ReadFile("testdata/openssl-sm2-sm4cbc-hmacsha256.pem"); err == nil {
		f.Add(b)
	}
	if dir, ok := testenv.ConformanceDir(); ok {
		if b, err := os.ReadFile(filepath.Join(dir, "keys", "sign_key.pem")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseEncryptedPEM(b, []byte("fuzz"))
		if (s == nil) == (err == nil) {
			t.Fatalf("signer %v with error %v", s, err)
		}
		if s, err := parsePEM(b, Options{Passphrase: []byte("fuzz"), AllowUnencrypted: true}); (s == nil) == (err == nil) {
			t.Fatalf("signer %v with error %v", s, err)
		}
	})
}

func BenchmarkParseEncryptedPEM(b *testing.B) {
	key, err := GenerateSM2()
	if err != nil {
		b.Fatal(err)
	}
	pemBytes, err := MarshalEncryptedPEM(key, []byte("bench"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ParseEncryptedPEM(pemBytes, []byte("bench")); err != nil {
			b.Fatal(err)
		}
	}
}
