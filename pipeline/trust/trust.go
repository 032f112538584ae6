// Package trust decides whether a certificate is trusted for a purpose at a
// given time. It builds the chain from the certificate up to a configured
// root and checks, for every link, the issuer's signature, the validity
// window at that time, the issuer's CA constraints and the CRLs it issued,
// and, for the certificate itself, the key usage the purpose needs: the
// certificate checks of GB/T 38540-2020 §6.3 step (3) (seal maker) and
// §7.3 steps (e) and (f) (signer), and of approval manifests.
//
// Verification at a past time is the normal case: a seal signature is
// checked at its signing time, long after which its certificate may have
// expired or been revoked. Revocation is reported with its time (see
// RevokedError) so callers can tell a revocation before the signing time
// from one after it.
//
// All signature algorithms of github.com/emmansun/gmsm/smx509 verify,
// SM2-with-SM3 with the default signer ID included; SHA-1 and MD5
// certificate signatures are refused. Name constraints and certificate
// policies are not evaluated, except that sealpipe's own roles require
// their OID (see Usage). CRLs added with AddCRL are used as given,
// without a freshness requirement: a certificate on no CRL the pool holds
// counts as not revoked. CRLs downloaded while verifying (SetOnlineCRLs,
// CRLFetcher) must be current — within their nextUpdate — or the
// revocation status is unknown (ErrRevocationUnknown), never assumed.
package trust

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// maxChainLength bounds the chains Verify builds, root included.
const maxChainLength = 8

// maxSignatureChecks bounds the signatures one Verify call checks, so that
// a document carrying many look-alike intermediates (same subject, same
// key) cannot make chain building explode combinatorially. Go's
// crypto/x509 uses the same bound.
const maxSignatureChecks = 100

// Pool holds trusted roots, known intermediates and the CRLs their issuers
// published. It is safe for concurrent use; AddCRL may run alongside
// Verify.
type Pool struct {
	mu        sync.RWMutex
	roots     map[string]bool                  // DER of each root
	bySubject map[string][]*smx509.Certificate // roots and intermediates by raw subject
	revoked   map[string]map[string]revocation // issuer DER → serial → revocation
	roles     map[Usage]asn1.ObjectIdentifier  // the OID each role needs
	online    *OnlineCRLs                      // CRLs downloaded while verifying, nil for none
}

// revocation is one CRL entry.
type revocation struct {
	at     time.Time
	reason int
}

// NewPool returns a pool trusting roots, with intermediates available for
// building chains (but not trusted as anchors). Nil certificates are
// skipped, duplicates kept once.
func NewPool(roots []*smx509.Certificate, intermediates ...*smx509.Certificate) *Pool {
	p := &Pool{
		roots:     make(map[string]bool),
		bySubject: make(map[string][]*smx509.Certificate),
		revoked:   make(map[string]map[string]revocation),
		roles:     defaultRoleOIDs(),
	}
	for _, r := range roots {
		if r != nil {
			p.roots[string(r.Raw)] = true
			p.add(r)
		}
	}
	for _, c := range intermediates {
		if c != nil {
			p.add(c)
		}
	}
	return p
}

// SetRoleOID makes oid the OID a certificate must carry (as an extended
// key usage or a policy) to serve role u: UsageApprover,
// UsageRegistryAdmin, UsagePipeline or UsageProvince. It panics for
// other usages.
func (p *Pool) SetRoleOID(u Usage, oid asn1.ObjectIdentifier) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.roles[u]; !ok || len(oid) == 0 {
		panic(fmt.Sprintf("trust: SetRoleOID(%v, %v): not a role, or no OID", u, oid))
	}
	p.roles[u] = oid
}

// RoleOID returns the OID role u requires, nil for a usage that is no role.
func (p *Pool) RoleOID(u Usage) asn1.ObjectIdentifier {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.roles[u]
}

func (p *Pool) add(c *smx509.Certificate) {
	k := string(c.RawSubject)
	for _, have := range p.bySubject[k] {
		if bytes.Equal(have.Raw, c.Raw) {
			return
		}
	}
	p.bySubject[k] = append(p.bySubject[k], c)
}

// HasRoots reports whether the pool trusts any root. A pool without one
// establishes no chain: every Verify fails, with ErrUnknownAuthority at
// best.
func (p *Pool) HasRoots() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.roots) > 0
}

// Roots returns the trusted roots.
func (p *Pool) Roots() []*smx509.Certificate {
	var out []*smx509.Certificate
	for _, cs := range p.bySubject {
		for _, c := range cs {
			if p.roots[string(c.Raw)] {
				out = append(out, c)
			}
		}
	}
	return out
}

