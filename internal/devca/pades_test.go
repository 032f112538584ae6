package devca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

func TestParseKeyType(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want KeyType
		err  bool
	}{
		{"sm2", KeySM2, false},
		{"p256", KeyP256, false},
		{"rsa2048", KeyRSA2048, false},
		{"", "", true},
		{"P256", "", true},
		{"ed25519", "", true},
	} {
		got, err := ParseKeyType(tc.in)
		if got != tc.want || (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrKeyType)) {
			t.Errorf("ParseKeyType(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestAddUnit: a unit added with each key type gets a key file of that
// type, encrypted with the CA's passphrase, and a document signer
// certificate (the unit's name, its slug, digitalSignature and
// contentCommitment) from the SM2 root for an SM2 key and from the PAdES
// CA — ECDSA P-256, made on the first such unit — for ECDSA and RSA keys,
// whose chains crypto/x509 verifies. Loading the directory again finds
// them; a unit has one key.
func TestAddUnit(t *testing.T) {
	t.Parallel()
	ca, dir, _ := testCA(t)
	ctx := context.Background()
	if ca.PAdESRoot != nil {
		t.Fatal("a new chain has a PAdES CA before any unit needs it")
	}
	for _, tc := range []struct {
		slug  string
		typ   KeyType
		sm2   bool
		check func(crypto.PublicKey) bool
	}{
		{"unit-sm2", KeySM2, true, func(p crypto.PublicKey) bool { return KeyTypeOf(p) == KeySM2 }},
		{"unit-p256", KeyP256, false, func(p crypto.PublicKey) bool {
			k, ok := p.(*ecdsa.PublicKey)
			return ok && k.Curve == elliptic.P256()
		}},
		{"unit-rsa", KeyRSA2048, false, func(p crypto.PublicKey) bool { return KeyTypeOf(p) == "rsa2048" }},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			name := "测试单位 " + tc.slug
			id, err := ca.AddUnit(ctx, Unit{Slug: tc.slug, Name: name}, tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			cert := id.Cert
			if !tc.check(cert.PublicKey) {
				t.Errorf("key %T, want %s", cert.PublicKey, tc.typ)
			}
			if s := cert.Subject; !slices.Equal(s.Country, []string{"CN"}) || !slices.Equal(s.Organization, []string{name}) ||
				!slices.Equal(s.OrganizationalUnit, []string{roleSigner}) || s.CommonName != tc.slug {
				t.Errorf("subject %s", s)
			}
			if cert.KeyUsage != smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment || cert.IsCA {
				t.Errorf("key usage %v, CA %v", cert.KeyUsage, cert.IsCA)
			}
			if id.CertPath != filepath.Join(dir, "signers", tc.slug+".crt") || id.KeyPath != filepath.Join(dir, "signers", tc.slug+".key") {
				t.Errorf("paths %s, %s", id.CertPath, id.KeyPath)
			}
			checkMode(t, id.KeyPath, 0o600)
			checkEncrypted(t, id.KeyPath, cert)

			issuer := ca.Root
			if !tc.sm2 {
				issuer = ca.PAdESRoot
				if issuer == nil {
					t.Fatal("no PAdES CA")
				}
				if err := cert.CheckSignatureFrom(ca.Root); err == nil {
					t.Error("the SM2 root signed an ECDSA/RSA signer certificate")
				}
				checkX509Chain(t, cert, issuer)
			}
			if err := cert.CheckSignatureFrom(issuer); err != nil {
				t.Errorf("not issued by %q: %v", issuer.Subject.CommonName, err)
			}
			if _, err := ca.Pool().Verify(cert, time.Now(), trust.UsageDocumentSigner); err != nil {
				t.Errorf("the CA's pool does not verify it: %v", err)
			}

			// It signs, and Load finds it.
			key, err := ca.OpenAlias(ctx, tc.slug)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte("document"))
			if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				t.Errorf("Sign: %v", err)
			}
			loaded, err := Load(dir, testPass)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := loaded.Signers[tc.slug]; !ok || !got.Cert.Equal(cert) {
				t.Errorf("Load: signer %q %v", tc.slug, ok)
			}

			// Again with the same type: the same identity; another: refused.
			again, err := ca.AddUnit(ctx, Unit{Slug: tc.slug, Name: "another name"}, tc.typ)
			if err != nil || !again.Cert.Equal(cert) {
				t.Errorf("AddUnit again: %v", err)
			}
			other := KeyP256
			if tc.typ == KeyP256 {
				other = KeySM2
			}
			if _, err := ca.AddUnit(ctx, Unit{Slug: tc.slug, Name: name}, other); !errors.Is(err, ErrKeyType) {
				t.Errorf("AddUnit with %s key: %v, want ErrKeyType", other, err)
			}
		})
	}

	// The PAdES CA: self-signed ECDSA P-256, a CA of path length 0, its
	// key encrypted beside it, loaded with the chain.
	root := ca.PAdESRoot
	if root == nil {
		t.Fatal("no PAdES CA")
	}
	if ca.PAdESCAPath() != filepath.Join(dir, "pades", "ca.crt") {
		t.Errorf("PAdESCAPath %s", ca.PAdESCAPath())
	}
	if k, ok := root.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() || root.SignatureAlgorithm != smx509.ECDSAWithSHA256 {
		t.Errorf("PAdES CA key %T, signature %v", root.PublicKey, root.SignatureAlgorithm)
	}
	if !root.IsCA || !root.MaxPathLenZero || root.KeyUsage != smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign || root.CheckSignatureFrom(root) != nil {
		t.Errorf("PAdES CA: CA %v, path length zero %v, key usage %v", root.IsCA, root.MaxPathLenZero, root.KeyUsage)
	}
	checkMode(t, filepath.Join(dir, "pades", "ca.key"), 0o600)
	checkEncrypted(t, filepath.Join(dir, "pades", "ca.key"), root)
	if loaded, err := Load(dir, nil); err != nil || loaded.PAdESRoot == nil || !loaded.PAdESRoot.Equal(root) || len(loaded.Roots()) != 2 {
		t.Errorf("Load: PAdES CA %v, %v", loaded != nil && loaded.PAdESRoot != nil, err)
	}

	// A unit that has a key already keeps it; an unknown key type is
	// refused; another chain's pool trusts none of these.
	if _, err := ca.AddUnit(ctx, testUnits[0], KeyP256); !errors.Is(err, ErrKeyType) {
		t.Errorf("AddUnit(%s, p256) of an SM2 unit: %v, want ErrKeyType", testUnits[0].Slug, err)
	}
	if _, err := ca.AddUnit(ctx, Unit{Slug: "unit-ed", Name: "测试单位"}, "ed25519"); !errors.Is(err, ErrKeyType) {
		t.Errorf("AddUnit(ed25519): %v, want ErrKeyType", err)
	}
	if _, err := ca.AddUnit(ctx, Unit{Slug: "Bad Slug", Name: "测试单位"}, KeyP256); err == nil {
		t.Error("AddUnit took a bad slug")
	}
	stray := filepath.Join(dir, "signers", "unit-half.crt")
	if err := os.WriteFile(stray, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.AddUnit(ctx, Unit{Slug: "unit-half", Name: "测试单位"}, KeyP256); !errors.Is(err, ErrPartial) {
		t.Errorf("AddUnit over a stray %s: %v, want ErrPartial", stray, err)
	}
	if err := os.Remove(stray); err != nil {
		t.Fatal(err)
	}
	other, err := Init(Config{Dir: t.TempDir(), Passphrase: testPass})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.AddUnit(ctx, Unit{Slug: "x", Name: "测试单位"}, KeyP256); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Pool().Verify(ca.Signers["unit-p256"].Cert, time.Now(), trust.UsageDocumentSigner); err == nil {
		t.Error("another chain's PAdES CA verified this one's signer")
	}
}

