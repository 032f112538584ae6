package pkcs11

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	p11 "github.com/miekg/pkcs11"
)

// slot is one token the Backend uses: its connection, its session cap and
// its login. Every key on the token shares it.
type slot struct {
	b    *Backend
	path string // module
	uri  *URI   // the first URI naming the token; its token attributes select it
	name string // for messages and metric labels
	sem  chan struct{}
	m    slotMetrics

	inFlight, maxInFlight atomic.Int64

	mu       sync.Mutex
	pin      string
	hasPIN   bool
	conn     *conn
	dialing  *dialCall
	loginErr error // the token refused the PIN: do not try it again
	closed   bool

	// pinFile is the pin-source file pin was read from ("" for a PIN
	// from pin-value or keys.Options), pinInfo that file as it was then.
	// refused is the last PIN the token refused with CKR_PIN_INCORRECT:
	// a PIN read again from pinFile is tried only if it differs, so that
	// no PIN is ever tried twice in a row (tokens lock PINs after a few
	// failures).
	pinFile string
	pinInfo fs.FileInfo
	refused string
}

// pinSource is where a PIN came from: a pin-source file (and the file as
// it was when read), or nowhere re-readable.
type pinSource struct {
	file string
	info fs.FileInfo
}

// dialCall is a dial in progress; concurrent callers share its result.
type dialCall struct {
	done chan struct{}
	err  error
}

// conn is one connection to the token, shared by the signatures in
// progress on it. The slot replaces it when the token goes away.
type conn struct {
	Conn
	s *slot

	refs    int  // guarded by s.mu: calls using the connection
	retired bool // guarded by s.mu: replaced; close when refs drops to 0
	closing bool // guarded by s.mu

	// ctrl is the control session: it keeps the login alive and serves
	// lookups and health checks, one at a time.
	ctrlMu sync.Mutex
	ctrl   p11.SessionHandle

	// idle holds open sessions for SM2 signatures.
	idle chan p11.SessionHandle

	// epoch counts logins: object handles found under an older epoch may
	// have gone stale (tokens drop private handles on logout).
	epoch    atomic.Uint64
	loggedIn atomic.Bool
}

// setPIN records the PIN a new URI for the token brings, read from src. A
// PIN the token refused is replaced by another (the same one again is
// refused without a login); so is one read earlier from the same
// pin-source file, which has changed since (keys change-pin renames the
// new PIN over it). Another PIN for a token already in use is an error,
// since PKCS #11 keeps one login per token and application.
func (s *slot) setPIN(pin string, ok bool, src pinSource) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !ok:
		return nil
	case s.loginErr != nil && s.refused != "" && subtle.ConstantTimeCompare([]byte(pin), []byte(s.refused)) == 1:
		// Opening the key again with the PIN the token refused (a
		// caller retrying, or a cache that keeps no failed open) logs in
		// with it no more.
		return s.loginErr
	case s.loginErr != nil || !s.hasPIN:
		s.pin, s.hasPIN, s.loginErr, s.pinFile, s.pinInfo = pin, true, nil, src.file, src.info
		return nil
	case subtle.ConstantTimeCompare([]byte(pin), []byte(s.pin)) != 1:
		if src.file != "" && src.file == s.pinFile {
			s.pin, s.pinInfo = pin, src.info
			return nil
		}
		return fmt.Errorf("%w: token %q is already in use with another PIN", ErrLogin, s.name)
	}
	return nil
}

// pinIncorrect reports a login the token refused for its PIN.
func pinIncorrect(err error) bool { return errors.Is(err, p11.Error(p11.CKR_PIN_INCORRECT)) }

// rereadPIN is called when the token refused failed, the slot's PIN: it
// records the refusal and reads the pin-source file again, once. It
// returns the PIN now there if it differs from failed — the PIN changed
// under the running pool (keys change-pin) — for one more login.
func (s *slot) rereadPIN(failed string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused = failed
	return s.readPINLocked()
}

// pinFileChangedLocked reports, for a slot whose PIN the token refused, whether
// its pin-source file changed since it was last read and now holds
// another PIN than the one refused, which then becomes the slot's PIN. A
// stat is all it costs while the file stays as it is.
func (s *slot) pinFileChangedLocked() bool {
	if s.pinFile == "" {
		return false
	}
	info, err := os.Stat(s.pinFile)
	if err != nil || s.pinInfo != nil && os.SameFile(info, s.pinInfo) && info.Size() == s.pinInfo.Size() && info.ModTime().Equal(s.pinInfo.ModTime()) {
		return false
	}
	_, ok := s.readPINLocked()
	return ok
}

