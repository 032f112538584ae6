// Package registry keeps the seal registry: every seal sealpipe may apply,
// its GB/T 38540 SESeal bytes, its lifecycle status (active, suspended,
// revoked) with the history of changes, which approvers may approve its
// use for which departments, and the alias of the signing key that applies
// it.
//
// # A signed log
//
// The registry lives in the object store, which the workers do not trust
// (anyone able to write the bucket could otherwise un-revoke a seal or add
// an approver). Each seal is a hash-linked log of changes, every one signed
// by a seal administrator — a certificate with the registry-administrator
// role (trust.UsageRegistryAdmin) from the configured roots:
//
//	registry/seals/<id>/seal.esl          the SESeal DER, written once; the first change pins its SM3
//	registry/seals/<id>/log/<seq>.json    change seq (000001, 000002, …), a signed object (package signed), written once
//	registry/seals/<id>/head.json         the number and SM3 of the latest change, signed, replaced by compare-and-swap
//
// A seal's state is the replay of its verified changes: each must be
// signed by an administrator trusted at the time it states, name its seal
// and its position, and carry the SM3 of the object before it; the head
// must name the last change (a change past the head is a write the crash of
// its writer left unfinished). Anything else — an edited, removed,
// reordered or unsigned change, a planted record, a head that points past
// the log — fails with a *TamperError, and the seal cannot be used until an
// administrator looks into it. A Registry also remembers the newest head it
// has seen of each seal, so it notices a head rolled back to an older
// signed one while it runs, and after restarts too when given Marks
// (Remember) kept outside the registry's store.
//
// Lookups of a seal's status at a past instant (a signing time) walk its
// history, so a seal revoked after a document was sealed still verifies as
// valid for that document.
package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
)

// Status is a seal's lifecycle state.
type Status string

// Seal states. Only an active seal may be applied.
const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
	StatusRevoked   Status = "revoked"
)

var (
	// ErrNotFound reports that no seal with the given identifier is registered.
	ErrNotFound = errors.New("registry: seal not found")
	// ErrExists reports an attempt to register an identifier twice.
	ErrExists = errors.New("registry: seal already registered")
	// ErrTransition reports a status change the lifecycle forbids, such as
	// reactivating a revoked seal.
	ErrTransition = errors.New("registry: status change not allowed")
	// ErrConflict reports that a concurrent change won; reload and retry.
	ErrConflict = errors.New("registry: concurrent update")
	// ErrInvalid reports a request that breaks the registry's rules.
	ErrInvalid = errors.New("registry: invalid seal record")
	// ErrTampered reports a seal whose log does not verify (see TamperError).
	ErrTampered = errors.New("registry: seal log does not verify")
	// ErrUnfinished reports the first change of a seal or an application
	// with no head: a registration or submission whose writer stopped
	// between the two writes. The identifier cannot be used again until
	// an administrator removes the change.
	ErrUnfinished = errors.New("registry: a first change without a head (a write cut short)")
	// ErrUnmigrated reports a seal kept only in the unsigned record.json
	// layout of before the registry was signed: it is unusable until
	// `sealpipe migrate` gives it a signed log.
	ErrUnmigrated = errors.New("registry: seal has only an unsigned record.json (run sealpipe migrate)")
)

// TamperError reports what is wrong with the log of a seal or of an
// application. It wraps ErrTampered.
type TamperError struct {
	Seal   string // the seal's identifier, or the application's
	Object string // the object at fault, such as registry/seals/<id>/log/000002.json
	Reason string
}

func (e *TamperError) Error() string {
	what := "seal"
	if strings.HasPrefix(e.Object, appsPrefix) {
		what = "application"
	}
	return fmt.Sprintf("registry: %s %s: %s: %s", what, e.Seal, e.Object, e.Reason)
}

// Unwrap returns ErrTampered.
func (e *TamperError) Unwrap() error { return ErrTampered }

