package registry

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/storage"
)

// Valid reports whether s is one of the seal states.
func (s Status) Valid() bool {
	return s == StatusActive || s == StatusSuspended || s == StatusRevoked
}

// ImportRequest describes a seal another registry made and filed, to be
// registered here as it stands there (package pipeline/exchange). Nothing
// of the other registry's log is copied: its changes were signed by its
// administrators, and this registry's log holds only its own, so the
// import is one change of this registry's administrator that says, in
// Reason, where the seal comes from.
type ImportRequest struct {
	// Name, Unit and Purpose are the seal's names in the other registry.
	Name, Unit, Purpose string
	// Approvers are the approvers pinned there, as pinned (Approver):
	// their certificates are not at hand, their keys' fingerprints are.
	Approvers []Approver
	// Key is the alias of the seal's signing key (see Record.Key).
	Key string
	// Status is the seal's status there, which it starts in here.
	Status Status
	// Reason says where the seal comes from, such as "imported from
	// filing export X at T, originally revoked since S". Required.
	Reason string
	// Requester, if set, is recorded as who asked for the import.
	Requester *Principal
}

// Import registers the seal whose SESeal DER is esl as req describes, in
// the status req.Status, with one change (OpImport) signed by admin.
// An identifier registered already fails with ErrExists, as Register.
func (g *Registry) Import(ctx context.Context, esl []byte, req ImportRequest, admin signed.Signer) (*Entry, error) {
	seal, err := parseSeal(esl, req.Key)
	if err != nil {
		return nil, err
	}
	if err := checkPinned(req.Approvers); err != nil {
		return nil, err
	}
	switch {
	case !req.Status.Valid():
		return nil, fmt.Errorf("%w: status %q", ErrInvalid, req.Status)
	case strings.TrimSpace(req.Reason) == "":
		return nil, fmt.Errorf("%w: an import needs a reason saying where the seal comes from", ErrInvalid)
	}
	if err := req.Requester.check(); err != nil {
		return nil, err
	}
	if err := g.checkAdmin(admin); err != nil {
		return nil, err
	}
	name := req.Name
	if name == "" {
		name = seal.Name
	}
	c := Change{
		Seal: seal.ID, Seq: 1, Op: OpImport, Reason: req.Reason, Status: req.Status,
		Name: name, Unit: req.Unit, Purpose: req.Purpose, Key: req.Key, Approvers: req.Approvers, SealSM3: sm3hex(esl),
		Requester: req.Requester,
	}
	if err := g.first(ctx, esl, c, admin); err != nil {
		return nil, err
	}
	return g.Get(ctx, seal.ID)
}

// first writes a seal's first change c (a registration or an import),
// signed by admin, with its SESeal esl: the seal first, create-only,
// tolerating an identical leftover of a crashed registration; then the
// first change, which takes the identifier; then the head, which makes
// it visible. A seal registered already fails with ErrExists.
func (g *Registry) first(ctx context.Context, esl []byte, c Change, admin signed.Signer) error {
	created, err := storage.PutOnce(ctx, g.store, sealKey(c.Seal), esl, storage.PutOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("registry: %s %q: %w", c.Op, c.Seal, err)
	}
	if !created {
		old, err := g.readSeal(ctx, c.Seal)
		if err != nil {
			return err
		}
		if sm3hex(old) != c.SealSM3 {
			return fmt.Errorf("%w: %q", ErrExists, c.Seal)
		}
	}
	if err := g.append(ctx, c, admin, ""); err != nil {
		if errors.Is(err, ErrConflict) {
			return fmt.Errorf("%w: %q", ErrExists, c.Seal)
		}
		return err
	}
	return nil
}

// parseSeal parses the SESeal DER esl of a seal to register, whose
// signing key's alias is key, and checks its identifier and the alias.
func parseSeal(esl []byte, key string) (*ses.Seal, error) {
	seal, err := ses.ParseSeal(esl)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := checkID(seal.ID); err != nil {
		return nil, err
	}
	if err := CheckKeyAlias(key); err != nil {
		return nil, err
	}
	return seal, nil
}

// checkPinned refuses approvers that name nobody, pin no SM3 key
// fingerprint, name a department that is not one, or repeat a key.
func checkPinned(approvers []Approver) error {
	if len(approvers) == 0 {
		return fmt.Errorf("%w: a seal needs at least one approver", ErrInvalid)
	}
	for i, a := range approvers {
		fp, err := hex.DecodeString(a.Fingerprint)
		if strings.TrimSpace(a.Name) == "" || err != nil || len(fp) != 32 || a.Fingerprint != strings.ToLower(a.Fingerprint) || len(a.Departments) == 0 {
			return fmt.Errorf("%w: approver %d needs a name, an SM3 key fingerprint in lower-case hex and at least one department", ErrInvalid, i+1)
		}
		for _, d := range a.Departments {
			if err := checkDepartment(d); err != nil {
				return err
			}
		}
		if slices.ContainsFunc(approvers[:i], func(b Approver) bool { return b.Fingerprint == a.Fingerprint }) {
			return fmt.Errorf("%w: approver %q listed twice", ErrInvalid, a.Name)
		}
	}
	return nil
}

// Verified returns the seal registered under id, as Get does, and the hex
// SM3 of each of its changes' stored objects as the replay verified them
// (element i is change i+1's): what a filing export names so that whoever
// reads it can ask for a change and check that it is the one.
func (g *Registry) Verified(ctx context.Context, id string) (*Entry, []string, error) {
	if _, err := g.Get(ctx, id); err != nil { // the rollback checks
		return nil, nil, err
	}
	l, err := g.replay(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return l.entry, l.sums, nil
}

// VerifiedApplication returns application id, as Application does, and
// the hex SM3 of each of its changes' stored objects (element i is change
// i+1's), as Verified does for a seal.
func (g *Registry) VerifiedApplication(ctx context.Context, id string) (*Application, []string, error) {
	a, v, err := g.replayApp(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return a, v.sums, nil
}
