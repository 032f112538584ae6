package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// Signer is a private key held in one or more tokens: the members, one
// per URI it was opened with, all holding the same key pair. It is a
// crypto.Signer safe for concurrent use.
//
// A signature goes to a member whose token has a free session, trying
// healthy members first, in turn. If the token logged the pool out or
// dropped the key's handle, the member logs in again and finds the key
// again; if the session, token or library went away, it reconnects; then
// it retries once. If the member still fails, the next member takes the
// signature (failover). Errors about the request itself (bad digest,
// options) and context errors end the call at once.
type Signer struct {
	b       *Backend
	pub     crypto.PublicKey
	alg     algorithm
	members []*member
	next    atomic.Uint32 // where the next signature starts looking
}

var (
	_ crypto.Signer = (*Signer)(nil)
	_ keys.Backend  = (*Backend)(nil)
)

// algorithm says who signs with a key.
type algorithm int

const (
	algCrypto11 algorithm = iota // ECDSA or RSA, through crypto11
	algSM2                       // SM2, through the configured vendor mechanism
)

// member is a Signer's key on one token.
type member struct {
	b         *Backend
	sig       *Signer
	uri       *URI
	slot      *slot
	id, label []byte // nil when the URI does not give them

	findMu sync.Mutex
	key    atomic.Pointer[keyRef]

	down    atomic.Bool
	errMu   sync.Mutex
	lastErr error
}

// keyRef is a key found on one connection, valid for one login epoch.
type keyRef struct {
	conn   *conn
	epoch  uint64
	handle p11.ObjectHandle // the private key
	alg    algorithm
	pub    crypto.PublicKey
	c11    crypto11.Signer // for algCrypto11
}

// Public returns the public key: an *ecdsa.PublicKey (on gmsm's sm2.P256
// curve for SM2 keys) or an *rsa.PublicKey.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest like SignContext, waiting at most Config.WaitTimeout
// for a session. rand is ignored: the token supplies the randomness.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	ctx := context.Background()
	if t := s.b.cfg.WaitTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	return s.SignContext(ctx, digest, opts)
}

// SignContext signs digest, waiting for a session no longer than ctx
// allows; a PKCS #11 call in progress cannot be cancelled.
//
// ECDSA and RSA keys sign as crypto11 does: ECDSA signatures are ASN.1
// DER; opts select PKCS #1 v1.5 or, as *rsa.PSSOptions, PSS.
//
// SM2 keys take either sm2.DefaultSM2SignerOpts with the message as
// digest — the pool computes e = SM3(Z_A ‖ M) with the default signer ID
// — or opts nil or crypto.Hash(0) with the 32-byte e itself. They return
// the DER SEQUENCE { r, s } (GB/T 35276), as gmsm's pkcs7 and package
// ses expect.
func (s *Signer) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req, err := s.prepare(digest, opts)
	if err != nil {
		s.b.metrics.fail(err)
		return nil, err
	}
	order := s.order()
	held := false
	for i, m := range order {
		if !m.down.Load() && m.slot.tryAcquire() {
			if i > 0 {
				order[0], order[i] = order[i], order[0]
			}
			held = true
			break
		}
	}
	var errs []error
	for i, m := range order {
		if i > 0 || !held {
			if err := m.slot.acquire(ctx); err != nil {
				s.b.metrics.fail(err)
				return nil, err
			}
		}
		sig, err := m.signHeld(ctx, req)
		if err == nil {
			m.setErr(nil)
			return sig, nil
		}
		if classify(err) == classInput {
			return nil, err
		}
		m.setErr(err)
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(errs...))
}

// order returns the members healthy ones first, each group rotated so
// that successive signatures start at successive members.
func (s *Signer) order() []*member {
	n := len(s.members)
	if n == 1 {
		return s.members // shared: SignContext must not write to it
	}
	start := int(s.next.Add(1) % uint32(n))
	order := make([]*member, 0, n)
	for _, down := range []bool{false, true} {
		for i := range n {
			if m := s.members[(start+i)%n]; m.down.Load() == down {
				order = append(order, m)
			}
		}
	}
	return order
}

