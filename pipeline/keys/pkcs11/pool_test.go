package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	p11 "github.com/miekg/pkcs11"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sealpipe/sealpipe/internal/fakehsm"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// Vendor mechanism codes seen for SM2 signatures: any value must work.
const (
	mechSM2    = p11.CKM_VENDOR_DEFINED + 0x8001
	mechSM2SM3 = 0xFFFFF003
)

// fakeEnv is a Backend on fake HSMs holding one SM2 key.
type fakeEnv struct {
	b    *Backend
	reg  *prometheus.Registry
	hsm  *fakehsm.HSM
	path string
	key  *sm2.PrivateKey
}

const (
	fakeSlot   = 7
	fakeLabel  = "sm2-token"
	fakeSerial = "fake0007"
	fakePIN    = "271828"
)

// newFakeEnv makes a fake HSM whose SM2 mechanism is (mech, in, out) and
// a Backend on it configured by cfg, with cfg.SM2.Mechanism, Input and
// Output set to match unless cfg.SM2.Mechanism is already set.
func newFakeEnv(t *testing.T, mech uint, in SM2Input, out SM2Output, cfg Config) *fakeEnv {
	t.Helper()
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := fakehsm.New(fakehsm.Config{Mechanism: mech, Message: in == SM2Message, DER: out == SM2DER})
	h.AddToken(fakeSlot, fakehsm.Token{Label: fakeLabel, Serial: fakeSerial, PIN: fakePIN})
	h.AddSM2Key(fakeSlot, "seal", []byte{1}, key)
	e := &fakeEnv{reg: prometheus.NewRegistry(), hsm: h, path: fakehsm.ModulePath(t, "fakehsm"), key: key}
	if cfg.SM2.Mechanism == 0 {
		cfg.SM2.Mechanism, cfg.SM2.Input, cfg.SM2.Output = mech, in, out
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = -1
	}
	cfg.Registerer = e.reg
	if cfg.Dialer == nil {
		cfg.Dialer = fakeDialer{e.path: h}
	}
	if e.b, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.b.Close() })
	return e
}

// The fake HSM is a Module, and a connection to one of its tokens a Conn.
var (
	_ Module = (*fakehsm.HSM)(nil)
	_ Conn   = (*fakehsm.Conn)(nil)
)

// fakeDialer dials fake HSMs, one per module path, finding the token by
// the URI as Crypto11Dialer does.
type fakeDialer map[string]*fakehsm.HSM

func (d fakeDialer) Dial(ctx context.Context, path string, u *URI, maxSessions int) (Conn, error) {
	h := d[path]
	if h == nil {
		return nil, fmt.Errorf("no fake module at %s", path)
	}
	slot, err := findSlot(h, u)
	if err != nil {
		return nil, err
	}
	return h.Conn(slot), nil
}

func (e *fakeEnv) uri() string {
	return "pkcs11:token=" + fakeLabel + ";object=seal;id=%01?module-path=" + e.path + "&pin-value=" + fakePIN
}

