package pipeline

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
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
	// MaxApprovalAge is how long after its approval time a batch may still be
	// sealed. Zero means 7 days.
	MaxApprovalAge time.Duration
	// ClockSkew is how far in the future an approval time may lie. Zero means 5 minutes.
	ClockSkew time.Duration
	// UploadWindow is how long after the approval time a listed document may
	// still arrive; until then a missing document is retried, after it is
	// rejected. Zero means 1 hour.
	UploadWindow time.Duration
	// Operator is recorded in usage records as who applied the seal. Empty
	// means "pipeline".
	Operator string
	// Logger receives structured logs. Nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.MaxDocumentSize == 0 {
		c.MaxDocumentSize = 64 << 20
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
		verifier: &verify.Verifier{Trust: pool, Seals: seals, Now: cfg.Now},
		audit:    audit.New(store),
		signers:  signers,
		cfg:      cfg,
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

// approved is a batch's validated approval.
type approved struct {
	manifest *approval.Manifest
	approver *smx509.Certificate
	etag     string
}

// Intake validates a batch's approval and lists the documents to seal.
// Documents present in the inbox but absent from the manifest are rejected
// at once. A batch whose approval is invalid is rejected as a whole, and the
// returned plan says so. ErrNotReady means the approval is incomplete.
func (p *Pipeline) Intake(ctx context.Context, ref BatchRef) (*Plan, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	plan := &Plan{Ref: ref}
	if _, err := p.store.Stat(ctx, ref.BatchReportKey()); err == nil {
		plan.Complete = true // a finished batch is final, however old its approval
		return plan, nil
	} else if !errors.Is(err, storage.ErrNotExist) {
		return nil, err
	}
	if rej, err := p.readBatchRejection(ctx, ref); err != nil || rej != nil {
		plan.Rejected, plan.Complete = rej, rej != nil
		return plan, err
	}
	a, err := p.freshApproval(ctx, ref)
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
		if _, ok := a.manifest.Find(n); !ok {
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

// SealDocument seals one approved document: it re-validates the approval
// and the seal, checks the document's digest, seals it, verifies the output
// and writes the sealed document, its report and the usage record — or a
// rejection record. It returns the document's outcome. An error means the
// work could not be finished now (ErrNotReady, storage or key failures) and
// should be retried; rejections are outcomes, not errors.
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
	seal, err := p.usableSeal(ctx, doc.Seal, a.approver)
	if err != nil {
		return err
	}
	input, err := p.readDocument(ctx, ref, doc, a)
	if err != nil {
		return err
	}

	sealedKey := ref.SealedKey(name)
	output, err := p.readObject(ctx, sealedKey, p.cfg.MaxDocumentSize*2)
	var rep *report.Document
	switch {
	case errors.Is(err, storage.ErrNotExist):
		if output, err = p.seal(ctx, input, seal, doc.Placement); err != nil {
			return err
		}
		if rep, err = p.check(ctx, sealedKey, input, output); err != nil {
			return err
		}
		if rep.Indication == report.Failed {
			return reject(CodeSelfCheckFailed, nil, "the sealed output failed its own verification: %s", failedChecks(rep))
		}
		_, err := p.store.Put(ctx, sealedKey, bytes.NewReader(output), int64(len(output)), storage.PutOptions{
			IfNoneMatch: true, ContentType: "application/pdf",
			Metadata: map[string]string{"seal-id": seal.ID, "source-sm3": doc.SM3},
		})
		switch {
		case errors.Is(err, storage.ErrPreconditionFailed):
			// A concurrent delivery of the same task won; its output stands.
			rep = nil
			if output, err = p.readObject(ctx, sealedKey, p.cfg.MaxDocumentSize*2); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("pipeline: write %s: %w", sealedKey, err)
		}
	case err != nil:
		return err
	}
	// From here on the sealed output exists; everything else is derived from
	// it, so a retry after a crash finishes the same work.
	if rep == nil {
		if rep, err = p.check(ctx, sealedKey, input, output); err != nil {
			return err
		}
	}
	if err := p.recordUse(ctx, ref, name, seal, a, input, output, rep); err != nil {
		return err
	}
	body, err := report.Marshal(rep)
	if err != nil {
		return err
	}
	return p.putOnce(ctx, ref.ReportKey(name), body)
}

// usableSeal loads a seal and checks that it may be applied now and, when
// approver is not nil, that the approver may approve its use.
func (p *Pipeline) usableSeal(ctx context.Context, id string, approver *smx509.Certificate) (*registry.Entry, error) {
	e, err := p.seals.Get(ctx, id)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, reject(CodeSealUnknown, err, "seal %q is not registered", id)
	}
	if errors.Is(err, registry.ErrInvalid) {
		return nil, reject(CodeSealUnusable, err, "seal %q: %v", id, err)
	}
	if err != nil {
		return nil, err
	}
	now := p.cfg.Now()
	switch {
	case approver != nil && !e.MayApprove(approver.Subject.CommonName):
		return nil, reject(CodeSealNotPermitted, nil, "approver %q may not approve use of seal %s (%s)", approver.Subject.CommonName, e.ID, e.Name)
	case e.Status != registry.StatusActive:
		return nil, reject(CodeSealNotActive, nil, "seal %s (%s) is %s", e.ID, e.Name, e.Status)
	case !e.Seal.ValidAt(now):
		return nil, reject(CodeSealExpired, nil, "seal %s (%s) is valid %s – %s, not now", e.ID, e.Name,
			e.Seal.ValidStart.Format(time.DateOnly), e.Seal.ValidEnd.Format(time.DateOnly))
	case !strings.EqualFold(e.Seal.Picture.Type, "png"):
		return nil, reject(CodeSealUnusable, nil, "seal %s has a %q picture; PDF sealing needs PNG", e.ID, e.Seal.Picture.Type)
	}
	return e, nil
}

