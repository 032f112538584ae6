package fs

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/storagetest"
)

// crashBeforePublish makes every commit stop after writing the sidecar and
// before publishing the content, as a crash there would.
func crashBeforePublish(t *testing.T) {
	errCrash := errors.New("simulated crash")
	testHookBeforePublish = func() error { return errCrash }
	t.Cleanup(func() { testHookBeforePublish = nil })
}

// TestCrashBetweenSidecarAndPublish checks the write ordering: a crash
// after the new sidecar is written but before the rename leaves the old
// object whole, metadata included, and no new object.
//
// It sets testHookBeforePublish, which every Store in the test binary runs,
// so it is not parallel: Go starts parallel tests only after the serial
// ones have finished.
func TestCrashBetweenSidecarAndPublish(t *testing.T) {
	s, err := Open(t.TempDir(), "records")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	old := storagetest.Put(t, s, "obj", "old", storage.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"v": "old"}})

	crashBeforePublish(t)
	for _, opts := range []storage.PutOptions{{}, {IfMatch: old.ETag}} {
		if _, err := s.Put(ctx, "obj", strings.NewReader("new"), 3, storage.PutOptions{Metadata: map[string]string{"v": "new"}, IfMatch: opts.IfMatch}); err == nil {
			t.Fatal("Put succeeded despite the crash")
		}
	}
	if _, err := s.Put(ctx, "fresh", strings.NewReader("new"), 3, storage.PutOptions{IfNoneMatch: true}); err == nil {
		t.Fatal("create-only Put succeeded despite the crash")
	}
	testHookBeforePublish = nil

	b, info := storagetest.Get(t, s, "obj")
	if string(b) != "old" || info.ETag != old.ETag || info.ContentType != "text/plain" || info.Metadata["v"] != "old" {
		t.Errorf("after the crash: %q %+v, want the old object with its metadata", b, info)
	}
	if _, err := s.Stat(ctx, "fresh"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat(fresh) after a crashed create: %v, want ErrNotExist", err)
	}
	// The store recovers: the next writes work and are seen whole.
	storagetest.Put(t, s, "fresh", "made", storage.PutOptions{IfNoneMatch: true})
	storagetest.Put(t, s, "obj", "newer", storage.PutOptions{IfMatch: old.ETag, Metadata: map[string]string{"v": "newer"}})
	st, err := s.Stat(ctx, "obj")
	if err != nil || st.Metadata["v"] != "newer" || st.Size != 5 {
		t.Errorf("after recovery: %+v %v", st, err)
	}
	versions, err := s.readSidecar("obj")
	if err != nil || len(versions) > 2 {
		t.Errorf("sidecar holds %d versions (%v), want at most 2", len(versions), err)
	}
}

// TestCreateOnlyAgainstWritersIgnoringTheLock checks that a create-only
// write does not replace a file that a writer ignoring the store's locks (a
// person, cp, rsync) puts at the object's path after the write's checks and
// before it publishes: that file stands, the write fails with
// ErrPreconditionFailed, and no temporary file is left behind.
func TestCreateOnlyAgainstWritersIgnoringTheLock(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, "records")
	if err != nil {
		t.Fatal(err)
	}
	storagetest.Put(t, s, "old/x", "existing folder", storage.PutOptions{})
	for _, key := range []string{"old/obj", "new/obj", "deep/er/obj"} {
		testHookBeforePublish = func() error {
			if err := os.MkdirAll(filepath.Dir(s.objectPath(key)), 0o755); err != nil {
				return err
			}
			return os.WriteFile(s.objectPath(key), []byte("by hand"), 0o644)
		}
		_, err := s.Put(t.Context(), key, strings.NewReader("by the store"), -1, storage.PutOptions{IfNoneMatch: true})
		testHookBeforePublish = nil
		if !errors.Is(err, storage.ErrPreconditionFailed) {
			t.Errorf("%s: create-only Put over a file placed meanwhile: %v, want ErrPreconditionFailed", key, err)
		}
		if b, _ := storagetest.Get(t, s, key); string(b) != "by hand" {
			t.Errorf("%s: holds %q, want the file placed by hand", key, b)
		}
	}
	if left, err := os.ReadDir(s.tmp); err != nil || len(left) != 0 {
		t.Errorf("temporary files left: %v (%v)", left, err)
	}
}

// TestNoReplaceMoves checks both create-only moves, the renameat2 one
// and the hard link that stands in for it where there is none: a move to a
// free name takes the file there, and one to a taken name fails with
// fs.ErrExist and changes nothing.
func TestNoReplaceMoves(t *testing.T) {
	t.Parallel()
	for name, move := range map[string]func(from, to string) error{"renameNoReplace": renameNoReplace, "linkNoReplace": linkNoReplace} {
		dir := t.TempDir()
		path := func(name string) string { return filepath.Join(dir, name) }
		for _, f := range []string{"a", "c", "taken"} {
			if err := os.WriteFile(path(f), []byte(f), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := move(path("a"), path("b")); err != nil {
			t.Errorf("%s to a free name: %v", name, err)
		}
		if err := move(path("c"), path("taken")); !errors.Is(err, iofs.ErrExist) {
			t.Errorf("%s to a taken name: %v, want ErrExist", name, err)
		}
		for f, want := range map[string]string{"a": "", "b": "a", "c": "c", "taken": "taken"} {
			if b, err := os.ReadFile(path(f)); string(b) != want || (want == "") != errors.Is(err, iofs.ErrNotExist) {
				t.Errorf("%s: %s holds %q (%v), want %q", name, f, b, err, want)
			}
		}
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err       error
		retryable bool
	}{
		{&os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}, true},
		{&os.PathError{Op: "write", Path: "/x", Err: syscall.EDQUOT}, true},
		{&os.PathError{Op: "open", Path: "/x", Err: syscall.EMFILE}, true},
		{&os.PathError{Op: "read", Path: "/x", Err: syscall.EINTR}, true},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), true},
		{&os.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}, false},
		{&os.PathError{Op: "read", Path: "/x", Err: syscall.EIO}, false},
		{context.Canceled, false},
		{errors.New("something else"), false},
	} {
		err := opError("put", "k", tc.err)
		if got := storage.IsRetryable(err); got != tc.retryable {
			t.Errorf("IsRetryable(%v) = %v, want %v", err, got, tc.retryable)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%v does not wrap %v", err, tc.err)
		}
		if !strings.Contains(err.Error(), `"k"`) {
			t.Errorf("%v does not quote the key", err)
		}
	}
}
