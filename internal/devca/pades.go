package devca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// PAdES signer certificates. A unit whose seal signs PDF documents as
// PAdES (ETSI EN 319 142, package pdfseal's pades-b-b and pades-b-t) needs
// a key and a certificate chain that PDF readers verify: poppler (NSS),
// Acrobat and OpenSSL check no SM2 signature. Such a unit gets an ECDSA
// P-256 or RSA-2048 key (AddUnit, KeyP256 and KeyRSA2048), and its
// document signer certificate comes from a development PAdES CA of its
// own, pades/ca.crt (ECDSA P-256, ECDSA-with-SHA256), made on demand like
// the TLS CA (tls/ca.crt) and kept apart from it: document signing and TLS
// trust different roots. The certificate is a document signer's as the SM2
// ones are (signers/<slug>.crt and .key, C=CN, O=<unit name>, OU=document
// signer, CN=<slug>, digitalSignature|contentCommitment), the key
// encrypted like every key of the CA directory. The PAdES CA also
// certifies HSM-held ECDSA and RSA signer keys (IssueSigner) and the
// development TSA's ECDSA key (EnsureTSA), whose timestamps PAdES B-T
// signatures carry.

// PAdESDirName is the folder of the CA directory holding the development
// PAdES CA (PAdESCAName).
const PAdESDirName = "pades"

// PAdESCAName is the development PAdES CA's name: pades/ca.crt and
// pades/ca.key.
const PAdESCAName = "ca"

// KeyType is the kind of key a unit's document signer has.
type KeyType string

// The key types AddUnit makes.
const (
	// KeySM2 is an SM2 key (GB/T 32918) whose certificate the SM2 root
	// issues: GM/T 0010 and GB/T 38540 signatures.
	KeySM2 KeyType = "sm2"
	// KeyP256 is an ECDSA P-256 key whose certificate the development
	// PAdES CA issues: PAdES signatures that PDF readers verify.
	KeyP256 KeyType = "p256"
	// KeyRSA2048 is a 2048-bit RSA key whose certificate the development
	// PAdES CA issues.
	KeyRSA2048 KeyType = "rsa2048"
)

// KeyTypes are the key types AddUnit makes, KeySM2 first.
var KeyTypes = []KeyType{KeySM2, KeyP256, KeyRSA2048}

// ErrKeyType reports a key type AddUnit does not make, or a unit that
// has a key of another type than the one asked for: a unit has one key.
var ErrKeyType = errors.New("devca: key type")

