package fs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/storage"
)

// TestSyncer: concurrent waits share rounds, and each returns only after
// a round that began after it was called has ended.
func TestSyncer(t *testing.T) {
	type span struct{ start, end time.Time }
	var mu sync.Mutex
	var rounds []span
	y := newSyncer(func(_, _ []string) error {
		s := span{start: time.Now()}
		time.Sleep(5 * time.Millisecond)
		s.end = time.Now()
		mu.Lock()
		rounds = append(rounds, s)
		mu.Unlock()
		return nil
	})
	const waiters = 64
	var wg sync.WaitGroup
	calls := make([]span, waiters)
	for i := range waiters {
		wg.Go(func() {
			calls[i].start = time.Now()
			if err := y.wait(); err != nil {
				t.Error(err)
			}
			calls[i].end = time.Now()
		})
	}
	wg.Wait()
	if len(rounds) >= waiters/4 {
		t.Errorf("%d waits took %d rounds; want them shared", waiters, len(rounds))
	}
	for i, c := range calls {
		covered := false
		for _, r := range rounds {
			covered = covered || !r.start.Before(c.start) && !r.end.After(c.end)
		}
		if !covered {
			t.Errorf("wait %d (%v – %v) returned without a round inside it: %v", i, c.start, c.end, rounds)
		}
	}
}

// TestSyncerError: a failed round fails its waits and every later one.
func TestSyncerError(t *testing.T) {
	fail := errors.New("EIO")
	n := 0
	y := newSyncer(func(_, _ []string) error {
		n++
		if n == 2 {
			return fail
		}
		return nil
	})
	for i, want := range []error{nil, fail, fail} {
		if err := y.wait(); !errors.Is(err, want) {
			t.Errorf("wait %d: %v, want %v", i, err, want)
		}
	}
	if n != 2 {
		t.Errorf("%d rounds; after a failed one none should run", n)
	}
}

// TestGroupCommit: concurrent Puts share their rounds, and each round
// fsyncs what its Puts wrote; a Put that fails its barrier fails,
// publishing nothing after it.
func TestGroupCommit(t *testing.T) {
	s, err := Open(t.TempDir(), "group")
	if err != nil {
		t.Fatal(err)
	}
	const puts = 32
	var wg sync.WaitGroup
	for i := range puts {
		wg.Go(func() {
			body := fmt.Sprintf("object %d", i)
			if _, err := s.Put(t.Context(), fmt.Sprintf("g/%02d", i), strings.NewReader(body), int64(len(body)), storage.PutOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if r := s.group.rounds; r >= 2*puts {
		t.Errorf("%d Puts took %d rounds, two each: none shared", puts, r)
	} else {
		t.Logf("%d Puts, %d rounds", puts, r)
	}

	// A Put's rounds fsync its content, its sidecar and both folders.
	var synced []string
	s.group = newSyncer(func(files, dirs []string) error {
		synced = append(append(synced, files...), dirs...)
		return fsyncAll(files, dirs)
	})
	const key = "g/sub/one"
	if _, err := s.Put(t.Context(), key, strings.NewReader("one"), 3, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	tmp := slices.ContainsFunc(synced, func(p string) bool { return strings.HasPrefix(p, s.tmp+string(filepath.Separator)) })
	for what, want := range map[string]bool{
		"the content": tmp,
		"the sidecar": slices.Contains(synced, s.sidecarPath(key)),
		"its folder":  slices.Contains(synced, filepath.Dir(s.sidecarPath(key))),
		"the folder":  slices.Contains(synced, filepath.Dir(s.objectPath(key))),
	} {
		if !want {
			t.Errorf("the rounds of a Put did not fsync %s: %q", what, synced)
		}
	}

	flushed := s.group.flush
	s.group = newSyncer(func(_, _ []string) error { return errors.New("EIO") })
	defer func() { s.group = newSyncer(flushed) }()
	if _, err := s.Put(t.Context(), "g/lost", strings.NewReader("x"), 1, storage.PutOptions{}); err == nil {
		t.Error("Put succeeded though its content could not be made durable")
	}
	if _, err := s.Stat(t.Context(), "g/lost"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("after a failed barrier before publishing: Stat %v, want the object absent", err)
	}
}

// TestRoundFlush: a round's flush makes the files and folders named
// durable without an error, and the flush of a store whose root cannot
// be opened falls back to fsyncing each name, which skips one since
// removed and fails on one it cannot open.
func TestRoundFlush(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(dir, "gone")
	if err := roundFlush(dir)([]string{file, gone}, []string{dir}); err != nil {
		t.Errorf("a round over %s: %v", dir, err)
	}
	fallback := roundFlush(filepath.Join(dir, "missing"))
	if err := fallback([]string{file, gone}, []string{dir}); err != nil {
		t.Errorf("a round of fsyncs: %v", err)
	}
	if err := fallback([]string{filepath.Join(file, "not-a-folder")}, nil); err == nil {
		t.Error("a round of fsyncs passed over a name it could not open")
	}
}
