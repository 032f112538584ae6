// Package fakehsm is an in-process PKCS #11 token built on gmsm: the test
// double for an HSM's SM2 vendor mechanism, which SoftHSM2 (and every
// other token on a development machine) lacks.
//
// It is test support, not API. An HSM implements the pkcs11.Module method
// set of package pipeline/keys/pkcs11 and a Conn its pkcs11.Conn, with the
// PKCS #11 semantics the pool relies on: a login per token shared by all
// sessions, a logout when the last session closes, private objects hidden
// while logged out, and one SM2 signature mechanism whose code, input
// form and output form the test chooses (Config). Tests also inject
// faults: remove a token, log it out, fail the next calls of a function,
// or hold C_Sign.
//
// The package does not import pipeline/keys/pkcs11, whose own tests use
// it, so a test wires it in with a pkcs11.Dialer of its own:
//
//	const slot, mech = 1, 0x80008001
//	hsm := fakehsm.New(fakehsm.Config{Mechanism: mech})
//	hsm.AddToken(slot, fakehsm.Token{Label: "seals", Serial: "0001", PIN: "1234"})
//	hsm.AddSM2Key(slot, "seal-01", []byte{1}, key) // key: an *sm2.PrivateKey
//	pool, err := pkcs11.New(pkcs11.Config{
//		Module: fakehsm.ModulePath(t, "fakehsm"),
//		SM2:    pkcs11.SM2Mechanism{Mechanism: mech},
//		Dialer: dialer{hsm},
//	})
//	// …
//	signer, err := pool.OpenKey(ctx, keys.Options{}, "pkcs11:token=seals;object=seal-01?pin-value=1234")
//
// where
//
//	type dialer struct{ hsm *fakehsm.HSM }
//
//	func (d dialer) Dial(ctx context.Context, path string, u *pkcs11.URI, maxSessions int) (pkcs11.Conn, error) {
//		return d.hsm.Conn(1), nil // the one token; match u against it to test token selection
//	}
package fakehsm

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/ThalesGroup/crypto11"
	"github.com/emmansun/gmsm/sm2"
	p11 "github.com/miekg/pkcs11"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Config describes the SM2 signature mechanism of an HSM. Its zero forms
// are those of GM/T 0018 devices: C_Sign takes e and returns r ‖ s.
type Config struct {
	// Mechanism is the CKM_ code C_SignInit accepts; it refuses every
	// other with CKR_MECHANISM_INVALID.
	Mechanism uint
	// Message makes C_Sign take the message M and compute
	// e = SM3(Z_A ‖ M) with the default signer ID; otherwise C_Sign takes
	// the 32-byte e and refuses other lengths with CKR_DATA_LEN_RANGE.
	Message bool
	// DER makes C_Sign return the DER SEQUENCE { r INTEGER, s INTEGER };
	// otherwise it returns r ‖ s, each 32 bytes.
	DER bool
}

// Token describes a token: what C_GetTokenInfo reports of it, and the
// user PIN C_Login accepts.
type Token struct {
	Label  string
	Serial string
	PIN    string
}

// Stats counts sessions and logins since the HSM was made.
type Stats struct {
	Open    int // sessions open now
	MaxOpen int // the most sessions open at once
	Logins  int // C_Login calls, successful or not
}

// HSM is an in-process PKCS #11 module holding tokens in slots. Its
// methods are safe for concurrent use.
type HSM struct {
	cfg Config

	mu       sync.Mutex
	tokens   map[uint]*token
	sessions map[p11.SessionHandle]*session
	next     uint // the last handle given out
	stats    Stats
	faults   map[string][]p11.Error
	signHook func()          // run in C_Sign, unlocked
	keyPair  crypto11.Signer // what Conn.FindKeyPair returns; nil: none
}

type token struct {
	Token
	loggedIn bool
	removed  bool
	objects  map[p11.ObjectHandle]*object
}

type object struct {
	attrs   map[uint][]byte
	private bool
	key     *sm2.PrivateKey // for SM2 private keys
}

type session struct {
	slot    uint
	found   []p11.ObjectHandle
	finding bool
	signKey *object
}

