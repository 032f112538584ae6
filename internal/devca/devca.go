// Package devca makes and loads the development trust chain behind
// `sealpipe ca init`: an SM2 root CA, a seal maker (制章者) certificate,
// one document signer certificate per unit and one certificate per
// approver, all SM2 with SM2-with-SM3 signatures (GM/T 0015 profile) and
// with their private keys SM4-encrypted on disk (see keys.MarshalEncryptedPEM).
// A unit may have an ECDSA P-256 or RSA key instead, for PAdES signatures,
// its certificate from a development PAdES CA (AddUnit, pades.go).
//
// It is for development and demonstrations only; production uses
// certificates from a licensed CA. Layout of the directory:
//
//	root.crt, root.key             self-signed root: CA, keyCertSign|cRLSign, pathlen 0
//	sealmaker.crt, sealmaker.key   seal maker: digitalSignature
//	signers/<slug>.crt, .key       unit document signers: digitalSignature|contentCommitment
//	approvers/<slug>.crt, .key     approvers: digitalSignature
//	pades/ca.crt, ca.key           ECDSA P-256 CA of the units with ECDSA or RSA
//	                               keys, for PAdES (AddUnit; made with the first)
//
// Certificates are PEM (mode 0644), keys PEM "ENCRYPTED PRIVATE KEY"
// (mode 0600), directories 0700. Leaf subjects are C=CN, O=<unit or
// approver name>, OU=<role>, CN=<slug>; serial numbers are random. The key
// usages are those trust.Usage checks.
package devca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// Default validity periods.
const (
	DefaultLeafValidity = 2 * 365 * 24 * time.Hour
	DefaultRootValidity = 10 * 365 * 24 * time.Hour
)

// backdate is how far before Config.Now certificates start, so that a
// peer whose clock runs a little behind accepts them at once.
const backdate = time.Hour

// Roles, as written in the OU of each leaf certificate.
const (
	roleSealMaker = "seal maker"
	roleRegistrar = "registry administrator"
	rolePipeline  = "pipeline"
	roleSigner    = "document signer"
	roleApprover  = "approver"
)

// File names in the CA directory.
const (
	rootName      = "root"
	sealMakerName = "sealmaker"
	registrarName = "registrar"
	pipelineName  = "pipeline"
	signersDir    = "signers"
	approversDir  = "approvers"
	certExt       = ".crt"
	keyExt        = ".key"
)

// ErrUnknownIdentity reports a unit or approver slug the chain does not
// hold.
var ErrUnknownIdentity = errors.New("devca: not in the trust chain")

// ErrPartial reports an identity with a certificate but no key, or a key
// but no certificate: devca will not guess which one to trust.
var ErrPartial = errors.New("devca: certificate without key or key without certificate")

// Unit is an organisation that seals documents: it gets a document signer
// certificate.
type Unit struct {
	Slug string // file name and certificate CN, e.g. "civil-affairs"
	Name string // certificate O, e.g. "某某县民政局"
}

// Approver is a person whose signature approves a batch for sealing.
type Approver struct {
	Slug string // file name and certificate CN, e.g. "approver-zhang"
	Name string // certificate O, e.g. "张伟"
}

// Config says what Init should make.
type Config struct {
	Dir        string     // where the chain lives; created if missing
	Passphrase []byte     // encrypts the private keys; required
	Units      []Unit     // document signers to have
	Approvers  []Approver // approvers to have
	Now        time.Time  // issuance time; zero means time.Now
	// Validity is how long leaf certificates last; zero means
	// DefaultLeafValidity. The root gets DefaultRootValidity, or Validity
	// if that is longer, and no leaf outlives the root.
	Validity time.Duration
}

// CA is a loaded development trust chain.
type CA struct {
	Root     *smx509.Certificate
	RootPath string // path of root.crt
	// PAdESRoot is the development PAdES CA (pades/ca.crt), the issuer of
	// the units' ECDSA and RSA signer certificates; nil until AddUnit
	// makes the first of them.
	PAdESRoot *smx509.Certificate
	SealMaker Identity            // the seal maker
	Registrar Identity            // the seal administrator who signs registry entries
	Pipeline  Identity            // the pipeline's service identity, which signs its records
	Signers   map[string]Identity // document signers by unit slug
	Approvers map[string]Identity // approvers by slug

	rootKeyURI string
	passphrase []byte
}

