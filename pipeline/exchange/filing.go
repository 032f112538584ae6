package exchange

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// The filing export's format and the version this package writes and
// reads (docs/filing-export.md).
const (
	FilingFormat  = "sealpipe-filing-export"
	FilingVersion = 1
)

// MaxFilingSize bounds a filing export read: a seal with its picture and
// certificates takes some tens of kilobytes.
const MaxFilingSize = 256 << 20

// The kinds of seal an export names, from the SESeal's type.
const (
	KindUnit     = "unit"     // 单位印章, GB/T 38540 type 1
	KindPersonal = "personal" // 个人印章 (名章), GB/T 38540 type 2
)

// Filing is a filing export (备案): the payload the registrar signs.
type Filing struct {
	// Format is FilingFormat and Version FilingVersion.
	Format  string `json:"format"`
	Version int    `json:"version"`
	// ID names this export: its creation time and a random suffix.
	ID string `json:"id"`
	// Registry is the issuing registry, such as "411728 遂平县".
	Registry string `json:"registry"`
	// CreatedAt is when the export was made.
	CreatedAt time.Time `json:"created_at"`
	// Since, if set, is the time the export was asked from: it holds the
	// seals with a change at or after it, not every seal.
	Since *time.Time `json:"since,omitempty"`
	// Seals are the seals exported, ordered by identifier.
	Seals []FiledSeal `json:"seals"`
}

// FiledSeal is one seal of a filing export.
type FiledSeal struct {
	// ID is the seal's code, its SESeal esID.
	ID string `json:"id"`
	// Name, Unit and Purpose are the seal's names in the registry.
	Name    string `json:"name"`
	Unit    string `json:"unit"`
	Purpose string `json:"purpose,omitempty"`
	// Kind is KindUnit or KindPersonal (or "type-N" for another SESeal
	// type), Type the SESeal's type number.
	Kind string `json:"kind"`
	Type int    `json:"type"`
	// ValidStart and ValidEnd are the SESeal's validity.
	ValidStart time.Time `json:"valid_start"`
	ValidEnd   time.Time `json:"valid_end"`
	// Key is the alias of the seal's signing key in the exporting
	// registry (the keyring maps it; no key leaves).
	Key string `json:"key"`
	// Approvers are those who may approve uses of the seal, pinned by
	// their keys' SM3 fingerprints.
	Approvers []registry.Approver `json:"approvers"`
	// SESeal is the GB/T 38540 SESeal, DER (base64 in JSON), and SESealSM3
	// its hex SM3.
	SESeal    []byte `json:"seseal"`
	SESealSM3 string `json:"seseal_sm3"`
	// Certificates are the signer certificates the SESeal lists, DER
	// (base64 in JSON), and MakerCertificate the seal maker's.
	Certificates     [][]byte `json:"certificates"`
	MakerCertificate []byte   `json:"maker_certificate"`
	// Status is the seal's status, Since when it took it.
	Status registry.Status `json:"status"`
	Since  time.Time       `json:"status_since"`
	// Predecessor is the seal this one replaces, Successor the seal that
	// replaced it, if any.
	Predecessor string `json:"predecessor,omitempty"`
	Successor   string `json:"successor,omitempty"`
	// Head is the number of the seal's latest change.
	Head int `json:"head"`
	// History is every change of the seal, oldest first.
	History []FiledChange `json:"history"`
	// Application is the application the seal was made from, if it was
	// made from one.
	Application *FiledApplication `json:"application,omitempty"`
}

