package exchange

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/sealpipe/sealpipe/storage"
)

// Mark is the last document applied from one issuer: its high-water mark.
type Mark struct {
	// Number is a revocation list's number; zero for a filing export.
	Number int64 `json:"number,omitempty"`
	// At is when the document was issued (a list's issued_at, an
	// export's created_at).
	At time.Time `json:"at"`
	// SM3 is the hex SM3 of the document's signed payload.
	SM3 string `json:"sm3"`
	// Applied is when it was applied here.
	Applied time.Time `json:"applied"`
}

// after reports why m cannot follow last, or nil if it can: it must not
// be older (a lower number, an earlier time), and a document with the
// same number (a list's), or the same time, must be the same document.
func (m Mark) after(last Mark) error {
	switch {
	case m.Number < last.Number:
		return fmt.Errorf("%w: number %d, but number %d (issued %s) was applied on %s", ErrStale, m.Number, last.Number, rfc3339(last.At), rfc3339(last.Applied))
	case m.At.Before(last.At):
		return fmt.Errorf("%w: issued %s, but one issued %s was applied on %s", ErrStale, rfc3339(m.At), rfc3339(last.At), rfc3339(last.Applied))
	case m.SM3 != last.SM3 && (m.Number != 0 && m.Number == last.Number || m.At.Equal(last.At)):
		return fmt.Errorf("%w: another document with number %d issued %s (SM3 %s) was applied on %s", ErrStale, last.Number, rfc3339(last.At), last.SM3, rfc3339(last.Applied))
	}
	return nil
}

// Marks keeps the high-water mark of each issuer's documents beyond one
// process, on the importing machine and out of the exchanged stores'
// reach.
type Marks interface {
	// Load returns the mark kept under key, and false if there is none.
	Load(ctx context.Context, key string) (Mark, bool, error)
	// Raise records m under key unless the mark kept there is newer.
	Raise(ctx context.Context, key string, m Mark) error
}

// StoredMarks returns Marks kept as one JSON object ({"<key>": Mark, …})
// at key in st, a store of the importing machine's own (the engine keeps
// it under <data>/state/exchange/). Raises by several processes are
// serialised by compare-and-swap on the object's ETag.
func StoredMarks(st storage.Store, key string) Marks { return storedMarks{st, key} }

type storedMarks struct {
	store storage.Store
	key   string
}

// maxMarksSize bounds the marks object: one entry per issuer.
const maxMarksSize = 1 << 20

func (s storedMarks) load(ctx context.Context) (map[string]Mark, string, error) {
	b, info, err := storage.ReadAll(ctx, s.store, s.key, maxMarksSize)
	if errors.Is(err, storage.ErrNotExist) {
		return map[string]Mark{}, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("exchange: marks: %w", err)
	}
	m := map[string]Mark{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "", fmt.Errorf("exchange: marks %s: %w", s.key, err)
	}
	return m, info.ETag, nil
}

// Load implements Marks.
func (s storedMarks) Load(ctx context.Context, key string) (Mark, bool, error) {
	m, _, err := s.load(ctx)
	if err != nil {
		return Mark{}, false, err
	}
	mk, ok := m[key]
	return mk, ok, nil
}

// Raise implements Marks.
func (s storedMarks) Raise(ctx context.Context, key string, mk Mark) error {
	for {
		old, etag, err := s.load(ctx)
		if err != nil {
			return err
		}
		if last, ok := old[key]; ok && mk.after(last) != nil {
			return nil // a newer one is recorded: keep it
		}
		m := maps.Clone(old)
		m[key] = mk
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		opts := storage.PutOptions{ContentType: "application/json", IfMatch: etag, IfNoneMatch: etag == ""}
		_, err = s.store.Put(ctx, s.key, bytes.NewReader(b), int64(len(b)), opts)
		if !errors.Is(err, storage.ErrPreconditionFailed) {
			if err != nil {
				return fmt.Errorf("exchange: marks: %w", err)
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// checkMark refuses doc (under key) if marks holds a newer one.
func checkMark(ctx context.Context, marks Marks, key string, doc Mark) error {
	last, ok, err := marks.Load(ctx, key)
	if err != nil || !ok {
		return err
	}
	return doc.after(last)
}