func (e *fakeEnv) open(t *testing.T) *Signer {
	t.Helper()
	s, err := e.b.OpenKey(context.Background(), keys.Options{}, e.uri())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// metric returns the value of the metric name with the given label
// (counter, gauge, or a histogram's sample count), or 0 if absent.
func metric(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabel(m, label, value) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func TestSM2MechanismForms(t *testing.T) {
	msg := []byte("approval batch 2024-0001: 1000 documents")
	for _, mech := range []uint{mechSM2, mechSM2SM3} {
		for _, in := range []SM2Input{SM2Digest, SM2Message} {
			for _, out := range []SM2Output{SM2Raw, SM2DER} {
				name := fmt.Sprintf("%#x/%v/%v", mech, in, out)
				t.Run(name, func(t *testing.T) {
					e := newFakeEnv(t, mech, in, out, Config{})
					s := e.open(t)
					pub := &e.key.PublicKey
					if !equalKeys(s.Public(), pub) {
						t.Fatal("Public() is not the key in the token")
					}
					eDigest, err := sm2.CalculateSM2Hash(pub, msg, nil)
					if err != nil {
						t.Fatal(err)
					}
					for _, c := range []struct {
						name   string
						digest []byte
						opts   crypto.SignerOpts
						ok     bool // the token's input form allows it
					}{
						{"message", msg, sm2.DefaultSM2SignerOpts, true},
						{"message/equal opts", msg, sm2.NewSM2SignerOption(true, []byte("1234567812345678")), true},
						{"e/Hash(0)", eDigest, crypto.Hash(0), in == SM2Digest},
						{"e/nil", eDigest, nil, in == SM2Digest},
						{"e/gmsm digest opts", eDigest, sm2.NewSM2SignerOption(false, nil), in == SM2Digest},
					} {
						sig, err := s.SignContext(context.Background(), c.digest, c.opts)
						if !c.ok {
							if !errors.Is(err, ErrSignerOpts) {
								t.Errorf("%s: err = %v, want ErrSignerOpts (the token signs messages only)", c.name, err)
							}
							continue
						}
						if err != nil {
							t.Fatalf("%s: %v", c.name, err)
						}
						if !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
							t.Errorf("%s: signature does not verify with the default UID", c.name)
						}
						if sm2.VerifyASN1WithSM2(pub, nil, append(msg, '!'), sig) {
							t.Errorf("%s: signature verifies for another message", c.name)
						}
					}
				})
			}
		}
	}
}

// TestSM2OpenSSL checks a signature from the pool with OpenSSL 3, an
// implementation independent of gmsm.
func TestSM2OpenSSL(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{})
	s := e.open(t)
	msg := []byte("电子印章 sealpipe OpenSSL cross-check")
	sig, err := s.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		t.Fatal(err)
	}
	der, err := smx509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pubPath := write("pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	sigPath := write("sig.der", sig)
	verify := func(msgPath string) (string, error) {
		out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin",
			"-in", msgPath, "-sigfile", sigPath, "-digest", "sm3", "-pkeyopt", "distid:1234567812345678").CombinedOutput()
		return string(out), err
	}
	if out, err := verify(write("msg", msg)); err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl pkeyutl -verify: %v\n%s", err, out)
	}
	if out, err := verify(write("other", append(msg, '.'))); err == nil {
		t.Fatalf("openssl verified the signature over another message:\n%s", out)
	}
}

func TestSM2Misconfigured(t *testing.T) {
	msg := []byte("message")
	for _, c := range []struct {
		name string
		cfg  SM2Mechanism // the pool's; the token does mechSM2, digest in, r||s out
		want error
		kind string
	}{
		{"no mechanism", SM2Mechanism{Mechanism: 0}, ErrMechanism, kindMechanism},
		{"wrong code", SM2Mechanism{Mechanism: mechSM2SM3}, ErrMechanism, kindMechanism},
		{"DER expected", SM2Mechanism{Mechanism: mechSM2, Output: SM2DER}, ErrBadSignature, kindSignature},
		{"message sent", SM2Mechanism{Mechanism: mechSM2, Input: SM2Message}, p11.Error(p11.CKR_DATA_LEN_RANGE), kindInput},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{SM2: c.cfg})
			if c.cfg.Mechanism == 0 {
				e.b.cfg.SM2 = c.cfg // newFakeEnv fills a zero mechanism in
			}
			s := e.open(t)
			_, err := s.SignContext(context.Background(), msg, sm2.DefaultSM2SignerOpts)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if got := metric(t, e.reg, "sealpipe_pkcs11_errors_total", "kind", c.kind); got < 1 {
				t.Errorf("errors_total{kind=%q} = %v, want ≥ 1", c.kind, got)
			}
		})
	}
}

// A token whose mechanism hashes the message itself, configured as if it
// took e, signs e as a message: the self-check must catch it.
func TestSM2WrongInputFormCaught(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Message, SM2DER, Config{SM2: SM2Mechanism{Mechanism: mechSM2, Input: SM2Digest, Output: SM2DER}})
	s := e.open(t)
	_, err := s.SignContext(context.Background(), []byte("m"), sm2.DefaultSM2SignerOpts)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "Input") {
		t.Fatalf("err = %v, want ErrBadSignature naming Input", err)
	}
	e.b.cfg.SM2.SkipVerify = true
	if _, err := s.SignContext(context.Background(), []byte("m"), sm2.DefaultSM2SignerOpts); err != nil {
		t.Fatalf("with SkipVerify: %v", err)
	}
}

