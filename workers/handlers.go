package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/report"
)

// Processor is what the handlers need from the pipeline; *pipeline.Pipeline
// satisfies it.
type Processor interface {
	Intake(ctx context.Context, ref pipeline.BatchRef) (*pipeline.Plan, error)
	SealDocument(ctx context.Context, ref pipeline.BatchRef, name string) (report.Outcome, error)
	WriteBatchReport(ctx context.Context, ref pipeline.BatchRef) (*report.Batch, error)
	RecordFailure(ctx context.Context, ref pipeline.BatchRef, name string, cause error) error
	RecordBatchFailure(ctx context.Context, ref pipeline.BatchRef, cause error) error
	BatchDone(ctx context.Context, ref pipeline.BatchRef) (bool, error)
}

// Enqueuer submits tasks; *asynq.Client satisfies it.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Config tunes the handlers. The zero value of every field means its default.
type Config struct {
	// Bucket is the bucket the pipeline's store is bound to. Required.
	Bucket string
	// Queue is the Asynq queue tasks are enqueued to. Empty means "default".
	Queue string
	// MaxRetry is how often a failing task is retried before its failure is
	// recorded as a rejection. Zero means 12 (about 40 minutes of backoff
	// with RetryDelay). A document task waiting for its upload, or a batch
	// report task waiting for its documents, is retried without counting
	// against it.
	MaxRetry int
	// UploadPoll is how often a document task waiting for its document's
	// upload looks again. Zero means 10 seconds.
	UploadPoll time.Duration
	// ChunkSize is the most documents batch intake puts in one
	// documents:seal task; a batch of fewer than minChunks × ChunkSize
	// documents gets smaller chunks, so that it still spreads over
	// minChunks tasks (workers). Zero means DefaultChunkSize.
	ChunkSize int
	// Retention keeps finished tasks so that their IDs keep deduplicating
	// re-enqueued work. Zero means 24 hours.
	Retention time.Duration
	// Logger receives structured logs. Nil means slog.Default().
	Logger *slog.Logger
	// Metrics receives counters; nil records none.
	Metrics *Metrics
}

// DefaultChunkSize is Config.ChunkSize's default. What bounds `sealpipe
// demo --docs 5000` on two cores is the documents' own sealing, writes and
// fsyncs: one task per document cost its in-process Redis about 5% of the
// CPU, chunks about 1%, and a chunk's documents are sealed one after the
// other, so the batch's tail (its last chunks, running alone) grows with
// the chunk: on an idle machine 167 documents/s with a task per document,
// 197 with chunks of 8, 131 with chunks of 32.
const DefaultChunkSize = 8

// minChunks is how many tasks a batch is spread over at least, ChunkSize
// permitting: DefaultConcurrency on two cores. It is a constant, not the
// running server's concurrency, because the chunks must depend on the
// batch alone: intake may run again on another server (after a crash, or
// on a worker configured otherwise) and must make the same chunks, whose
// task IDs deduplicate the work it enqueues again.
const minChunks = 32

// chunkSize is the number of documents per documents:seal task for a
// batch of n: Config.ChunkSize, or fewer to spread it over minChunks tasks.
// It depends on n and the configuration only, so a re-run intake makes
// the same chunks.
func (h *Handlers) chunkSize(n int) int {
	return max(1, min(h.cfg.ChunkSize, (n+minChunks-1)/minChunks))
}

// Handlers process sealpipe's tasks.
type Handlers struct {
	p   Processor
	q   Enqueuer
	cfg Config
}

// NewHandlers returns handlers that drive p and enqueue follow-up tasks on q.
func NewHandlers(p Processor, q Enqueuer, cfg Config) *Handlers {
	if cfg.Queue == "" {
		cfg.Queue = "default"
	}
	if cfg.MaxRetry == 0 {
		cfg.MaxRetry = 12
	}
	if cfg.Retention == 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.ChunkSize < 1 {
		cfg.ChunkSize = DefaultChunkSize
	}
	if cfg.UploadPoll == 0 {
		cfg.UploadPoll = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handlers{p: p, q: q, cfg: cfg}
}

// Register installs the handlers on mux.
func (h *Handlers) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeBatchIntake, h.HandleBatchIntake)
	mux.HandleFunc(TypeDocumentsSeal, h.HandleDocumentsSeal)
	mux.HandleFunc(TypeDocumentSeal, h.HandleDocumentSeal)
	mux.HandleFunc(TypeBatchReport, h.HandleBatchReport)
}

