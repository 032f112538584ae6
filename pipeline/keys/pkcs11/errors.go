package pkcs11

import (
	"context"
	"errors"
	"fmt"

	p11 "github.com/miekg/pkcs11"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// Sentinel errors. Errors from this package wrap one of them (or one of
// package keys: keys.ErrKeyNotFound, keys.ErrUnsupportedKey) and, where a
// PKCS #11 function failed, the p11.Error it returned, so both
// errors.Is(err, ErrLogin) and errors.As(err, new(p11.Error)) work.
var (
	// ErrBadURI reports a pkcs11: URI that is malformed, or that this
	// package cannot use to name one private key (no token, no object,
	// an unknown path attribute, two matching keys).
	ErrBadURI = errors.New("pkcs11: bad key URI")
	// ErrModuleNotAllowed reports a key URI naming a module that
	// Config.AllowedModules does not list.
	ErrModuleNotAllowed = errors.New("pkcs11: module not allowed")
	// ErrLogin reports a failed login: no PIN, a wrong, locked or expired
	// PIN, or an unreadable pin-source.
	ErrLogin = errors.New("pkcs11: login failed")
	// ErrTokenNotFound reports that no token matches a URI. Errors wrapping
	// it also wrap keys.ErrKeyNotFound.
	ErrTokenNotFound = errors.New("pkcs11: token not found")
	// ErrMechanism reports a signature mechanism the token does not offer
	// for the key, or an SM2 key with no mechanism configured.
	ErrMechanism = errors.New("pkcs11: mechanism not available")
	// ErrUnavailable reports that no member of a key could sign; it wraps
	// each member's error.
	ErrUnavailable = errors.New("pkcs11: no member of the key could sign")
	// ErrKeyChanged reports that a key found again after a reconnection
	// has another public key than the one the Signer was opened with.
	ErrKeyChanged = errors.New("pkcs11: key changed on the token")
	// ErrBadSignature reports token output that is not a well-formed
	// signature, or an SM2 signature that does not verify under the key:
	// usually an SM2Mechanism whose Input or Output does not match the
	// token's mechanism.
	ErrBadSignature = errors.New("pkcs11: bad signature from token")
	// ErrSignerOpts reports signing options or a digest this key cannot
	// sign: a digest of the wrong length, or an SM2 signer ID other than
	// the default.
	ErrSignerOpts = errors.New("pkcs11: unsupported signing request")
	// ErrClosed reports use of a closed Backend.
	ErrClosed = errors.New("pkcs11: backend closed")
)

// OpError is a failed PKCS #11 call or pool step on one token.
type OpError struct {
	// Op is the PKCS #11 function ("C_Sign", "C_Login") or the pool step
	// ("dial", "find key") that failed.
	Op string
	// Token names the token, as its URI selects it.
	Token string
	// Err is the cause: a p11.Error for a failed PKCS #11 function.
	Err error
}

// Error returns "pkcs11: <op> on token <token>: <cause>".
func (e *OpError) Error() string {
	return fmt.Sprintf("pkcs11: %s on token %q: %v", e.Op, e.Token, e.Err)
}

// Unwrap returns the cause and the sentinel error its PKCS #11 return
// value maps to, if any (ErrLogin for CKR_PIN_INCORRECT, ErrMechanism for
// CKR_MECHANISM_INVALID, ErrTokenNotFound for CKR_TOKEN_NOT_PRESENT, …).
func (e *OpError) Unwrap() []error {
	if s := sentinel(e.Err); s != nil {
		return []error{e.Err, s}
	}
	return []error{e.Err}
}

func opError(op, token string, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Token: token, Err: err}
}

// class sorts PKCS #11 failures by what the pool does about them.
type class int

const (
	// classOther: the member failed; try the next one.
	classOther class = iota
	// classInput: the request itself is wrong; no member can do better.
	classInput
	// classHandle: the object handle or the login went away; log in again
	// if needed, find the key again and retry on the same connection.
	classHandle
	// classConn: the session, token or library went away; reconnect.
	classConn
	// classLogin: the PIN was refused; do not retry it (PINs lock).
	classLogin
	// classMechanism: the token cannot do this signature with this key.
	classMechanism
)