// Identity is one certificate of the chain with its key.
type Identity struct {
	Cert     *smx509.Certificate
	CertPath string
	KeyPath  string
	KeyURI   string // file:///… key URI for keys.Open
}

// slugRE is what a slug may look like: it becomes a file name and a CN.
var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Init creates, in cfg.Dir, whatever part of the development chain is
// missing, keeps what exists, and returns the whole chain on disk. It is
// idempotent: running it again with the same Config changes nothing, and
// with more units or approvers adds only those. An existing identity is
// kept as is even if its name in cfg changed; delete its two files to
// re-issue it.
func Init(cfg Config) (*CA, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	now := cfg.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	leafValidity := cfg.Validity
	if leafValidity == 0 {
		leafValidity = DefaultLeafValidity
	}
	rootValidity := max(DefaultRootValidity, leafValidity)

	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	for _, d := range []string{dir, filepath.Join(dir, signersDir), filepath.Join(dir, approversDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("devca: %w", err)
		}
	}

	root, rootKey, err := initRoot(dir, cfg.Passphrase, now, rootValidity)
	if err != nil {
		return nil, err
	}
	iss := issuer{cert: root, key: rootKey, pass: cfg.Passphrase, now: now, validity: leafValidity}
	want := []leafSpec{{
		base: filepath.Join(dir, sealMakerName), slug: sealMakerName, name: "sealpipe development seal maker",
		role: roleSealMaker, usage: smx509.KeyUsageDigitalSignature,
	}, {
		base: filepath.Join(dir, registrarName), slug: registrarName, name: "sealpipe development seal administrator",
		role: roleRegistrar, usage: smx509.KeyUsageDigitalSignature, eku: trust.DefaultRegistryAdminOID,
	}, {
		base: filepath.Join(dir, pipelineName), slug: pipelineName, name: "sealpipe development pipeline",
		role: rolePipeline, usage: smx509.KeyUsageDigitalSignature, eku: trust.DefaultPipelineOID,
	}}
	for _, u := range cfg.Units {
		want = append(want, leafSpec{
			base: filepath.Join(dir, signersDir, u.Slug), slug: u.Slug, name: u.Name,
			role: roleSigner, usage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		})
	}
	for _, a := range cfg.Approvers {
		want = append(want, leafSpec{
			base: filepath.Join(dir, approversDir, a.Slug), slug: a.Slug, name: a.Name,
			role: roleApprover, usage: smx509.KeyUsageDigitalSignature, eku: trust.DefaultApproverOID,
		})
	}
	for _, l := range want {
		if err := iss.ensure(l); err != nil {
			return nil, err
		}
	}
	return load(dir, cfg.Passphrase, false)
}

func (cfg *Config) check() error {
	if cfg.Dir == "" {
		return errors.New("devca: Config.Dir is empty")
	}
	if len(cfg.Passphrase) == 0 {
		return fmt.Errorf("devca: %w: Config.Passphrase is empty; keys never rest unencrypted", keys.ErrNoPassphrase)
	}
	if cfg.Validity < 0 {
		return fmt.Errorf("devca: negative validity %v", cfg.Validity)
	}
	type named struct{ role, slug, name string }
	var all []named
	for _, u := range cfg.Units {
		all = append(all, named{"unit", u.Slug, u.Name})
	}
	for _, a := range cfg.Approvers {
		all = append(all, named{"approver", a.Slug, a.Name})
	}
	seen := make(map[string]bool)
	for _, n := range all {
		if !slugRE.MatchString(n.slug) {
			return fmt.Errorf("devca: %s slug %q: want 1-63 of a-z, 0-9 and '-', not starting with '-'", n.role, n.slug)
		}
		if seen[n.role+"/"+n.slug] {
			return fmt.Errorf("devca: %s slug %q given twice", n.role, n.slug)
		}
		seen[n.role+"/"+n.slug] = true
		if err := checkName(n.name); err != nil {
			return fmt.Errorf("devca: %s %q: %w", n.role, n.slug, err)
		}
	}
	return nil
}

