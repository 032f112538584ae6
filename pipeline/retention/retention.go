// Package retention applies the inbox retention rule (issue 9, item 5):
// the inbox of a finished batch, inbox/<dept>/<batch>/, is archived to
// archive/<dept>/<batch>/ in the same bucket, or deleted, once the batch
// has been final for Config.Retention (30 days by default), and never
// before its report exists.
//
// A batch is final once its report, reports/<dept>/<batch>/batch.json,
// exists (package pipeline). The age counts from that report's
// CompletedAt, taken only from a report the pipeline signed for this very
// batch, checked as every read of the pipeline's records is
// (audit.OpenRecord: the pipeline's certificate, chained to a trusted
// root, with the pipeline role). An inbox whose batch has no report, or
// whose report is unsigned, signed by anyone else, altered or another
// batch's, is never touched. When the objects were uploaded plays no part.
//
// Archiving is copy, verify, delete: every object of the inbox is copied
// create-only, the copy read back and its SM3 compared with the
// original's; only once every object of the batch is archived are the
// originals deleted, the approval last and its signature, which committed
// the batch, very last. A run cut short at any point loses nothing and
// the next run finishes it: a copy already there with the same bytes
// counts as done, one with other bytes (ErrArchiveConflict) keeps the
// inbox. Several processes may prune the same bucket at once.
//
// Nothing else needs the inbox of a finished batch: intake, the inbox
// poller and the bucket-event bridge stop at its report (an object
// uploaded again under a final batch is never sealed), and `sealpipe
// status` and `sealpipe audit verify` read reports/, sealed/ and the
// usage log. Departments cannot delete (storage/s3/iam): the service's
// credentials prune.
package retention

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
)

// Action is what becomes of an inbox whose retention has ended.
type Action string

const (
	// Archive moves the inbox to archive/<dept>/<batch>/ in the same
	// bucket: copied, verified, then deleted from inbox/. It is the
	// default: the signed approval and the documents as approved are the
	// record of what a department submitted, and only the inbox holds
	// them.
	Archive Action = "archive"
	// Delete deletes the inbox's objects.
	Delete Action = "delete"
)

// ParseAction reads "archive" or "delete"; "" is Archive.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case "":
		return Archive, nil
	case Archive, Delete:
		return a, nil
	}
	return "", fmt.Errorf("%w: %q: want %s or %s", ErrAction, s, Archive, Delete)
}

// DefaultRetention is how long an inbox is kept after its batch became
// final when Config.Retention is zero: 30 days.
const DefaultRetention = 30 * 24 * time.Hour

// Forever, as Config.Retention, keeps every inbox: nothing is pruned.
const Forever time.Duration = -1

// DefaultInterval is the period of Run when its interval is zero.
const DefaultInterval = time.Hour

// maxReportSize bounds the batch report read back: one entry per
// document, so a large batch's report is large.
const maxReportSize = 64 << 20

var (
	// ErrAction reports an Action other than Archive and Delete.
	ErrAction = errors.New("retention: unknown action")
	// ErrArchiveConflict reports an object already under the archive key
	// of an inbox object with other bytes: the inbox object is kept.
	ErrArchiveConflict = errors.New("retention: the archive holds other bytes under that key")
	// ErrChanged reports an inbox object written again while it was being
	// archived: it is kept, and the next run finds the conflict.
	ErrChanged = errors.New("retention: the inbox object changed while it was archived")
	// ErrNoCompletionTime reports a signed batch report without a
	// completion time, from which no age can be counted: kept.
	ErrNoCompletionTime = errors.New("retention: the batch report gives no completion time")
)