// Verify checks cert for usage at time at and returns its chain, leaf
// first, root last.
//
// On failure the error wraps ErrUnknownAuthority, ErrNotValidAt,
// ErrKeyUsage, ErrInvalidCA, ErrUnhandledCritical (each through a
// *CertError naming the certificate at fault) or ErrRevoked (through a
// *RevokedError), or, with online CRLs (SetOnlineCRLs), ErrRevocationUnknown
// (through a *RevocationUnknownError). These two are the failures that
// still return the chain, and only once it is otherwise valid. A
// revocation is reported whether it took effect before or after at; one
// before at is reported rather than an unknown status, an unknown status
// rather than a revocation after at.
func (p *Pool) Verify(cert *smx509.Certificate, at time.Time, usage Usage) ([]*smx509.Certificate, error) {
	return p.VerifyWith(cert, nil, at, usage)
}

// VerifyWith is Verify with extra, untrusted intermediates to build the
// chain from, such as the certificates a signed document carries. They are
// never trust anchors.
func (p *Pool) VerifyWith(cert *smx509.Certificate, intermediates []*smx509.Certificate, at time.Time, usage Usage) ([]*smx509.Certificate, error) {
	if cert == nil {
		return nil, errors.New("trust: Verify of a nil certificate")
	}
	if at.IsZero() {
		return nil, errors.New("trust: Verify at the zero time: pass the signing time, or time.Now()")
	}
	p.mu.RLock()
	role := p.roles[usage]
	p.mu.RUnlock()
	if err := usage.check(cert, role); err != nil {
		return nil, err
	}
	if err := validAt(cert, at); err != nil {
		return nil, err
	}
	if err := criticalHandled(cert); err != nil {
		return nil, err
	}

	p.mu.RLock()
	b := builder{pool: p, at: at, extra: make(map[string][]*smx509.Certificate)}
	for _, c := range intermediates {
		if c != nil {
			b.extra[string(c.RawSubject)] = append(b.extra[string(c.RawSubject)], c)
		}
	}
	chain, rev, err := b.build([]*smx509.Certificate{cert})
	online := p.online
	p.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	// Online CRLs are downloaded outside the lock, for the chain found.
	var unknown *RevocationUnknownError
	if online != nil {
		var onlineRev *RevokedError
		onlineRev, unknown = online.check(chain, at)
		rev = earliest(rev, onlineRev)
	}
	switch {
	case rev != nil && !rev.At.After(at):
		return chain, rev
	case unknown != nil:
		return chain, unknown
	case rev != nil:
		return chain, rev
	}
	return chain, nil
}

// builder searches for a chain at one verification time.
type builder struct {
	pool      *Pool
	at        time.Time
	extra     map[string][]*smx509.Certificate
	sigChecks int // signatures checked so far
}

// build extends chain (whose last certificate is already checked on its
// own) up to a root. It returns the first valid chain without revoked
// certificates; failing that, the first valid chain with the earliest
// revocation; failing that, the most telling error met.
func (b *builder) build(chain []*smx509.Certificate) ([]*smx509.Certificate, *RevokedError, error) {
	c := chain[len(chain)-1]
	if b.pool.roots[string(c.Raw)] {
		return chain, nil, nil
	}
	if len(chain) >= maxChainLength {
		return nil, nil, certErr(c, ErrUnknownAuthority, "no root within %d certificates", maxChainLength)
	}
	candidates := slices.Concat(b.pool.bySubject[string(c.RawIssuer)], b.extra[string(c.RawIssuer)])
	var (
		firstErr error
		revChain []*smx509.Certificate
		revFound *RevokedError
	)
	for _, issuer := range candidates {
		if inChain(chain, issuer) || keyIDMismatch(c, issuer) {
			continue
		}
		rev, err := b.link(chain, issuer)
		if err == nil {
			var full []*smx509.Certificate
			var upRev *RevokedError
			full, upRev, err = b.build(append(chain[:len(chain):len(chain)], issuer))
			if err == nil {
				rev = earliest(rev, upRev)
				if rev == nil {
					return full, nil, nil
				}
				if revFound == nil {
					revChain, revFound = full, rev
				}
				continue
			}
		}
		if firstErr == nil || (errors.Is(firstErr, ErrUnknownAuthority) && !errors.Is(err, ErrUnknownAuthority)) {
			firstErr = err
		}
	}
	switch {
	case revFound != nil:
		return revChain, revFound, nil
	case firstErr != nil:
		return nil, nil, firstErr
	}
	return nil, nil, certErr(c, ErrUnknownAuthority, "issuer %q is not in the trust pool", c.Issuer.String())
}

