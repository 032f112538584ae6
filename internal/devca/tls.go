package devca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// TLS certificates, for the admin API's mutual TLS (package adminapi).
// crypto/tls signs the handshake with ECDSA, RSA or Ed25519 keys only —
// TLS 1.2 and 1.3 have no SM2 signature scheme (TLCP, GB/T 38636, does,
// but no standard client speaks it) — so these certificates have ECDSA
// P-256 keys. They come from a development TLS CA of their own,
// tls/ca.crt (ECDSA P-256, ECDSA-with-SHA256), not from the SM2 root:
// OpenSSL, and so curl, verifies no SM2-signed chain, and in TLS 1.3
// presents no client certificate whose issuer signed with an algorithm
// the server's signature_algorithms (which crypto/tls fixes) lack. The
// admin API verifies them with package trust, against the trusted roots
// and this CA, with the configured CRLs. The keys handed out
// (IssueTLSClient, IssueTLSServer) are unencrypted PKCS#8 PEM, as TLS
// tools (curl --key) take them, to be written mode 0600 (WriteTLSPair);
// the keys under the CA directory (the TLS CA's, the admin listener's
// development key) are encrypted like the CA's others.

// TLSDirName is the folder of the CA directory holding the development
// TLS CA (TLSCAName) and the admin listener's server certificate
// (TLSServerName).
const TLSDirName = "tls"

// TLSCAName is the development TLS CA's name: tls/ca.crt and tls/ca.key.
const TLSCAName = "ca"

// DefaultTLSValidity is how long TLS certificates last.
const DefaultTLSValidity = 365 * 24 * time.Hour

// ErrExists reports a certificate or key file that is already there:
// nothing is written over it.
var ErrExists = errors.New("devca: already exists")

// TLSClient describes an admin API client certificate.
type TLSClient struct {
	// Name is the certificate's CN and file name: 1-63 of a-z, 0-9, '-'.
	Name string
	// Role is the OID of the holder's role, written as an extended key
	// usage beside TLS client authentication.
	Role asn1.ObjectIdentifier
	// Units become the subject's O values (a keeper's units, by name),
	// Departments its OU values (an uploader's departments).
	Units, Departments []string
	// Validity is how long it lasts; zero means DefaultTLSValidity.
	Validity time.Duration
}

// IssueTLSClient issues an admin API client certificate for a fresh ECDSA
// P-256 key and returns both as PEM: the certificate, and the key
// unencrypted (PKCS#8).
func (c *CA) IssueTLSClient(ctx context.Context, req TLSClient) (certPEM, keyPEM []byte, err error) {
	if len(req.Role) == 0 {
		return nil, nil, errors.New("devca: a client certificate needs a role OID")
	}
	for _, n := range append(append([]string(nil), req.Units...), req.Departments...) {
		if err := checkName(n); err != nil {
			return nil, nil, fmt.Errorf("devca: client %q: %w", req.Name, err)
		}
	}
	tmpl := &smx509.Certificate{
		Subject:            pkix.Name{Country: []string{"CN"}, Organization: req.Units, OrganizationalUnit: req.Departments, CommonName: req.Name},
		ExtKeyUsage:        []smx509.ExtKeyUsage{smx509.ExtKeyUsageClientAuth},
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{req.Role},
	}
	return plainTLS(c.issueTLS(ctx, req.Name, tmpl, req.Validity))
}

// IssueTLSServer issues a TLS server certificate named name for hosts (IP
// addresses or DNS names, each a subject alternative name) for a fresh
// ECDSA P-256 key, and returns both as PEM as IssueTLSClient does.
func (c *CA) IssueTLSServer(ctx context.Context, name string, hosts []string) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, fmt.Errorf("devca: server %q: name at least one host", name)
	}
	return plainTLS(c.issueTLS(ctx, name, serverTemplate(name, hosts), 0))
}

// serverTemplate is a TLS server certificate for hosts.
func serverTemplate(name string, hosts []string) *smx509.Certificate {
	tmpl := &smx509.Certificate{
		Subject:     pkix.Name{Country: []string{"CN"}, Organization: []string{"sealpipe development CA (not for production)"}, CommonName: name},
		ExtKeyUsage: []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return tmpl
}

// plainTLS encodes a key unencrypted (PKCS#8 PEM), for files handed out.
func plainTLS(certPEM []byte, key *ecdsa.PrivateKey, err error) ([]byte, []byte, error) {
	if err != nil {
		return nil, nil, err
	}
	der, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("devca: %w", err)
	}
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// issueTLS completes tmpl for a fresh ECDSA P-256 key and signs it with
// the root.
func (c *CA) issueTLS(ctx context.Context, name string, tmpl *smx509.Certificate, validity time.Duration) (certPEM []byte, key *ecdsa.PrivateKey, err error) {
	if !slugRE.MatchString(name) {
		return nil, nil, fmt.Errorf("devca: name %q: want 1-63 of a-z, 0-9 and '-', not starting with '-'", name)
	}
	caCert, caKey, err := c.tlsCA(ctx)
	if err != nil {
		return nil, nil, err
	}
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devca: %w", err)
	}
	if tmpl.SubjectKeyId, err = subjectKeyID(key.Public()); err != nil {
		return nil, nil, err
	}
	if validity == 0 {
		validity = DefaultTLSValidity
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-backdate), now.Add(validity)
	if tmpl.NotAfter.After(caCert.NotAfter) {
		tmpl.NotAfter = caCert.NotAfter
	}
	tmpl.KeyUsage = smx509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	cert, err := create(tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), key, nil
}

