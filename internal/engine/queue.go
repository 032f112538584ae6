package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/retention"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/s3"
	"github.com/sealpipe/sealpipe/workers"
)

// Workers is the pipeline running on its queue in this process, with what
// feeds it: the inbox poller and, when configured, the bucket-event bridge;
// and the inbox retention rule, which clears up after it. Close stops it.
type Workers struct {
	e      *Engine
	p      *pipeline.Pipeline
	st     storage.Store
	rt     *workers.Runtime
	redis  workers.Redis
	poller *workers.Poller
	pruner *retention.Pruner
	// pruneEvery is the period of the retention rule in Serve. Zero
	// means retention.DefaultInterval.
	pruneEvery time.Duration
	stop       []func() // run by Close, last first
}

// WorkerOptions adjust StartWorkers.
type WorkerOptions struct {
	// Concurrency is the number of documents processed at once. Zero
	// means SEALPIPE_CONCURRENCY.
	Concurrency int
}

// StartWorkers starts this process's workers on the queue: the Redis at
// SEALPIPE_REDIS_ADDR or, when that is unset, an in-process Redis, which
// serves this process only (the demo, local runs).
func (e *Engine) StartWorkers(ctx context.Context, opts WorkerOptions) (*Workers, error) {
	p, err := e.Pipeline(ctx)
	if err != nil {
		return nil, err
	}
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	pruner, err := e.Pruner(ctx)
	if err != nil {
		return nil, err
	}
	s := e.settings
	w := &Workers{e: e, p: p, st: st, pruner: pruner, redis: workers.Redis{Addr: s.Redis.Addr, Password: string(s.Redis.Password), DB: s.Redis.DB}}
	sc := workers.ServerConfig{Concurrency: cmp.Or(opts.Concurrency, s.Concurrency), Logger: e.log}
	if w.redis.Addr == "" {
		addr, stop, err := startMiniredis()
		if err != nil {
			return nil, err
		}
		w.stop = append(w.stop, stop)
		w.redis = workers.Redis{Addr: addr}
		// Polling an in-process Redis costs next to nothing.
		sc.TaskCheckInterval, sc.DelayedTaskCheckInterval = 20*time.Millisecond, 100*time.Millisecond
	}
	m := workers.NewMetrics(e.metrics)
	rt, err := workers.Start(w.redis, p, workers.Config{Bucket: st.Bucket(), Logger: e.log, Metrics: m}, sc)
	if err != nil {
		w.Close()
		return nil, err
	}
	w.rt = rt
	w.stop = append(w.stop, rt.Close)
	w.poller = &workers.Poller{Store: st, Handlers: rt.Handlers, Interval: s.PollInterval, Logger: e.log}
	e.log.Info("workers started", "store", e.StoreLocation(), "redis", w.redis.Addr,
		"concurrency", cmp.Or(sc.Concurrency, workers.DefaultConcurrency()))
	return w, nil
}

// Close stops the workers, the in-process Redis if any, and what Serve
// started.
func (w *Workers) Close() {
	for i := len(w.stop) - 1; i >= 0; i-- {
		w.stop[i]()
	}
	w.stop = nil
}

// Scan enqueues the intake of every approved batch waiting in the inbox
// and returns those batches.
func (w *Workers) Scan(ctx context.Context) ([]pipeline.BatchRef, error) {
	return w.poller.Scan(ctx)
}