// FiledApplication is the application a seal was made from (county rules
// 第七–八条) as a filing export gives it: who applied for what, the
// identity materials named and pinned by their SM3 (the materials stay in
// the exporting registry: ask for them, and check that they are these),
// and every change of the application.
type FiledApplication struct {
	ID string `json:"id"`
	// Unit, Kind, Purpose, Holder and Clerk are what was applied for, and
	// by whom (registry.Application).
	Unit    string            `json:"unit"`
	Kind    registry.SealKind `json:"kind"`
	Purpose string            `json:"purpose,omitempty"`
	Holder  string            `json:"holder,omitempty"`
	Clerk   string            `json:"clerk"`
	// Materials are the identity materials: name, SM3 and size.
	Materials []registry.Material `json:"materials"`
	// State is the application's state after its last change.
	State registry.AppState `json:"state"`
	// History is every change of the application, oldest first.
	History []FiledAppChange `json:"history"`
}

// FiledAppChange is one change of an application's log as an export
// summarises it.
type FiledAppChange struct {
	// Seq is the change's number, At when it was made.
	Seq int       `json:"seq"`
	At  time.Time `json:"at"`
	// Op is what the change did (submit, approve, refuse, make, file),
	// State the application's state after it.
	Op    registry.AppOp    `json:"op"`
	State registry.AppState `json:"state"`
	// Actor, Requester and Reason are as in FiledChange.
	Actor     string              `json:"actor"`
	Requester *registry.Principal `json:"requester,omitempty"`
	Reason    string              `json:"reason,omitempty"`
	// Change is the object key of the signed change in the exporting
	// registry, ChangeSM3 the hex SM3 of that object.
	Change    string `json:"change"`
	ChangeSM3 string `json:"change_sm3"`
}

// FiledChange is one change of a seal's log as an export summarises it.
type FiledChange struct {
	// Seq is the change's number, At when it was made.
	Seq int       `json:"seq"`
	At  time.Time `json:"at"`
	// Op is what the change did (register, import, suspend, activate,
	// revoke, approvers), Status the seal's status after it; Code is the
	// reason code of a suspension or revocation, Successor the seal that
	// superseded this one, Predecessor the seal a registration replaces.
	Op          registry.Op         `json:"op,omitempty"`
	Status      registry.Status     `json:"status"`
	Code        registry.ReasonCode `json:"code,omitempty"`
	Successor   string              `json:"successor,omitempty"`
	Predecessor string              `json:"predecessor,omitempty"`
	// Actor is the common name of the administrator who signed it,
	// Requester who asked for it through the admin API, if anyone.
	Actor     string              `json:"actor"`
	Requester *registry.Principal `json:"requester,omitempty"`
	// Reason is why.
	Reason string `json:"reason,omitempty"`
	// Change is the object key of the signed change in the exporting
	// registry, ChangeSM3 the hex SM3 of that object: ask for it, and
	// check that it is this one.
	Change    string `json:"change"`
	ChangeSM3 string `json:"change_sm3"`
}

// ExportOptions say what an export holds.
type ExportOptions struct {
	// Registry names the issuing registry. Required.
	Registry string
	// Seals are the seals to export; empty means every seal.
	Seals []string
	// Since, if not zero, keeps only the seals with a change at or after
	// it.
	Since time.Time
	// Now is the export's time; zero means time.Now.
	Now time.Time
}

