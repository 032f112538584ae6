package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/sealpipe/sealpipe/storage"
)

// Marks keeps the newest change a registry has seen of each seal — its
// high-water marks — beyond the life of one process, so that a seal's log
// rolled back to an older signed head, or deleted, is noticed after a
// restart too, not only by the process that saw the newer head. A log only
// ever grows: a mark never goes down.
type Marks interface {
	// Load returns the marks recorded so far, by seal identifier.
	Load(ctx context.Context) (map[string]int, error)
	// Raise records that change seq of seal id has been seen; a lower
	// seq than the one recorded leaves the record as it is.
	Raise(ctx context.Context, id string, seq int) error
}

// Remember makes g load its high-water marks from m now and raise them in
// m whenever it sees a newer head. A head older than its mark, or a seal
// with a mark but no head, is then a *TamperError for g.
func (g *Registry) Remember(ctx context.Context, m Marks) error {
	loaded, err := m.Load(ctx)
	if err != nil {
		return fmt.Errorf("registry: high-water marks: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for id, seq := range loaded {
		g.seen[id] = max(g.seen[id], seq)
	}
	g.marks = m
	return nil
}

// StoredMarks returns Marks kept as one JSON object ({"<seal id>": seq,
// …}) at key in st — a store of the worker's own, such as a local folder,
// never the bucket the registry is in: marks anyone with access to the
// registry could lower protect nothing. Raises by several processes are
// serialised by compare-and-swap on the object's ETag.
func StoredMarks(st storage.Store, key string) Marks { return storedMarks{st, key} }

type storedMarks struct {
	store storage.Store
	key   string
}

// maxMarksSize bounds the marks object: a few dozen bytes per seal.
const maxMarksSize = 16 << 20

func (s storedMarks) Load(ctx context.Context) (map[string]int, error) {
	m, _, err := s.load(ctx)
	return m, err
}

func (s storedMarks) load(ctx context.Context) (map[string]int, string, error) {
	b, info, err := storage.ReadAll(ctx, s.store, s.key, maxMarksSize)
	if errors.Is(err, storage.ErrNotExist) {
		return map[string]int{}, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	m := map[string]int{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "", fmt.Errorf("%s: %w", s.key, err)
	}
	return m, info.ETag, nil
}

func (s storedMarks) Raise(ctx context.Context, id string, seq int) error {
	_, err := s.swap(ctx, func(m map[string]int) map[string]int {
		if m[id] >= seq {
			return nil
		}
		m[id] = seq
		return m
	})
	return err
}

// swap replaces the marks with what next makes of a copy of them, by
// compare-and-swap on the object's ETag: when another process changed
// them meanwhile (a raise), next sees theirs and is asked again. next
// returns nil to leave the marks as they are. swap returns the marks it
// replaced.
func (s storedMarks) swap(ctx context.Context, next func(map[string]int) map[string]int) (map[string]int, error) {
	for {
		old, etag, err := s.load(ctx)
		if err != nil {
			return nil, err
		}
		m := next(maps.Clone(old))
		if m == nil {
			return old, nil
		}
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return nil, err
		}
		opts := storage.PutOptions{ContentType: "application/json", IfMatch: etag, IfNoneMatch: etag == ""}
		_, err = s.store.Put(ctx, s.key, bytes.NewReader(b), int64(len(b)), opts)
		if !errors.Is(err, storage.ErrPreconditionFailed) {
			return old, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// ResetMarks replaces the marks kept at key in st (the object StoredMarks
// reads) with marks, lowering any that were higher and dropping those of
// seals marks does not name, and returns the marks it replaced. It is for
// a registry restored from a backup — a rollback made on purpose — on the
// machine that restored it; every other machine's marks must go too, or
// its pipeline refuses the restored seals as rolled back.
func ResetMarks(ctx context.Context, st storage.Store, key string, marks map[string]int) (map[string]int, error) {
	return storedMarks{st, key}.swap(ctx, func(map[string]int) map[string]int {
		m := maps.Clone(marks)
		if m == nil {
			m = map[string]int{} // none: nil would leave the old ones
		}
		return m
	})
}
