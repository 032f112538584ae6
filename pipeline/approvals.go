package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
)

// approved is a batch's validated approval.
type approved struct {
	manifest *approval.Manifest
	approver *smx509.Certificate
	etag     string
}

// errApprovalIncomplete reports a batch whose approval lacks its manifest or
// its signature. Intake waits for the missing file (ErrNotReady). The work
// intake fans out treats it as a failure instead: intake saw the approval
// complete, so a file missing now was deleted, and waiting for it would
// never end.
var errApprovalIncomplete = errors.New("pipeline: approval incomplete")

// approval reads a batch's approval and checks its form, its batch, its
// signature and the approver's certificate at the approval time. Validation
// failures are *RejectError; a missing manifest or signature is
// errApprovalIncomplete.
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
			return nil, fmt.Errorf("%w: %s missing", errApprovalIncomplete, key)
		}
		if err != nil {
			return nil, err
		}
		etags[i] = info.ETag
	}
	cacheKey := ref.Inbox() + "@" + etags[0] + "/" + etags[1]
	if a := p.approvals.get(cacheKey); a != nil {
		p.approvals.saw(ref.Inbox(), a)
		return a, nil
	}
	a, err := p.readApproval(ctx, ref)
	if err == nil && a.etag == etags[0] {
		p.approvals.put(cacheKey, a)
		p.approvals.saw(ref.Inbox(), a)
	}
	return a, err
}

// approvalOverdue returns the APPROVAL_MISSING refusal of a batch whose
// approval has had one of its two files for longer than the upload window
// without the other; nil while it may still come.
func (p *Pipeline) approvalOverdue(ctx context.Context, ref BatchRef) *RejectError {
	for _, name := range []string{approval.ManifestName, approval.SignatureName} {
		info, err := p.store.Stat(ctx, ref.Inbox()+name)
		if err == nil && p.cfg.Now().After(info.ModTime.Add(p.cfg.UploadWindow)) {
			return reject(CodeApprovalMissing, nil, "%s arrived at %s, but the approval's other file not within %s",
				name, info.ModTime.UTC().Format(time.RFC3339), p.cfg.UploadWindow)
		}
	}
	return nil
}

// readApproval reads and validates a batch's approval; see approval.
func (p *Pipeline) readApproval(ctx context.Context, ref BatchRef) (*approved, error) {
	mkey, skey := ref.Inbox()+approval.ManifestName, ref.Inbox()+approval.SignatureName
	body, info, err := storage.ReadAll(ctx, p.store, mkey, approval.MaxManifestSize)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s missing", errApprovalIncomplete, mkey)
	}
	if errors.Is(err, storage.ErrTooLarge) {
		return nil, reject(CodeApprovalMalformed, err, "%s: %v", approval.ManifestName, err)
	}
	if err != nil {
		return nil, err
	}
	sig, _, err := storage.ReadAll(ctx, p.store, skey, approval.MaxSignatureSize)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s missing", errApprovalIncomplete, skey)
	}
	if errors.Is(err, storage.ErrTooLarge) {
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
		if errors.Is(err, trust.ErrRevocationUnknown) {
			// A CRL that cannot be had now may be had later: not a
			// verdict on the approver, so no refusal.
			return nil, fmt.Errorf("pipeline: approver certificate %q: %w", cert.Subject.CommonName, err)
		}
		return nil, reject(CodeApproverUntrusted, err, "approver certificate %q: %v", cert.Subject.CommonName, err)
	}
	return &approved{manifest: m, approver: cert, etag: info.ETag}, nil
}

// freshApproval is approval plus the check that the approval may still be
// acted on: not dated in the future, not older than MaxApprovalAge.
func (p *Pipeline) freshApproval(ctx context.Context, ref BatchRef) (*approved, error) {
	a := p.approvals.recent(ref.Inbox(), p.cfg.ApprovalRecheck)
	if a == nil {
		var err error
		if a, err = p.approval(ctx, ref); err != nil {
			return nil, err
		}
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

// approvalCache holds validated approvals by batch and file ETags, and by
// batch the one found last and when.
type approvalCache struct {
	mu   sync.Mutex
	m    map[string]*approved
	seen map[string]seenApproval
}

// seenApproval is the approval of a batch as found at a time.
type seenApproval struct {
	a  *approved
	at time.Time
}

// recent returns the approval of the batch whose inbox is inbox if it was
// found within d, else nil.
func (c *approvalCache) recent(inbox string, d time.Duration) *approved {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.seen[inbox]; ok && time.Since(s.at) < d {
		return s.a
	}
	return nil
}

// saw records that a is the approval of the batch whose inbox is inbox,
// now.
func (c *approvalCache) saw(inbox string, a *approved) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || len(c.seen) >= maxCachedApprovals {
		c.seen = make(map[string]seenApproval)
	}
	c.seen[inbox] = seenApproval{a, time.Now()}
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
