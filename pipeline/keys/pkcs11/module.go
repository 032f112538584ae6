package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// Module is the part of the PKCS #11 API (v2.40) the pool calls, with the
// signatures of github.com/miekg/pkcs11, so that a *p11.Ctx is a Module.
// It is the seam tests use to put an in-process token in place of a
// library (smallstep's P11 idea). Implementations must be safe for
// concurrent use on distinct sessions, as a library initialised with
// CKF_OS_LOCKING_OK is.
type Module interface {
	GetInfo() (p11.Info, error)
	GetSlotList(tokenPresent bool) ([]uint, error)
	GetSlotInfo(slotID uint) (p11.SlotInfo, error)
	GetTokenInfo(slotID uint) (p11.TokenInfo, error)
	OpenSession(slotID uint, flags uint) (p11.SessionHandle, error)
	CloseSession(sh p11.SessionHandle) error
	GetSessionInfo(sh p11.SessionHandle) (p11.SessionInfo, error)
	Login(sh p11.SessionHandle, userType uint, pin string) error
	FindObjectsInit(sh p11.SessionHandle, template []*p11.Attribute) error
	FindObjects(sh p11.SessionHandle, max int) ([]p11.ObjectHandle, bool, error)
	FindObjectsFinal(sh p11.SessionHandle) error
	GetAttributeValue(sh p11.SessionHandle, o p11.ObjectHandle, a []*p11.Attribute) ([]*p11.Attribute, error)
	SignInit(sh p11.SessionHandle, m []*p11.Mechanism, o p11.ObjectHandle) error
	Sign(sh p11.SessionHandle, message []byte) ([]byte, error)
}

var _ Module = (*p11.Ctx)(nil)

// Conn is a connection to one token: its module's functions, the slot
// the token sits in, and crypto11's key-pair lookup, through which the
// pool signs with ECDSA and RSA keys.
type Conn interface {
	Module
	// SlotID returns the slot holding the token.
	SlotID() uint
	// FindKeyPair returns the crypto11 signer for the key pair whose
	// private key has this CKA_ID and CKA_LABEL (either may be nil).
	FindKeyPair(id, label []byte) (crypto11.Signer, error)
	// Close releases the connection. The pool closes every session it
	// opened on the connection first.
	Close() error
}

// Dialer connects the pool to tokens.
type Dialer interface {
	// Dial connects to the one token whose slot, token and library match
	// the path attributes of u (RFC 7512 §2.5), in the module at path,
	// without logging in. It returns an error wrapping ErrTokenNotFound
	// if no token matches. maxSessions bounds the sessions the connection
	// may keep for crypto11 signatures.
	Dial(ctx context.Context, path string, u *URI, maxSessions int) (Conn, error)
}

// Crypto11Dialer is the default Dialer: it loads modules with
// github.com/miekg/pkcs11 and signs ECDSA and RSA through
// github.com/ThalesGroup/crypto11.
//
// crypto11 keeps a process-wide, reference-counted handle per module path
// and fails if anything else has called C_Initialize on the module, so
// crypto11 owns each module's lifetime here: Dial finds the slot with a
// handle of its own, finalizes it again if it was the one to initialize
// the module, opens a crypto11 context on that slot (which initializes
// the module), then joins the module with its own handle
// (CKR_CRYPTOKI_ALREADY_INITIALIZED) for the calls crypto11 does not
// offer. Close releases the handle, then the context; crypto11 finalizes
// the module when its last context closes, so the next Dial sees tokens
// created since (SoftHSM2 reads its token directory only in C_Initialize).
// Code elsewhere in the process that initializes a module outside crypto11
// breaks this; use crypto11 there too.
type Crypto11Dialer struct{}

// moduleLocks serializes dials and closes per module path, so that no
// probe overlaps crypto11's C_Initialize or C_Finalize of the module.
var moduleLocks sync.Map // path → *sync.Mutex

func moduleLock(path string) *sync.Mutex {
	mu, _ := moduleLocks.LoadOrStore(path, new(sync.Mutex))
	return mu.(*sync.Mutex)
}

// Dial implements Dialer.
func (Crypto11Dialer) Dial(ctx context.Context, path string, u *URI, maxSessions int) (Conn, error) {
	mu := moduleLock(path)
	mu.Lock()
	defer mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw := p11.New(path)
	if raw == nil {
		return nil, fmt.Errorf("%w: cannot load PKCS #11 module %s", ErrBadURI, path)
	}
	owner, err := initialize(raw)
	if err != nil {
		raw.Destroy()
		return nil, opError("C_Initialize", u.tokenName(), err)
	}
	slot, err := findSlot(raw, u)
	if owner {
		// Leave C_Initialize to crypto11, which insists on making it.
		_ = raw.Finalize()
	}
	if err != nil {
		raw.Destroy()
		return nil, err
	}
	n := int(slot)
	c11, err := crypto11.Configure(&crypto11.Config{
		Path:              path,
		SlotNumber:        &n,
		LoginNotSupported: true, // the pool logs in itself, to track the state
		MaxSessions:       maxSessions + 1,
	})
	if err != nil {
		raw.Destroy()
		return nil, opError("crypto11.Configure", u.tokenName(), err)
	}
	if _, err := initialize(raw); err != nil {
		raw.Destroy()
		_ = c11.Close()
		return nil, opError("C_Initialize", u.tokenName(), err)
	}
	return &crypto11Conn{Ctx: raw, c11: c11, slot: slot, path: path}, nil
}

