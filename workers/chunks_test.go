package workers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/workers"
)

// queued returns the tasks waiting in the default queue of the Redis at
// opt, pending and scheduled, by ID.
func queued(t *testing.T, opt asynq.RedisClientOpt) map[string]*asynq.TaskInfo {
	t.Helper()
	ins := asynq.NewInspector(opt)
	defer ins.Close()
	out := map[string]*asynq.TaskInfo{}
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){ins.ListPendingTasks, ins.ListScheduledTasks} {
		tasks, err := list("default", asynq.PageSize(1000))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range tasks {
			out[ti.ID] = ti
		}
	}
	return out
}

// names returns n document names.
func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("d%04d.pdf", i)
	}
	return out
}

// TestIntakeChunks checks that intake enqueues ceil(N/size) chunk tasks,
// size being ChunkSize or less for a batch too small to spread over 32
// tasks, with IDs naming their range of the manifest, which together name
// every document once, in order, and the batch report.
func TestIntakeChunks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		docs, chunkSize int
		size            int // of the chunks but the last
	}{
		{docs: 0, chunkSize: 32, size: 1},
		{docs: 1, chunkSize: 32, size: 1},
		{docs: 20, chunkSize: 32, size: 1},
		{docs: 33, chunkSize: 32, size: 2},
		{docs: 100, chunkSize: 32, size: 4},
		{docs: 1024, chunkSize: 32, size: 32},
		{docs: 1025, chunkSize: 0, size: workers.DefaultChunkSize},
		{docs: 2000, chunkSize: 16, size: 16},
	} {
		t.Run(fmt.Sprintf("%d by %d", tc.docs, tc.chunkSize), func(t *testing.T) {
			t.Parallel()
			opt, client := queue(t)
			h := workers.NewHandlers(newFake(names(tc.docs)...), client, workers.Config{Bucket: "b", ChunkSize: tc.chunkSize})
			intake, _, rep := testTasks(t)
			for range 2 { // a second intake enqueues nothing new
				if err := h.HandleBatchIntake(t.Context(), intake); err != nil {
					t.Fatal(err)
				}
			}
			tasks := queued(t, opt)
			chunks := (tc.docs + tc.size - 1) / tc.size
			if len(tasks) != chunks+1 {
				t.Errorf("%d tasks queued, want %d chunks and the report", len(tasks), chunks)
			}
			if ti := tasks["report:b/"+testRef.Inbox()]; ti == nil || ti.Type != rep.Type() {
				t.Errorf("no batch report queued")
			}
			var all []string
			for first := 0; first < tc.docs; first += tc.size {
				id := fmt.Sprintf("chunk:b/%s%d-%d@e1", testRef.Inbox(), first, min(first+tc.size, tc.docs))
				ti := tasks[id]
				if ti == nil || ti.Type != workers.TypeDocumentsSeal {
					t.Fatalf("no chunk %s queued", id)
				}
				var p workers.ChunkPayload
				if err := json.Unmarshal(ti.Payload, &p); err != nil {
					t.Fatal(err)
				}
				if p.First != first || p.ApprovalETag != "e1" || p.Ref() != testRef {
					t.Errorf("chunk %s: %+v", id, p)
				}
				all = append(all, p.Documents...)
			}
			if !slices.Equal(all, names(tc.docs)) {
				t.Errorf("the chunks name %d documents, want the %d in order", len(all), tc.docs)
			}
		})
	}
}

