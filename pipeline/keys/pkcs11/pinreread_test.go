package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	p11 "github.com/miekg/pkcs11"

	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/keys/keeper"
)

// loginCounter wraps a Dialer: it counts every C_Login the pool makes and,
// if pin is set, plays a token whose user PIN another application changed
// (C_SetPIN): a login with any other PIN is CKR_PIN_INCORRECT, one with it
// logs in with the wrapped token's own PIN.
type loginCounter struct {
	Dialer
	logins atomic.Int64
	mu     sync.Mutex
	pin    string // "" : the wrapped token's PIN is its PIN
	real   string
}

func (d *loginCounter) setPIN(pin string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pin = pin
}

func (d *loginCounter) Dial(ctx context.Context, path string, u *URI, maxSessions int) (Conn, error) {
	c, err := d.Dialer.Dial(ctx, path, u, maxSessions)
	if err != nil {
		return nil, err
	}
	return &loginConn{c, d}, nil
}

type loginConn struct {
	Conn
	d *loginCounter
}

func (c *loginConn) Login(sh p11.SessionHandle, userType uint, pin string) error {
	c.d.logins.Add(1)
	c.d.mu.Lock()
	want, real := c.d.pin, c.d.real
	c.d.mu.Unlock()
	if want != "" {
		if pin != want {
			return p11.Error(p11.CKR_PIN_INCORRECT)
		}
		pin = real
	}
	return c.Conn.Login(sh, userType, pin)
}

