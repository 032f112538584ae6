package devca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

var (
	testUnits     = []Unit{{"civil-affairs", "某某县民政局"}, {"county-office", "某某县人民政府办公室"}}
	testApprovers = []Approver{{"approver-zhang", "张伟"}}
	testPass      = []byte("dev passphrase")
)

// template is a CA made once per test binary: encrypting a key costs
// ~0.15 s of PBKDF2, so tests copy this one instead of making their own.
var template struct {
	once sync.Once
	dir  string
	now  time.Time
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if template.dir != "" {
		os.RemoveAll(filepath.Dir(template.dir))
	}
	os.Exit(code)
}

// testCA returns a copy of the template CA in a fresh directory, loaded
// by running Init on it, and the time it was made at.
func testCA(t *testing.T) (*CA, string, time.Time) {
	t.Helper()
	template.once.Do(func() {
		parent, err := os.MkdirTemp("", "devca-template-")
		if err != nil {
			template.err = err
			return
		}
		template.dir = filepath.Join(parent, "pki")
		template.now = time.Now().UTC().Truncate(time.Second)
		_, template.err = Init(Config{Dir: template.dir, Passphrase: testPass, Units: testUnits, Approvers: testApprovers, Now: template.now})
	})
	if template.err != nil {
		t.Fatal(template.err)
	}
	dir := filepath.Join(t.TempDir(), "pki")
	copyTree(t, template.dir, dir)
	return initCA(t, dir, template.now), dir, template.now
}

