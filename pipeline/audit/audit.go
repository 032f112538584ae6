// Package audit records every use of a seal (用章记录). Each sealing writes
// one usage record to the object store under a key derived from what was
// sealed, create-only, so a retried sealing can neither lose its record nor
// write a second one.
//
//	audit/<seal id>/<dept>/<batch>/<document>.json   a use by the pipeline
//	audit/<seal id>/local/<time>-<sm3 prefix>.json    a use by `sealpipe seal`
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sealpipe/sealpipe/storage"
)

// Record is one use of a seal.
type Record struct {
	// SealID and SealName identify the seal applied.
	SealID   string `json:"seal_id"`
	SealName string `json:"seal_name"`
	// Department, Batch and Document identify the document within a
	// pipeline batch; all three are empty for a local single-file sealing.
	Department string `json:"department,omitempty"`
	Batch      string `json:"batch,omitempty"`
	Document   string `json:"document"`
	// InputSM3 and OutputSM3 are hex SM3 digests of the document before and
	// after sealing.
	InputSM3  string `json:"input_sm3"`
	OutputSM3 string `json:"output_sm3"`
	// Output is the object key or file name of the sealed document.
	Output string `json:"output"`
	// Signer is the signing certificate's subject and SignerSerial its serial number (hex).
	Signer       string `json:"signer"`
	SignerSerial string `json:"signer_serial"`
	// Approver is the approver's certificate subject; ApprovedAt the approval time.
	Approver   string    `json:"approver,omitempty"`
	ApprovedAt time.Time `json:"approved_at,omitzero"`
	// SignedAt is the signing time recorded in the signature.
	SignedAt time.Time `json:"signed_at"`
	// Operator names who or what applied the seal: "pipeline" or a local user.
	Operator string `json:"operator"`
}

// Key returns the object key the record is stored under.
func (r *Record) Key() string {
	if r.Batch != "" {
		return fmt.Sprintf("%s%s/%s/%s/%s.json", storage.PrefixAudit, r.SealID, r.Department, r.Batch, r.Document)
	}
	return fmt.Sprintf("%s%s/local/%s-%.16s.json", storage.PrefixAudit, r.SealID, r.SignedAt.UTC().Format("20060102T150405Z"), r.OutputSM3)
}

// Log appends usage records to an object store.
type Log struct {
	store storage.Store
}

// New returns a usage log kept in store.
func New(store storage.Store) *Log { return &Log{store: store} }

// Append stores rec. If a record already exists under the same key — a
// retried sealing of the same document — the existing record stands and
// Append succeeds.
func (l *Log) Append(ctx context.Context, rec Record) error {
	if rec.SealID == "" || rec.Document == "" || rec.OutputSM3 == "" {
		return fmt.Errorf("audit: incomplete usage record %+v", rec)
	}
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if _, err := storage.PutOnce(ctx, l.store, rec.Key(), body, storage.PutOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("audit: append %s: %w", rec.Key(), err)
	}
	return nil
}

// List calls fn with the keys of every usage record of seal id.
func (l *Log) List(ctx context.Context, sealID string, fn func(key string) error) error {
	return l.store.List(ctx, storage.PrefixAudit+sealID+"/", func(o storage.ObjectInfo) error { return fn(o.Key) })
}
