package devca

import (
	"context"
	"crypto"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
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
// the certificate (signers/<slug>.crt and signers/<slug>.keyuri). The SM2
// root issues it for an SM2 key, the development PAdES CA for an ECDSA or
// RSA key (as AddUnit). Running it again for the same key returns the
// existing identity; for a different key it fails.
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
	parent, parentKey, err := c.signerIssuer(ctx, KeyTypeOf(pub))
	if err != nil {
		return Identity{}, err
	}
	iss := issuer{cert: parent, key: parentKey, pass: c.passphrase, now: time.Now().UTC().Truncate(time.Second), validity: DefaultLeafValidity}
	cert, err := iss.issue(leafSpec{base: base, slug: slug, name: name, role: roleSigner, usage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment}, pub)
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

// previousDir is the folder of signers/ where RenewSigner keeps the
// certificates it replaced: previous/<slug>-<SERIAL>.crt.
const previousDir = "previous"

// RenewSigner issues unit slug's document signer certificate again for the
// same key — a key file stays where it is, encrypted; an HSM key stays in
// its token (.keyuri unchanged) — with the same subject, key usages and
// subject key identifier, valid from now for validity (zero:
// DefaultLeafValidity) but never beyond the root. It checks first that
// the key is there and is the certificate's: it opens it with open (the
// engine's keyring, whose HSM pool knows the module and PIN), or with the
// CA's own passphrase if open is nil; an HSM key needs its token. It
// refuses a renewal that would not end later than
// the current certificate. The current certificate is kept as
// signers/previous/<slug>-<SERIAL>.crt, then replaced atomically; the
// seals made before keep the certificate they were made with, and `seals
// renew` makes successors with the new one. It returns the identity
// before and after.
func (c *CA) RenewSigner(ctx context.Context, slug string, validity time.Duration, open func(context.Context) (crypto.Signer, error)) (old, renewed Identity, err error) {
	old, err = c.Unit(slug)
	if err != nil {
		return Identity{}, Identity{}, err
	}
	if validity == 0 {
		validity = DefaultLeafValidity
	}
	if validity < 0 {
		return Identity{}, Identity{}, fmt.Errorf("devca: negative validity %v", validity)
	}
	if open == nil {
		open = func(ctx context.Context) (crypto.Signer, error) { return c.Signer(ctx, old) }
	}
	key, err := open(ctx)
	if err != nil {
		return Identity{}, Identity{}, fmt.Errorf("devca: unit %q: the certificate's key: %w", slug, err)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(old.Cert.PublicKey) {
		return Identity{}, Identity{}, fmt.Errorf("devca: unit %q: the key it signs with is not its certificate's: renewing the certificate would not help", slug)
	}
	// The issuer is the current certificate's: the SM2 root, or the PAdES
	// CA for an ECDSA or RSA key (a chain from before the PAdES CA has its
	// HSM ECDSA keys certified by the SM2 root, which goes on renewing
	// them).
	parent, parentKey := c.Root, crypto.Signer(nil)
	if c.PAdESRoot != nil && old.Cert.CheckSignatureFrom(c.PAdESRoot) == nil {
		parent, parentKey, err = c.padesCA(ctx)
	} else {
		parentKey, err = openKeyURI(ctx, c.rootKeyURI, c.Root, c.passphrase)
	}
	if err != nil {
		return Identity{}, Identity{}, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	notAfter := now.Add(validity)
	if notAfter.After(parent.NotAfter) {
		notAfter = parent.NotAfter
	}
	if !notAfter.After(old.Cert.NotAfter) {
		return Identity{}, Identity{}, fmt.Errorf("%w: unit %q: the renewed certificate would end %s, no later than the current one (%s): give a longer validity (the root ends %s)",
			ErrNoLaterValidity, slug, notAfter.Format(time.DateOnly), old.Cert.NotAfter.Format(time.DateOnly), parent.NotAfter.Format(time.DateOnly))
	}
	prev := old.Cert
	tmpl := &smx509.Certificate{
		RawSubject:            prev.RawSubject,
		Subject:               prev.Subject,
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              prev.KeyUsage,
		ExtKeyUsage:           prev.ExtKeyUsage,
		UnknownExtKeyUsage:    prev.UnknownExtKeyUsage,
		PolicyIdentifiers:     prev.PolicyIdentifiers,
		BasicConstraintsValid: true,
		SubjectKeyId:          prev.SubjectKeyId,
	}
	if len(tmpl.SubjectKeyId) == 0 {
		if tmpl.SubjectKeyId, err = subjectKeyID(prev.PublicKey); err != nil {
			return Identity{}, Identity{}, err
		}
	}
	cert, err := create(tmpl, parent, prev.PublicKey, parentKey)
	if err != nil {
		return Identity{}, Identity{}, err
	}
	dir := filepath.Join(filepath.Dir(old.CertPath), previousDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Identity{}, Identity{}, fmt.Errorf("devca: %w", err)
	}
	kept := filepath.Join(dir, fmt.Sprintf("%s-%X%s", slug, prev.SerialNumber, certExt))
	if err := createFile(kept, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: prev.Raw}), 0o644); err != nil && !errors.Is(err, fs.ErrExist) {
		return Identity{}, Identity{}, err
	}
	if err := replaceFile(old.CertPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		return Identity{}, Identity{}, err
	}
	renewed = old
	renewed.Cert = cert
	c.Signers[slug] = renewed
	return old, renewed, nil
}

// ErrNoLaterValidity reports a certificate renewal that would not end
// later than the certificate it renews.
var ErrNoLaterValidity = errors.New("devca: the renewal would not extend the validity")
