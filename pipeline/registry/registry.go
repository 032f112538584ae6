// Package registry keeps the seal registry: every seal sealpipe may apply,
// its GB/T 38540 SESeal bytes, its lifecycle status (active, suspended,
// revoked) with the history of changes, who may approve its use and which
// signing key applies it.
//
// The registry lives in the object store, sealpipe's system of record:
//
//	registry/seals/<id>/seal.esl     the SESeal DER, written once
//	registry/seals/<id>/record.json  the Record, updated by compare-and-swap on its ETag
//
// Lookups of a seal's status at a past instant (a signing time) walk the
// record's history, so a seal revoked after a document was sealed still
// verifies as valid for that document.
package registry

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/ses"
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
	// ErrInvalid reports a record that breaks the registry's rules.
	ErrInvalid = errors.New("registry: invalid seal record")
)

// Record is a seal's registry entry.
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
	// Approvers lists the approvers (certificate common names) who may
	// approve documents for this seal.
	Approvers []string `json:"approvers"`
	// SignerKey is the key URI (pipeline/keys) of the signing key whose
	// certificate is in the seal's certList.
	SignerKey string `json:"signer_key"`
	// History records every status change, oldest first. The first event is
	// the registration.
	History []Event `json:"history"`
}

// Event is one status change.
type Event struct {
	At     time.Time `json:"at"`
	Status Status    `json:"status"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason,omitempty"`
}

// Entry is a record together with its decoded seal.
type Entry struct {
	Record
	// Seal is the decoded SESeal; Seal.Raw holds its DER bytes.
	Seal *ses.Seal
	etag string
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

// MayApprove reports whether approver (a certificate common name) may
// approve documents for this seal.
func (r *Record) MayApprove(approver string) bool {
	return approver != "" && slices.Contains(r.Approvers, approver)
}

// Registry reads and writes seal records in an object store.
type Registry struct {
	store storage.Store
	now   func() time.Time
}

// New returns a registry kept in store.
func New(store storage.Store) *Registry {
	return &Registry{store: store, now: time.Now}
}

const sealsPrefix = storage.PrefixRegistry + "seals/"

func sealKey(id string) string   { return sealsPrefix + id + "/seal.esl" }
func recordKey(id string) string { return sealsPrefix + id + "/record.json" }

// Register adds a seal. The SESeal must parse and its identifier must match
// rec.ID; the record starts active with a registration event by actor.
// Registering an existing identifier fails with ErrExists.
func (g *Registry) Register(ctx context.Context, esl []byte, rec Record, actor string) error {
	seal, err := ses.ParseSeal(esl)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if rec.ID == "" {
		rec.ID = seal.ID
	}
	if rec.ID != seal.ID {
		return fmt.Errorf("%w: record id %q differs from the seal's esID %q", ErrInvalid, rec.ID, seal.ID)
	}
	if err := checkID(rec.ID); err != nil {
		return err
	}
	if err := checkKeyURI(rec.SignerKey); err != nil {
		return err
	}
	if rec.Name == "" {
		rec.Name = seal.Name
	}
	rec.ValidStart, rec.ValidEnd = seal.ValidStart, seal.ValidEnd
	rec.Status = StatusActive
	rec.History = []Event{{At: g.eventTime(), Status: StatusActive, Actor: actor, Reason: "registered"}}
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	// The record is the registration's commit point: write the seal first
	// (create-only, tolerating an identical leftover from a crashed attempt).
	created, err := storage.PutOnce(ctx, g.store, sealKey(rec.ID), esl, storage.PutOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("registry: register %q: %w", rec.ID, err)
	}
	if !created {
		old, err := g.readSeal(ctx, rec.ID)
		if err != nil {
			return err
		}
		if !bytes.Equal(old, esl) {
			return fmt.Errorf("%w: %q", ErrExists, rec.ID)
		}
	}
	created, err = storage.PutOnce(ctx, g.store, recordKey(rec.ID), body, storage.PutOptions{ContentType: "application/json"})
	if err != nil {
		return fmt.Errorf("registry: register %q: %w", rec.ID, err)
	}
	if !created {
		return fmt.Errorf("%w: %q", ErrExists, rec.ID)
	}
	return nil
}

// Get returns the seal registered under id, or an error wrapping ErrNotFound.
func (g *Registry) Get(ctx context.Context, id string) (*Entry, error) {
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	body, info, err := storage.ReadAll(ctx, g.store, recordKey(id), maxRecordSize)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	case errors.Is(err, storage.ErrTooLarge):
		return nil, fmt.Errorf("%w: record %q: %w", ErrInvalid, id, err)
	case err != nil:
		return nil, fmt.Errorf("registry: get %q: %w", id, err)
	}
	var e Entry
	if err := json.Unmarshal(body, &e.Record); err != nil {
		return nil, fmt.Errorf("%w: record %q: %v", ErrInvalid, id, err)
	}
	e.etag = info.ETag
	esl, err := g.readSeal(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.Seal, err = ses.ParseSeal(esl); err != nil {
		return nil, fmt.Errorf("%w: seal %q: %w", ErrInvalid, id, err)
	}
	return &e, nil
}

// List returns every registered seal's record, ordered by identifier.
func (g *Registry) List(ctx context.Context) ([]Record, error) {
	var ids []string
	err := g.store.List(ctx, sealsPrefix, func(o storage.ObjectInfo) error {
		if id, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, sealsPrefix), "/record.json"); ok {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registry: list: %w", err)
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

// SetStatus changes a seal's status, recording who did it and why.
// Revocation is final; suspended and active seals may move between each
// other. A lost race with a concurrent change fails with ErrConflict.
func (g *Registry) SetStatus(ctx context.Context, id string, to Status, actor, reason string) (*Record, error) {
	e, err := g.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case to != StatusActive && to != StatusSuspended && to != StatusRevoked:
		return nil, fmt.Errorf("%w: unknown status %q", ErrTransition, to)
	case e.Status == StatusRevoked:
		return nil, fmt.Errorf("%w: seal %q is revoked", ErrTransition, id)
	case e.Status == to:
		return nil, fmt.Errorf("%w: seal %q is already %s", ErrTransition, id, to)
	}
	if actor == "" {
		return nil, fmt.Errorf("%w: a status change needs an actor", ErrTransition)
	}
	rec := e.Record
	rec.Status = to
	rec.History = append(slices.Clip(rec.History), Event{At: g.eventTime(), Status: to, Actor: actor, Reason: reason})
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	if _, err := g.store.Put(ctx, recordKey(id), bytes.NewReader(body), int64(len(body)),
		storage.PutOptions{IfMatch: e.etag, ContentType: "application/json"}); err != nil {
		if errors.Is(err, storage.ErrPreconditionFailed) {
			return nil, fmt.Errorf("%w: seal %q", ErrConflict, id)
		}
		return nil, fmt.Errorf("registry: set status of %q: %w", id, err)
	}
	return &rec, nil
}

// Size limits of the objects a seal is stored as.
const (
	maxRecordSize = 1 << 20
	maxSealSize   = 16 << 20
)

// readSeal reads the SESeal DER of seal id.
func (g *Registry) readSeal(ctx context.Context, id string) ([]byte, error) {
	key := sealKey(id)
	esl, _, err := storage.ReadAll(ctx, g.store, key, maxSealSize)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		return nil, fmt.Errorf("%w: %s missing", ErrInvalid, key)
	case errors.Is(err, storage.ErrTooLarge):
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	case err != nil:
		return nil, fmt.Errorf("registry: read %s: %w", key, err)
	}
	return esl, nil
}

// eventTime is the time of a status event.
func (g *Registry) eventTime() time.Time { return g.now().UTC() }

// checkKeyURI refuses a signing key URI that carries a secret: the record
// is stored in the bucket, where a PIN must never be (RFC 7512 pin-value).
// Name a PIN file with pin-source= instead.
func checkKeyURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Errorf("%w: signer key URI: %v", ErrInvalid, err)
	}
	if u.Query().Has("pin-value") || strings.Contains(u.Opaque, "pin-value=") || u.User != nil {
		return fmt.Errorf("%w: the signer key URI carries a secret (pin-value or user info); use pin-source=FILE, the registry is stored in the bucket", ErrInvalid)
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
	// SignerKey the key URI of its private key.
	SignerCert *smx509.Certificate
	SignerKey  string
	// Approvers lists the approvers (certificate common names) who may
	// approve uses of the seal.
	Approvers []string
	// Validity is how long the seal is valid from now; it is capped at the
	// signer certificate's expiry. Zero means two years.
	Validity time.Duration
	// Maker and MakerCert are the seal maker's key and certificate.
	Maker     crypto.Signer
	MakerCert *smx509.Certificate
	// Actor is recorded as who registered the seal.
	Actor string
}

