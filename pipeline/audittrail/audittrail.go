// Package audittrail answers an auditor's questions — which seals were
// used, when, for what, approved by whom; who registered, suspended,
// revoked a seal or changed its approvers, and why; who applied for a
// seal, who reviewed, made and filed it — in one list: every use of a
// seal from the usage log (package audit), every change of the seal
// registry and of the applications for seals (package registry), merged
// in time order and narrowed by seal, unit and time.
//
// Only what verifies is listed. Each seal in the query's scope has its
// registry log replayed and its usage log walked exactly as `sealpipe
// registry verify` and `sealpipe audit verify` do; if either does not
// verify, the query fails with an *UnverifiedError naming the object at
// fault instead of listing anything, so that a record that does not verify
// is never shown, and never silently left out either. A seal with uses on
// record but no registry entry fails the same way: its unit could not be
// told, and deleting a seal's registry entry must not hide its uses from a
// query by unit.
//
// Trail.Query is what `sealpipe audit query` and the admin API's
// GET /api/v1/audit call; ParseFilter reads their parameters the same way
// for both, and WriteCSV writes the CSV both offer.
package audittrail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/storage"
)

// UsageLog is what a query reads of the usage log. internal/engine
// provides it over an *audit.Log.
type UsageLog interface {
	// Seals lists the seals that have usage records or a log.
	Seals(ctx context.Context) ([]string, error)
	// Uses returns seal's uses, each verified as `sealpipe audit verify`
	// verifies the log (audit.Log.Uses), or else none and the log's first
	// problem as an *audit.Problem error.
	Uses(ctx context.Context, seal string) ([]audit.Use, error)
}

// Registry is what a query reads of the seal registry: a
// *registry.Registry, whose Get and List replay and verify a seal's log,
// and Applications every application's.
type Registry interface {
	List(ctx context.Context) ([]registry.Record, error)
	Get(ctx context.Context, id string) (*registry.Entry, error)
	Applications(ctx context.Context) ([]registry.Application, error)
}

// Trail is the audit trail of a store: its usage log and its registry.
type Trail struct {
	Usage    UsageLog
	Registry Registry
}

// Filter narrows a query. Its zero value asks for everything.
type Filter struct {
	// Seals are the seals asked about; none means every seal.
	Seals []string
	// Unit, if set, keeps the seals of that unit only: the organisation
	// the registry records the seal for (registry.Record.Unit), such as
	// 某某县民政局.
	Unit string
	// From and To bound the events' times, both inclusive; a zero time
	// leaves that side open.
	From, To time.Time
	// Location is the time zone the events' times are given in; nil
	// means UTC.
	Location *time.Location
}

// includes reports whether t lies within f's bounds.
func (f Filter) includes(t time.Time) bool {
	return (f.From.IsZero() || !t.Before(f.From)) && (f.To.IsZero() || !t.After(f.To))
}

// OpUse is the Op of an Event that is a use of a seal; the other Ops are
// the registry's (registry.OpRegister, OpSuspend, OpActivate, OpRevoke,
// OpApprovers, OpImport) and, for an Event with Application set, an
// application's (registry.AppOpSubmit, AppOpApprove, AppOpRefuse,
// AppOpMake, AppOpFile).
const OpUse = "use"

// Event is a use of a seal, a change of its registry entry, or a change
// of an application for a seal.
type Event struct {
	// Time is when it happened: for a use, the signing time the sealed
	// output's signature records (one-second resolution); for a change,
	// the time the signed change states.
	Time time.Time `json:"time"`
	// Seal is the seal's identifier and Unit the organisation the
	// registry records it for. For an application's change, Seal is the
	// seal made from it (empty until one is) and Unit the unit it names.
	Seal string `json:"seal"`
	Unit string `json:"unit"`
	// Op is OpUse or the registry change's op: register, suspend,
	// activate, revoke or approvers.
	Op string `json:"op"`

	// A use: the batch's department, the batch and the document (the
	// first two empty for a local `sealpipe seal`), the hex SM3 of the
	// sealed output, the approver's certificate subject, and who applied
	// the seal ("pipeline" or a local user).
	Department string `json:"department,omitempty"`
	Batch      string `json:"batch,omitempty"`
	Document   string `json:"document,omitempty"`
	OutputSM3  string `json:"output_sm3,omitempty"`
	Approver   string `json:"approver,omitempty"`
	Operator   string `json:"operator,omitempty"`
	// Segment is the key of the usage log segment that lists the use;
	// empty while its batch is in progress (its record is signed, but not
	// yet in the hash chain).
	Segment string `json:"segment,omitempty"`

	// A change: the seal administrator whose signature made it (the
	// signing certificate's common name), who asked for it through the
	// admin API if anyone did, why, and the seal's status after it.
	Actor     string              `json:"actor,omitempty"`
	Requester *registry.Principal `json:"requester,omitempty"`
	Reason    string              `json:"reason,omitempty"`
	Status    registry.Status     `json:"status,omitempty"`
	// Code is a suspension's or revocation's reason code (county rules
	// 第十三–十四条), Successor the seal that superseded this one
	// (registry.CodeSuperseded) and Predecessor the seal a registration
	// replaces; empty for changes from before they were recorded.
	Code        registry.ReasonCode `json:"code,omitempty"`
	Successor   string              `json:"successor,omitempty"`
	Predecessor string              `json:"predecessor,omitempty"`
	// Application is the application an application's change is of
	// (county rules 第七–八条), and State its state after the change;
	// Actor, Requester and Reason are as for a registry change.
	Application string            `json:"application,omitempty"`
	State       registry.AppState `json:"state,omitempty"`

	// Object is the object key of the use's usage record or of the
	// change.
	Object string `json:"object"`
}