// link checks that issuer issued the last certificate of chain and may
// have: signature, CA constraints, path length, the issuer's own validity
// and critical extensions, and the issuer's CRLs for the certificate.
func (b *builder) link(chain []*smx509.Certificate, issuer *smx509.Certificate) (*RevokedError, error) {
	c := chain[len(chain)-1]
	if b.sigChecks++; b.sigChecks > maxSignatureChecks {
		return nil, certErr(c, ErrUnknownAuthority, "gave up after checking %d signatures: too many candidate issuers", maxSignatureChecks)
	}
	if err := checkSignature(c, issuer); err != nil {
		return nil, err
	}
	if err := canIssue(issuer, len(chain)-1); err != nil {
		return nil, err
	}
	if err := validAt(issuer, b.at); err != nil {
		return nil, err
	}
	if err := criticalHandled(issuer); err != nil {
		return nil, err
	}
	if r, ok := b.pool.revoked[string(issuer.Raw)][c.SerialNumber.String()]; ok {
		return &RevokedError{Cert: c, At: r.at, Reason: r.reason, Checked: b.at}, nil
	}
	return nil, nil
}

// checkSignature verifies c's signature with issuer's key. A failure means
// issuer, despite its name, did not issue c.
func checkSignature(c, issuer *smx509.Certificate) error {
	switch c.SignatureAlgorithm {
	case smx509.MD2WithRSA, smx509.MD5WithRSA, smx509.SHA1WithRSA, smx509.DSAWithSHA1, smx509.ECDSAWithSHA1:
		return certErr(c, ErrUnknownAuthority, "signature algorithm %v is too weak to trust", c.SignatureAlgorithm)
	}
	if err := issuer.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		return certErr(c, ErrUnknownAuthority, "signature does not verify with the key of %s: %v", Name(issuer), err)
	}
	return nil
}

// canIssue checks the RFC 5280 §4.2.1.3 and §4.2.1.9 constraints on an
// issuer with below intermediates under it.
func canIssue(issuer *smx509.Certificate, below int) error {
	if !issuer.BasicConstraintsValid || !issuer.IsCA {
		return certErr(issuer, ErrInvalidCA, "basicConstraints does not assert cA")
	}
	if issuer.KeyUsage != 0 && issuer.KeyUsage&smx509.KeyUsageCertSign == 0 {
		return certErr(issuer, ErrInvalidCA, "key usage %s lacks keyCertSign", keyUsageString(issuer.KeyUsage))
	}
	if issuer.MaxPathLen >= 0 && below > issuer.MaxPathLen {
		return certErr(issuer, ErrInvalidCA, "path length constraint %d exceeded by %d intermediate(s) below it", issuer.MaxPathLen, below)
	}
	return nil
}

// validAt checks the validity window (RFC 5280 §4.1.2.5; both ends
// inclusive).
func validAt(c *smx509.Certificate, at time.Time) error {
	const layout = time.RFC3339
	switch {
	case at.Before(c.NotBefore):
		return certErr(c, ErrNotValidAt, "not valid before %s, checked at %s", c.NotBefore.UTC().Format(layout), at.UTC().Format(layout))
	case at.After(c.NotAfter):
		return certErr(c, ErrNotValidAt, "expired at %s, checked at %s", c.NotAfter.UTC().Format(layout), at.UTC().Format(layout))
	}
	return nil
}

// criticalHandled refuses certificates with critical extensions smx509
// did not process.
func criticalHandled(c *smx509.Certificate) error {
	if len(c.UnhandledCriticalExtensions) > 0 {
		return certErr(c, ErrUnhandledCritical, "critical extension %v", c.UnhandledCriticalExtensions[0])
	}
	return nil
}

// keyIDMismatch reports whether c's authority key identifier rules out
// issuer (both present and different).
func keyIDMismatch(c, issuer *smx509.Certificate) bool {
	return len(c.AuthorityKeyId) > 0 && len(issuer.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, issuer.SubjectKeyId)
}

func inChain(chain []*smx509.Certificate, c *smx509.Certificate) bool {
	for _, have := range chain {
		if bytes.Equal(have.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// earliest returns the revocation that took effect first.
func earliest(a, b *RevokedError) *RevokedError {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.At.Before(a.At):
		return b
	}
	return a
}

// keyUsageString renders a KeyUsage bit set for messages, bits joined by
// "|".
func keyUsageString(ku smx509.KeyUsage) string {
	return keyUsageJoin(ku, "|")
}

func keyUsageJoin(ku smx509.KeyUsage, sep string) string {
	names := []string{"digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment",
		"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}
	var out []string
	for i, n := range names {
		if ku&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, sep)
}