func TestSM2SignerOpts(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2DER, Config{})
	s := e.open(t)
	for _, c := range []struct {
		name   string
		digest []byte
		opts   crypto.SignerOpts
	}{
		{"short e", make([]byte, 31), crypto.Hash(0)},
		{"long e", make([]byte, 33), nil},
		{"SHA-256 opts", make([]byte, 32), crypto.SHA256},
		{"custom UID", []byte("m"), sm2.NewSM2SignerOption(true, []byte("alice@example"))},
		{"nil SM2 opts", []byte("m"), (*sm2.SM2SignerOption)(nil)},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.SignContext(context.Background(), c.digest, c.opts)
			if !errors.Is(err, ErrSignerOpts) {
				t.Fatalf("err = %v, want ErrSignerOpts", err)
			}
		})
	}
	if logins := e.hsm.Stats().Logins; logins != 1 {
		t.Errorf("C_Login calls = %d, want 1: bad requests must not reach the token", logins)
	}
}

// TestRelogin: the token logs the pool out (another application sharing
// the login logged out); the next signature fails with
// CKR_USER_NOT_LOGGED_IN, and the pool logs in again and retries.
func TestRelogin(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{})
	s := e.open(t)
	msg := []byte("m")
	if _, err := s.SignContext(context.Background(), msg, sm2.DefaultSM2SignerOpts); err != nil {
		t.Fatal(err)
	}
	e.hsm.Logout(fakeSlot)
	sig, err := s.SignContext(context.Background(), msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(&e.key.PublicKey, nil, msg, sig) {
		t.Error("signature after re-login does not verify")
	}
	if got := metric(t, e.reg, "sealpipe_pkcs11_logins_total", "token", fakeLabel); got != 2 {
		t.Errorf("logins_total = %v, want 2", got)
	}
	if got := metric(t, e.reg, "sealpipe_pkcs11_errors_total", "kind", kindHandle); got != 1 {
		t.Errorf("errors_total{kind=handle} = %v, want 1", got)
	}
	if st := s.Status()[0]; !st.Healthy || !st.LoggedIn {
		t.Errorf("status after re-login = %+v", st)
	}
}

// TestReconnect: the session dies under the pool; it reconnects.
func TestReconnect(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{})
	s := e.open(t)
	e.hsm.FailNext("Sign", p11.CKR_DEVICE_ERROR)
	if _, err := s.SignContext(context.Background(), []byte("m"), sm2.DefaultSM2SignerOpts); err != nil {
		t.Fatal(err)
	}
	if got := metric(t, e.reg, "sealpipe_pkcs11_errors_total", "kind", kindSession); got != 1 {
		t.Errorf("errors_total{kind=session} = %v, want 1", got)
	}
	if got := metric(t, e.reg, "sealpipe_pkcs11_logins_total", "token", fakeLabel); got != 2 {
		t.Errorf("logins_total = %v, want 2 (one per connection)", got)
	}
	// Two failures in a row exhaust the one retry.
	e.hsm.FailNext("Sign", p11.CKR_DEVICE_ERROR, p11.CKR_DEVICE_ERROR)
	_, err := s.SignContext(context.Background(), []byte("m"), sm2.DefaultSM2SignerOpts)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, p11.Error(p11.CKR_DEVICE_ERROR)) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping CKR_DEVICE_ERROR", err)
	}
	if s.Status()[0].Healthy {
		t.Error("member still healthy after failing")
	}
	if _, err := s.SignContext(context.Background(), []byte("m"), sm2.DefaultSM2SignerOpts); err != nil {
		t.Fatalf("next call: %v", err)
	}
	if !s.Status()[0].Healthy {
		t.Error("member unhealthy after a good signature")
	}
}

