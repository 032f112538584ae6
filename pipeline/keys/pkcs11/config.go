package pkcs11

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for the zero values of Config fields.
const (
	// DefaultMaxSessions is the default Config.MaxSessions.
	DefaultMaxSessions = 16
	// DefaultWaitTimeout is the default Config.WaitTimeout.
	DefaultWaitTimeout = 30 * time.Second
	// DefaultHealthInterval is the default Config.HealthInterval.
	DefaultHealthInterval = 30 * time.Second
)

// DefaultModuleDirs are searched for a module named by module-name when
// Config.ModuleDirs is nil: p11-kit's module directories on Debian and
// Red Hat systems, and SoftHSM2's.
var DefaultModuleDirs = []string{
	"/usr/lib/x86_64-linux-gnu/pkcs11",
	"/usr/lib/aarch64-linux-gnu/pkcs11",
	"/usr/lib64/pkcs11",
	"/usr/lib/pkcs11",
	"/usr/lib/softhsm",
	"/usr/local/lib/softhsm",
}

// Config tunes a Backend. Its zero value is ready to use: every field's
// zero value means the default its comment gives (asynq's Config style).
type Config struct {
	// MaxSessions caps the signatures in progress at once on one token,
	// each on its own session; all keys on the token share them, and
	// callers beyond the cap wait. Zero means DefaultMaxSessions.
	//
	// Besides these, a connection to a token keeps two sessions open:
	// crypto11's, which keeps its object handles valid, and the pool's
	// control session, which keeps the login (PKCS #11 logs an
	// application out when it closes its last session on a token) and
	// serves key lookups and health checks.
	MaxSessions int

	// WaitTimeout bounds how long Sign, which takes no context, waits for
	// a session. Zero means DefaultWaitTimeout; negative means no bound.
	// SignContext waits as long as its context allows.
	WaitTimeout time.Duration

	// HealthInterval is the period of the background health check (see
	// Backend.Check). Zero means DefaultHealthInterval; negative turns the
	// background check off.
	HealthInterval time.Duration

	// Module is the module path used for URIs that have neither
	// module-path nor module-name. Zero means none: such URIs are refused.
	Module string

	// AllowedModules, if not nil, are the only PKCS #11 libraries the pool
	// loads: a key URI whose module (module-path, module-name or Module)
	// is not one of them, once symbolic links are resolved, is refused
	// with ErrModuleNotAllowed before anything is loaded. A module is code
	// run inside the process: a deployment lists the vendor libraries of
	// its HSMs. Nil allows any module.
	AllowedModules []string

	// ModuleDirs are searched in order for a module-name, as NAME,
	// NAME.so and libNAME.so. Nil means DefaultModuleDirs.
	ModuleDirs []string

	// SM2 describes the token's SM2 signature mechanism.
	SM2 SM2Mechanism

	// Registerer receives the pool's metrics (see the package comment).
	// Nil means none are registered.
	Registerer prometheus.Registerer

	// Dialer connects to tokens. Nil means Crypto11Dialer{}.
	Dialer Dialer
}

// SM2Mechanism describes a token's vendor mechanism for SM2 signatures.
// PKCS #11 defines none, so each vendor picks a CKM_VENDOR_DEFINED code,
// what C_Sign takes and what it returns.
type SM2Mechanism struct {
	// Mechanism is the CKM_ code of the SM2 signature mechanism, usually
	// CKM_VENDOR_DEFINED (0x80000000) plus a vendor number. Zero means
	// none: SM2 keys are found and their public keys read, but signing
	// with them fails with ErrMechanism.
	Mechanism uint

	// Parameter is passed as the mechanism's parameter, for vendors that
	// take the signer ID there. Nil means no parameter.
	Parameter []byte

	// Input is what C_Sign is given. Zero means SM2Digest.
	Input SM2Input

	// Output is the form of C_Sign's result. Zero means SM2Raw.
	Output SM2Output

	// KeyType is a vendor CKA_KEY_TYPE the token gives SM2 keys, for
	// tokens that do not store them as CKK_EC keys whose CKA_EC_PARAMS
	// name the SM2 curve (1.2.156.10197.1.301). Zero means CKK_EC only.
	KeyType uint

	// SkipVerify turns off the check that each SM2 signature from the
	// token verifies under the key before it is returned (about 60 µs a
	// signature). The check catches an Input or Output that does not match
	// the token, which would otherwise yield signatures nobody can verify.
	SkipVerify bool
}

// SM2Input is what an SM2 mechanism signs.
type SM2Input int

const (
	// SM2Digest: C_Sign takes the 32-byte digest e = SM3(Z_A ‖ M)
	// (GB/T 32918.2-2016 §6.1 steps A1–A2), which the pool computes from
	// the public key and the default signer ID 1234567812345678
	// (GB/T 35276-2017). GM/T 0018 devices work this way.
	SM2Digest SM2Input = iota
	// SM2Message: C_Sign takes the message M; the token computes Z_A and
	// e itself, with the default signer ID or the one in Parameter.
	SM2Message
)

// SM2Output is the form in which an SM2 mechanism returns a signature.
type SM2Output int

const (
	// SM2Raw: r ‖ s, each a 32-byte big-endian integer.
	SM2Raw SM2Output = iota
	// SM2DER: the DER SEQUENCE { r INTEGER, s INTEGER } of GB/T 35276.
	SM2DER
)

// String returns "digest" or "message".
func (in SM2Input) String() string {
	switch in {
	case SM2Digest:
		return "digest"
	case SM2Message:
		return "message"
	}
	return "SM2Input(" + strconv.Itoa(int(in)) + ")"
}

// String returns "r||s" or "DER".
func (out SM2Output) String() string {
	switch out {
	case SM2Raw:
		return "r||s"
	case SM2DER:
		return "DER"
	}
	return "SM2Output(" + strconv.Itoa(int(out)) + ")"
}

// withDefaults returns c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.WaitTimeout == 0 {
		c.WaitTimeout = DefaultWaitTimeout
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = DefaultHealthInterval
	}
	if c.ModuleDirs == nil {
		c.ModuleDirs = DefaultModuleDirs
	}
	if c.Dialer == nil {
		c.Dialer = Crypto11Dialer{}
	}
	return c
}