// classify sorts err by its PKCS #11 return value, if it carries one.
func classify(err error) class {
	var rv p11.Error
	if !errors.As(err, &rv) {
		switch {
		case errors.Is(err, ErrSignerOpts), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return classInput
		case errors.Is(err, ErrLogin):
			return classLogin
		case errors.Is(err, ErrMechanism):
			return classMechanism
		}
		return classOther
	}
	switch rv {
	case p11.CKR_OBJECT_HANDLE_INVALID, p11.CKR_KEY_HANDLE_INVALID, p11.CKR_USER_NOT_LOGGED_IN:
		return classHandle
	case p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_SESSION_COUNT,
		p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_TOKEN_NOT_RECOGNIZED, p11.CKR_DEVICE_REMOVED,
		p11.CKR_DEVICE_ERROR, p11.CKR_DEVICE_MEMORY, p11.CKR_GENERAL_ERROR,
		p11.CKR_CRYPTOKI_NOT_INITIALIZED, p11.CKR_SLOT_ID_INVALID:
		return classConn
	case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_INVALID, p11.CKR_PIN_LEN_RANGE, p11.CKR_PIN_EXPIRED,
		p11.CKR_PIN_LOCKED, p11.CKR_USER_PIN_NOT_INITIALIZED, p11.CKR_USER_TYPE_INVALID:
		return classLogin
	case p11.CKR_MECHANISM_INVALID, p11.CKR_MECHANISM_PARAM_INVALID, p11.CKR_KEY_TYPE_INCONSISTENT,
		p11.CKR_KEY_FUNCTION_NOT_PERMITTED, p11.CKR_FUNCTION_NOT_SUPPORTED:
		return classMechanism
	case p11.CKR_DATA_LEN_RANGE, p11.CKR_DATA_INVALID:
		return classInput
	}
	return classOther
}

// sentinel maps a PKCS #11 return value to this package's sentinel error.
func sentinel(err error) error {
	var rv p11.Error
	if !errors.As(err, &rv) {
		return nil
	}
	switch classify(err) {
	case classLogin:
		return ErrLogin
	case classMechanism:
		return ErrMechanism
	}
	if rv == p11.CKR_TOKEN_NOT_PRESENT || rv == p11.CKR_TOKEN_NOT_RECOGNIZED {
		return ErrTokenNotFound
	}
	return nil
}

// Error kinds: the values of the kind label of the errors metric.
const (
	kindLogin     = "login"       // PIN refused, no PIN
	kindNotFound  = "not_found"   // token or key missing
	kindHandle    = "handle"      // handle invalid or logged out: re-login, re-find
	kindSession   = "session"     // session, token or library lost: reconnect
	kindMechanism = "mechanism"   // mechanism or key type unsupported
	kindInput     = "input"       // bad digest or options
	kindTimeout   = "timeout"     // waited past the context's deadline
	kindCanceled  = "canceled"    // context canceled while waiting
	kindSignature = "signature"   // token output malformed or not verifying
	kindChanged   = "key_changed" // the key found again is another key
	kindOther     = "other"
)

// kind names err for the errors metric.
func kind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return kindTimeout
	case errors.Is(err, context.Canceled):
		return kindCanceled
	case errors.Is(err, ErrTokenNotFound), errors.Is(err, keys.ErrKeyNotFound):
		return kindNotFound
	case errors.Is(err, ErrKeyChanged):
		return kindChanged
	case errors.Is(err, ErrBadSignature):
		return kindSignature
	case errors.Is(err, ErrSignerOpts):
		return kindInput
	}
	switch classify(err) {
	case classLogin:
		return kindLogin
	case classHandle:
		return kindHandle
	case classConn:
		return kindSession
	case classMechanism:
		return kindMechanism
	case classInput:
		return kindInput
	}
	return kindOther
}
