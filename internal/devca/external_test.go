package devca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

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