// New returns an HSM with no tokens whose SM2 mechanism cfg describes.
func New(cfg Config) *HSM {
	return &HSM{
		cfg:      cfg,
		tokens:   make(map[uint]*token),
		sessions: make(map[p11.SessionHandle]*session),
		faults:   make(map[string][]p11.Error),
	}
}

// handle returns a new object or session handle. h.mu is held.
func (h *HSM) handle() uint {
	h.next++
	return h.next
}

// AddToken puts an initialized token t, logged out and empty, in slot,
// replacing any token there.
func (h *HSM) AddToken(slot uint, t Token) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens[slot] = &token{Token: t, objects: make(map[p11.ObjectHandle]*object)}
}

// sm2CurveParams is CKA_EC_PARAMS for the SM2 curve: the DER OBJECT
// IDENTIFIER 1.2.156.10197.1.301 (GM/T 0006).
var sm2CurveParams = func() []byte {
	var b cryptobyte.Builder
	b.AddASN1ObjectIdentifier([]int{1, 2, 156, 10197, 1, 301})
	return b.BytesOrPanic()
}()

// AddSM2Key stores key in the token in slot as a private and a public
// CKK_EC key object on the SM2 curve with this CKA_LABEL and CKA_ID, as a
// token importing it with C_CreateObject would. The private key signs with
// the HSM's SM2 mechanism.
func (h *HSM) AddSM2Key(slot uint, label string, id []byte, key *sm2.PrivateKey) {
	point, err := ECPoint(key)
	if err != nil {
		panic(err) // an SM2 private key's public key is a point on the curve
	}
	common := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC),
		p11.NewAttribute(p11.CKA_LABEL, label),
		p11.NewAttribute(p11.CKA_ID, id),
		p11.NewAttribute(p11.CKA_EC_PARAMS, sm2CurveParams),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.add(slot, nil, append(common, p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY), p11.NewAttribute(p11.CKA_EC_POINT, point)))
	h.add(slot, key, append(common, p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY)))
}

// AddObject stores an object with the given attributes in the token in
// slot: a private one (visible only while logged in, as a private key is)
// or a public one. The HSM cannot sign with it; a key pair that crypto11
// would sign with is paired with a Signer by SetKeyPair.
func (h *HSM) AddObject(slot uint, private bool, attrs ...*p11.Attribute) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o := h.add(slot, nil, attrs)
	o.private = private
}

// add stores an object in the token in slot; it is private if it has an
// SM2 key. h.mu is held.
func (h *HSM) add(slot uint, key *sm2.PrivateKey, attrs []*p11.Attribute) *object {
	o := &object{attrs: make(map[uint][]byte, len(attrs)), private: key != nil, key: key}
	for _, a := range attrs {
		o.attrs[a.Type] = a.Value
	}
	h.tokens[slot].objects[p11.ObjectHandle(h.handle())] = o
	return o
}

// SetKeyPair sets what Conn.FindKeyPair returns for any key: the
// crypto11 signer through which the pool signs with ECDSA and RSA keys.
// Nil, the default, makes FindKeyPair fail.
func (h *HSM) SetKeyPair(s crypto11.Signer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.keyPair = s
}

// FailNext makes the next calls of the method op fail with the return
// values rvs, in order. The methods that fail on demand are GetTokenInfo,
// OpenSession, SignInit and Sign.
func (h *HSM) FailNext(op string, rvs ...p11.Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults[op] = append(h.faults[op], rvs...)
}

// fault returns the injected failure for op, if any. h.mu is held.
func (h *HSM) fault(op string) error {
	if q := h.faults[op]; len(q) > 0 {
		h.faults[op] = q[1:]
		return q[0]
	}
	return nil
}

// SetRemoved takes the token in slot out, which closes its sessions
// (calls on them fail with CKR_DEVICE_REMOVED), or puts it back, logged
// out.
func (h *HSM) SetRemoved(slot uint, removed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tokens[slot]
	t.removed = removed
	t.loggedIn = false
	if removed {
		for sh, s := range h.sessions {
			if s.slot == slot {
				delete(h.sessions, sh)
				h.stats.Open--
			}
		}
	}
}

// Logout logs the token in slot out, as another application sharing the
// login could.
func (h *HSM) Logout(slot uint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens[slot].loggedIn = false
}

