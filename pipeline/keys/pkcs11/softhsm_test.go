package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	p11 "github.com/miekg/pkcs11"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealpipe/sealpipe/internal/fakehsm"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// The SoftHSM2 tests run against the Debian softhsm2 package. Each test
// gets its own token directory:
//
//	SOFTHSM2_CONF=$TMP/softhsm2.conf   directories.tokendir = $TMP/tokens
//	softhsm2-util --init-token --free --label LABEL --so-pin 12345678 --pin 123456
//
// and makes its keys with pkcs11-tool (opensc) or, for SM2 key objects,
// with C_CreateObject. SoftHSM2 reads SOFTHSM2_CONF in C_Initialize, and
// the Backend finalizes the module when it closes, so the tests run one
// after another, each closing its Backend.

const (
	softhsmLib   = "/usr/lib/softhsm/libsofthsm2.so"
	softhsmPIN   = "123456"
	softhsmSOPIN = "12345678"
)

// softHSM is a SoftHSM2 configuration of the test's own.
type softHSM struct {
	t       testing.TB
	dir     string
	util    string // softhsm2-util
	p11tool string // pkcs11-tool
}

// newSoftHSM points SOFTHSM2_CONF at a fresh token directory for the test
// and initialises a token for each label. It skips the test (fails it
// under CI=true) if SoftHSM2 or opensc is missing.
func newSoftHSM(t *testing.T, labels ...string) *softHSM {
	t.Helper()
	h := setupSoftHSM(t, t.TempDir())
	t.Setenv("SOFTHSM2_CONF", filepath.Join(h.dir, "softhsm2.conf"))
	for _, l := range labels {
		h.initToken(l)
	}
	return h
}