// checkName accepts a printable UTF-8 name of at most 64 characters (the
// X.520 upper bound for an organisation name).
func checkName(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return errors.New("empty name")
	case !utf8.ValidString(s):
		return fmt.Errorf("name %q is not UTF-8", s)
	case utf8.RuneCountInString(s) > 64:
		return fmt.Errorf("name %q is over 64 characters", s)
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("name %q has unprintable characters", s)
	}
	return nil
}

// initRoot loads the root and its key, or creates both.
func initRoot(dir string, pass []byte, now time.Time, validity time.Duration) (*smx509.Certificate, crypto.Signer, error) {
	base := filepath.Join(dir, rootName)
	certOK, keyOK, err := pairExists(base)
	if err != nil {
		return nil, nil, err
	}
	if certOK && keyOK {
		cert, err := readCert(base + certExt)
		if err != nil {
			return nil, nil, err
		}
		key, err := openKey(context.Background(), base+keyExt, cert, pass)
		if err != nil {
			return nil, nil, err
		}
		return cert, key, nil
	}
	if certOK || keyOK {
		return nil, nil, fmt.Errorf("%w: %s: only one of %s and %s exists; remove it to make a new root (which invalidates every certificate issued)",
			ErrPartial, dir, rootName+certExt, rootName+keyExt)
	}
	key, err := keys.GenerateSM2()
	if err != nil {
		return nil, nil, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, nil, err
	}
	tmpl := &smx509.Certificate{
		Subject: pkix.Name{
			Country:      []string{"CN"},
			Organization: []string{"sealpipe development CA (not for production)"},
			CommonName:   "sealpipe development root CA",
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski,
	}
	cert, err := create(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeIdentity(base, cert, key, pass); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// issuer issues leaf certificates under the root.
type issuer struct {
	cert     *smx509.Certificate
	key      crypto.Signer
	pass     []byte
	now      time.Time
	validity time.Duration
}

// leafSpec is one leaf identity Init should have.
type leafSpec struct {
	base       string // path without extension
	slug, name string
	role       string
	usage      smx509.KeyUsage
	eku        asn1.ObjectIdentifier // the role's extended key usage, if it is one
}

// ensure issues l unless its certificate and key both exist. A
// certificate issued before its role needed an extended key usage (an
// older chain) is re-issued for the same key.
func (iss *issuer) ensure(l leafSpec) error {
	certOK, keyOK, err := pairExists(l.base)
	if err != nil {
		return err
	}
	switch {
	case certOK && keyOK:
		return iss.upgrade(l)
	case certOK || keyOK:
		return fmt.Errorf("%w: %s %q: only one of %s and %s exists; remove it to re-issue",
			ErrPartial, l.role, l.slug, l.base+certExt, l.base+keyExt)
	}
	key, err := keys.GenerateSM2()
	if err != nil {
		return err
	}
	cert, err := iss.issue(l, key.Public())
	if err != nil {
		return err
	}
	return writeIdentity(l.base, cert, key, iss.pass)
}

// upgrade re-issues l's existing certificate if it lacks l's role.
func (iss *issuer) upgrade(l leafSpec) error {
	cert, err := readCert(l.base + certExt)
	if err != nil || l.eku == nil || trust.HasRole(cert, l.eku) {
		return err
	}
	uri, err := keys.FileURI(l.base + keyExt)
	if err != nil {
		return err
	}
	key, err := openKeyURI(context.Background(), uri, cert, iss.pass)
	if err != nil {
		return err
	}
	upgraded, err := iss.issue(l, key.Public())
	if err != nil {
		return err
	}
	return replaceFile(l.base+certExt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: upgraded.Raw}), 0o644)
}

// issue makes l's certificate for public key pub.
func (iss *issuer) issue(l leafSpec, pub crypto.PublicKey) (*smx509.Certificate, error) {
	ski, err := subjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	notAfter := iss.now.Add(iss.validity)
	if notAfter.After(iss.cert.NotAfter) {
		notAfter = iss.cert.NotAfter
	}
	tmpl := &smx509.Certificate{
		Subject: pkix.Name{
			Country:            []string{"CN"},
			Organization:       []string{l.name},
			OrganizationalUnit: []string{l.role},
			CommonName:         l.slug,
		},
		NotBefore:             iss.now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              l.usage,
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          ski,
	}
	if l.eku != nil {
		tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{l.eku}
	}
	return create(tmpl, iss.cert, pub, iss.key)
}

// create signs tmpl, for public key pub, with a fresh random serial number.
func create(tmpl, parent *smx509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*smx509.Certificate, error) {
	// RFC 5280 §4.1.2.2: positive, at most 20 octets; 127 random bits.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("devca: serial number: %w", err)
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("devca: issue %q: %w", tmpl.Subject.CommonName, err)
	}
	return smx509.ParseCertificate(der)
}

