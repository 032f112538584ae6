package adminapi

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

var (
	// ErrUnauthenticated reports a request without a verified client
	// certificate (401). The listener refuses such connections during
	// the TLS handshake, so a request sees it only if its certificate
	// stopped verifying since (revoked, expired).
	ErrUnauthenticated = errors.New("adminapi: no verified client certificate")
	// ErrNoRole reports a client certificate that carries no admin API
	// role, or more than one (403 NO_ROLE).
	ErrNoRole = errors.New("adminapi: the client certificate carries no admin API role")
	// ErrForbidden reports an action the principal's role may not take
	// (403 FORBIDDEN), or may take only on its own seals (403 OTHER_UNIT).
	ErrForbidden = errors.New("adminapi: not permitted")
	// ErrCertificate reports a certificate that TLS cannot use: the
	// wrong key usage, a key crypto/tls cannot sign with, files that do
	// not match.
	ErrCertificate = errors.New("adminapi: unusable TLS certificate")
)

// Principal is who a verified client certificate says its holder is.
type Principal struct {
	// Name is the certificate's common name: a person, or for an
	// approver the name its approver certificate has in seals' records.
	Name string `json:"name"`
	// Role is the one admin API role the certificate carries.
	Role Role `json:"role"`
	// Units are the subject's organisation (O) values: the units a keeper
	// keeps the seals of, named as seals' records name their unit.
	Units []string `json:"units,omitempty"`
	// Departments are the subject's organisational unit (OU) values: the
	// departments (inbox/<dept>/) an uploader uploads for.
	Departments []string `json:"departments,omitempty"`
	// Fingerprint is the hex SM3 of the certificate's
	// SubjectPublicKeyInfo (registry.Fingerprint).
	Fingerprint string `json:"fingerprint"`
	// Serial (hex) and Issuer identify the certificate, NotAfter is its
	// expiry.
	Serial   string    `json:"serial"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
}

// Requester is the principal as the registry records it in the changes
// it asked for.
func (p *Principal) Requester() *registry.Principal {
	return &registry.Principal{Name: p.Name, Role: string(p.Role), Fingerprint: p.Fingerprint}
}

// identify returns the principal cert names, its role the one role OID
// of roles it carries (trust.HasRole: as an extended key usage or a
// policy).
func identify(cert *smx509.Certificate, roles map[Role]asn1.ObjectIdentifier) (*Principal, error) {
	var found []Role
	for _, r := range Roles() {
		if trust.HasRole(cert, roles[r]) {
			found = append(found, r)
		}
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("%w: certificate %q names none of the role OIDs", ErrNoRole, cert.Subject.CommonName)
	case len(found) > 1:
		return nil, fmt.Errorf("%w: certificate %q names several roles (%v): issue one certificate a role", ErrNoRole, cert.Subject.CommonName, found)
	case cert.Subject.CommonName == "":
		return nil, fmt.Errorf("%w: the certificate has no common name", ErrNoRole)
	}
	return &Principal{
		Name: cert.Subject.CommonName, Role: found[0],
		Units:       slices.Clone(cert.Subject.Organization),
		Departments: slices.Clone(cert.Subject.OrganizationalUnit),
		Fingerprint: registry.Fingerprint(cert),
		Serial:      fmt.Sprintf("%X", cert.SerialNumber), Issuer: cert.Issuer.String(), NotAfter: cert.NotAfter,
	}, nil
}

// verifyPeer checks the certificates a TLS peer presented (leaf first,
// DER) against pool at now, as every certificate sealpipe relies on is
// checked (package trust: chain, validity, CRLs), and for the TLS usage
// want: keyUsage digitalSignature if the certificate restricts key usage,
// and want among its extended key usages if it lists any. sealpipe's SM2
// roots sign with SM2-with-SM3, which crypto/x509 cannot check: this is
// the verification the admin API's TLS relies on, on both sides. It
// returns the chain trust built, the leaf first.
func verifyPeer(pool *trust.Pool, raw [][]byte, now time.Time, want smx509.ExtKeyUsage) ([]*smx509.Certificate, error) {
	if len(raw) == 0 {
		return nil, ErrUnauthenticated
	}
	certs := make([]*smx509.Certificate, len(raw))
	for i, der := range raw {
		c, err := smx509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
		}
		certs[i] = c
	}
	leaf := certs[0]
	chain, err := pool.VerifyWith(leaf, certs[1:], now, trust.UsageAny)
	if err != nil {
		return nil, err
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&smx509.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: %q: key usage lacks digitalSignature", ErrCertificate, leaf.Subject.CommonName)
	}
	if len(leaf.ExtKeyUsage)+len(leaf.UnknownExtKeyUsage) > 0 && !slices.Contains(leaf.ExtKeyUsage, want) && !slices.Contains(leaf.ExtKeyUsage, smx509.ExtKeyUsageAny) {
		return nil, fmt.Errorf("%w: %q is not for TLS %s authentication", ErrCertificate, leaf.Subject.CommonName, map[smx509.ExtKeyUsage]string{smx509.ExtKeyUsageClientAuth: "client", smx509.ExtKeyUsageServerAuth: "server"}[want])
	}
	return chain, nil
}

// LoadKeyPair reads a TLS certificate and its private key from PEM files:
// the certificate (and any intermediates after it), and a key crypto/tls
// can sign with (ECDSA, RSA, Ed25519: not SM2, for which TLS 1.2/1.3 has
// no signature scheme) — unencrypted (PKCS#8, EC or RSA), or encrypted
// ("ENCRYPTED PRIVATE KEY", package keys) with the passphrase that
// passphrase returns, asked only then. Certificates crypto/x509 cannot
// parse, such as SM2 intermediates, are not sent: the peer builds the
// chain from its own roots (verifyPeer). A key file that others than its
// owner may read is refused.
func LoadKeyPair(certFile, keyFile string, passphrase func() ([]byte, error)) (tls.Certificate, error) {
	fail := func(err error) (tls.Certificate, error) {
		return tls.Certificate{}, fmt.Errorf("%w: %s, %s: %w", ErrCertificate, certFile, keyFile, err)
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		return fail(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fail(fmt.Errorf("the key is readable by others (mode %04o): chmod 600 it", fi.Mode().Perm()))
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return fail(err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return fail(err)
	}
	var pair tls.Certificate
	if !encrypted(keyPEM) {
		if pair, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
			return fail(err)
		}
	} else {
		pass, err := passphrase()
		if err != nil {
			return fail(err)
		}
		key, err := keys.ParseEncryptedPEM(keyPEM, pass)
		if err != nil {
			return fail(err)
		}
		// X509KeyPair with a throwaway encoding of the key checks that
		// the certificate is the key's and parses the chain.
		der, err := smx509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return fail(err)
		}
		if pair, err = tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return fail(err)
		}
	}
	chain := pair.Certificate[:1]
	for _, der := range pair.Certificate[1:] {
		if _, err := x509.ParseCertificate(der); err == nil {
			chain = append(chain, der)
		}
	}
	pair.Certificate = chain
	return pair, nil
}

// ClientTLS returns the TLS configuration of a client of the admin API at
// host: it presents cert and accepts the server only if its certificate
// chains to pool's roots for TLS server authentication and names host.
func ClientTLS(cert tls.Certificate, pool *trust.Pool, host string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		// VerifyConnection does the whole verification with pool
		// (chain, CRLs, host name) instead of crypto/x509, which checks
		// no SM2 signature and no CRL: skipping crypto/tls's own is no
		// skipping of verification.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			raw := make([][]byte, len(cs.PeerCertificates))
			for i, c := range cs.PeerCertificates {
				raw[i] = c.Raw
			}
			chain, err := verifyPeer(pool, raw, time.Now(), smx509.ExtKeyUsageServerAuth)
			if err != nil {
				return fmt.Errorf("admin API server certificate: %w", err)
			}
			if err := chain[0].VerifyHostname(host); err != nil {
				return fmt.Errorf("admin API server certificate: %w", err)
			}
			return nil
		},
	}
}

// encrypted reports whether a key file holds an encrypted PKCS#8 key.
func encrypted(keyPEM []byte) bool {
	for rest := keyPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return false
		} else if b.Type == "ENCRYPTED PRIVATE KEY" {
			return true
		}
	}
}
