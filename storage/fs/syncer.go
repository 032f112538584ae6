package fs

import (
	"errors"
	iofs "io/fs"
	"maps"
	"os"
	"slices"
	"sync"
)

// syncer makes what a Store wrote durable in rounds that every writer
// waiting shares (group commit). A writer names the files and folders it
// changed (addFile, addDir) and waits for a round that began after that (wait); a
// round fsyncs everything named since the last one. On a journaling file
// system the first fsync of a round commits the journal for all of them,
// so a round costs about what one write's own fsyncs did, however many
// writes it covers; writers arriving while a round runs share the next.
//
// A failed round makes every later wait fail too: after a failed fsync
// the file system may have dropped what it could not write, and nothing
// written since can be vouched for (the store must be reopened).
type syncer struct {
	flush func(files, dirs []string) error // one round

	mu          sync.Mutex
	cond        *sync.Cond
	files, dirs map[string]bool // named for the next round
	requested   uint64          // waits asked for
	done        uint64          // waits covered by completed rounds
	running     bool
	err         error // sticky: the first failed round's
	rounds      uint64
}

func newSyncer(flush func(files, dirs []string) error) *syncer {
	y := &syncer{flush: flush, files: make(map[string]bool), dirs: make(map[string]bool)}
	y.cond = sync.NewCond(&y.mu)
	return y
}

// fsyncAll is a round: it fsyncs each file, and each folder as SyncDir
// does. One that is gone has nothing left to make durable: a folder
// pruned by a Delete.
func fsyncAll(files, dirs []string) error {
	for _, p := range files {
		f, err := os.Open(p)
		if errors.Is(err, iofs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	for _, d := range dirs {
		if err := SyncDir(d); err != nil && !errors.Is(err, iofs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// addFile names a file for the next round.
func (y *syncer) addFile(path string) { y.add(y.files, path) }

// addDir names a folder for the next round.
func (y *syncer) addDir(path string) { y.add(y.dirs, path) }

func (y *syncer) add(set map[string]bool, path string) {
	y.mu.Lock()
	set[path] = true
	y.mu.Unlock()
}

// wait returns once a round that began after the call has completed, with
// that round's error (or an earlier one's).
func (y *syncer) wait() error {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.err != nil {
		return y.err
	}
	y.requested++
	gen := y.requested
	if !y.running {
		y.running = true
		go y.run()
	}
	for y.done < gen && y.err == nil {
		y.cond.Wait()
	}
	return y.err
}

// run does rounds while waits are pending.
func (y *syncer) run() {
	y.mu.Lock()
	defer y.mu.Unlock()
	for y.done < y.requested && y.err == nil {
		upTo := y.requested
		files, dirs := slices.Sorted(maps.Keys(y.files)), slices.Sorted(maps.Keys(y.dirs))
		clear(y.files)
		clear(y.dirs)
		y.mu.Unlock()
		err := y.flush(files, dirs)
		y.mu.Lock()
		y.rounds++
		if err != nil {
			y.err = err
		}
		y.done = upTo
		y.cond.Broadcast()
	}
	y.running = false
}
