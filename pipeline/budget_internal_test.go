package pipeline

import (
	"context"
	"testing"
	"time"
)

// acquired starts acquire(n) and returns a channel that yields its result.
func acquired(b *budget, ctx context.Context, n int64) <-chan error {
	c := make(chan error, 1)
	go func() { c <- b.acquire(ctx, n) }()
	return c
}

func mustWait(t *testing.T, c <-chan error, what string) {
	t.Helper()
	select {
	case err := <-c:
		t.Fatalf("%s did not wait (err %v)", what, err)
	case <-time.After(50 * time.Millisecond):
	}
}

func mustGet(t *testing.T, c <-chan error, what string) {
	t.Helper()
	select {
	case err := <-c:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still waits", what)
	}
}

// TestBudgetFirstComeFirstServed: a waiting request is served before
// later ones that would fit, so a large document cannot starve.
func TestBudgetFirstComeFirstServed(t *testing.T) {
	ctx := context.Background()
	b := newBudget(10)
	if !b.tryAcquire(6) {
		t.Fatal("6 of 10 refused")
	}
	big := acquired(b, ctx, 6)
	mustWait(t, big, "6 more bytes")
	if b.tryAcquire(2) {
		t.Fatal("2 bytes overtook a waiting request")
	}
	small := acquired(b, ctx, 2)
	mustWait(t, small, "2 bytes behind a waiter")
	b.release(6)
	mustGet(t, big, "the waiting 6 bytes")
	mustGet(t, small, "the 2 bytes behind it")
	if b.used != 8 {
		t.Fatalf("used %d, want 8", b.used)
	}
	b.release(6)
	b.release(2)
	if b.used != 0 || b.waiters.Len() != 0 {
		t.Fatalf("used %d, %d waiters", b.used, b.waiters.Len())
	}
}

// TestBudgetOversize: a request larger than the whole budget is served
// alone, once nothing else is charged.
func TestBudgetOversize(t *testing.T) {
	ctx := context.Background()
	b := newBudget(10)
	b.tryAcquire(1)
	huge := acquired(b, ctx, 1000)
	mustWait(t, huge, "an oversize request beside another")
	b.release(1)
	mustGet(t, huge, "an oversize request alone")
	if b.used != 10 {
		t.Fatalf("used %d, want the whole budget", b.used)
	}
	b.release(1000)
	if b.used != 0 {
		t.Fatalf("used %d after release", b.used)
	}
}

// TestBudgetCancel: a waiter that gives up leaves the queue, and those
// behind it that fit are served.
func TestBudgetCancel(t *testing.T) {
	b := newBudget(10)
	b.tryAcquire(5)
	ctx, cancel := context.WithCancel(context.Background())
	big := acquired(b, ctx, 8)
	mustWait(t, big, "8 bytes")
	small := acquired(b, context.Background(), 5)
	mustWait(t, small, "5 bytes behind a waiter")
	cancel()
	if err := <-big; err != context.Canceled {
		t.Fatalf("cancelled acquire: %v", err)
	}
	mustGet(t, small, "5 bytes once the waiter before gave up")
	if b.used != 10 || b.waiters.Len() != 0 {
		t.Fatalf("used %d, %d waiters", b.used, b.waiters.Len())
	}
}

func TestNoBudget(t *testing.T) {
	if newBudget(-1) != nil {
		t.Fatal("a negative budget should mean none")
	}
	c := Config{}
	c.setDefaults()
	if c.MemoryBudget != DefaultMemoryBudget {
		t.Fatalf("default budget %d", c.MemoryBudget)
	}
}
