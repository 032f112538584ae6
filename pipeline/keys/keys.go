// Package keys opens signing keys as plain crypto.Signer values, whatever
// holds them.
//
// A key is named by a URI whose scheme selects a backend (smallstep's kms
// model): "file:" for SM4-encrypted PKCS#8 files on disk, in this package,
// and "pkcs11:" for keys held in an HSM (GM/T 0018 devices, SoftHSM2), in
// package keys/pkcs11, which registers the scheme when imported. Callers
// depend only on Open and crypto.Signer, so adding a backend with Register
// changes no caller.
//
// Software keys never rest unencrypted: the file backend reads only PEM
// "ENCRYPTED PRIVATE KEY" blocks (PKCS#8 EncryptedPrivateKeyInfo, PBES2 with
// PBKDF2-HMAC-SM3 and SM4-CBC as written by MarshalEncryptedPEM) and refuses
// plaintext key files unless Options.AllowUnencrypted says otherwise.
//
// Signers are the key types of github.com/emmansun/gmsm and the standard
// library: *sm2.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey. An SM2
// signer signs a precomputed e = SM3(Z_A‖M) when given crypto.Hash(0) as
// options, or hashes the message itself with the default signer ID
// 1234567812345678 when given sm2.DefaultSM2SignerOpts (GB/T 32918.2).
package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Sentinel errors. Errors returned by this package wrap one of them and
// quote the offending input.
var (
	// ErrUnknownScheme reports a key URI whose scheme has no registered backend.
	ErrUnknownScheme = errors.New("keys: unknown key URI scheme")
	// ErrKeyNotFound reports a key URI that names no key.
	ErrKeyNotFound = errors.New("keys: key not found")
	// ErrBadPassphrase reports a passphrase that is empty or does not decrypt the key.
	ErrBadPassphrase = errors.New("keys: wrong passphrase")
	// ErrUnencryptedKey reports a plaintext private key where an encrypted one is required.
	ErrUnencryptedKey = errors.New("keys: private key is not encrypted")
	// ErrMalformedKey reports key bytes that are not a well-formed key of a supported format.
	ErrMalformedKey = errors.New("keys: malformed key")
	// ErrUnsupportedKey reports a key type, cipher or KDF this package does not handle.
	ErrUnsupportedKey = errors.New("keys: unsupported key")
	// ErrNoPassphrase reports that no passphrase was configured.
	ErrNoPassphrase = errors.New("keys: no passphrase configured")
)

// Options carries what a backend may need to open a key.
type Options struct {
	// Passphrase decrypts encrypted software keys. HSM backends may use it
	// as the token PIN.
	Passphrase []byte
	// AllowUnencrypted lets the file backend read plaintext PEM private
	// keys ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"). It exists
	// for third-party test vectors; never set it for keys sealpipe owns.
	AllowUnencrypted bool
}

// Backend opens the keys of one URI scheme. Implementations must be safe
// for concurrent use.
type Backend interface {
	// Open returns the signer uri names. It returns an error wrapping
	// ErrKeyNotFound if there is no such key.
	Open(ctx context.Context, uri *url.URL, opts Options) (crypto.Signer, error)
}

// BackendFunc adapts a function to the Backend interface.
type BackendFunc func(ctx context.Context, uri *url.URL, opts Options) (crypto.Signer, error)

// Open calls f.
func (f BackendFunc) Open(ctx context.Context, uri *url.URL, opts Options) (crypto.Signer, error) {
	return f(ctx, uri, opts)
}

var registry = struct {
	sync.RWMutex
	backends map[string]Backend
}{backends: map[string]Backend{"file": fileBackend{}}}

// Register makes a backend available for the URI scheme (case-insensitive,
// without the colon). Like database/sql.Register it is meant for init
// functions and panics if b is nil or the scheme is already registered:
// both are programming errors.
func Register(scheme string, b Backend) {
	scheme = strings.ToLower(scheme)
	if b == nil {
		panic("keys: Register of a nil backend for scheme " + scheme)
	}
	if scheme == "" || strings.ContainsAny(scheme, ":/") {
		panic(fmt.Sprintf("keys: Register: invalid scheme %q", scheme))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.backends[scheme]; dup {
		panic("keys: Register called twice for scheme " + scheme)
	}
	registry.backends[scheme] = b
}

// Schemes returns the registered URI schemes, sorted.
func Schemes() []string {
	registry.RLock()
	defer registry.RUnlock()
	s := make([]string, 0, len(registry.backends))
	for k := range registry.backends {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Open returns the signer a key URI names. The scheme selects a registered
// backend; this package ships "file" (file:/abs/path/key.pem,
// file:///abs/path/key.pem, or a bare path without a scheme).
func Open(ctx context.Context, uri string, opts Options) (crypto.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if uri == "" {
		return nil, fmt.Errorf("%w: empty key URI", ErrKeyNotFound)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		// A bare path: "/etc/sealpipe/key.pem", "keys/a.pem".
		u = &url.URL{Scheme: "file", Path: uri}
	}
	registry.RLock()
	b, ok := registry.backends[u.Scheme]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q in %q (registered: %s)", ErrUnknownScheme, u.Scheme, redact(u), strings.Join(Schemes(), ", "))
	}
	return b.Open(ctx, u, opts)
}

// redact renders a URI for error messages without the secrets it may
// carry: user info, and the query where RFC 7512 pkcs11 URIs put pin-value.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.ForceQuery = false
	return c.String()
}
