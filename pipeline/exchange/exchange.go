// Package exchange is the data exchange between a county's seal registry
// and the provincial seal system (county rules 第六条): the filing export
// (备案) of the county's seals, which the county's registrar signs, and the
// province's revocation list, which the province signs and the county
// applies. docs/filing-export.md describes both formats for people who
// write or read them elsewhere.
//
// Both are JSON records in a signed envelope (package signed,
// "sealpipe-signed/1"): a detached CMS signature over the compact payload,
// the signer's certificate inside. A reader believes nothing in one until
// the signature verifies and the signer's certificate chains to the
// trusted roots carrying the role's OID at the time of reading — the
// registrar's (trust.UsageRegistryAdmin) for a filing export, the
// province's (trust.UsageProvince) for a revocation list — and only then
// decodes the payload, strictly: a format or version it does not know,
// an unknown field, a seal whose SESeal does not match what is said of it
// are refused (ErrFormat).
//
// Importing an export into a second registry never copies the first
// registry's signed changes: they were signed by the first registry's
// administrators, and a registry's log holds only changes its own
// administrator signs. Each seal is registered by one change of the second
// registry (registry.OpImport) that starts it in the status it has in the
// export and says in its reason where it comes from — "imported from
// filing export X of R (SM3 …), made T: originally revoked since S" —
// while the export's history, with the SM3 of every change, stays the
// record to ask the first registry about.
//
// What is applied is remembered (Marks): an export or a revocation list
// older than the last one applied from the same issuer is refused
// (ErrStale), the same one again changes nothing.
package exchange

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/signed"
)

var (
	// ErrRefused is wrapped by every refusal of an export or a revocation
	// list: ErrFormat, ErrSignature, ErrUntrusted, ErrStale.
	ErrRefused = errors.New("exchange: refused")
	// ErrFormat reports a document that is not a valid one of its format
	// and version, or whose contents contradict themselves.
	ErrFormat = fmt.Errorf("%w: not a valid document", ErrRefused)
	// ErrSignature reports a missing or invalid signature: a document
	// changed since it was signed, or never signed.
	ErrSignature = fmt.Errorf("%w: the signature does not verify", ErrRefused)
	// ErrUntrusted reports a signer whose certificate does not chain to
	// the trusted roots or lacks the role's OID.
	ErrUntrusted = fmt.Errorf("%w: the signer is not trusted for this", ErrRefused)
	// ErrStale reports a document older than one applied before from the
	// same issuer, or another document under the same number and time.
	ErrStale = fmt.Errorf("%w: older than the one applied before", ErrRefused)
	// ErrFetch reports a document that could not be read or downloaded.
	ErrFetch = errors.New("exchange: cannot read the document")
)

// maxClockSkew is how far in the future a document may be dated.
const maxClockSkew = 5 * time.Minute

// Source is the registry a filing export reads: *registry.Registry.
type Source interface {
	// List returns every seal's record.
	List(ctx context.Context) ([]registry.Record, error)
	// Verified returns a seal and the SM3 of each of its changes.
	Verified(ctx context.Context, id string) (*registry.Entry, []string, error)
	// VerifiedApplication returns the application a seal was made from
	// and the SM3 of each of its changes.
	VerifiedApplication(ctx context.Context, id string) (*registry.Application, []string, error)
}

// StatusTarget is the registry a revocation list is applied to:
// *registry.Registry.
type StatusTarget interface {
	// Get returns a seal's state; ErrNotFound for none.
	Get(ctx context.Context, id string) (*registry.Entry, error)
	// ChangeStatus changes a seal's status, signed by admin.
	ChangeStatus(ctx context.Context, id string, req registry.StatusChange, admin signed.Signer) (*registry.Record, error)
}

// Target is the registry a filing export is imported into:
// *registry.Registry.
type Target interface {
	StatusTarget
	// Import registers a seal from another registry, signed by admin.
	Import(ctx context.Context, esl []byte, req registry.ImportRequest, admin signed.Signer) (*registry.Entry, error)
}

// sm3hex returns the hex SM3 of b.
func sm3hex(b []byte) string {
	sum := sm3.Sum(b)
	return hex.EncodeToString(sum[:])
}

// rfc3339 writes t as the documents and reasons show times.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