// checkEncrypted checks that the key file at path is encrypted with
// testPass and holds cert's key.
func checkEncrypted(t *testing.T, path string, cert *smx509.Certificate) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.ParseEncryptedPEM(b, []byte("wrong")); !errors.Is(err, keys.ErrBadPassphrase) {
		t.Errorf("%s opens without the passphrase: %v", path, err)
	}
	key, err := keys.ParseEncryptedPEM(b, testPass)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		t.Errorf("%s holds another key than %q's", path, cert.Subject.CommonName)
	}
}

// checkX509Chain verifies cert under root with the standard library, as
// a relying party without SM2 would.
func checkX509Chain(t *testing.T, cert, root *smx509.Certificate) {
	t.Helper()
	leaf, err := x509.ParseCertificate(cert.Raw)
	if err != nil {
		t.Fatalf("crypto/x509 cannot parse the signer certificate: %v", err)
	}
	r, err := x509.ParseCertificate(root.Raw)
	if err != nil {
		t.Fatalf("crypto/x509 cannot parse the PAdES CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(r)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("crypto/x509: %v", err)
	}
}

// TestRenewPAdESSigner: an ECDSA unit's certificate is renewed by the
// PAdES CA, not the SM2 root.
func TestRenewPAdESSigner(t *testing.T) {
	t.Parallel()
	ca, _, _ := testCA(t)
	ctx := context.Background()
	id, err := ca.AddUnit(ctx, Unit{Slug: "unit-p256", Name: "测试单位"}, KeyP256)
	if err != nil {
		t.Fatal(err)
	}
	_, renewed, err := ca.RenewSigner(ctx, "unit-p256", 3*365*24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := renewed.Cert.CheckSignatureFrom(ca.PAdESRoot); err != nil || !renewed.Cert.NotAfter.After(id.Cert.NotAfter) {
		t.Errorf("renewed: %v, until %s (was %s)", err, renewed.Cert.NotAfter, id.Cert.NotAfter)
	}
}

// TestTSAMovesToPAdESCA: the ECDSA TSA identity of a chain from before the
// PAdES CA, issued by the TLS CA, is issued again by the PAdES CA, so that
// PAdES B-T timestamps chain to a document-signing root.
func TestTSAMovesToPAdESCA(t *testing.T) {
	t.Parallel()
	ca, dir, _ := testCA(t)
	ctx := context.Background()
	tlsCA, tlsKey, err := ca.tlsCA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	old, err := issueTSA(tlsCA, tlsKey, key.Public(), "ecdsa")
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, TSADirName, "ecdsa")
	if err := os.MkdirAll(filepath.Dir(base), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeIdentity(base, old, key, testPass); err != nil {
		t.Fatal(err)
	}
	got, err := ca.EnsureTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.ECDSA.Cert.Equal(old) || got.ECDSA.Cert.CheckSignatureFrom(ca.PAdESRoot) != nil || !got.ECDSAIssuer.Equal(ca.PAdESRoot) {
		t.Errorf("the ECDSA TSA certificate is still the TLS CA's (%s)", got.ECDSA.Cert.Issuer)
	}
	checkEncrypted(t, base+keyExt, got.ECDSA.Cert)
}