// VendorID is the GB/T 38540 SES_Header Vid of seals sealpipe makes.
const VendorID = "SEALPIPE"

// Make builds a unit seal's GB/T 38540 version 4 SESeal holding the
// signer's certificate and the given picture, signs it with the seal
// maker's key and registers it as active.
func (g *Registry) Make(ctx context.Context, req MakeRequest) (*Entry, error) {
	if req.SignerCert == nil || req.Maker == nil || req.MakerCert == nil || len(req.Approvers) == 0 {
		return nil, fmt.Errorf("%w: a seal needs a signer certificate, a maker and at least one approver", ErrInvalid)
	}
	if p := req.Picture; p.Type == "" || len(p.Data) == 0 || p.WidthMM <= 0 || p.HeightMM <= 0 {
		return nil, fmt.Errorf("%w: a seal needs a picture with a type and a size", ErrInvalid)
	}
	if req.Validity == 0 {
		req.Validity = 2 * 365 * 24 * time.Hour
	}
	now := g.now().UTC().Truncate(time.Second)
	end := now.Add(req.Validity)
	if end.After(req.SignerCert.NotAfter) {
		end = req.SignerCert.NotAfter // a seal cannot outlive its signing certificate
	}
	name := req.Unit + req.Purpose
	esl, err := ses.MakeSeal(rand.Reader, ses.MakeSealRequest{
		VendorID: VendorID, ID: req.ID, Type: 1, Name: name,
		SignerCerts: [][]byte{req.SignerCert.Raw},
		CreateDate:  now, ValidStart: now, ValidEnd: end,
		Picture: req.Picture,
	}, req.Maker, req.MakerCert.Raw)
	if err != nil {
		return nil, fmt.Errorf("registry: make seal %q: %w", req.ID, err)
	}
	rec := Record{ID: req.ID, Name: name, Unit: req.Unit, Purpose: req.Purpose, Approvers: req.Approvers, SignerKey: req.SignerKey}
	if err := g.Register(ctx, esl, rec, req.Actor); err != nil {
		return nil, err
	}
	return g.Get(ctx, req.ID)
}