// SetSignHook makes every C_Sign call f first, with no lock held, so that
// a test can hold signatures in progress; nil removes the hook.
func (h *HSM) SetSignHook(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.signHook = f
}

// Stats returns the session and login counts.
func (h *HSM) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// Conn returns a connection to the token in slot, for a pkcs11.Dialer to
// return.
func (h *HSM) Conn(slot uint) *Conn {
	return &Conn{HSM: h, slot: slot}
}

// session returns the live session sh of a present token. h.mu is held.
func (h *HSM) session(sh p11.SessionHandle) (*session, *token, error) {
	s := h.sessions[sh]
	if s == nil {
		return nil, nil, p11.Error(p11.CKR_SESSION_HANDLE_INVALID)
	}
	t := h.tokens[s.slot]
	if t.removed {
		return nil, nil, p11.Error(p11.CKR_DEVICE_REMOVED)
	}
	return s, t, nil
}

// object returns object o as the token shows it. h.mu is held.
func (t *token) object(o p11.ObjectHandle) (*object, error) {
	obj := t.objects[o]
	if obj == nil || obj.private && !t.loggedIn {
		return nil, p11.Error(p11.CKR_OBJECT_HANDLE_INVALID)
	}
	return obj, nil
}

// GetInfo implements C_GetInfo: library "fake SM2 HSM" 1.0 by "sealpipe".
func (h *HSM) GetInfo() (p11.Info, error) {
	return p11.Info{ManufacturerID: "sealpipe", LibraryDescription: "fake SM2 HSM", LibraryVersion: p11.Version{Major: 1}}, nil
}

