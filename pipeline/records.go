package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
)

// existingOutcome returns the outcome already recorded for a document, if
// any. Only a record the pipeline signed counts: anything else under a
// record's key fails with ErrTampered.
func (p *Pipeline) existingOutcome(ctx context.Context, ref BatchRef, name string) (report.Outcome, error) {
	var rep report.Document
	if err := p.readJSON(ctx, ref.ReportKey(name), &rep); err == nil {
		return report.OutcomeSealed, nil
	} else if !errors.Is(err, storage.ErrNotExist) {
		return "", err
	}
	var rej report.Rejection
	if err := p.readJSON(ctx, ref.RejectionKey(name), &rej); err == nil {
		return report.OutcomeRejected, nil
	} else if !errors.Is(err, storage.ErrNotExist) {
		return "", err
	}
	return "", nil
}

// BatchDone reports whether the batch has its report: a signed one, since
// one planted there fails with ErrTampered instead.
func (p *Pipeline) BatchDone(ctx context.Context, ref BatchRef) (bool, error) {
	var b report.Batch
	err := p.readJSON(ctx, ref.BatchReportKey(), &b)
	if errors.Is(err, storage.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (p *Pipeline) writeRejection(ctx context.Context, ref BatchRef, name string, rj *RejectError) error {
	rec := report.Rejection{Department: ref.Department, Batch: ref.Batch, Document: name, Code: rj.Code, Reason: rj.Reason, At: p.cfg.Now().UTC()}
	return p.putRecord(ctx, ref.RejectionKey(name), rec)
}

// RecordFailure rejects a document whose processing failed for good (its
// retries are exhausted), so that the failure is on record and the batch
// can complete. It is a no-op if the document already has an outcome.
func (p *Pipeline) RecordFailure(ctx context.Context, ref BatchRef, name string, cause error) error {
	if out, err := p.existingOutcome(ctx, ref, name); err != nil || out != "" {
		return err
	}
	return p.writeRejection(ctx, ref, name, reject(CodeProcessingFailed, cause, "processing failed after all retries: %v", cause))
}

// RecordBatchFailure rejects a batch whose intake failed for good.
func (p *Pipeline) RecordBatchFailure(ctx context.Context, ref BatchRef, cause error) error {
	code := CodeProcessingFailed
	if errors.Is(cause, ErrNotReady) {
		code = CodeApprovalMissing
	}
	_, err := p.rejectBatch(ctx, ref, reject(code, cause, "batch intake failed after all retries: %v", cause))
	return err
}

func (p *Pipeline) rejectBatch(ctx context.Context, ref BatchRef, rj *RejectError) (*report.Rejection, error) {
	p.cfg.Logger.InfoContext(ctx, "batch rejected", "batch", ref.String(), "code", rj.Code, "reason", rj.Reason)
	rec := &report.Rejection{Department: ref.Department, Batch: ref.Batch, Code: rj.Code, Reason: rj.Reason, At: p.cfg.Now().UTC()}
	if err := p.putRecord(ctx, ref.BatchRejectionKey(), rec); err != nil {
		return nil, err
	}
	return p.readBatchRejection(ctx, ref) // the first record written stands
}

func (p *Pipeline) readBatchRejection(ctx context.Context, ref BatchRef) (*report.Rejection, error) {
	var rec report.Rejection
	err := p.readJSON(ctx, ref.BatchRejectionKey(), &rec)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

func (p *Pipeline) recordUse(ctx context.Context, ref BatchRef, name string, seal *registry.Entry, a *approved, in source, rep *report.Document) error {
	rec := p.usageRecord(seal, name, ref.SealedKey(name), in, rep)
	rec.Department, rec.Batch = ref.Department, ref.Batch
	rec.Approver, rec.ApprovedAt = a.approver.Subject.String(), a.manifest.ApprovedAt
	return p.audit.Append(ctx, rec)
}

// usageRecord describes one use of seal: document name (in) sealed into
// outputName, whose report is rep (its SM3 is the output's), with the
// signer and signing time of the output's last signature by seal.
func (p *Pipeline) usageRecord(seal *registry.Entry, name, outputName string, in source, rep *report.Document) audit.Record {
	rec := audit.Record{
		SealID: seal.ID, SealName: seal.Name, Document: name, Output: outputName,
		InputSM3: in.sm3, OutputSM3: rep.SM3,
		Operator: p.cfg.Operator,
	}
	for i := len(rep.Signatures) - 1; i >= 0; i-- {
		if sig := rep.Signatures[i]; sig.SealID == seal.ID {
			rec.Signer, rec.SignerSerial, rec.SignedAt = sig.Signer, sig.SignerSerial, sig.SigningTime
			break
		}
	}
	return rec
}

// maxRecordSize bounds the JSON records the pipeline reads back.
const maxRecordSize = 16 << 20

// putRecord writes v as a record signed by the pipeline under key,
// create-only: if a record the pipeline signed is there already, the first
// one written stands; anything else there fails with ErrTampered.
func (p *Pipeline) putRecord(ctx context.Context, key string, v any) error {
	body, err := p.cfg.Service.Marshal(v)
	if err != nil {
		return fmt.Errorf("pipeline: sign %s: %w", key, err)
	}
	created, err := storage.PutOnce(ctx, p.store, key, body, storage.PutOptions{ContentType: "application/json"})
	if err != nil {
		return fmt.Errorf("pipeline: write %s: %w", key, err)
	}
	if created {
		return nil
	}
	var old json.RawMessage
	return p.readJSON(ctx, key, &old)
}

// readJSON reads the record under key into v, checking that the pipeline
// signed it (ErrTampered otherwise).
func (p *Pipeline) readJSON(ctx context.Context, key string, v any) error {
	b, _, err := storage.ReadAll(ctx, p.store, key, maxRecordSize)
	if err != nil {
		return err
	}
	return p.openJSON(ctx, key, b, v)
}

// openJSON decodes b, the record read from under key, into v, checking
// that the pipeline signed it (ErrTampered otherwise).
func (p *Pipeline) openJSON(ctx context.Context, key string, b []byte, v any) error {
	err := openRecord(key, b, v, p.trust)
	if err != nil {
		p.cfg.Logger.ErrorContext(ctx, "a record the pipeline did not write", "key", key, "err", err)
	}
	return err
}

// openRecord decodes b, the record read from under key, into v, checking
// that the pipeline signed it, as pool trusts (ErrTampered otherwise).
func openRecord(key string, b []byte, v any, pool *trust.Pool) error {
	if err := audit.OpenRecord(b, v, pool); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrTampered, key, err)
	}
	return nil
}
