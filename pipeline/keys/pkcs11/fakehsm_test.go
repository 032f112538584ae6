package pkcs11

import (
	"bytes"
	"context"
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

// fakeHSM is an in-process PKCS #11 module built on gmsm: the test double
// for the SM2 vendor mechanism, which SoftHSM2 (and every other token on
// this machine) lacks. It implements Module with PKCS #11 semantics the
// pool relies on — login per token shared by all sessions, logout when
// the last session closes, private objects hidden when logged out — and
// one SM2 signature mechanism whose code, input form and output form the
// test chooses. Tests also inject faults: remove a token, log it out, fail
// the next call of a function, or hold C_Sign.
type fakeHSM struct {
	mech   uint      // the SM2 signature mechanism
	input  SM2Input  // what C_Sign takes
	output SM2Output // what C_Sign returns

	mu       sync.Mutex
	tokens   map[uint]*fakeToken
	sessions map[p11.SessionHandle]*fakeSession
	next     uint // last handle given out
	open     int  // sessions open now
	maxOpen  int  // most sessions open at once
	logins   int  // C_Login calls
	faults   map[string][]p11.Error
	signHook func()          // run in C_Sign, unlocked
	c11      crypto11.Signer // what FindKeyPair returns; nil: none
}

type fakeToken struct {
	label, serial, pin string
	loggedIn           bool
	removed            bool
	objects            map[p11.ObjectHandle]*fakeObject
}

type fakeObject struct {
	attrs   map[uint][]byte
	private bool
	key     *sm2.PrivateKey // for private keys
}

type fakeSession struct {
	slot    uint
	found   []p11.ObjectHandle
	finding bool
	signKey *fakeObject
}

func newFakeHSM(mech uint, in SM2Input, out SM2Output) *fakeHSM {
	return &fakeHSM{
		mech: mech, input: in, output: out,
		tokens:   make(map[uint]*fakeToken),
		sessions: make(map[p11.SessionHandle]*fakeSession),
		faults:   make(map[string][]p11.Error),
	}
}

func (h *fakeHSM) handle() uint {
	h.next++
	return h.next
}

// addToken adds a token in slot with the given label and user PIN.
func (h *fakeHSM) addToken(slot uint, label, pin string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens[slot] = &fakeToken{label: label, serial: fmt.Sprintf("fake%04d", slot), pin: pin, objects: make(map[p11.ObjectHandle]*fakeObject)}
}

// addSM2Key stores key as a private and a public key object, as a token
// importing it with C_CreateObject would.
func (h *fakeHSM) addSM2Key(slot uint, label string, id []byte, key *sm2.PrivateKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tokens[slot]
	point, err := ecPointDER(key)
	if err != nil {
		panic(err)
	}
	common := func(class uint) map[uint][]byte {
		return map[uint][]byte{
			p11.CKA_CLASS:     ulongBytes(class),
			p11.CKA_KEY_TYPE:  ulongBytes(p11.CKK_EC),
			p11.CKA_LABEL:     []byte(label),
			p11.CKA_ID:        id,
			p11.CKA_EC_PARAMS: sm2CurveParams,
		}
	}
	pub := common(p11.CKO_PUBLIC_KEY)
	pub[p11.CKA_EC_POINT] = point
	t.objects[p11.ObjectHandle(h.handle())] = &fakeObject{attrs: pub}
	t.objects[p11.ObjectHandle(h.handle())] = &fakeObject{attrs: common(p11.CKO_PRIVATE_KEY), private: true, key: key}
}

// ecPointDER is CKA_EC_POINT for key: the DER OCTET STRING of 04‖X‖Y.
func ecPointDER(key *sm2.PrivateKey) ([]byte, error) {
	point := make([]byte, 65)
	point[0] = 4
	key.X.FillBytes(point[1:33])
	key.Y.FillBytes(point[33:])
	var b cryptobyte.Builder
	b.AddASN1OctetString(point)
	return b.Bytes()
}

func ulongBytes(v uint) []byte { return p11.NewAttribute(0, v).Value }

// failNext makes the next calls of op fail with the given return values,
// in order.
func (h *fakeHSM) failNext(op string, rvs ...p11.Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults[op] = append(h.faults[op], rvs...)
}

// fault returns the injected failure for op, if any. h.mu is held.
func (h *fakeHSM) fault(op string) error {
	if q := h.faults[op]; len(q) > 0 {
		h.faults[op] = q[1:]
		return q[0]
	}
	return nil
}

// setRemoved takes the token in slot out (CKR_DEVICE_REMOVED for its
// sessions, which die) or puts it back, logged out.
func (h *fakeHSM) setRemoved(slot uint, removed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tokens[slot]
	t.removed = removed
	t.loggedIn = false
	if removed {
		for sh, s := range h.sessions {
			if s.slot == slot {
				delete(h.sessions, sh)
				h.open--
			}
		}
	}
}

// logout logs the token in slot out, as another application sharing the
// login could.
func (h *fakeHSM) logout(slot uint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens[slot].loggedIn = false
}

func (h *fakeHSM) stats() (open, maxOpen, logins int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.open, h.maxOpen, h.logins
}

// session returns the live session sh of a present token. h.mu is held.
func (h *fakeHSM) session(sh p11.SessionHandle) (*fakeSession, *fakeToken, error) {
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

// object returns object o as the session's token shows it. h.mu is held.
func (t *fakeToken) object(o p11.ObjectHandle) (*fakeObject, error) {
	obj := t.objects[o]
	if obj == nil || obj.private && !t.loggedIn {
		return nil, p11.Error(p11.CKR_OBJECT_HANDLE_INVALID)
	}
	return obj, nil
}

func (h *fakeHSM) GetInfo() (p11.Info, error) {
	return p11.Info{ManufacturerID: "sealpipe", LibraryDescription: "fake SM2 HSM", LibraryVersion: p11.Version{Major: 1}}, nil
}

func (h *fakeHSM) GetSlotList(tokenPresent bool) ([]uint, error) {
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

func (h *fakeHSM) GetSlotInfo(slot uint) (p11.SlotInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tokens[slot] == nil {
		return p11.SlotInfo{}, p11.Error(p11.CKR_SLOT_ID_INVALID)
	}
	return p11.SlotInfo{SlotDescription: fmt.Sprintf("fake slot %d", slot), ManufacturerID: "sealpipe", Flags: p11.CKF_TOKEN_PRESENT}, nil
}

func (h *fakeHSM) GetTokenInfo(slot uint) (p11.TokenInfo, error) {
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
	return p11.TokenInfo{Label: t.label, SerialNumber: t.serial, ManufacturerID: "sealpipe", Model: "fake", Flags: p11.CKF_LOGIN_REQUIRED | p11.CKF_TOKEN_INITIALIZED | p11.CKF_USER_PIN_INITIALIZED}, nil
}

func (h *fakeHSM) OpenSession(slot uint, flags uint) (p11.SessionHandle, error) {
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
	h.sessions[sh] = &fakeSession{slot: slot}
	h.open++
	h.maxOpen = max(h.maxOpen, h.open)
	return sh, nil
}

func (h *fakeHSM) CloseSession(sh p11.SessionHandle) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[sh]
	if s == nil {
		return p11.Error(p11.CKR_SESSION_HANDLE_INVALID)
	}
	delete(h.sessions, sh)
	h.open--
	for _, o := range h.sessions {
		if o.slot == s.slot {
			return nil
		}
	}
	h.tokens[s.slot].loggedIn = false // the application's last session on the token
	return nil
}

func (h *fakeHSM) GetSessionInfo(sh p11.SessionHandle) (p11.SessionInfo, error) {
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

func (h *fakeHSM) Login(sh p11.SessionHandle, userType uint, pin string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, t, err := h.session(sh)
	if err != nil {
		return err
	}
	h.logins++
	switch {
	case userType != p11.CKU_USER:
		return p11.Error(p11.CKR_USER_TYPE_INVALID)
	case t.loggedIn:
		return p11.Error(p11.CKR_USER_ALREADY_LOGGED_IN)
	case pin != t.pin:
		return p11.Error(p11.CKR_PIN_INCORRECT)
	}
	t.loggedIn = true
	return nil
}

func (h *fakeHSM) FindObjectsInit(sh p11.SessionHandle, tmpl []*p11.Attribute) error {
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

func (h *fakeHSM) FindObjects(sh p11.SessionHandle, n int) ([]p11.ObjectHandle, bool, error) {
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

func (h *fakeHSM) FindObjectsFinal(sh p11.SessionHandle) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, _, err := h.session(sh)
	if err != nil {
		return err
	}
	s.finding, s.found = false, nil
	return nil
}

func (h *fakeHSM) GetAttributeValue(sh p11.SessionHandle, o p11.ObjectHandle, a []*p11.Attribute) ([]*p11.Attribute, error) {
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

func (h *fakeHSM) SignInit(sh p11.SessionHandle, m []*p11.Mechanism, o p11.ObjectHandle) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.fault("SignInit"); err != nil {
		return err
	}
	s, t, err := h.session(sh)
	if err != nil {
		return err
	}
	if len(m) != 1 || m[0].Mechanism != h.mech {
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

func (h *fakeHSM) Sign(sh p11.SessionHandle, data []byte) ([]byte, error) {
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
	switch h.input {
	case SM2Digest:
		if len(data) != 32 {
			return nil, p11.Error(p11.CKR_DATA_LEN_RANGE)
		}
		der, err = sm2.SignASN1(rand.Reader, obj.key, data, nil)
	case SM2Message:
		der, err = sm2.SignASN1(rand.Reader, obj.key, data, sm2.DefaultSM2SignerOpts)
	}
	if err != nil {
		return nil, p11.Error(p11.CKR_FUNCTION_FAILED)
	}
	if h.output == SM2DER {
		return der, nil
	}
	return derToRaw(der)
}

// derToRaw turns a DER SM2 signature into r‖s.
func derToRaw(der []byte) ([]byte, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	var r, s []byte
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) {
		return nil, errors.New("bad DER signature")
	}
	out := make([]byte, 64)
	copy(out[32-len(bytes.TrimLeft(r, "\x00")):32], bytes.TrimLeft(r, "\x00"))
	copy(out[64-len(bytes.TrimLeft(s, "\x00")):], bytes.TrimLeft(s, "\x00"))
	return out, nil
}

// fakeConn is a connection to one token of a fakeHSM.
type fakeConn struct {
	*fakeHSM
	slot uint
}

func (c *fakeConn) SlotID() uint { return c.slot }

func (c *fakeConn) FindKeyPair(id, label []byte) (crypto11.Signer, error) {
	if c.c11 == nil {
		return nil, errors.New("the fake HSM holds SM2 keys only: crypto11 cannot use them")
	}
	return c.c11, nil
}

func (c *fakeConn) Close() error { return nil }

// fakeDialer dials the fake HSMs, one per module path.
type fakeDialer map[string]*fakeHSM

func (d fakeDialer) Dial(ctx context.Context, path string, u *URI, maxSessions int) (Conn, error) {
	h := d[path]
	if h == nil {
		return nil, fmt.Errorf("no fake module at %s", path)
	}
	slot, err := findSlot(h, u)
	if err != nil {
		return nil, err
	}
	return &fakeConn{fakeHSM: h, slot: slot}, nil
}

// fakeModulePath makes a file to stand for a fake module: URIs must name
// a module that exists.
func fakeModulePath(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".so")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return real
}