// Record is a seal's state: the replay of its log.
type Record struct {
	// ID is the seal's identifier, the SESeal esID (a 14-digit seal code for
	// seals made by sealpipe).
	ID string `json:"id"`
	// Name is the seal's name (SES_ESPropertyInfo name).
	Name string `json:"name"`
	// Unit is the organisation the seal belongs to.
	Unit string `json:"unit"`
	// Purpose is the seal's purpose text, such as 业务专用章.
	Purpose string `json:"purpose,omitempty"`
	// Status is the current lifecycle state.
	Status Status `json:"status"`
	// ValidStart and ValidEnd bound when the seal may be applied; they equal
	// the SESeal's validity window.
	ValidStart time.Time `json:"valid_start"`
	ValidEnd   time.Time `json:"valid_end"`
	// Approvers are the approvers who may approve uses of the seal, each
	// for some departments.
	Approvers []Approver `json:"approvers"`
	// Key is the alias of the signing key whose certificate is in the
	// seal's certList. The worker's own configuration maps aliases to
	// keys: nothing in the bucket names a file, module or PIN.
	Key string `json:"key"`
	// History records every status change, oldest first. The first event is
	// the registration.
	History []Event `json:"history"`
	// Head is the number of the latest change.
	Head int `json:"head"`
	// Predecessor is the seal this one replaces (a change or a renewal,
	// county rules 第十条 and 第十三条), if any; Successor is the seal
	// that replaced this one, set by its revocation with CodeSuperseded.
	Predecessor string `json:"predecessor,omitempty"`
	Successor   string `json:"successor,omitempty"`
	// Application is the application the seal was made from (county
	// rules 第七–八条), if any: such a seal was registered suspended and
	// activated when filed.
	Application string `json:"application,omitempty"`
}

// Approver is a certificate pinned by its key, allowed to approve uses of
// a seal for batches of the departments listed.
type Approver struct {
	// Name is the certificate's common name, for people.
	Name string `json:"name"`
	// Fingerprint is the hex SM3 of the certificate's SubjectPublicKeyInfo:
	// the key that must sign the approval.
	Fingerprint string `json:"fingerprint"`
	// Issuer and Serial identify the certificate pinned, for people and
	// audits; a re-issued certificate for the same key still matches.
	Issuer string `json:"issuer"`
	Serial string `json:"serial"`
	// Departments are the departments (inbox/<dept>/) whose batches the
	// approver may approve for this seal.
	Departments []string `json:"departments"`
}

// Event is one status change.
type Event struct {
	At     time.Time `json:"at"`
	Status Status    `json:"status"`
	// Op is the change that made the event, as the signed change says.
	Op Op `json:"op,omitempty"`
	// Actor is the administrator whose signature made the change: the
	// common name of the signing certificate.
	Actor  string `json:"actor"`
	Reason string `json:"reason,omitempty"`
	// Seq is the change that made it.
	Seq int `json:"seq"`
	// Requester is who asked for the change through the admin API, as
	// the change records it; nil for a change made on the command line
	// (Actor's own) and in logs from before it was recorded.
	Requester *Principal `json:"requester,omitempty"`
	// Code is the reason code of a suspension or revocation (empty in
	// logs from before codes were recorded); Successor names the seal
	// that superseded this one (CodeSuperseded), Predecessor the seal a
	// registration replaces.
	Code        ReasonCode `json:"code,omitempty"`
	Successor   string     `json:"successor,omitempty"`
	Predecessor string     `json:"predecessor,omitempty"`
}

// Principal is whoever asked the seal administrator's service for a
// change (package adminapi): the identity their client certificate
// proved. It is recorded inside the signed change, so the administrator's
// signature vouches for who asked as well as for what changed.
type Principal struct {
	// Name is the client certificate's common name.
	Name string `json:"name"`
	// Role is the role the certificate carried, such as "keeper".
	Role string `json:"role"`
	// Fingerprint is the hex SM3 of the certificate's SubjectPublicKeyInfo
	// (see Fingerprint).
	Fingerprint string `json:"fingerprint"`
}

