package workers

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/storage"
)

// Poller finds batches whose approval has arrived and enqueues their
// intake. It is the safety net behind bucket events (EventBridge), which
// a server may drop, and the only trigger for stores that send none.
type Poller struct {
	// Store is the bucket to scan.
	Store storage.Store
	// Handlers enqueues the intake tasks.
	Handlers *Handlers
	// Interval between scans in Run. Zero means 30 seconds.
	Interval time.Duration
	// Logger receives structured logs. Nil means slog.Default().
	Logger *slog.Logger

	mu   sync.Mutex
	done map[pipeline.BatchRef]bool // batches whose signed report was seen
}

// Scan lists the inbox once and enqueues an intake task for every batch
// whose approval signature has arrived and that has no batch report yet. It
// returns the batches it enqueued (tasks already known count too: they
// deduplicate).
func (p *Poller) Scan(ctx context.Context) ([]pipeline.BatchRef, error) {
	var signed []pipeline.BatchRef
	err := p.Store.List(ctx, storage.PrefixInbox, func(o storage.ObjectInfo) error {
		if ref, name, err := pipeline.ParseInboxKey(o.Key); err == nil && name == approval.SignatureName {
			signed = append(signed, ref)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("workers: scan inbox: %w", err)
	}
	var queued []pipeline.BatchRef
	for _, ref := range signed {
		if done, err := p.batchDone(ctx, ref); err != nil {
			p.log().ErrorContext(ctx, "inbox scan: batch skipped", "batch", ref.String(), "err", err)
			continue
		} else if done {
			continue
		}
		if err := enqueueIntake(ctx, p.Store, p.Handlers, ref); err != nil {
			return queued, fmt.Errorf("workers: enqueue intake of %s: %w", ref, err)
		}
		queued = append(queued, ref)
	}
	return queued, nil
}

// batchDone reports whether the batch has its (signed) report,
// remembering the batches found done: a finished batch stays finished.
func (p *Poller) batchDone(ctx context.Context, ref pipeline.BatchRef) (bool, error) {
	p.mu.Lock()
	done := p.done[ref]
	p.mu.Unlock()
	if done {
		return true, nil
	}
	done, err := p.Handlers.p.BatchDone(ctx, ref)
	if err != nil || !done {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		p.done = make(map[pipeline.BatchRef]bool)
	}
	p.done[ref] = true
	return true, nil
}

func (p *Poller) log() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

// Run scans every Interval until ctx is done.
func (p *Poller) Run(ctx context.Context) error {
	interval := p.Interval
	if interval == 0 {
		interval = 30 * time.Second
	}
	log := p.log()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if refs, err := p.Scan(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "inbox scan failed", "err", err)
		} else if len(refs) > 0 {
			log.DebugContext(ctx, "inbox scan", "batches", len(refs))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
