package pipeline

import (
	"container/list"
	"context"
	"errors"
	"sync"

	"github.com/sealpipe/sealpipe/storage"
)

// DefaultMemoryBudget is Config.MemoryBudget's default: 256 MiB of
// documents in flight, four documents of the largest default size.
const DefaultMemoryBudget = 256 << 20

// admit waits until document name of ref fits in the memory budget and
// charges its size, as the store reports it, against the budget until
// release is called. SealDocument holds it from before the document is read
// until its outputs are written, since every copy of the document it makes
// (the input, the sealed output, the verifier's parse of it) lives that
// long.
//
// The charge is the document's size, capped at Config.MaxDocumentSize (no
// more is ever read) and at the whole budget: a document larger than the
// budget is not refused — the budget bounds memory, not what may be sealed;
// Config.MaxDocumentSize does that — but processed alone, once every other
// document has released its share. A document that is not there yet
// charges nothing: sealDocument finds it missing without reading it.
func (p *Pipeline) admit(ctx context.Context, ref BatchRef, name string) (release func(), err error) {
	if p.budget == nil {
		return func() {}, nil
	}
	info, err := p.store.Stat(ctx, ref.Inbox()+name)
	if errors.Is(err, storage.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	n := min(info.Size, p.cfg.MaxDocumentSize)
	if !p.budget.tryAcquire(n) {
		p.cfg.Logger.DebugContext(ctx, "waiting for memory budget", "batch", ref.String(), "document", name, "bytes", n)
		if err := p.budget.acquire(ctx, n); err != nil {
			return nil, err
		}
	}
	return func() { p.budget.release(n) }, nil
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
