package devca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

func TestIssueSigner(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := initCA(t, dir, time.Time{})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const uri = "pkcs11:token=sealpipe;object=unit?pin-source=file:/run/pin"
	ctx := context.Background()
	id, err := ca.IssueSigner(ctx, "hsm-unit", "某某县民政局", key.Public(), uri)
	if err != nil {
		t.Fatal(err)
	}
	if !id.Cert.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) || id.KeyURI != uri || id.KeyPath != "" {
		t.Fatalf("identity %+v", id)
	}
	if _, err := ca.Pool().Verify(id.Cert, time.Now(), trust.UsageDocumentSigner); err != nil {
		t.Fatalf("the HSM signer's certificate does not chain: %v", err)
	}
	// An ECDSA key's certificate comes from the PAdES CA, an SM2 key's
	// from the SM2 root.
	if ca.PAdESRoot == nil || id.Cert.CheckSignatureFrom(ca.PAdESRoot) != nil {
		t.Errorf("the ECDSA HSM signer's certificate is not the PAdES CA's: issuer %s", id.Cert.Issuer)
	}
	sm2Key, err := keys.GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	if sm2ID, err := ca.IssueSigner(ctx, "hsm-sm2", "某某县民政局", sm2Key.Public(), uri); err != nil || sm2ID.Cert.CheckSignatureFrom(ca.Root) != nil {
		t.Errorf("the SM2 HSM signer's certificate is not the SM2 root's: %v", err)
	}
	// Again with the same key: the same identity. With another key: refused.
	if again, err := ca.IssueSigner(ctx, "hsm-unit", "某某县民政局", key.Public(), uri); err != nil || !again.Cert.Equal(id.Cert) {
		t.Fatalf("second IssueSigner = %v", err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := ca.IssueSigner(ctx, "hsm-unit", "某某县民政局", other.Public(), uri); err == nil {
		t.Fatal("re-issued a signer for another key")
	}
	for _, bad := range []struct{ slug, uri string }{{"Bad Slug", uri}, {"ok-slug", ""}, {"ok-slug", "pkcs11:a\nb"}} {
		if _, err := ca.IssueSigner(ctx, bad.slug, "某某县民政局", key.Public(), bad.uri); err == nil {
			t.Errorf("IssueSigner(%q, %q) accepted", bad.slug, bad.uri)
		}
	}
	// Load finds it, with its key URI, and Init keeps working.
	loaded, err := Load(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if got := loaded.Signers["hsm-unit"]; got.KeyURI != uri || !got.Cert.Equal(id.Cert) {
		t.Fatalf("Load: %+v", got)
	}
	initCA(t, dir, time.Time{})
}
