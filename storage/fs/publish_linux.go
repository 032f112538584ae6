package fs

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// renameNoReplace moves the file from under the name to, failing with an
// error wrapping fs.ErrExist if to exists: one renameat2(2) with
// RENAME_NOREPLACE, which holds even against writers that ignore the
// store's locks. On a file system without it (EINVAL) it falls back to
// linkNoReplace.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS):
		return linkNoReplace(from, to)
	}
	return &os.LinkError{Op: "renameat2", Old: from, New: to, Err: err}
}
