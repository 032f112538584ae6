package pkcs11

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

func init() {
	keys.Register("pkcs11", keys.BackendFunc(func(ctx context.Context, u *url.URL, opts keys.Options) (crypto.Signer, error) {
		return Default().Open(ctx, u, opts)
	}))
}

var defaultBackend struct {
	sync.Mutex
	b *Backend
}

// allowed checks the resolved module path against Config.AllowedModules.
func (b *Backend) allowed(path string) error {
	if b.cfg.AllowedModules == nil {
		return nil
	}
	for _, m := range b.cfg.AllowedModules {
		if real, err := filepath.EvalSymlinks(m); err == nil && real == path {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not among the allowed modules (%s)", ErrModuleNotAllowed, path, strings.Join(b.cfg.AllowedModules, ", "))
}

// Default returns the Backend that keys.Open uses for pkcs11: URIs: the
// one given to SetDefault, or else one made with the zero Config on
// first use.
func Default() *Backend {
	defaultBackend.Lock()
	defer defaultBackend.Unlock()
	if defaultBackend.b == nil {
		b, err := New(Config{})
		if err != nil {
			panic(err) // New fails only registering metrics, and Config{} registers none
		}
		defaultBackend.b = b
	}
	return defaultBackend.b
}

// SetDefault makes b the Backend keys.Open uses for pkcs11: URIs, for
// example one with metrics and a session cap. Keys opened before keep
// their Backend; closing the previous default is the caller's business.
func SetDefault(b *Backend) {
	defaultBackend.Lock()
	defer defaultBackend.Unlock()
	defaultBackend.b = b
}

// Backend is a pool of PKCS #11 tokens and the keys opened on them. Keys
// on the same token share its sessions and login. A Backend is safe for
// concurrent use; it is a keys.Backend for the "pkcs11" scheme.
type Backend struct {
	cfg     Config
	metrics *metrics
	conns   sync.WaitGroup // open connections

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	loop   sync.WaitGroup

	mu      sync.Mutex
	slots   map[string]*slot   // module path and token attributes → slot
	signers map[string]*Signer // member URIs → Signer
	closed  bool
}

// New returns a Backend configured by cfg. It fails only if cfg.Registerer
// refuses the metrics. Unless cfg.HealthInterval is negative it starts a
// background health check, which Close stops.
func New(cfg Config) (*Backend, error) {
	cfg = cfg.withDefaults()
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	b := &Backend{
		cfg:     cfg,
		metrics: m,
		slots:   make(map[string]*slot),
		signers: make(map[string]*Signer),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if cfg.HealthInterval > 0 {
		b.loop.Add(1)
		go b.checkEvery(cfg.HealthInterval)
	}
	return b, nil
}

// Open implements keys.Backend: it opens the key one pkcs11: URI names
// (see OpenKey).
func (b *Backend) Open(ctx context.Context, u *url.URL, opts keys.Options) (crypto.Signer, error) {
	if u.Opaque == "" && (u.Path != "" || u.Host != "") || u.User != nil || u.Fragment != "" {
		shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
		return nil, fmt.Errorf("%w: %q: a PKCS #11 URI is pkcs11:attr=value;…?attr=value", ErrBadURI, shown.String())
	}
	raw := "pkcs11:" + u.Opaque
	if u.RawQuery != "" {
		raw += "?" + u.RawQuery
	}
	s, err := b.OpenKey(ctx, opts, raw)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// OpenKey opens the private key the URIs name: one logical key held by
// one or more tokens, for failover. Each URI names one token, by token=,
// serial= or slot-id=, and one private key on it, by object= (CKA_LABEL)
// and/or id= (CKA_ID); every token must hold the same key pair.
//
// The module is module-path, else module-name found in
// Config.ModuleDirs, else Config.Module. The PIN is pin-value, else the
// contents of pin-source (a file: URI or absolute path), else
// opts.Passphrase; it is never put in an error.
//
// OpenKey connects to every token, logs in and finds the key. It
// succeeds if at least one member does; the others stay marked unhealthy
// until a signature or health check reaches them. Opening the same URIs
// again returns the same Signer.
//
// Errors wrap ErrBadURI, ErrLogin, ErrTokenNotFound (with
// keys.ErrKeyNotFound), keys.ErrKeyNotFound, keys.ErrUnsupportedKey or
// ErrClosed.
func (b *Backend) OpenKey(ctx context.Context, opts keys.Options, uris ...string) (*Signer, error) {
	if len(uris) == 0 {
		return nil, fmt.Errorf("%w: no URI", ErrBadURI)
	}
	type target struct {
		u      *URI
		path   string
		pin    string
		hasPIN bool
		src    pinSource
	}
	targets := make([]target, len(uris))
	parsed := make([]*URI, len(uris))
	for i, s := range uris {
		u, err := ParseURI(s)
		if err != nil {
			return nil, err
		}
		if err := checkKeyURI(u); err != nil {
			return nil, err
		}
		path, err := u.modulePath(b.cfg.Module, b.cfg.ModuleDirs)
		if err != nil {
			return nil, err
		}
		if err := b.allowed(path); err != nil {
			return nil, err
		}
		src := u.pinSource()
		pin, ok, err := u.pin(opts.Passphrase)
		if err != nil {
			return nil, err
		}
		targets[i] = target{u, path, pin, ok, src}
		parsed[i] = u
	}
	key := names(parsed)

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	if s := b.signers[key]; s != nil {
		defer b.mu.Unlock()
		for i, m := range s.members {
			if err := m.slot.setPIN(targets[i].pin, targets[i].hasPIN, targets[i].src); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	s := &Signer{b: b}
	for _, t := range targets {
		sk := t.path + "\x00" + t.u.tokenKey()
		sl := b.slots[sk]
		if sl == nil {
			name := t.u.tokenName()
			sl = &slot{b: b, path: t.path, uri: t.u, name: name, sem: make(chan struct{}, b.cfg.MaxSessions), m: b.metrics.forToken(name)}
			b.slots[sk] = sl
		}
		if err := sl.setPIN(t.pin, t.hasPIN, t.src); err != nil {
			b.mu.Unlock()
			return nil, err
		}
		m := &member{b: b, sig: s, uri: t.u, slot: sl}
		if v, ok := t.u.Path(attrID); ok {
			m.id = []byte(v)
		}
		if v, ok := t.u.Path(attrObject); ok {
			m.label = []byte(v)
		}
		s.members = append(s.members, m)
	}
	b.mu.Unlock()

	if err := s.open(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if prev := b.signers[key]; prev != nil {
		return prev, nil // opened concurrently
	}
	b.signers[key] = s
	return s, nil
}

// checkKeyURI checks that u can name one private key.
func checkKeyURI(u *URI) error {
	for _, a := range u.path {
		if !slices.Contains(knownPath, a.name) {
			return fmt.Errorf("%w: %s: unknown path attribute %q matches no object (RFC 7512 §2.5)", ErrBadURI, u, a.name)
		}
	}
	if t, ok := u.Path(attrType); ok && t != "private" {
		return fmt.Errorf("%w: %s: type=%s names no private key", ErrBadURI, u, t)
	}
	_, hasObject := u.Path(attrObject)
	_, hasID := u.Path(attrID)
	if !hasObject && !hasID {
		return fmt.Errorf("%w: %s names no key: add object= or id=", ErrBadURI, u)
	}
	if !u.selectsToken() {
		return fmt.Errorf("%w: %s selects no token: add token=, serial= or slot-id=", ErrBadURI, u)
	}
	return nil
}

// open connects every member and finds the key, and fixes the Signer's
// public key and algorithm.
func (s *Signer) open(ctx context.Context) error {
	var errs []error
	for _, m := range s.members {
		if err := m.slot.acquire(ctx); err != nil {
			return err
		}
		var k *keyRef
		_, err := m.withConn(ctx, func(c *conn) ([]byte, error) {
			var err error
			k, err = m.keyFor(c)
			return nil, err
		})
		m.slot.release()
		if err == nil && s.pub == nil {
			s.pub, s.alg = k.pub, k.alg
		}
		m.setErr(err)
		if err != nil {
			errs = append(errs, err)
			if errors.Is(err, ErrKeyChanged) {
				return fmt.Errorf("%w: %s and %s name different keys", ErrBadURI, s.members[0].uri, m.uri)
			}
		}
	}
	if s.pub == nil {
		return errors.Join(errs...)
	}
	return nil
}

// Check runs a health check on every member of every key: the token is
// present, the pool is logged in (it logs in again if not) and the key's
// handle is valid (it finds the key again if not). A member that passes
// becomes healthy; one that fails, unhealthy. Check returns the failures,
// joined; the background check calls it every Config.HealthInterval.
func (b *Backend) Check(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	signers := make([]*Signer, 0, len(b.signers))
	for _, s := range b.signers {
		signers = append(signers, s)
	}
	b.mu.Unlock()
	var errs []error
	for _, s := range signers {
		for _, m := range s.members {
			if err := m.check(ctx); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", m.uri, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (b *Backend) checkEvery(interval time.Duration) {
	defer b.loop.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(b.ctx, interval)
			_ = b.Check(ctx) // the outcome shows in Status and the metrics
			cancel()
		}
	}
}

// Close stops the health check, closes every connection once the
// signatures in progress on it end, and waits for that. Keys opened from
// b fail with ErrClosed afterwards. Close is idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	slots := make([]*slot, 0, len(b.slots))
	for _, s := range b.slots {
		slots = append(slots, s)
	}
	b.mu.Unlock()
	b.cancel()
	b.loop.Wait()
	for _, s := range slots {
		s.shutdown()
	}
	b.conns.Wait()
	return nil
}