// GetSlotList implements C_GetSlotList, in slot order.
func (h *HSM) GetSlotList(tokenPresent bool) ([]uint, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids []uint
	for id, t := range h.tokens {
		if !tokenPresent || !t.removed {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// GetSlotInfo implements C_GetSlotInfo: slot N is described as
// "fake slot N" by "sealpipe".
func (h *HSM) GetSlotInfo(slot uint) (p11.SlotInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tokens[slot] == nil {
		return p11.SlotInfo{}, p11.Error(p11.CKR_SLOT_ID_INVALID)
	}
	return p11.SlotInfo{SlotDescription: fmt.Sprintf("fake slot %d", slot), ManufacturerID: "sealpipe", Flags: p11.CKF_TOKEN_PRESENT}, nil
}

// GetTokenInfo implements C_GetTokenInfo: the token's label and serial
// number, manufacturer "sealpipe", model "fake".
func (h *HSM) GetTokenInfo(slot uint) (p11.TokenInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.fault("GetTokenInfo"); err != nil {
		return p11.TokenInfo{}, err
	}
	t := h.tokens[slot]
	switch {
	case t == nil:
		return p11.TokenInfo{}, p11.Error(p11.CKR_SLOT_ID_INVALID)
	case t.removed:
		return p11.TokenInfo{}, p11.Error(p11.CKR_TOKEN_NOT_PRESENT)
	}
	return p11.TokenInfo{Label: t.Label, SerialNumber: t.Serial, ManufacturerID: "sealpipe", Model: "fake", Flags: p11.CKF_LOGIN_REQUIRED | p11.CKF_TOKEN_INITIALIZED | p11.CKF_USER_PIN_INITIALIZED}, nil
}

// OpenSession implements C_OpenSession for serial sessions.
func (h *HSM) OpenSession(slot uint, flags uint) (p11.SessionHandle, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.fault("OpenSession"); err != nil {
		return 0, err
	}
	t := h.tokens[slot]
	switch {
	case t == nil:
		return 0, p11.Error(p11.CKR_SLOT_ID_INVALID)
	case t.removed:
		return 0, p11.Error(p11.CKR_TOKEN_NOT_PRESENT)
	case flags&p11.CKF_SERIAL_SESSION == 0:
		return 0, p11.Error(p11.CKR_SESSION_PARALLEL_NOT_SUPPORTED)
	}
	sh := p11.SessionHandle(h.handle())
	h.sessions[sh] = &session{slot: slot}
	h.stats.Open++
	h.stats.MaxOpen = max(h.stats.MaxOpen, h.stats.Open)
	return sh, nil
}

// CloseSession implements C_CloseSession; closing the last session on a
// token logs it out.
func (h *HSM) CloseSession(sh p11.SessionHandle) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[sh]
	if s == nil {
		return p11.Error(p11.CKR_SESSION_HANDLE_INVALID)
	}
	delete(h.sessions, sh)
	h.stats.Open--
	for _, o := range h.sessions {
		if o.slot == s.slot {
			return nil
		}
	}
	h.tokens[s.slot].loggedIn = false // the application's last session on the token
	return nil
}

// GetSessionInfo implements C_GetSessionInfo: a read-only session, in the
// user state while the token is logged in.
func (h *HSM) GetSessionInfo(sh p11.SessionHandle) (p11.SessionInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, t, err := h.session(sh)
	if err != nil {
		return p11.SessionInfo{}, err
	}
	state := uint(p11.CKS_RO_PUBLIC_SESSION)
	if t.loggedIn {
		state = p11.CKS_RO_USER_FUNCTIONS
	}
	return p11.SessionInfo{SlotID: s.slot, State: state, Flags: p11.CKF_SERIAL_SESSION}, nil
}

// Login implements C_Login for the user, which logs in every session on
// the token.
func (h *HSM) Login(sh p11.SessionHandle, userType uint, pin string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, t, err := h.session(sh)
	if err != nil {
		return err
	}
	h.stats.Logins++
	switch {
	case userType != p11.CKU_USER:
		return p11.Error(p11.CKR_USER_TYPE_INVALID)
	case t.loggedIn:
		return p11.Error(p11.CKR_USER_ALREADY_LOGGED_IN)
	case pin != t.PIN:
		return p11.Error(p11.CKR_PIN_INCORRECT)
	}
	t.loggedIn = true
	return nil
}

// FindObjectsInit implements C_FindObjectsInit: the search finds the
// visible objects that have every attribute of tmpl, in handle order.
func (h *HSM) FindObjectsInit(sh p11.SessionHandle, tmpl []*p11.Attribute) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, t, err := h.session(sh)
	if err != nil {
		return err
	}
	if s.finding {
		return p11.Error(p11.CKR_OPERATION_ACTIVE)
	}
	s.finding, s.found = true, nil
	for o, obj := range t.objects {
		if obj.private && !t.loggedIn {
			continue
		}
		if !slices.ContainsFunc(tmpl, func(a *p11.Attribute) bool { return !bytes.Equal(obj.attrs[a.Type], a.Value) }) {
			s.found = append(s.found, o)
		}
	}
	slices.Sort(s.found)
	return nil
}

// FindObjects implements C_FindObjects.
func (h *HSM) FindObjects(sh p11.SessionHandle, n int) ([]p11.ObjectHandle, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, _, err := h.session(sh)
	if err != nil {
		return nil, false, err
	}
	if !s.finding {
		return nil, false, p11.Error(p11.CKR_OPERATION_NOT_INITIALIZED)
	}
	n = min(n, len(s.found))
	out := s.found[:n:n]
	s.found = s.found[n:]
	return out, false, nil
}

// FindObjectsFinal implements C_FindObjectsFinal.
func (h *HSM) FindObjectsFinal(sh p11.SessionHandle) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, _, err := h.session(sh)
	if err != nil {
		return err
	}
	s.finding, s.found = false, nil
	return nil
}

// GetAttributeValue implements C_GetAttributeValue; an attribute the
// object lacks fails the call with CKR_ATTRIBUTE_TYPE_INVALID.
func (h *HSM) GetAttributeValue(sh p11.SessionHandle, o p11.ObjectHandle, a []*p11.Attribute) ([]*p11.Attribute, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, t, err := h.session(sh)
	if err != nil {
		return nil, err
	}
	obj, err := t.object(o)
	if err != nil {
		return nil, err
	}
	out := make([]*p11.Attribute, len(a))
	for i, want := range a {
		v, ok := obj.attrs[want.Type]
		if !ok {
			return nil, p11.Error(p11.CKR_ATTRIBUTE_TYPE_INVALID)
		}
		out[i] = &p11.Attribute{Type: want.Type, Value: bytes.Clone(v)}
	}
	return out, nil
}