// copyTree copies src to dst keeping permissions.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if err := os.MkdirAll(to, 0o700); err != nil {
				return err
			}
			return os.Chmod(to, fi.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			return err
		}
		return os.Chmod(to, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func initCA(t *testing.T, dir string, now time.Time) *CA {
	t.Helper()
	ca, err := Init(Config{Dir: dir, Passphrase: testPass, Units: testUnits, Approvers: testApprovers, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// leaf is one identity of a CA with what it must look like.
type leaf struct {
	role  string
	slug  string
	id    Identity
	org   string
	usage trust.Usage
	ku    smx509.KeyUsage
}

func leaves(ca *CA) []leaf {
	out := []leaf{
		{"seal maker", "sealmaker", ca.SealMaker, "sealpipe development seal maker", trust.UsageSealMaker, smx509.KeyUsageDigitalSignature},
		{"registry administrator", "registrar", ca.Registrar, "sealpipe development seal administrator", trust.UsageRegistryAdmin, smx509.KeyUsageDigitalSignature},
		{"pipeline", "pipeline", ca.Pipeline, "sealpipe development pipeline", trust.UsagePipeline, smx509.KeyUsageDigitalSignature},
	}
	for _, u := range testUnits {
		out = append(out, leaf{"document signer", u.Slug, ca.Signers[u.Slug], u.Name, trust.UsageDocumentSigner,
			smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment})
	}
	for _, a := range testApprovers {
		out = append(out, leaf{"approver", a.Slug, ca.Approvers[a.Slug], a.Name, trust.UsageApprover, smx509.KeyUsageDigitalSignature})
	}
	return out
}

func TestInit(t *testing.T) {
	t.Parallel()
	ca, dir, now := testCA(t)

	root := ca.Root
	if ca.RootPath != filepath.Join(dir, "root.crt") {
		t.Errorf("RootPath = %s", ca.RootPath)
	}
	if !root.IsCA || !root.BasicConstraintsValid || root.MaxPathLen != 0 || !root.MaxPathLenZero {
		t.Errorf("root basic constraints: cA %v, pathlen %d (zero %v)", root.IsCA, root.MaxPathLen, root.MaxPathLenZero)
	}
	if root.KeyUsage != smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign {
		t.Errorf("root key usage %b, want keyCertSign|cRLSign", root.KeyUsage)
	}
	if !root.NotAfter.Equal(now.Add(DefaultRootValidity)) {
		t.Errorf("root valid until %v, want %v", root.NotAfter, now.Add(DefaultRootValidity))
	}
	if len(ca.Signers) != len(testUnits) || len(ca.Approvers) != len(testApprovers) {
		t.Fatalf("%d signers and %d approvers, want %d and %d", len(ca.Signers), len(ca.Approvers), len(testUnits), len(testApprovers))
	}

	pool := ca.Pool()
	serials := map[string]bool{root.SerialNumber.String(): true}
	for _, l := range leaves(ca) {
		t.Run(l.slug, func(t *testing.T) {
			c := l.id.Cert
			if c.SignatureAlgorithm != smx509.SM2WithSM3 || !sm2.IsSM2PublicKey(c.PublicKey) {
				t.Errorf("signature %v, key %T: want SM2-with-SM3 and an SM2 key", c.SignatureAlgorithm, c.PublicKey)
			}
			s := c.Subject
			if s.CommonName != l.slug || len(s.Organization) != 1 || s.Organization[0] != l.org ||
				len(s.OrganizationalUnit) != 1 || s.OrganizationalUnit[0] != l.role || len(s.Country) != 1 || s.Country[0] != "CN" {
				t.Errorf("subject %v, want C=CN, O=%s, OU=%s, CN=%s", s, l.org, l.role, l.slug)
			}
			if c.KeyUsage != l.ku || c.IsCA || !c.BasicConstraintsValid {
				t.Errorf("key usage %b, cA %v; want %b, not a CA", c.KeyUsage, c.IsCA, l.ku)
			}
			if !c.NotAfter.Equal(now.Add(DefaultLeafValidity)) || !c.NotBefore.Before(now) {
				t.Errorf("valid %v … %v, want from before %v until %v", c.NotBefore, c.NotAfter, now, now.Add(DefaultLeafValidity))
			}
			if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() < 64 || serials[c.SerialNumber.String()] {
				t.Errorf("serial %X: want a fresh random positive number", c.SerialNumber)
			}
			serials[c.SerialNumber.String()] = true
			if !bytes.Equal(c.AuthorityKeyId, root.SubjectKeyId) || len(c.SubjectKeyId) != 20 {
				t.Errorf("AKI %X (root SKI %X), SKI %X", c.AuthorityKeyId, root.SubjectKeyId, c.SubjectKeyId)
			}
			chain, err := pool.Verify(c, now, l.usage)
			if err != nil || len(chain) != 2 {
				t.Errorf("Verify as %v: %d certificates, %v", l.usage, len(chain), err)
			}

			wantCert := filepath.Join(dir, strings.TrimSuffix(relPath(l), ".key")+".crt")
			wantKey := filepath.Join(dir, relPath(l))
			if l.id.CertPath != wantCert || l.id.KeyPath != wantKey {
				t.Errorf("paths %s, %s; want %s, %s", l.id.CertPath, l.id.KeyPath, wantCert, wantKey)
			}
			if uri, _ := keys.FileURI(wantKey); l.id.KeyURI != uri || !strings.HasPrefix(uri, "file:") {
				t.Errorf("KeyURI %q, want %q", l.id.KeyURI, uri)
			}
			checkMode(t, l.id.KeyPath, 0o600)
			checkMode(t, l.id.CertPath, 0o644)

			signer, err := ca.Signer(context.Background(), l.id)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("approval.json")
			sig, err := signer.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
			if err != nil {
				t.Fatal(err)
			}
			if !sm2.VerifyASN1WithSM2(c.PublicKey.(*ecdsa.PublicKey), nil, msg, sig) {
				t.Error("signature by the opened key does not verify with the certificate")
			}
		})
	}
	checkMode(t, filepath.Join(dir, "root.key"), 0o600)
	for _, d := range []string{dir, filepath.Join(dir, "signers"), filepath.Join(dir, "approvers")} {
		checkMode(t, d, 0o700|os.ModeDir)
	}
	// The keys on disk are encrypted with the passphrase.
	b, err := os.ReadFile(filepath.Join(dir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.ParseEncryptedPEM(b, []byte("wrong")); !errors.Is(err, keys.ErrBadPassphrase) {
		t.Errorf("root key with a wrong passphrase: %v", err)
	}
	if _, err := keys.ParseEncryptedPEM(b, testPass); err != nil {
		t.Errorf("root key: %v", err)
	}
}

func relPath(l leaf) string {
	switch l.role {
	case "document signer":
		return filepath.Join("signers", l.slug+".key")
	case "approver":
		return filepath.Join("approvers", l.slug+".key")
	}
	return l.slug + ".key"
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (os.ModePerm | os.ModeDir); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}

func TestInitIdempotent(t *testing.T) {
	t.Parallel()
	first, dir, _ := testCA(t)
	before := snapshot(t, dir)

	again := initCA(t, dir, time.Now().Add(time.Hour))
	if after := snapshot(t, dir); !equalMaps(before, after) {
		t.Fatal("a second Init with the same Config changed files")
	}
	if !again.Root.Equal(first.Root) {
		t.Fatal("a second Init made a new root")
	}

	// More units: only those are added.
	more, err := Init(Config{Dir: dir, Passphrase: testPass, Approvers: testApprovers,
		Units: append(testUnits[:1:1], Unit{"tax-bureau", "某某县税务局"})})
	if err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, dir)
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("%s changed", name)
		}
	}
	if len(after) != len(before)+2 || after["signers/tax-bureau.crt"] == nil || after["signers/tax-bureau.key"] == nil {
		t.Errorf("files after adding a unit: %v", keysOf(after))
	}
	// What is on disk but not in the Config stays part of the CA.
	if len(more.Signers) != 3 {
		t.Errorf("signers %v, want the 2 kept and the 1 added", keysOf(more.Signers))
	}
	if _, err := more.Pool().Verify(more.Signers["tax-bureau"].Cert, time.Now(), trust.UsageDocumentSigner); err != nil {
		t.Error(err)
	}

	if _, err := Init(Config{Dir: dir, Passphrase: []byte("not it"), Units: testUnits}); !errors.Is(err, keys.ErrBadPassphrase) {
		t.Errorf("Init with another passphrase: %v, want ErrBadPassphrase", err)
	}
}

// snapshot reads every file under dir, by relative slash path.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := make(map[string][]byte)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		m[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func equalMaps(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(b[k], v) {
			return false
		}
	}
	return true
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestLoad(t *testing.T) {
	t.Parallel()
	made, dir, _ := testCA(t)
	loaded, err := Load(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Root.Equal(made.Root) || loaded.RootPath != made.RootPath {
		t.Error("Load returned another root")
	}
	want, got := leaves(made), leaves(loaded)
	for i := range want {
		w, g := want[i].id, got[i].id
		if g.Cert == nil || !g.Cert.Equal(w.Cert) || g.CertPath != w.CertPath || g.KeyPath != w.KeyPath || g.KeyURI != w.KeyURI {
			t.Errorf("%s: Load gave %+v, Init %+v", want[i].slug, g, w)
		}
	}
	if len(loaded.Signers) != len(made.Signers) || len(loaded.Approvers) != len(made.Approvers) {
		t.Errorf("Load: %d signers, %d approvers; Init: %d, %d", len(loaded.Signers), len(loaded.Approvers), len(made.Signers), len(made.Approvers))
	}
	if _, err := loaded.Signer(context.Background(), loaded.Signers["civil-affairs"]); err != nil {
		t.Error(err)
	}

	certsOnly, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := certsOnly.Signer(context.Background(), certsOnly.SealMaker); !errors.Is(err, keys.ErrBadPassphrase) {
		t.Errorf("Signer without a passphrase: %v, want ErrBadPassphrase", err)
	}
	if _, err := Load(dir, []byte("wrong")); !errors.Is(err, keys.ErrBadPassphrase) {
		t.Errorf("Load with a wrong passphrase: %v, want ErrBadPassphrase", err)
	}
	if _, err := Load(t.TempDir(), testPass); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
	// A key swapped for another identity's is caught when opened.
	swapped := made.Approvers["approver-zhang"]
	swapped.KeyURI = made.SealMaker.KeyURI
	if _, err := made.Signer(context.Background(), swapped); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("Signer with a mismatched key: %v", err)
	}
}

func TestPartial(t *testing.T) {
	t.Parallel()
	for _, missing := range []string{"signers/civil-affairs.key", "approvers/approver-zhang.crt", "sealmaker.key", "root.crt"} {
		t.Run(missing, func(t *testing.T) {
			t.Parallel()
			_, dir, _ := testCA(t)
			if err := os.Remove(filepath.Join(dir, missing)); err != nil {
				t.Fatal(err)
			}
			if _, err := Init(Config{Dir: dir, Passphrase: testPass, Units: testUnits, Approvers: testApprovers}); !errors.Is(err, ErrPartial) {
				t.Errorf("Init: %v, want ErrPartial", err)
			}
			if _, err := Load(dir, testPass); err == nil {
				t.Error("Load succeeded")
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, cfg := range map[string]Config{
		"no dir":          {Passphrase: testPass},
		"no passphrase":   {Dir: dir},
		"upper-case slug": {Dir: dir, Passphrase: testPass, Units: []Unit{{"Civil", "x"}}},
		"path slug":       {Dir: dir, Passphrase: testPass, Units: []Unit{{"../x", "x"}}},
		"leading dash":    {Dir: dir, Passphrase: testPass, Approvers: []Approver{{"-x", "x"}}},
		"duplicate slug":  {Dir: dir, Passphrase: testPass, Units: []Unit{{"a", "x"}, {"a", "y"}}},
		"empty name":      {Dir: dir, Passphrase: testPass, Units: []Unit{{"a", " "}}},
		"control in name": {Dir: dir, Passphrase: testPass, Units: []Unit{{"a", "x\ny"}}},
		"negative":        {Dir: dir, Passphrase: testPass, Validity: -time.Hour},
	} {
		if _, err := Init(cfg); err == nil {
			t.Errorf("%s: Init accepted %+v", name, cfg)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused Config left files: %v", entries)
	}
}

func TestValidity(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	short, err := Init(Config{Dir: t.TempDir(), Passphrase: testPass, Now: now, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := short.SealMaker.Cert
	if !c.NotAfter.Equal(now.Add(time.Hour)) {
		t.Errorf("leaf until %v, want %v", c.NotAfter, now.Add(time.Hour))
	}
	if _, err := short.Pool().Verify(c, now.Add(2*time.Hour), trust.UsageSealMaker); !errors.Is(err, trust.ErrNotValidAt) {
		t.Errorf("Verify after expiry: %v, want ErrNotValidAt", err)
	}
	long, err := Init(Config{Dir: t.TempDir(), Passphrase: testPass, Now: now, Validity: 20 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if c := long.SealMaker.Cert; c.NotAfter.After(long.Root.NotAfter) {
		t.Errorf("leaf until %v outlives the root (%v)", c.NotAfter, long.Root.NotAfter)
	}
}

func TestRevokeCRL(t *testing.T) {
	t.Parallel()
	ca, _, now := testCA(t)
	signer := ca.Signers["civil-affairs"].Cert
	revokedAt := now.Add(48 * time.Hour)
	crl, err := ca.RevokeCRL(context.Background(), []Revocation{{Cert: signer, At: revokedAt, Reason: 1}}, now.Add(72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pool := ca.Pool()
	if err := pool.AddCRL(crl); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at     time.Time
		before bool
	}{{now.Add(24 * time.Hour), false}, {now.Add(96 * time.Hour), true}} {
		chain, err := pool.Verify(signer, tc.at, trust.UsageDocumentSigner)
		var rev *trust.RevokedError
		if !errors.As(err, &rev) || !rev.At.Equal(revokedAt) || len(chain) != 2 {
			t.Fatalf("Verify at %v: %v (chain of %d), want revoked at %v", tc.at, err, len(chain), revokedAt)
		}
		if before := !rev.At.After(tc.at); before != tc.before {
			t.Errorf("at %v: revoked before = %v, want %v", tc.at, before, tc.before)
		}
	}
	if _, err := pool.Verify(ca.Signers["county-office"].Cert, now, trust.UsageDocumentSigner); err != nil {
		t.Errorf("unrevoked signer: %v", err)
	}
}

// TestOpenSSL has OpenSSL 3.0 parse every certificate and verify every
// leaf against the root.
//
// OpenSSL 3.0 verifies SM2 certificate signatures with an empty signer ID
// unless told otherwise, so `openssl verify` needs
// `-vfyopt distid:1234567812345678` (the GB/T 32918 default ID, which
// gmsm and every Chinese CA use); without it it reports "certificate
// signature failure". The test asserts success with the option and logs
// what happens without it.
func TestOpenSSL(t *testing.T) {
	t.Parallel()
	openssl := testenv.Tool(t, "openssl")
	ca, _, _ := testCA(t)
	if out, err := exec.Command(openssl, "x509", "-in", ca.RootPath, "-text", "-noout").CombinedOutput(); err != nil {
		t.Fatalf("openssl x509 %s: %v\n%s", ca.RootPath, err, out)
	} else if !strings.Contains(string(out), "SM2-with-SM3") || !strings.Contains(string(out), "CA:TRUE, pathlen:0") {
		t.Errorf("openssl x509 sees the root as:\n%s", out)
	}
	verify := func(extra []string, cert string) (string, error) {
		args := append([]string{"verify", "-CAfile", ca.RootPath}, extra...)
		out, err := exec.Command(openssl, append(args, cert)...).CombinedOutput()
		if err == nil && !strings.Contains(string(out), ": OK") {
			err = errors.New("no OK")
		}
		return "openssl " + strings.Join(append(args, cert), " ") + "\n" + string(out), err
	}
	distID := []string{"-vfyopt", "distid:1234567812345678"}
	for _, l := range leaves(ca) {
		out, err := exec.Command(openssl, "x509", "-in", l.id.CertPath, "-text", "-noout").CombinedOutput()
		if err != nil {
			t.Errorf("openssl x509 %s: %v\n%s", l.id.CertPath, err, out)
			continue
		}
		if !strings.Contains(string(out), "SM2-with-SM3") || !strings.Contains(string(out), "Digital Signature") {
			t.Errorf("openssl x509 sees %s as:\n%s", l.slug, out)
		}
		if out, err := verify(distID, l.id.CertPath); err != nil {
			t.Errorf("%v: %s", err, out)
		}
		if out, err := verify(nil, l.id.CertPath); err != nil {
			t.Logf("without the SM2 ID (expected with OpenSSL 3.0): %v: %s", err, out)
		}
	}
	// And OpenSSL does check: a leaf from another CA is refused.
	other, err := Init(Config{Dir: t.TempDir(), Passphrase: testPass})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := verify(distID, other.SealMaker.CertPath); err == nil {
		t.Errorf("openssl verified a certificate of another CA:\n%s", out)
	}
}

// TestInitUpgradesRoles: a chain made before approvers needed their role
// (an approver certificate without the approver extended key usage) gets
// the certificate re-issued by the next Init, for the same key, and the
// missing registrar and pipeline identities added.
func TestInitUpgradesRoles(t *testing.T) {
	t.Parallel()
	ca, dir, now := testCA(t)
	old := ca.Approvers[testApprovers[0].Slug]
	key, err := ca.Signer(context.Background(), old)
	if err != nil {
		t.Fatal(err)
	}
	rootKey, err := openKeyURI(context.Background(), ca.rootKeyURI, ca.Root, testPass)
	if err != nil {
		t.Fatal(err)
	}
	iss := issuer{cert: ca.Root, key: rootKey, pass: testPass, now: now, validity: DefaultLeafValidity}
	noRole, err := iss.issue(leafSpec{slug: old.Cert.Subject.CommonName, name: "old", role: roleApprover, usage: smx509.KeyUsageDigitalSignature}, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := replaceFile(old.CertPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: noRole.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"registrar.crt", "registrar.key", "pipeline.crt", "pipeline.key"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	before, err := Load(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := before.Pool().Verify(before.Approvers[testApprovers[0].Slug].Cert, now, trust.UsageApprover); !errors.Is(err, trust.ErrKeyUsage) {
		t.Fatalf("the old approver certificate verifies as an approver: %v", err)
	}
	if before.Registrar.Cert != nil || before.Pipeline.Cert != nil {
		t.Fatal("the old chain has a registrar or pipeline identity")
	}
	after := initCA(t, dir, now)
	up := after.Approvers[testApprovers[0].Slug]
	if _, err := after.Pool().Verify(up.Cert, now, trust.UsageApprover); err != nil {
		t.Fatalf("upgraded approver: %v", err)
	}
	if !up.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
		t.Fatal("the upgrade changed the approver's key")
	}
	if after.Registrar.Cert == nil || after.Pipeline.Cert == nil {
		t.Fatal("Init did not add the registrar and pipeline identities")
	}
}
