package engine

import (
	"context"
	"errors"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/audittrail"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
)

// VerifyRegistry checks every seal's log in the registry and returns the
// seals whose log does not verify.
func (e *Engine) VerifyRegistry(ctx context.Context) ([]registry.Problem, error) {
	reg, err := e.Registry(ctx)
	if err != nil {
		return nil, err
	}
	return reg.Verify(ctx)
}

// VerifyUsage walks the usage log of each seal in seals (every seal with
// records when empty) and returns the first problem of each that has one.
// It reads only: no key is opened.
func (e *Engine) VerifyUsage(ctx context.Context, seals []string) ([]audit.Problem, error) {
	st, pool, err := e.storeAndTrust(ctx)
	if err != nil {
		return nil, err
	}
	log := audit.New(st, signed.Signer{}, pool)
	if len(seals) == 0 {
		if seals, err = log.Seals(ctx); err != nil {
			return nil, err
		}
	}
	var problems []audit.Problem
	for _, s := range seals {
		p, err := log.Verify(ctx, s, batchComplete(ctx, st, pool))
		if err != nil {
			return problems, err
		}
		if p != nil {
			problems = append(problems, *p)
		}
	}
	return problems, nil
}

// batchComplete reports whether the batch labelled "<dept>/<batch>" is
// complete, as audit.Log.Verify asks: a batch is complete once its signed
// report exists, and its uses must then all be in the log.
func batchComplete(ctx context.Context, st storage.Store, pool *trust.Pool) func(label string) (bool, error) {
	return func(label string) (bool, error) {
		ref, err := pipeline.ParseBatchLabel(label)
		if err != nil {
			return false, nil
		}
		b, _, err := storage.ReadAll(ctx, st, ref.BatchReportKey(), 64<<20)
		if errors.Is(err, storage.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return audit.OpenRecord(b, new(report.Batch), pool) == nil, nil
	}
}

// AuditTrail returns the audit trail of the store — its usage log and
// seal registry — whose Query `sealpipe audit query` and the admin API's
// GET /api/v1/audit call. It reads only: no key is opened.
func (e *Engine) AuditTrail(ctx context.Context) (*audittrail.Trail, error) {
	st, pool, err := e.storeAndTrust(ctx)
	if err != nil {
		return nil, err
	}
	reg, err := e.Registry(ctx)
	if err != nil {
		return nil, err
	}
	return &audittrail.Trail{Usage: usageLog{audit.New(st, signed.Signer{}, pool), st, pool}, Registry: reg}, nil
}

// usageLog is the usage log as an audit trail reads it.
type usageLog struct {
	log  *audit.Log
	st   storage.Store
	pool *trust.Pool
}

func (u usageLog) Seals(ctx context.Context) ([]string, error) { return u.log.Seals(ctx) }

func (u usageLog) Uses(ctx context.Context, seal string) ([]audit.Use, error) {
	uses, p, err := u.log.Uses(ctx, seal, batchComplete(ctx, u.st, u.pool))
	if p != nil {
		return nil, p
	}
	return uses, err
}