// setupSoftHSM writes a SoftHSM2 configuration in dir; the caller points
// SOFTHSM2_CONF at it.
func setupSoftHSM(t testing.TB, dir string) *softHSM {
	t.Helper()
	if _, err := os.Stat(softhsmLib); err != nil {
		testenv.Missing(t, "SoftHSM2 (%s) is not installed: deploy/local/install-deps.sh installs softhsm2 and opensc", softhsmLib)
	}
	h := &softHSM{t: t, dir: dir, util: testenv.Tool(t, "softhsm2-util"), p11tool: testenv.Tool(t, "pkcs11-tool")}
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(filepath.Join(dir, "softhsm2.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *softHSM) run(name string, args ...string) string {
	h.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+filepath.Join(h.dir, "softhsm2.conf"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (h *softHSM) initToken(label string) {
	h.t.Helper()
	h.run(h.util, "--init-token", "--free", "--label", label, "--so-pin", softhsmSOPIN, "--pin", softhsmPIN)
}

func (h *softHSM) deleteToken(label string) {
	h.t.Helper()
	h.run(h.util, "--delete-token", "--token", label)
}

// tool runs pkcs11-tool logged in to the token.
func (h *softHSM) tool(label string, args ...string) string {
	h.t.Helper()
	return h.run(h.p11tool, append([]string{"--module", softhsmLib, "--token-label", label, "--login", "--pin", softhsmPIN}, args...)...)
}

// generate makes a key pair on the token ("EC:prime256v1", "rsa:2048").
func (h *softHSM) generate(label, keyType, object string, id byte) {
	h.t.Helper()
	h.tool(label, "--keypairgen", "--key-type", keyType, "--label", object, "--id", hex.EncodeToString([]byte{id}))
}

// importKey writes key into the token as a private and a public key
// object.
func (h *softHSM) importKey(label string, key crypto.Signer, object string, id byte) {
	h.t.Helper()
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		h.t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		h.t.Fatal(err)
	}
	dir, err := os.MkdirTemp(h.dir, "import")
	if err != nil {
		h.t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for kind, der := range map[string][]byte{"privkey": priv, "pubkey": pub} {
		p := filepath.Join(dir, kind+".der")
		if err := os.WriteFile(p, der, 0o600); err != nil {
			h.t.Fatal(err)
		}
		h.tool(label, "--write-object", p, "--type", kind, "--label", object, "--id", hex.EncodeToString([]byte{id}))
	}
}

// uri names a key on the token, the PIN in pin-value.
func (h *softHSM) uri(label, object string) string {
	return "pkcs11:token=" + url.PathEscape(label) + ";object=" + url.PathEscape(object) +
		"?module-path=" + softhsmLib + "&pin-value=" + softhsmPIN
}

// withSession runs f on a logged-in session of the token, with a module
// handle of its own. If the handle was the one to initialize the module it
// finalizes it afterwards; else (a Backend holds the module) it joins.
func (h *softHSM) withSession(label string, f func(m *p11.Ctx, sh p11.SessionHandle)) {
	h.t.Helper()
	m := p11.New(softhsmLib)
	if m == nil {
		h.t.Fatalf("cannot load %s", softhsmLib)
	}
	defer m.Destroy()
	owner, err := initialize(m)
	if err != nil {
		h.t.Fatal(err)
	}
	if owner {
		defer m.Finalize()
	}
	slot, err := findSlot(m, &URI{path: []attr{{attrToken, label}}})
	if err != nil {
		h.t.Fatal(err)
	}
	sh, err := m.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		h.t.Fatal(err)
	}
	defer m.CloseSession(sh)
	if err := m.Login(sh, p11.CKU_USER, softhsmPIN); err != nil && !errors.Is(err, p11.Error(p11.CKR_USER_ALREADY_LOGGED_IN)) {
		h.t.Fatal(err)
	}
	f(m, sh)
}

// newBackend returns a Backend with its own registry, closed at the end
// of the test, with the background health check off.
func newBackend(t *testing.T, cfg Config) (*Backend, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = -1
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, reg
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func TestSoftHSMECDSA(t *testing.T) {
	h := newSoftHSM(t, "ecdsa")
	imported, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h.importKey("ecdsa", imported, "imported", 1)
	h.generate("ecdsa", "EC:prime256v1", "generated", 2)
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(softhsmPIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := newBackend(t, Config{})
	prev := Default()
	SetDefault(b)
	t.Cleanup(func() { SetDefault(prev) })

	base := "pkcs11:token=ecdsa;object=%s?module-path=" + softhsmLib
	for _, c := range []struct {
		name, uri string
		opts      keys.Options
		want      *ecdsa.PublicKey // nil: the key was made on the token
	}{
		{"pin-value", h.uri("ecdsa", "imported"), keys.Options{}, &imported.PublicKey},
		{"pin-source", fmt.Sprintf(base, "imported") + "&pin-source=file:" + pinFile, keys.Options{}, &imported.PublicKey},
		{"passphrase", fmt.Sprintf(base, "imported"), keys.Options{Passphrase: []byte(softhsmPIN)}, &imported.PublicKey},
		{"by id", "pkcs11:token=ecdsa;id=%02?module-path=" + softhsmLib + "&pin-value=" + softhsmPIN, keys.Options{}, nil},
		{"generated", h.uri("ecdsa", "generated"), keys.Options{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			signer, err := keys.Open(context.Background(), c.uri, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			pub, ok := signer.Public().(*ecdsa.PublicKey)
			if !ok || pub.Curve != elliptic.P256() {
				t.Fatalf("Public() = %T, want a P-256 *ecdsa.PublicKey", signer.Public())
			}
			if c.want != nil && !pub.Equal(c.want) {
				t.Fatal("Public() is not the imported key")
			}
			digest := sha256Sum([]byte(c.name))
			sig, err := signer.Sign(rand.Reader, digest, crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if !ecdsa.VerifyASN1(pub, digest, sig) {
				t.Fatal("signature does not verify with crypto/ecdsa")
			}
			if ecdsa.VerifyASN1(pub, sha256Sum([]byte("other")), sig) {
				t.Fatal("signature verifies over another digest")
			}
			sig2, err := signer.(*Signer).SignContext(context.Background(), digest, crypto.SHA256)
			if err != nil || !ecdsa.VerifyASN1(pub, digest, sig2) {
				t.Fatalf("SignContext: %v", err)
			}
		})
	}
}

func TestSoftHSMRSA(t *testing.T) {
	h := newSoftHSM(t, "rsa")
	h.generate("rsa", "rsa:2048", "rsa", 3)
	b, _ := newBackend(t, Config{})
	s, err := b.OpenKey(context.Background(), keys.Options{}, h.uri("rsa", "rsa"))
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := s.Public().(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 2048 {
		t.Fatalf("Public() = %T, want a 2048-bit *rsa.PublicKey", s.Public())
	}
	digest := sha256Sum([]byte("rsa"))
	sig, err := s.SignContext(context.Background(), digest, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig); err != nil {
		t.Fatalf("PKCS #1 v1.5: %v", err)
	}
	pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	sig, err = s.SignContext(context.Background(), digest, pss)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest, sig, pss); err != nil {
		t.Fatalf("PSS: %v", err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sha256Sum([]byte("x")), sig); err == nil {
		t.Fatal("signature verifies over another digest")
	}
}

// countingDialer counts the sessions the pool opens itself, on top of
// the real dialer.
type countingDialer struct {
	Dialer
	open, max atomic.Int64
}

type countingConn struct {
	Conn
	d *countingDialer
}

func (d *countingDialer) Dial(ctx context.Context, path string, u *URI, maxSessions int) (Conn, error) {
	c, err := d.Dialer.Dial(ctx, path, u, maxSessions)
	if err != nil {
		return nil, err
	}
	return &countingConn{c, d}, nil
}

func (c *countingConn) OpenSession(slot uint, flags uint) (p11.SessionHandle, error) {
	sh, err := c.Conn.OpenSession(slot, flags)
	if err == nil {
		n := c.d.open.Add(1)
		for m := c.d.max.Load(); n > m && !c.d.max.CompareAndSwap(m, n); m = c.d.max.Load() {
		}
	}
	return sh, err
}

func (c *countingConn) CloseSession(sh p11.SessionHandle) error {
	c.d.open.Add(-1)
	return c.Conn.CloseSession(sh)
}

// TestSoftHSMMoreSignersThanSessions: 64 goroutines share 4 sessions.
func TestSoftHSMMoreSignersThanSessions(t *testing.T) {
	const maxSessions, signers, each = 4, 64, 16
	h := newSoftHSM(t, "busy")
	h.generate("busy", "EC:prime256v1", "k", 1)
	d := &countingDialer{Dialer: Crypto11Dialer{}}
	b, reg := newBackend(t, Config{MaxSessions: maxSessions, Dialer: d})
	s, err := b.OpenKey(context.Background(), keys.Options{}, h.uri("busy", "k"))
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Public().(*ecdsa.PublicKey)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for g := range signers {
		wg.Go(func() {
			for i := range each {
				digest := sha256Sum(fmt.Appendf(nil, "%d/%d", g, i))
				sig, err := s.SignContext(context.Background(), digest, crypto.SHA256)
				if err == nil && !ecdsa.VerifyASN1(pub, digest, sig) {
					err = errors.New("signature does not verify")
				}
				if err != nil {
					failed.Add(1)
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d signatures failed", n, signers*each)
	}
	st := s.Status()[0]
	if st.MaxInFlight > maxSessions || st.MaxInFlight < 2 {
		t.Errorf("most signatures at once = %d, want 2…%d", st.MaxInFlight, maxSessions)
	}
	if m := d.max.Load(); m > 1 {
		t.Errorf("the pool opened %d sessions of its own at once, want 1 (control; crypto11 signs)", m)
	}
	if got := metric(t, reg, "sealpipe_pkcs11_signatures_total", "token", "busy"); got != signers*each {
		t.Errorf("signatures_total = %v, want %d", got, signers*each)
	}
	if got := metric(t, reg, "sealpipe_pkcs11_sessions_in_flight", "token", "busy"); got != 0 {
		t.Errorf("sessions_in_flight = %v, want 0", got)
	}
	t.Logf("most at once: %d signatures on %d sessions", st.MaxInFlight, maxSessions)
}

func TestSoftHSMWrongPIN(t *testing.T) {
	h := newSoftHSM(t, "pin")
	h.generate("pin", "EC:prime256v1", "k", 1)
	b, reg := newBackend(t, Config{})
	const wrong = "654321"
	uri := "pkcs11:token=pin;object=k?module-path=" + softhsmLib
	_, err := b.OpenKey(context.Background(), keys.Options{}, uri+"&pin-value="+wrong)
	if !errors.Is(err, ErrLogin) || !errors.Is(err, p11.Error(p11.CKR_PIN_INCORRECT)) {
		t.Fatalf("err = %v, want ErrLogin wrapping CKR_PIN_INCORRECT", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Fatalf("error %q reveals the PIN", err)
	}
	t.Logf("wrong PIN: %v", err)
	if got := metric(t, reg, "sealpipe_pkcs11_errors_total", "kind", kindLogin); got != 1 {
		t.Errorf("errors_total{kind=login} = %v, want 1", got)
	}
	s, err := b.OpenKey(context.Background(), keys.Options{Passphrase: []byte(softhsmPIN)}, uri)
	if err != nil {
		t.Fatalf("the right PIN after a wrong one: %v", err)
	}
	if _, err := s.SignContext(context.Background(), sha256Sum(nil), crypto.SHA256); err != nil {
		t.Fatal(err)
	}
}

func TestSoftHSMMissing(t *testing.T) {
	h := newSoftHSM(t, "present")
	h.generate("present", "EC:prime256v1", "k", 1)
	b, _ := newBackend(t, Config{})
	for _, c := range []struct {
		name, uri string
		want      []error
	}{
		{"key", h.uri("present", "absent"), []error{keys.ErrKeyNotFound}},
		{"id", "pkcs11:token=present;id=%07?module-path=" + softhsmLib + "&pin-value=" + softhsmPIN, []error{keys.ErrKeyNotFound}},
		{"token", h.uri("absent", "k"), []error{ErrTokenNotFound, keys.ErrKeyNotFound}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.OpenKey(context.Background(), keys.Options{}, c.uri)
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want %v", err, w)
				}
			}
			t.Logf("%s: %v", c.name, err)
		})
	}
}

// TestSoftHSMRelogin: another handle on the module logs the application
// out; SoftHSM2 then drops the private key's handle, and the pool logs in
// again and finds the key again.
func TestSoftHSMRelogin(t *testing.T) {
	h := newSoftHSM(t, "relogin")
	h.generate("relogin", "EC:prime256v1", "k", 1)
	b, reg := newBackend(t, Config{})
	s, err := b.OpenKey(context.Background(), keys.Options{}, h.uri("relogin", "k"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256Sum([]byte("m"))
	if _, err := s.SignContext(context.Background(), digest, crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	h.withSession("relogin", func(m *p11.Ctx, sh p11.SessionHandle) {
		if err := m.Logout(sh); err != nil {
			t.Fatal(err)
		}
	})
	if !s.Status()[0].LoggedIn {
		t.Fatal("the pool noticed the logout before using the token: the test cannot tell")
	}
	sig, err := s.SignContext(context.Background(), digest, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest, sig) {
		t.Fatal("signature does not verify")
	}
	if got := metric(t, reg, "sealpipe_pkcs11_logins_total", "token", "relogin"); got != 2 {
		t.Errorf("logins_total = %v, want 2", got)
	}
	if got := metric(t, reg, "sealpipe_pkcs11_errors_total", "kind", kindHandle); got != 1 {
		t.Errorf("errors_total{kind=handle} = %v, want 1", got)
	}
}

// TestSoftHSMTokenReinitialised: the token is deleted and initialised
// again under the running pool. Decided behaviour: the call that meets
// the new token reconnects, logs in and looks for the key again; if the
// key is not there yet it fails with keys.ErrKeyNotFound, and the next
// call, once the key is back, succeeds. A different key under the same
// name fails with ErrKeyChanged.
func TestSoftHSMTokenReinitialised(t *testing.T) {
	const label = "reinit"
	h := newSoftHSM(t, label)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h.importKey(label, key, "k", 1)
	b, reg := newBackend(t, Config{})
	s, err := b.OpenKey(context.Background(), keys.Options{}, h.uri(label, "k"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256Sum([]byte("m"))
	sign := func() error {
		sig, err := s.SignContext(context.Background(), digest, crypto.SHA256)
		if err == nil && !ecdsa.VerifyASN1(&key.PublicKey, digest, sig) {
			return errors.New("signature does not verify with the original key")
		}
		return err
	}
	if err := sign(); err != nil {
		t.Fatal(err)
	}

	// Re-initialised without the key: a clear error, then recovery.
	h.deleteToken(label)
	h.initToken(label)
	err = sign()
	if !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("token re-initialised without the key: err = %v, want keys.ErrKeyNotFound", err)
	}
	t.Logf("without the key: %v", err)
	if got := metric(t, reg, "sealpipe_pkcs11_errors_total", "kind", kindSession); got < 1 {
		t.Errorf("errors_total{kind=session} = %v: the pool did not notice the token went", got)
	}
	h.importKey(label, key, "k", 1)
	if err := sign(); err != nil {
		t.Fatalf("after the key is imported again: %v", err)
	}

	// Re-initialised with the key: the call recovers by itself.
	h.deleteToken(label)
	h.initToken(label)
	h.importKey(label, key, "k", 1)
	if err := sign(); err != nil {
		t.Fatalf("token re-initialised with the key: %v", err)
	}
	if got := metric(t, reg, "sealpipe_pkcs11_logins_total", "token", label); got < 3 {
		t.Errorf("logins_total = %v, want ≥ 3 (one per connection)", got)
	}

	// Re-initialised with another key under the same name.
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h.deleteToken(label)
	h.initToken(label)
	h.importKey(label, other, "k", 1)
	if err := sign(); !errors.Is(err, ErrKeyChanged) {
		t.Fatalf("another key under the same name: err = %v, want ErrKeyChanged", err)
	}
}

// TestSoftHSMFailover: the same key in two tokens; one is deleted and the
// other signs.
func TestSoftHSMFailover(t *testing.T) {
	h := newSoftHSM(t, "primary", "standby")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h.importKey("primary", key, "k", 1)
	h.importKey("standby", key, "k", 1)
	b, _ := newBackend(t, Config{})
	s, err := b.OpenKey(context.Background(), keys.Options{}, h.uri("primary", "k"), h.uri("standby", "k"))
	if err != nil {
		t.Fatal(err)
	}
	h.deleteToken("primary")
	for i := range 4 {
		digest := sha256Sum(fmt.Appendf(nil, "%d", i))
		sig, err := s.SignContext(context.Background(), digest, crypto.SHA256)
		if err != nil {
			t.Fatalf("signature %d with the primary token gone: %v", i, err)
		}
		if !ecdsa.VerifyASN1(&key.PublicKey, digest, sig) {
			t.Fatal("signature does not verify")
		}
	}
	st := s.Status()
	if st[0].Healthy || !st[1].Healthy {
		t.Fatalf("status = %+v, want primary unhealthy, standby healthy", st)
	}
	t.Logf("primary: %v", st[0].Err)
}

// TestSoftHSMSM2KeyObjects: SM2 keys made by gmsm, imported with
// C_CreateObject as CKK_EC objects on the SM2 curve, are found by their
// URIs with the right public key. SoftHSM2 has no SM2 mechanism: signing
// fails with ErrMechanism (the fake HSM tests cover signing).
func TestSoftHSMSM2KeyObjects(t *testing.T) {
	h := newSoftHSM(t, "sm2")
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h.withSession("sm2", func(m *p11.Ctx, sh p11.SessionHandle) {
		point, err := fakehsm.ECPoint(key)
		if err != nil {
			t.Fatal(err)
		}
		for _, tmpl := range [][]*p11.Attribute{{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
			p11.NewAttribute(p11.CKA_PRIVATE, true),
			p11.NewAttribute(p11.CKA_SENSITIVE, true),
			p11.NewAttribute(p11.CKA_SIGN, true),
			p11.NewAttribute(p11.CKA_VALUE, key.D.FillBytes(make([]byte, 32))),
		}, {
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
			p11.NewAttribute(p11.CKA_VERIFY, true),
			p11.NewAttribute(p11.CKA_EC_POINT, point),
		}} {
			tmpl = append(tmpl,
				p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC),
				p11.NewAttribute(p11.CKA_TOKEN, true),
				p11.NewAttribute(p11.CKA_LABEL, "sm2-seal"),
				p11.NewAttribute(p11.CKA_ID, []byte{0x53, 0x4d, 0x32}),
				p11.NewAttribute(p11.CKA_EC_PARAMS, sm2CurveParams),
			)
			if _, err := m.CreateObject(sh, tmpl); err != nil {
				t.Fatalf("C_CreateObject: %v", err)
			}
		}
	})
	for _, c := range []struct {
		name string
		sm2  SM2Mechanism
	}{
		{"no mechanism", SM2Mechanism{}},
		{"vendor mechanism", SM2Mechanism{Mechanism: mechSM2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := newBackend(t, Config{SM2: c.sm2})
			prev := Default()
			SetDefault(b)
			defer SetDefault(prev)
			for _, uri := range []string{
				h.uri("sm2", "sm2-seal"),
				"pkcs11:token=sm2;id=SM2;type=private?module-path=" + softhsmLib + "&pin-value=" + softhsmPIN,
			} {
				signer, err := keys.Open(context.Background(), uri, keys.Options{})
				if err != nil {
					t.Fatal(err)
				}
				pub, ok := signer.Public().(*ecdsa.PublicKey)
				if !ok || !sm2.IsSM2PublicKey(pub) || !pub.Equal(&key.PublicKey) {
					t.Fatalf("%s: Public() = %v, want the imported SM2 key", uri, signer.Public())
				}
				_, err = signer.Sign(rand.Reader, []byte("m"), sm2.DefaultSM2SignerOpts)
				if !errors.Is(err, ErrMechanism) {
					t.Fatalf("%s: Sign: err = %v, want ErrMechanism", uri, err)
				}
			}
			b.Close()
		})
	}
}