// MemberStatus reports one member of a Signer.
type MemberStatus struct {
	// URI is the member's URI without its pin-value.
	URI string
	// Token names the token.
	Token string
	// Healthy is false after the member's last signature or health check
	// failed.
	Healthy bool
	// LoggedIn reports whether the pool holds a login on the token.
	LoggedIn bool
	// InFlight counts the signatures in progress on the token (all its
	// keys); MaxInFlight is the most there have been at once.
	InFlight, MaxInFlight int
	// Err is the member's last error; nil when healthy.
	Err error
}

// Status reports the members, in the order of the URIs.
func (s *Signer) Status() []MemberStatus {
	st := make([]MemberStatus, len(s.members))
	for i, m := range s.members {
		m.slot.mu.Lock()
		c := m.slot.conn
		m.slot.mu.Unlock()
		m.errMu.Lock()
		err := m.lastErr
		m.errMu.Unlock()
		st[i] = MemberStatus{
			URI:         m.uri.String(),
			Token:       m.slot.name,
			Healthy:     !m.down.Load(),
			LoggedIn:    c != nil && c.loggedIn.Load(),
			InFlight:    int(m.slot.inFlight.Load()),
			MaxInFlight: int(m.slot.maxInFlight.Load()),
			Err:         err,
		}
	}
	return st
}

func (m *member) setErr(err error) {
	m.errMu.Lock()
	m.lastErr = err
	m.errMu.Unlock()
	m.down.Store(err != nil)
}

// signHeld signs on m's token. The caller holds a session unit of the
// token, which signHeld releases.
func (m *member) signHeld(ctx context.Context, req *request) ([]byte, error) {
	defer m.slot.release()
	m.slot.begin()
	defer m.slot.end()
	sig, err := m.withConn(ctx, func(c *conn) ([]byte, error) { return m.signWith(c, req) })
	if err != nil {
		return nil, err
	}
	m.slot.m.signs.Inc()
	return sig, nil
}

// withConn runs f on the slot's connection. If f fails because the login
// or the key's handle went away, it checks the token, logs in again and
// retries f; if the connection went away, it reconnects and retries f.
// Every error met is counted.
func (m *member) withConn(ctx context.Context, f func(*conn) ([]byte, error)) ([]byte, error) {
	fail := m.b.metrics.fail
	c, err := m.slot.get(ctx)
	if err != nil {
		return nil, err
	}
	out, err := f(c)
	if err == nil {
		m.slot.put(c)
		return out, nil
	}
	fail(err)
	cl := classify(err)
	if cl == classHandle {
		if err = c.probe(); err == nil {
			m.key.Store(nil)
			if out, err = f(c); err == nil {
				m.slot.put(c)
				return out, nil
			}
		}
		fail(err)
		cl = classify(err)
	}
	m.slot.put(c)
	if cl != classConn {
		return nil, err
	}
	m.slot.retire(c)
	if c, err = m.slot.get(ctx); err != nil {
		return nil, err
	}
	out, err = f(c)
	m.slot.put(c)
	fail(err)
	return out, err
}

// signWith signs on c.
func (m *member) signWith(c *conn, req *request) ([]byte, error) {
	k, err := m.keyFor(c)
	if err != nil {
		return nil, err
	}
	if k.alg == algSM2 {
		return m.b.signSM2(c, k, req)
	}
	sig, err := k.c11.Sign(rand.Reader, req.digest, req.opts)
	if err != nil {
		if !errors.As(err, new(p11.Error)) {
			// crypto11 checks the request before it calls the token.
			return nil, fmt.Errorf("%w: %v", ErrSignerOpts, err)
		}
		return nil, opError("C_Sign", m.slot.name, err)
	}
	return sig, nil
}

// keyFor returns the key on c, finding it again after a reconnection or
// a login.
func (m *member) keyFor(c *conn) (*keyRef, error) {
	valid := func(k *keyRef) bool { return k != nil && k.conn == c && k.epoch == c.epoch.Load() }
	if k := m.key.Load(); valid(k) {
		return k, nil
	}
	m.findMu.Lock()
	defer m.findMu.Unlock()
	if k := m.key.Load(); valid(k) {
		return k, nil
	}
	k, err := m.find(c)
	if err != nil {
		return nil, err
	}
	m.key.Store(k)
	return k, nil
}