// TestFailover: two modules hold the key; the first token is removed,
// the second signs; the health check brings the first back.
func TestFailover(t *testing.T) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hsms := fakeDialer{}
	var uris []string
	for _, name := range []string{"hsm-a", "hsm-b"} {
		h := fakehsm.New(fakehsm.Config{Mechanism: mechSM2})
		h.AddToken(1, fakehsm.Token{Label: name, Serial: "fake0001", PIN: fakePIN})
		h.AddSM2Key(1, "seal", []byte{9}, key)
		path := fakehsm.ModulePath(t, name)
		hsms[path] = h
		uris = append(uris, "pkcs11:token="+name+";id=%09?module-path="+path)
	}
	reg := prometheus.NewRegistry()
	b, err := New(Config{Dialer: hsms, HealthInterval: -1, Registerer: reg, SM2: SM2Mechanism{Mechanism: mechSM2}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s, err := b.OpenKey(context.Background(), keys.Options{Passphrase: []byte(fakePIN)}, uris...)
	if err != nil {
		t.Fatal(err)
	}
	var a *fakehsm.HSM
	for p, h := range hsms {
		if strings.Contains(p, "hsm-a") {
			a = h
		}
	}
	a.SetRemoved(1, true)
	msg := []byte("m")
	for i := range 4 { // whichever member each call starts with
		sig, err := s.SignContext(context.Background(), msg, sm2.DefaultSM2SignerOpts)
		if err != nil {
			t.Fatalf("signature %d with hsm-a removed: %v", i, err)
		}
		if !sm2.VerifyASN1WithSM2(&key.PublicKey, nil, msg, sig) {
			t.Fatal("signature does not verify")
		}
	}
	st := s.Status()
	if st[0].Healthy || !errors.Is(st[0].Err, ErrTokenNotFound) || !st[1].Healthy {
		t.Fatalf("status = %+v, want hsm-a unhealthy (token not found), hsm-b healthy", st)
	}
	if err := b.Check(context.Background()); !errors.Is(err, ErrTokenNotFound) {
		t.Errorf("Check = %v, want ErrTokenNotFound", err)
	}
	a.SetRemoved(1, false)
	if err := b.Check(context.Background()); err != nil {
		t.Fatalf("Check after hsm-a is back: %v", err)
	}
	if st := s.Status(); !st[0].Healthy || !st[1].Healthy {
		t.Fatalf("status = %+v, want both healthy", st)
	}
}

// TestFailoverAllDown: with every member down the error says why.
func TestFailoverAllDown(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{})
	s := e.open(t)
	e.hsm.SetRemoved(fakeSlot, true)
	_, err := s.SignContext(context.Background(), []byte("m"), sm2.DefaultSM2SignerOpts)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrTokenNotFound) || !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping ErrTokenNotFound and keys.ErrKeyNotFound", err)
	}
	e.hsm.SetRemoved(fakeSlot, false)
	if _, err := s.SignContext(context.Background(), []byte("m"), sm2.DefaultSM2SignerOpts); err != nil {
		t.Fatalf("after the token is back: %v", err)
	}
}

