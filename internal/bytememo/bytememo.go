// Package bytememo remembers what a function made of the last few byte
// strings it was given. A batch seals and reports on many documents with
// the same few seals, and their pictures and encodings come back with each
// document: deriving them again each time costs a part of what the
// signature does.
package bytememo

import (
	"bytes"
	"slices"
	"sync"
)

// DefaultSize is Memo.Size's default.
const DefaultSize = 16

// Memo keeps what a function made of the last Size distinct byte strings
// it was given, oldest dropped first. An input is found by comparing its
// bytes, which costs less than hashing them. Each value is made once, even
// when many goroutines want it at once. The zero Memo is ready to use.
type Memo[V any] struct {
	// Size is how many distinct inputs the memo keeps; zero means
	// DefaultSize. Set it before the first Get.
	Size int

	mu      sync.Mutex
	entries []*entry[V]
}

// entry is one input, a copy, and what was made of it.
type entry[V any] struct {
	key  []byte
	once sync.Once
	v    V
	err  error
}

// Get returns derive(key), derived once while key is kept, error included.
func (m *Memo[V]) Get(key []byte, derive func([]byte) (V, error)) (V, error) {
	e := m.entry(key)
	e.once.Do(func() { e.v, e.err = derive(e.key) })
	return e.v, e.err
}

// entry returns the entry for key, adding one, and dropping the oldest if
// the memo is full, if there is none.
func (m *Memo[V]) entry(key []byte) *entry[V] {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if bytes.Equal(e.key, key) {
			return e
		}
	}
	size := m.Size
	if size <= 0 {
		size = DefaultSize
	}
	if len(m.entries) >= size {
		m.entries = slices.Delete(m.entries, 0, 1)
	}
	e := &entry[V]{key: bytes.Clone(key)}
	m.entries = append(m.entries, e)
	return e
}
