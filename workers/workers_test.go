package workers_test

import (
	"context"
	"crypto"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/hibiken/asynq"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/workers"
)

var pass = []byte("workers test passphrase")

// queue is Asynq on an in-process Redis whose clock advances.
func queue(t *testing.T) (asynq.RedisClientOpt, *asynq.Client) {
	t.Helper()
	mr := miniredis.RunT(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				mr.FastForward(50 * time.Millisecond)
			}
		}
	}()
	opt := asynq.RedisClientOpt{Addr: mr.Addr()}
	c := asynq.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return opt, c
}

func redisOpt(addr string) asynq.RedisClientOpt { return asynq.RedisClientOpt{Addr: addr} }

func newRedisClient(t *testing.T, addr string) *asynq.Client {
	t.Helper()
	c := asynq.NewClient(redisOpt(addr))
	t.Cleanup(func() { c.Close() })
	return c
}

func start(t *testing.T, opt asynq.RedisClientOpt, h *workers.Handlers, concurrency int) {
	t.Helper()
	srv, mux := workers.NewServer(opt, h, workers.ServerConfig{Concurrency: concurrency})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
}

func waitReport(t *testing.T, st storage.Store, ref pipeline.BatchRef) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := st.Stat(context.Background(), ref.BatchReportKey()); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("batch %s did not complete", ref)
}

// sealing sets up the demo's seals in st and a pipeline over it, and makes
// a batch of docs good documents plus the two bad ones.
func sealing(t *testing.T, st storage.Store, batch string, docs int) (*pipeline.Pipeline, *demo.Batch) {
	t.Helper()
	ctx := context.Background()
	reg := registry.New(st)
	ca, err := demo.Setup(ctx, t.TempDir(), pass, reg, "test")
	if err != nil {
		t.Fatal(err)
	}
	approver := ca.Approvers[demo.Approver]
	key, err := ca.Signer(ctx, approver)
	if err != nil {
		t.Fatal(err)
	}
	ref := pipeline.BatchRef{Department: demo.Department, Batch: batch}
	b, err := demo.MakeBatch(demo.BatchOptions{Ref: ref, Docs: docs, Bad: true, ApproverKey: key, ApproverCert: approver.Cert})
	if err != nil {
		t.Fatal(err)
	}
	open := func(ctx context.Context, uri string) (crypto.Signer, error) {
		return keys.Open(ctx, uri, keys.Options{Passphrase: pass})
	}
	return pipeline.New(st, reg, trust.NewPool([]*smx509.Certificate{ca.Root}), keys.NewCache(open), pipeline.Config{}), b
}

// TestWorkersSealBatch runs a real batch through Asynq workers.
func TestWorkersSealBatch(t *testing.T) {
	ctx := context.Background()
	st, err := fs.Open(t.TempDir(), "sealpipe")
	if err != nil {
		t.Fatal(err)
	}
	p, b := sealing(t, st, "w1", 6)
	ref := b.Ref
	if err := b.Upload(ctx, st); err != nil {
		t.Fatal(err)
	}
	opt, client := queue(t)
	h := workers.NewHandlers(p, client, workers.Config{Bucket: st.Bucket()})
	start(t, opt, h, 4)

	poller := &workers.Poller{Store: st, Handlers: h}
	for range 3 { // repeated scans deduplicate by task ID
		refs, err := poller.Scan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) > 1 {
			t.Fatalf("scan found %v", refs)
		}
	}
	waitReport(t, st, ref)
	rep, err := p.WriteBatchReport(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sealed != 6 || rep.Rejected != 2 {
		t.Fatalf("sealed %d rejected %d, want 6 and 2", rep.Sealed, rep.Rejected)
	}
	n := 0
	if err := st.List(ctx, storage.PrefixAudit, func(storage.ObjectInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Fatalf("usage records: %d, want 6", n)
	}
	// A finished batch is not scanned again.
	if refs, err := poller.Scan(ctx); err != nil || len(refs) != 0 {
		t.Fatalf("scan after completion = %v, %v", refs, err)
	}
}

// flaky is a Processor whose documents fail until told otherwise.
type flaky struct {
	mu       sync.Mutex
	failures map[string]error
	recorded map[string]error
	sealed   atomic.Int32
	reported atomic.Int32
}

func (f *flaky) Intake(_ context.Context, ref pipeline.BatchRef) (*pipeline.Plan, error) {
	return &pipeline.Plan{Ref: ref, ApprovalETag: "e1", Documents: []string{"a.pdf", "b.pdf"}}, nil
}

func (f *flaky) SealDocument(_ context.Context, _ pipeline.BatchRef, name string) (report.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failures[name]; err != nil {
		return "", err
	}
	f.sealed.Add(1)
	return report.OutcomeSealed, nil
}

func (f *flaky) WriteBatchReport(context.Context, pipeline.BatchRef) (*report.Batch, error) {
	f.mu.Lock()
	done := int(f.sealed.Load())+len(f.recorded) == 2
	f.mu.Unlock()
	if !done {
		return nil, pipeline.ErrNotReady
	}
	f.reported.Add(1)
	return &report.Batch{}, nil
}

func (f *flaky) RecordFailure(_ context.Context, _ pipeline.BatchRef, name string, cause error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recorded[name] = cause
	return nil
}

func (f *flaky) RecordBatchFailure(context.Context, pipeline.BatchRef, error) error { return nil }

// TestFinalFailureIsRecorded checks that a document whose task fails for
// good is recorded (not dropped) and that its batch still completes, and
// that refusals are not retried.
func TestFinalFailureIsRecorded(t *testing.T) {
	f := &flaky{
		failures: map[string]error{
			"a.pdf": errors.New("hsm unreachable"),
			"b.pdf": &pipeline.RejectError{Code: "X", Reason: "escaped refusal"},
		},
		recorded: map[string]error{},
	}
	opt, client := queue(t)
	h := workers.NewHandlers(f, client, workers.Config{Bucket: "b", MaxRetry: 1})
	start(t, opt, h, 2)
	task, err := workers.NewBatchIntakeTask("b", pipeline.BatchRef{Department: "d", Batch: "x"}, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Enqueue(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for f.reported.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.recorded) != 2 || f.recorded["a.pdf"] == nil || f.recorded["b.pdf"] == nil {
		t.Fatalf("recorded failures: %v", f.recorded)
	}
	if f.reported.Load() == 0 {
		t.Fatal("the batch report was never written")
	}
}

func TestRetryDelay(t *testing.T) {
	notReady := pipelineNotReady()
	if d := workers.RetryDelay(0, notReady, nil); d != 2*time.Second {
		t.Errorf("first not-ready delay %s", d)
	}
	if d := workers.RetryDelay(100, notReady, nil); d != time.Minute {
		t.Errorf("not-ready delay cap %s", d)
	}
	if d := workers.RetryDelay(3, errors.New("x"), nil); d != 8*time.Second {
		t.Errorf("backoff %s", d)
	}
	if d := workers.RetryDelay(40, errors.New("x"), nil); d != 10*time.Minute {
		t.Errorf("backoff cap %s", d)
	}
}

func pipelineNotReady() error { return errors.Join(os.ErrNotExist, pipeline.ErrNotReady) }