// readPINLocked reads the pin-source file: if it holds a PIN other than
// the one last refused, that becomes the slot's PIN.
func (s *slot) readPINLocked() (string, bool) {
	if s.pinFile == "" {
		return "", false
	}
	info, err := os.Stat(s.pinFile)
	if err != nil {
		return "", false
	}
	pin, err := readPINSource(s.pinFile)
	if err != nil {
		return "", false
	}
	s.pinInfo = info
	if subtle.ConstantTimeCompare([]byte(pin), []byte(s.refused)) == 1 {
		return "", false
	}
	s.pin, s.hasPIN = pin, true
	return pin, true
}

// acquire waits for a free session unit, honouring ctx.
func (s *slot) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		s.m.wait.Observe(0)
		return nil
	default:
	}
	start := time.Now()
	select {
	case s.sem <- struct{}{}:
		s.m.wait.Observe(time.Since(start).Seconds())
		return nil
	case <-ctx.Done():
		s.m.wait.Observe(time.Since(start).Seconds())
		return fmt.Errorf("pkcs11: waiting for a session on token %q: %w", s.name, ctx.Err())
	}
}

// tryAcquire takes a session unit if one is free now.
func (s *slot) tryAcquire() bool {
	select {
	case s.sem <- struct{}{}:
		s.m.wait.Observe(0)
		return true
	default:
		return false
	}
}

func (s *slot) release() { <-s.sem }

// begin and end bracket a signature for the in-flight gauge.
func (s *slot) begin() {
	n := s.inFlight.Add(1)
	for {
		max := s.maxInFlight.Load()
		if n <= max || s.maxInFlight.CompareAndSwap(max, n) {
			break
		}
	}
	s.m.inFlight.Inc()
}

func (s *slot) end() {
	s.inFlight.Add(-1)
	s.m.inFlight.Dec()
}

// get returns the slot's connection, dialing and logging in if there is
// none, and holds it until put. Callers hold a session unit.
func (s *slot) get(ctx context.Context) (*conn, error) {
	for {
		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			return nil, ErrClosed
		case s.loginErr != nil && s.pinFileChangedLocked():
			// The PIN the token refused was replaced in its file: try
			// the new one, once (it is refused in turn if it fails).
			s.loginErr = nil
			s.mu.Unlock()
			continue
		case s.loginErr != nil:
			err := s.loginErr
			s.mu.Unlock()
			return nil, err
		case s.conn != nil:
			c := s.conn
			c.refs++
			s.mu.Unlock()
			return c, nil
		case s.dialing != nil:
			call := s.dialing
			s.mu.Unlock()
			select {
			case <-call.done:
				// Share the dial's failure, unless it was the dialer's
				// context that ended: then dial again with ours.
				if err := call.err; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
					return nil, err
				}
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("pkcs11: waiting for a connection to token %q: %w", s.name, ctx.Err())
			}
		}
		call := &dialCall{done: make(chan struct{})}
		s.dialing = call
		pin, hasPIN := s.pin, s.hasPIN
		// Count the connection before shutdown can see the slot closed, so
		// that Backend.Close waits for it.
		s.b.conns.Add(1)
		s.mu.Unlock()

		c, err := s.dial(ctx, pin, hasPIN)
		if err != nil && c == nil {
			s.b.conns.Done()
		}

		s.mu.Lock()
		s.dialing = nil
		call.err = err
		close(call.done)
		if err == nil && s.closed {
			err = ErrClosed
		}
		if err != nil {
			if classify(err) == classLogin {
				s.loginErr = err
			}
			s.mu.Unlock()
			if c != nil {
				c.close()
			}
			s.b.metrics.fail(err)
			return nil, err
		}
		c.refs = 1
		s.conn = c
		s.mu.Unlock()
		return c, nil
	}
}

// put ends a use of c begun by get.
func (s *slot) put(c *conn) {
	s.mu.Lock()
	c.refs--
	closeNow := c.retired && c.refs == 0 && !c.closing
	if closeNow {
		c.closing = true
	}
	s.mu.Unlock()
	if closeNow {
		c.close()
	}
}

// retire takes c out of service: the next get dials again. c closes once
// its last user puts it. Callers must not hold c.
func (s *slot) retire(c *conn) {
	s.mu.Lock()
	if s.conn == c {
		s.conn = nil
	}
	c.retired = true
	closeNow := c.refs == 0 && !c.closing
	if closeNow {
		c.closing = true
	}
	s.mu.Unlock()
	if closeNow {
		c.close()
	}
}

// shutdown closes the slot for good.
func (s *slot) shutdown() {
	s.mu.Lock()
	s.closed = true
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		s.retire(c)
	}
}

