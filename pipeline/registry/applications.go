package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/storage"
)

// An application for a seal (county rules 第七–八条: the county collects
// applications with the identity of the unit, the holder and the clerk;
// the city reviews them and makes the seals) is a hash-linked log of
// signed changes beside the seals', each signed by a seal administrator
// as registry changes are, recording who asked through the admin API:
//
//	registry/applications/<id>/materials/<name>  an identity material, written once; the submission pins its SM3
//	registry/applications/<id>/log/<seq>.json    change seq, a signed object, written once
//	registry/applications/<id>/head.json         the number and SM3 of the latest change, signed, replaced by compare-and-swap
//
// The log is written and verified as a seal's is (the package
// documentation's rules, high-water marks included: an application's mark
// is named "applications/<id>").
//
// Its state moves forward only: submitted → approved or refused (the
// review) → made (the seal it became) → filed (备案).

// SealKind is the kind of seal an application asks for (county rules
// 第八条).
type SealKind string

// Seal kinds.
const (
	// KindOfficial is a unit's official seal, 公章 (GB/T 38540 type 1).
	KindOfficial SealKind = "official"
	// KindSpecial is a special-purpose seal, 专用章 (type 1, with a purpose).
	KindSpecial SealKind = "special"
	// KindName is a personal name seal, 名章 (type 2).
	KindName SealKind = "name"
	// KindTitle is a title seal, 职务章 (type 2: a person's, for an office).
	KindTitle SealKind = "title"
)

// AppState is an application's state.
type AppState string

// Application states.
const (
	AppSubmitted AppState = "submitted"
	AppApproved  AppState = "approved"
	AppRefused   AppState = "refused"
	AppMade      AppState = "made"
	AppFiled     AppState = "filed"
)

// AppOp is what an application change does.
type AppOp string

// Application changes: each moves the state from the one before it.
const (
	AppOpSubmit  AppOp = "submit"  // → submitted (the first change)
	AppOpApprove AppOp = "approve" // submitted → approved
	AppOpRefuse  AppOp = "refuse"  // submitted → refused, with a reason
	AppOpMake    AppOp = "make"    // approved → made, naming the seal
	AppOpFile    AppOp = "file"    // made → filed
)

var appTransitions = map[AppOp]struct{ from, to AppState }{
	AppOpApprove: {AppSubmitted, AppApproved},
	AppOpRefuse:  {AppSubmitted, AppRefused},
	AppOpMake:    {AppApproved, AppMade},
	AppOpFile:    {AppMade, AppFiled},
}

// ErrAppNotFound reports that no application has the identifier given.
var ErrAppNotFound = errors.New("registry: application not found")

// Material is an identity material attached to an application (county
// rules 第八条): the unit's, the holder's or the clerk's, as submitted.
type Material struct {
	// Name is its file name, one object-key segment such as
	// unit-licence.pdf.
	Name string `json:"name"`
	// SM3 is the hex SM3 of its bytes, Size their number.
	SM3  string `json:"sm3"`
	Size int64  `json:"size"`
}

// ApplicationChange is one signed entry of an application's log.
type ApplicationChange struct {
	Application string    `json:"application"`
	Seq         int       `json:"seq"`
	Prev        string    `json:"prev,omitempty"`
	At          time.Time `json:"at"`
	Op          AppOp     `json:"op"`
	Reason      string    `json:"reason,omitempty"`

	// Set by AppOpSubmit: what is applied for.
	Unit      string     `json:"unit,omitempty"`
	Kind      SealKind   `json:"kind,omitempty"`
	Purpose   string     `json:"purpose,omitempty"`
	Holder    string     `json:"holder,omitempty"`
	Clerk     string     `json:"clerk,omitempty"`
	Materials []Material `json:"materials,omitempty"`
	// Set by AppOpMake: the seal made.
	Seal string `json:"seal,omitempty"`

	Requester *Principal `json:"requester,omitempty"`
}

// Application is an application's state: the replay of its log.
type Application struct {
	ID   string   `json:"id"`
	Unit string   `json:"unit"`
	Kind SealKind `json:"kind"`
	// Purpose is a special-purpose seal's purpose text.
	Purpose string `json:"purpose,omitempty"`
	// Holder is the person a name or title seal is for; Clerk the person
	// who submitted the application for the unit (经办人).
	Holder    string     `json:"holder,omitempty"`
	Clerk     string     `json:"clerk"`
	Materials []Material `json:"materials"`
	State     AppState   `json:"state"`
	// Seal is the seal made from the application, once made.
	Seal    string     `json:"seal,omitempty"`
	History []AppEvent `json:"history"`
}

