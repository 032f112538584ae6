//go:build !unix || solaris || aix

package fs

import (
	"context"
	iofs "io/fs"
	"os"
)

// openFlags opens an object file for reading.
const openFlags = os.O_RDONLY

// lockFile is a no-op where there is no flock (Windows, Solaris, AIX):
// only the in-process half of the stripe locks serializes writers there.
func lockFile(context.Context, string, bool) (release func(), err error) {
	return func() {}, nil
}

// SyncDir makes the entries of folder dir durable: on these systems it
// does nothing.
func SyncDir(string) error { return nil }

// fileID returns 0: file identity is size and modification time alone.
func fileID(iofs.FileInfo) uint64 { return 0 }

// sameDevice reports true; a rename across volumes fails with its own error.
func sameDevice(string, string) (bool, error) { return true, nil }