// Enqueue submits a task with the handlers' queue, retry and retention
// options; extra options come last and win. A task whose ID is already
// known is not an error: that work is already queued or done.
func (h *Handlers) Enqueue(ctx context.Context, t *asynq.Task, extra ...asynq.Option) error {
	opts := append([]asynq.Option{asynq.Queue(h.cfg.Queue), asynq.MaxRetry(h.cfg.MaxRetry), asynq.Retention(h.cfg.Retention)}, extra...)
	_, err := h.q.EnqueueContext(ctx, t, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return err
}

// HandleBatchIntake validates a batch's approval, fans out its documents
// in chunks (chunkSize), in manifest order, and schedules the batch report,
// which waits until every document has an outcome.
func (h *Handlers) HandleBatchIntake(ctx context.Context, t *asynq.Task) error {
	p, err := decode[BatchPayload](t)
	if err != nil {
		return err
	}
	plan, err := h.p.Intake(ctx, p.Ref())
	if err != nil {
		return classifyWait(err)
	}
	if plan.Complete {
		return h.enqueueReport(ctx, p)
	}
	first := 0
	for names := range slices.Chunk(plan.Documents, h.chunkSize(len(plan.Documents))) {
		task, err := NewDocumentsSealTask(p.Bucket, p.Ref(), plan.ApprovalETag, first, names)
		if err != nil {
			return err
		}
		if err := h.Enqueue(ctx, task); err != nil {
			return fmt.Errorf("workers: enqueue documents %d to %d: %w", first, first+len(names)-1, err)
		}
		first += len(names)
	}
	return h.enqueueReport(ctx, p, asynq.ProcessIn(reportPoll))
}

// HandleDocumentsSeal seals a chunk of documents, one after the other
// (sealing a few at once gained nothing over more workers: the demo is
// bound by CPU and fsyncs, not by waits). A document that cannot be sealed now — it waits for its upload, it
// failed and must be retried, or a refusal escaped as an error — is handed
// off to its own document:seal task, which waits, retries and records its
// final failure exactly as if intake had enqueued it; the chunk still
// succeeds. The chunk fails, and is run again whole, only when its context
// ends or a hand-off cannot be enqueued: the documents it already sealed
// then return their outcome at once.
func (h *Handlers) HandleDocumentsSeal(ctx context.Context, t *asynq.Task) error {
	p, err := decode[ChunkPayload](t)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range p.Documents {
		if ctx.Err() != nil {
			break
		}
		if err := h.sealOrHandOff(ctx, p.BatchPayload, name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("workers: documents %d to %d cut short: %w", p.First, p.First+len(p.Documents)-1, err)
	}
	return errors.Join(errs...)
}

// sealOrHandOff seals one document of a chunk, or hands it off to its own
// task if it cannot be sealed now. It fails only if the hand-off does.
func (h *Handlers) sealOrHandOff(ctx context.Context, p BatchPayload, name string) error {
	start := time.Now()
	out, err := h.p.SealDocument(ctx, p.Ref(), name)
	if err == nil {
		h.cfg.Metrics.observe(out, time.Since(start))
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	return h.handOff(ctx, p, name, classifyWait(err))
}

// handOff enqueues the document:seal task of document name, which the
// error cause (classified) kept from being sealed in its chunk. The task
// first runs when a retry of its own after cause would.
func (h *Handlers) handOff(ctx context.Context, p BatchPayload, name string, cause error) error {
	task, err := NewDocumentSealTask(p.Bucket, p.Ref(), p.ApprovalETag, name)
	if err != nil {
		return err
	}
	if err := h.Enqueue(ctx, task, asynq.ProcessIn(h.RetryDelay(0, cause, task))); err != nil {
		return fmt.Errorf("workers: hand off %s: %w", name, err)
	}
	h.cfg.Metrics.handedOff()
	h.cfg.Logger.DebugContext(ctx, "document handed off to its own task", "batch", p.Ref().String(), "document", name, "err", cause)
	return nil
}

// HandleDocumentSeal seals one document.
func (h *Handlers) HandleDocumentSeal(ctx context.Context, t *asynq.Task) error {
	p, err := decode[DocumentPayload](t)
	if err != nil {
		return err
	}
	start := time.Now()
	out, err := h.p.SealDocument(ctx, p.Ref(), p.Document)
	if err != nil {
		return classifyWait(err)
	}
	h.cfg.Metrics.observe(out, time.Since(start))
	return nil
}

// HandleBatchReport writes a batch's report once every document has an
// outcome; until then it waits (pipeline.ErrNotReady), looking again every
// reportPoll without using up its retry budget. Checking costs a few
// listings, not a read per document, and documents never check for the
// batch: no O(n²) work in big batches.
func (h *Handlers) HandleBatchReport(ctx context.Context, t *asynq.Task) error {
	p, err := decode[BatchPayload](t)
	if err != nil {
		return err
	}
	b, err := h.p.WriteBatchReport(ctx, p.Ref())
	if err != nil {
		return classifyWait(err)
	}
	h.cfg.Logger.InfoContext(ctx, "batch report written", "batch", p.Ref().String(), "sealed", b.Sealed, "rejected", b.Rejected)
	return nil
}

// reportPoll is how often an unfinished batch's report task looks again.
const reportPoll = time.Second

func (h *Handlers) enqueueReport(ctx context.Context, p BatchPayload, extra ...asynq.Option) error {
	t, err := NewBatchReportTask(p.Bucket, p.Ref())
	if err != nil {
		return err
	}
	return h.Enqueue(ctx, t, extra...)
}

// HandleError is the server's asynq.ErrorHandler; asynq calls it for every
// error a handler returns, waits included. When a task has failed for the
// last time it records the failure as a rejection, so that no document is
// ever silently dropped and its batch still completes. An expected wait is
// logged at debug level only.
func (h *Handlers) HandleError(ctx context.Context, t *asynq.Task, err error) {
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	// asynq archives the task, whatever isFailure says, when either holds.
	final := retried >= maxRetry || errors.Is(err, asynq.SkipRetry)
	if !final && errors.Is(err, errWaiting) {
		h.cfg.Logger.DebugContext(ctx, "task waiting", "type", t.Type(), "err", err)
		return
	}
	h.cfg.Logger.WarnContext(ctx, "task failed", "type", t.Type(), "retry", retried, "max_retry", maxRetry, "final", final, "err", err)
	if !final {
		return
	}
	var recErr error
	switch t.Type() {
	case TypeDocumentSeal:
		p, derr := decode[DocumentPayload](t)
		if derr != nil {
			return
		}
		if recErr = h.p.RecordFailure(ctx, p.Ref(), p.Document, err); recErr == nil {
			h.cfg.Metrics.observe(report.OutcomeRejected, 0)
		}
	case TypeDocumentsSeal:
		p, derr := decode[ChunkPayload](t)
		if derr != nil {
			return
		}
		recErr = h.handOffChunk(ctx, p, err)
	case TypeBatchIntake:
		p, derr := decode[BatchPayload](t)
		if derr != nil {
			return
		}
		if recErr = h.p.RecordBatchFailure(ctx, p.Ref(), err); recErr == nil {
			recErr = h.enqueueReport(ctx, p)
		}
	}
	if recErr != nil {
		h.cfg.Logger.ErrorContext(ctx, "could not record a final task failure", "type", t.Type(), "err", recErr)
	}
}

// handOffChunk hands every document of a chunk whose task failed for good
// off to its own task, so that none is dropped: one already done returns
// its outcome at once, one already handed off is not enqueued twice. A
// document that cannot be handed off either is recorded as failed, as its
// own task's final failure would be.
func (h *Handlers) handOffChunk(ctx context.Context, p ChunkPayload, cause error) error {
	var errs []error
	for _, name := range p.Documents {
		if err := h.handOff(ctx, p.BatchPayload, name, cause); err != nil {
			if err := h.p.RecordFailure(ctx, p.Ref(), name, cause); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// classify maps a pipeline error onto Asynq's retry decision. A refusal that
// escaped as an error is final: it is never retried (SkipRetry), so it is
// handled, and recorded, exactly once. Anything else is a failure, retried
// with backoff (RetryDelay) until the task's MaxRetry runs out.
func classify(err error) error {
	var rj *pipeline.RejectError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rj):
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	default:
		return err
	}
}

// errWaiting marks a handler error that only says "not yet": see
// classifyWait and isFailure.
var errWaiting = errors.New("workers: waiting")

// classifyWait is classify for the tasks whose waits the pipeline itself
// ends: an approval's second file and a document's upload
// (pipeline.Config.UploadWindow, then APPROVAL_MISSING or
// DOCUMENT_MISSING) and a batch's outcomes (every document gets one).
// Their pipeline.ErrNotReady is a wait, marked with errWaiting: retried
// without using up the retry budget, so that a document awaited within its
// upload window is never recorded as PROCESSING_FAILED.
func classifyWait(err error) error {
	if errors.Is(err, pipeline.ErrNotReady) {
		return fmt.Errorf("%w: %w", errWaiting, err)
	}
	return classify(err)
}

// isFailure is the server's asynq.Config.IsFailure: a wait is not a
// failure. What asynq v0.26.0 does with that (processor.go
// handleFailedMessage and retry, internal/rdb Retry):
//   - the ErrorHandler (HandleError) is called for every handler error
//     first, waits included;
//   - a task whose retry count has reached MaxRetry, or whose error wraps
//     SkipRetry, is archived, whatever IsFailure says;
//   - otherwise the task is scheduled again after RetryDelayFunc(n, err,
//     task), n being its retry count so far; only if IsFailure is true is
//     that count incremented and the queue's processed and failed
//     statistics counted. A wait therefore keeps n unchanged (RetryDelay
//     cannot back off on it) and never exhausts MaxRetry; the error
//     message and last-failure time of the task are updated either way.
//   - a task whose lease expired (a crashed worker) is retried with
//     IsFailure(ErrLeaseExpired), a failure.
func isFailure(err error) bool { return !errors.Is(err, errWaiting) }

// RetryDelay is the server's asynq.RetryDelayFunc: a batch report waiting
// for its documents looks again every second and a document waiting for its
// upload, or intake for the approval's other file, every UploadPoll; other
// failures back off exponentially from one second, capped at ten minutes.
func (h *Handlers) RetryDelay(n int, err error, t *asynq.Task) time.Duration {
	switch {
	case errors.Is(err, errWaiting) && t != nil && t.Type() == TypeBatchReport:
		return reportPoll
	case errors.Is(err, errWaiting):
		return h.cfg.UploadPoll
	}
	return min(time.Duration(math.Pow(2, float64(min(n, 20))))*time.Second, 10*time.Minute)
}