// initialize calls C_Initialize and reports whether this call did it.
func initialize(m *p11.Ctx) (owner bool, err error) {
	err = m.Initialize()
	if errors.Is(err, p11.Error(p11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		return false, nil
	}
	return err == nil, err
}

// crypto11Conn is a Conn on a crypto11 context plus a joined module handle.
type crypto11Conn struct {
	*p11.Ctx
	c11  *crypto11.Context
	slot uint
	path string
}

// SlotID implements Conn.
func (c *crypto11Conn) SlotID() uint { return c.slot }

// FindKeyPair implements Conn through crypto11.
func (c *crypto11Conn) FindKeyPair(id, label []byte) (crypto11.Signer, error) {
	return c.c11.FindKeyPair(id, label)
}

// Close releases the joined handle without finalizing the module, then
// the crypto11 context, which finalizes it if it was the last one.
func (c *crypto11Conn) Close() error {
	mu := moduleLock(c.path)
	mu.Lock()
	defer mu.Unlock()
	c.Ctx.Destroy()
	return c.c11.Close()
}

// findSlot returns the one slot whose library, slot and token match the
// path attributes of u (RFC 7512 §2.5: every attribute present must
// match; absent ones match anything). A URI must select its token by
// token, serial or slot-id.
func findSlot(m Module, u *URI) (uint, error) {
	name := u.tokenName()
	if !u.selectsToken() {
		return 0, fmt.Errorf("%w: %s selects no token: add token=, serial= or slot-id=", ErrBadURI, u)
	}
	info, err := m.GetInfo()
	if err != nil {
		return 0, opError("C_GetInfo", name, err)
	}
	if !u.matchLibrary(info) {
		return 0, fmt.Errorf("%w: %w: library %q %d.%d does not match %s", ErrTokenNotFound, keys.ErrKeyNotFound,
			info.LibraryDescription, info.LibraryVersion.Major, info.LibraryVersion.Minor, u)
	}
	slots, err := m.GetSlotList(true)
	if err != nil {
		return 0, opError("C_GetSlotList", name, err)
	}
	var found []uint
	var seen []string
	for _, id := range slots {
		ti, err := m.GetTokenInfo(id)
		if err != nil {
			continue // a token going away; it cannot be the one
		}
		seen = append(seen, fmt.Sprintf("%q (serial %q, slot %d)", ti.Label, ti.SerialNumber, id))
		si, err := m.GetSlotInfo(id)
		if err != nil {
			continue
		}
		if u.matchSlot(id, si) && u.matchToken(ti) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if len(seen) == 0 {
			seen = []string{"none"}
		}
		return 0, fmt.Errorf("%w: %w: no token matches %s (tokens present: %s)", ErrTokenNotFound, keys.ErrKeyNotFound, u, strings.Join(seen, ", "))
	}
	return 0, fmt.Errorf("%w: %d tokens in slots %v match %s: add serial= or slot-id=", ErrBadURI, len(found), found, u)
}

func (u *URI) selectsToken() bool {
	return slices.ContainsFunc([]string{attrToken, attrSerial, attrSlotID}, func(n string) bool {
		_, ok := u.Path(n)
		return ok
	})
}

// PKCS #11 pads its fixed-length strings with blanks; miekg/pkcs11 trims
// the end. Compare trimmed, as p11-kit does.
func eq(want string, have string) bool {
	return strings.TrimRight(want, " ") == strings.TrimRight(have, " ")
}

func (u *URI) matchLibrary(info p11.Info) bool {
	if v, ok := u.Path(attrLibraryManufacturer); ok && !eq(v, info.ManufacturerID) {
		return false
	}
	if v, ok := u.Path(attrLibraryDescription); ok && !eq(v, info.LibraryDescription) {
		return false
	}
	if v, ok := u.Path(attrLibraryVersion); ok {
		major, minor, _ := parseVersion(v) // checked by ParseURI
		if major != info.LibraryVersion.Major || minor != info.LibraryVersion.Minor {
			return false
		}
	}
	return true
}

func (u *URI) matchSlot(id uint, si p11.SlotInfo) bool {
	if v, ok := u.Path(attrSlotID); ok {
		n, _ := parseSlotID(v) // checked by ParseURI
		if n != id {
			return false
		}
	}
	if v, ok := u.Path(attrSlotManufacturer); ok && !eq(v, si.ManufacturerID) {
		return false
	}
	if v, ok := u.Path(attrSlotDescription); ok && !eq(v, si.SlotDescription) {
		return false
	}
	return true
}

func (u *URI) matchToken(ti p11.TokenInfo) bool {
	for _, c := range []struct{ name, have string }{
		{attrToken, ti.Label},
		{attrManufacturer, ti.ManufacturerID},
		{attrSerial, ti.SerialNumber},
		{attrModel, ti.Model},
	} {
		if v, ok := u.Path(c.name); ok && !eq(v, c.have) {
			return false
		}
	}
	return true
}