// readDocument reads an approved document and checks its size and digest.
func (p *Pipeline) readDocument(ctx context.Context, ref BatchRef, doc approval.Document, a *approved) ([]byte, error) {
	key := ref.Inbox() + doc.Name
	data, err := p.readObject(ctx, key, p.cfg.MaxDocumentSize)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		if p.cfg.Now().Before(a.manifest.ApprovedAt.Add(p.cfg.UploadWindow)) {
			return nil, fmt.Errorf("%w: document %q not uploaded yet", ErrNotReady, key)
		}
		return nil, reject(CodeDocumentMissing, err, "document %q was approved but not uploaded within %s of the approval", doc.Name, p.cfg.UploadWindow)
	case errors.Is(err, errTooLarge):
		return nil, reject(CodeDocumentTooLarge, err, "document %q: %v", doc.Name, err)
	case err != nil:
		return nil, err
	}
	if sum := sm3.Sum(data); hex.EncodeToString(sum[:]) != doc.SM3 {
		return nil, reject(CodeDigestMismatch, nil, "document %q: SM3 %x does not match the approved %s", doc.Name, sum, doc.SM3)
	}
	return data, nil
}

// seal applies the seal to input in memory.
func (p *Pipeline) seal(ctx context.Context, input []byte, seal *registry.Entry, pl approval.Placement) ([]byte, error) {
	signer, cert, err := p.signer(ctx, seal)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = pdfseal.Seal(ctx, &out, input, pdfseal.Options{
		Signer:   signer,
		Chain:    []*smx509.Certificate{cert},
		Image:    seal.Seal.Picture.Data,
		SealData: seal.Seal.Raw,
		Placement: pdfseal.Placement{
			Page: pl.Page, X: pl.X, Y: pl.Y,
			Width: float64(seal.Seal.Picture.WidthMM), Height: float64(seal.Seal.Picture.HeightMM),
		},
		Time:         p.cfg.Now(),
		Name:         seal.Name,
		Reason:       "电子印章 " + seal.ID,
		MaxInputSize: p.cfg.MaxDocumentSize,
	})
	switch {
	case errors.Is(err, pdfseal.ErrEncrypted):
		return nil, reject(CodeDocumentEncrypted, err, "%v", err)
	case errors.Is(err, pdfseal.ErrNoPage):
		return nil, reject(CodePlacementInvalid, err, "%v", err)
	case errors.Is(err, pdfseal.ErrTooLarge):
		return nil, reject(CodeDocumentTooLarge, err, "%v", err)
	case errors.Is(err, pdfseal.ErrMalformed):
		return nil, reject(CodeDocumentMalformed, err, "%v", err)
	case err != nil:
		return nil, fmt.Errorf("pipeline: seal with %s: %w", seal.ID, err)
	}
	return out.Bytes(), nil
}

