//go:build unix && !solaris && !aix

package fs

import (
	"context"
	"errors"
	iofs "io/fs"
	"os"
	"syscall"
	"time"
)

// openFlags opens an object file for reading, refusing a symbolic link.
const openFlags = os.O_RDONLY | syscall.O_NOFOLLOW

// lockFile takes an exclusive flock on the file at path, creating it if
// needed. Each call opens the file anew, so the lock excludes other calls in
// this process as well as other processes. If wait is set it polls until
// the lock is free or ctx is done; otherwise it fails at once with
// errLockBusy. release unlocks by closing the file.
func lockFile(ctx context.Context, path string, wait bool) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	delay := 50 * time.Microsecond
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return func() { f.Close() }, nil
		case err != syscall.EWOULDBLOCK && err != syscall.EINTR:
			f.Close()
			return nil, &os.PathError{Op: "flock", Path: path, Err: err}
		case !wait:
			f.Close()
			return nil, errLockBusy
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 10*time.Millisecond)
	}
}

// SyncDir makes the entries of folder dir durable: a file created,
// renamed or removed in it survives a crash. File systems that cannot
// fsync a folder (CIFS, some FUSE ones) make a rename as durable as it
// gets, and SyncDir returns nil there.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems (CIFS, some FUSE ones) cannot fsync a folder; a
	// rename there is as durable as it gets.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	return err
}

// fileID returns the inode number of the file fi describes.
func fileID(fi iofs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// sameDevice reports whether the files at a and b are on one file system.
func sameDevice(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	sa, okA := fa.Sys().(*syscall.Stat_t)
	sb, okB := fb.Sys().(*syscall.Stat_t)
	return !okA || !okB || sa.Dev == sb.Dev, nil
}
