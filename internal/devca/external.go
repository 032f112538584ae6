package devca

import (
	"context"
	"crypto"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// keyURIExt names the file that records where the key of an identity
// lives when it is not a key file beside its certificate: an HSM key's
// pkcs11: URI. The URI should carry pin-source=, never the PIN itself.
const keyURIExt = ".keyuri"

// IssueSigner issues a document signer certificate, under slug, for a key
// held elsewhere — typically in an HSM — and records the key's URI beside
// the certificate (signers/<slug>.crt and signers/<slug>.keyuri). Running
// it again for the same key returns the existing identity; for a different
// key it fails.
func (c *CA) IssueSigner(ctx context.Context, slug, name string, pub crypto.PublicKey, keyURI string) (Identity, error) {
	if !slugRE.MatchString(slug) {
		return Identity{}, fmt.Errorf("devca: signer slug %q: want %s", slug, slugRE)
	}
	if err := checkName(name); err != nil {
		return Identity{}, err
	}
	if keyURI == "" || strings.ContainsAny(keyURI, "\r\n") {
		return Identity{}, fmt.Errorf("devca: signer %q: empty or multi-line key URI", slug)
	}
	dir := filepath.Join(filepath.Dir(c.RootPath), signersDir)
	base := filepath.Join(dir, slug)
	if id, ok := c.Signers[slug]; ok {
		if k, ok := id.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && k.Equal(pub) {
			return id, nil
		}
		return Identity{}, fmt.Errorf("devca: signer %q exists with another key; remove %s to re-issue", slug, base+certExt)
	}
	rootKey, err := openKeyURI(ctx, c.rootKeyURI, c.Root, c.passphrase)
	if err != nil {
		return Identity{}, err
	}
	ski, err := subjectKeyID(pub)
	if err != nil {
		return Identity{}, err
	}
	now := time.Now()
	notAfter := now.Add(DefaultLeafValidity)
	if notAfter.After(c.Root.NotAfter) {
		notAfter = c.Root.NotAfter
	}
	tmpl := &smx509.Certificate{
		Subject:               pkix.Name{Country: []string{"CN"}, Organization: []string{name}, OrganizationalUnit: []string{roleSigner}, CommonName: slug},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
		SubjectKeyId:          ski,
	}
	cert, err := create(tmpl, c.Root, pub, rootKey)
	if err != nil {
		return Identity{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Identity{}, fmt.Errorf("devca: %w", err)
	}
	if err := createFile(base+keyURIExt, []byte(keyURI+"\n"), 0o600); err != nil {
		return Identity{}, err
	}
	if err := createFile(base+certExt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		return Identity{}, err
	}
	id := Identity{Cert: cert, CertPath: base + certExt, KeyURI: keyURI}
	c.Signers[slug] = id
	return id, nil
}

// readKeyURI returns the key URI recorded for base, if any.
func readKeyURI(base string) (string, bool, error) {
	b, err := os.ReadFile(base + keyURIExt)
	if os.IsNotExist(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("devca: %w", err)
	}
	return strings.TrimSpace(string(b)), true, nil
}