// AppEvent is one change of an application.
type AppEvent struct {
	At        time.Time  `json:"at"`
	Op        AppOp      `json:"op"`
	State     AppState   `json:"state"`
	Actor     string     `json:"actor"`
	Reason    string     `json:"reason,omitempty"`
	Seq       int        `json:"seq"`
	Requester *Principal `json:"requester,omitempty"`
}

// MaterialFile is a material to attach: its name and bytes.
type MaterialFile struct {
	Name string
	Data []byte
}

// ApplicationRequest is an application to submit.
type ApplicationRequest struct {
	// ID identifies the application: one object-key segment, such as
	// 411728-2026-0001.
	ID string
	// Unit, Kind, Purpose, Holder and Clerk: see Application. Purpose is
	// required for KindSpecial and refused otherwise; Holder is required
	// for KindName and KindTitle and refused otherwise; Clerk is required.
	Unit    string
	Kind    SealKind
	Purpose string
	Holder  string
	Clerk   string
	// Materials are the identity materials: at least one.
	Materials []MaterialFile
	Reason    string
	Requester *Principal
}

// Object keys of applications.
const appsPrefix = storage.PrefixRegistry + "applications/"

func appMaterialKey(id, name string) string { return appsPrefix + id + "/" + MaterialsDir + name }

// maxMaterialSize bounds one material.
const maxMaterialSize = 16 << 20

