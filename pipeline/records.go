package pipeline

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/storage"
)

// existingOutcome returns the outcome already recorded for a document, if any.
func (p *Pipeline) existingOutcome(ctx context.Context, ref BatchRef, name string) (report.Outcome, error) {
	if _, err := p.store.Stat(ctx, ref.ReportKey(name)); err == nil {
		return report.OutcomeSealed, nil
	} else if !errors.Is(err, storage.ErrNotExist) {
		return "", err
	}
	if _, err := p.store.Stat(ctx, ref.RejectionKey(name)); err == nil {
		return report.OutcomeRejected, nil
	} else if !errors.Is(err, storage.ErrNotExist) {
		return "", err
	}
	return "", nil
}

func (p *Pipeline) writeRejection(ctx context.Context, ref BatchRef, name string, rj *RejectError) error {
	rec := report.Rejection{Department: ref.Department, Batch: ref.Batch, Document: name, Code: rj.Code, Reason: rj.Reason, At: p.cfg.Now().UTC()}
	body, err := report.Marshal(rec)
	if err != nil {
		return err
	}
	return p.putOnce(ctx, ref.RejectionKey(name), body)
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
	body, err := report.Marshal(rec)
	if err != nil {
		return nil, err
	}
	if err := p.putOnce(ctx, ref.BatchRejectionKey(), body); err != nil {
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

func (p *Pipeline) recordUse(ctx context.Context, ref BatchRef, name string, seal *registry.Entry, a *approved, input, output []byte, rep *report.Document) error {
	rec := p.usageRecord(seal, name, ref.SealedKey(name), input, output, rep)
	rec.Department, rec.Batch = ref.Department, ref.Batch
	rec.Approver, rec.ApprovedAt = a.approver.Subject.String(), a.manifest.ApprovedAt
	return p.audit.Append(ctx, rec)
}

// usageRecord describes one use of seal: document name sealed into
// outputName, with the signer and signing time of the output's last signature.
func (p *Pipeline) usageRecord(seal *registry.Entry, name, outputName string, input, output []byte, rep *report.Document) audit.Record {
	in, out := sm3.Sum(input), sm3.Sum(output)
	rec := audit.Record{
		SealID: seal.ID, SealName: seal.Name, Document: name, Output: outputName,
		InputSM3: hex.EncodeToString(in[:]), OutputSM3: hex.EncodeToString(out[:]),
		Operator: p.cfg.Operator,
	}
	if n := len(rep.Signatures); n > 0 {
		last := rep.Signatures[n-1]
		rec.Signer, rec.SignerSerial, rec.SignedAt = last.Signer, last.SignerSerial, last.SigningTime
	}
	return rec
}

// putOnce writes body under key unless an object is there already; the
// first write stands.
func (p *Pipeline) putOnce(ctx context.Context, key string, body []byte) error {
	_, err := p.store.Put(ctx, key, bytes.NewReader(body), int64(len(body)), storage.PutOptions{IfNoneMatch: true, ContentType: "application/json"})
	if err != nil && !errors.Is(err, storage.ErrPreconditionFailed) {
		return fmt.Errorf("pipeline: write %s: %w", key, err)
	}
	return nil
}

func (p *Pipeline) readJSON(ctx context.Context, key string, v any) error {
	b, err := p.readObject(ctx, key, 16<<20)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("pipeline: %s: %w", key, err)
	}
	return nil
}

var errTooLarge = errors.New("object exceeds the size limit")

func (p *Pipeline) readObject(ctx context.Context, key string, limit int64) ([]byte, error) {
	rc, info, err := p.store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if info.Size > limit {
		rc.Close()
		return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", errTooLarge, key, info.Size, limit)
	}
	return readLimited(rc, limit)
}

func readLimited(rc io.ReadCloser, limit int64) ([]byte, error) {
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, limit)
	}
	return b, nil
}
