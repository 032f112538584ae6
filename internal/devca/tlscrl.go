package devca

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// Revoking admin API client certificates. The development TLS CA keeps
// what it revoked in tls/revoked.json and publishes it as tls/ca.crl: a DER
// CRL (RFC 5280 v2, cRLNumber, authorityKeyIdentifier) signed by the TLS CA
// with ECDSA-with-SHA256, so that OpenSSL checks it too
// (openssl crl -inform DER -in ca.crl -CAfile ca.crt). The admin listener
// reads ca.crl whenever it changes (adminapi.Config.ClientCRL) and refuses
// the certificates it lists. A CRL is valid until its nextUpdate: the
// listener refuses every client past it, so ca.crl must be issued again
// (IssueTLSCRL, `sealpipe ca crl`) before then.

// File names of the TLS CA's revocations, in the TLS folder.
const (
	// TLSCRLName is the CRL the TLS CA publishes: tls/ca.crl.
	TLSCRLName = TLSCAName + ".crl"
	// tlsRevokedName records every revocation: tls/revoked.json.
	tlsRevokedName = "revoked.json"
)

// DefaultTLSCRLValidity is how long a CRL of the TLS CA is valid: its
// nextUpdate is this long after its thisUpdate.
const DefaultTLSCRLValidity = 30 * 24 * time.Hour

// The CRL reasons (RFC 5280 §5.3.1) a client certificate may be revoked
// for, by the names the command line takes. certificateHold and
// removeFromCRL are left out: a revocation here is for good.
var TLSRevocationReasons = map[string]int{
	"unspecified":            0,
	"key-compromise":         1,
	"affiliation-changed":    3,
	"superseded":             4,
	"cessation-of-operation": 5,
	"privilege-withdrawn":    9,
}

// ReasonName is the name of CRL reason code r in TLSRevocationReasons.
func ReasonName(r int) string {
	for name, code := range TLSRevocationReasons {
		if code == r {
			return name
		}
	}
	return fmt.Sprintf("reason %d", r)
}

// TLSRevocation is one revoked client certificate as tls/revoked.json
// records it.
type TLSRevocation struct {
	// Serial is the certificate's serial number, upper-case hex as
	// OpenSSL and the admin API's whoami print it.
	Serial string `json:"serial"`
	// Name, Units and NotAfter describe the certificate when it was
	// given (revoked by --cert); empty when revoked by serial alone.
	Name     string    `json:"name,omitempty"`
	Units    []string  `json:"units,omitempty"`
	NotAfter time.Time `json:"not_after,omitzero"`
	// RevokedAt is when it was revoked; Reason why (a key of
	// TLSRevocationReasons).
	RevokedAt time.Time `json:"revoked_at"`
	Reason    string    `json:"reason"`
}

// TLSRevocations is tls/revoked.json: the revocations, and the number of
// the last CRL issued (cRLNumber only ever grows, RFC 5280 §5.2.3).
type TLSRevocations struct {
	CRLNumber int64           `json:"crl_number"`
	Revoked   []TLSRevocation `json:"revoked"`
}

// TLSCRL is a CRL the TLS CA issued.
type TLSCRL struct {
	// Path is where it was written (tls/ca.crl).
	Path string
	// Number, ThisUpdate and NextUpdate are the CRL's.
	Number                 int64
	ThisUpdate, NextUpdate time.Time
	// Revoked lists every certificate on it, oldest revocation first.
	Revoked []TLSRevocation
}

// TLSRevoke says which client certificate RevokeTLSClient revokes: by
// Cert, or by Serial alone.
type TLSRevoke struct {
	Cert   *smx509.Certificate
	Serial *big.Int
	// Reason is a key of TLSRevocationReasons; empty means unspecified.
	Reason string
	// CRLValidity is the new CRL's validity; zero means
	// DefaultTLSCRLValidity.
	CRLValidity time.Duration
	// Now is the revocation time; zero means time.Now.
	Now time.Time
}

// TLSCRLPath is the TLS CA's CRL, tls/ca.crl.
func (c *CA) TLSCRLPath() string {
	return filepath.Join(filepath.Dir(c.RootPath), TLSDirName, TLSCRLName)
}

func (c *CA) tlsRevokedPath() string {
	return filepath.Join(filepath.Dir(c.RootPath), TLSDirName, tlsRevokedName)
}

