package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/retention"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/workers"
)

// ErrNoBatch is wrapped by BatchStatus's error for a batch the store holds
// nothing of.
var ErrNoBatch = errors.New("no such batch")

// Batch states, from upload to outcome (BatchStatus.State).
const (
	// StateUploading: documents arrived, the approval signature has not.
	StateUploading = "uploading"
	// StateInProgress: approved, some documents have no outcome yet.
	StateInProgress = "in progress"
	// StateComplete: every document has an outcome and the batch report
	// exists: the batch is final.
	StateComplete = "complete"
	// StateRejected: the whole batch was refused (a bad approval).
	StateRejected = "rejected"
)

// BatchStatus is a batch's progress and outcome, from the store and the
// queue.
type BatchStatus struct {
	// Batch is <dept>/<batch>.
	Batch string `json:"batch"`
	// State is one of the State* constants.
	State string `json:"state"`
	// Uploaded counts the documents in the inbox; Approved those the
	// approval lists (zero before approval.json arrives).
	Uploaded int `json:"uploaded"`
	Approved int `json:"approved"`
	// Sealed and Rejected count the documents with that outcome so far;
	// Pending those without an outcome yet.
	Sealed   int `json:"sealed"`
	Rejected int `json:"rejected"`
	Pending  int `json:"pending"`
	// Codes counts the rejections by code.
	Codes map[report.Code]int `json:"rejected_by_code,omitempty"`
	// Rejection is the refusal of the whole batch, if so.
	Rejection *report.Rejection `json:"rejection,omitempty"`
	// LastUpload is when the newest inbox object was written.
	LastUpload time.Time `json:"last_upload,omitzero"`
	// CompletedAt is when the batch report was written.
	CompletedAt time.Time `json:"completed_at,omitzero"`
	// Report is the batch report's key, once it exists.
	Report string `json:"report,omitempty"`
	// InboxPruned says what the inbox retention rule did with the inbox
	// of a complete batch that has none left: "archived" (to Archive) or
	// "deleted" (package pipeline/retention). Uploaded and Approved then
	// count nothing.
	InboxPruned retention.Outcome `json:"inbox_pruned,omitempty"`
	Archive     string            `json:"archive,omitempty"`
	// Queue counts the batch's tasks in the queue; nil when no Redis is
	// configured (SEALPIPE_REDIS_ADDR) or it could not be reached
	// (QueueError says why).
	Queue      *workers.TaskCounts `json:"queue,omitempty"`
	QueueError string              `json:"queue_error,omitempty"`
	// Unverified reports that the pipeline's records were read without
	// checking their signatures, there being no trusted root to check
	// them against.
	Unverified bool `json:"unverified,omitempty"`
}

// BatchStatus returns the progress and outcome of batch ref: what its
// inbox, reports/ and rejected/ folders hold and, when Redis is
// configured, its tasks in the queue. It only reads: on a local store
// that does not exist it creates nothing and fails with ErrNoBatch.
func (e *Engine) BatchStatus(ctx context.Context, ref pipeline.BatchRef) (*BatchStatus, error) {
	st, err := e.readStore(ctx)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("%w: %s (no store at %s)", ErrNoBatch, ref, e.StoreLocation())
	}
	return e.batchStatus(ctx, st, ref, statusQueue|statusCodes)
}

// statusParts choose what batchStatus finds out beyond the store's
// listings.
type statusParts int

const (
	// statusQueue counts the batch's tasks in the queue.
	statusQueue statusParts = 1 << iota
	// statusCodes reads each rejection record for its code.
	statusCodes
)