// subjectKeyID is RFC 7093 §2 method 1: the leftmost 160 bits of the
// SHA-256 hash of the subjectPublicKey bits.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	h := sha256.Sum256(spki.PublicKey.Bytes)
	return h[:20], nil
}

// writeIdentity writes the encrypted key (0600) and then the certificate
// (0644), each created atomically and never over an existing file.
func writeIdentity(base string, cert *smx509.Certificate, key crypto.Signer, pass []byte) error {
	keyPEM, err := keys.MarshalEncryptedPEM(key, pass)
	if err != nil {
		return err
	}
	if err := createFile(base+keyExt, keyPEM, 0o600); err != nil {
		return err
	}
	return createFile(base+certExt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}

// createFile writes data to path atomically: to a temporary file first,
// then hard-linked into place, which fails rather than replace a file
// that appeared meanwhile.
func createFile(path string, data []byte, perm fs.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("devca: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("devca: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("devca: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("devca: write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	return nil
}

// replaceFile writes data to path atomically, replacing what is there.
func replaceFile(path string, data []byte, perm fs.FileMode) error {
	tmp := path + ".new"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("devca: %w", err)
	}
	if err := createFile(tmp, data, perm); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	return nil
}

// pairExists reports which of base.crt and base.key exist.
func pairExists(base string) (cert, key bool, err error) {
	if cert, err = exists(base + certExt); err != nil {
		return false, false, err
	}
	if key, err = exists(base + keyExt); err != nil {
		return false, false, err
	}
	return cert, key, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("devca: %w", err)
}

// readCert reads the one certificate of a PEM file.
func readCert(path string) (*smx509.Certificate, error) {
	certs, err := trust.LoadCertificates(path)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("devca: %s holds %d certificates, want 1", path, len(certs))
	}
	return certs[0], nil
}

// openKey opens the key at path and checks that it belongs to cert.
func openKey(ctx context.Context, path string, cert *smx509.Certificate, pass []byte) (crypto.Signer, error) {
	uri, err := keys.FileURI(path)
	if err != nil {
		return nil, err
	}
	return openKeyURI(ctx, uri, cert, pass)
}

func openKeyURI(ctx context.Context, uri string, cert *smx509.Certificate, pass []byte) (crypto.Signer, error) {
	key, err := keys.Open(ctx, uri, keys.Options{Passphrase: pass})
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("devca: key %s does not belong to certificate %q", uri, cert.Subject.CommonName)
	}
	return key, nil
}

// Load reads the chain in dir. With a passphrase it also opens the root
// key, so that a wrong passphrase fails here (keys.ErrBadPassphrase)
// rather than at the first signature; with a nil one it reads only the
// certificates, and Signer will fail.
func Load(dir string, passphrase []byte) (*CA, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	return load(abs, passphrase, len(passphrase) > 0)
}

