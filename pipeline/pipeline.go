package pipeline

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/storage"
)

// Signers provides the signing key a key URI names. A *keys.Cache
// satisfies it: opening a key is slow (a KDF run, an HSM login), so keys
// are opened once and shared.
type Signers interface {
	Signer(ctx context.Context, uri string) (crypto.Signer, error)
}

// Config tunes a Pipeline. The zero value of every field means its default.
type Config struct {
	// MaxDocumentSize bounds a document, in bytes. Zero means 64 MiB.
	MaxDocumentSize int64
	// MaxFileSize bounds a PDF that SealLocalFile seals, in bytes: one
	// streamed from a file, not held in memory. Zero means 4 GiB.
	MaxFileSize int64
	// MaxApprovalAge is how long after its approval time a batch may still be
	// sealed. Zero means 7 days.
	MaxApprovalAge time.Duration
	// ClockSkew is how far in the future an approval time may lie. Zero means 5 minutes.
	ClockSkew time.Duration
	// UploadWindow is how long after the approval time a listed document may
	// still arrive; until then a missing document is retried, after it is
	// rejected. Zero means 1 hour.
	UploadWindow time.Duration
	// ApprovalRecheck is how long a batch's approval, found unchanged (the
	// ETags of its two files), stands for the next documents before its
	// files are looked at again: the documents sealed within it cost no
	// request for their approval. A batch's approval is final once
	// uploaded; one replaced or deleted since counts at most this late for
	// the documents of a batch under way (each document's digest is
	// checked against the approval used); intake and the batch report
	// always look. Zero means 1 second; negative means every document
	// looks.
	ApprovalRecheck time.Duration
	// MemoryBudget bounds the bytes of documents in flight at once in this
	// pipeline: SealDocument waits until its document fits (see admission,
	// in budget.go). Each document in flight holds a few times its size in
	// memory. Zero means DefaultMemoryBudget; negative means no bound.
	MemoryBudget int64
	// Service is the pipeline's own identity (a certificate with the
	// pipeline role, trust.UsagePipeline): it signs every report, rejection
	// and usage record the pipeline writes, and only records signed so
	// count when it reads them back. Required.
	Service signed.Signer
	// Operator is recorded in usage records as who applied the seal. Empty
	// means "pipeline".
	Operator string
	// NoDocumentPages leaves out each sealed document's report for people
	// — an HTML page and a PDF file beside its JSON report, with the seal's
	// picture — which are written by default. The batch's are always
	// written.
	NoDocumentPages bool
	// VerifyBaseURL is the public address of the verification service
	// (verifyapi), such as "https://yz.example.gov.cn". When it is set,
	// the first seal on each PDF document gets the document's verification
	// mark under it (templates/verifymark): a QR code of
	// VerifyBaseURL/v/<code> and the code (DocumentCode), drawn in the
	// seal's appearance, so its signature covers them. A riding seal, and
	// OFD documents, get no mark; the code is in every sealed document's
	// report and index all the same. It must be an absolute http or https
	// URL (verifymark.CheckBaseURL). Empty means no mark.
	VerifyBaseURL string
	// Logger receives structured logs. Nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.MaxDocumentSize == 0 {
		c.MaxDocumentSize = 64 << 20
	}
	if c.MaxFileSize == 0 {
		c.MaxFileSize = 4 << 30
	}
	if c.MaxApprovalAge == 0 {
		c.MaxApprovalAge = 7 * 24 * time.Hour
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = 5 * time.Minute
	}
	if c.UploadWindow == 0 {
		c.UploadWindow = time.Hour
	}
	if c.MemoryBudget == 0 {
		c.MemoryBudget = DefaultMemoryBudget
	}
	if c.ApprovalRecheck == 0 {
		c.ApprovalRecheck = time.Second
	}
	if c.Operator == "" {
		c.Operator = "pipeline"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Pipeline processes batches held in an object store.
type Pipeline struct {
	store    storage.Store
	seals    *registry.Registry
	trust    *trust.Pool
	verifier *verify.Verifier
	audit    *audit.Log
	signers  Signers
	cfg      Config
	budget   *budget // nil: no memory budget

	approvals approvalCache
}

// New returns a pipeline over store, using the registry's seals, the trust
// pool's roots for approvers and verification, and signers for signing keys.
func New(store storage.Store, seals *registry.Registry, pool *trust.Pool, signers Signers, cfg Config) *Pipeline {
	cfg.setDefaults()
	return &Pipeline{
		store:    store,
		seals:    seals,
		trust:    pool,
		verifier: &verify.Verifier{Trust: pool, Seals: seals, Now: cfg.Now, MaxPDFSize: 2 * max(cfg.MaxFileSize, cfg.MaxDocumentSize)},
		audit:    audit.New(store, cfg.Service, pool),
		signers:  signers,
		cfg:      cfg,
		budget:   newBudget(cfg.MemoryBudget),
	}
}

// Plan is the result of a batch's intake.
type Plan struct {
	Ref BatchRef
	// ApprovalETag identifies the approval version the plan was made from.
	ApprovalETag string
	// Documents lists the approved documents to seal, in manifest order.
	// It is empty when the batch was rejected or already completed.
	Documents []string
	// Rejected is set when the whole batch was refused.
	Rejected *report.Rejection
	// Complete is true when every document already has an outcome.
	Complete bool
}

// Intake validates a batch's approval and lists the documents to seal.
// Documents present in the inbox but absent from the manifest are rejected
// at once. A batch whose approval is invalid is rejected as a whole, and the
// returned plan says so. ErrNotReady means the approval is incomplete: its
// manifest or its signature has not arrived. The wait for the second file
// ends Config.UploadWindow after the first one arrived: the batch is then
// rejected as APPROVAL_MISSING, so waiting on it ends.
func (p *Pipeline) Intake(ctx context.Context, ref BatchRef) (*Plan, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	plan := &Plan{Ref: ref}
	if done, err := p.BatchDone(ctx, ref); err != nil || done {
		plan.Complete = done // a finished batch is final, however old its approval
		return plan, err
	}
	if rej, err := p.readBatchRejection(ctx, ref); err != nil || rej != nil {
		plan.Rejected, plan.Complete = rej, rej != nil
		return plan, err
	}
	a, err := p.freshApproval(ctx, ref)
	if errors.Is(err, errApprovalIncomplete) {
		if err := p.approvalOverdue(ctx, ref); err != nil {
			rec, err := p.rejectBatch(ctx, ref, err)
			plan.Rejected, plan.Complete = rec, true
			return plan, err
		}
		return nil, fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	var rj *RejectError
	if errors.As(err, &rj) {
		rec, err := p.rejectBatch(ctx, ref, rj)
		plan.Rejected, plan.Complete = rec, true
		return plan, err
	}
	if err != nil {
		return nil, err
	}
	plan.ApprovalETag = a.etag
	names, err := p.inboxDocuments(ctx, ref)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		// A file whose name no record can be made of is refused in the
		// batch report only (see collect).
		if _, ok := a.manifest.Find(n); !ok && approval.CheckDocumentName(n) == nil {
			if err := p.writeRejection(ctx, ref, n, reject(CodeNotApproved, nil,
				"document %q is in the batch but not listed in its approval", n)); err != nil {
				return nil, err
			}
		}
	}
	for _, d := range a.manifest.Documents {
		plan.Documents = append(plan.Documents, d.Name)
	}
	return plan, nil
}

// inboxDocuments lists the document names in a batch's inbox: every object
// directly under the prefix except the approval's own files.
func (p *Pipeline) inboxDocuments(ctx context.Context, ref BatchRef) ([]string, error) {
	var names []string
	err := p.store.List(ctx, ref.Inbox(), func(o storage.ObjectInfo) error {
		n := strings.TrimPrefix(o.Key, ref.Inbox())
		if !IsCommitKey(n) {
			names = append(names, n)
		}
		return nil
	})
	return names, err
}

// SealDocument seals one approved document: it re-validates the approval
// and the seal, checks the document's digest, seals it, verifies the output
// and writes the sealed document, its report and the usage record — or a
// rejection record. It returns the document's outcome. An error means the
// work could not be finished now and should be retried; rejections are
// outcomes, not errors. ErrNotReady means the document has not been
// uploaded yet: it is returned only until Config.UploadWindow after the
// approval time, after which the document is rejected as DOCUMENT_MISSING,
// so waiting on it ends. Other errors (storage or key failures, an approval
// deleted since intake) may last: callers bound their retries. It waits
// for room in Config.MemoryBudget before reading the document.
func (p *Pipeline) SealDocument(ctx context.Context, ref BatchRef, name string) (report.Outcome, error) {
	if err := ref.Validate(); err != nil {
		return "", err
	}
	if out, err := p.existingOutcome(ctx, ref, name); err != nil || out != "" {
		return out, err
	}
	err := p.sealDocument(ctx, ref, name)
	var rj *RejectError
	if errors.As(err, &rj) {
		p.cfg.Logger.InfoContext(ctx, "document rejected", "batch", ref.String(), "document", name, "code", rj.Code, "reason", rj.Reason)
		return report.OutcomeRejected, p.writeRejection(ctx, ref, name, rj)
	}
	if err != nil {
		return "", err
	}
	return report.OutcomeSealed, nil
}

func (p *Pipeline) sealDocument(ctx context.Context, ref BatchRef, name string) error {
	a, err := p.freshApproval(ctx, ref)
	if err != nil {
		return err
	}
	doc, ok := a.manifest.Find(name)
	if !ok {
		return reject(CodeNotApproved, nil, "document %q is not listed in the batch's approval", name)
	}
	uses := doc.Seals()
	seals := make([]*registry.Entry, len(uses))
	for i, u := range uses {
		if seals[i], err = p.usableSeal(ctx, u.Seal, a.approver, ref.Department); err != nil {
			return err
		}
	}
	// The self-check judges the seals as just checked, without reading
	// the registry again.
	ctx = registry.WithEntries(ctx, seals...)
	input, err := p.readDocument(ctx, ref, doc, a)
	if err != nil {
		return err
	}
	defer input.Close()

	// An output stored already is read like a document: into memory, or
	// spooled to a file if large.
	sealedKey, maxOutput := ref.SealedKey(name), 2*p.cfg.MaxDocumentSize
	output, err := p.fetch(ctx, sealedKey, maxOutput)
	defer func() { output.Close() }()
	var rep *report.Document
	code := DocumentCode(ref, name, doc.SM3)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		mark, err := p.mark(code)
		if err != nil {
			return err
		}
		s, err := p.sealAll(ctx, input, seals, uses, mark)
		if err != nil {
			return err
		}
		defer s.release() // its report and records keep nothing of it
		if rep, err = p.check(ctx, sealedKey, input, s); err != nil {
			return err
		}
		if err := sealedBy(rep, seals...); err != nil {
			return err
		}
		// Streamed from where the input lies: uploaded in parts if large.
		created, err := storage.PutOnceFrom(ctx, p.store, sealedKey, s.stream(), s.size(), storage.PutOptions{
			ContentType: contentType(input.head),
			Metadata:    map[string]string{"seal-id": seals[0].ID, "source-sm3": doc.SM3},
		})
		switch {
		case err != nil:
			return fmt.Errorf("pipeline: write %s: %w", sealedKey, err)
		case !created:
			// A concurrent delivery of the same task won; its output stands.
			rep = nil
			if output, err = p.fetch(ctx, sealedKey, maxOutput); err != nil {
				return err
			}
		}
	case err != nil:
		return err
	}
	// From here on the sealed output exists; everything else is derived from
	// it, so a retry after a crash finishes the same work.
	if rep == nil {
		// Written by a delivery that crashed before its records — or
		// planted: it counts only if it is this very sealing.
		if rep, err = p.check(ctx, sealedKey, input, &sealed{out: output}); err != nil {
			return err
		}
		if err := sealedBy(rep, seals...); err != nil {
			return err
		}
	}
	rep.VerificationCode = code
	for _, seal := range seals {
		if err := p.recordUse(ctx, ref, name, seal, a, input, rep); err != nil {
			return err
		}
	}
	// The code's index entry and the pages before the report, whose
	// existence marks the document done: a retry after a crash writes what
	// is missing.
	if err := p.indexCode(ctx, ref, name, rep); err != nil {
		return err
	}
	if !p.cfg.NoDocumentPages {
		if err := p.writeDocumentPages(ctx, ref, name, rep, seals); err != nil {
			return err
		}
	}
	return p.putRecord(ctx, ref.ReportKey(name), rep)
}