// TestSessionCap: more signers than sessions; none fails, and no more
// sessions are open or signing at once than the cap allows.
func TestSessionCap(t *testing.T) {
	const maxSessions, signers, each = 4, 64, 8
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{MaxSessions: maxSessions})
	e.hsm.SetSignHook(func() { time.Sleep(200 * time.Microsecond) }) // let signatures overlap
	s := e.open(t)
	msg := []byte("m")
	var wg sync.WaitGroup
	errs := make(chan error, signers*each)
	for range signers {
		wg.Go(func() {
			for range each {
				sig, err := s.SignContext(context.Background(), msg, sm2.DefaultSM2SignerOpts)
				if err == nil && !sm2.VerifyASN1WithSM2(&e.key.PublicKey, nil, msg, sig) {
					err = errors.New("signature does not verify")
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := s.Status()[0]
	if st.MaxInFlight > maxSessions || st.MaxInFlight < 2 {
		t.Errorf("most signatures at once = %d, want 2…%d", st.MaxInFlight, maxSessions)
	}
	maxOpen := e.hsm.Stats().MaxOpen
	if maxOpen > maxSessions+1 { // + the control session
		t.Errorf("most sessions open at once = %d, want ≤ %d", maxOpen, maxSessions+1)
	}
	if got := metric(t, e.reg, "sealpipe_pkcs11_signatures_total", "token", fakeLabel); got != signers*each {
		t.Errorf("signatures_total = %v, want %d", got, signers*each)
	}
	if got := metric(t, e.reg, "sealpipe_pkcs11_sessions_in_flight", "token", fakeLabel); got != 0 {
		t.Errorf("sessions_in_flight = %v after all returned, want 0", got)
	}
	// Each signature observed one wait, plus the one of Open.
	if got := metric(t, e.reg, "sealpipe_pkcs11_session_wait_seconds", "token", fakeLabel); got != signers*each+1 {
		t.Errorf("session_wait_seconds count = %v, want %d", got, signers*each+1)
	}
	t.Logf("most at once: %d signatures, %d sessions", st.MaxInFlight, maxOpen)
}

// TestWaitHonoursContext: with the only session busy, a signature waits
// until its context ends.
func TestWaitHonoursContext(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{MaxSessions: 1, WaitTimeout: 30 * time.Millisecond})
	s := e.open(t)
	release := make(chan struct{})
	started := make(chan struct{})
	var once sync.Once
	e.hsm.SetSignHook(func() {
		once.Do(func() { close(started) })
		<-release
	})
	done := make(chan error)
	go func() {
		_, err := s.SignContext(context.Background(), []byte("first"), sm2.DefaultSM2SignerOpts)
		done <- err
	}()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.SignContext(ctx, []byte("second"), sm2.DefaultSM2SignerOpts)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("SignContext returned after %v, not at its deadline", d)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := s.SignContext(ctx2, []byte("third"), sm2.DefaultSM2SignerOpts); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: err = %v, want context.Canceled", err)
	}
	// Sign has no context: Config.WaitTimeout bounds it.
	if _, err := s.Sign(rand.Reader, []byte("fourth"), sm2.DefaultSM2SignerOpts); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sign: err = %v, want context.DeadlineExceeded after WaitTimeout", err)
	}
	if got := metric(t, e.reg, "sealpipe_pkcs11_errors_total", "kind", kindTimeout); got != 2 {
		t.Errorf("errors_total{kind=timeout} = %v, want 2", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the signature holding the session: %v", err)
	}
	if !s.Status()[0].Healthy {
		t.Error("a timeout waiting marked the member unhealthy")
	}
}

// TestWrongPINNotRetried: a refused PIN is reported and not tried again
// by later calls or health checks; opening again with the right PIN works.
func TestWrongPINNotRetried(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{})
	uri := "pkcs11:token=" + fakeLabel + ";object=seal?module-path=" + e.path
	_, err := e.b.OpenKey(context.Background(), keys.Options{Passphrase: []byte("000000")}, uri)
	if !errors.Is(err, ErrLogin) || !errors.Is(err, p11.Error(p11.CKR_PIN_INCORRECT)) {
		t.Fatalf("err = %v, want ErrLogin wrapping CKR_PIN_INCORRECT", err)
	}
	if strings.Contains(err.Error(), "000000") {
		t.Fatalf("error %q reveals the PIN", err)
	}
	for range 3 {
		e.b.Check(context.Background())
	}
	if logins := e.hsm.Stats().Logins; logins != 1 {
		t.Fatalf("C_Login calls = %d, want 1: a refused PIN must not be tried again", logins)
	}
	s, err := e.b.OpenKey(context.Background(), keys.Options{Passphrase: []byte(fakePIN)}, uri)
	if err != nil {
		t.Fatalf("open with the right PIN: %v", err)
	}
	if _, err := s.SignContext(context.Background(), []byte("m"), sm2.DefaultSM2SignerOpts); err != nil {
		t.Fatal(err)
	}
	// The token is in use with one PIN; another is refused without a login.
	if _, err := e.b.OpenKey(context.Background(), keys.Options{Passphrase: []byte("999999")}, uri); !errors.Is(err, ErrLogin) {
		t.Fatalf("another PIN for a token in use: err = %v, want ErrLogin", err)
	}
	if got := metric(t, e.reg, "sealpipe_pkcs11_errors_total", "kind", kindLogin); got != 1 {
		t.Errorf("errors_total{kind=login} = %v, want 1", got)
	}
}

// TestHealthLoop: the background check notices a token going and coming
// back without any signature.
func TestHealthLoop(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{HealthInterval: 5 * time.Millisecond})
	s := e.open(t)
	waitFor := func(healthy bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for s.Status()[0].Healthy != healthy {
			if time.Now().After(deadline) {
				t.Fatalf("member never became healthy=%v: %+v", healthy, s.Status()[0])
			}
			time.Sleep(time.Millisecond)
		}
	}
	e.hsm.SetRemoved(fakeSlot, true)
	waitFor(false)
	e.hsm.SetRemoved(fakeSlot, false)
	waitFor(true)
	e.hsm.Logout(fakeSlot)
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, e.reg, "sealpipe_pkcs11_logins_total", "token", fakeLabel) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the health check did not log in again after a logout")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOpenErrors(t *testing.T) {
	// Each case gets its own Backend: keys on a token share its login, so
	// a key opened without a PIN on a token logged in already would open.
	const path = "MODULE"
	mod := "?module-path=" + path + "&pin-value=" + fakePIN
	for _, c := range []struct {
		name, uri string
		want      []error
	}{
		{"missing key", "pkcs11:token=" + fakeLabel + ";object=nope" + mod, []error{keys.ErrKeyNotFound}},
		{"missing token", "pkcs11:token=nope;object=seal" + mod, []error{ErrTokenNotFound, keys.ErrKeyNotFound}},
		{"no token attribute", "pkcs11:object=seal" + mod, []error{ErrBadURI}},
		{"no object attribute", "pkcs11:token=" + fakeLabel + mod, []error{ErrBadURI}},
		{"public key type", "pkcs11:token=" + fakeLabel + ";object=seal;type=public" + mod, []error{ErrBadURI}},
		{"unknown attribute", "pkcs11:token=" + fakeLabel + ";object=seal;lable=x" + mod, []error{ErrBadURI}},
		{"no module", "pkcs11:token=" + fakeLabel + ";object=seal", []error{ErrBadURI}},
		{"missing module", "pkcs11:token=t;object=seal?module-path=/nonexistent/lib.so", []error{ErrBadURI}},
		{"relative module", "pkcs11:token=t;object=seal?module-path=lib.so", []error{ErrBadURI}},
		{"no PIN", "pkcs11:token=" + fakeLabel + ";object=seal?module-path=" + path, []error{ErrLogin}},
		{"missing pin-source", "pkcs11:token=" + fakeLabel + ";object=seal?module-path=" + path + "&pin-source=/nonexistent/pin", []error{ErrLogin}},
		{"serial mismatch", "pkcs11:token=" + fakeLabel + ";serial=other;object=seal" + mod, []error{ErrTokenNotFound}},
		{"library mismatch", "pkcs11:token=" + fakeLabel + ";library-description=other;object=seal" + mod, []error{ErrTokenNotFound}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{})
			_, err := e.b.OpenKey(context.Background(), keys.Options{}, strings.ReplaceAll(c.uri, path, e.path))
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want %v", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), fakePIN) {
				t.Errorf("error %q reveals the PIN", err)
			}
		})
	}
}

