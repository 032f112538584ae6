package keeper

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	storefs "github.com/sealpipe/sealpipe/storage/fs"
)

// point names a moment of a rotation or PIN change at which tests make
// the process "crash": the hook returns an error and the operation stops
// there, with no clean-up, as a killed process would.
type point string

// hook is called at each point; a non-nil error stops the operation.
type hook func(point) error

func (h hook) at(p point) error {
	if h == nil {
		return nil
	}
	return h(p)
}

// WriteFileAtomic replaces the file at path with data, durably: it writes
// a temporary file beside it, fsyncs it, renames it over path and fsyncs
// the folder, so that after a crash path holds either its old content or
// data, whole. A file that exists keeps its mode and, where the platform
// has them, its owner and group; a new one gets perm.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return writeAtomic(path, data, perm, nil)
}

// tempName is the temporary file that writeAtomic writes for path: a
// dot-file beside it, reused (truncated) by the next write.
func tempName(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".keeper-tmp")
}

// writeAtomic is WriteFileAtomic with a hook called when half of data is
// written to the temporary file and again once it has been renamed.
func writeAtomic(path string, data []byte, perm fs.FileMode, h hook) error {
	tmp := tempName(path)
	old, err := os.Stat(path)
	switch {
	case err == nil:
		perm = old.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("keeper: %w", err)
	default:
		old = nil
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("keeper: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("keeper: write %s: %w", path, err)
	}
	// O_CREATE applies perm only to a new file, less the umask.
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if old != nil {
		if err := sameOwner(f, old); err != nil {
			return fail(err)
		}
	}
	half := len(data) / 2
	if _, err := f.Write(data[:half]); err != nil {
		return fail(err)
	}
	if err := h.at(point("half-written " + filepath.Base(path))); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data[half:]); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keeper: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keeper: %w", err)
	}
	if err := storefs.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("keeper: %s renamed, but its folder did not sync: %w", path, err)
	}
	return h.at(point("replaced " + filepath.Base(path)))
}

// renameDurably renames from to to and fsyncs the folder.
func renameDurably(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("keeper: %w", err)
	}
	if err := storefs.SyncDir(filepath.Dir(to)); err != nil {
		return fmt.Errorf("keeper: %s renamed, but its folder did not sync: %w", to, err)
	}
	return nil
}
