package pdfseal

import (
	"bytes"
	"slices"
	"sync"
)

// memoSize is how many distinct inputs a memo keeps.
const memoSize = 16

// memo keeps what a function made of the last memoSize distinct byte
// strings it was given, oldest dropped first. A batch applies the same
// seal to many documents: its picture (images) and its SESeal (sealStrings)
// come back with each, and encoding them each time costs a part of what
// the signature does. An input is found by comparing its bytes, which
// costs less than hashing them. Each value is made once, even when many
// workers want it at once (those that start a batch together all do).
type memo[V any] struct {
	mu      sync.Mutex
	entries []*memoEntry[V]
}

// memoEntry is one input, a copy, and what was made of it.
type memoEntry[V any] struct {
	key  []byte
	once sync.Once
	v    V
	err  error
}

// get returns derive(key), derived once while key is kept.
func (m *memo[V]) get(key []byte, derive func([]byte) (V, error)) (V, error) {
	e := m.entry(key)
	e.once.Do(func() { e.v, e.err = derive(e.key) })
	return e.v, e.err
}

// entry returns the entry for key, adding one, and dropping the oldest if
// the memo is full, if there is none.
func (m *memo[V]) entry(key []byte) *memoEntry[V] {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if bytes.Equal(e.key, key) {
			return e
		}
	}
	if len(m.entries) >= memoSize {
		m.entries = slices.Delete(m.entries, 0, 1)
	}
	e := &memoEntry[V]{key: bytes.Clone(key)}
	m.entries = append(m.entries, e)
	return e
}