// SignInit implements C_SignInit for the SM2 mechanism of the HSM's
// Config and an SM2 private key.
func (h *HSM) SignInit(sh p11.SessionHandle, m []*p11.Mechanism, o p11.ObjectHandle) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.fault("SignInit"); err != nil {
		return err
	}
	s, t, err := h.session(sh)
	if err != nil {
		return err
	}
	if len(m) != 1 || m[0].Mechanism != h.cfg.Mechanism {
		return p11.Error(p11.CKR_MECHANISM_INVALID)
	}
	obj := t.objects[o]
	switch {
	case obj == nil:
		return p11.Error(p11.CKR_KEY_HANDLE_INVALID)
	case obj.private && !t.loggedIn:
		return p11.Error(p11.CKR_USER_NOT_LOGGED_IN)
	case obj.key == nil:
		return p11.Error(p11.CKR_KEY_TYPE_INCONSISTENT)
	case s.signKey != nil:
		return p11.Error(p11.CKR_OPERATION_ACTIVE)
	}
	s.signKey = obj
	return nil
}

// Sign implements C_Sign: it signs data, taken and returned in the forms
// the HSM's Config gives, and ends the operation.
func (h *HSM) Sign(sh p11.SessionHandle, data []byte) ([]byte, error) {
	h.mu.Lock()
	hook := h.signHook
	h.mu.Unlock()
	if hook != nil {
		hook()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s, _, err := h.session(sh)
	if err != nil {
		return nil, err
	}
	obj := s.signKey
	if obj == nil {
		return nil, p11.Error(p11.CKR_OPERATION_NOT_INITIALIZED)
	}
	s.signKey = nil // C_Sign ends the operation
	if err := h.fault("Sign"); err != nil {
		return nil, err
	}
	var der []byte
	if h.cfg.Message {
		der, err = sm2.SignASN1(rand.Reader, obj.key, data, sm2.DefaultSM2SignerOpts)
	} else {
		if len(data) != 32 {
			return nil, p11.Error(p11.CKR_DATA_LEN_RANGE)
		}
		der, err = sm2.SignASN1(rand.Reader, obj.key, data, nil)
	}
	if err != nil {
		return nil, p11.Error(p11.CKR_FUNCTION_FAILED)
	}
	if h.cfg.DER {
		return der, nil
	}
	return RawSignature(der)
}

// Conn is a connection to the token in one slot of an HSM: it implements
// pkcs11.Conn.
type Conn struct {
	*HSM
	slot uint
}

// SlotID returns the slot of the connection's token.
func (c *Conn) SlotID() uint { return c.slot }

// FindKeyPair returns the signer set with SetKeyPair, whatever id and
// label are, or an error if none is set.
func (c *Conn) FindKeyPair(id, label []byte) (crypto11.Signer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keyPair == nil {
		return nil, errors.New("the fake HSM holds SM2 keys only: crypto11 cannot use them")
	}
	return c.keyPair, nil
}

// Close does nothing: the HSM lives as long as the test holds it.
func (c *Conn) Close() error { return nil }

// ECPoint returns CKA_EC_POINT for key's public key: the DER OCTET STRING
// holding the uncompressed point 04 ‖ X ‖ Y (PKCS #11 v2.40 §2.3.3).
func ECPoint(key *sm2.PrivateKey) ([]byte, error) {
	pub, err := sm2.PublicKeyToECDH(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1OctetString(pub.Bytes())
	return b.Bytes()
}

// RawSignature turns a DER SM2 signature into r ‖ s, the form in which
// most tokens return one.
func RawSignature(der []byte) ([]byte, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	var r, s []byte
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) {
		return nil, errors.New("fakehsm: bad DER signature")
	}
	r, s = bytes.TrimLeft(r, "\x00"), bytes.TrimLeft(s, "\x00")
	if len(r) > 32 || len(s) > 32 {
		return nil, errors.New("fakehsm: SM2 signature value longer than 32 bytes")
	}
	out := make([]byte, 64)
	copy(out[32-len(r):32], r)
	copy(out[64-len(s):], s)
	return out, nil
}

// ModulePath returns the path of a new empty file, with no symbolic link
// in it, to stand for the HSM's module: the pool accepts only module paths
// that exist. The file is removed when tb's test ends.
func ModulePath(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name+".so")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		tb.Fatal(err)
	}
	return real
}