// WaitBatch waits until the batch report of ref exists, at most timeout,
// and returns it. It looks every 20 ms at first and then less often, a
// twentieth of the time waited so far up to half a second: a finished
// batch is seen at most 5 % late, and a long one does not keep the store
// busy answering.
func (w *Workers) WaitBatch(ctx context.Context, ref pipeline.BatchRef, timeout time.Duration) (*report.Batch, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	for {
		if _, err := w.st.Stat(ctx, ref.BatchReportKey()); err == nil {
			return w.p.WriteBatchReport(ctx, ref) // returns the report already written
		}
		t := time.NewTimer(min(max(time.Since(start)/20, 20*time.Millisecond), 500*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("batch %s not complete after %s: %w", ref, timeout, ctx.Err())
		case <-t.C:
		}
	}
}

// BatchResult is what became of one batch in RunOnce.
type BatchResult struct {
	// Batch is <dept>/<batch>.
	Batch string `json:"batch"`
	// Documents counts the batch's documents: those its approval lists
	// and any others uploaded with them.
	Documents int `json:"documents"`
	Sealed    int `json:"sealed"`
	Rejected  int `json:"rejected"`
	// Codes counts the rejections by code.
	Codes map[report.Code]int `json:"rejected_by_code"`
	// Rejections lists each rejected document with its code and reason.
	Rejections []Rejection `json:"rejections"`
	// BatchRejection is the refusal of the whole batch, if so.
	BatchRejection *report.Rejection `json:"batch_rejection,omitempty"`
	// ElapsedSeconds is the time from the start of RunOnce until the
	// batch's report was found; DocsPerSecond is Documents over it.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	DocsPerSecond  float64 `json:"docs_per_second"`
	// Report is the batch report's key.
	Report string `json:"report"`
}

// Rejection is one rejected document of a BatchResult.
type Rejection struct {
	Document string      `json:"document"`
	Code     report.Code `json:"code"`
	Reason   string      `json:"reason"`
}

// SealedNothing reports whether the batch had documents and none was
// sealed: every one rejected, or the whole batch refused.
func (r BatchResult) SealedNothing() bool { return r.Documents > 0 && r.Sealed == 0 }

// NewBatchResult summarises batch report b, which took elapsed.
func NewBatchResult(ref pipeline.BatchRef, b *report.Batch, elapsed time.Duration) BatchResult {
	r := BatchResult{
		Batch: ref.String(), Documents: len(b.Documents), Sealed: b.Sealed, Rejected: b.Rejected,
		Codes: map[report.Code]int{}, Rejections: []Rejection{}, BatchRejection: b.Rejection,
		ElapsedSeconds: elapsed.Seconds(), Report: ref.BatchReportKey(),
	}
	if elapsed > 0 {
		r.DocsPerSecond = float64(r.Documents) / elapsed.Seconds()
	}
	for _, d := range b.Documents {
		if d.Outcome == report.OutcomeRejected {
			r.Codes[d.Code]++
			r.Rejections = append(r.Rejections, Rejection{d.Document, d.Code, d.Reason})
		}
	}
	return r
}

// Progress is how far the batches of a RunOnce have come, for progress
// displays.
type Progress struct {
	// Batches counts the batches being waited for; Done those complete.
	Batches, Done int
	// Documents counts the documents of the batches not yet complete
	// whose approval has been read; Finished those with an outcome.
	Documents, Finished int
	// Elapsed is the time since RunOnce started.
	Elapsed time.Duration
}

// RunOnceOptions adjust RunOnce.
type RunOnceOptions struct {
	// Timeout bounds the wait for each batch. Zero means an hour.
	Timeout time.Duration
	// Progress, if set, is called every ProgressInterval while batches
	// are outstanding.
	Progress func(Progress)
	// ProgressInterval is the period of Progress calls. Zero means 2s.
	ProgressInterval time.Duration
}

// RunOnce seals every approved batch waiting in the inbox, waiting at most
// opts.Timeout for each, and returns what became of them: the form for
// scheduled nightly jobs. The results come in the order the batches were
// found, also when it fails (those complete by then). At its end, unless
// ctx is done, it applies the inbox retention rule once, whose failures
// it logs (`sealpipe batch prune` reports them).
func (w *Workers) RunOnce(ctx context.Context, opts RunOnceOptions) ([]BatchResult, error) {
	defer w.pruneOnce(ctx)
	opts.Timeout = cmp.Or(opts.Timeout, time.Hour)
	start := time.Now()
	refs, err := w.Scan(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Progress != nil && len(refs) > 0 {
		stop := w.reportProgress(ctx, refs, start, opts)
		defer stop()
	}
	out := []BatchResult{}
	for _, ref := range refs {
		b, err := w.WaitBatch(ctx, ref, opts.Timeout)
		if err != nil {
			return out, err
		}
		out = append(out, NewBatchResult(ref, b, time.Since(start)))
	}
	return out, nil
}

// pruneOnce applies the inbox retention rule once, unless ctx is done,
// and logs its failures: sealing is done by then, and the next run tries
// again what failed.
func (w *Workers) pruneOnce(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	if _, err := w.pruner.Prune(ctx, retention.Options{}); err != nil {
		w.e.log.ErrorContext(ctx, "inbox retention: some inboxes kept", "err", err)
	}
}

// reportProgress calls opts.Progress every opts.ProgressInterval with the
// progress of refs, counted from the store's listings, until stop is
// called.
func (w *Workers) reportProgress(ctx context.Context, refs []pipeline.BatchRef, start time.Time, opts RunOnceOptions) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(cmp.Or(opts.ProgressInterval, 2*time.Second))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			p := Progress{Batches: len(refs), Elapsed: time.Since(start)}
			for _, ref := range refs {
				s, err := w.e.batchStatus(ctx, w.st, ref, 0)
				if err != nil {
					continue
				}
				if s.Report != "" {
					p.Done++
					continue
				}
				p.Documents += s.Approved
				p.Finished += min(s.Sealed+s.Rejected, s.Approved)
			}
			if ctx.Err() == nil {
				opts.Progress(p)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Serve feeds the workers until ctx is done: it subscribes the bucket's
// inbox to SEALPIPE_S3_EVENTS_ARN, bridges the events pushed to
// SEALPIPE_S3_EVENTS_KEY into tasks, scans the inbox every
// SEALPIPE_POLL_INTERVAL, applies the inbox retention rule at once and
// then every hour, and serves metrics on SEALPIPE_METRICS_ADDR. It
// returns nil when ctx is cancelled.
func (w *Workers) Serve(ctx context.Context) error {
	s := w.e.settings
	if s.S3.EventsARN != "" {
		bucket, ok := w.st.(*s3.Store)
		if !ok {
			return settingError("SEALPIPE_S3_EVENTS_ARN", s.S3.EventsARN, "bucket events need an S3 store: set SEALPIPE_S3_ENDPOINT")
		}
		if err := bucket.SubscribeEvents(ctx, s.S3.EventsARN, storage.PrefixInbox); err != nil {
			return err
		}
	}
	if s.MetricsAddr != "" {
		stop, err := serveMetrics(s.MetricsAddr, w.e)
		if err != nil {
			return err
		}
		defer stop()
	}
	errc := make(chan error, 3)
	go func() { errc <- w.poller.Run(ctx) }()
	go func() { errc <- w.pruner.Run(ctx, w.pruneEvery) }()
	if s.S3.EventsKey != "" {
		rdb := redis.NewClient(&redis.Options{Addr: w.redis.Addr, Password: w.redis.Password, DB: w.redis.DB})
		defer rdb.Close()
		bridge := &workers.EventBridge{Redis: rdb, ListKey: s.S3.EventsKey, Store: w.st, Handlers: w.rt.Handlers, Logger: w.e.log}
		go func() { errc <- bridge.Run(ctx) }()
	}
	err := <-errc
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// serveMetrics serves the engine's metrics at /metrics on addr until stop
// is called.
func serveMetrics(addr string, e *Engine) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, settingError("SEALPIPE_METRICS_ADDR", addr, "%v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(e.metrics, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	e.log.Info("serving metrics", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// startMiniredis runs an in-process Redis on loopback and advances its
// clock, since miniredis expires keys only when told that time passed.
func startMiniredis() (addr string, stop func(), err error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return "", nil, fmt.Errorf("start in-process redis: %w", err)
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				mr.FastForward(100 * time.Millisecond)
			}
		}
	}()
	return mr.Addr(), func() { close(done); mr.Close() }, nil
}
