package pipeline

import (
	"container/list"
	"context"
	"errors"
	"sync"
)

// DefaultMemoryBudget is Config.MemoryBudget's default: 256 MiB of
// documents in flight, four documents of the largest default size.
const DefaultMemoryBudget = 256 << 20

// admission charges a document to be read against the memory budget,
// from the moment the store says how large it is (the answer to the GET
// that reads it, so no request of its own) until release is called: the
// document's source holds it (fetchAdmitted) until SealDocument has
// written its outputs, since every copy of the document it makes (the
// input, the sealed output, the verifier's parse of it) lives that long.
//
// The charge is the document's size, capped at Config.MaxDocumentSize (no
// more is ever read) and at the whole budget: a document larger than the
// budget is not refused — the budget bounds memory, not what may be
// sealed; Config.MaxDocumentSize does that — but processed alone, once
// every other document has released its share. A document that is not
// there charges nothing.
type admission struct {
	b       *budget
	charged int64 // -1 until charged
	want    int64 // the charge waited for (errNoRoom)
}

// errNoRoom is returned by admission.try when the document does not fit
// the budget now: the reader gives up its GET, waits, and reads again.
var errNoRoom = errors.New("pipeline: waiting for room in the memory budget")

// try charges a document of size bytes (negative: unknown, charged as
// limit) if it fits now, or once charged already; else errNoRoom.
func (a *admission) try(size, limit int64) error {
	if a.b == nil || a.charged >= 0 {
		return nil
	}
	if size < 0 || size > limit {
		size = limit
	}
	if !a.b.tryAcquire(size) {
		a.want = size
		return errNoRoom
	}
	a.charged = size
	return nil
}

// wait charges what try found no room for, waiting until ctx is done.
func (a *admission) wait(ctx context.Context) error {
	if err := a.b.acquire(ctx, a.want); err != nil {
		return err
	}
	a.charged = a.want
	return nil
}

// release gives the charge back, if any.
func (a *admission) release() {
	if a.b != nil && a.charged >= 0 {
		a.b.release(a.charged)
		a.charged = -1
	}
}

// budget is a weighted semaphore of bytes, first come first served: a
// large document waiting for room is not overtaken by small ones arriving
// after it, so it cannot starve.
type budget struct {
	size int64

	mu      sync.Mutex
	used    int64
	waiters list.List // of *budgetWaiter, in arrival order
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed once n is charged
}

// newBudget returns a budget of size bytes, or nil (no bound) when size is
// negative.
func newBudget(size int64) *budget {
	if size < 0 {
		return nil
	}
	return &budget{size: size}
}

// clamp caps a charge at the whole budget.
func (b *budget) clamp(n int64) int64 { return max(0, min(n, b.size)) }

// tryAcquire charges n bytes if they fit now and nobody waits before.
func (b *budget) tryAcquire(n int64) bool {
	n = b.clamp(n)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.waiters.Len() == 0 && b.used+n <= b.size {
		b.used += n
		return true
	}
	return false
}

// acquire charges n bytes, waiting for room until ctx is done.
func (b *budget) acquire(ctx context.Context, n int64) error {
	n = b.clamp(n)
	b.mu.Lock()
	if b.waiters.Len() == 0 && b.used+n <= b.size {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	elem := b.waiters.PushBack(w)
	b.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-w.ready:
			// Charged while giving up: hand the bytes on.
			b.used -= n
		default:
			b.waiters.Remove(elem)
		}
		b.wake() // those behind may fit now
		return ctx.Err()
	}
}

// release gives back n bytes charged by acquire or tryAcquire.
func (b *budget) release(n int64) {
	n = b.clamp(n)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if b.used < 0 {
		panic("pipeline: memory budget released more than was charged")
	}
	b.wake()
}

// wake charges the waiters at the front, in order, while they fit. The
// caller holds b.mu.
func (b *budget) wake() {
	for e := b.waiters.Front(); e != nil; e = b.waiters.Front() {
		w := e.Value.(*budgetWaiter)
		if b.used+w.n > b.size {
			return
		}
		b.used += w.n
		b.waiters.Remove(e)
		close(w.ready)
	}
}
