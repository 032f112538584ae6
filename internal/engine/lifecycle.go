package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// ChangeSealStatus suspends, reactivates or revokes a seal with a reason
// code (registry.StatusChange.Code, county rules 第十四条), the change
// signed by the seal administrator (Admin).
func (e *Engine) ChangeSealStatus(ctx context.Context, id string, change registry.StatusChange) (*registry.Record, error) {
	reg, admin, err := e.registryAdmin(ctx)
	if err != nil {
		return nil, err
	}
	return reg.ChangeStatus(ctx, id, change, admin)
}

// ErrRenewal reports a renewal that would not extend the seal's validity:
// the unit's signer certificate ends no later than the seal it would
// renew (a seal never outlives its certificate, GB/T 38540 and county
// rules 第十条). It wraps registry.ErrInvalid.
var ErrRenewal = fmt.Errorf("%w: renewal", registry.ErrInvalid)

// SealChange asks for a seal to be replaced by a new one (county rules
// 第十三条) or renewed (第十条).
type SealChange struct {
	// Old is the seal replaced.
	Old string
	// New is the new seal: its Code is required. What else it leaves
	// empty is the old seal's — unit, kind, purpose, approvers (with
	// their departments) and, for a personal seal without a Holder, its
	// picture and name. Kind, Unit, Purpose and Holder name what changes.
	New SealSpec
	// KeepPurpose keeps the old seal's purpose when New.Purpose is empty
	// (an empty purpose is otherwise an official seal, 公章).
	KeepPurpose bool
	// Reason is recorded with the old seal's revocation (code
	// superseded). Empty: "superseded by NEW".
	Reason string
	// Renew makes the change a renewal: nothing but the code and the
	// validity changes, and it must end later than the old seal's.
	Renew bool
}

// ChangeSeal replaces seal c.Old by a new one — a change of unit name,
// purpose, holder or representative (county rules 第十三条), or a renewal
// with the unit's current certificate (第十条; GB/T 38540 keeps a seal's
// validity inside its signed SESeal, so a renewal is a new SESeal, a
// successor) — in two signed steps: the successor is registered naming
// its predecessor, then the old seal revoked with reason code superseded
// naming its successor (registry.Supersede). A crash between the two
// leaves both active; the same call again finds the successor registered
// and finishes. It returns the successor and the old seal's record.
func (e *Engine) ChangeSeal(ctx context.Context, c SealChange) (*registry.Entry, *registry.Record, error) {
	reg, admin, err := e.registryAdmin(ctx)
	if err != nil {
		return nil, nil, err
	}
	old, err := reg.Get(ctx, c.Old)
	if err != nil {
		return nil, nil, err
	}
	spec := c.New
	if spec.Code == "" {
		return nil, nil, fmt.Errorf("%w: the new seal needs a code", registry.ErrInvalid)
	}
	succ, err := reg.Get(ctx, spec.Code)
	switch {
	case err == nil && succ.Predecessor != c.Old:
		return nil, nil, fmt.Errorf("%w: %q is registered already, not as the successor of %q", registry.ErrExists, spec.Code, c.Old)
	case err == nil:
		// Registered by a change that stopped before the revocation.
	case !errors.Is(err, registry.ErrNotFound):
		return nil, nil, err
	default:
		if old.Successor != "" {
			return nil, nil, fmt.Errorf("%w: seal %q is superseded by %q already", registry.ErrSuccessor, c.Old, old.Successor)
		}
		if spec, err = e.successorSpec(ctx, old, c); err != nil {
			return nil, nil, err
		}
		if succ, err = e.MakeSeal(ctx, spec); err != nil {
			return nil, nil, err
		}
	}
	reason := c.Reason
	if reason == "" {
		reason = "superseded by " + succ.ID
		if c.Renew {
			reason = "renewed by " + succ.ID
		}
	}
	rec, err := reg.Supersede(ctx, c.Old, succ.ID, reason, spec.Requester, admin)
	if err != nil {
		return succ, nil, err
	}
	return succ, rec, nil
}

