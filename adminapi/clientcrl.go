package adminapi

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/trust"
)

var (
	// ErrClientRevoked reports a client certificate that the client CRL
	// (Config.ClientCRL) lists: refused at the TLS handshake, or 401
	// UNAUTHENTICATED on a connection opened before the revocation.
	ErrClientRevoked = errors.New("adminapi: client certificate revoked")
	// ErrClientCRL reports a client CRL that cannot be relied on: missing
	// (unless optional), unreadable, malformed, not signed by a CA the
	// listener trusts, or past its nextUpdate. The listener then refuses
	// every client certificate (fails closed) until a good CRL is in
	// place.
	ErrClientCRL = errors.New("adminapi: client CRL unusable: every client certificate is refused")
)

// clientCRL is the revocation list of the CA that issues client
// certificates, read again whenever its file changes: each check stats
// the file, and reads and verifies it only if its identity, size or
// modification time differ from the last read.
type clientCRL struct {
	path     string
	optional bool // a missing file: nothing revoked
	pool     *trust.Pool
	log      *slog.Logger

	mu      sync.Mutex
	info    fs.FileInfo // of the file last read; nil if none
	missing bool        // the (optional) file was absent at the last stat
	crl     *smx509.RevocationList
	issuer  *smx509.Certificate
	revoked map[string]smx509.RevocationListEntry // serial (decimal) → entry
	err     error                                 // why the file read last is unusable
	warned  time.Time                             // nextUpdate last warned of
	failed  string                                // the error last logged
}

// crlWarning is how long before its nextUpdate the listener starts
// warning that the client CRL needs issuing again.
const crlWarning = 7 * 24 * time.Hour

// check refuses leaf, the first certificate of chain (leaf to root, as
// trust verified it), if the CRL lists it, and every certificate if the
// CRL is unusable at now.
func (c *clientCRL) check(chain []*smx509.Certificate, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	if c.missing {
		return nil
	}
	if err := c.usable(now); err != nil {
		c.logFailure(err)
		return err
	}
	if c.failed != "" {
		c.log.Info("admin API: client CRL usable again", "crl", c.path, "number", c.crl.Number, "next_update", c.crl.NextUpdate)
		c.failed = ""
	}
	if left := c.crl.NextUpdate.Sub(now); left < crlWarning && !c.warned.Equal(c.crl.NextUpdate) {
		c.warned = c.crl.NextUpdate
		c.log.Warn("admin API: the client CRL expires soon: issue it again (sealpipe ca crl), or every client is refused from then on", "crl", c.path, "next_update", c.crl.NextUpdate, "left", left.Round(time.Minute))
	}
	leaf := chain[0]
	if len(chain) < 2 || !bytes.Equal(chain[1].Raw, c.issuer.Raw) {
		return nil // another CA's certificate: this CRL says nothing of it
	}
	if e, ok := c.revoked[leaf.SerialNumber.String()]; ok {
		return fmt.Errorf("%w: %q (serial %X) since %s (%s), by %s number %v",
			ErrClientRevoked, leaf.Subject.CommonName, leaf.SerialNumber, e.RevocationTime.UTC().Format(time.RFC3339), reasonName(e.ReasonCode), c.path, c.crl.Number)
	}
	return nil
}

// usable returns why the CRL read last cannot be used at now (an error
// wrapping ErrClientCRL), or nil.
func (c *clientCRL) usable(now time.Time) error {
	switch {
	case c.err != nil:
		return c.err
	case c.crl.NextUpdate.IsZero():
		return fmt.Errorf("%w: %s has no nextUpdate", ErrClientCRL, c.path)
	case now.After(c.crl.NextUpdate):
		return fmt.Errorf("%w: %s expired at its nextUpdate %s: issue it again (sealpipe ca crl)", ErrClientCRL, c.path, c.crl.NextUpdate.UTC().Format(time.RFC3339))
	}
	return nil
}

// logFailure logs err, unless it is the failure logged last.
func (c *clientCRL) logFailure(err error) {
	if msg := err.Error(); msg != c.failed {
		c.failed = msg
		c.log.Error("admin API: refusing every client certificate: the client CRL is unusable", "crl", c.path, "err", err)
	}
}

