package keys

import (
	"context"
	"crypto"
	"errors"
	"io"
	"sync"
)

// ErrClosed reports a use of a Cache after its Close.
var ErrClosed = errors.New("keys: signer cache closed")

// Cache keeps opened signers by key URI, so that each key is opened once —
// a KDF run for an encrypted key file, a login for an HSM key — and shared
// by every later caller. It is safe for concurrent use.
type Cache struct {
	open func(ctx context.Context, uri string) (crypto.Signer, error)

	mu      sync.Mutex
	entries map[string]*cacheEntry
	closed  bool
	opening sync.WaitGroup // opens in progress
}

// cacheEntry is one key URI's signer, or the open in progress that will
// provide it.
type cacheEntry struct {
	done   chan struct{}      // closed when the open has finished
	cancel context.CancelFunc // cancels the open in progress
	signer crypto.Signer      // set before done is closed
	err    error              // set before done is closed
}

// NewCache returns a cache that opens keys with open, such as a closure over
// Open and its Options.
func NewCache(open func(ctx context.Context, uri string) (crypto.Signer, error)) *Cache {
	return &Cache{open: open, entries: make(map[string]*cacheEntry)}
}

// Signer returns the signer uri names, opening it on first use.
//
// Concurrent first callers wait for one open. The open does not belong to
// the caller that started it: it runs with ctx's values but not its
// cancellation, so a caller that gives up returns ctx.Err() while the open
// goes on for the others. A failed open is not cached; the next call tries
// again. After Close, Signer fails with an error wrapping ErrClosed.
func (c *Cache) Signer(ctx context.Context, uri string) (crypto.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	e, ok := c.entries[uri]
	if !ok {
		octx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		e = &cacheEntry{done: make(chan struct{}), cancel: cancel}
		c.entries[uri] = e
		c.opening.Add(1)
		go c.fill(octx, uri, e)
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.signer, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fill opens uri's signer for e. A failed open leaves the cache so that a
// later call tries again; a signer opened after Close is closed at once.
func (c *Cache) fill(ctx context.Context, uri string, e *cacheEntry) {
	defer c.opening.Done()
	defer e.cancel()
	s, err := c.open(ctx, uri)
	c.mu.Lock()
	switch {
	case err != nil:
		delete(c.entries, uri)
	case c.closed:
		closeSigner(s) // Close has already run over the cached signers
		s, err = nil, ErrClosed
	}
	e.signer, e.err = s, err
	c.mu.Unlock()
	close(e.done)
}

// Close cancels the opens in progress and waits for them, closes every
// cached signer that is an io.Closer (an HSM session, for instance) and
// makes later Signer calls fail with ErrClosed. It returns the signers'
// Close errors, joined. Closing a closed Cache does nothing.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for _, e := range c.entries {
		e.cancel()
	}
	c.mu.Unlock()
	c.opening.Wait()

	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for uri, e := range c.entries {
		errs = append(errs, closeSigner(e.signer))
		delete(c.entries, uri)
	}
	return errors.Join(errs...)
}

// closeSigner closes s if it holds resources to release.
func closeSigner(s crypto.Signer) error {
	if cl, ok := s.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