// successorSpec completes the spec of old's successor from old.
func (e *Engine) successorSpec(ctx context.Context, old *registry.Entry, c SealChange) (SealSpec, error) {
	spec := c.New
	spec.Predecessor = old.ID
	personal := old.Seal.Type == ses.TypePersonal
	if spec.Kind == "" {
		spec.Kind = SealKindUnit
		if personal {
			spec.Kind = SealKindPersonal
		}
	}
	if spec.Unit == "" {
		spec.Unit = old.Key // MakeSeal names the key by the unit's slug
	}
	if spec.Purpose == "" && c.KeepPurpose && spec.Kind == SealKindUnit {
		spec.Purpose = old.Purpose
	}
	if spec.Kind == SealKindPersonal && spec.Holder == "" && personal && len(spec.Picture.Data) == 0 {
		spec.Picture, spec.Name = old.Seal.Picture, old.Name
	}
	ca, err := e.DevCA()
	if err != nil {
		return spec, err
	}
	if len(spec.Approvers) == 0 {
		if spec.grants, err = keptGrants(ca, old.Approvers); err != nil {
			return spec, err
		}
	}
	if c.Renew {
		if spec.Kind != map[bool]string{true: SealKindPersonal, false: SealKindUnit}[personal] || spec.Unit != old.Key || spec.Purpose != old.Purpose {
			return spec, fmt.Errorf("%w: a renewal changes the code and the validity only; a change of kind, unit or purpose is seals change", ErrRenewal)
		}
		signer, err := ca.Unit(spec.Unit)
		if err != nil {
			return spec, fmt.Errorf("%w: %w", registry.ErrInvalid, err)
		}
		validity := spec.Validity
		if validity == 0 {
			validity = 2 * 365 * 24 * time.Hour
		}
		end := time.Now().Add(validity)
		if end.After(signer.Cert.NotAfter) {
			end = signer.Cert.NotAfter
		}
		if !end.After(old.ValidEnd) {
			return spec, fmt.Errorf("%w: unit %s's certificate ends %s, and seal %s is valid until %s already: renew the certificate first (a seal is never valid beyond it; with the development CA: sealpipe ca renew-signer --unit %s)",
				ErrRenewal, spec.Unit, signer.Cert.NotAfter.Format(time.DateOnly), old.ID, old.ValidEnd.Format(time.DateOnly), spec.Unit)
		}
	}
	return spec, nil
}

// keptGrants finds the development CA's approvers pinned in approvers,
// to pin them again for the same departments.
func keptGrants(ca *devca.CA, approvers []registry.Approver) ([]registry.ApproverGrant, error) {
	grants := make([]registry.ApproverGrant, 0, len(approvers))
	for _, a := range approvers {
		var cert *smx509.Certificate
		for _, id := range ca.Approvers {
			if registry.Fingerprint(id.Cert) == a.Fingerprint {
				cert = id.Cert
			}
		}
		if cert == nil {
			return nil, fmt.Errorf("%w: approver %s of the old seal is not in the development CA: name the approvers (--approver)", registry.ErrInvalid, a.Name)
		}
		grants = append(grants, registry.ApproverGrant{Cert: cert, Departments: a.Departments})
	}
	return grants, nil
}

// ExpiringSeals returns the active seals whose validity ends within
// SEALPIPE_SEAL_EXPIRY_WARNING of now (county rules 第十条: renewed
// before they lapse), soonest first; none when the setting is off.
func (e *Engine) ExpiringSeals(recs []registry.Record, now time.Time) []registry.Record {
	window := e.settings.SealExpiryWarning
	if window == RetentionOff || window <= 0 {
		return nil
	}
	var out []registry.Record
	for _, r := range recs {
		if r.Status == registry.StatusActive && r.ValidEnd.Before(now.Add(time.Duration(window))) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b registry.Record) int { return a.ValidEnd.Compare(b.ValidEnd) })
	return out
}

// ExpiryWarning says when seal r expires and what renews it.
func ExpiryWarning(r registry.Record, now time.Time) string {
	if !r.ValidEnd.After(now) {
		return fmt.Sprintf("seal %s (%s) expired %s: sealpipe seals renew %s --code NEWCODE makes its successor", r.ID, r.Name, r.ValidEnd.Format(time.DateOnly), r.ID)
	}
	return fmt.Sprintf("seal %s (%s) expires %s, in %d days (SEALPIPE_SEAL_EXPIRY_WARNING): sealpipe seals renew %s --code NEWCODE makes its successor",
		r.ID, r.Name, r.ValidEnd.Format(time.DateOnly), int(r.ValidEnd.Sub(now).Hours()/24), r.ID)
}