func load(dir string, pass []byte, checkKey bool) (*CA, error) {
	base := filepath.Join(dir, rootName)
	root, err := readCert(base + certExt)
	if err != nil {
		return nil, err
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		return nil, fmt.Errorf("devca: %s is not a valid self-signed CA certificate: %w", base+certExt, err)
	}
	rootKeyURI, err := keys.FileURI(base + keyExt)
	if err != nil {
		return nil, err
	}
	if checkKey {
		if _, err := openKeyURI(context.Background(), rootKeyURI, root, pass); err != nil {
			return nil, err
		}
	} else if ok, err := exists(base + keyExt); err != nil || !ok {
		return nil, fmt.Errorf("%w: %s is missing (%v)", ErrPartial, base+keyExt, err)
	}
	ca := &CA{
		Root:       root,
		RootPath:   base + certExt,
		Signers:    make(map[string]Identity),
		Approvers:  make(map[string]Identity),
		rootKeyURI: rootKeyURI,
		passphrase: bytes.Clone(pass),
	}
	padesBase := filepath.Join(dir, PAdESDirName, PAdESCAName)
	if ok, err := exists(padesBase + certExt); err != nil {
		return nil, err
	} else if ok {
		if ca.PAdESRoot, err = readCert(padesBase + certExt); err != nil {
			return nil, err
		}
		if err := ca.PAdESRoot.CheckSignatureFrom(ca.PAdESRoot); err != nil {
			return nil, fmt.Errorf("devca: %s is not a valid self-signed CA certificate: %w", padesBase+certExt, err)
		}
	}
	if ca.SealMaker, err = loadIdentity(filepath.Join(dir, sealMakerName), root); err != nil {
		return nil, err
	}
	// Chains made before these identities existed lack them until the next
	// Init; the commands that need them say so.
	for _, id := range []struct {
		name string
		into *Identity
	}{{registrarName, &ca.Registrar}, {pipelineName, &ca.Pipeline}} {
		if ok, err := exists(filepath.Join(dir, id.name) + certExt); err != nil {
			return nil, err
		} else if ok {
			if *id.into, err = loadIdentity(filepath.Join(dir, id.name), root); err != nil {
				return nil, err
			}
		}
	}
	// Unit signers come from the SM2 root or, with ECDSA and RSA keys,
	// from the PAdES CA; approvers from the root alone.
	signerIssuers := []*smx509.Certificate{root}
	if ca.PAdESRoot != nil {
		signerIssuers = append(signerIssuers, ca.PAdESRoot)
	}
	for sub, m := range map[string]map[string]Identity{signersDir: ca.Signers, approversDir: ca.Approvers} {
		issuers := []*smx509.Certificate{root}
		if sub == signersDir {
			issuers = signerIssuers
		}
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("devca: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			slug := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, certExt), keyExt), keyURIExt)
			if e.IsDir() || slug == name || !slugRE.MatchString(slug) {
				continue
			}
			if _, done := m[slug]; done {
				continue
			}
			// loadIdentity reports a key without its certificate too.
			if m[slug], err = loadIdentity(filepath.Join(dir, sub, slug), issuers...); err != nil {
				return nil, err
			}
		}
	}
	return ca, nil
}

// loadIdentity reads base.crt, checks it was issued by one of issuers and
// that base.key, or base.keyuri naming a key held elsewhere, exists
// beside it.
func loadIdentity(base string, issuers ...*smx509.Certificate) (Identity, error) {
	if ok, err := exists(base + certExt); err != nil {
		return Identity{}, err
	} else if !ok {
		return Identity{}, fmt.Errorf("%w: %s has no %s", ErrPartial, base+keyExt, base+certExt)
	}
	cert, err := readCert(base + certExt)
	if err != nil {
		return Identity{}, err
	}
	if err := checkIssued(cert, issuers); err != nil {
		return Identity{}, fmt.Errorf("devca: %s was not issued by this root: %w", base+certExt, err)
	}
	if uri, ok, err := readKeyURI(base); err != nil || ok {
		return Identity{Cert: cert, CertPath: base + certExt, KeyURI: uri}, err
	}
	if ok, err := exists(base + keyExt); err != nil {
		return Identity{}, err
	} else if !ok {
		return Identity{}, fmt.Errorf("%w: %s has no %s", ErrPartial, base+certExt, base+keyExt)
	}
	uri, err := keys.FileURI(base + keyExt)
	if err != nil {
		return Identity{}, err
	}
	return Identity{Cert: cert, CertPath: base + certExt, KeyPath: base + keyExt, KeyURI: uri}, nil
}