func TestOpenMatchesAttributes(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{})
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(fakePIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{
		"pkcs11:token=" + fakeLabel + ";object=seal?module-path=" + e.path + "&pin-value=" + fakePIN,
		"pkcs11:serial=" + fakeSerial + ";id=%01?module-path=" + e.path + "&pin-source=" + pinFile,
		"pkcs11:slot-id=7;object=seal;type=private?module-path=" + e.path + "&pin-source=file:" + pinFile,
		"pkcs11:token=" + fakeLabel + ";manufacturer=sealpipe;model=fake;slot-description=fake%20slot%207;library-version=1;object=seal?module-path=" + e.path + "&pin-value=" + fakePIN,
		"pkcs11:token=" + fakeLabel + ";object=seal?module-name=fakehsm&pin-value=" + fakePIN,
	} {
		t.Run(uri, func(t *testing.T) {
			e.b.cfg.ModuleDirs = []string{filepath.Dir(e.path)}
			s, err := e.b.OpenKey(context.Background(), keys.Options{}, uri)
			if err != nil {
				t.Fatal(err)
			}
			if !equalKeys(s.Public(), &e.key.PublicKey) {
				t.Error("opened another key")
			}
		})
	}
}

// TestKeysOpen: keys.Open reaches the default Backend.
func TestKeysOpen(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{})
	prev := Default()
	SetDefault(e.b)
	t.Cleanup(func() { SetDefault(prev) })
	s, err := keys.Open(context.Background(), e.uri(), keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s != e.open(t) {
		t.Error("keys.Open and OpenKey gave different signers for the same URI")
	}
	msg := []byte("m")
	sig, err := s.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(s.Public().(*ecdsa.PublicKey), nil, msg, sig) {
		t.Error("signature does not verify")
	}
	if _, err := keys.Open(context.Background(), "pkcs11:token=x", keys.Options{}); !errors.Is(err, ErrBadURI) {
		t.Errorf("keys.Open of a URI naming no key: err = %v, want ErrBadURI", err)
	}
}