// check refuses a principal that names nobody.
func (p *Principal) check() error {
	if p != nil && (strings.TrimSpace(p.Name) == "" || p.Role == "" || len(p.Fingerprint) != 64) {
		return fmt.Errorf("%w: a requester needs a name, a role and an SM3 key fingerprint", ErrInvalid)
	}
	return nil
}

// Entry is a record together with its decoded seal.
type Entry struct {
	Record
	// Seal is the decoded SESeal; Seal.Raw holds its DER bytes.
	Seal *ses.Seal
}

// StatusAt returns the seal's status at instant t according to its history.
// Before registration the seal did not exist: StatusAt reports revoked.
//
// Signing times have one-second resolution, so t stands for a signature made
// somewhere in [t, t+1s). Within that second the signer gets the benefit of
// the doubt: an event that made the seal usable counts if it happened before
// t+1s, one that made it unusable only if it happened by t. A seal
// registered at 12:00:00.6 is thus active for a signature recorded at
// 12:00:00, and one suspended at 12:00:00.6 still is too.
func (r *Record) StatusAt(t time.Time) Status {
	st := StatusRevoked
	for _, e := range r.History {
		effective := !e.At.After(t)
		if e.Status == StatusActive {
			effective = e.At.Before(t.Add(time.Second))
		}
		if effective {
			st = e.Status
		}
	}
	return st
}

// MayApprove reports whether the holder of cert may approve uses of the
// seal for a batch of department dept: cert's key is pinned as an
// approver of the seal for that department. Whether cert is trusted at
// all is the caller's check (trust.UsageApprover).
func (r *Record) MayApprove(cert *smx509.Certificate, dept string) bool {
	if cert == nil {
		return false
	}
	fp := Fingerprint(cert)
	return slices.ContainsFunc(r.Approvers, func(a Approver) bool {
		return a.Fingerprint == fp && slices.Contains(a.Departments, dept)
	})
}

// ApproverFor returns the approver entry pinning cert's key, if any.
func (r *Record) ApproverFor(cert *smx509.Certificate) (Approver, bool) {
	if cert == nil {
		return Approver{}, false
	}
	fp := Fingerprint(cert)
	i := slices.IndexFunc(r.Approvers, func(a Approver) bool { return a.Fingerprint == fp })
	if i < 0 {
		return Approver{}, false
	}
	return r.Approvers[i], true
}

// Registry reads and writes seal logs in an object store. It is safe for
// concurrent use.
type Registry struct {
	store storage.Store
	trust *trust.Pool
	now   func() time.Time

	mu    sync.Mutex
	cache map[string]cached // by seal id
	seen  map[string]int    // the newest head seen of each seal
	marks Marks             // where seen is kept across restarts (Remember); nil: in memory only
}

// WithEntries returns a context carrying entries as Get returned them for
// one operation, such as the sealing of one document: Get with it returns
// those seals as they are, without reading their heads again. The pipeline
// checks a document's seals before it signs and verifies what it signed
// milliseconds later; the verification judges the state the seals were
// used in, and costs no request of its own.
func WithEntries(ctx context.Context, es ...*Entry) context.Context {
	m := make(entries, len(es))
	if outer, ok := ctx.Value(entriesKey{}).(entries); ok {
		maps.Copy(m, outer)
	}
	for _, e := range es {
		m[e.ID] = e
	}
	return context.WithValue(ctx, entriesKey{}, m)
}

// entries are the seals a context carries (WithEntries), by ID.
type entries map[string]*Entry

type entriesKey struct{}

// cached is a verified seal and the head object it was read at.
type cached struct {
	etag  string
	entry *Entry
}

// New returns a registry kept in store whose changes must be signed by
// administrators trusted by pool (trust.UsageRegistryAdmin).
func New(store storage.Store, pool *trust.Pool) *Registry {
	return &Registry{store: store, trust: pool, now: time.Now, cache: make(map[string]cached), seen: make(map[string]int)}
}