// dial connects to the token, opens the control session and logs in. On
// error it may return the connection, for the caller to close.
func (s *slot) dial(ctx context.Context, pin string, hasPIN bool) (*conn, error) {
	cc, err := s.b.cfg.Dialer.Dial(ctx, s.path, s.uri, s.b.cfg.MaxSessions)
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: cc, s: s, idle: make(chan p11.SessionHandle, s.b.cfg.MaxSessions)}
	if c.ctrl, err = cc.OpenSession(cc.SlotID(), p11.CKF_SERIAL_SESSION); err != nil {
		c.ctrl = invalidSession
		return c, opError("C_OpenSession", s.name, err)
	}
	if err := c.login(pin, hasPIN); err != nil {
		return c, err
	}
	return c, nil
}

// invalidSession marks a control session that failed to open.
const invalidSession = ^p11.SessionHandle(0)

// close closes the connection's sessions, then the connection.
func (c *conn) close() {
	defer c.s.b.conns.Done()
	for drained := false; !drained; {
		select {
		case h := <-c.idle:
			_ = c.CloseSession(h)
		default:
			drained = true
		}
	}
	if c.ctrl != invalidSession {
		_ = c.CloseSession(c.ctrl)
	}
	_ = c.Conn.Close()
}

// login logs the user in on the control session unless the session is
// already in a user state: the login belongs to the token and the
// application, so one is enough for every session, and another
// connection or process may have made it.
func (c *conn) login(pin string, hasPIN bool) error {
	c.ctrlMu.Lock()
	defer c.ctrlMu.Unlock()
	return c.loginLocked(pin, hasPIN)
}

func (c *conn) loginLocked(pin string, hasPIN bool) error {
	name := c.s.name
	info, err := c.GetSessionInfo(c.ctrl)
	if err != nil {
		return opError("C_GetSessionInfo", name, err)
	}
	if info.State == p11.CKS_RO_USER_FUNCTIONS || info.State == p11.CKS_RW_USER_FUNCTIONS {
		if !c.loggedIn.Swap(true) {
			// Logged in by someone else since (or before) our last look:
			// handles we hold may predate it.
			c.epoch.Add(1)
		}
		return nil
	}
	c.loggedIn.Store(false)
	if !hasPIN {
		ti, err := c.GetTokenInfo(c.SlotID())
		if err != nil {
			return opError("C_GetTokenInfo", name, err)
		}
		if ti.Flags&p11.CKF_LOGIN_REQUIRED == 0 {
			c.epoch.Add(1)
			return nil
		}
		return fmt.Errorf("%w: token %q needs a login and no PIN is set: add pin-value= or pin-source= to the URI, or pass keys.Options.Passphrase", ErrLogin, name)
	}
	err = c.Login(c.ctrl, p11.CKU_USER, pin)
	if pinIncorrect(err) {
		// The PIN may have changed under the running pool (keys
		// change-pin): read the pin-source file again, and log in once
		// more only if it holds another PIN.
		if newPIN, ok := c.s.rereadPIN(pin); ok {
			if err = c.Login(c.ctrl, p11.CKU_USER, newPIN); pinIncorrect(err) {
				c.s.mu.Lock()
				c.s.refused = newPIN
				c.s.mu.Unlock()
			}
		}
	}
	if err != nil && !errors.Is(err, p11.Error(p11.CKR_USER_ALREADY_LOGGED_IN)) {
		return opError("C_Login", name, err)
	}
	c.loggedIn.Store(true)
	c.epoch.Add(1)
	c.s.m.logins.Inc()
	return nil
}

// probe checks that the token is still there and the pool logged in,
// logging in again if the token logged it out. A refused PIN becomes the
// slot's sticky login error.
func (c *conn) probe() error {
	c.s.mu.Lock()
	pin, hasPIN := c.s.pin, c.s.hasPIN
	c.s.mu.Unlock()
	c.ctrlMu.Lock()
	defer c.ctrlMu.Unlock()
	if _, err := c.GetTokenInfo(c.SlotID()); err != nil {
		return opError("C_GetTokenInfo", c.s.name, err)
	}
	err := c.loginLocked(pin, hasPIN)
	if err != nil && classify(err) == classLogin {
		c.s.mu.Lock()
		c.s.loginErr = err
		c.s.mu.Unlock()
	}
	return err
}

// session returns an open session for an SM2 signature.
func (c *conn) session() (p11.SessionHandle, error) {
	select {
	case h := <-c.idle:
		return h, nil
	default:
	}
	h, err := c.OpenSession(c.SlotID(), p11.CKF_SERIAL_SESSION)
	if err != nil {
		return 0, opError("C_OpenSession", c.s.name, err)
	}
	return h, nil
}

// putSession returns h for reuse unless err says the session is gone.
func (c *conn) putSession(h p11.SessionHandle, err error) {
	if err != nil && classify(err) == classConn {
		_ = c.CloseSession(h)
		return
	}
	select {
	case c.idle <- h:
	default:
		_ = c.CloseSession(h)
	}
}