// checkIssued reports whether one of issuers signed cert: nil if one did,
// else the first's error.
func checkIssued(cert *smx509.Certificate, issuers []*smx509.Certificate) error {
	var first error
	for _, iss := range issuers {
		err := cert.CheckSignatureFrom(iss)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// Signer opens the private key of id with the CA's passphrase and checks
// that it matches id's certificate.
func (c *CA) Signer(ctx context.Context, id Identity) (crypto.Signer, error) {
	if id.Cert == nil || id.KeyURI == "" {
		return nil, errors.New("devca: Signer of an empty Identity")
	}
	return openKeyURI(ctx, id.KeyURI, id.Cert, c.passphrase)
}

// OpenAlias opens the key of a development identity by the alias the
// engine's keyring gives it: a unit's slug, "registrar" or "pipeline". It
// serves tests as a keyring (keys.NewCache(ca.OpenAlias)).
func (c *CA) OpenAlias(ctx context.Context, alias string) (crypto.Signer, error) {
	id, ok := map[string]Identity{registrarName: c.Registrar, pipelineName: c.Pipeline}[alias]
	if !ok {
		var err error
		if id, err = c.Unit(alias); err != nil {
			return nil, err
		}
	}
	return c.Signer(ctx, id)
}

// Unit returns the document signer identity of the unit slug, or an error
// wrapping ErrUnknownIdentity that lists the units there are.
func (c *CA) Unit(slug string) (Identity, error) { return lookup(c.Signers, "unit", slug) }

// Approver returns the identity of the approver slug, or an error wrapping
// ErrUnknownIdentity that lists the approvers there are.
func (c *CA) Approver(slug string) (Identity, error) { return lookup(c.Approvers, "approver", slug) }

func lookup(ids map[string]Identity, role, slug string) (Identity, error) {
	if id, ok := ids[slug]; ok {
		return id, nil
	}
	return Identity{}, fmt.Errorf("%w: %s %q (have: %s)", ErrUnknownIdentity, role, slug, strings.Join(slices.Sorted(maps.Keys(ids)), ", "))
}

// Pool returns a trust pool whose roots are the CA's: the SM2 root and,
// once it exists, the PAdES CA (PAdESRoot).
func (c *CA) Pool() *trust.Pool {
	return trust.NewPool(c.Roots())
}

// Roots returns the roots of the chain's document signers: the SM2 root
// and, once it exists, the PAdES CA (PAdESRoot).
func (c *CA) Roots() []*smx509.Certificate {
	if c.PAdESRoot == nil {
		return []*smx509.Certificate{c.Root}
	}
	return []*smx509.Certificate{c.Root, c.PAdESRoot}
}

// Revocation is one entry of a CRL.
type Revocation struct {
	Cert   *smx509.Certificate
	At     time.Time // revocation time
	Reason int       // CRLReason, RFC 5280 §5.3.1; 0 unspecified
}

// RevokeCRL returns a DER CRL signed by the root listing revoked, issued
// at now and valid for a week, numbered by now in milliseconds: what
// trust.Pool.AddCRL takes.
func (c *CA) RevokeCRL(ctx context.Context, revoked []Revocation, now time.Time) ([]byte, error) {
	key, err := openKeyURI(ctx, c.rootKeyURI, c.Root, c.passphrase)
	if err != nil {
		return nil, err
	}
	// cRLNumber must increase from one CRL to the next (RFC 5280 §5.2.3).
	number := big.NewInt(now.UnixMilli())
	tmpl := &smx509.RevocationList{Number: number, ThisUpdate: now, NextUpdate: now.Add(7 * 24 * time.Hour)}
	for _, r := range revoked {
		if r.Cert == nil {
			return nil, errors.New("devca: RevokeCRL: nil certificate")
		}
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			smx509.RevocationListEntry{SerialNumber: r.Cert.SerialNumber, RevocationTime: r.At, ReasonCode: r.Reason})
	}
	der, err := smx509.CreateRevocationList(rand.Reader, tmpl, c.Root, key)
	if err != nil {
		return nil, fmt.Errorf("devca: CRL: %w", err)
	}
	return der, nil
}