// check is the member's health check: the token is present, the pool is
// logged in, and the key's handle is valid (else the key is found again).
func (m *member) check(ctx context.Context) error {
	if err := m.slot.acquire(ctx); err != nil {
		return err
	}
	defer m.slot.release()
	_, err := m.withConn(ctx, func(c *conn) ([]byte, error) {
		if err := c.probe(); err != nil {
			return nil, err
		}
		k, err := m.keyFor(c)
		if err != nil {
			return nil, err
		}
		c.ctrlMu.Lock()
		defer c.ctrlMu.Unlock()
		_, err = c.GetAttributeValue(c.ctrl, k.handle, []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, nil)})
		return nil, opError("C_GetAttributeValue", m.slot.name, err)
	})
	m.setErr(err)
	return err
}

// sm2CurveParams is CKA_EC_PARAMS for the SM2 curve: the DER OBJECT
// IDENTIFIER 1.2.156.10197.1.301 (GM/T 0006).
var sm2CurveParams = []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d}

// crypto11Curves are the CKA_EC_PARAMS of the curves crypto11 signs with:
// P-224, P-256, P-384 and P-521.
var crypto11Curves = map[string]string{
	"\x06\x05\x2b\x81\x04\x00\x21":             "P-224",
	"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07": "P-256",
	"\x06\x05\x2b\x81\x04\x00\x22":             "P-384",
	"\x06\x05\x2b\x81\x04\x00\x23":             "P-521",
}

// find looks the key up on c: the one private key matching the URI's id
// and object, its type and curve, and its public key.
func (m *member) find(c *conn) (*keyRef, error) {
	epoch := c.epoch.Load()
	k, err := m.lookup(c)
	if err != nil {
		return nil, err
	}
	if k.alg == algCrypto11 {
		s11, err := c.FindKeyPair(m.id, m.label)
		switch {
		case errors.As(err, new(p11.Error)):
			return nil, opError("crypto11.FindKeyPair", m.slot.name, err)
		case err != nil || s11 == nil:
			return nil, fmt.Errorf("%w: %s on token %q: crypto11 found no key pair (is the public key object missing?): %v",
				keys.ErrKeyNotFound, m.uri, m.slot.name, err)
		}
		k.c11, k.pub = s11, s11.Public()
	}
	if want := m.sig.pub; want != nil && !equalKeys(want, k.pub) {
		return nil, fmt.Errorf("%w: %s on token %q is no longer the key the signer was opened with", ErrKeyChanged, m.uri, m.slot.name)
	}
	k.conn, k.epoch = c, epoch
	return k, nil
}

// lookup finds the private key with the control session.
func (m *member) lookup(c *conn) (*keyRef, error) {
	c.ctrlMu.Lock()
	defer c.ctrlMu.Unlock()
	name := m.slot.name
	tmpl := []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY)}
	if m.id != nil {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_ID, m.id))
	}
	if m.label != nil {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_LABEL, m.label))
	}
	hs, err := findObjects(c, c.ctrl, tmpl, 2)
	if err != nil {
		return nil, opError("C_FindObjects", name, err)
	}
	switch len(hs) {
	case 0:
		return nil, fmt.Errorf("%w: no private key matches %s on token %q", keys.ErrKeyNotFound, m.uri, name)
	case 1:
	default:
		return nil, fmt.Errorf("%w: %s names more than one private key on token %q: add id= or object=", ErrBadURI, m.uri, name)
	}
	k := &keyRef{handle: hs[0]}
	attrs, err := c.GetAttributeValue(c.ctrl, k.handle, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_KEY_TYPE, nil),
		p11.NewAttribute(p11.CKA_ID, nil),
		p11.NewAttribute(p11.CKA_LABEL, nil),
	})
	if err != nil {
		return nil, opError("C_GetAttributeValue", name, err)
	}
	keyType, ok := ulong(attrs[0].Value)
	if !ok {
		return nil, fmt.Errorf("%w: %s: CKA_KEY_TYPE is %d bytes", keys.ErrMalformedKey, m.uri, len(attrs[0].Value))
	}
	id, label := attrs[1].Value, attrs[2].Value
	sm2Type := m.b.cfg.SM2.KeyType
	switch {
	case keyType == p11.CKK_RSA:
		k.alg = algCrypto11
		return k, nil
	case keyType == p11.CKK_EC || sm2Type != 0 && keyType == sm2Type:
	default:
		return nil, fmt.Errorf("%w: %s is a key of type %#x: want EC, RSA or SM2", keys.ErrUnsupportedKey, m.uri, keyType)
	}
	if !(sm2Type != 0 && keyType == sm2Type) {
		attrs, err := c.GetAttributeValue(c.ctrl, k.handle, []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_PARAMS, nil)})
		if err != nil {
			return nil, opError("C_GetAttributeValue", name, err)
		}
		params := attrs[0].Value
		switch {
		case crypto11Curves[string(params)] != "":
			k.alg = algCrypto11
			return k, nil
		case !bytes.Equal(params, sm2CurveParams):
			return nil, fmt.Errorf("%w: %s is on the curve with CKA_EC_PARAMS %x: want P-224, P-256, P-384, P-521 or SM2",
				keys.ErrUnsupportedKey, m.uri, params)
		}
	}
	k.alg = algSM2
	if k.pub, err = m.sm2Public(c, k.handle, id, label); err != nil {
		return nil, err
	}
	return k, nil
}

