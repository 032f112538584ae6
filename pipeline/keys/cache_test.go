package keys_test

import (
	"context"
	"crypto"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// fakeSigner is a signer that records being closed.
type fakeSigner struct {
	uri    string
	closed atomic.Int32
	err    error // returned by Close
}

func (s *fakeSigner) Public() crypto.PublicKey { return nil }
func (s *fakeSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("fake signer")
}
func (s *fakeSigner) Close() error { s.closed.Add(1); return s.err }

// opener is a key opener whose opens block until release is closed (or
// their context is done) and are counted per URI.
type opener struct {
	release chan struct{}
	started chan string // receives each URI as its open starts, if not nil
	fail    atomic.Int32
	mu      sync.Mutex
	opens   map[string]int
	signers []*fakeSigner
}

func newOpener() *opener {
	return &opener{release: make(chan struct{}), opens: map[string]int{}}
}

func (o *opener) open(ctx context.Context, uri string) (crypto.Signer, error) {
	o.mu.Lock()
	o.opens[uri]++
	o.mu.Unlock()
	if o.started != nil {
		o.started <- uri
	}
	select {
	case <-o.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if o.fail.Load() > 0 {
		o.fail.Add(-1)
		return nil, errors.New("hsm unreachable")
	}
	s := &fakeSigner{uri: uri}
	o.mu.Lock()
	o.signers = append(o.signers, s)
	o.mu.Unlock()
	return s, nil
}

func (o *opener) count(uri string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.opens[uri]
}

func TestCacheOpensEachURIOnce(t *testing.T) {
	t.Parallel()
	o := newOpener()
	c := keys.NewCache(o.open)
	defer c.Close()
	uris := []string{"file:/a.pem", "pkcs11:object=b"}
	const callers = 16
	got := make([][callers]crypto.Signer, len(uris))
	var wg sync.WaitGroup
	for u, uri := range uris {
		for i := range callers {
			wg.Go(func() {
				s, err := c.Signer(t.Context(), uri)
				if err != nil {
					t.Errorf("Signer(%s): %v", uri, err)
				}
				got[u][i] = s
			})
		}
	}
	time.Sleep(10 * time.Millisecond) // let the callers pile up on the first open
	close(o.release)
	wg.Wait()
	for u, uri := range uris {
		if n := o.count(uri); n != 1 {
			t.Errorf("%s opened %d times, want 1", uri, n)
		}
		for i := range callers {
			if s, ok := got[u][i].(*fakeSigner); !ok || s != got[u][0] || s.uri != uri {
				t.Fatalf("caller %d of %s got %v, want the one signer of %s", i, uri, got[u][i], uri)
			}
		}
	}
	if s, err := c.Signer(t.Context(), uris[0]); err != nil || s != got[0][0] || o.count(uris[0]) != 1 {
		t.Errorf("a later call = %v, %v after %d opens, want the cached signer", s, err, o.count(uris[0]))
	}
}

// TestCacheCallerGivesUp checks that the caller who started an open may give
// up without failing the open for those who wait with it.
func TestCacheCallerGivesUp(t *testing.T) {
	t.Parallel()
	o := newOpener()
	o.started = make(chan string, 1)
	c := keys.NewCache(o.open)
	defer c.Close()
	const uri = "pkcs11:object=slow"

	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() {
		_, err := c.Signer(ctx, uri)
		first <- err
	}()
	<-o.started
	second := make(chan crypto.Signer, 1)
	go func() {
		s, err := c.Signer(t.Context(), uri)
		if err != nil {
			t.Errorf("second caller: %v", err)
		}
		second <- s
	}()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled first caller = %v, want context.Canceled", err)
	}
	close(o.release)
	if s := <-second; s == nil {
		t.Fatal("the second caller got no signer")
	}
	if n := o.count(uri); n != 1 {
		t.Errorf("opened %d times, want 1", n)
	}
}

func TestCacheCancelledCaller(t *testing.T) {
	t.Parallel()
	o := newOpener()
	c := keys.NewCache(o.open)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Signer(ctx, "file:/a.pem"); !errors.Is(err, context.Canceled) {
		t.Errorf("Signer with a cancelled context = %v, want context.Canceled", err)
	}
	if err := c.Close(); err != nil { // waits for any open started
		t.Fatal(err)
	}
	if n := o.count("file:/a.pem"); n != 0 {
		t.Errorf("a caller who had already given up started %d opens", n)
	}
}

func TestCacheDoesNotKeepFailures(t *testing.T) {
	t.Parallel()
	o := newOpener()
	close(o.release)
	o.fail.Store(1)
	c := keys.NewCache(o.open)
	defer c.Close()
	const uri = "file:/flaky.pem"
	if _, err := c.Signer(t.Context(), uri); err == nil {
		t.Fatal("the failing open succeeded")
	}
	if s, err := c.Signer(t.Context(), uri); err != nil || s == nil {
		t.Fatalf("second call = %v, %v; want the signer of a second open", s, err)
	}
	if n := o.count(uri); n != 2 {
		t.Errorf("opened %d times, want 2", n)
	}
}

func TestCacheClose(t *testing.T) {
	t.Parallel()
	o := newOpener()
	close(o.release)
	c := keys.NewCache(o.open)
	a, err := c.Signer(t.Context(), "file:/a.pem")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Signer(t.Context(), "file:/b.pem")
	if err != nil {
		t.Fatal(err)
	}
	b.(*fakeSigner).err = errors.New("logout failed")

	if err := c.Close(); err == nil || err.Error() != "logout failed" {
		t.Errorf("Close = %v, want the signer's Close error", err)
	}
	for _, s := range []crypto.Signer{a, b} {
		if n := s.(*fakeSigner).closed.Load(); n != 1 {
			t.Errorf("%s closed %d times, want 1", s.(*fakeSigner).uri, n)
		}
	}
	if _, err := c.Signer(t.Context(), "file:/a.pem"); !errors.Is(err, keys.ErrClosed) {
		t.Errorf("Signer after Close = %v, want ErrClosed", err)
	}
	if n := o.count("file:/a.pem"); n != 1 {
		t.Errorf("Signer after Close opened the key again (%d opens)", n)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if n := a.(*fakeSigner).closed.Load(); n != 1 {
		t.Errorf("a second Close closed a signer again (%d closes)", n)
	}
}

// TestCacheCloseDuringOpen checks that Close cancels an open in progress,
// that its waiters fail, and that no signer stays open.
func TestCacheCloseDuringOpen(t *testing.T) {
	t.Parallel()
	o := newOpener()
	o.started = make(chan string, 1)
	c := keys.NewCache(o.open)
	waiter := make(chan error, 1)
	go func() {
		_, err := c.Signer(t.Context(), "pkcs11:object=slow")
		waiter <- err
	}()
	<-o.started
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-waiter; err == nil {
		t.Fatal("a caller waiting for an open that Close cancelled got a signer")
	}
}

// TestCacheOpenFinishingAfterClose checks that a signer whose open ends
// after Close (an open that ignores cancellation) is closed, not handed out.
func TestCacheOpenFinishingAfterClose(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	s := &fakeSigner{uri: "pkcs11:object=stubborn"}
	c := keys.NewCache(func(context.Context, string) (crypto.Signer, error) {
		close(started)
		<-release // ignores its context
		return s, nil
	})
	waiter := make(chan error, 1)
	go func() {
		_, err := c.Signer(t.Context(), s.uri)
		waiter <- err
	}()
	<-started
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	time.Sleep(10 * time.Millisecond) // let Close cancel and wait
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-waiter; !errors.Is(err, keys.ErrClosed) {
		t.Errorf("waiter = %v, want ErrClosed", err)
	}
	if n := s.closed.Load(); n != 1 {
		t.Errorf("signer opened after Close was closed %d times, want 1", n)
	}
}
