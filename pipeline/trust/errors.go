package trust

import (
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// Sentinel errors. Verify's errors wrap one of them through a *CertError
// or a *RevokedError that names the certificate concerned.
var (
	// ErrUnknownAuthority: no chain from the certificate to a trusted root.
	ErrUnknownAuthority = errors.New("trust: certificate signed by an unknown authority")
	// ErrNotValidAt: a certificate of the chain is expired or not yet valid
	// at the time of verification.
	ErrNotValidAt = errors.New("trust: certificate not valid at the verification time")
	// ErrRevoked: a certificate of the chain is on a CRL (see RevokedError).
	ErrRevoked = errors.New("trust: certificate revoked")
	// ErrKeyUsage: the certificate's key usage does not permit the use asked for.
	ErrKeyUsage = errors.New("trust: key usage does not permit this use")
	// ErrInvalidCA: an issuer of the chain is not a CA (no basicConstraints
	// cA, no keyCertSign / cRLSign key usage, or its path length exceeded).
	ErrInvalidCA = errors.New("trust: issuer is not a valid CA")
	// ErrUnhandledCritical: a certificate or CRL carries a critical
	// extension this package does not process (RFC 5280 §4.2).
	ErrUnhandledCritical = errors.New("trust: unhandled critical extension")
	// ErrMalformed: bytes that do not parse as a certificate or CRL.
	ErrMalformed = errors.New("trust: malformed input")
)

// CertError reports why one certificate failed verification. It wraps one
// of the sentinel errors.
type CertError struct {
	Cert   *smx509.Certificate // the certificate at fault
	Err    error               // the sentinel: ErrNotValidAt, ErrInvalidCA, …
	Detail string              // what exactly is wrong, quoting the values
}

func (e *CertError) Error() string {
	return fmt.Sprintf("%v: certificate %s: %s", e.Err, Name(e.Cert), e.Detail)
}

// Unwrap returns the sentinel error.
func (e *CertError) Unwrap() error { return e.Err }

func certErr(c *smx509.Certificate, sentinel error, format string, args ...any) *CertError {
	return &CertError{Cert: c, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}

// RevokedError reports a certificate of the chain listed on a CRL. Verify
// returns it, together with the otherwise valid chain, whether the
// revocation took effect before or after the verification time: compare
// At with that time. GB/T 38540 §7.3 (f) accepts a signature made before
// its certificate's revocation, so a revocation after the signing time
// need not fail it.
type RevokedError struct {
	Cert    *smx509.Certificate // the revoked certificate
	At      time.Time           // revocation time stated by the CRL
	Reason  int                 // CRLReason (RFC 5280 §5.3.1); 0 is unspecified
	Checked time.Time           // the time Verify was asked about
}

func (e *RevokedError) Error() string {
	when := "before"
	if e.At.After(e.Checked) {
		when = "after"
	}
	return fmt.Sprintf("%v: certificate %s serial %X revoked at %s (%s), %s the verification time %s",
		ErrRevoked, Name(e.Cert), e.Cert.SerialNumber, e.At.UTC().Format(time.RFC3339), reasonName(e.Reason),
		when, e.Checked.UTC().Format(time.RFC3339))
}

// Is reports whether target is ErrRevoked.
func (e *RevokedError) Is(target error) bool { return target == ErrRevoked }

// reasonName names the RFC 5280 §5.3.1 CRLReason codes.
func reasonName(r int) string {
	names := [...]string{"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
		"superseded", "cessationOfOperation", "certificateHold", "", "removeFromCRL",
		"privilegeWithdrawn", "aACompromise"}
	if r >= 0 && r < len(names) && names[r] != "" {
		return names[r]
	}
	return fmt.Sprintf("reason %d", r)
}

// Name identifies a certificate in messages: its subject common name,
// else its whole subject, quoted.
func Name(c *smx509.Certificate) string {
	if c == nil {
		return `"<nil>"`
	}
	if c.Subject.CommonName != "" {
		return fmt.Sprintf("%q", c.Subject.CommonName)
	}
	return fmt.Sprintf("%q", c.Subject.String())
}
