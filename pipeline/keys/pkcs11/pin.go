package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"strings"

	p11 "github.com/miekg/pkcs11"
)

// ErrPINChange reports a token or connection that cannot change its user
// PIN from the application: a protected authentication path (a PIN pad),
// or a connection without C_SetPIN.
var ErrPINChange = errors.New("pkcs11: the PIN cannot be changed here")

// pinSetter is the part of the PKCS #11 API a PIN change needs beyond
// Module; *p11.Ctx, and so the default Dialer's connections, have it.
type pinSetter interface {
	SetPIN(sh p11.SessionHandle, oldPIN, newPIN string) error
	Logout(sh p11.SessionHandle) error
}

// Token describes the token a URI selects, for PIN management.
type Token struct {
	// ID identifies the token within this host: its module's path and the
	// URI attributes that select it. URIs naming the same token in the
	// same module have the same ID.
	ID string
	// Name names it in messages: its label, serial or slot.
	Name string
	// Module is the module's path, symbolic links resolved.
	Module string
	// PINFile is the file the URI's pin-source names; empty if it has
	// none.
	PINFile string
}

// Token resolves the token uri selects — its module (module-path,
// module-name or Config.Module, which must be allowed) and its pin-source
// — without loading anything. uri may name an object; only its token
// attributes count.
func (b *Backend) Token(uri string) (Token, error) {
	u, path, err := b.tokenURI(uri)
	if err != nil {
		return Token{}, err
	}
	t := Token{ID: path + " " + strings.TrimSuffix(u.tokenKey(), ";"), Name: u.tokenName(), Module: path}
	if src, ok := u.Query(attrPINSource); ok {
		if t.PINFile, err = pinSourcePath(src); err != nil {
			return Token{}, err
		}
	}
	return t, nil
}

// tokenURI parses uri and resolves its module.
func (b *Backend) tokenURI(uri string) (*URI, string, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, "", err
	}
	if !u.selectsToken() {
		return nil, "", fmt.Errorf("%w: %s selects no token: add token=, serial= or slot-id=", ErrBadURI, u)
	}
	path, err := u.modulePath(b.cfg.Module, b.cfg.ModuleDirs)
	if err != nil {
		return nil, "", err
	}
	if err := b.allowed(path); err != nil {
		return nil, "", err
	}
	return u, path, nil
}

// PINLength returns the shortest and longest user PIN the token uri
// selects accepts (C_GetTokenInfo's ulMinPinLen and ulMaxPinLen).
func (b *Backend) PINLength(ctx context.Context, uri string) (minLen, maxLen int, err error) {
	err = b.onToken(ctx, uri, false, func(c Conn, _ p11.SessionHandle, name string) error {
		ti, err := c.GetTokenInfo(c.SlotID())
		if err != nil {
			return opError("C_GetTokenInfo", name, err)
		}
		minLen, maxLen = int(ti.MinPinLen), int(ti.MaxPinLen)
		return nil
	})
	return minLen, maxLen, err
}

// Login logs in to the token uri selects as the user with pin, and out
// again: nil if the token accepts pin, an error wrapping ErrLogin if it
// refuses it. A token this process is logged in to already cannot be
// asked (the login would not check the PIN): that is an error too.
func (b *Backend) Login(ctx context.Context, uri, pin string) error {
	return b.onToken(ctx, uri, false, func(c Conn, sh p11.SessionHandle, name string) error {
		if err := userLogin(c, sh, name, pin); err != nil {
			return err
		}
		if ps, ok := c.(pinSetter); ok {
			_ = ps.Logout(sh) // closing the session logs out too
		}
		return nil
	})
}

// ChangePIN changes the user PIN of the token uri selects from oldPIN to
// newPIN: C_Login as the user with oldPIN and C_SetPIN on a read-write
// session, then C_Logout. It returns an error wrapping ErrLogin if the
// token refuses oldPIN or newPIN (CKR_PIN_INCORRECT, CKR_PIN_INVALID,
// CKR_PIN_LEN_RANGE, …), ErrPINChange if it takes PINs on a PIN pad. PINs
// never appear in errors.
func (b *Backend) ChangePIN(ctx context.Context, uri, oldPIN, newPIN string) error {
	return b.onToken(ctx, uri, true, func(c Conn, sh p11.SessionHandle, name string) error {
		ps, ok := c.(pinSetter)
		if !ok {
			return fmt.Errorf("%w: the connection to token %q has no C_SetPIN", ErrPINChange, name)
		}
		ti, err := c.GetTokenInfo(c.SlotID())
		if err != nil {
			return opError("C_GetTokenInfo", name, err)
		}
		if ti.Flags&p11.CKF_PROTECTED_AUTHENTICATION_PATH != 0 {
			return fmt.Errorf("%w: token %q takes its PIN on a PIN pad: change it there", ErrPINChange, name)
		}
		if err := userLogin(c, sh, name, oldPIN); err != nil {
			return err
		}
		err = opError("C_SetPIN", name, ps.SetPIN(sh, oldPIN, newPIN))
		_ = ps.Logout(sh) // closing the session logs out too
		return err
	})
}

// userLogin logs the user in on sh with pin; a session logged in already
// is an error, since its login says nothing of pin.
func userLogin(c Conn, sh p11.SessionHandle, name, pin string) error {
	err := c.Login(sh, p11.CKU_USER, pin)
	if errors.Is(err, p11.Error(p11.CKR_USER_ALREADY_LOGGED_IN)) {
		return fmt.Errorf("%w: this process is logged in to token %q already: the PIN cannot be checked", ErrPINChange, name)
	}
	return opError("C_Login", name, err)
}

// onToken connects to the token uri selects, opens a session (read-write
// if rw), calls f, then closes the session and the connection.
func (b *Backend) onToken(ctx context.Context, uri string, rw bool, f func(c Conn, sh p11.SessionHandle, name string) error) error {
	u, path, err := b.tokenURI(uri)
	if err != nil {
		return err
	}
	name := u.tokenName()
	c, err := b.cfg.Dialer.Dial(ctx, path, u, 1)
	if err != nil {
		return err
	}
	defer c.Close()
	flags := uint(p11.CKF_SERIAL_SESSION)
	if rw {
		flags |= p11.CKF_RW_SESSION
	}
	sh, err := c.OpenSession(c.SlotID(), flags)
	if err != nil {
		return opError("C_OpenSession", name, err)
	}
	defer c.CloseSession(sh)
	return f(c, sh, name)
}
