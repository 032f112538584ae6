package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// The revocation list's format and the version this package reads and
// writes (docs/filing-export.md).
const (
	RevocationListFormat  = "sealpipe-revocation-list"
	RevocationListVersion = 1
)

// MaxRevocationListSize bounds a revocation list read or downloaded.
const MaxRevocationListSize = 64 << 20

// ReasonCode is why the province revoked a seal. The codes are those
// the registry's lifecycle uses for suspensions and revocations (county
// rules 第十三–十四条, registry.ReasonCodes), spelt the same; each
// revocation records its code (ReasonSuperseded as registry.CodeOther).
type ReasonCode string

// Reason codes.
const (
	ReasonKeyCompromised        ReasonCode = "key-compromised"        // 密钥泄露
	ReasonDamaged               ReasonCode = "damaged"                // 损毁
	ReasonStolen                ReasonCode = "stolen"                 // 被盗
	ReasonLost                  ReasonCode = "lost"                   // 遗失
	ReasonUnitDissolved         ReasonCode = "unit-dissolved"         // 单位撤销
	ReasonUnitRenamed           ReasonCode = "unit-renamed"           // 单位名称变更
	ReasonRepresentativeChanged ReasonCode = "representative-changed" // 法定代表人变更
	ReasonSuperseded            ReasonCode = "superseded"             // 换发新章
	ReasonOther                 ReasonCode = "other"                  // 其他 (note says what)
)

// ReasonCodes lists every reason code, in the order of the documentation.
var ReasonCodes = []ReasonCode{
	ReasonKeyCompromised, ReasonDamaged, ReasonStolen, ReasonLost, ReasonUnitDissolved,
	ReasonUnitRenamed, ReasonRepresentativeChanged, ReasonSuperseded, ReasonOther,
}

// RevocationList is the province's list of revoked seals: the payload the
// province signs.
type RevocationList struct {
	// Format is RevocationListFormat and Version RevocationListVersion.
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Issuer names the provincial system that issues the list.
	Issuer string `json:"issuer"`
	// Number is the list's number, from 1, one more with each list.
	Number int64 `json:"number"`
	// IssuedAt is when the list was issued; NextUpdate, if set, when the
	// next one is due.
	IssuedAt   time.Time  `json:"issued_at"`
	NextUpdate *time.Time `json:"next_update,omitempty"`
	// Revocations are the seals revoked, each once.
	Revocations []Revocation `json:"revocations"`
}

// Revocation is one revoked seal of a list.
type Revocation struct {
	// Seal is the seal's identifier (code, esID).
	Seal string `json:"seal"`
	// RevokedAt is when the province revoked it.
	RevokedAt time.Time `json:"revoked_at"`
	// Reason is why, and Note, if any, says more.
	Reason ReasonCode `json:"reason"`
	Note   string     `json:"note,omitempty"`
}

// ReadRevocationList verifies a revocation list — its signature, then its
// signer as the province (trust.UsageProvince) trusted by pool at now —
// and only then decodes and checks it (DecodeRevocationList).
func ReadRevocationList(data []byte, pool *trust.Pool, now time.Time) (*RevocationList, Signed, error) {
	return read("revocation list", data, MaxRevocationListSize, pool, trust.UsageProvince, now, DecodeRevocationList)
}

// DecodeRevocationList decodes a revocation list's payload — already
// verified — and checks it: this format and version, an issuer, a number
// from 1, an issue time not in the future, and entries each naming a seal
// once with a revocation time no later than the list and a known reason
// code. Failures wrap ErrFormat.
func DecodeRevocationList(payload []byte, now time.Time) (*RevocationList, error) {
	var l RevocationList
	if err := decodeStrict(payload, &l); err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
	}
	switch {
	case l.Format != RevocationListFormat || l.Version != RevocationListVersion:
		return nil, bad("format %q version %d, want %q version %d", l.Format, l.Version, RevocationListFormat, RevocationListVersion)
	case strings.TrimSpace(l.Issuer) == "" || l.Number < 1:
		return nil, bad("issuer %q number %d: want an issuer and a number from 1", l.Issuer, l.Number)
	case l.IssuedAt.IsZero() || l.IssuedAt.After(now.Add(maxClockSkew)):
		return nil, bad("issued %s: not a time it could have been issued", rfc3339(l.IssuedAt))
	case l.NextUpdate != nil && !l.NextUpdate.After(l.IssuedAt):
		return nil, bad("next update %s not after the issue time", rfc3339(*l.NextUpdate))
	}
	seen := make(map[string]bool, len(l.Revocations))
	for i, r := range l.Revocations {
		switch {
		case r.Seal == "" || len(r.Seal) > 64 || strings.ContainsFunc(r.Seal, func(c rune) bool { return c < 0x21 || c > 0x7e }):
			return nil, bad("entry %d: seal %q", i+1, r.Seal)
		case seen[r.Seal]:
			return nil, bad("seal %s listed twice", r.Seal)
		case r.RevokedAt.IsZero() || r.RevokedAt.After(l.IssuedAt):
			return nil, bad("seal %s: revoked %s, not before the list was issued", r.Seal, rfc3339(r.RevokedAt))
		case !slices.Contains(ReasonCodes, r.Reason):
			return nil, bad("seal %s: reason %q, want one of %v", r.Seal, r.Reason, ReasonCodes)
		}
		seen[r.Seal] = true
	}
	return &l, nil
}

