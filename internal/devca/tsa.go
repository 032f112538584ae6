package devca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/tsa"
)

// The development timestamp authority's identities, which `sealpipe tsa`
// serves with (package tsa), under tsa/ in the CA directory:
//
//	tsa/sm2.crt, .key     SM2, issued by the SM2 root (root.crt)
//	tsa/ecdsa.crt, .key   ECDSA P-256, issued by the development PAdES CA
//	                      (pades/ca.crt), made first if missing
//
// Both have the key usages digitalSignature and contentCommitment and the
// critical extended key usage id-kp-timeStamping alone (RFC 3161 §2.3).
// The ECDSA one chains to the PAdES CA because OpenSSL 3.0's `ts -verify`
// (and NSS) check no certificate signed with SM2: its tokens verify with
// `openssl ts -verify -CAfile <data>/pki/pades/ca.crt`, and the timestamps
// of PAdES B-T signatures with the trust the signers' certificates need.
// An ECDSA identity of an older chain, issued by the TLS CA (tls/ca.crt),
// is replaced by one from the PAdES CA. Keys are encrypted with the CA's
// passphrase, as every key of the CA directory.

// TSADirName is the folder of the CA directory holding the development
// TSA's identities.
const TSADirName = "tsa"

// TSA is the development timestamp authority's pair of identities.
type TSA struct {
	SM2, ECDSA       Identity
	SM2Key, ECDSAKey crypto.Signer
	// ECDSAIssuer is the PAdES CA's certificate, the ECDSA identity's
	// issuer (pades/ca.crt); the SM2 identity's is the CA's Root.
	ECDSAIssuer *smx509.Certificate
}

// EnsureTSA issues the development TSA's certificates unless they exist,
// and returns both identities with their keys opened.
func (c *CA) EnsureTSA(ctx context.Context) (*TSA, error) {
	dir := filepath.Join(filepath.Dir(c.RootPath), TSADirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	ecCA, ecCAKey, err := c.padesCA(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.dropTLSIssued(filepath.Join(dir, "ecdsa")); err != nil {
		return nil, err
	}
	out := &TSA{ECDSAIssuer: ecCA}
	for _, spec := range []struct {
		name   string
		parent *smx509.Certificate
		issuer func() (crypto.Signer, error)
		newKey func() (crypto.Signer, error)
		id     *Identity
		key    *crypto.Signer
	}{
		{"sm2", c.Root, func() (crypto.Signer, error) { return openKeyURI(ctx, c.rootKeyURI, c.Root, c.passphrase) },
			func() (crypto.Signer, error) { return keys.GenerateSM2() }, &out.SM2, &out.SM2Key},
		{"ecdsa", ecCA, func() (crypto.Signer, error) { return ecCAKey, nil },
			func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }, &out.ECDSA, &out.ECDSAKey},
	} {
		base := filepath.Join(dir, spec.name)
		certOK, keyOK, err := pairExists(base)
		switch {
		case err != nil:
			return nil, err
		case certOK != keyOK:
			return nil, fmt.Errorf("%w: only one of %s and %s exists; remove it to issue the TSA certificate again", ErrPartial, base+certExt, base+keyExt)
		case !certOK:
			issuerKey, err := spec.issuer()
			if err != nil {
				return nil, err
			}
			key, err := spec.newKey()
			if err != nil {
				return nil, fmt.Errorf("devca: %w", err)
			}
			cert, err := issueTSA(spec.parent, issuerKey, key.Public(), spec.name)
			if err != nil {
				return nil, err
			}
			if err := writeIdentity(base, cert, key, c.passphrase); err != nil {
				return nil, err
			}
		}
		cert, err := readCert(base + certExt)
		if err != nil {
			return nil, err
		}
		if err := cert.CheckSignatureFrom(spec.parent); err != nil {
			return nil, fmt.Errorf("devca: %s was not issued by %q: %w", base+certExt, spec.parent.Subject.CommonName, err)
		}
		uri, err := keys.FileURI(base + keyExt)
		if err != nil {
			return nil, err
		}
		*spec.id = Identity{Cert: cert, CertPath: base + certExt, KeyPath: base + keyExt, KeyURI: uri}
		if *spec.key, err = c.Signer(ctx, *spec.id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// dropTLSIssued removes base.crt and base.key if the TLS CA issued the
// certificate: the ECDSA TSA identity of a chain from before the PAdES CA,
// which EnsureTSA then issues again from the PAdES CA. Anything else is
// left for EnsureTSA to load or report.
func (c *CA) dropTLSIssued(base string) error {
	for _, p := range []string{base + certExt, c.TLSCAPath()} {
		if ok, err := exists(p); err != nil || !ok {
			return err
		}
	}
	cert, err := readCert(base + certExt)
	if err != nil {
		return nil
	}
	tlsCA, err := readCert(c.TLSCAPath())
	if err != nil || cert.CheckSignatureFrom(tlsCA) != nil {
		return nil
	}
	for _, p := range []string{base + certExt, base + keyExt} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("devca: %w", err)
		}
	}
	return nil
}

// issueTSA issues a TSA certificate for pub under parent, as long as a
// leaf of the chain lasts but not beyond its issuer.
func issueTSA(parent *smx509.Certificate, issuerKey crypto.Signer, pub crypto.PublicKey, kind string) (*smx509.Certificate, error) {
	ski, err := subjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	notAfter := now.Add(DefaultLeafValidity)
	if notAfter.After(parent.NotAfter) {
		notAfter = parent.NotAfter
	}
	tmpl := &smx509.Certificate{
		Subject: pkix.Name{
			Country:            []string{"CN"},
			Organization:       []string{"sealpipe development TSA (not for production)"},
			OrganizationalUnit: []string{"timestamp authority"},
			CommonName:         "tsa-" + kind,
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
		SubjectKeyId:          ski,
		// RFC 3161 §2.3: critical, id-kp-timeStamping alone; crypto/x509
		// would write ExtKeyUsage non-critical.
		ExtraExtensions: []pkix.Extension{tsa.EKUExtension()},
	}
	return create(tmpl, parent, pub, issuerKey)
}
