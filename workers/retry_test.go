package workers_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/workers"
)

// fakeProcessor is a Processor over a batch of docs. SealDocument's result
// for each call comes from sealErr (nil: sealed), WriteBatchReport first
// returns reportErr's result and then waits (pipeline.ErrNotReady) until
// every document is sealed or recorded as failed. It counts the calls.
type fakeProcessor struct {
	docs      []string
	intakeErr error // Intake's result, if not nil
	sealErr   func(name string, call int) error
	reportErr func(call int) error

	mu          sync.Mutex
	sealCalls   map[string]int
	sealed      map[string]bool
	recorded    map[string][]error // RecordFailure's causes
	reportCalls int
	reported    int
}

func newFake(docs ...string) *fakeProcessor {
	return &fakeProcessor{docs: docs, sealCalls: map[string]int{}, sealed: map[string]bool{}, recorded: map[string][]error{}}
}

func (f *fakeProcessor) Intake(_ context.Context, ref pipeline.BatchRef) (*pipeline.Plan, error) {
	if f.intakeErr != nil {
		return nil, f.intakeErr
	}
	return &pipeline.Plan{Ref: ref, ApprovalETag: "e1", Documents: f.docs}, nil
}

func (f *fakeProcessor) SealDocument(_ context.Context, _ pipeline.BatchRef, name string) (report.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := f.sealCalls[name]
	f.sealCalls[name]++
	if f.sealErr != nil {
		if err := f.sealErr(name, call); err != nil {
			return "", err
		}
	}
	f.sealed[name] = true
	return report.OutcomeSealed, nil
}

func (f *fakeProcessor) BatchDone(context.Context, pipeline.BatchRef) (bool, error) {
	return false, nil
}

func (f *fakeProcessor) WriteBatchReport(context.Context, pipeline.BatchRef) (*report.Batch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := f.reportCalls
	f.reportCalls++
	if f.reportErr != nil {
		if err := f.reportErr(call); err != nil {
			return nil, err
		}
	}
	for _, d := range f.docs {
		if !f.sealed[d] && len(f.recorded[d]) == 0 {
			return nil, pipeline.ErrNotReady
		}
	}
	f.reported++
	return &report.Batch{}, nil
}

func (f *fakeProcessor) RecordFailure(_ context.Context, _ pipeline.BatchRef, name string, cause error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recorded[name] = append(f.recorded[name], cause)
	return nil
}

func (f *fakeProcessor) RecordBatchFailure(context.Context, pipeline.BatchRef, error) error {
	return nil
}

// locked runs fn under f's lock, to read its counters.
func (f *fakeProcessor) locked(fn func() bool) func() bool {
	return func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return fn()
	}
}

// logBuffer collects log lines written by several goroutines.
type logBuffer struct{ testenv.LogBuffer }

// warnings returns the lines logged at WARN level or above.
func (l *logBuffer) warnings() []string {
	var out []string
	for line := range strings.Lines(l.String()) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	return out
}

// capture returns a debug-level logger writing into a new logBuffer.
func capture() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// fastServer is a server configuration that moves retried tasks at once.
func fastServer(log *slog.Logger) workers.ServerConfig {
	return workers.ServerConfig{Concurrency: 4, TaskCheckInterval: 10 * time.Millisecond, DelayedTaskCheckInterval: 20 * time.Millisecond, Logger: log}
}

var testRef = pipeline.BatchRef{Department: "d", Batch: "x"}

