package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
		if _, err := p.Store.Stat(ctx, ref.BatchReportKey()); err == nil {
			continue
		} else if !errors.Is(err, storage.ErrNotExist) {
			return queued, err
		}
		if err := enqueueIntake(ctx, p.Store, p.Handlers, ref); err != nil {
			return queued, fmt.Errorf("workers: enqueue intake of %s: %w", ref, err)
		}
		queued = append(queued, ref)
	}
	return queued, nil
}

// Run scans every Interval until ctx is done.
func (p *Poller) Run(ctx context.Context) error {
	interval := p.Interval
	if interval == 0 {
		interval = 30 * time.Second
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if refs, err := p.Scan(ctx); err != nil {
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
