package registry

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
)

// Op is what a change does.
type Op string

// Changes.
const (
	// OpRegister is a seal's first change: everything about it.
	OpRegister Op = "register"
	// OpSuspend, OpActivate and OpRevoke change its status.
	OpSuspend  Op = "suspend"
	OpActivate Op = "activate"
	OpRevoke   Op = "revoke"
	// OpApprovers replaces its approvers.
	OpApprovers Op = "approvers"
	// OpImport is a seal's first change when it comes from another
	// registry's filing export (Import): everything OpRegister sets, and
	// the status the seal starts in, so that a seal suspended or revoked
	// there is never active here, not even between two changes.
	OpImport Op = "import"
)

// Change is one signed entry of a seal's log.
type Change struct {
	// Seal is the seal's identifier and Seq the change's position, from 1.
	Seal string `json:"seal"`
	Seq  int    `json:"seq"`
	// Prev is the hex SM3 of the stored object of change Seq-1; empty for
	// the first.
	Prev string `json:"prev,omitempty"`
	// At is when the administrator made the change; the signing
	// certificate must be trusted then.
	At     time.Time `json:"at"`
	Op     Op        `json:"op"`
	Reason string    `json:"reason,omitempty"`

	// Set by OpRegister: the seal's SESeal SM3, names and key alias.
	SealSM3 string `json:"seal_sm3,omitempty"`
	Name    string `json:"name,omitempty"`
	Unit    string `json:"unit,omitempty"`
	Purpose string `json:"purpose,omitempty"`
	Key     string `json:"key,omitempty"`
	// Set by OpRegister and OpApprovers.
	Approvers []Approver `json:"approvers,omitempty"`
	// Status is set by OpImport alone: the status the seal starts in.
	Status Status `json:"status,omitempty"`

	// Code is the reason code of an OpSuspend or OpRevoke (county rules
	// 第十三–十四条); Successor, set by an OpRevoke with CodeSuperseded
	// alone, is the seal that replaces this one; Predecessor, set by an
	// OpRegister alone, is the seal this one replaces. Changes from before
	// they were recorded have none.
	Code        ReasonCode `json:"code,omitempty"`
	Successor   string     `json:"successor,omitempty"`
	Predecessor string     `json:"predecessor,omitempty"`
	// Application, set by an OpRegister alone, is the application the
	// seal was made from (county rules 第七–八条; Registry.Submit); such a
	// seal starts suspended (Status), to be activated once filed.
	Application string `json:"application,omitempty"`

	// Requester is who asked for the change through the admin API, if
	// anyone did; changes from before it was recorded have none, and so
	// verify as they always did.
	Requester *Principal `json:"requester,omitempty"`
}

// head is the signed pointer to the latest change of a log: a seal's
// (Seal set) or an application's (Application set).
type head struct {
	Seal        string    `json:"seal,omitempty"`
	Application string    `json:"application,omitempty"`
	Seq         int       `json:"seq"`
	SM3         string    `json:"sm3"` // of the change's stored object
	At          time.Time `json:"at"`  // the change's time
}

// Object keys of a seal.
const (
	sealsPrefix = storage.PrefixRegistry + "seals/"
	logDir      = "log/"
	headName    = "head.json"
	legacyName  = "record.json" // the unsigned layout's record (see ErrUnmigrated)
)

func sealKey(id string) string { return sealsPrefix + id + "/" + SealName }
func headKey(id string) string { return sealChain(id).headKey() }
func changeKey(id string, seq int) string {
	return sealChain(id).changeKey(seq)
}

// chain is where one hash-linked log of signed changes and its signed
// head are kept: a seal's, in registry/seals/<id>/, or an application's,
// in registry/applications/<id>/. Both are written by appendTo and read
// by replayChain, under the same rules (see the package documentation).
type chain struct {
	what   string // "seal" or "application", for messages
	id     string
	folder string // ends in "/"
	// mark is the chain's name among the high-water marks (Marks): a
	// seal's identifier, or "applications/<id>".
	mark string
}