var (
	// ErrFilter reports a filter that asks for nothing sensible: a
	// malformed seal identifier or time, or From after To.
	ErrFilter = errors.New("audit query")
	// ErrUnverified is wrapped by an *UnverifiedError.
	ErrUnverified = errors.New("audit query: records do not verify")
)

// Problem is a record in a query's scope that does not verify.
type Problem struct {
	Seal   string `json:"seal"`
	Object string `json:"object"`
	Reason string `json:"problem"`
}

func (p Problem) Error() string { return fmt.Sprintf("seal %s: %s: %s", p.Seal, p.Object, p.Reason) }

// UnverifiedError is a query's failure because records in its scope do
// not verify: the first problem of each seal's registry log and usage log
// that has one. It wraps ErrUnverified.
type UnverifiedError struct {
	Problems []Problem
}

func (e *UnverifiedError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return fmt.Sprintf("%v: %s", ErrUnverified, strings.Join(msgs, "; "))
}

// Unwrap returns ErrUnverified.
func (e *UnverifiedError) Unwrap() error { return ErrUnverified }

// Query returns the events f asks for, oldest first, each from a log that
// verifies; if a seal in f's scope has a log that does not, it returns an
// *UnverifiedError and no event. A filter without sense (see ErrFilter)
// is an error wrapping ErrFilter; other errors are failures to read.
func (t *Trail) Query(ctx context.Context, f Filter) ([]Event, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	seals, recs, problems, err := t.scope(ctx, f)
	if err != nil {
		return nil, err
	}
	var events []Event
	for _, id := range seals {
		rec, known := recs[id]
		if rec != nil && f.Unit != "" && rec.Unit != f.Unit {
			continue
		}
		uses, err := t.Usage.Uses(ctx, id)
		var p *audit.Problem
		switch {
		case errors.As(err, &p):
			problems = append(problems, Problem(*p))
			continue
		case err != nil:
			return nil, err
		case rec == nil:
			// known: the registry log itself is the problem, already noted.
			if len(uses) > 0 && !known {
				problems = append(problems, Problem{Seal: id, Object: uses[0].Key,
					Reason: "a use of a seal the registry does not hold (sealpipe registry verify)"})
			}
			continue
		}
		events = append(events, changes(rec, f)...)
		for _, u := range uses {
			if f.includes(u.SignedAt) {
				events = append(events, use(rec, u, f.Location))
			}
		}
	}
	apps, err := t.applications(ctx, f)
	var ue *UnverifiedError
	switch {
	case errors.As(err, &ue):
		problems = append(problems, ue.Problems...)
	case err != nil:
		return nil, err
	}
	events = append(events, apps...)
	if len(problems) > 0 {
		return nil, &UnverifiedError{Problems: problems}
	}
	slices.SortFunc(events, func(a, b Event) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Seal, b.Seal), cmp.Compare(a.Object, b.Object))
	})
	return events, nil
}