// TestChunkHandsOff checks that a chunk seals the documents it can and
// hands exactly each one that waits for its upload, fails or is refused
// off to its own document:seal task, and still succeeds.
func TestChunkHandsOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"waiting for its upload", pipeline.ErrNotReady},
		{"failing", errors.New("hsm unreachable")},
		{"refused", &pipeline.RejectError{Code: pipeline.CodeSealUnknown, Reason: "escaped refusal"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			docs := names(5)
			odd := docs[2]
			f := newFake(docs...)
			f.sealErr = func(name string, _ int) error {
				if name == odd {
					return tc.err
				}
				return nil
			}
			opt, client := queue(t)
			h := workers.NewHandlers(f, client, workers.Config{Bucket: "b"})
			chunk, err := workers.NewDocumentsSealTask("b", testRef, "e1", 0, docs)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.HandleDocumentsSeal(t.Context(), chunk); err != nil {
				t.Fatalf("the chunk failed: %v", err)
			}
			for _, d := range docs {
				if f.sealCalls[d] != 1 || f.sealed[d] == (d == odd) {
					t.Errorf("%s: sealed %v after %d calls", d, f.sealed[d], f.sealCalls[d])
				}
			}
			tasks := queued(t, opt)
			want := "seal:b/" + testRef.Inbox() + odd + "@e1"
			if ti := tasks[want]; len(tasks) != 1 || ti == nil || ti.Type != workers.TypeDocumentSeal || ti.State != asynq.TaskStateScheduled {
				t.Errorf("queued %d tasks, want only %s, scheduled", len(tasks), want)
			}
		})
	}
}

// cancelAfter is a processor whose context is cut (a worker stopped or
// killed) once it has sealed after documents.
type cancelAfter struct {
	workers.Processor
	after  int32
	n      atomic.Int32
	cancel context.CancelFunc
}

func (c *cancelAfter) SealDocument(ctx context.Context, ref pipeline.BatchRef, name string) (report.Outcome, error) {
	out, err := c.Processor.SealDocument(ctx, ref, name)
	if c.n.Add(1) == c.after {
		c.cancel()
	}
	return out, err
}