// Submit records an application (county rules 第八条), signed by admin:
// its materials first, each create-only (an identical leftover of a
// crashed submission is kept), then its first change pinning their SM3.
// An identifier used already fails with ErrExists.
func (g *Registry) Submit(ctx context.Context, req ApplicationRequest, admin signed.Signer) (*Application, error) {
	if err := checkID(req.ID); err != nil {
		return nil, err
	}
	c := ApplicationChange{
		Application: req.ID, Seq: 1, Op: AppOpSubmit, Reason: req.Reason,
		Unit: req.Unit, Kind: req.Kind, Purpose: req.Purpose, Holder: req.Holder, Clerk: req.Clerk, Requester: req.Requester,
	}
	for _, m := range req.Materials {
		c.Materials = append(c.Materials, Material{Name: m.Name, SM3: sm3hex(m.Data), Size: int64(len(m.Data))})
	}
	if err := checkSubmission(c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := req.Requester.check(); err != nil {
		return nil, err
	}
	if err := g.checkAdmin(admin); err != nil {
		return nil, err
	}
	for _, m := range req.Materials {
		key := appMaterialKey(req.ID, m.Name)
		created, err := storage.PutOnce(ctx, g.store, key, m.Data, storage.PutOptions{ContentType: "application/octet-stream"})
		if err != nil {
			return nil, fmt.Errorf("registry: application %q: %w", req.ID, err)
		}
		if !created {
			old, _, err := storage.ReadAll(ctx, g.store, key, maxMaterialSize)
			if err != nil {
				return nil, fmt.Errorf("registry: application %q: %w", req.ID, err)
			}
			if sm3hex(old) != sm3hex(m.Data) {
				return nil, fmt.Errorf("%w: application %q", ErrExists, req.ID)
			}
		}
	}
	if err := g.appendApp(ctx, c, "", admin); err != nil {
		return nil, err
	}
	return g.Application(ctx, req.ID)
}

// checkSubmission checks what a submission asks for.
func checkSubmission(c ApplicationChange) error {
	personal := c.Kind == KindName || c.Kind == KindTitle
	switch {
	case !slices.Contains([]SealKind{KindOfficial, KindSpecial, KindName, KindTitle}, c.Kind):
		return fmt.Errorf("seal kind %q: want %s, %s, %s or %s", c.Kind, KindOfficial, KindSpecial, KindName, KindTitle)
	case strings.TrimSpace(c.Unit) == "":
		return errors.New("an application names its unit")
	case strings.TrimSpace(c.Clerk) == "":
		return errors.New("an application names its clerk (经办人)")
	case personal != (strings.TrimSpace(c.Holder) != ""):
		return fmt.Errorf("a %s seal names a holder if and only if it is a personal one (name, title)", c.Kind)
	case (c.Kind == KindSpecial) != (strings.TrimSpace(c.Purpose) != ""):
		return fmt.Errorf("a purpose is for a special-purpose seal, which needs one (kind %s)", c.Kind)
	case len(c.Materials) == 0:
		return errors.New("an application attaches the identity materials of the unit, the holder and the clerk")
	}
	for i, m := range c.Materials {
		if err := approval.CheckSegment("material", m.Name); err != nil {
			return err
		}
		if slices.ContainsFunc(c.Materials[:i], func(o Material) bool { return o.Name == m.Name }) {
			return fmt.Errorf("material %q attached twice", m.Name)
		}
		if m.Size <= 0 || m.Size > maxMaterialSize || len(m.SM3) != 64 {
			return fmt.Errorf("material %q: %d bytes, want 1 to %d", m.Name, m.Size, maxMaterialSize)
		}
	}
	return nil
}

// Review approves or refuses a submitted application (county rules 第七条:
// the city reviews what the county collected), signed by admin. A refusal
// needs a reason.
func (g *Registry) Review(ctx context.Context, id string, approve bool, reason string, requester *Principal, admin signed.Signer) (*Application, error) {
	op := AppOpRefuse
	if approve {
		op = AppOpApprove
	} else if strings.TrimSpace(reason) == "" {
		return nil, fmt.Errorf("%w: a refusal needs a reason", ErrInvalid)
	}
	return g.advanceApp(ctx, id, ApplicationChange{Op: op, Reason: reason, Requester: requester}, admin)
}

// MarkMade records that seal sealID was made from an approved application.
func (g *Registry) MarkMade(ctx context.Context, id, sealID string, requester *Principal, admin signed.Signer) (*Application, error) {
	if err := checkID(sealID); err != nil {
		return nil, err
	}
	return g.advanceApp(ctx, id, ApplicationChange{Op: AppOpMake, Seal: sealID, Requester: requester}, admin)
}

// File records the filing (备案) of the seal made from an application.
func (g *Registry) File(ctx context.Context, id, reason string, requester *Principal, admin signed.Signer) (*Application, error) {
	return g.advanceApp(ctx, id, ApplicationChange{Op: AppOpFile, Reason: reason, Requester: requester}, admin)
}

// advanceApp appends change c to application id if its state allows.
func (g *Registry) advanceApp(ctx context.Context, id string, c ApplicationChange, admin signed.Signer) (*Application, error) {
	if err := c.Requester.check(); err != nil {
		return nil, err
	}
	a, v, err := g.replayApp(ctx, id)
	if err != nil {
		return nil, err
	}
	if t := appTransitions[c.Op]; a.State != t.from {
		return nil, fmt.Errorf("%w: application %q is %s, not %s", ErrTransition, id, a.State, t.from)
	}
	if err := g.checkAdmin(admin); err != nil {
		return nil, err
	}
	c.Application, c.Seq = id, len(a.History)+1
	if err := g.appendApp(ctx, c, v.headETag, admin); err != nil {
		return nil, err
	}
	return g.Application(ctx, id)
}

// appendApp writes change c, signed by admin, after change c.Seq-1 and
// moves the head to it; headETag is the head's ETag when the state c
// builds on was read ("" for the first change).
func (g *Registry) appendApp(ctx context.Context, c ApplicationChange, headETag string, admin signed.Signer) error {
	err := g.appendTo(ctx, appChain(c.Application), c.Seq, headETag, admin, func(prev string, at time.Time) any {
		c.Prev, c.At = prev, at
		return c
	})
	if c.Seq == 1 && errors.Is(err, ErrConflict) {
		return fmt.Errorf("%w: application %q", ErrExists, c.Application)
	}
	return err
}

// Application returns application id, replayed from its verified log:
// every change signed by a seal administrator trusted at its time, in
// order, each naming the SM3 of the one before, the head naming the last,
// no older than a head seen before, the materials matching the SM3 the
// submission pinned. Anything else fails with a *TamperError (its Seal
// field names the application).
func (g *Registry) Application(ctx context.Context, id string) (*Application, error) {
	a, _, err := g.replayApp(ctx, id)
	return a, err
}

// replayApp returns application id and the head it was read at.
func (g *Registry) replayApp(ctx context.Context, id string) (*Application, *verified, error) {
	if err := checkID(id); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrAppNotFound, err)
	}
	a := &Application{}
	v, err := g.replayChain(ctx, appChain(id), func(seq int, obj []byte) (*opened, error) {
		var c ApplicationChange
		actor, err := g.open(obj, &c, func() time.Time { return c.At })
		switch {
		case err != nil:
			return nil, err
		case c.Application != id || c.Seq != seq:
			return nil, fmt.Errorf("names application %q change %d", c.Application, c.Seq)
		}
		return &opened{c.Prev, c.At, func() error { return g.applyApp(ctx, a, c, actor) }}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := g.see(ctx, appChain(id), v.head.Seq); err != nil {
		return nil, nil, err
	}
	return a, v, nil
}

// applyApp applies change c, signed by actor, to a.
func (g *Registry) applyApp(ctx context.Context, a *Application, c ApplicationChange, actor string) error {
	if err := c.Requester.check(); err != nil {
		return err
	}
	ev := AppEvent{At: c.At, Op: c.Op, Actor: actor, Reason: c.Reason, Seq: c.Seq, Requester: c.Requester}
	if c.Seq == 1 {
		if c.Op != AppOpSubmit {
			return fmt.Errorf("the first change is %q, want %q", c.Op, AppOpSubmit)
		}
		if err := checkSubmission(c); err != nil {
			return err
		}
		for _, m := range c.Materials {
			b, _, err := storage.ReadAll(ctx, g.store, appMaterialKey(c.Application, m.Name), maxMaterialSize)
			if err != nil {
				return fmt.Errorf("material %s: %w", m.Name, err)
			}
			if sm3hex(b) != m.SM3 || int64(len(b)) != m.Size {
				return fmt.Errorf("material %s has SM3 %s, the submission pinned %s", m.Name, sm3hex(b), m.SM3)
			}
		}
		*a = Application{ID: c.Application, Unit: c.Unit, Kind: c.Kind, Purpose: c.Purpose, Holder: c.Holder, Clerk: c.Clerk, Materials: c.Materials, State: AppSubmitted}
	} else {
		t, ok := appTransitions[c.Op]
		switch {
		case !ok:
			return fmt.Errorf("unknown change %q", c.Op)
		case a.State != t.from:
			return fmt.Errorf("%s of an application that is %s", c.Op, a.State)
		case (c.Op == AppOpMake) != (c.Seal != ""):
			return fmt.Errorf("%s naming the seal %q", c.Op, c.Seal)
		case c.Op == AppOpRefuse && strings.TrimSpace(c.Reason) == "":
			return fmt.Errorf("a refusal without a reason")
		case c.Unit != "" || c.Kind != "" || c.Holder != "" || c.Clerk != "" || c.Purpose != "" || len(c.Materials) > 0:
			return fmt.Errorf("%s changing what was applied for", c.Op)
		}
		a.State = t.to
		if c.Seal != "" {
			a.Seal = c.Seal
		}
	}
	ev.State = a.State
	a.History = append(a.History, ev)
	return nil
}

// Applications returns every application, ordered by identifier; one whose
// log does not verify fails the listing with its *TamperError.
func (g *Registry) Applications(ctx context.Context) ([]Application, error) {
	ids, err := g.applicationIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Application, 0, len(ids))
	for _, id := range ids {
		a, err := g.Application(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, nil
}

// applicationIDs lists the identifiers of the applications with a log or
// a head.
func (g *Registry) applicationIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := g.store.List(ctx, appsPrefix, func(o storage.ObjectInfo) error {
		id, rest, ok := strings.Cut(strings.TrimPrefix(o.Key, appsPrefix), "/")
		if ok && (rest == headName || strings.HasPrefix(rest, logDir)) && (len(ids) == 0 || ids[len(ids)-1] != id) {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registry: list applications: %w", err)
	}
	return ids, nil
}

// checkApplication checks that seal id may be registered as made from
// application appID: it is approved, or made into this very seal (a
// rerun after a crash).
func (g *Registry) checkApplication(ctx context.Context, appID, id string) error {
	a, err := g.Application(ctx, appID)
	if err != nil {
		return err
	}
	if a.State != AppApproved && !(a.State == AppMade && a.Seal == id) {
		return fmt.Errorf("%w: application %q is %s, not approved", ErrTransition, appID, a.State)
	}
	return nil
}

// FileSeal files the seal made from application appID (county rules
// 第六条 备案) and only then activates it: the seal, registered suspended
// (RegisterRequest.Application), is activated, then the application
// marked filed. A filing stopped between the two is finished by the same
// call again; a filed application is returned as it is.
func (g *Registry) FileSeal(ctx context.Context, appID, reason string, requester *Principal, admin signed.Signer) (*Application, error) {
	a, err := g.Application(ctx, appID)
	if err != nil {
		return nil, err
	}
	switch a.State {
	case AppFiled:
		return a, nil
	case AppMade:
	default:
		return nil, fmt.Errorf("%w: application %q is %s: a seal is made from it before it is filed", ErrTransition, appID, a.State)
	}
	e, err := g.Get(ctx, a.Seal)
	if err != nil {
		return nil, err
	}
	if e.Application != appID {
		return nil, fmt.Errorf("%w: seal %q was not made from application %q", ErrInvalid, a.Seal, appID)
	}
	if strings.TrimSpace(reason) == "" {
		reason = "filed (application " + appID + ")"
	}
	if e.Status == StatusSuspended && len(e.History) == 1 {
		if _, err := g.changeStatus(ctx, e.ID, StatusChange{To: StatusActive, Reason: reason, Requester: requester}, admin, true); err != nil {
			return nil, err
		}
	}
	return g.File(ctx, appID, reason, requester, admin)
}