// testTasks returns the tasks of batch testRef in bucket "b": its intake,
// the sealing of its document a.pdf and its report.
func testTasks(t *testing.T) (intake, doc, rep *asynq.Task) {
	t.Helper()
	intake, err := workers.NewBatchIntakeTask("b", testRef, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if doc, err = workers.NewDocumentSealTask("b", testRef, "e1", "a.pdf"); err != nil {
		t.Fatal(err)
	}
	if rep, err = workers.NewBatchReportTask("b", testRef); err != nil {
		t.Fatal(err)
	}
	return intake, doc, rep
}

// enqueueIntake starts the batch testRef through h.
func enqueueIntake(t *testing.T, h *workers.Handlers) {
	t.Helper()
	intake, _, _ := testTasks(t)
	if err := h.Enqueue(t.Context(), intake); err != nil {
		t.Fatal(err)
	}
}

// TestFinalFailureIsRecorded checks that a document whose task fails for
// good is recorded (not dropped) and that its batch still completes.
func TestFinalFailureIsRecorded(t *testing.T) {
	t.Parallel()
	f := newFake("a.pdf", "b.pdf")
	hsmDown := errors.New("hsm unreachable")
	f.sealErr = func(name string, _ int) error {
		if name == "a.pdf" {
			return hsmDown
		}
		return nil
	}
	opt, client := queue(t)
	h := workers.NewHandlers(f, client, workers.Config{Bucket: "b", MaxRetry: 1})
	start(t, opt, h, workers.ServerConfig{Concurrency: 2})
	enqueueIntake(t, h)
	waitFor(t, time.Minute, "the batch report", f.locked(func() bool { return f.reported > 0 }))
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.recorded["a.pdf"]) != 1 || !errors.Is(f.recorded["a.pdf"][0], hsmDown) || len(f.recorded["b.pdf"]) != 0 {
		t.Fatalf("recorded failures: %v", f.recorded)
	}
	// Once in its chunk, which hands it off, then MaxRetry+1 times in its
	// own task.
	if n := f.sealCalls["a.pdf"]; n != 3 {
		t.Errorf("a.pdf tried %d times, want 3 (its chunk, then MaxRetry 1)", n)
	}
}

// TestRefusalIsNotRetried checks that each handler turns a refusal that
// escaped as an error into asynq's final failure.
func TestRefusalIsNotRetried(t *testing.T) {
	t.Parallel()
	refusal := &pipeline.RejectError{Code: pipeline.CodeSealUnknown, Reason: "escaped refusal"}
	f := newFake("a.pdf")
	f.sealErr = func(string, int) error { return refusal }
	f.reportErr = func(int) error { return refusal }
	h := workers.NewHandlers(f, nil, workers.Config{Bucket: "b"})
	_, doc, rep := testTasks(t)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"document:seal", h.HandleDocumentSeal(t.Context(), doc)},
		{"batch:report", h.HandleBatchReport(t.Context(), rep)},
	} {
		if !errors.Is(tc.err, asynq.SkipRetry) || !errors.Is(tc.err, refusal) {
			t.Errorf("%s with a refusal = %v, want it final (SkipRetry) and wrapping the refusal", tc.name, tc.err)
		}
	}
}