func sealChain(id string) chain { return chain{"seal", id, sealsPrefix + id + "/", id} }
func appChain(id string) chain {
	return chain{"application", id, appsPrefix + id + "/", "applications/" + id}
}

func (l chain) headKey() string   { return l.folder + headName }
func (l chain) logPrefix() string { return l.folder + logDir }
func (l chain) changeKey(seq int) string {
	return fmt.Sprintf("%s%06d.json", l.logPrefix(), seq)
}

// head returns the head of l pointing at change seq.
func (l chain) head(seq int, sum string, at time.Time) head {
	h := head{Seq: seq, SM3: sum, At: at}
	if l.what == "seal" {
		h.Seal = l.id
	} else {
		h.Application = l.id
	}
	return h
}

// names reports whether h is a head of l.
func (l chain) names(h head) bool {
	want := l.head(h.Seq, "", time.Time{})
	return h.Seal == want.Seal && h.Application == want.Application && h.Seq >= 1
}

// The registry's layout, for tools that copy it as stored (package
// backup): what they copy still has to verify as a whole.
const (
	// SealsPrefix holds one folder per seal, registry/seals/<id>/.
	SealsPrefix = sealsPrefix
	// HeadName, SealName, LegacyName and LogDir are what a seal's folder
	// holds: its head, its SESeal, the record of the unsigned layout
	// (ErrUnmigrated) and the folder of its changes.
	HeadName   = headName
	SealName   = "seal.esl"
	LegacyName = legacyName
	LogDir     = logDir
)

// ChangeKey returns the object key of change seq of seal id:
// registry/seals/<id>/log/<seq, six digits>.json.
func ChangeKey(id string, seq int) string { return changeKey(id, seq) }

// ApplicationsPrefix holds one folder per application,
// registry/applications/<id>/, with a head (HeadName), a folder of changes
// (LogDir) and one of materials (MaterialsDir).
const (
	ApplicationsPrefix = appsPrefix
	MaterialsDir       = "materials/"
)

// ApplicationChangeKey returns the object key of change seq of
// application id: registry/applications/<id>/log/<seq, six digits>.json.
func ApplicationChangeKey(id string, seq int) string { return appChain(id).changeKey(seq) }

// MaterialKey returns the object key of the material name of application
// id.
func MaterialKey(id, name string) string { return appMaterialKey(id, name) }

// ApplicationMark returns the name of application id's high-water mark
// among the marks (Marks), which also holds every seal's under its
// identifier.
func ApplicationMark(id string) string { return appChain(id).mark }

// append writes seal change c, signed by admin, after the change its
// Seq-1 names, then moves the head to it; headETag is the head's ETag
// when the state c builds on was read ("" for the first change). A change
// with c's position written by someone else first fails with ErrConflict.
func (g *Registry) append(ctx context.Context, c Change, admin signed.Signer, headETag string) error {
	return g.appendTo(ctx, sealChain(c.Seal), c.Seq, headETag, admin, func(prev string, at time.Time) any {
		c.Prev, c.At = prev, at
		return c
	})
}