// Export makes a filing export of the seals of src that opts names,
// signed by the registrar, and returns the signed document and what it
// holds. A seal whose log does not verify fails it (registry.ErrTampered):
// nothing unverified is ever exported.
func Export(ctx context.Context, src Source, opts ExportOptions, registrar signed.Signer) ([]byte, *Filing, error) {
	if strings.TrimSpace(opts.Registry) == "" {
		return nil, nil, fmt.Errorf("exchange: export: the issuing registry needs a name")
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	ids := slices.Clone(opts.Seals)
	if len(ids) == 0 {
		recs, err := src.List(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("exchange: export: %w", err)
		}
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return nil, nil, err
	}
	f := &Filing{
		Format: FilingFormat, Version: FilingVersion, ID: now.Format("20060102T150405Z") + "-" + hex.EncodeToString(suffix),
		Registry: opts.Registry, CreatedAt: now, Seals: []FiledSeal{},
	}
	if !opts.Since.IsZero() {
		since := opts.Since.UTC()
		f.Since = &since
	}
	for _, id := range ids {
		e, sums, err := src.Verified(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("exchange: export seal %s: %w", id, err)
		}
		if len(e.History) == 0 || (f.Since != nil && e.History[len(e.History)-1].At.Before(*f.Since)) {
			continue
		}
		fs, err := filedSeal(e, sums)
		if err != nil {
			return nil, nil, err
		}
		if e.Application != "" {
			a, sums, err := src.VerifiedApplication(ctx, e.Application)
			if err != nil {
				return nil, nil, fmt.Errorf("exchange: export seal %s: its application: %w", id, err)
			}
			fs.Application = filedApplication(a, sums)
		}
		f.Seals = append(f.Seals, fs)
	}
	doc, err := registrar.Marshal(f)
	if err != nil {
		return nil, nil, fmt.Errorf("exchange: export: %w", err)
	}
	return doc, f, nil
}

// filedSeal summarises seal e, whose changes' objects have the SM3 sums.
func filedSeal(e *registry.Entry, sums []string) (FiledSeal, error) {
	if len(sums) != len(e.History) {
		return FiledSeal{}, fmt.Errorf("exchange: export seal %s: %d changes, %d events", e.ID, len(sums), len(e.History))
	}
	s := FiledSeal{
		ID: e.ID, Name: e.Name, Unit: e.Unit, Purpose: e.Purpose, Kind: kind(e.Seal.Type), Type: e.Seal.Type,
		ValidStart: e.ValidStart, ValidEnd: e.ValidEnd, Key: e.Key, Approvers: e.Approvers,
		SESeal: e.Seal.Raw, SESealSM3: sm3hex(e.Seal.Raw), Certificates: e.Seal.Certs, MakerCertificate: e.Seal.MakerCert,
		Status: e.Status, Head: e.Head, Predecessor: e.Predecessor, Successor: e.Successor,
	}
	if s.Certificates == nil {
		s.Certificates = [][]byte{}
	}
	for i, ev := range e.History {
		s.History = append(s.History, FiledChange{
			Seq: ev.Seq, At: ev.At, Op: ev.Op, Status: ev.Status, Code: ev.Code, Successor: ev.Successor, Predecessor: ev.Predecessor,
			Actor: ev.Actor, Requester: ev.Requester, Reason: ev.Reason,
			Change: registry.ChangeKey(e.ID, ev.Seq), ChangeSM3: sums[i],
		})
	}
	s.Since = statusSince(s.History)
	return s, nil
}

// filedApplication summarises application a, whose changes' objects have
// the SM3 sums.
func filedApplication(a *registry.Application, sums []string) *FiledApplication {
	fa := &FiledApplication{
		ID: a.ID, Unit: a.Unit, Kind: a.Kind, Purpose: a.Purpose, Holder: a.Holder, Clerk: a.Clerk,
		Materials: a.Materials, State: a.State,
	}
	for i, ev := range a.History {
		fa.History = append(fa.History, FiledAppChange{
			Seq: ev.Seq, At: ev.At, Op: ev.Op, State: ev.State, Actor: ev.Actor, Requester: ev.Requester, Reason: ev.Reason,
			Change: registry.ApplicationChangeKey(a.ID, ev.Seq), ChangeSM3: sums[i],
		})
	}
	return fa
}

// statusSince is when the seal took its last status: the first change of
// the last run of changes with that status.
func statusSince(h []FiledChange) time.Time {
	i := len(h) - 1
	for i > 0 && h[i-1].Status == h[i].Status {
		i--
	}
	return h[i].At
}

// kind names SESeal type t.
func kind(t int) string {
	switch t {
	case ses.TypeUnit:
		return KindUnit
	case ses.TypePersonal:
		return KindPersonal
	}
	return fmt.Sprintf("type-%d", t)
}

// Signed is what a verified document's signature says.
type Signed struct {
	// Signer is the signer's certificate, verified for the role.
	Signer *smx509.Certificate
	// SM3 is the hex SM3 of the signed payload (compact JSON): the
	// document's identity, whatever its indentation.
	SM3 string
}

// open checks a signed document's signature and its signer's role at now
// before anything of it is read, and returns its payload.
func open(data []byte, pool *trust.Pool, usage trust.Usage, now time.Time) ([]byte, Signed, error) {
	payload, cert, err := signed.Open(data)
	switch {
	case errors.Is(err, signed.ErrFormat):
		return nil, Signed{}, fmt.Errorf("%w: %w", ErrFormat, err)
	case err != nil:
		return nil, Signed{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if _, err := pool.Verify(cert, now, usage); err != nil {
		return nil, Signed{}, fmt.Errorf("%w: signed by %q, not a %s now: %w", ErrUntrusted, cert.Subject.CommonName, usage, err)
	}
	return payload, Signed{Signer: cert, SM3: sm3hex(payload)}, nil
}

// decodeStrict decodes payload into v, refusing unknown fields and
// trailing data.
func decodeStrict(payload []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the payload", ErrFormat)
	}
	return nil
}

// ReadFiling verifies a filing export — its signature, then its signer as
// a registrar (trust.UsageRegistryAdmin) trusted by pool at now — and only
// then decodes and checks it (DecodeFiling).
func ReadFiling(data []byte, pool *trust.Pool, now time.Time) (*Filing, Signed, error) {
	return read("filing export", data, MaxFilingSize, pool, trust.UsageRegistryAdmin, now, DecodeFiling)
}

// read verifies the signed document data, at most max bytes — its
// signature, then its signer for usage at now — and only then decodes
// its payload with decode. Errors name the document as what.
func read[D any](what string, data []byte, max int, pool *trust.Pool, usage trust.Usage, now time.Time, decode func([]byte, time.Time) (*D, error)) (*D, Signed, error) {
	if len(data) > max {
		return nil, Signed{}, fmt.Errorf("%s: %w: %d bytes, more than %d", what, ErrFormat, len(data), max)
	}
	payload, sig, err := open(data, pool, usage, now)
	if err != nil {
		return nil, Signed{}, fmt.Errorf("%s: %w", what, err)
	}
	d, err := decode(payload, now)
	if err != nil {
		return nil, Signed{}, fmt.Errorf("%s: %w", what, err)
	}
	return d, sig, nil
}

// DecodeFiling decodes a filing export's payload — already verified — and
// checks that it is one of this version and agrees with itself: every
// SESeal parses, has the SM3, identifier, type, validity and certificates
// said of it and the seal maker's signature verifies; every history runs
// from change 1 to the head and ends in the status said. Failures wrap
// ErrFormat.
func DecodeFiling(payload []byte, now time.Time) (*Filing, error) {
	var f Filing
	if err := decodeStrict(payload, &f); err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
	}
	switch {
	case f.Format != FilingFormat || f.Version != FilingVersion:
		return nil, bad("format %q version %d, want %q version %d", f.Format, f.Version, FilingFormat, FilingVersion)
	case strings.TrimSpace(f.ID) == "" || strings.TrimSpace(f.Registry) == "":
		return nil, bad("no id or no issuing registry")
	case f.CreatedAt.IsZero() || f.CreatedAt.After(now.Add(maxClockSkew)):
		return nil, bad("created %s: not a time it could have been made", rfc3339(f.CreatedAt))
	}
	for i := range f.Seals {
		s := &f.Seals[i]
		if i > 0 && f.Seals[i-1].ID >= s.ID {
			return nil, bad("seal %s: seals not in identifier order, or listed twice", s.ID)
		}
		if err := s.check(f.CreatedAt); err != nil {
			return nil, bad("seal %s: %v", s.ID, err)
		}
	}
	return &f, nil
}

// check tests what is said of the seal against its SESeal and history.
func (s *FiledSeal) check(created time.Time) error {
	seal, err := ses.ParseSeal(s.SESeal)
	if err != nil {
		return err
	}
	switch {
	case sm3hex(s.SESeal) != s.SESealSM3:
		return fmt.Errorf("the SESeal's SM3 is %s, the export says %s", sm3hex(s.SESeal), s.SESealSM3)
	case seal.ID != s.ID:
		return fmt.Errorf("the SESeal's esID is %q", seal.ID)
	case seal.Type != s.Type || kind(seal.Type) != s.Kind:
		return fmt.Errorf("kind %q type %d, the SESeal's type is %d", s.Kind, s.Type, seal.Type)
	case !seal.ValidStart.Equal(s.ValidStart) || !seal.ValidEnd.Equal(s.ValidEnd):
		return fmt.Errorf("validity %s–%s, the SESeal's is %s–%s", rfc3339(s.ValidStart), rfc3339(s.ValidEnd), rfc3339(seal.ValidStart), rfc3339(seal.ValidEnd))
	case !slices.EqualFunc(seal.Certs, s.Certificates, bytes.Equal) || !bytes.Equal(seal.MakerCert, s.MakerCertificate):
		return fmt.Errorf("the certificates differ from the SESeal's")
	}
	if _, err := seal.VerifyMaker(); err != nil {
		return fmt.Errorf("the seal maker's signature: %w", err)
	}
	if len(s.History) == 0 || len(s.History) != s.Head {
		return fmt.Errorf("head %d, %d changes in the history", s.Head, len(s.History))
	}
	for i, c := range s.History {
		switch {
		case c.Seq != i+1:
			return fmt.Errorf("history: change %d where %d belongs", c.Seq, i+1)
		case !c.Status.Valid() || !slices.Contains(ops, c.Op):
			return fmt.Errorf("history: change %d: op %q status %q", c.Seq, c.Op, c.Status)
		case c.Code != "" && registry.CheckReasonCode(c.Code) != nil:
			return fmt.Errorf("history: change %d: reason code %q", c.Seq, c.Code)
		case len(c.ChangeSM3) != 64 || strings.ToLower(c.ChangeSM3) != c.ChangeSM3:
			return fmt.Errorf("history: change %d: change_sm3 %q is no hex SM3", c.Seq, c.ChangeSM3)
		case c.At.IsZero() || c.At.After(created) || i > 0 && c.At.Before(s.History[i-1].At):
			return fmt.Errorf("history: change %d dated %s, out of order or after the export", c.Seq, rfc3339(c.At))
		case i > 0 && s.History[i-1].Status == registry.StatusRevoked && c.Status != registry.StatusRevoked:
			return fmt.Errorf("history: change %d: %s after revocation", c.Seq, c.Status)
		}
	}
	if last := s.History[len(s.History)-1]; last.Status != s.Status || !statusSince(s.History).Equal(s.Since) {
		return fmt.Errorf("status %s since %s, the history ends %s since %s", s.Status, rfc3339(s.Since), last.Status, rfc3339(statusSince(s.History)))
	}
	if s.Application != nil {
		if err := s.Application.check(s.Type, created); err != nil {
			return fmt.Errorf("application %s: %w", s.Application.ID, err)
		}
	}
	return nil
}

// check tests what is said of an application against itself and the
// SESeal type of the seal made from it.
func (a *FiledApplication) check(sealType int, created time.Time) error {
	personal := a.Kind == registry.KindName || a.Kind == registry.KindTitle
	switch {
	case strings.TrimSpace(a.ID) == "" || strings.TrimSpace(a.Unit) == "" || strings.TrimSpace(a.Clerk) == "":
		return errors.New("an application names itself, its unit and its clerk")
	case !slices.Contains([]registry.SealKind{registry.KindOfficial, registry.KindSpecial, registry.KindName, registry.KindTitle}, a.Kind):
		return fmt.Errorf("seal kind %q", a.Kind)
	case personal != (sealType == 2):
		return fmt.Errorf("a %s seal made as an SESeal of type %d", a.Kind, sealType)
	case len(a.Materials) == 0:
		return errors.New("no identity materials")
	case len(a.History) == 0 || a.History[0].Op != registry.AppOpSubmit || a.History[len(a.History)-1].State != a.State:
		return fmt.Errorf("state %s, and a history that does not start with a submission and end there", a.State)
	}
	for _, m := range a.Materials {
		if m.Name == "" || !isSM3Hex(m.SM3) || m.Size <= 0 {
			return fmt.Errorf("material %q: SM3 %q, %d bytes", m.Name, m.SM3, m.Size)
		}
	}
	for i, c := range a.History {
		switch {
		case c.Seq != i+1:
			return fmt.Errorf("history: change %d where %d belongs", c.Seq, i+1)
		case !slices.Contains(appOps, c.Op):
			return fmt.Errorf("history: change %d: op %q", c.Seq, c.Op)
		case !isSM3Hex(c.ChangeSM3):
			return fmt.Errorf("history: change %d: change_sm3 %q is no hex SM3", c.Seq, c.ChangeSM3)
		case c.At.IsZero() || c.At.After(created) || i > 0 && c.At.Before(a.History[i-1].At):
			return fmt.Errorf("history: change %d dated %s, out of order or after the export", c.Seq, rfc3339(c.At))
		}
	}
	return nil
}

// isSM3Hex reports whether s is an SM3 digest in lower-case hex.
func isSM3Hex(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// appOps are the changes an application's history may name.
var appOps = []registry.AppOp{registry.AppOpSubmit, registry.AppOpApprove, registry.AppOpRefuse, registry.AppOpMake, registry.AppOpFile}

// ops are the changes a history may name; "" in logs from before the op
// was recorded.
var ops = []registry.Op{"", registry.OpRegister, registry.OpImport, registry.OpSuspend, registry.OpActivate, registry.OpRevoke, registry.OpApprovers}

// What Import did with a seal (ImportResult.Action).
const (
	// ActionImported: registered here, in the export's status.
	ActionImported = "imported"
	// ActionUpdated: registered here before, its status changed to the
	// export's.
	ActionUpdated = "updated"
	// ActionUnchanged: registered here already as the export has it.
	ActionUnchanged = "unchanged"
	// ActionKept: revoked here, which no export undoes.
	ActionKept = "kept"
	// ActionConflict: registered here with another SESeal; left alone.
	ActionConflict = "conflict"
	// ActionFailed: the seal could not be read or changed here.
	ActionFailed = "failed"
)

// ImportResult is what Import did with one seal of an export.
type ImportResult struct {
	Seal   string          `json:"seal"`
	Action string          `json:"action"`
	Status registry.Status `json:"status,omitempty"` // here, afterwards
	Detail string          `json:"detail,omitempty"`
	// Err is set for ActionConflict and ActionFailed.
	Err error `json:"-"`
}

// ImportReport is what Import did.
type ImportReport struct {
	// Export, Registry, Created and SM3 identify the export.
	Export   string    `json:"export"`
	Registry string    `json:"registry"`
	Created  time.Time `json:"created_at"`
	SM3      string    `json:"sm3"`
	// Signer is the registrar who signed it (certificate CN).
	Signer string `json:"signer"`
	// Seals says what became of each seal, in the export's order.
	Seals []ImportResult `json:"seals"`
}

// Failed returns the results of the seals in conflict or that failed.
func (r *ImportReport) Failed() []ImportResult {
	var out []ImportResult
	for _, s := range r.Seals {
		if s.Err != nil {
			out = append(out, s)
		}
	}
	return out
}

// Import registers the seals of filing export f — read and verified by
// ReadFiling, which gave sig — in dst, each signed by admin, dst's
// administrator, in the status the export gives: a seal not registered
// there is imported (registry.OpImport) with a reason naming the export
// and the seal's original status and since when; one registered already
// with the same SESeal gets the export's status (unless revoked there,
// which is final); one registered with another SESeal is a conflict, left
// alone. Importing the same export again changes nothing; an export
// older than the last one imported from the same registry is refused
// (ErrStale), before anything changes. Per-seal failures are in the
// report (ImportReport.Failed), not the error.
func Import(ctx context.Context, f *Filing, sig Signed, dst Target, marks Marks, admin signed.Signer) (*ImportReport, error) {
	key := "filing:" + f.Registry
	mk := Mark{At: f.CreatedAt, SM3: sig.SM3, Applied: time.Now().UTC()}
	if err := checkMark(ctx, marks, key, mk); err != nil {
		return nil, fmt.Errorf("filing export %s of %s: %w", f.ID, f.Registry, err)
	}
	rep := &ImportReport{Export: f.ID, Registry: f.Registry, Created: f.CreatedAt, SM3: sig.SM3, Signer: sig.Signer.Subject.CommonName, Seals: []ImportResult{}}
	ref := fmt.Sprintf("filing export %s of %s (SM3 %s), made %s", f.ID, f.Registry, sig.SM3, rfc3339(f.CreatedAt))
	for i := range f.Seals {
		rep.Seals = append(rep.Seals, importSeal(ctx, &f.Seals[i], ref, dst, admin))
	}
	if err := marks.Raise(ctx, key, mk); err != nil {
		return rep, err
	}
	return rep, nil
}

// importSeal brings one seal of an export into dst.
func importSeal(ctx context.Context, s *FiledSeal, ref string, dst Target, admin signed.Signer) ImportResult {
	r := ImportResult{Seal: s.ID}
	fail := func(action string, err error) ImportResult {
		r.Action, r.Err, r.Detail = action, err, err.Error()
		return r
	}
	cur, err := dst.Get(ctx, s.ID)
	if errors.Is(err, registry.ErrNotFound) {
		e, err := dst.Import(ctx, s.SESeal, registry.ImportRequest{
			Name: s.Name, Unit: s.Unit, Purpose: s.Purpose, Approvers: s.Approvers, Key: s.Key, Status: s.Status,
			Reason: fmt.Sprintf("imported from %s: originally %s since %s", ref, s.Status, rfc3339(s.Since)),
		}, admin)
		if err != nil {
			return fail(ActionFailed, err)
		}
		r.Action, r.Status = ActionImported, e.Status
		return r
	}
	if err != nil {
		return fail(ActionFailed, err)
	}
	r.Status = cur.Status
	switch {
	case sm3hex(cur.Seal.Raw) != s.SESealSM3:
		return fail(ActionConflict, fmt.Errorf("seal %s is registered here with another SESeal (SM3 %s, the export's %s)", s.ID, sm3hex(cur.Seal.Raw), s.SESealSM3))
	case cur.Status == s.Status:
		r.Action = ActionUnchanged
		return r
	case cur.Status == registry.StatusRevoked:
		r.Action, r.Detail = ActionKept, fmt.Sprintf("revoked here; the export says %s", s.Status)
		return r
	}
	change := registry.StatusChange{To: s.Status, Reason: fmt.Sprintf("%s: %s there since %s", ref, s.Status, rfc3339(s.Since))}
	if code := s.History[len(s.History)-1].Code; s.Status != registry.StatusActive && code != registry.CodeSuperseded {
		change.Code = code // superseded needs the successor registered here: other (the default)
	}
	rec, err := dst.ChangeStatus(ctx, s.ID, change, admin)
	if err != nil {
		return fail(ActionFailed, err)
	}
	r.Action, r.Status, r.Detail = ActionUpdated, rec.Status, fmt.Sprintf("was %s", cur.Status)
	return r
}