// What ApplyRevocations did with a listed seal (RevocationResult.Action).
const (
	// ActionRevoked: revoked here now.
	ActionRevoked = "revoked"
	// ActionAlreadyRevoked: revoked here before; left as it was.
	ActionAlreadyRevoked = "already revoked"
	// ActionUnknown: no such seal here; reported, not an error.
	ActionUnknown = "unknown"
)

// RevocationResult is what ApplyRevocations did with one listed seal:
// ActionRevoked, ActionAlreadyRevoked, ActionUnknown or ActionFailed.
type RevocationResult struct {
	Seal   string `json:"seal"`
	Action string `json:"action"`
	Detail string `json:"detail,omitempty"`
	// Err is set for ActionFailed.
	Err error `json:"-"`
}

// RevocationReport is what ApplyRevocations did.
type RevocationReport struct {
	// Issuer, Number, Issued and SM3 identify the list.
	Issuer string    `json:"issuer"`
	Number int64     `json:"number"`
	Issued time.Time `json:"issued_at"`
	SM3    string    `json:"sm3"`
	// Signer is who signed it (certificate CN).
	Signer string `json:"signer"`
	// Seals says what became of each listed seal, in the list's order.
	Seals []RevocationResult `json:"seals"`
}

// Count returns how many listed seals got action.
func (r *RevocationReport) Count(action string) int {
	n := 0
	for _, s := range r.Seals {
		if s.Action == action {
			n++
		}
	}
	return n
}

// Failed returns the results of the seals that could not be revoked.
func (r *RevocationReport) Failed() []RevocationResult {
	var out []RevocationResult
	for _, s := range r.Seals {
		if s.Err != nil {
			out = append(out, s)
		}
	}
	return out
}

// registryCode is the registry's reason code for code: the same, but for
// ReasonSuperseded, which the registry records only with the successor
// that a revocation list does not name (registry.Supersede): it becomes
// registry.CodeOther, the reason text saying superseded.
func registryCode(code ReasonCode) registry.ReasonCode {
	if code == ReasonSuperseded {
		return registry.CodeOther
	}
	return registry.ReasonCode(code)
}

// RoleProvince is the requester role recorded in the registry changes a
// revocation list makes (registry.Principal.Role).
const RoleProvince = "province"

// ApplyRevocations revokes in dst, each change signed by admin, every seal
// of list l — read and verified by ReadRevocationList, which gave sig —
// that is registered there and not revoked yet. Each change records the
// list (issuer, number, issue time, SM3), the reason code and note and
// when the province revoked the seal, and names the list's signer as who
// asked for it (registry.Principal, role RoleProvince). Seals revoked
// already are left; unknown seals are reported. A list older than the
// last one applied from its issuer is refused (ErrStale) before anything
// changes; the same list again changes nothing. The list becomes the
// issuer's high-water mark once every seal was tried.
func ApplyRevocations(ctx context.Context, l *RevocationList, sig Signed, dst StatusTarget, marks Marks, admin signed.Signer) (*RevocationReport, error) {
	key := "revocations:" + l.Issuer
	mk := Mark{Number: l.Number, At: l.IssuedAt, SM3: sig.SM3, Applied: time.Now().UTC()}
	if err := checkMark(ctx, marks, key, mk); err != nil {
		return nil, fmt.Errorf("revocation list %d of %s: %w", l.Number, l.Issuer, err)
	}
	rep := &RevocationReport{Issuer: l.Issuer, Number: l.Number, Issued: l.IssuedAt, SM3: sig.SM3, Signer: sig.Signer.Subject.CommonName, Seals: []RevocationResult{}}
	by := &registry.Principal{Name: sig.Signer.Subject.CommonName, Role: RoleProvince, Fingerprint: registry.Fingerprint(sig.Signer)}
	for _, r := range l.Revocations {
		rep.Seals = append(rep.Seals, revoke(ctx, l, sig, r, dst, by, admin))
	}
	if err := marks.Raise(ctx, key, mk); err != nil {
		return rep, err
	}
	return rep, nil
}

// revoke applies one entry of a list.
func revoke(ctx context.Context, l *RevocationList, sig Signed, r Revocation, dst StatusTarget, by *registry.Principal, admin signed.Signer) RevocationResult {
	res := RevocationResult{Seal: r.Seal}
	cur, err := dst.Get(ctx, r.Seal)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		res.Action, res.Detail = ActionUnknown, "no such seal in this registry"
		return res
	case err != nil:
		res.Action, res.Err, res.Detail = ActionFailed, err, err.Error()
		return res
	case cur.Status == registry.StatusRevoked:
		res.Action = ActionAlreadyRevoked
		return res
	}
	reason := fmt.Sprintf("revocation list %d of %s (SM3 %s), issued %s: %s", l.Number, l.Issuer, sig.SM3, rfc3339(l.IssuedAt), r.Reason)
	if r.Note != "" {
		reason += " (" + r.Note + ")"
	}
	reason += ", revoked there " + rfc3339(r.RevokedAt)
	_, err = dst.ChangeStatus(ctx, r.Seal, registry.StatusChange{To: registry.StatusRevoked, Reason: reason, Requester: by, Code: registryCode(r.Reason)}, admin)
	if errors.Is(err, registry.ErrTransition) {
		// Revoked meanwhile by someone else: as good.
		if cur, gerr := dst.Get(ctx, r.Seal); gerr == nil && cur.Status == registry.StatusRevoked {
			res.Action = ActionAlreadyRevoked
			return res
		}
	}
	if err != nil {
		res.Action, res.Err, res.Detail = ActionFailed, err, err.Error()
		return res
	}
	res.Action = ActionRevoked
	return res
}
