package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sealpipe/sealpipe/pipeline/signed"
)

// ReasonCode is the machine-readable reason a seal is suspended or
// revoked, from a fixed set (county rules 第十三–十四条: a new seal and
// revocation of the old on a change of unit, name or representative, or
// on key compromise, damage, theft or loss). The free-text reason of the
// change says the rest.
type ReasonCode string

// Reason codes. A suspension or revocation carries one; changes written
// before codes were recorded carry none and verify as they always did.
const (
	// CodeKeyCompromised: the signing key or its protection password is
	// known or suspected to be disclosed (第十四条).
	CodeKeyCompromised ReasonCode = "key-compromised"
	// CodeDamaged: the seal's medium (the key's token) is damaged (第十四条).
	CodeDamaged ReasonCode = "damaged"
	// CodeStolen and CodeLost: the medium is stolen or lost (第十四条).
	CodeStolen ReasonCode = "stolen"
	CodeLost   ReasonCode = "lost"
	// CodeUnitDissolved: the unit no longer exists (第十三条).
	CodeUnitDissolved ReasonCode = "unit-dissolved"
	// CodeUnitRenamed: the unit's name changed; a new seal carries the
	// new name (第十三条).
	CodeUnitRenamed ReasonCode = "unit-renamed"
	// CodeRepresentativeChanged: the legal representative (or the holder
	// of a personal name seal) changed (第十三条).
	CodeRepresentativeChanged ReasonCode = "representative-changed"
	// CodeSuperseded: a new seal replaces this one (a change or a
	// renewal, 第十条 and 第十三条); the revocation names the successor.
	CodeSuperseded ReasonCode = "superseded"
	// CodeOther: none of the above; the free-text reason says which.
	CodeOther ReasonCode = "other"
)

// ReasonCodes lists every reason code, in the order documented above.
var ReasonCodes = []ReasonCode{
	CodeKeyCompromised, CodeDamaged, CodeStolen, CodeLost, CodeUnitDissolved,
	CodeUnitRenamed, CodeRepresentativeChanged, CodeSuperseded, CodeOther,
}

// ErrReasonCode reports a reason code outside ReasonCodes, or one given
// where it does not apply. It wraps ErrInvalid.
var ErrReasonCode = fmt.Errorf("%w: reason code", ErrInvalid)

// CheckReasonCode accepts the codes of ReasonCodes.
func CheckReasonCode(c ReasonCode) error {
	if !slices.Contains(ReasonCodes, c) {
		return fmt.Errorf("%w %q: want one of %s", ErrReasonCode, c, joinCodes())
	}
	return nil
}

func joinCodes() string {
	s := make([]string, len(ReasonCodes))
	for i, c := range ReasonCodes {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// checkLifecycle checks the lifecycle fields of change c as replay
// applies it: a reason code only on a suspension or revocation and from
// the set; a successor only on a revocation for CodeSuperseded, which
// needs one; a predecessor only on a registration, naming another seal.
// Changes written before these fields existed have none of them.
func checkLifecycle(c Change) error {
	switch {
	case c.Code != "" && c.Op != OpSuspend && c.Op != OpRevoke:
		return fmt.Errorf("%s with the reason code %q", c.Op, c.Code)
	case c.Code != "":
		if err := CheckReasonCode(c.Code); err != nil {
			return err
		}
	}
	switch {
	case c.Code == CodeSuperseded && (c.Op != OpRevoke || c.Successor == ""):
		return fmt.Errorf("%s %s without a successor", c.Op, c.Code)
	case c.Successor != "" && c.Code != CodeSuperseded:
		return fmt.Errorf("%s naming the successor %q, with the reason code %q", c.Op, c.Successor, c.Code)
	case c.Successor != "":
		if err := checkRef(c.Seal, c.Successor); err != nil {
			return err
		}
	}
	if c.Application != "" {
		if c.Op != OpRegister {
			return fmt.Errorf("%s naming the application %q", c.Op, c.Application)
		}
		if err := checkID(c.Application); err != nil {
			return err
		}
	}
	if c.Predecessor != "" {
		if c.Op != OpRegister {
			return fmt.Errorf("%s naming the predecessor %q", c.Op, c.Predecessor)
		}
		return checkRef(c.Seal, c.Predecessor)
	}
	return nil
}

// checkRef accepts ref as another seal's identifier.
func checkRef(id, ref string) error {
	if err := checkID(ref); err != nil {
		return err
	}
	if ref == id {
		return fmt.Errorf("%w: seal %q names itself", ErrInvalid, id)
	}
	return nil
}

// ErrSuccessor reports a successor that does not name the seal it would
// supersede as its predecessor, or a seal superseded by another already.
var ErrSuccessor = fmt.Errorf("%w: successor", ErrTransition)

// Supersede revokes seal old with CodeSuperseded, naming its successor
// new (county rules 第十三条: a new seal, the old revoked with a
// reference). The successor must be registered already, naming old as its
// predecessor (RegisterRequest.Predecessor), so that the old seal is never
// revoked for a successor that does not exist: a change that crashed
// between the two leaves both active, and running it again finishes it.
// An old seal revoked already for new is returned as it is.
func (g *Registry) Supersede(ctx context.Context, old, new, reason string, requester *Principal, admin signed.Signer) (*Record, error) {
	if err := checkRef(old, new); err != nil {
		return nil, err
	}
	succ, err := g.Get(ctx, new)
	if err != nil {
		return nil, fmt.Errorf("registry: successor of %q: %w", old, err)
	}
	if succ.Predecessor != old {
		return nil, fmt.Errorf("%w: seal %q was not registered as the successor of %q", ErrSuccessor, new, old)
	}
	e, err := g.Get(ctx, old)
	if err != nil {
		return nil, err
	}
	switch {
	case e.Successor == new:
		return &e.Record, nil
	case e.Successor != "":
		return nil, fmt.Errorf("%w: seal %q is superseded by %q already", ErrSuccessor, old, e.Successor)
	}
	if strings.TrimSpace(reason) == "" {
		reason = "superseded by " + new
	}
	return g.ChangeStatus(ctx, old, StatusChange{To: StatusRevoked, Code: CodeSuperseded, Successor: new, Reason: reason, Requester: requester}, admin)
}

// checkPredecessor checks that a seal may be registered as the successor
// of seal pred: pred is registered and superseded by no other seal.
func (g *Registry) checkPredecessor(ctx context.Context, id, pred string) error {
	if pred == "" {
		return nil
	}
	if err := checkRef(id, pred); err != nil {
		return err
	}
	p, err := g.Get(ctx, pred)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: predecessor %q is not registered", ErrInvalid, pred)
		}
		return err
	}
	if p.Successor != "" && p.Successor != id {
		return fmt.Errorf("%w: seal %q is superseded by %q already", ErrSuccessor, pred, p.Successor)
	}
	if p.Status == StatusRevoked && p.Successor == "" {
		return fmt.Errorf("%w: seal %q is revoked (%s): a revoked seal has no successor", ErrSuccessor, pred, p.History[len(p.History)-1].Reason)
	}
	return nil
}