// signer returns the seal's signing key and the certificate of it that the
// seal lists.
func (p *Pipeline) signer(ctx context.Context, seal *registry.Entry) (crypto.Signer, *smx509.Certificate, error) {
	s, err := p.signers.Signer(ctx, seal.SignerKey)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: open signing key of seal %s: %w", seal.ID, err)
	}
	for _, der := range seal.Seal.Certs {
		cert, err := smx509.ParseCertificate(der)
		if err == nil && publicKeysEqual(cert.PublicKey, s.Public()) {
			return s, cert, nil
		}
	}
	return nil, nil, reject(CodeSealUnusable, nil, "seal %s lists no certificate for its signing key %s", seal.ID, seal.SignerKey)
}

// approvalCache holds validated approvals by batch and file ETags.
type approvalCache struct {
	mu sync.Mutex
	m  map[string]*approved
}

// maxCachedApprovals bounds the cache; batches in flight at once are few.
const maxCachedApprovals = 256

func (c *approvalCache) get(key string) *approved {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *approvalCache) put(key string, a *approved) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedApprovals {
		c.m = make(map[string]*approved) // start over rather than track use
	}
	c.m[key] = a
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// check verifies a sealed output and adds the pipeline's own check: the
// output is an incremental update of exactly the approved input.
func (p *Pipeline) check(ctx context.Context, name string, input, output []byte) (*report.Document, error) {
	rep, err := p.verifier.PDF(ctx, name, output)
	if err != nil {
		return nil, reject(CodeSelfCheckFailed, err, "the sealed output cannot be read back: %v", err)
	}
	c := report.Check{Name: "approved-content", Clause: "sealpipe: output = approved input + one incremental update", Result: report.OK,
		Detail: fmt.Sprintf("the first %d bytes are the approved document", len(input))}
	if len(output) < len(input) || !bytes.Equal(output[:len(input)], input) {
		c.Result, c.SubIndication, c.Detail = report.NotOK, report.SubHashFailure, "the output does not begin with the approved document"
	}
	for i := range rep.Signatures {
		rep.Signatures[i].Checks = append(rep.Signatures[i].Checks, c)
		rep.Signatures[i].Conclude()
	}
	rep.Conclude()
	return rep, nil
}

func failedChecks(rep *report.Document) string {
	var out []string
	for _, s := range rep.Signatures {
		for _, c := range s.Checks {
			if c.Result == report.NotOK {
				out = append(out, c.Name+": "+c.Detail)
			}
		}
	}
	return strings.Join(out, "; ")
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

// approval reads a batch's approval and checks its form, its batch, its
// signature and the approver's certificate at the approval time. Validation
// failures are *RejectError; a missing manifest or signature is ErrNotReady.
//
// Every document of a batch needs its approval, so a validated approval is
// cached by the ETags of its two files: without that, a batch of n
// documents would read and check an n-entry manifest n times.
func (p *Pipeline) approval(ctx context.Context, ref BatchRef) (*approved, error) {
	mkey, skey := ref.Inbox()+approval.ManifestName, ref.Inbox()+approval.SignatureName
	var etags [2]string
	for i, key := range []string{mkey, skey} {
		info, err := p.store.Stat(ctx, key)
		if errors.Is(err, storage.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s missing", ErrNotReady, key)
		}
		if err != nil {
			return nil, err
		}
		etags[i] = info.ETag
	}
	cacheKey := ref.Inbox() + "@" + etags[0] + "/" + etags[1]
	if a := p.approvals.get(cacheKey); a != nil {
		return a, nil
	}
	a, err := p.readApproval(ctx, ref)
	if err == nil && a.etag == etags[0] {
		p.approvals.put(cacheKey, a)
	}
	return a, err
}

// readApproval reads and validates a batch's approval; see approval.
func (p *Pipeline) readApproval(ctx context.Context, ref BatchRef) (*approved, error) {
	mkey, skey := ref.Inbox()+approval.ManifestName, ref.Inbox()+approval.SignatureName
	rc, info, err := p.store.Get(ctx, mkey)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s missing", ErrNotReady, mkey)
	}
	if err != nil {
		return nil, err
	}
	body, err := readLimited(rc, approval.MaxManifestSize)
	if err != nil {
		return nil, reject(CodeApprovalMalformed, err, "%s: %v", approval.ManifestName, err)
	}
	sig, err := p.readObject(ctx, skey, approval.MaxSignatureSize)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s missing", ErrNotReady, skey)
	}
	if errors.Is(err, errTooLarge) {
		return nil, reject(CodeApprovalSignature, err, "%s: %v", approval.SignatureName, err)
	}
	if err != nil {
		return nil, err
	}
	m, err := approval.Parse(body)
	if err != nil {
		return nil, reject(CodeApprovalMalformed, err, "%v", err)
	}
	if m.Batch != ref.Batch || m.Department != ref.Department {
		return nil, reject(CodeApprovalMismatch, nil, "approval is for %s/%s but was uploaded under %s", m.Department, m.Batch, ref.Inbox())
	}
	cert, err := approval.VerifySignature(body, sig)
	if err != nil {
		return nil, reject(CodeApprovalSignature, err, "%v", err)
	}
	if _, err := p.trust.Verify(cert, m.ApprovedAt, trust.UsageApprover); err != nil {
		return nil, reject(CodeApproverUntrusted, err, "approver certificate %q: %v", cert.Subject.CommonName, err)
	}
	return &approved{manifest: m, approver: cert, etag: info.ETag}, nil
}