// Size limits of the objects a seal is stored as.
const (
	maxObjectSize = 1 << 20
	maxSealSize   = 16 << 20
	// maxChanges bounds one seal's log: a lifetime of status changes is
	// a few dozen.
	maxChanges = 100000
)

// Get returns the seal registered under id, its state replayed from its
// verified log. It fails with an error wrapping ErrNotFound if there is no
// such seal and with a *TamperError if its log does not verify. It reads
// the seal's head every time, so that a change (a revocation) counts at
// once — unless ctx carries the seal as resolved already for the same
// operation (WithEntries).
func (g *Registry) Get(ctx context.Context, id string) (*Entry, error) {
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if es, ok := ctx.Value(entriesKey{}).(entries); ok && es[id] != nil {
		return es[id], nil
	}
	head, err := g.store.Stat(ctx, headKey(id))
	switch {
	case errors.Is(err, storage.ErrNotExist):
		return nil, g.missing(ctx, sealChain(id))
	case err != nil:
		return nil, fmt.Errorf("registry: get %q: %w", id, err)
	}
	g.mu.Lock()
	c, ok := g.cache[id]
	g.mu.Unlock()
	if ok && c.etag == head.ETag {
		return c.entry, nil
	}
	l, err := g.replay(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := g.see(ctx, sealChain(id), l.head.Seq); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cache[id] = cached{etag: l.headETag, entry: l.entry}
	return l.entry, nil
}

// see records that the head of l names change seq, after checking that
// it is not older than one seen before (a log rolled back to an older
// signed head: a *TamperError). The mark is raised before the state is
// used: a process that used a change has it recorded.
func (g *Registry) see(ctx context.Context, l chain, seq int) error {
	g.mu.Lock()
	seen, marks := g.seen[l.mark], g.marks
	g.mu.Unlock()
	if seq < seen {
		return &TamperError{Seal: l.id, Object: l.headKey(), Reason: fmt.Sprintf("head names change %d, but change %d was seen before: rolled back", seq, seen)}
	}
	if marks != nil && seq > seen {
		if err := marks.Raise(ctx, l.mark, seq); err != nil {
			return fmt.Errorf("registry: %s %q: record its high-water mark: %w", l.what, l.id, err)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen[l.mark] = max(g.seen[l.mark], seq)
	return nil
}

// missing explains a log without a head: nothing there, or its head
// deleted (tampering), or a first change whose writer crashed before the
// head. It returns a *TamperError, or an error wrapping ErrNotFound (a
// seal) or ErrAppNotFound (an application).
func (g *Registry) missing(ctx context.Context, l chain) error {
	g.mu.Lock()
	seen := g.seen[l.mark]
	g.mu.Unlock()
	if seen > 0 {
		return &TamperError{Seal: l.id, Object: l.headKey(), Reason: "the head is gone"}
	}
	var changes int
	err := g.store.List(ctx, l.logPrefix(), func(storage.ObjectInfo) error { changes++; return nil })
	switch {
	case err != nil:
		return fmt.Errorf("registry: get %s %q: %w", l.what, l.id, err)
	case changes > 1:
		return &TamperError{Seal: l.id, Object: l.headKey(), Reason: fmt.Sprintf("no head, but %d changes", changes)}
	case l.what == "application":
		return fmt.Errorf("%w: %q", ErrAppNotFound, l.id)
	}
	return fmt.Errorf("%w: %q", ErrNotFound, l.id)
}

// List returns every registered seal's record, ordered by identifier. A
// seal whose log does not verify fails the listing with its *TamperError.
func (g *Registry) List(ctx context.Context) ([]Record, error) {
	ids, err := g.ids(ctx, false)
	if err != nil {
		return nil, err
	}
	recs := make([]Record, 0, len(ids))
	for _, id := range ids {
		e, err := g.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		recs = append(recs, e.Record)
	}
	return recs, nil
}

// ids lists the identifiers of the seals with a log or a head, and with
// legacy also those with only a record.json of the unsigned layout.
func (g *Registry) ids(ctx context.Context, legacy bool) ([]string, error) {
	var ids []string
	err := g.store.List(ctx, sealsPrefix, func(o storage.ObjectInfo) error {
		id, rest, ok := strings.Cut(strings.TrimPrefix(o.Key, sealsPrefix), "/")
		known := rest == headName || strings.HasPrefix(rest, logDir) || legacy && rest == legacyName
		if ok && known && (len(ids) == 0 || ids[len(ids)-1] != id) {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registry: list: %w", err)
	}
	return ids, nil
}

// Problem is a seal whose log does not verify, as Verify reports it, or
// an application (Application set, Seal empty).
type Problem struct {
	Seal        string
	Application string
	Err         error
}

// Verify checks the log of every seal, then of every application
// (Application), and returns those that fail, in identifier order: logs
// that do not verify (ErrTampered), seals with no log but a record.json of
// the unsigned layout (ErrUnmigrated), and first changes whose head was
// never written (ErrUnfinished). A nil result means every seal and every
// application verifies.
func (g *Registry) Verify(ctx context.Context) ([]Problem, error) {
	ids, err := g.ids(ctx, true)
	if err != nil {
		return nil, err
	}
	var problems []Problem
	for _, id := range ids {
		if _, err := g.replay(ctx, id); err != nil {
			if errors.Is(err, ErrNotFound) {
				_, serr := g.store.Stat(ctx, sealsPrefix+id+"/"+legacyName)
				switch {
				case serr == nil:
					err = fmt.Errorf("seal %s: %w", id, ErrUnmigrated)
				case errors.Is(serr, storage.ErrNotExist):
					err = fmt.Errorf("seal %s: %w", id, ErrUnfinished)
				default:
					return problems, serr
				}
			} else if !errors.Is(err, ErrTampered) {
				return problems, err
			}
			problems = append(problems, Problem{Seal: id, Err: err})
		}
	}
	apps, err := g.applicationIDs(ctx)
	if err != nil {
		return problems, err
	}
	for _, id := range apps {
		if _, err := g.Application(ctx, id); err != nil {
			if errors.Is(err, ErrAppNotFound) {
				err = fmt.Errorf("application %s: %w", id, ErrUnfinished)
			} else if !errors.Is(err, ErrTampered) {
				return problems, err
			}
			problems = append(problems, Problem{Application: id, Err: err})
		}
	}
	return problems, nil
}

// ApproverGrant names a certificate that may approve uses of a seal and the
// departments it may approve them for.
type ApproverGrant struct {
	Cert        *smx509.Certificate
	Departments []string
}

// RegisterRequest describes a seal to register: its SESeal comes from
// elsewhere (Make builds one).
type RegisterRequest struct {
	// Unit is the organisation's name, Purpose the seal's purpose text.
	Unit, Purpose string
	// Approvers may approve uses of the seal. At least one is required.
	Approvers []ApproverGrant
	// Key is the alias of the signing key (see Record.Key).
	Key string
	// Reason is recorded with the registration. Empty means "registered".
	Reason string
	// Requester, if set, is recorded in the registration as who asked
	// for it (see Principal).
	Requester *Principal
	// Predecessor, if set, is the seal the new one replaces (county rules
	// 第十三条): registered, and superseded by no other seal. Supersede
	// then revokes it.
	Predecessor string
	// Application, if set, is the approved application the seal is made
	// from (Registry.Submit, Review): the seal is registered suspended,
	// to be activated when filed (FileApplication), and the application
	// is marked made.
	Application string
}

// Register adds a seal whose SESeal DER is esl, signed by admin. The seal
// starts active. Registering an existing identifier fails with ErrExists.
func (g *Registry) Register(ctx context.Context, esl []byte, req RegisterRequest, admin signed.Signer) (*Entry, error) {
	seal, err := parseSeal(esl, req.Key)
	if err != nil {
		return nil, err
	}
	approvers, err := pin(req.Approvers)
	if err != nil {
		return nil, err
	}
	if err := req.Requester.check(); err != nil {
		return nil, err
	}
	if err := g.checkPredecessor(ctx, seal.ID, req.Predecessor); err != nil {
		return nil, err
	}
	if err := g.checkAdmin(admin); err != nil {
		return nil, err
	}
	reason := req.Reason
	if reason == "" {
		reason = "registered"
	}
	c := Change{
		Seal: seal.ID, Seq: 1, Op: OpRegister, Reason: reason,
		Name: seal.Name, Unit: req.Unit, Purpose: req.Purpose, Key: req.Key, Approvers: approvers, SealSM3: sm3hex(esl),
		Requester: req.Requester, Predecessor: req.Predecessor,
	}
	if req.Application != "" {
		c.Application, c.Status = req.Application, StatusSuspended
		if err := g.checkApplication(ctx, req.Application, seal.ID); err != nil {
			return nil, err
		}
	}
	if err := g.first(ctx, esl, c, admin); err != nil {
		return nil, err
	}
	return g.Get(ctx, seal.ID)
}

// SetStatus changes a seal's status, signed by admin, recording why.
// Revocation is final; suspended and active seals may move between each
// other. A lost race with a concurrent change fails with ErrConflict.
func (g *Registry) SetStatus(ctx context.Context, id string, to Status, reason string, admin signed.Signer) (*Record, error) {
	return g.ChangeStatus(ctx, id, StatusChange{To: to, Reason: reason}, admin)
}

// StatusChange is a status change of a seal and who asked for it.
type StatusChange struct {
	// To is the new status, Reason why (required).
	To     Status
	Reason string
	// Requester, if set, is recorded in the change as who asked for it.
	Requester *Principal
	// Code is the reason code of a suspension or revocation (county rules
	// 第十四条); empty means CodeOther. An activation takes none.
	// CodeSuperseded is for Supersede, which names the Successor.
	Code      ReasonCode
	Successor string
}

// ChangeStatus is SetStatus recording who asked for the change. A seal
// made from an application (RegisterRequest.Application) is activated for
// the first time by its filing alone (FileSeal), never by ChangeStatus.
func (g *Registry) ChangeStatus(ctx context.Context, id string, req StatusChange, admin signed.Signer) (*Record, error) {
	return g.changeStatus(ctx, id, req, admin, false)
}

// changeStatus is ChangeStatus; filing is set by FileSeal alone.
func (g *Registry) changeStatus(ctx context.Context, id string, req StatusChange, admin signed.Signer, filing bool) (*Record, error) {
	if err := req.Requester.check(); err != nil {
		return nil, err
	}
	e, err := g.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	op, ok := map[Status]Op{StatusActive: OpActivate, StatusSuspended: OpSuspend, StatusRevoked: OpRevoke}[req.To]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: unknown status %q", ErrTransition, req.To)
	case e.Status == StatusRevoked:
		return nil, fmt.Errorf("%w: seal %q is revoked", ErrTransition, id)
	case e.Status == req.To:
		return nil, fmt.Errorf("%w: seal %q is already %s", ErrTransition, id, req.To)
	case strings.TrimSpace(req.Reason) == "":
		return nil, fmt.Errorf("%w: a status change needs a reason", ErrTransition)
	case op == OpActivate && e.Application != "" && !filing && !slices.ContainsFunc(e.History, func(ev Event) bool { return ev.Status == StatusActive }):
		return nil, fmt.Errorf("%w: seal %q was made from application %q and is not filed yet: filing (seals application file) activates it", ErrTransition, id, e.Application)
	}
	if req.Code == "" && op != OpActivate {
		req.Code = CodeOther
	}
	c := Change{Op: op, Reason: req.Reason, Requester: req.Requester, Code: req.Code, Successor: req.Successor}
	if err := checkLifecycle(c); err != nil {
		if !errors.Is(err, ErrInvalid) {
			err = fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return nil, err
	}
	return g.change(ctx, e, c, admin)
}

// SetApprovers replaces the approvers of a seal, signed by admin.
func (g *Registry) SetApprovers(ctx context.Context, id string, grants []ApproverGrant, reason string, admin signed.Signer) (*Record, error) {
	return g.ChangeApprovers(ctx, id, ApproversChange{Grants: grants, Reason: reason}, admin)
}

// ApproversChange replaces the approvers of a seal: who asked for it and
// why.
type ApproversChange struct {
	Grants []ApproverGrant
	Reason string
	// Requester, if set, is recorded in the change as who asked for it.
	Requester *Principal
}

// ChangeApprovers is SetApprovers recording who asked for the change.
func (g *Registry) ChangeApprovers(ctx context.Context, id string, req ApproversChange, admin signed.Signer) (*Record, error) {
	approvers, err := pin(req.Grants)
	if err != nil {
		return nil, err
	}
	if err := req.Requester.check(); err != nil {
		return nil, err
	}
	e, err := g.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.Status == StatusRevoked {
		return nil, fmt.Errorf("%w: seal %q is revoked", ErrTransition, id)
	}
	return g.change(ctx, e, Change{Op: OpApprovers, Approvers: approvers, Reason: req.Reason, Requester: req.Requester}, admin)
}

// change appends c after e's latest change and returns the new state.
func (g *Registry) change(ctx context.Context, e *Entry, c Change, admin signed.Signer) (*Record, error) {
	if err := g.checkAdmin(admin); err != nil {
		return nil, err
	}
	g.mu.Lock()
	headETag := g.cache[e.ID].etag
	g.mu.Unlock()
	c.Seal, c.Seq = e.ID, e.Head+1
	if err := g.append(ctx, c, admin, headETag); err != nil {
		return nil, err
	}
	got, err := g.Get(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	return &got.Record, nil
}

// checkAdmin refuses to sign changes with a certificate that verification
// would refuse: the change would make the seal unusable.
func (g *Registry) checkAdmin(admin signed.Signer) error {
	if admin.Key == nil || admin.Cert == nil {
		return fmt.Errorf("%w: registry changes need a seal administrator's key and certificate", ErrInvalid)
	}
	if _, err := g.trust.Verify(admin.Cert, g.now(), trust.UsageRegistryAdmin); err != nil {
		return fmt.Errorf("%w: %q may not change the registry: %w", ErrInvalid, admin.Cert.Subject.CommonName, err)
	}
	return nil
}

// MakeRequest describes a seal to make.
type MakeRequest struct {
	// ID is the seal code, used as the SESeal esID (14 digits for unit seals).
	ID string
	// Unit is the organisation's name.
	Unit string
	// Purpose is the seal's special purpose, such as 业务专用章; empty for
	// a general seal.
	Purpose string
	// Picture is the seal's impression (GB/T 38540 SES_ESPictrueInfo):
	// the picture registered for the seal, or one drawn by
	// templates/sealpic. PDF sealing needs a PNG. Required.
	Picture ses.Picture
	// SignerCert is the document signer's certificate the seal lists, and
	// Key the alias of its private key (see Record.Key).
	SignerCert *smx509.Certificate
	Key        string
	// Approvers may approve uses of the seal. At least one is required.
	Approvers []ApproverGrant
	// Validity is how long the seal is valid from now; it is capped at the
	// signer certificate's expiry. Zero means two years.
	Validity time.Duration
	// Maker is the seal maker's key and certificate.
	Maker signed.Signer
	// Type is the GB/T 38540 seal type: ses.TypeUnit (单位印章) or
	// ses.TypePersonal (个人印章, a name seal). Zero means ses.TypeUnit.
	Type int
	// Name is the seal's name (SES_ESPropertyInfo name), such as the text
	// a personal seal engraves. Empty means Unit followed by Purpose.
	Name string
	// Requester, if set, is recorded in the registration as who asked
	// for it (see Principal).
	Requester *Principal
	// Predecessor, if set, is the seal the new one replaces (see
	// RegisterRequest.Predecessor).
	Predecessor string
	// Application, if set, is the approved application the seal is made
	// from (see RegisterRequest.Application).
	Application string
}

// VendorID is the GB/T 38540 SES_Header Vid of seals sealpipe makes.
const VendorID = "SEALPIPE"

// Make builds a unit or personal seal's GB/T 38540 version 4 SESeal holding the
// signer's certificate and the given picture, signs it with the seal
// maker's key and registers it, signed by admin, as active.
func (g *Registry) Make(ctx context.Context, req MakeRequest, admin signed.Signer) (*Entry, error) {
	if req.SignerCert == nil || req.Maker.Key == nil || req.Maker.Cert == nil || len(req.Approvers) == 0 {
		return nil, fmt.Errorf("%w: a seal needs a signer certificate, a maker and at least one approver", ErrInvalid)
	}
	if p := req.Picture; p.Type == "" || len(p.Data) == 0 || p.WidthMM <= 0 || p.HeightMM <= 0 {
		return nil, fmt.Errorf("%w: a seal needs a picture with a type and a size", ErrInvalid)
	}
	if err := checkID(req.ID); err != nil {
		return nil, err
	}
	switch req.Type {
	case 0:
		req.Type = ses.TypeUnit
	case ses.TypeUnit, ses.TypePersonal:
	default:
		return nil, fmt.Errorf("%w: seal type %d, want %d (unit) or %d (personal)", ErrInvalid, req.Type, ses.TypeUnit, ses.TypePersonal)
	}
	if req.Name == "" {
		req.Name = req.Unit + req.Purpose
	}
	if err := CheckKeyAlias(req.Key); err != nil {
		return nil, err
	}
	if _, err := g.Get(ctx, req.ID); err == nil {
		return nil, fmt.Errorf("%w: %q", ErrExists, req.ID)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if req.Validity == 0 {
		req.Validity = 2 * 365 * 24 * time.Hour
	}
	now := g.now().UTC().Truncate(time.Second)
	end := now.Add(req.Validity)
	if end.After(req.SignerCert.NotAfter) {
		end = req.SignerCert.NotAfter // a seal cannot outlive its signing certificate
	}
	esl, err := ses.MakeSeal(rand.Reader, ses.MakeSealRequest{
		VendorID: VendorID, ID: req.ID, Type: req.Type, Name: req.Name,
		SignerCerts: [][]byte{req.SignerCert.Raw},
		CreateDate:  now, ValidStart: now, ValidEnd: end,
		Picture: req.Picture,
	}, req.Maker.Key, req.Maker.Cert.Raw)
	if err != nil {
		return nil, fmt.Errorf("registry: make seal %q: %w", req.ID, err)
	}
	return g.Register(ctx, esl, RegisterRequest{Unit: req.Unit, Purpose: req.Purpose, Approvers: req.Approvers, Key: req.Key, Requester: req.Requester, Predecessor: req.Predecessor, Application: req.Application}, admin)
}

// pin turns grants into approver entries, refusing empty or duplicate ones.
func pin(grants []ApproverGrant) ([]Approver, error) {
	if len(grants) == 0 {
		return nil, fmt.Errorf("%w: a seal needs at least one approver", ErrInvalid)
	}
	out := make([]Approver, 0, len(grants))
	for _, g := range grants {
		if g.Cert == nil || len(g.Departments) == 0 {
			return nil, fmt.Errorf("%w: an approver needs a certificate and at least one department", ErrInvalid)
		}
		for _, d := range g.Departments {
			if err := checkDepartment(d); err != nil {
				return nil, err
			}
		}
		a := Approver{
			Name: g.Cert.Subject.CommonName, Fingerprint: Fingerprint(g.Cert),
			Issuer: g.Cert.Issuer.String(), Serial: fmt.Sprintf("%X", g.Cert.SerialNumber),
			Departments: slices.Compact(slices.Sorted(slices.Values(g.Departments))),
		}
		if slices.ContainsFunc(out, func(b Approver) bool { return b.Fingerprint == a.Fingerprint }) {
			return nil, fmt.Errorf("%w: approver %q listed twice", ErrInvalid, a.Name)
		}
		out = append(out, a)
	}
	return out, nil
}