// appendTo writes change seq of l, signed by admin, after change seq-1,
// then moves l's head to it; headETag is the head's ETag when the state
// the change builds on was read ("" for the first change). link returns
// the change to sign given the SM3 of change seq-1's stored object ("" for
// the first) and the change's time. A change with its position written by
// someone else first fails with ErrConflict.
func (g *Registry) appendTo(ctx context.Context, l chain, seq int, headETag string, admin signed.Signer, link func(prev string, at time.Time) any) error {
	var prev string
	if seq > 1 {
		b, _, err := storage.ReadAll(ctx, g.store, l.changeKey(seq-1), maxObjectSize)
		if err != nil {
			return fmt.Errorf("registry: %s %q: %w", l.what, l.id, err)
		}
		prev = sm3hex(b)
	}
	at := g.now().UTC()
	obj, err := admin.Marshal(link(prev, at))
	if err != nil {
		return err
	}
	created, err := storage.PutOnce(ctx, g.store, l.changeKey(seq), obj, storage.PutOptions{ContentType: "application/json"})
	switch {
	case err != nil:
		return fmt.Errorf("registry: %s %q: %w", l.what, l.id, err)
	case !created:
		return fmt.Errorf("%w: %s %q changed meanwhile", ErrConflict, l.what, l.id)
	}
	h, err := admin.Marshal(l.head(seq, sm3hex(obj), at))
	if err != nil {
		return err
	}
	opts := storage.PutOptions{ContentType: "application/json", IfMatch: headETag, IfNoneMatch: headETag == ""}
	if _, err := g.store.Put(ctx, l.headKey(), bytes.NewReader(h), int64(len(h)), opts); err != nil {
		// The change is written and nobody else can take its position: a
		// head that moved meanwhile was moved by a repair of this very
		// change. The next change, or `sealpipe registry verify`, shows it.
		return fmt.Errorf("registry: %s %q: move the head to %d: %w", l.what, l.id, seq, err)
	}
	return nil
}

// replayed is a seal's verified state and the head it was read at.
type replayed struct {
	entry *Entry
	*verified
}

// verified is what replayChain read of a log that verifies: the head it
// was read at, and the hex SM3 of each change's stored object, in order.
type verified struct {
	head     head
	headETag string
	sums     []string
}

// replay reads and verifies a seal's whole log and head and returns its
// state. See the package documentation for the rules.
func (g *Registry) replay(ctx context.Context, id string) (*replayed, error) {
	e := &Entry{}
	v, err := g.replayChain(ctx, sealChain(id), func(seq int, obj []byte) (*opened, error) {
		var c Change
		actor, err := g.open(obj, &c, func() time.Time { return c.At })
		switch {
		case err != nil:
			return nil, err
		case c.Seal != id || c.Seq != seq:
			return nil, fmt.Errorf("names seal %q change %d", c.Seal, c.Seq)
		}
		return &opened{c.Prev, c.At, func() error { return g.apply(ctx, e, c, actor) }}, nil
	})
	if err != nil {
		return nil, err
	}
	e.Head = len(v.sums)
	return &replayed{entry: e, verified: v}, nil
}

// opened is a change whose signature verifies, as replayChain needs it.
type opened struct {
	prev  string       // the SM3 of the change before it, as it names it
	at    time.Time    // its time
	apply func() error // applies it to the state being replayed
}