// writePIN replaces the PIN file as keys change-pin does: a new file
// renamed over it.
func writePIN(t *testing.T, path, pin string) {
	t.Helper()
	tmp := path + ".pending"
	if err := os.WriteFile(tmp, []byte(pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestPINReread: the token's PIN changes under a running pool whose key
// takes its PIN from a pin-source file, and the pool has to log in again
// (another application logged the token out). The pool reads the file
// again when the token refuses the PIN, and logs in with what it holds
// only if that is another PIN; a PIN the token refused is never tried
// again, by signatures, health checks or opening the key again, until
// the file holds another one. Each step counts the C_Login calls.
func TestPINReread(t *testing.T) {
	const newPIN, wrongPIN, otherWrong = "4826-9137", "1111-2222", "3333-4444"
	type step struct {
		do     string // "token PIN", "file", "logout", "sign", "check", "open", "open2"
		pin    string // for "token PIN" and "file"
		err    error  // for sign and open: nil means success
		logins int64  // C_Login calls the step makes
	}
	for _, c := range []struct {
		name  string
		value bool // the PIN from pin-value, not a file
		steps []step
	}{
		{name: "changed, then the pool logs in again", steps: []step{
			{do: "token PIN", pin: newPIN}, {do: "file", pin: newPIN}, {do: "logout"},
			{do: "sign", logins: 2}, // the old PIN refused, the file read again, the new PIN
			{do: "sign"}, {do: "check"},
		}},
		{name: "the token changed, the file not yet", steps: []step{
			{do: "token PIN", pin: newPIN}, {do: "logout"},
			{do: "sign", err: ErrLogin, logins: 1}, // the file holds the refused PIN: no second login
			{do: "sign", err: ErrLogin}, {do: "check"}, {do: "check"}, {do: "open", err: ErrLogin},
			{do: "file", pin: newPIN},
			{do: "sign", logins: 1}, // the file changed: its PIN, once
			{do: "sign"},
		}},
		{name: "the file holds a wrong PIN", steps: []step{
			{do: "token PIN", pin: newPIN}, {do: "file", pin: wrongPIN}, {do: "logout"},
			{do: "sign", err: ErrLogin, logins: 2}, // the old PIN, then the file's: both refused
			{do: "sign", err: ErrLogin}, {do: "check"}, {do: "open", err: ErrLogin},
			{do: "file", pin: wrongPIN}, // rewritten, the same PIN: not tried again
			{do: "sign", err: ErrLogin},
			{do: "file", pin: otherWrong},
			{do: "sign", err: ErrLogin, logins: 1},
			{do: "sign", err: ErrLogin},
			{do: "file", pin: newPIN},
			{do: "sign", logins: 1},
		}},
		{name: "a PIN in the URI is not read again", value: true, steps: []step{
			{do: "token PIN", pin: newPIN}, {do: "logout"},
			{do: "sign", err: ErrLogin, logins: 1},
			{do: "sign", err: ErrLogin}, {do: "check"}, {do: "open", err: ErrLogin},
		}},
		{name: "another key of the token opened after the change", steps: []step{
			{do: "token PIN", pin: newPIN}, {do: "file", pin: newPIN},
			{do: "open2"}, // the same token, the same file, its new PIN: no conflict
			{do: "logout"},
			{do: "sign", logins: 1}, // the pool has the new PIN already
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newFakeEnv(t, mechSM2, SM2Digest, SM2Raw, Config{})
			d := &loginCounter{Dialer: fakeDialer{e.path: e.hsm}, real: fakePIN}
			e.b.Close()
			var err error
			if e.b, err = New(Config{Dialer: d, HealthInterval: -1, SM2: SM2Mechanism{Mechanism: mechSM2}}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.b.Close() })
			pinFile := filepath.Join(t.TempDir(), "hsm.pin")
			writePIN(t, pinFile, fakePIN)
			base := "pkcs11:token=" + fakeLabel + ";object=seal?module-path=" + e.path
			uri := base + "&pin-source=file:" + pinFile
			if c.value {
				uri = base + "&pin-value=" + fakePIN
			}
			s, err := e.b.OpenKey(context.Background(), keys.Options{}, uri)
			if err != nil {
				t.Fatal(err)
			}
			if d.logins.Load() != 1 {
				t.Fatalf("open: %d logins", d.logins.Load())
			}
			for i, st := range c.steps {
				before := d.logins.Load()
				var err error
				switch st.do {
				case "token PIN":
					d.setPIN(st.pin)
				case "file":
					writePIN(t, pinFile, st.pin)
				case "logout":
					e.hsm.Logout(fakeSlot)
				case "sign":
					_, err = s.SignContext(context.Background(), []byte("m"), sm2.DefaultSM2SignerOpts)
				case "check":
					e.b.Check(context.Background())
				case "open":
					_, err = e.b.OpenKey(context.Background(), keys.Options{}, uri)
				case "open2":
					var s2 *Signer
					if s2, err = e.b.OpenKey(context.Background(), keys.Options{}, "pkcs11:token="+fakeLabel+";id=%01?module-path="+e.path+"&pin-source=file:"+pinFile); err == nil {
						_, err = s2.SignContext(context.Background(), []byte("m"), sm2.DefaultSM2SignerOpts)
					}
				}
				if st.do == "sign" || st.do == "open" || st.do == "open2" {
					if (st.err == nil) != (err == nil) || !errors.Is(err, st.err) {
						t.Fatalf("step %d (%s): err = %v, want %v", i, st.do, err, st.err)
					}
				}
				if got := d.logins.Load() - before; got != st.logins {
					t.Fatalf("step %d (%s): %d C_Login calls, want %d", i, st.do, got, st.logins)
				}
			}
		})
	}
}

// TestSoftHSMPINChangedUnderPool: a SoftHSM2 token's PIN is changed by
// keeper.ChangePIN in another process — what sealpipe keys change-pin
// does: C_SetPIN, then the new PIN renamed over the pin-source file —
// while this process's pool holds a key opened with the old PIN. When
// the pool has to log in again it reads the file again and signs on, and
// a key of the token opened afterwards through the same file signs too.
// A PIN file behind the token's PIN costs one refused login, not more,
// until it catches up.
func TestSoftHSMPINChangedUnderPool(t *testing.T) {
	const label, newPIN = "pinchange", "4826-9137"
	h := newSoftHSM(t, label)
	h.generate(label, "EC:prime256v1", "seal", 1)
	h.generate(label, "EC:prime256v1", "other", 2)
	pinFile := filepath.Join(t.TempDir(), "hsm.pin")
	writePIN(t, pinFile, softhsmPIN)
	d := &loginCounter{Dialer: Crypto11Dialer{}}
	b, reg := newBackend(t, Config{Dialer: d, Module: softhsmLib, AllowedModules: []string{softhsmLib}})
	ctx := context.Background()
	uri := func(object string) string {
		return "pkcs11:token=" + label + ";object=" + object + "?pin-source=file:" + pinFile
	}
	s, err := b.OpenKey(ctx, keys.Options{}, uri("seal"))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(s *Signer) error {
		digest := sha256Sum([]byte("after the PIN change"))
		sig, err := s.SignContext(ctx, digest, crypto.SHA256)
		if err == nil && !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest, sig) {
			return errors.New("signature does not verify")
		}
		return err
	}
	if err := sign(s); err != nil {
		t.Fatal(err)
	}

	// keys change-pin, in another process (this one holds the login).
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperChangePIN$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SEALPIPE_TEST_CHANGE_PIN="+pinFile, "SEALPIPE_TEST_NEW_PIN="+newPIN, "SEALPIPE_TEST_TOKEN=pkcs11:token="+label)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("change-pin in another process: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(pinFile); string(b) != newPIN+"\n" {
		t.Fatalf("the PIN file holds %q after the change", b)
	}

	// The pool's sessions go away (as when a network HSM or its
	// connection restarts): it connects again, which makes SoftHSM2 read
	// the token again (it does in C_Initialize only), and logs in with
	// the PIN the file holds now.
	h.closeSessions(label)
	before := d.logins.Load()
	if err := sign(s); err != nil {
		t.Fatalf("a signature after the PIN change: %v", err)
	}
	if got := d.logins.Load() - before; got != 2 {
		t.Errorf("%d C_Login calls, want 2: the old PIN refused, then the new one", got)
	}
	if got := metric(t, reg, "sealpipe_pkcs11_logins_total", "token", label); got != 2 {
		t.Errorf("logins_total = %v, want 2", got)
	}
	// A key of the token opened now, through the same file, with its new PIN.
	s2, err := b.OpenKey(ctx, keys.Options{}, uri("other"))
	if err != nil {
		t.Fatalf("another key of the token after the change: %v", err)
	}
	if err := sign(s2); err != nil {
		t.Fatal(err)
	}

	// The token's PIN changes again and the file is not (yet) changed: one
	// refused login (the file read again holds the same PIN), then none,
	// however often the pool signs or checks.
	const thirdPIN = "7391-5208"
	h.run(h.p11tool, "--module", softhsmLib, "--token-label", label, "--login", "--pin", newPIN, "--change-pin", "--new-pin", thirdPIN)
	h.closeSessions(label)
	before = d.logins.Load()
	for range 5 {
		if err := sign(s); !errors.Is(err, ErrLogin) || !errors.Is(err, p11.Error(p11.CKR_PIN_INCORRECT)) {
			t.Fatalf("the file behind the token: %v, want ErrLogin wrapping CKR_PIN_INCORRECT", err)
		}
		b.Check(ctx)
		if _, err := b.OpenKey(ctx, keys.Options{}, uri("seal")); !errors.Is(err, ErrLogin) {
			t.Fatalf("opening the key again: %v, want ErrLogin", err)
		}
	}
	if got := d.logins.Load() - before; got != 1 {
		t.Fatalf("%d C_Login calls, want 1: a refused PIN is not tried again", got)
	}
	// The file catches up: the next signature logs in once and signs.
	writePIN(t, pinFile, thirdPIN)
	before = d.logins.Load()
	if err := sign(s); err != nil {
		t.Fatalf("after the file caught up: %v", err)
	}
	if got := d.logins.Load() - before; got != 1 {
		t.Errorf("%d C_Login calls, want 1", got)
	}
}

// TestHelperChangePIN is TestSoftHSMPINChangedUnderPool's other process:
// keeper.ChangePIN on the token, as sealpipe keys change-pin runs it.
func TestHelperChangePIN(t *testing.T) {
	pinFile := os.Getenv("SEALPIPE_TEST_CHANGE_PIN")
	if pinFile == "" {
		t.Skip("run by TestSoftHSMPINChangedUnderPool")
	}
	b, err := New(Config{Module: softhsmLib, HealthInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tok := tokenOf{b, os.Getenv("SEALPIPE_TEST_TOKEN")}
	if _, err := keeper.ChangePIN(context.Background(), keeper.PINChange{Token: tok, PINFile: pinFile, New: os.Getenv("SEALPIPE_TEST_NEW_PIN")}); err != nil {
		t.Fatal(err)
	}
}

// tokenOf is a token of b as keeper.ChangePIN takes it.
type tokenOf struct {
	b   *Backend
	uri string
}

func (t tokenOf) SetPIN(ctx context.Context, old, new string) error {
	return t.b.ChangePIN(ctx, t.uri, old, new)
}
func (t tokenOf) Login(ctx context.Context, pin string) error { return t.b.Login(ctx, t.uri, pin) }

// closeSessions closes every session this process has on the token
// (C_CloseAllSessions), with a module handle of its own, as a token or
// library restart would.
func (h *softHSM) closeSessions(label string) {
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
	if err := m.CloseAllSessions(slot); err != nil {
		h.t.Fatal(err)
	}
}
