package fs

import (
	"os"

	"golang.org/x/sys/unix"
)

// roundFlush returns the flush of a store's rounds (syncer) for the file
// system root is on: one syncfs(2) of it, which writes out every file
// and folder the round names — and whatever else is dirty there — with
// one journal commit and one cache flush, where an fsync of each costs a
// cache flush apiece (ext4 flushes again for a transaction another fsync
// already committed). The file system is opened once, with the store:
// syncfs reports the write-back errors that happened since its file was
// opened (Linux 5.8 and later), so an error between rounds is not lost.
// Where root cannot be opened the rounds fsync each name (fsyncAll).
func roundFlush(root string) func(files, dirs []string) error {
	d, err := os.Open(root)
	if err != nil {
		return fsyncAll
	}
	return func(_, _ []string) error {
		return os.NewSyscallError("syncfs", unix.Syncfs(int(d.Fd())))
	}
}