func TestClosed(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{})
	s := e.open(t)
	if err := e.b.Close(); err != nil {
		t.Fatal(err)
	}
	if open := e.hsm.Stats().Open; open != 0 {
		t.Errorf("%d sessions still open after Close", open)
	}
	if _, err := s.SignContext(context.Background(), []byte("m"), sm2.DefaultSM2SignerOpts); !errors.Is(err, ErrClosed) {
		t.Errorf("Sign after Close: err = %v, want ErrClosed", err)
	}
	if _, err := e.b.OpenKey(context.Background(), keys.Options{}, e.uri()); !errors.Is(err, ErrClosed) {
		t.Errorf("OpenKey after Close: err = %v, want ErrClosed", err)
	}
	if err := e.b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestMetricsShared(t *testing.T) {
	reg := prometheus.NewRegistry()
	for range 2 {
		b, err := New(Config{Registerer: reg, HealthInterval: -1})
		if err != nil {
			t.Fatalf("second Backend on one registry: %v", err)
		}
		b.Close()
	}
	if err := reg.Register(prometheus.NewCounter(prometheus.CounterOpts{Name: "sealpipe_pkcs11_errors_total", Help: "clash"})); err == nil {
		t.Fatal("registry accepted a clashing collector: the test cannot tell")
	}
	clash := prometheus.NewRegistry()
	clash.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "sealpipe_pkcs11_errors_total", Help: "clash"}))
	if _, err := New(Config{Registerer: clash}); err == nil {
		t.Fatal("New with a clashing registry: no error")
	}
}

// TestAllowedModules: with an allow-list, a key URI naming any other
// module — the shared library an attacker placed — is refused before it is
// loaded; the listed module, also reached through a symbolic link, opens.
func TestAllowedModules(t *testing.T) {
	e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{})
	link := filepath.Join(t.TempDir(), "link.so")
	if err := os.Symlink(e.path, link); err != nil {
		t.Fatal(err)
	}
	evil := fakehsm.ModulePath(t, "evil")
	for _, tc := range []struct {
		name    string
		allowed []string
		module  string
		want    error
	}{
		{"listed", []string{e.path}, e.path, nil},
		{"listed through a link", []string{link}, e.path, nil},
		{"reached through a link", []string{e.path}, link, nil},
		{"not listed", []string{e.path}, evil, ErrModuleNotAllowed},
		{"empty list allows nothing", []string{}, e.path, ErrModuleNotAllowed},
		{"no list allows any", nil, e.path, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(Config{AllowedModules: tc.allowed, HealthInterval: -1, Dialer: fakeDialer{e.path: e.hsm, evil: e.hsm}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			uri := "pkcs11:token=" + fakeLabel + ";object=seal?module-path=" + tc.module + "&pin-value=" + fakePIN
			_, err = b.OpenKey(context.Background(), keys.Options{}, uri)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("OpenKey = %v, want %v", err, tc.want)
			}
		})
	}
}