// Config tunes a Pruner. The zero value of every field means its default.
type Config struct {
	// Retention is how long an inbox is kept after its batch became final
	// (the CompletedAt of its signed batch report). Zero means
	// DefaultRetention; Forever (any negative duration) keeps every inbox.
	Retention time.Duration
	// Action is what becomes of an inbox whose retention has ended. Empty
	// means Archive.
	Action Action
	// Metrics counts what was pruned. Nil records nothing.
	Metrics *Metrics
	// Logger receives one line per batch pruned (no document names) and
	// the failures. Nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.Action == "" {
		c.Action = Archive
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Pruner applies the retention rule to the inboxes of one bucket.
type Pruner struct {
	store storage.Store
	trust *trust.Pool
	cfg   Config
}

// New returns a pruner of store's inboxes that believes a batch report
// only if it verifies against pool as the pipeline's (trust.UsagePipeline).
// It fails with ErrAction for an unknown cfg.Action.
func New(store storage.Store, pool *trust.Pool, cfg Config) (*Pruner, error) {
	cfg.setDefaults()
	if _, err := ParseAction(string(cfg.Action)); err != nil {
		return nil, err
	}
	return &Pruner{store: store, trust: pool, cfg: cfg}, nil
}

// Off reports whether the rule keeps every inbox (Config.Retention is
// Forever).
func (p *Pruner) Off() bool { return p.cfg.Retention < 0 }

// Outcome is what became of one batch's inbox in Prune.
type Outcome string

const (
	// Archived: the inbox was moved to archive/<dept>/<batch>/.
	Archived Outcome = "archived"
	// Deleted: the inbox was deleted.
	Deleted Outcome = "deleted"
	// WouldArchive and WouldDelete: due, and left as it is by a dry run.
	WouldArchive Outcome = "would-archive"
	WouldDelete  Outcome = "would-delete"
	// NotFinal: kept, the batch has no report.
	NotFinal Outcome = "not-final"
	// NotDue: kept, the batch became final less than the retention ago.
	NotDue Outcome = "not-due"
	// Failed: kept, for the reason Result.Error gives — a report the
	// pipeline did not sign, a conflict in the archive, a storage failure.
	Failed Outcome = "failed"
)

// Result is what became of one batch's inbox.
type Result struct {
	// Batch is <dept>/<batch>.
	Batch   string  `json:"batch"`
	Outcome Outcome `json:"outcome"`
	// Objects and Bytes count the objects of the inbox pruned, or that a
	// dry run would prune; zero for a batch kept.
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
	// CompletedAt is when the batch became final (its signed report's
	// completion time); DueAt when its retention ends. Zero for a batch
	// without a verified report.
	CompletedAt time.Time `json:"completed_at,omitzero"`
	DueAt       time.Time `json:"due_at,omitzero"`
	// Archive is where the inbox was (or would be) archived.
	Archive string `json:"archive,omitempty"`
	// Error says why a Failed batch was kept.
	Error string `json:"error,omitempty"`
}

// Options adjust Prune.
type Options struct {
	// DryRun changes nothing: the batches that are due come out as
	// WouldArchive or WouldDelete.
	DryRun bool
}

// Prune applies the rule once to every batch with objects in the inbox
// and returns what became of each, in key order: none when the rule is
// off. The error joins the failures of the batches kept as Failed (each
// Result says which) and a failure to list the inbox; nil means each batch
// was pruned or rightly kept.
func (p *Pruner) Prune(ctx context.Context, opts Options) ([]Result, error) {
	if p.Off() {
		return []Result{}, nil
	}
	refs, err := p.batches(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(refs))
	var errs []error
	for _, ref := range refs {
		if err := ctx.Err(); err != nil {
			return out, errors.Join(append(errs, err)...)
		}
		r, err := p.pruneBatch(ctx, ref, opts.DryRun)
		if err != nil {
			r.Outcome, r.Error = Failed, err.Error()
			errs = append(errs, fmt.Errorf("retention: %s kept: %w", ref, err))
			p.cfg.Logger.ErrorContext(ctx, "inbox retention: batch kept", "batch", ref.String(), "err", err)
		}
		p.cfg.Metrics.count(r)
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Run prunes at once and then every interval (zero: DefaultInterval)
// until ctx is done, logging failures, and returns ctx's error. With the
// rule off it only waits.
func (p *Pruner) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := p.Prune(ctx, Options{}); err != nil && ctx.Err() == nil {
			p.cfg.Logger.WarnContext(ctx, "inbox retention: some inboxes kept", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// batches lists the batches with objects in the inbox, in key order.
// Objects of no valid inbox/<dept>/<batch>/ are left alone.
func (p *Pruner) batches(ctx context.Context) ([]pipeline.BatchRef, error) {
	var refs []pipeline.BatchRef
	err := p.store.List(ctx, storage.PrefixInbox, func(o storage.ObjectInfo) error {
		dept, rest, _ := strings.Cut(strings.TrimPrefix(o.Key, storage.PrefixInbox), "/")
		batch, _, ok := strings.Cut(rest, "/")
		ref := pipeline.BatchRef{Department: dept, Batch: batch}
		// A prefix's keys are listed together: each batch's are adjacent.
		if ok && ref.Validate() == nil && (len(refs) == 0 || refs[len(refs)-1] != ref) {
			refs = append(refs, ref)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("retention: list %s: %w", storage.PrefixInbox, err)
	}
	return refs, nil
}

// pruneBatch applies the rule to one batch. An error means the inbox was
// kept, in whole or in part, for that reason.
func (p *Pruner) pruneBatch(ctx context.Context, ref pipeline.BatchRef, dryRun bool) (Result, error) {
	r := Result{Batch: ref.String()}
	b, err := p.finalReport(ctx, ref)
	if errors.Is(err, storage.ErrNotExist) {
		r.Outcome = NotFinal
		return r, nil
	}
	if err != nil {
		return r, err
	}
	r.CompletedAt, r.DueAt = b.CompletedAt, b.CompletedAt.Add(p.cfg.Retention)
	if p.cfg.Now().Before(r.DueAt) {
		r.Outcome = NotDue
		return r, nil
	}
	objects, err := p.inbox(ctx, ref)
	if err != nil {
		return r, err
	}
	for _, o := range objects {
		r.Objects++
		r.Bytes += o.Size
	}
	archive := p.cfg.Action == Archive
	switch {
	case archive && dryRun:
		r.Outcome, r.Archive = WouldArchive, ArchivePrefix(ref)
		return r, nil
	case dryRun:
		r.Outcome = WouldDelete
		return r, nil
	case archive:
		r.Archive = ArchivePrefix(ref)
		if err := p.archive(ctx, objects); err != nil {
			return r, err
		}
		r.Outcome = Archived
	default:
		for _, o := range objects {
			if err := p.store.Delete(ctx, o.Key); err != nil {
				return r, fmt.Errorf("retention: delete %s: %w", o.Key, err)
			}
		}
		r.Outcome = Deleted
	}
	attrs := []any{"batch", r.Batch, "objects", r.Objects, "bytes", r.Bytes, "completed_at", r.CompletedAt, "retention", p.cfg.Retention.String()}
	if archive {
		attrs = append(attrs, "archive", r.Archive)
	}
	p.cfg.Logger.InfoContext(ctx, "inbox "+string(r.Outcome), attrs...)
	return r, nil
}

// finalReport returns the batch's report if the pipeline signed it for
// this batch and it gives a completion time. No report is an error
// wrapping storage.ErrNotExist; one the pipeline did not sign, or
// another batch's, wraps pipeline.ErrTampered.
func (p *Pruner) finalReport(ctx context.Context, ref pipeline.BatchRef) (*report.Batch, error) {
	key := ref.BatchReportKey()
	body, _, err := storage.ReadAll(ctx, p.store, key, maxReportSize)
	if err != nil {
		return nil, err
	}
	var b report.Batch
	if err := audit.OpenRecord(body, &b, p.trust); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", pipeline.ErrTampered, key, err)
	}
	if b.Department != ref.Department || b.Batch != ref.Batch {
		return nil, fmt.Errorf("%w: %s is the report of batch %s/%s", pipeline.ErrTampered, key, b.Department, b.Batch)
	}
	if b.CompletedAt.IsZero() {
		return nil, fmt.Errorf("%w: %s", ErrNoCompletionTime, key)
	}
	return &b, nil
}

// inbox lists the batch's inbox objects in the order they are deleted:
// every other object in key order, then the approval, then its
// signature, which committed the batch.
func (p *Pruner) inbox(ctx context.Context, ref pipeline.BatchRef) ([]storage.ObjectInfo, error) {
	var objects, commit []storage.ObjectInfo
	err := p.store.List(ctx, ref.Inbox(), func(o storage.ObjectInfo) error {
		if pipeline.IsCommitKey(strings.TrimPrefix(o.Key, ref.Inbox())) {
			commit = append(commit, o)
		} else {
			objects = append(objects, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("retention: list %s: %w", ref.Inbox(), err)
	}
	// Listed in key order, approval.json comes before approval.json.p7s.
	return append(objects, commit...), nil
}

// ArchivePrefix is where the inbox of batch ref is archived,
// archive/<dept>/<batch>/.
func ArchivePrefix(ref pipeline.BatchRef) string {
	return storage.PrefixArchive + strings.TrimPrefix(ref.Inbox(), storage.PrefixInbox)
}

// archiveKey is where inbox object key is archived.
func archiveKey(key string) string {
	return storage.PrefixArchive + strings.TrimPrefix(key, storage.PrefixInbox)
}

// archive copies and verifies every object, then deletes the originals
// unless one changed in the meantime.
func (p *Pruner) archive(ctx context.Context, objects []storage.ObjectInfo) error {
	etags := make([]string, len(objects))
	for i, o := range objects {
		etag, err := p.copyVerified(ctx, o.Key, archiveKey(o.Key))
		if err != nil {
			return err
		}
		etags[i] = etag
	}
	for i, o := range objects {
		info, err := p.store.Stat(ctx, o.Key)
		switch {
		case errors.Is(err, storage.ErrNotExist):
			continue // pruned by another process
		case err != nil:
			return fmt.Errorf("retention: %s: %w", o.Key, err)
		case info.ETag != etags[i]:
			return fmt.Errorf("%w: %s", ErrChanged, o.Key)
		}
		if err := p.store.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("retention: delete %s: %w", o.Key, err)
		}
	}
	return nil
}

// copyVerified copies the object under src to dst, create-only, and
// checks that dst then holds src's bytes (SM3), also when dst was there
// already (a run cut short, another process). It returns the ETag of the
// src it copied.
func (p *Pruner) copyVerified(ctx context.Context, src, dst string) (etag string, err error) {
	rc, info, err := p.store.Get(ctx, src)
	if err != nil {
		return "", fmt.Errorf("retention: read %s: %w", src, err)
	}
	opts := storage.PutOptions{IfNoneMatch: true, ContentType: info.ContentType, Metadata: info.Metadata}
	if storage.CheckPutOptions(opts) != nil {
		// What a department's client sent along: the bytes are what count.
		opts = storage.PutOptions{IfNoneMatch: true}
	}
	h := sm3.New()
	_, err = p.store.Put(ctx, dst, io.TeeReader(rc, h), info.Size, opts)
	if err == nil {
		_, err = io.Copy(h, rc) // what Put left unread, if anything, counts too
	}
	rc.Close()
	var want []byte
	switch {
	case err == nil:
		want, etag = h.Sum(nil), info.ETag
	case errors.Is(err, storage.ErrPreconditionFailed):
		// Archived already, by a run cut short or another process: the
		// copy counts only if it holds these very bytes.
		if want, etag, err = p.digest(ctx, src); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("retention: copy %s to %s: %w", src, dst, err)
	}
	got, _, err := p.digest(ctx, dst)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(got, want) {
		return "", fmt.Errorf("%w: %s differs from %s", ErrArchiveConflict, dst, src)
	}
	return etag, nil
}

// digest returns the SM3 of the object under key and its ETag.
func (p *Pruner) digest(ctx context.Context, key string) (sum []byte, etag string, err error) {
	rc, info, err := p.store.Get(ctx, key)
	if err != nil {
		return nil, "", fmt.Errorf("retention: read %s: %w", key, err)
	}
	defer rc.Close()
	h := sm3.New()
	if _, err := io.Copy(h, rc); err != nil {
		return nil, "", fmt.Errorf("retention: read %s: %w", key, err)
	}
	return h.Sum(nil), info.ETag, nil
}