// replayChain reads and verifies the head of l and every change, in
// order: open checks change seq's signature and that it names l and seq;
// replayChain checks that it follows the change before it, then applies
// it, and that the head names the last change. A log that does not verify
// fails with a *TamperError; a missing head as missing explains.
func (g *Registry) replayChain(ctx context.Context, l chain, open func(seq int, obj []byte) (*opened, error)) (*verified, error) {
	hb, hinfo, err := storage.ReadAll(ctx, g.store, l.headKey(), maxObjectSize)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, g.missing(ctx, l)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: read %s: %w", l.headKey(), err)
	}
	var h head
	if _, err := g.open(hb, &h, func() time.Time { return h.At }); err != nil {
		return nil, &TamperError{Seal: l.id, Object: l.headKey(), Reason: err.Error()}
	}
	if !l.names(h) {
		return nil, &TamperError{Seal: l.id, Object: l.headKey(), Reason: fmt.Sprintf("names seal %q application %q change %d", h.Seal, h.Application, h.Seq)}
	}

	var keys []string
	err = g.store.List(ctx, l.logPrefix(), func(o storage.ObjectInfo) error {
		if len(keys) >= maxChanges {
			return fmt.Errorf("%w: more than %d changes", ErrInvalid, maxChanges)
		}
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registry: list %s: %w", l.logPrefix(), err)
	}
	var (
		prevHash string
		prevAt   time.Time
		sums     []string
	)
	for i, key := range keys {
		seq := i + 1
		if key != l.changeKey(seq) {
			return nil, &TamperError{Seal: l.id, Object: l.changeKey(seq), Reason: fmt.Sprintf("change %d is missing, or the log holds a stray object (%s)", seq, key)}
		}
		obj, _, err := storage.ReadAll(ctx, g.store, key, maxObjectSize)
		if err != nil {
			return nil, fmt.Errorf("registry: read %s: %w", key, err)
		}
		bad := func(format string, args ...any) error {
			return &TamperError{Seal: l.id, Object: key, Reason: fmt.Sprintf(format, args...)}
		}
		c, err := open(seq, obj)
		if err != nil {
			return nil, bad("%v", err)
		}
		switch {
		case c.prev != prevHash:
			return nil, bad("does not follow change %d (prev %q, want %q)", seq-1, c.prev, prevHash)
		case seq > 1 && c.at.Before(prevAt):
			return nil, bad("dated before the change it follows")
		}
		if err := c.apply(); err != nil {
			return nil, bad("%v", err)
		}
		prevHash, prevAt = sm3hex(obj), c.at
		sums = append(sums, prevHash)
		if seq == h.Seq && h.SM3 != prevHash {
			return nil, &TamperError{Seal: l.id, Object: l.headKey(), Reason: fmt.Sprintf("names change %d with SM3 %s, but it has %s", h.Seq, h.SM3, prevHash)}
		}
	}
	if h.Seq > len(keys) {
		return nil, &TamperError{Seal: l.id, Object: l.headKey(), Reason: fmt.Sprintf("names change %d, but the log has %d", h.Seq, len(keys))}
	}
	return &verified{head: h, headETag: hinfo.ETag, sums: sums}, nil
}

// apply applies change c, signed by actor, to the state e.
func (g *Registry) apply(ctx context.Context, e *Entry, c Change, actor string) error {
	if err := c.Requester.check(); err != nil {
		return err
	}
	if err := checkLifecycle(c); err != nil {
		return err
	}
	ev := Event{At: c.At, Op: c.Op, Actor: actor, Reason: c.Reason, Code: c.Code, Seq: c.Seq, Requester: c.Requester, Successor: c.Successor, Predecessor: c.Predecessor}
	if c.Seq == 1 {
		if c.Op != OpRegister && c.Op != OpImport {
			return fmt.Errorf("the first change is %q, want %q or %q", c.Op, OpRegister, OpImport)
		}
		if err := CheckKeyAlias(c.Key); err != nil {
			return err
		}
		esl, err := g.readSeal(ctx, c.Seal)
		if err != nil {
			return err
		}
		if sm3hex(esl) != c.SealSM3 {
			return fmt.Errorf("%s has SM3 %s, the registration pinned %s", sealKey(c.Seal), sm3hex(esl), c.SealSM3)
		}
		if e.Seal, err = ses.ParseSeal(esl); err != nil {
			return err
		}
		if e.Seal.ID != c.Seal {
			return fmt.Errorf("the SESeal's esID is %q", e.Seal.ID)
		}
		e.Record = Record{
			ID: c.Seal, Name: c.Name, Unit: c.Unit, Purpose: c.Purpose, Key: c.Key, Approvers: c.Approvers,
			ValidStart: e.Seal.ValidStart, ValidEnd: e.Seal.ValidEnd, Predecessor: c.Predecessor,
		}
		ev.Status = StatusActive
		switch {
		case c.Op == OpImport:
			if !c.Status.Valid() {
				return fmt.Errorf("an import starting the seal %q", c.Status)
			}
			ev.Status = c.Status
		case (c.Application != "") != (c.Status == StatusSuspended):
			return fmt.Errorf("a registration setting the status %q, for application %q (a seal made from an application starts suspended until filed)", c.Status, c.Application)
		case c.Application != "":
			ev.Status = c.Status
			e.Application = c.Application
		case c.Status != "":
			return fmt.Errorf("a registration setting the status %q", c.Status)
		}
		e.Status = ev.Status
		e.History = append(e.History, ev)
		return nil
	}
	if c.Status != "" {
		return fmt.Errorf("%s setting the status %q", c.Op, c.Status)
	}
	switch c.Op {
	case OpSuspend, OpActivate, OpRevoke:
		to := map[Op]Status{OpSuspend: StatusSuspended, OpActivate: StatusActive, OpRevoke: StatusRevoked}[c.Op]
		if e.Status == StatusRevoked || e.Status == to {
			return fmt.Errorf("%s of a seal that is %s", c.Op, e.Status)
		}
		e.Status, ev.Status = to, to
		e.Successor = c.Successor
		e.History = append(e.History, ev)
	case OpApprovers:
		if e.Status == StatusRevoked || len(c.Approvers) == 0 {
			return fmt.Errorf("approvers of a revoked seal, or none")
		}
		e.Approvers = c.Approvers
		ev.Status = e.Status
		e.History = append(e.History, ev)
	default:
		return fmt.Errorf("unknown change %q", c.Op)
	}
	return nil
}