// check refuses a filter without sense.
func (f Filter) check() error {
	for _, id := range f.Seals {
		if err := approval.CheckSegment("seal", id); err != nil {
			return fmt.Errorf("%w: %w", ErrFilter, err)
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return fmt.Errorf("%w: from %s is after to %s", ErrFilter, f.From.Format(time.RFC3339), f.To.Format(time.RFC3339))
	}
	return nil
}

// scope returns the seals f asks about, in order, and the registry record
// of each one that has a verified one; a seal whose registry log does not
// verify maps to nil, with its problem. Without seals named, that is every
// seal in the registry or the usage log — and then a registry log that
// does not verify fails the whole query, since its seal's unit cannot be
// told.
func (t *Trail) scope(ctx context.Context, f Filter) ([]string, map[string]*registry.Record, []Problem, error) {
	recs := map[string]*registry.Record{}
	var problems []Problem
	if len(f.Seals) > 0 {
		seals := slices.Compact(slices.Sorted(slices.Values(f.Seals)))
		for _, id := range seals {
			e, err := t.Registry.Get(ctx, id)
			switch {
			case err == nil:
				recs[id] = &e.Record
			case errors.Is(err, registry.ErrNotFound):
			default:
				p, err := registryProblem(id, err)
				if err != nil {
					return nil, nil, nil, err
				}
				recs[id] = nil
				problems = append(problems, p)
			}
		}
		return seals, recs, problems, nil
	}
	list, err := t.Registry.List(ctx)
	if err != nil {
		p, err := registryProblem("", err)
		if err != nil {
			return nil, nil, nil, err
		}
		return nil, nil, nil, &UnverifiedError{Problems: []Problem{p}}
	}
	used, err := t.Usage.Seals(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	for i := range list {
		recs[list[i].ID] = &list[i]
		used = append(used, list[i].ID)
	}
	return slices.Compact(slices.Sorted(slices.Values(used))), recs, problems, nil
}

// registryProblem turns a registry log that does not verify into a
// Problem; any other error is returned as it is.
func registryProblem(seal string, err error) (Problem, error) {
	var te *registry.TamperError
	if errors.As(err, &te) {
		return Problem{Seal: te.Seal, Object: te.Object, Reason: te.Reason}, nil
	}
	if errors.Is(err, registry.ErrTampered) {
		return Problem{Seal: seal, Object: storage.PrefixRegistry, Reason: err.Error()}, nil
	}
	return Problem{}, err
}

// applications returns the events of the applications' histories that f
// includes: of the applications for the seals f names, if any, and of
// f's unit, if set. Every application's log is verified, even outside
// f's scope, since the seal and unit of one that does not verify cannot be
// told: one that does not is an *UnverifiedError.
func (t *Trail) applications(ctx context.Context, f Filter) ([]Event, error) {
	apps, err := t.Registry.Applications(ctx)
	if err != nil {
		p, err := registryProblem("", err)
		if err != nil {
			return nil, err
		}
		return nil, &UnverifiedError{Problems: []Problem{p}}
	}
	var out []Event
	for _, a := range apps {
		if len(f.Seals) > 0 && !slices.Contains(f.Seals, a.Seal) || f.Unit != "" && a.Unit != f.Unit {
			continue
		}
		for _, ev := range a.History {
			if !f.includes(ev.At) {
				continue
			}
			out = append(out, Event{
				Time: ev.At.In(location(f.Location)), Seal: a.Seal, Unit: a.Unit, Op: string(ev.Op),
				Actor: ev.Actor, Requester: ev.Requester, Reason: ev.Reason,
				Application: a.ID, State: ev.State, Object: registry.ApplicationChangeKey(a.ID, ev.Seq),
			})
		}
	}
	return out, nil
}

// changes returns the events of rec's history that f includes.
func changes(rec *registry.Record, f Filter) []Event {
	var out []Event
	var before registry.Status
	for i, ev := range rec.History {
		op := opOf(i, before, ev)
		before = ev.Status
		if !f.includes(ev.At) {
			continue
		}
		out = append(out, Event{
			Time: ev.At.In(location(f.Location)), Seal: rec.ID, Unit: rec.Unit, Op: string(op),
			Actor: ev.Actor, Requester: ev.Requester, Reason: ev.Reason, Status: ev.Status,
			Code: ev.Code, Successor: ev.Successor, Predecessor: ev.Predecessor,
			Object: registry.ChangeKey(rec.ID, ev.Seq),
		})
	}
	return out
}

// opOf tells the change that made history event ev, the i-th, when the
// seal was before: the op the event records (registry.Event.Op, replayed
// from the signed change); or, for a registry that did not record it, the
// first registers the seal, one that moves the status suspends, activates
// or revokes it, and one that leaves it replaces the approvers (the
// registry refuses a status change to the same status).
func opOf(i int, before registry.Status, ev registry.Event) registry.Op {
	switch {
	case ev.Op != "":
		return ev.Op
	case i == 0:
		return registry.OpRegister
	case ev.Status == before:
		return registry.OpApprovers
	}
	return map[registry.Status]registry.Op{
		registry.StatusSuspended: registry.OpSuspend,
		registry.StatusActive:    registry.OpActivate,
		registry.StatusRevoked:   registry.OpRevoke,
	}[ev.Status]
}

// use is the event of use u of the seal rec records.
func use(rec *registry.Record, u audit.Use, loc *time.Location) Event {
	return Event{
		Time: u.SignedAt.In(location(loc)), Seal: rec.ID, Unit: rec.Unit, Op: OpUse,
		Department: u.Department, Batch: u.Batch, Document: u.Document, OutputSM3: u.OutputSM3,
		Approver: u.Approver, Operator: u.Operator, Segment: u.Segment, Object: u.Key,
	}
}

func location(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}