// RecentBatches returns the status of the limit batches whose inbox was
// written last, newest first, without their queue counts. An empty or
// missing store has none.
func (e *Engine) RecentBatches(ctx context.Context, limit int) ([]*BatchStatus, error) {
	st, err := e.readStore(ctx)
	if err != nil || st == nil {
		return []*BatchStatus{}, err
	}
	last := map[pipeline.BatchRef]time.Time{}
	err = st.List(ctx, storage.PrefixInbox, func(o storage.ObjectInfo) error {
		if ref, _, err := pipeline.ParseInboxKey(o.Key); err == nil && o.ModTime.After(last[ref]) {
			last[ref] = o.ModTime
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", storage.PrefixInbox, err)
	}
	refs := slices.SortedFunc(maps.Keys(last), func(a, b pipeline.BatchRef) int {
		return cmp.Or(last[b].Compare(last[a]), strings.Compare(a.String(), b.String()))
	})
	out := []*BatchStatus{}
	for _, ref := range refs[:min(limit, len(refs))] {
		s, err := e.batchStatus(ctx, st, ref, statusCodes)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// readStore returns the store for reading, or nil for a local store that
// does not exist (opening it would create it).
func (e *Engine) readStore(ctx context.Context) (storage.Store, error) {
	if e.settings.S3.Endpoint == "" && !e.LocalStoreExists() {
		return nil, nil
	}
	return e.Store(ctx)
}

func (e *Engine) batchStatus(ctx context.Context, st storage.Store, ref pipeline.BatchRef, parts statusParts) (*BatchStatus, error) {
	s := &BatchStatus{Batch: ref.String(), Codes: map[report.Code]int{}}
	pool, err := e.Trust()
	if err != nil {
		pool, s.Unverified = nil, true
	}
	// read decodes a record of the pipeline's, checking its signature
	// when there is a root to check it against.
	read := func(key string, v any) error {
		b, _, err := storage.ReadAll(ctx, st, key, 1<<20)
		if err != nil {
			return err
		}
		if pool == nil {
			_, err = signed.Unmarshal(b, v)
			return err
		}
		return audit.OpenRecord(b, v, pool)
	}

	docs := map[string]bool{}
	signedApproval, inboxEmpty := false, true
	err = st.List(ctx, ref.Inbox(), func(o storage.ObjectInfo) error {
		inboxEmpty = false
		name := strings.TrimPrefix(o.Key, ref.Inbox())
		switch {
		case name == approval.SignatureName:
			signedApproval = true
		case name != approval.ManifestName && !strings.Contains(name, "/"):
			docs[name] = true
		}
		if o.ModTime.After(s.LastUpload) {
			s.LastUpload = o.ModTime
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", ref.Inbox(), err)
	}
	s.Uploaded = len(docs)
	names := maps.Clone(docs)
	if b, _, err := storage.ReadAll(ctx, st, ref.Inbox()+approval.ManifestName, approval.MaxManifestSize); err == nil {
		if m, err := approval.Parse(b); err == nil {
			s.Approved = len(m.Documents)
			for _, d := range m.Documents {
				names[d.Name] = true
			}
		}
	} else if !errors.Is(err, storage.ErrNotExist) {
		return nil, err
	}

	var b report.Batch
	switch err := read(ref.BatchReportKey(), &b); {
	case err == nil:
		s.Report, s.CompletedAt, s.Rejection = ref.BatchReportKey(), b.CompletedAt, b.Rejection
		if inboxEmpty {
			if err := inboxPruned(ctx, st, ref, s); err != nil {
				return nil, err
			}
		}
		for _, d := range b.Documents {
			switch d.Outcome {
			case report.OutcomeSealed:
				s.Sealed++
			case report.OutcomeRejected:
				s.Rejected++
				s.Codes[d.Code]++
			}
		}
	case errors.Is(err, storage.ErrNotExist):
		if err := e.progress(ctx, st, ref, names, read, parts&statusCodes != 0, s); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: %w", ref.BatchReportKey(), err)
	}
	if s.Uploaded == 0 && s.Approved == 0 && s.Sealed+s.Rejected == 0 && s.Rejection == nil {
		return nil, fmt.Errorf("%w: %s: nothing under %s, %s or %s", ErrNoBatch, ref, ref.Inbox(),
			storage.PrefixReports+ref.String()+"/", storage.PrefixRejected+ref.String()+"/")
	}
	s.Pending = max(0, len(names)-s.Sealed-s.Rejected)
	if s.Report != "" {
		s.Pending = 0
	}
	switch {
	case s.Rejection != nil:
		s.State = StateRejected
	case s.Report != "":
		s.State = StateComplete
	case !signedApproval:
		s.State = StateUploading
	default:
		s.State = StateInProgress
	}
	if parts&statusQueue != 0 && e.settings.Redis.Addr != "" {
		r := workers.Redis{Addr: e.settings.Redis.Addr, Password: string(e.settings.Redis.Password), DB: e.settings.Redis.DB}
		if c, err := workers.BatchTasks(ctx, r, "", st.Bucket(), ref); err != nil {
			s.QueueError = err.Error()
		} else {
			s.Queue = &c
		}
	}
	return s, nil
}

// inboxPruned fills in what became of the inbox of a complete batch that
// has none left: archived if its archive holds anything, else deleted.
func inboxPruned(ctx context.Context, st storage.Store, ref pipeline.BatchRef, s *BatchStatus) error {
	archive := retention.ArchivePrefix(ref)
	s.InboxPruned = retention.Deleted
	err := st.List(ctx, archive, func(storage.ObjectInfo) error {
		s.InboxPruned, s.Archive = retention.Archived, archive
		return errStopListing
	})
	if err != nil && !errors.Is(err, errStopListing) {
		return fmt.Errorf("list %s: %w", archive, err)
	}
	return nil
}

// errStopListing ends a listing early.
var errStopListing = errors.New("stop listing")

// progress fills in the outcomes so far of a batch without a report: the
// documents with a report or a rejection record, and the batch's
// rejection if any; with codes, the code of each rejection too.
func (e *Engine) progress(ctx context.Context, st storage.Store, ref pipeline.BatchRef, names map[string]bool, read func(string, any) error, codes bool, s *BatchStatus) error {
	var rej report.Rejection
	if err := read(ref.BatchRejectionKey(), &rej); err == nil {
		s.Rejection = &rej
		s.Rejected = len(names)
		if len(names) > 0 {
			s.Codes[rej.Code] = len(names)
		}
		return nil
	} else if !errors.Is(err, storage.ErrNotExist) {
		return fmt.Errorf("%s: %w", ref.BatchRejectionKey(), err)
	}
	reports := storage.PrefixReports + ref.String() + "/"
	err := st.List(ctx, reports, func(o storage.ObjectInfo) error {
		if n, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, reports), ".json"); ok && names[n] {
			s.Sealed++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", reports, err)
	}
	rejected := storage.PrefixRejected + ref.String() + "/"
	var keys []string
	err = st.List(ctx, rejected, func(o storage.ObjectInfo) error {
		if n, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, rejected), ".json"); ok && names[n] {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", rejected, err)
	}
	if !codes {
		s.Rejected = len(keys)
		return nil
	}
	for _, k := range keys {
		var r report.Rejection
		if err := read(k, &r); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		s.Rejected++
		s.Codes[r.Code]++
	}
	return nil
}