// sm2Public reads the public key of the SM2 private key priv: from the
// public key object with the same CKA_ID and CKA_LABEL, else the same
// CKA_ID, else from CKA_EC_POINT of the private key, which some tokens
// keep. Callers hold c.ctrlMu.
func (m *member) sm2Public(c *conn, priv p11.ObjectHandle, id, label []byte) (crypto.PublicKey, error) {
	name := m.slot.name
	class := p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY)
	var tries [][]*p11.Attribute
	switch {
	case len(id) > 0 && len(label) > 0:
		tries = [][]*p11.Attribute{
			{class, p11.NewAttribute(p11.CKA_ID, id), p11.NewAttribute(p11.CKA_LABEL, label)},
			{class, p11.NewAttribute(p11.CKA_ID, id)},
		}
	case len(id) > 0:
		tries = [][]*p11.Attribute{{class, p11.NewAttribute(p11.CKA_ID, id)}}
	case len(label) > 0:
		tries = [][]*p11.Attribute{{class, p11.NewAttribute(p11.CKA_LABEL, label)}}
	}
	obj := priv
	for _, tmpl := range tries {
		hs, err := findObjects(c, c.ctrl, tmpl, 1)
		if err != nil {
			return nil, opError("C_FindObjects", name, err)
		}
		if len(hs) == 1 {
			obj = hs[0]
			break
		}
	}
	attrs, err := c.GetAttributeValue(c.ctrl, obj, []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_POINT, nil)})
	if err != nil {
		if obj == priv {
			return nil, fmt.Errorf("%w: %s: no SM2 public key object with CKA_ID %x on token %q, and the private key has no CKA_EC_POINT: %w",
				keys.ErrKeyNotFound, m.uri, id, name, err)
		}
		return nil, opError("C_GetAttributeValue", name, err)
	}
	pub, err := parseSM2Point(attrs[0].Value)
	if err != nil {
		return nil, fmt.Errorf("%s on token %q: %w", m.uri, name, err)
	}
	return pub, nil
}

// equalKeys reports whether public keys a and b are equal.
func equalKeys(a, b crypto.PublicKey) bool {
	ae, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ae.Equal(b)
}

// findObjects runs one C_FindObjectsInit / C_FindObjects /
// C_FindObjectsFinal round for at most max objects.
func findObjects(m Module, sh p11.SessionHandle, tmpl []*p11.Attribute, max int) ([]p11.ObjectHandle, error) {
	if err := m.FindObjectsInit(sh, tmpl); err != nil {
		return nil, err
	}
	hs, _, err := m.FindObjects(sh, max)
	if ferr := m.FindObjectsFinal(sh); err == nil {
		err = ferr
	}
	return hs, err
}

// ulong decodes a CK_ULONG attribute value, in the platform's byte order.
func ulong(b []byte) (uint, bool) {
	switch len(b) {
	case 8:
		return uint(binary.NativeEndian.Uint64(b)), true
	case 4:
		return uint(binary.NativeEndian.Uint32(b)), true
	}
	return 0, false
}

// names renders URIs for messages.
func names(us []*URI) string {
	s := make([]string, len(us))
	for i, u := range us {
		s[i] = u.String()
	}
	return strings.Join(s, ", ")
}