// TestRefusalHandledOnce checks end to end that a refusal escaping as an
// error is processed once and its failure recorded once, however many
// retries the task would be allowed.
func TestRefusalHandledOnce(t *testing.T) {
	t.Parallel()
	f := newFake("a.pdf")
	f.sealErr = func(string, int) error {
		return &pipeline.RejectError{Code: pipeline.CodeSealUnknown, Reason: "escaped refusal"}
	}
	opt, client := queue(t)
	log, logs := capture()
	h := workers.NewHandlers(f, client, workers.Config{Bucket: "b", MaxRetry: 3, Logger: log})
	start(t, opt, h, fastServer(log))
	_, task, _ := testTasks(t)
	if err := h.Enqueue(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	inspector := asynq.NewInspector(opt)
	t.Cleanup(func() { inspector.Close() })
	waitFor(t, 30*time.Second, "the task to be archived", func() bool {
		archived, err := inspector.ListArchivedTasks("default")
		return err == nil && len(archived) == 1
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := f.sealCalls["a.pdf"]; n != 1 {
		t.Errorf("the refused document was processed %d times, want once", n)
	}
	if n := len(f.recorded["a.pdf"]); n != 1 {
		t.Errorf("its failure was recorded %d times, want once", n)
	}
	if len(logs.warnings()) == 0 {
		t.Error("the final failure was not logged as a warning")
	}
}

// TestWaitsDoNotUseRetryBudget checks that a document waiting for its upload
// and a batch report waiting for its documents are retried more often than
// MaxRetry allows failures, end as sealed and reported, and log no warnings.
func TestWaitsDoNotUseRetryBudget(t *testing.T) {
	t.Parallel()
	const docWaits, reportWaits = 5, 3
	f := newFake("a.pdf")
	f.sealErr = func(_ string, call int) error {
		if call < docWaits {
			return pipeline.ErrNotReady
		}
		return nil
	}
	f.reportErr = func(call int) error {
		if call < reportWaits {
			return pipeline.ErrNotReady
		}
		return nil
	}
	opt, client := queue(t)
	log, logs := capture()
	h := workers.NewHandlers(f, client, workers.Config{Bucket: "b", MaxRetry: 1, UploadPoll: 10 * time.Millisecond, Logger: log})
	start(t, opt, h, fastServer(log))
	enqueueIntake(t, h)
	waitFor(t, 30*time.Second, "the batch report", f.locked(func() bool { return f.reported > 0 }))
	f.mu.Lock()
	defer f.mu.Unlock()
	// Asynq delivers at least once: on a loaded machine a task whose
	// lease lapsed runs again (and asynq warns that it could not move it
	// to completed), so a call more is no failure of the waits.
	if !f.sealed["a.pdf"] || f.sealCalls["a.pdf"] < docWaits+1 || len(f.recorded) != 0 {
		t.Errorf("document: sealed %v after %d calls, failures recorded %v; want sealed after %d calls, none recorded",
			f.sealed["a.pdf"], f.sealCalls["a.pdf"], f.recorded, docWaits+1)
	}
	if f.reportCalls <= reportWaits {
		t.Errorf("batch report written after %d calls, want more than %d", f.reportCalls, reportWaits)
	}
	var ours []string
	for _, w := range logs.warnings() {
		if !strings.Contains(w, "component=asynq") {
			ours = append(ours, w)
		}
	}
	if len(ours) > 0 {
		t.Errorf("waits logged warnings:\n%s", strings.Join(ours, ""))
	}
}

// TestWaitAfterFailuresIsFinal checks that a task which used up its retry
// budget on failures and then waits is recorded: asynq archives it then,
// whatever IsFailure says.
func TestWaitAfterFailuresIsFinal(t *testing.T) {
	t.Parallel()
	f := newFake("a.pdf")
	f.sealErr = func(_ string, call int) error {
		// Call 0 fails in its chunk, call 1 in its own task: MaxRetry 1.
		if call < 2 {
			return errors.New("hsm unreachable")
		}
		return pipeline.ErrNotReady
	}
	opt, client := queue(t)
	h := workers.NewHandlers(f, client, workers.Config{Bucket: "b", MaxRetry: 1, UploadPoll: 10 * time.Millisecond})
	start(t, opt, h, fastServer(nil))
	enqueueIntake(t, h)
	waitFor(t, 30*time.Second, "the batch report", f.locked(func() bool { return f.reported > 0 }))
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := f.sealCalls["a.pdf"]; n != 3 || len(f.recorded["a.pdf"]) != 1 || !errors.Is(f.recorded["a.pdf"][0], pipeline.ErrNotReady) {
		t.Errorf("after %d calls, recorded %v; want 3 calls and the wait recorded", n, f.recorded)
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	const poll = 3 * time.Second
	f := newFake("a.pdf")
	f.sealErr = func(string, int) error { return pipeline.ErrNotReady }
	f.reportErr = func(int) error { return pipeline.ErrNotReady }
	f.intakeErr = pipeline.ErrNotReady
	h := workers.NewHandlers(f, nil, workers.Config{Bucket: "b", UploadPoll: poll})
	intake, doc, rep := testTasks(t)
	docWait, repWait := h.HandleDocumentSeal(t.Context(), doc), h.HandleBatchReport(t.Context(), rep)
	intakeWait := h.HandleBatchIntake(t.Context(), intake)
	for _, tc := range []struct {
		name string
		n    int
		err  error
		task *asynq.Task
		want time.Duration
	}{
		{"document waiting for its upload", 0, docWait, doc, poll},
		{"document still waiting after failures", 7, docWait, doc, poll},
		{"batch report waiting", 0, repWait, rep, time.Second},
		{"intake waiting for the approval's other file", 0, intakeWait, intake, poll},
		{"intake still waiting after failures", 9, intakeWait, intake, poll},
		{"failure", 3, errors.New("x"), doc, 8 * time.Second},
		{"failure, capped", 40, errors.New("x"), doc, 10 * time.Minute},
	} {
		if got := h.RetryDelay(tc.n, tc.err, tc.task); got != tc.want {
			t.Errorf("%s: RetryDelay(%d) = %s, want %s", tc.name, tc.n, got, tc.want)
		}
	}
}

// TestDocumentAwaitedWithinUploadWindow runs a real batch whose documents
// arrive late: one within the upload window, sealed however many times its
// task looked before; one never, rejected as DOCUMENT_MISSING once the
// window ends, not PROCESSING_FAILED when retries would have run out.
func TestDocumentAwaitedWithinUploadWindow(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := fs.Open(t.TempDir(), "sealpipe")
	if err != nil {
		t.Fatal(err)
	}
	var skew atomic.Int64 // added to the pipeline's clock
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	p, b := sealingWith(t, st, "late", 2, pipeline.Config{Now: now})
	late, never := demo.DocumentName(1), demo.DocumentName(2)
	lateBody := b.Files[late]
	delete(b.Files, late)
	delete(b.Files, never)
	if err := b.Upload(ctx, st); err != nil {
		t.Fatal(err)
	}
	c := &countingProcessor{Pipeline: p, calls: map[string]int{}}
	opt, client := queue(t)
	log, logs := capture()
	h := workers.NewHandlers(c, client, workers.Config{Bucket: st.Bucket(), MaxRetry: 1, UploadPoll: 10 * time.Millisecond, Logger: log})
	start(t, opt, h, fastServer(log))
	if _, err := (&workers.Poller{Store: st, Handlers: h}).Scan(ctx); err != nil {
		t.Fatal(err)
	}

	const looks = 4 // more than MaxRetry+1 attempts
	waitFor(t, time.Minute, "the missing documents' tasks to look again", func() bool {
		return c.count(late) >= looks && c.count(never) >= looks
	})
	if _, err := st.Put(ctx, b.Ref.Inbox()+late, bytes.NewReader(lateBody), int64(len(lateBody)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the late document's report", func() bool {
		_, err := st.Stat(ctx, b.Ref.ReportKey(late))
		return err == nil
	})
	skew.Store(int64(time.Hour + time.Minute)) // past the default upload window
	waitReport(t, st, b.Ref)

	rep, err := p.WriteBatchReport(ctx, b.Ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rep.Documents {
		switch e.Document {
		case late:
			if e.Outcome != report.OutcomeSealed {
				t.Errorf("%s: %s %s, want sealed", e.Document, e.Outcome, e.Code)
			}
		case never:
			if e.Code != pipeline.CodeDocumentMissing {
				t.Errorf("%s: %s %s (%s), want rejected %s", e.Document, e.Outcome, e.Code, e.Reason, pipeline.CodeDocumentMissing)
			}
		}
	}
	if w := logs.warnings(); len(w) > 0 {
		t.Errorf("waiting for uploads logged warnings:\n%s", strings.Join(w, ""))
	}
}

// countingProcessor is a pipeline that counts SealDocument calls per document.
type countingProcessor struct {
	*pipeline.Pipeline
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingProcessor) SealDocument(ctx context.Context, ref pipeline.BatchRef, name string) (report.Outcome, error) {
	c.mu.Lock()
	c.calls[name]++
	c.mu.Unlock()
	return c.Pipeline.SealDocument(ctx, ref, name)
}

func (c *countingProcessor) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[name]
}
