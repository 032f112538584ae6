//go:build unix

package keeper

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLockDir: a second change in the same folder waits for the first, as
// long as its context allows.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := lockDir(ctx, dir); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while the first is held: %v, want the deadline", err)
	}
	got := make(chan error, 1)
	go func() {
		release, err := lockDir(t.Context(), dir)
		if err == nil {
			release()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting lock was not granted after the release")
	}
}
