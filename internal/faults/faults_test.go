package faults

import (
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/storage"
)

// batchTimeout bounds the wait for a fault run's batch report.
const batchTimeout = 6 * time.Minute

// midBatch is how many documents must be sealed before a fault is
// injected: a fifth of the batch.
const midBatch = batchDocs / 5

// outage is how long MinIO stays down.
const outage = 20 * time.Second

// injectMidBatch waits until midBatch documents are sealed, runs fault,
// and fails the test if the batch was complete by then: the fault must hit
// a batch in progress.
func (c *cluster) injectMidBatch(what string, fault func()) {
	c.t.Helper()
	n := c.waitSealed(midBatch, batchTimeout)
	fault()
	if n >= batchDocs {
		c.t.Fatalf("%s: the batch was complete before the fault (%d sealed)", what, n)
	}
	c.t.Logf("%s with %d of %d documents sealed", what, n, batchDocs)
}

// finish waits for the batch, stops the workers — tasks still running,
// such as a second report task, finish first — and checks that every
// document has exactly one outcome.
func (c *cluster) finish(start time.Time) {
	c.t.Helper()
	b := c.waitBatch(batchTimeout)
	c.t.Logf("batch complete %s after the workers started", time.Since(start).Round(time.Millisecond))
	c.stopWorkers()
	c.checkExactlyOnce(b)
}

// TestWorkerKilled: a worker is killed with SIGKILL in the middle of a
// batch; another one started afterwards completes it, taking over the
// tasks the dead one held once their leases expire.
func TestWorkerKilled(t *testing.T) {
	long(t)
	t.Parallel()
	c := newCluster(t, sampleBatch(t))
	start := time.Now()
	w := c.startWorker()
	c.injectMidBatch("kill -9 the only worker", func() { w.kill9(t) })
	// Documents the dead worker had sealed but not yet reported on are
	// finished by the next one from the sealed output (crash safety).
	ref := c.batch.Ref.String() + "/"
	t.Logf("at the kill: %d sealed PDFs, %d reports", c.count(storage.PrefixSealed+ref), c.count(storage.PrefixReports+ref))
	c.startWorker()
	c.finish(start)
}

// TestRedisKilled: Redis, which keeps no data on disk, is killed in the
// middle of a batch and restarted empty five seconds later: every queued
// task is lost. The workers reconnect, the inbox poller finds the batch
// again (it has no report yet) and its intake re-enqueues the documents.
func TestRedisKilled(t *testing.T) {
	long(t)
	t.Parallel()
	c := newCluster(t, sampleBatch(t))
	start := time.Now()
	c.startWorker()
	c.startWorker()
	c.injectMidBatch("kill -9 Redis", c.redis.Kill)
	time.Sleep(5 * time.Second)
	c.redis.Restart()
	c.finish(start)
}

// TestMinIOOutage: MinIO is unavailable for 20 seconds in the middle of a
// batch — frozen (SIGSTOP: requests hang), or killed and restarted on the
// same port and data (requests are refused).
func TestMinIOOutage(t *testing.T) {
	long(t)
	t.Parallel()
	for _, o := range []struct {
		name       string
		down, back func(c *cluster)
	}{
		{"frozen", func(c *cluster) { c.minio.Stop() }, func(c *cluster) { c.minio.Continue() }},
		{"killed", func(c *cluster) { c.minio.Kill() }, func(c *cluster) { c.minio.Restart() }},
	} {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, sampleBatch(t))
			start := time.Now()
			c.startWorker()
			c.startWorker()
			c.injectMidBatch("MinIO "+o.name, func() { o.down(c) })
			time.Sleep(outage)
			o.back(c)
			c.finish(start)
		})
	}
}

// TestRacingWorkers: several `sealpipe run` processes seal the same batch
// at once. Two share one Redis, as the README allows: task IDs share the
// work out. Three adds a worker on a second Redis, a second queue over the
// same bucket: it is handed every task of the batch again, so documents
// are sealed twice at the same moment and only create-only writes keep one
// outcome each.
func TestRacingWorkers(t *testing.T) {
	long(t)
	t.Parallel()
	t.Run("two", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, sampleBatch(t))
		start := time.Now()
		c.startWorker()
		c.startWorker()
		c.finish(start)
	})
	t.Run("three", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, sampleBatch(t))
		other := testenv.StartRedis(t)
		start := time.Now()
		c.startWorker()
		c.startWorker()
		c.startWorkerOn(other.Addr)
		c.finish(start)
	})
}