// refresh reads the file again if it changed since the last read.
func (c *clientCRL) refresh() {
	info, err := os.Stat(c.path)
	if errors.Is(err, fs.ErrNotExist) && c.optional {
		c.info, c.missing, c.crl, c.revoked, c.err = nil, true, nil, nil, nil
		return
	}
	c.missing = false
	if err != nil {
		c.info, c.crl, c.err = nil, nil, fmt.Errorf("%w: %w", ErrClientCRL, err)
		return
	}
	if c.info != nil && os.SameFile(c.info, info) && c.info.Size() == info.Size() && c.info.ModTime().Equal(info.ModTime()) {
		return
	}
	c.info = info
	crl, issuer, err := c.load()
	if err != nil {
		c.crl, c.revoked, c.err = nil, nil, fmt.Errorf("%w: %s: %w", ErrClientCRL, c.path, err)
		return
	}
	c.crl, c.issuer, c.err = crl, issuer, nil
	c.revoked = make(map[string]smx509.RevocationListEntry, len(crl.RevokedCertificateEntries))
	for _, e := range crl.RevokedCertificateEntries {
		c.revoked[e.SerialNumber.String()] = e
	}
	c.log.Info("admin API: client CRL loaded", "crl", c.path, "number", crl.Number, "revoked", len(c.revoked), "this_update", crl.ThisUpdate, "next_update", crl.NextUpdate, "issuer", issuer.Subject.String())
}

// load reads the CRL and finds the trusted root that signed it.
func (c *clientCRL) load() (*smx509.RevocationList, *smx509.Certificate, error) {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return nil, nil, err
	}
	crl, err := trust.ParseCRL(b)
	if err != nil {
		return nil, nil, err
	}
	var tried []string
	for _, ca := range c.pool.Roots() {
		if !bytes.Equal(ca.RawSubject, crl.RawIssuer) {
			continue
		}
		if err := crl.CheckSignatureFrom(ca); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", trust.Name(ca), err))
			continue
		}
		return crl, ca, nil
	}
	if len(tried) > 0 {
		return nil, nil, fmt.Errorf("the CRL's signature does not verify under the trusted CA of its issuer %q (%v)", crl.Issuer.String(), tried)
	}
	return nil, nil, fmt.Errorf("the CRL's issuer %q is none of the CAs the listener trusts", crl.Issuer.String())
}

// ClientCRLState is what CheckClientCRL found of a client CRL.
type ClientCRLState struct {
	// Missing is set for an optional CRL that is not there: nothing is
	// revoked.
	Missing bool
	// Revoked counts the certificates it lists, NextUpdate is when it
	// must be issued again, and Soon is set within a week of that, when
	// the listener warns.
	Revoked    int
	NextUpdate time.Time
	Soon       bool
}

// CheckClientCRL reads the client CRL at path as the listener does
// (Config.ClientCRL, ClientCRLOptional: signed by a CA of pool, with a
// nextUpdate after now), for `sealpipe config check`. An error wrapping
// ErrClientCRL says why the listener would refuse every client.
func CheckClientCRL(path string, optional bool, pool *trust.Pool, now time.Time) (ClientCRLState, error) {
	c := &clientCRL{path: path, optional: optional, pool: pool, log: slog.New(slog.DiscardHandler)}
	c.refresh()
	if c.missing {
		return ClientCRLState{Missing: true}, nil
	}
	if err := c.usable(now); err != nil {
		return ClientCRLState{}, err
	}
	return ClientCRLState{Revoked: len(c.revoked), NextUpdate: c.crl.NextUpdate, Soon: c.crl.NextUpdate.Sub(now) < crlWarning}, nil
}

// reasonName names a CRL reason code (RFC 5280 §5.3.1).
func reasonName(r int) string {
	names := map[int]string{
		0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged", 4: "superseded",
		5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL", 9: "privilegeWithdrawn", 10: "aACompromise",
	}
	if n, ok := names[r]; ok {
		return n
	}
	return fmt.Sprintf("reason %d", r)
}