// TestChunkCutShort runs a real batch whose chunk is cut short after three
// documents: the chunk fails, and running it again seals the rest, each
// document exactly once, without handing any off.
func TestChunkCutShort(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := fs.Open(t.TempDir(), "sealpipe")
	if err != nil {
		t.Fatal(err)
	}
	p, b := sealing(t, st, "cut", 6)
	if err := b.Upload(ctx, st); err != nil {
		t.Fatal(err)
	}
	opt, client := queue(t)
	h := workers.NewHandlers(p, client, workers.Config{Bucket: st.Bucket()})
	sig, err := st.Stat(ctx, b.Ref.Inbox()+approval.SignatureName)
	if err != nil {
		t.Fatal(err)
	}
	intake, err := workers.NewBatchIntakeTask(st.Bucket(), b.Ref, sig.ETag)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.HandleBatchIntake(ctx, intake); err != nil {
		t.Fatal(err)
	}
	// One chunk of all the batch's documents (intake spreads so small a
	// batch over a task per document).
	var all workers.ChunkPayload
	for _, ti := range queued(t, opt) {
		var p workers.ChunkPayload
		if ti.Type == workers.TypeDocumentsSeal && json.Unmarshal(ti.Payload, &p) == nil {
			all.ApprovalETag, all.Documents = p.ApprovalETag, append(all.Documents, p.Documents...)
		}
	}
	chunk, err := workers.NewDocumentsSealTask(st.Bucket(), b.Ref, all.ApprovalETag, 0, all.Documents)
	if err != nil || len(all.Documents) != len(b.Files)-2 {
		t.Fatalf("chunk of %d documents: %v", len(all.Documents), err)
	}

	cutCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cut := workers.NewHandlers(&cancelAfter{Processor: p, after: 3, cancel: cancel}, client, workers.Config{Bucket: st.Bucket()})
	if err := cut.HandleDocumentsSeal(cutCtx, chunk); !errors.Is(err, context.Canceled) {
		t.Fatalf("the chunk cut short returned %v, want context.Canceled", err)
	}
	if done := outcomes(t, st, b.Ref); done < 3 || done == len(b.Files)-2 {
		t.Fatalf("%d documents have an outcome after the cut, want 3 or more but not all", done)
	}
	if err := h.HandleDocumentsSeal(ctx, chunk); err != nil {
		t.Fatalf("the chunk run again: %v", err)
	}
	rep, err := p.WriteBatchReport(ctx, b.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sealed != 6 || rep.Rejected != 2 {
		t.Errorf("sealed %d rejected %d, want 6 and 2", rep.Sealed, rep.Rejected)
	}
	if n := count(t, st, storage.PrefixAudit); n != 6 {
		t.Errorf("usage records: %d, want 6", n)
	}
	for id, ti := range queued(t, opt) {
		if ti.Type == workers.TypeDocumentSeal {
			t.Errorf("%s was handed off", id)
		}
	}
}

// outcomes counts the documents of batch ref with a report or a rejection:
// their JSON records, not the reports' pages for people.
func outcomes(t *testing.T, st storage.Store, ref pipeline.BatchRef) int {
	t.Helper()
	n := 0
	for _, prefix := range []string{storage.PrefixReports, storage.PrefixRejected} {
		err := st.List(t.Context(), prefix+ref.String()+"/", func(o storage.ObjectInfo) error {
			if strings.HasSuffix(o.Key, ".json") {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// count counts the objects under prefix.
func count(t *testing.T, st storage.Store, prefix string) int {
	t.Helper()
	n := 0
	if err := st.List(t.Context(), prefix, func(storage.ObjectInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBatchTasksCountsDocuments checks that the queue's count of a
// batch's tasks says how many documents its seal tasks hold.
func TestBatchTasksCountsDocuments(t *testing.T) {
	t.Parallel()
	opt, client := queue(t)
	h := workers.NewHandlers(newFake(names(70)...), client, workers.Config{Bucket: "b"})
	intake, doc, _ := testTasks(t)
	if err := h.HandleBatchIntake(t.Context(), intake); err != nil {
		t.Fatal(err)
	}
	if err := h.Enqueue(t.Context(), doc); err != nil { // a hand-off
		t.Fatal(err)
	}
	other, err := workers.NewDocumentsSealTask("b", pipeline.BatchRef{Department: "d", Batch: "y"}, "e1", 0, names(5))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Enqueue(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	c, err := workers.BatchTasks(t.Context(), workers.Redis{Addr: opt.Addr}, "", "b", testRef)
	if err != nil {
		t.Fatal(err)
	}
	// 24 chunks of 3 (spread over 32 tasks at most) and a document
	// pending, the report scheduled.
	if want := (workers.TaskCounts{Pending: 25, Scheduled: 1, Documents: 71}); c != want {
		t.Errorf("BatchTasks = %+v, want %+v", c, want)
	}
}

// downQueue is an Enqueuer whose Redis is down.
type downQueue struct{}

func (downQueue) EnqueueContext(context.Context, *asynq.Task, ...asynq.Option) (*asynq.TaskInfo, error) {
	return nil, errors.New("redis down")
}

// TestChunkFinalFailure checks that a chunk task failing for good drops no
// document: each is handed off to its own task or, with the queue down
// too, recorded as failed.
func TestChunkFinalFailure(t *testing.T) {
	t.Parallel()
	docs := names(3)
	chunk, err := workers.NewDocumentsSealTask("b", testRef, "e1", 0, docs)
	if err != nil {
		t.Fatal(err)
	}
	cause := errors.New("hand off: redis down")
	t.Run("handed off", func(t *testing.T) {
		t.Parallel()
		f := newFake(docs...)
		opt, client := queue(t)
		h := workers.NewHandlers(f, client, workers.Config{Bucket: "b"})
		h.HandleError(t.Context(), chunk, cause) // no retry count in the context: final
		tasks := queued(t, opt)
		for _, d := range docs {
			if tasks["seal:b/"+testRef.Inbox()+d+"@e1"] == nil {
				t.Errorf("%s not handed off", d)
			}
		}
		if len(f.recorded) != 0 || len(tasks) != len(docs) {
			t.Errorf("queued %d tasks, recorded %v; want %d hand-offs and no failure", len(tasks), f.recorded, len(docs))
		}
	})
	t.Run("recorded", func(t *testing.T) {
		t.Parallel()
		f := newFake(docs...)
		h := workers.NewHandlers(f, downQueue{}, workers.Config{Bucket: "b"})
		h.HandleError(t.Context(), chunk, cause)
		for _, d := range docs {
			if len(f.recorded[d]) != 1 || !errors.Is(f.recorded[d][0], cause) {
				t.Errorf("%s: recorded %v, want the chunk's failure once", d, f.recorded[d])
			}
		}
	})
}
