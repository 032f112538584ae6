package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// keyFile writes key encrypted under pass into a fresh directory and
// returns its path.
func keyFile(t *testing.T, key crypto.Signer, pass string) string {
	t.Helper()
	b, err := MarshalEncryptedPEM(key, []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	return write(t, t.TempDir(), "key.pem", b)
}

func TestOpenFile(t *testing.T) {
	key, err := GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	path := keyFile(t, key, "pw")
	uri, err := FileURI(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(uri, "file:///") {
		t.Errorf("FileURI(%q) = %q, want file:///…", path, uri)
	}
	spaced := filepath.Join(t.TempDir(), "a dir with spaces%", "key.pem")
	if err := os.MkdirAll(filepath.Dir(spaced), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(path, spaced); err != nil {
		t.Fatal(err)
	}
	spacedURI, err := FileURI(spaced)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		path,                        // bare path
		"file:" + path,              // file:/abs
		"file://" + path,            // file:///abs
		"file://localhost" + path,   // with the local host
		"FILE:" + path,              // schemes are case-insensitive
		uri,                         // what FileURI makes
		spacedURI,                   // percent-encoded
		relative(t, path),           // bare relative path
		"file:" + relative(t, path), // file:relative
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(context.Background(), name, Options{Passphrase: []byte("pw")})
			if err != nil {
				t.Fatal(err)
			}
			if !s.(*sm2.PrivateKey).Equal(key) {
				t.Error("opened a different key")
			}
		})
	}
}

// relative returns path relative to the working directory.
func relative(t *testing.T, path string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

func TestOpenErrors(t *testing.T) {
	key, err := GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	path := keyFile(t, key, "pw")
	plain := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(smx509.MarshalPKCS8PrivateKey(key))})
	plainPath := write(t, t.TempDir(), "plain.pem", plain)
	missing := filepath.Join(t.TempDir(), "nope.pem")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name string
		ctx  context.Context
		uri  string
		pass string
		want error
	}{
		{"unknown scheme", nil, "vault:transit/keys/seal", "pw", ErrUnknownScheme},
		{"pkcs11 before its backend is registered", nil, "pkcs11:token=seal;object=k1?pin-value=1234", "pw", ErrUnknownScheme},
		{"missing file", nil, missing, "pw", ErrKeyNotFound},
		{"missing file URI", nil, "file://" + missing, "pw", ErrKeyNotFound},
		{"remote host", nil, "file://keyserver" + path, "pw", ErrKeyNotFound},
		{"query", nil, "file://" + path + "?x=1", "pw", ErrKeyNotFound},
		{"empty URI", nil, "", "pw", ErrKeyNotFound},
		{"wrong passphrase", nil, path, "wrong", ErrBadPassphrase},
		{"no passphrase", nil, path, "", ErrBadPassphrase},
		{"plaintext key", nil, plainPath, "pw", ErrUnencryptedKey},
		{"canceled", canceled, path, "pw", context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			s, err := Open(ctx, tc.uri, Options{Passphrase: []byte(tc.pass)})
			if !errors.Is(err, tc.want) || s != nil {
				t.Fatalf("Open(%q) = %v, %v; want error %v", tc.uri, s, err, tc.want)
			}
			if strings.Contains(err.Error(), "1234") {
				t.Errorf("error leaks the PIN: %v", err)
			}
		})
	}
}

func TestOpenUnencryptedWhenAllowed(t *testing.T) {
	dir := testenv.Conformance(t)
	s, err := Open(context.Background(), filepath.Join(dir, "keys", "sign_key.pem"), Options{AllowUnencrypted: true})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "keys", "sign_cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := smx509.ParseCertificatePEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Public().(*ecdsa.PublicKey).Equal(cert.PublicKey) {
		t.Error("sign_key.pem does not open to sign_cert.pem's key")
	}
	if _, ok := s.(*sm2.PrivateKey); !ok {
		t.Errorf("SM2 SEC1 key opened as %T, want *sm2.PrivateKey", s)
	}
}

// TestSignVerifies signs with an opened key both ways an SM2 signer is
// used — over the message with the default ID, and over a precomputed
// e = SM3(Z_A‖M) as HSMs do — and checks each with gmsm and with OpenSSL.
func TestSignVerifies(t *testing.T) {
	key, err := GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), keyFile(t, key, "pw"), Options{Passphrase: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Public().(*ecdsa.PublicKey)
	msg := []byte("某某县民政局 electronic seal test message")

	viaMessage, err := s.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		t.Fatal(err)
	}
	e, err := sm2.CalculateSM2Hash(pub, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	viaDigest, err := s.Sign(rand.Reader, e, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	for name, sig := range map[string][]byte{"message": viaMessage, "digest": viaDigest} {
		if !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
			t.Errorf("%s signature does not verify with the default SM2 ID", name)
		}
		if sm2.VerifyASN1WithSM2(pub, nil, append([]byte("x"), msg...), sig) {
			t.Errorf("%s signature verifies over a different message", name)
		}
	}

	openssl := testenv.Tool(t, "openssl")
	dir := t.TempDir()
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pubPath := write(t, dir, "pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	msgPath := write(t, dir, "msg", msg)
	for name, sig := range map[string][]byte{"message": viaMessage, "digest": viaDigest} {
		sigPath := write(t, dir, name+".sig", sig)
		out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin",
			"-in", msgPath, "-sigfile", sigPath, "-digest", "sm3", "-pkeyopt", "distid:1234567812345678").CombinedOutput()
		if err != nil {
			t.Errorf("OpenSSL rejects the %s signature: %v\n%s", name, err, out)
		}
	}
}

func TestRegister(t *testing.T) {
	key, err := GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	var gotURI *url.URL
	var gotPass string
	// A fresh scheme per run, so that -count=N does not register twice.
	scheme := fmt.Sprintf("test-hsm-%d", registerRuns.Add(1))
	Register(strings.ToUpper(scheme), BackendFunc(func(_ context.Context, u *url.URL, o Options) (crypto.Signer, error) {
		gotURI, gotPass = u, string(o.Passphrase)
		return key, nil
	}))
	s, err := Open(context.Background(), scheme+":token=seal;object=k1", Options{Passphrase: []byte("1234")})
	if err != nil {
		t.Fatal(err)
	}
	if s != key || gotURI.Opaque != "token=seal;object=k1" || gotPass != "1234" {
		t.Errorf("backend saw %v with passphrase %q and returned %v", gotURI, gotPass, s)
	}
	if !slices.Contains(Schemes(), scheme) {
		t.Errorf("Schemes() = %v, want %s among them", Schemes(), scheme)
	}
	for _, scheme := range []string{scheme, "file", "", "a:b"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", scheme)
				}
			}()
			Register(scheme, BackendFunc(nil))
		}()
	}
	defer func() {
		if recover() == nil {
			t.Error("Register of a nil backend did not panic")
		}
	}()
	Register("nil-backend", nil)
}

var registerRuns atomic.Int64

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