// open checks a signed object of the registry, decodes it into v and
// returns the signer's common name. The signer must have been a registry
// administrator at the time at returns, which it calls once v is decoded:
// the time the object itself states.
func (g *Registry) open(obj []byte, v any, at func() time.Time) (string, error) {
	cert, err := signed.Unmarshal(obj, v)
	if err != nil {
		return "", err
	}
	when := at()
	if when.IsZero() || when.After(g.now().Add(maxClockSkew)) {
		return "", fmt.Errorf("dated %s: not a time it could have been signed", when.Format(time.RFC3339))
	}
	if _, err := g.trust.Verify(cert, when, trust.UsageRegistryAdmin); err != nil {
		return "", fmt.Errorf("signed by %q, not a seal administrator at %s: %w", cert.Subject.CommonName, when.Format(time.RFC3339), err)
	}
	return cert.Subject.CommonName, nil
}

// maxClockSkew is how far in the future a change may be dated.
const maxClockSkew = 5 * time.Minute

// readSeal reads the SESeal DER of seal id.
func (g *Registry) readSeal(ctx context.Context, id string) ([]byte, error) {
	key := sealKey(id)
	esl, _, err := storage.ReadAll(ctx, g.store, key, maxSealSize)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		return nil, fmt.Errorf("%s missing", key)
	case err != nil:
		return nil, fmt.Errorf("registry: read %s: %w", key, err)
	}
	return esl, nil
}

// Fingerprint identifies a certificate's key: the hex SM3 of its
// SubjectPublicKeyInfo.
func Fingerprint(cert *smx509.Certificate) string { return sm3hex(cert.RawSubjectPublicKeyInfo) }

func sm3hex(b []byte) string {
	sum := sm3.Sum(b)
	return hex.EncodeToString(sum[:])
}

// CheckKeyAlias validates the alias of a signing key: 1-64 lower-case
// letters, digits, '.', '_' and '-', starting with a letter or digit. A key
// URI is no alias: the registry, stored in the bucket, must not say where
// a key lives.
func CheckKeyAlias(alias string) error {
	ok := alias != "" && len(alias) <= 64 && !strings.ContainsFunc(alias, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) && alias[0] != '.' && alias[0] != '_' && alias[0] != '-'
	if !ok {
		return fmt.Errorf("%w: key alias %q: want 1-64 of a-z 0-9 . _ -, not a key URI or path (the worker's key configuration maps aliases to keys)", ErrInvalid, alias)
	}
	return nil
}

// checkDepartment validates a department an approver is bound to.
func checkDepartment(d string) error {
	if err := approval.CheckSegment("department", d); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// checkID accepts seal identifiers usable as one object-key segment.
func checkID(id string) error {
	if id == "" || len(id) > 64 || id[0] == '.' {
		return fmt.Errorf("%w: seal id %q", ErrInvalid, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%w: seal id %q holds %q", ErrInvalid, id, c)
		}
	}
	return nil
}
