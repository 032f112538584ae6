package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/hibiken/asynq"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/reportschema"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/signed"
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

// start runs workers for h until the test ends.
func start(t *testing.T, opt asynq.RedisClientOpt, h *workers.Handlers, sc workers.ServerConfig) {
	t.Helper()
	srv, mux := workers.NewServer(opt, h, sc)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
}

// waitFor waits until cond holds, or fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitReport(t *testing.T, st storage.Store, ref pipeline.BatchRef) {
	t.Helper()
	waitFor(t, 2*time.Minute, "the report of batch "+ref.String(), func() bool {
		_, err := st.Stat(context.Background(), ref.BatchReportKey())
		return err == nil
	})
}

// sealing sets up the demo's seals in st and a pipeline over it, and makes
// a batch of docs good documents plus the two bad ones.
func sealing(t *testing.T, st storage.Store, batch string, docs int) (*pipeline.Pipeline, *demo.Batch) {
	t.Helper()
	return sealingWith(t, st, batch, docs, pipeline.Config{})
}

// sealingWith is sealing with a pipeline configured by cfg. When the test
// ends (its workers stopped), every report stored in st must be valid
// against docs/report.schema.json.
func sealingWith(t *testing.T, st storage.Store, batch string, docs int, cfg pipeline.Config) (*pipeline.Pipeline, *demo.Batch) {
	t.Helper()
	ctx := context.Background()
	ca, reg, err := demo.Setup(ctx, t.TempDir(), pass, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reportschema.CheckStore(t, st, ca.Pool()) })
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
	if cfg.Service.Key == nil {
		svc, err := ca.Signer(ctx, ca.Pipeline)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Service = signed.Signer{Key: svc, Cert: ca.Pipeline.Cert}
	}
	return pipeline.New(st, reg, trust.NewPool([]*smx509.Certificate{ca.Root}), keys.NewCache(ca.OpenAlias), cfg), b
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
	start(t, opt, h, workers.ServerConfig{Concurrency: 4})

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