// ParseKeyType returns the key type s names: "sm2", "p256" or "rsa2048".
func ParseKeyType(s string) (KeyType, error) {
	for _, k := range KeyTypes {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w %q: want %s", ErrKeyType, s, KeyTypeNames())
}

// KeyTypeNames lists KeyTypes for messages: "sm2, p256, rsa2048".
func KeyTypeNames() string {
	names := make([]string, len(KeyTypes))
	for i, k := range KeyTypes {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// KeyTypeOf names the type of the public key pub: one of KeyTypes, or a
// description of another key ("rsa3072", "ecdsa-P-384").
func KeyTypeOf(pub crypto.PublicKey) KeyType {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case sm2.P256():
			return KeySM2
		case elliptic.P256():
			return KeyP256
		}
		return KeyType("ecdsa-" + k.Curve.Params().Name)
	case *rsa.PublicKey:
		return KeyType(fmt.Sprintf("rsa%d", k.N.BitLen()))
	}
	return KeyType(fmt.Sprintf("%T", pub))
}

// generate makes a new private key of type k.
func (k KeyType) generate() (crypto.Signer, error) {
	switch k {
	case KeySM2:
		return keys.GenerateSM2()
	case KeyP256:
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("devca: generate P-256 key: %w", err)
		}
		return key, nil
	case KeyRSA2048:
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("devca: generate RSA key: %w", err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("%w %q: want %s", ErrKeyType, k, KeyTypeNames())
}

// PAdESCAPath is the development PAdES CA's certificate, pades/ca.crt. It
// exists once a unit has an ECDSA or RSA key (AddUnit, IssueSigner) or the
// development TSA has its certificates (EnsureTSA).
func (c *CA) PAdESCAPath() string {
	return filepath.Join(filepath.Dir(c.RootPath), PAdESDirName, PAdESCAName+certExt)
}

// padesCA loads the development PAdES CA and its key, making them first
// if the CA directory has neither.
func (c *CA) padesCA(ctx context.Context) (*smx509.Certificate, crypto.Signer, error) {
	cert, key, err := c.ecdsaCA(ctx, c.PAdESCAPath(), "sealpipe development PAdES CA", "PAdES")
	if err == nil {
		c.PAdESRoot = cert
	}
	return cert, key, err
}

// signerIssuer returns the CA that issues document signer certificates
// for keys of type k, with its key: the SM2 root for KeySM2, the
// development PAdES CA (made first if missing) for the others.
func (c *CA) signerIssuer(ctx context.Context, k KeyType) (*smx509.Certificate, crypto.Signer, error) {
	if k == KeySM2 {
		key, err := openKeyURI(ctx, c.rootKeyURI, c.Root, c.passphrase)
		return c.Root, key, err
	}
	return c.padesCA(ctx)
}

// AddUnit gives unit u a document signer: a new key of type k in a key
// file (signers/<slug>.key, encrypted with the CA's passphrase) and its
// certificate (signers/<slug>.crt), issued by the SM2 root for KeySM2 and
// by the development PAdES CA for KeyP256 and KeyRSA2048. A unit that has
// a signer of type k already is returned as it is, whatever its name; one
// with a key of another type is refused with an error wrapping ErrKeyType:
// a unit has one key, so a seal of another key type belongs to another
// unit slug.
func (c *CA) AddUnit(ctx context.Context, u Unit, k KeyType) (Identity, error) {
	if _, err := ParseKeyType(string(k)); err != nil {
		return Identity{}, err
	}
	if id, ok := c.Signers[u.Slug]; ok {
		if have := KeyTypeOf(id.Cert.PublicKey); have != k {
			return Identity{}, fmt.Errorf("%w: unit %q has a %s key (%s), not %s: a unit has one key; give the %s key to a new unit slug",
				ErrKeyType, u.Slug, have, id.CertPath, k, k)
		}
		return id, nil
	}
	cfg := Config{Dir: filepath.Dir(c.RootPath), Passphrase: c.passphrase, Units: []Unit{u}}
	if err := cfg.check(); err != nil {
		return Identity{}, err
	}
	// A pair that exists in full was loaded into c.Signers above: what is
	// left is half of one (ErrPartial), or a .keyuri without a certificate.
	base := filepath.Join(cfg.Dir, signersDir, u.Slug)
	for _, p := range []string{base + certExt, base + keyExt, base + keyURIExt} {
		if ok, err := exists(p); err != nil {
			return Identity{}, err
		} else if ok {
			return Identity{}, fmt.Errorf("%w: unit %q: %s exists without the rest of its identity; remove it to issue the unit a key", ErrPartial, u.Slug, p)
		}
	}
	parent, parentKey, err := c.signerIssuer(ctx, k)
	if err != nil {
		return Identity{}, err
	}
	key, err := k.generate()
	if err != nil {
		return Identity{}, err
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o700); err != nil {
		return Identity{}, fmt.Errorf("devca: %w", err)
	}
	iss := issuer{cert: parent, key: parentKey, pass: c.passphrase, now: time.Now().UTC().Truncate(time.Second), validity: DefaultLeafValidity}
	l := leafSpec{base: base, slug: u.Slug, name: u.Name, role: roleSigner, usage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment}
	cert, err := iss.issue(l, key.Public())
	if err != nil {
		return Identity{}, err
	}
	if err := writeIdentity(base, cert, key, c.passphrase); err != nil {
		return Identity{}, err
	}
	id, err := loadIdentity(base, parent)
	if err != nil {
		return Identity{}, err
	}
	c.Signers[u.Slug] = id
	return id, nil
}