// sealExpiryChecks are the `config check` lines of the seals expiring
// within SEALPIPE_SEAL_EXPIRY_WARNING: a WARN line each, or one OK line.
func (e *Engine) sealExpiryChecks(ctx context.Context) []CheckResult {
	window := e.settings.SealExpiryWarning
	if window == RetentionOff {
		return []CheckResult{{"seal expiry", CheckSkipped, "SEALPIPE_SEAL_EXPIRY_WARNING is off"}}
	}
	reg, err := e.Registry(ctx)
	if err != nil {
		return []CheckResult{{"seal expiry", CheckFailed, err.Error()}}
	}
	recs, err := reg.List(ctx)
	if err != nil {
		return []CheckResult{{"seal expiry", CheckFailed, err.Error()}}
	}
	now := time.Now()
	var out []CheckResult
	for _, r := range e.ExpiringSeals(recs, now) {
		out = append(out, CheckResult{"seal " + r.ID, CheckWarn, ExpiryWarning(r, now)})
	}
	if out == nil {
		out = []CheckResult{{"seal expiry", CheckOK, fmt.Sprintf("no active seal expires within %s", days(time.Duration(window)))}}
	}
	return out
}

// WarnExpiringSeals logs, at the start of `run`, a warning for each active
// seal expiring within SEALPIPE_SEAL_EXPIRY_WARNING.
func (e *Engine) WarnExpiringSeals(ctx context.Context) {
	if e.settings.SealExpiryWarning == RetentionOff {
		return
	}
	reg, err := e.Registry(ctx)
	if err != nil {
		e.log.WarnContext(ctx, "the seals' validity cannot be told", "err", err)
		return
	}
	recs, err := reg.List(ctx)
	if err != nil {
		e.log.WarnContext(ctx, "the seals' validity cannot be told", "err", err)
		return
	}
	now := time.Now()
	for _, r := range e.ExpiringSeals(recs, now) {
		e.log.WarnContext(ctx, ExpiryWarning(r, now), "seal", r.ID, "valid_end", r.ValidEnd)
	}
}

// MakeFromApplication makes the seal approved application appID asks for
// (county rules 第七条: the county collects, the city makes), registered
// suspended until it is filed (FileSeal), and marks the application made.
// The application says the kind, purpose and holder; spec the rest: the
// unit's slug, whose certificate must name the application's unit, the
// code, the approvers and the validity. A rerun after a crash between the
// two steps finishes.
func (e *Engine) MakeFromApplication(ctx context.Context, appID string, spec SealSpec) (*registry.Entry, *registry.Application, error) {
	reg, admin, err := e.registryAdmin(ctx)
	if err != nil {
		return nil, nil, err
	}
	a, err := reg.Application(ctx, appID)
	if err != nil {
		return nil, nil, err
	}
	spec.Kind, spec.Purpose, spec.Holder = SealKindUnit, "", ""
	switch a.Kind {
	case registry.KindSpecial:
		spec.Purpose = a.Purpose
	case registry.KindName, registry.KindTitle:
		spec.Kind, spec.Holder = SealKindPersonal, a.Holder
	}
	spec.UnitName, spec.Application = a.Unit, appID
	ent, err := reg.Get(ctx, spec.Code)
	switch {
	case err == nil && ent.Application != appID:
		return nil, nil, fmt.Errorf("%w: %q", registry.ErrExists, spec.Code)
	case err == nil:
		// Made by a run that stopped before marking the application.
	case errors.Is(err, registry.ErrNotFound):
		if ent, err = e.MakeSeal(ctx, spec); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, err
	}
	if a.State == registry.AppMade && a.Seal == ent.ID {
		return ent, a, nil
	}
	a, err = reg.MarkMade(ctx, appID, ent.ID, spec.Requester, admin)
	return ent, a, err
}

// FileSeal files the seal made from application appID and activates it
// (registry.Registry.FileSeal; county rules 第六条 备案).
// by, if set, is recorded as who asked for it.
func (e *Engine) FileSeal(ctx context.Context, appID, reason string, by *registry.Principal) (*registry.Application, error) {
	reg, admin, err := e.registryAdmin(ctx)
	if err != nil {
		return nil, err
	}
	return reg.FileSeal(ctx, appID, reason, by, admin)
}

// SubmitApplication records an application for a seal (county rules
// 第八条; registry.Registry.Submit), signed by the seal administrator.
func (e *Engine) SubmitApplication(ctx context.Context, req registry.ApplicationRequest) (*registry.Application, error) {
	reg, admin, err := e.registryAdmin(ctx)
	if err != nil {
		return nil, err
	}
	return reg.Submit(ctx, req, admin)
}

// ReviewApplication approves or refuses a submitted application (county
// rules 第七条), signed by the seal administrator.
func (e *Engine) ReviewApplication(ctx context.Context, id string, approve bool, reason string) (*registry.Application, error) {
	reg, admin, err := e.registryAdmin(ctx)
	if err != nil {
		return nil, err
	}
	return reg.Review(ctx, id, approve, reason, nil, admin)
}