// freshApproval is approval plus the check that the approval may still be
// acted on: not dated in the future, not older than MaxApprovalAge.
func (p *Pipeline) freshApproval(ctx context.Context, ref BatchRef) (*approved, error) {
	a, err := p.approval(ctx, ref)
	if err != nil {
		return nil, err
	}
	now, at := p.cfg.Now(), a.manifest.ApprovedAt
	switch {
	case at.After(now.Add(p.cfg.ClockSkew)):
		return nil, reject(CodeApprovalStale, nil, "approved_at %s lies in the future", at.Format(time.RFC3339))
	case now.Sub(at) > p.cfg.MaxApprovalAge:
		return nil, reject(CodeApprovalStale, nil, "approved_at %s is older than %s", at.Format(time.RFC3339), p.cfg.MaxApprovalAge)
	}
	return a, nil
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

// outstanding returns the first document without an outcome, or "".
func outstanding(entries []report.BatchEntry) string {
	for _, e := range entries {
		if e.Outcome == "" {
			return e.Document
		}
	}
	return ""
}

// WriteBatchReport writes the batch report once every document has an
// outcome and returns it; if a report exists already it returns that one.
// It fails with ErrNotReady while documents are outstanding.
func (p *Pipeline) WriteBatchReport(ctx context.Context, ref BatchRef) (*report.Batch, error) {
	var b report.Batch
	if err := p.readJSON(ctx, ref.BatchReportKey(), &b); err == nil {
		return &b, nil
	} else if !errors.Is(err, storage.ErrNotExist) {
		return nil, err
	}
	entries, _, err := p.collect(ctx, ref, false)
	if err != nil {
		return nil, err
	}
	if n := outstanding(entries); n != "" {
		return nil, fmt.Errorf("%w: document %q of batch %s has no outcome yet", ErrNotReady, n, ref)
	}
	entries, hdr, err := p.collect(ctx, ref, true)
	if err != nil {
		return nil, err
	}
	b = *hdr
	for _, e := range entries {
		switch e.Outcome {
		case report.OutcomeSealed:
			b.Sealed++
		case report.OutcomeRejected:
			b.Rejected++
		}
	}
	b.Documents, b.CompletedAt = entries, p.cfg.Now().UTC()
	body, err := report.Marshal(&b)
	if err != nil {
		return nil, err
	}
	if err := p.putOnce(ctx, ref.BatchReportKey(), body); err != nil {
		return nil, err
	}
	p.cfg.Logger.InfoContext(ctx, "batch complete", "batch", ref.String(), "sealed", b.Sealed, "rejected", b.Rejected)
	return &b, nil
}

// collect gathers one entry per document of the batch — every document
// listed in the approval or present in the inbox — with its outcome so far,
// found by listing the batch's reports and rejections. With details it also
// reads each outcome's record for the indication or the reason; callers ask
// for that only once the batch is complete, so that checking an unfinished
// batch costs a few listings, not a read per document.
func (p *Pipeline) collect(ctx context.Context, ref BatchRef, details bool) ([]report.BatchEntry, *report.Batch, error) {
	hdr := &report.Batch{Department: ref.Department, Batch: ref.Batch}
	names, err := p.inboxDocuments(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	rej, err := p.readBatchRejection(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if rej == nil {
		a, err := p.approval(ctx, ref)
		if err != nil {
			return nil, nil, err
		}
		hdr.Approver, hdr.ApprovedAt = a.approver.Subject.CommonName, a.manifest.ApprovedAt
		for _, d := range a.manifest.Documents {
			names = append(names, d.Name)
		}
	}
	hdr.Rejection = rej
	slices.Sort(names)
	names = slices.Compact(names)
	sealed, err := p.recordNames(ctx, ref.prefix(storage.PrefixReports))
	if err != nil {
		return nil, nil, err
	}
	rejected, err := p.recordNames(ctx, ref.prefix(storage.PrefixRejected))
	if err != nil {
		return nil, nil, err
	}
	entries := make([]report.BatchEntry, 0, len(names))
	for _, n := range names {
		e := report.BatchEntry{Document: n}
		switch {
		case rej != nil:
			e.Outcome, e.Code, e.Reason, e.Rejection = report.OutcomeRejected, rej.Code, rej.Reason, ref.BatchRejectionKey()
		case sealed[n]:
			e.Outcome, e.Sealed, e.Report = report.OutcomeSealed, ref.SealedKey(n), ref.ReportKey(n)
			if details {
				var doc report.Document
				if err := p.readJSON(ctx, ref.ReportKey(n), &doc); err != nil {
					return nil, nil, err
				}
				e.Indication = doc.Indication
			}
		case rejected[n]:
			e.Outcome, e.Rejection = report.OutcomeRejected, ref.RejectionKey(n)
			if details {
				var r report.Rejection
				if err := p.readJSON(ctx, ref.RejectionKey(n), &r); err != nil {
					return nil, nil, err
				}
				e.Code, e.Reason = r.Code, r.Reason
			}
		}
		entries = append(entries, e)
	}
	return entries, hdr, nil
}

// recordNames lists the documents that have a record (<name>.json) under
// prefix, leaving out the batch-level record.
func (p *Pipeline) recordNames(ctx context.Context, prefix string) (map[string]bool, error) {
	names := map[string]bool{}
	err := p.store.List(ctx, prefix, func(o storage.ObjectInfo) error {
		rest := strings.TrimPrefix(o.Key, prefix)
		if n, ok := strings.CutSuffix(rest, ".json"); ok && rest != batchFile && !strings.Contains(n, "/") {
			names[n] = true
		}
		return nil
	})
	return names, err
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

// SealLocal seals one document outside any batch, for `sealpipe seal`: the
// operator running it stands in for the approver. The seal must be active
// and valid now. It verifies the output and records the use (with output
// as its name) before returning the sealed bytes and their report. Refusals
// are *RejectError.
func (p *Pipeline) SealLocal(ctx context.Context, input []byte, sealID string, pl approval.Placement, output string) ([]byte, *report.Document, error) {
	e, err := p.usableSeal(ctx, sealID, nil)
	if err != nil {
		return nil, nil, err
	}
	out, err := p.seal(ctx, input, e, pl)
	if err != nil {
		return nil, nil, err
	}
	rep, err := p.check(ctx, output, input, out)
	if err != nil {
		return nil, nil, err
	}
	if rep.Indication == report.Failed {
		return nil, nil, reject(CodeSelfCheckFailed, nil, "the sealed output failed its own verification: %s", failedChecks(rep))
	}
	if err := p.audit.Append(ctx, p.usageRecord(e, output, output, input, out, rep)); err != nil {
		return nil, nil, err
	}
	return out, rep, nil
}