// RevokeTLSClient records the revocation of a client certificate the TLS
// CA issued and writes a new CRL listing it with every earlier
// revocation. A certificate given (req.Cert) must be one the TLS CA
// issued. Revoking a certificate revoked already keeps the first
// revocation (its time and reason) and issues the CRL again; again
// reports it. Revocations by several processes at once take turns.
func (c *CA) RevokeTLSClient(ctx context.Context, req TLSRevoke) (crl *TLSCRL, again bool, err error) {
	if req.Reason == "" {
		req.Reason = "unspecified"
	}
	if _, ok := TLSRevocationReasons[req.Reason]; !ok {
		names := make([]string, 0, len(TLSRevocationReasons))
		for n := range TLSRevocationReasons {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, false, fmt.Errorf("devca: revocation reason %q: want one of %s", req.Reason, strings.Join(names, ", "))
	}
	caCert, _, err := c.tlsCA(ctx)
	if err != nil {
		return nil, false, err
	}
	entry := TLSRevocation{Reason: req.Reason}
	switch {
	case req.Cert != nil:
		if err := req.Cert.CheckSignatureFrom(caCert); err != nil {
			return nil, false, fmt.Errorf("devca: certificate %q (serial %X) was not issued by the development TLS CA %s: %w", req.Cert.Subject.CommonName, req.Cert.SerialNumber, c.TLSCAPath(), err)
		}
		if req.Cert.IsCA {
			return nil, false, fmt.Errorf("devca: %q is a CA certificate, not a client certificate", req.Cert.Subject.CommonName)
		}
		entry.Serial = fmt.Sprintf("%X", req.Cert.SerialNumber)
		entry.Name, entry.Units, entry.NotAfter = req.Cert.Subject.CommonName, slices.Clone(req.Cert.Subject.Organization), req.Cert.NotAfter
	case req.Serial != nil && req.Serial.Sign() > 0:
		entry.Serial = fmt.Sprintf("%X", req.Serial)
	default:
		return nil, false, errors.New("devca: name the certificate to revoke: its certificate or a positive serial number")
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	entry.RevokedAt = now.UTC().Truncate(time.Second)
	unlock, err := lockPath(ctx, c.tlsRevokedPath()+".lock")
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	recs, err := c.readTLSRevocations()
	if err != nil {
		return nil, false, err
	}
	if i := slices.IndexFunc(recs.Revoked, func(r TLSRevocation) bool { return r.Serial == entry.Serial }); i >= 0 {
		again = true
		if recs.Revoked[i].Name == "" && entry.Name != "" {
			// The certificate tells what the serial alone did not.
			recs.Revoked[i].Name, recs.Revoked[i].Units, recs.Revoked[i].NotAfter = entry.Name, entry.Units, entry.NotAfter
		}
	} else {
		recs.Revoked = append(recs.Revoked, entry)
	}
	crl, err = c.issueTLSCRL(ctx, recs, req.CRLValidity, now)
	return crl, again, err
}

// IssueTLSCRL issues the TLS CA's CRL again, with the revocations
// recorded and a fresh nextUpdate (validity after now; zero means
// DefaultTLSCRLValidity), and writes it to tls/ca.crl: what keeps the
// admin listener accepting clients past the last CRL's nextUpdate.
func (c *CA) IssueTLSCRL(ctx context.Context, validity time.Duration) (*TLSCRL, error) {
	if _, _, err := c.tlsCA(ctx); err != nil { // made first if there is none
		return nil, err
	}
	unlock, err := lockPath(ctx, c.tlsRevokedPath()+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	recs, err := c.readTLSRevocations()
	if err != nil {
		return nil, err
	}
	return c.issueTLSCRL(ctx, recs, validity, time.Now())
}

// TLSRevoked returns the revocations recorded, oldest first.
func (c *CA) TLSRevoked() ([]TLSRevocation, error) {
	recs, err := c.readTLSRevocations()
	return recs.Revoked, err
}

// issueTLSCRL signs a CRL of recs with the next number, then writes
// recs (with that number) and the CRL, each replaced atomically:
// revoked.json first, so that a crash in between leaves a record the next
// CRL will list, never a CRL listing what the record lacks.
func (c *CA) issueTLSCRL(ctx context.Context, recs TLSRevocations, validity time.Duration, now time.Time) (*TLSCRL, error) {
	if validity == 0 {
		validity = DefaultTLSCRLValidity
	}
	if validity < time.Hour {
		return nil, fmt.Errorf("devca: CRL validity %v: want at least an hour", validity)
	}
	caCert, caKey, err := c.tlsCA(ctx)
	if err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Second)
	next := now.Add(validity)
	if next.After(caCert.NotAfter) {
		next = caCert.NotAfter
	}
	// cRLNumber grows by one a CRL, and is never below the time in
	// seconds, so that a revoked.json restored from an older copy
	// cannot issue a number used already.
	recs.CRLNumber = max(recs.CRLNumber+1, now.Unix())
	tmpl := &smx509.RevocationList{Number: big.NewInt(recs.CRLNumber), ThisUpdate: now, NextUpdate: next}
	for _, r := range recs.Revoked {
		serial, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			return nil, fmt.Errorf("devca: %s: serial %q is not hexadecimal", c.tlsRevokedPath(), r.Serial)
		}
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, smx509.RevocationListEntry{
			SerialNumber: serial, RevocationTime: r.RevokedAt, ReasonCode: TLSRevocationReasons[r.Reason],
		})
	}
	der, err := smx509.CreateRevocationList(rand.Reader, tmpl, caCert, caKey)
	if err != nil {
		return nil, fmt.Errorf("devca: TLS CRL: %w", err)
	}
	js, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	if err := replaceFile(c.tlsRevokedPath(), append(js, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := replaceFile(c.TLSCRLPath(), der, 0o644); err != nil {
		return nil, err
	}
	return &TLSCRL{Path: c.TLSCRLPath(), Number: recs.CRLNumber, ThisUpdate: now, NextUpdate: next, Revoked: recs.Revoked}, nil
}

// readTLSRevocations reads tls/revoked.json; none yet is no revocation.
func (c *CA) readTLSRevocations() (TLSRevocations, error) {
	var recs TLSRevocations
	b, err := os.ReadFile(c.tlsRevokedPath())
	if errors.Is(err, fs.ErrNotExist) {
		return recs, nil
	}
	if err != nil {
		return recs, fmt.Errorf("devca: %w", err)
	}
	if err := json.Unmarshal(b, &recs); err != nil {
		return recs, fmt.Errorf("devca: %s: %w", c.tlsRevokedPath(), err)
	}
	return recs, nil
}