// TLSCAPath is the development TLS CA's certificate, tls/ca.crt.
func (c *CA) TLSCAPath() string {
	return filepath.Join(filepath.Dir(c.RootPath), TLSDirName, TLSCAName+certExt)
}

// tlsCA loads the development TLS CA and its key, making them first if
// the CA directory has neither (a chain from before it existed).
func (c *CA) tlsCA(ctx context.Context) (*smx509.Certificate, crypto.Signer, error) {
	return c.ecdsaCA(ctx, c.TLSCAPath(), "sealpipe development TLS CA", "TLS")
}

// ecdsaCA loads the self-signed ECDSA P-256 CA at certPath (and its key
// beside it, encrypted like every key of the CA directory), or makes both
// if neither exists. What names the certificates it issues in errors.
func (c *CA) ecdsaCA(ctx context.Context, certPath, cn, what string) (*smx509.Certificate, crypto.Signer, error) {
	base := strings.TrimSuffix(certPath, certExt)
	certOK, keyOK, err := pairExists(base)
	switch {
	case err != nil:
		return nil, nil, err
	case certOK && keyOK:
		cert, err := readCert(base + certExt)
		if err != nil {
			return nil, nil, err
		}
		key, err := openKey(ctx, base+keyExt, cert, c.passphrase)
		return cert, key, err
	case certOK || keyOK:
		return nil, nil, fmt.Errorf("%w: only one of %s and %s exists; remove it to make a new %s CA (which invalidates every %s certificate issued)", ErrPartial, base+certExt, base+keyExt, what, what)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devca: %w", err)
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &smx509.Certificate{
		Subject: pkix.Name{
			Country:      []string{"CN"},
			Organization: []string{"sealpipe development CA (not for production)"},
			CommonName:   cn,
		},
		NotBefore: now.Add(-backdate), NotAfter: now.Add(DefaultRootValidity),
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLen: 0, MaxPathLenZero: true,
		SubjectKeyId: ski,
	}
	cert, err := create(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o700); err != nil {
		return nil, nil, fmt.Errorf("devca: %w", err)
	}
	if err := writeIdentity(base, cert, key, c.passphrase); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// WriteTLSPair writes dir/name.crt (mode 0644) and dir/name.key (0600),
// creating dir (0700) if needed; it writes over neither (ErrExists).
func WriteTLSPair(dir, name string, certPEM, keyPEM []byte) (certPath, keyPath string, err error) {
	base := filepath.Join(dir, name)
	for _, p := range []string{base + certExt, base + keyExt} {
		if ok, err := exists(p); err != nil {
			return "", "", err
		} else if ok {
			return "", "", fmt.Errorf("%w: %s: remove it to issue a new one", ErrExists, p)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("devca: %w", err)
	}
	if err := createFile(base+keyExt, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := createFile(base+certExt, certPEM, 0o644); err != nil {
		return "", "", err
	}
	return base + certExt, base + keyExt, nil
}

// TLSServerName is the name of the admin listener's development server
// certificate, tls/admin-server.crt and .key in the CA directory.
const TLSServerName = "admin-server"

// LocalHosts are the hosts the development server certificate names.
var LocalHosts = []string{"127.0.0.1", "::1", "localhost"}

// EnsureTLSServer makes the development TLS CA if there is none, and
// issues the admin listener's development server certificate,
// tls/admin-server.crt and .key for LocalHosts, unless both exist; it
// returns their paths. The key is encrypted with the CA's passphrase, as
// every key of the CA directory is.
func (c *CA) EnsureTLSServer(ctx context.Context) (certPath, keyPath string, err error) {
	dir := filepath.Join(filepath.Dir(c.RootPath), TLSDirName)
	base := filepath.Join(dir, TLSServerName)
	certOK, keyOK, err := pairExists(base)
	switch {
	case err != nil:
		return "", "", err
	case certOK && keyOK:
		return base + certExt, base + keyExt, nil
	case certOK || keyOK:
		return "", "", fmt.Errorf("%w: only one of %s and %s exists; remove it to re-issue", ErrPartial, base+certExt, base+keyExt)
	}
	certPEM, key, err := c.issueTLS(ctx, TLSServerName, serverTemplate(TLSServerName, LocalHosts), 0)
	if err != nil {
		return "", "", err
	}
	keyPEM, err := keys.MarshalEncryptedPEM(key, c.passphrase)
	if err != nil {
		return "", "", err
	}
	return WriteTLSPair(dir, TLSServerName, certPEM, keyPEM)
}
