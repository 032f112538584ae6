package fs_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/storage/storagetest"
)

const bucket = "records"

// open opens bucket in root or fails the test.
func open(t testing.TB, root string) *fs.Store {
	t.Helper()
	s, err := fs.Open(root, bucket)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkNoTemp fails the test if root's temporary folder holds anything: a
// finished or failed write must leave no partial file behind.
func checkNoTemp(t testing.TB, root string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, ".sealpipe", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("temporary file %s left behind", e.Name())
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, opts := range []fs.Options{{}, {NoSync: true}} {
		t.Run(fmt.Sprintf("NoSync=%v", opts.NoSync), func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) storage.Store {
				root := t.TempDir()
				t.Cleanup(func() { checkNoTemp(t, root) })
				s, err := fs.OpenWith(root, bucket, opts)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

func BenchmarkStore(b *testing.B) {
	for _, opts := range []fs.Options{{}, {NoSync: true}} {
		b.Run(fmt.Sprintf("NoSync=%v", opts.NoSync), func(b *testing.B) {
			storagetest.Benchmark(b, func(b *testing.B) storage.Store {
				s, err := fs.OpenWith(b.TempDir(), bucket, opts)
				if err != nil {
					b.Fatal(err)
				}
				return s
			})
		})
	}
}

// files returns the regular files under dir, relative to it, slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// md5hex is the ETag of content placed by hand.
func md5hex(content string) string {
	sum := md5.Sum([]byte(content))
	return hex.EncodeToString(sum[:])
}

func TestLayoutIsBrowsable(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	const key = "inbox/tax/b1/doc.pdf"
	md := map[string]string{"seal-id": "S-1"}
	storagetest.Put(t, s, key, "%PDF-1.7", storage.PutOptions{ContentType: "application/pdf", Metadata: md})

	b, err := os.ReadFile(filepath.Join(root, bucket, "inbox", "tax", "b1", "doc.pdf"))
	if err != nil || string(b) != "%PDF-1.7" {
		t.Fatalf("object file: %q, %v; want the content at <root>/<bucket>/<key>", b, err)
	}
	if got := files(t, filepath.Join(root, bucket)); !slices.Equal(got, []string{key}) {
		t.Errorf("bucket folder holds %q, want only the object", got)
	}
	side, err := os.ReadFile(filepath.Join(root, ".sealpipe", "meta", bucket, "inbox", "tax", "b1", "doc.pdf.json"))
	if err != nil {
		t.Fatalf("sidecar: %v", err)
	}
	var sc struct {
		Versions []struct {
			ETag        string            `json:"etag"`
			ContentType string            `json:"content_type"`
			Metadata    map[string]string `json:"metadata"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(side, &sc); err != nil {
		t.Fatalf("sidecar is not JSON: %v\n%s", err, side)
	}
	if len(sc.Versions) != 1 || sc.Versions[0].ETag != md5hex("%PDF-1.7") ||
		sc.Versions[0].ContentType != "application/pdf" || sc.Versions[0].Metadata["seal-id"] != "S-1" {
		t.Errorf("sidecar = %s, want one version with the ETag, content type and metadata", side)
	}
	checkNoTemp(t, root)
}

func TestHandPlacedFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	hand := filepath.Join(root, bucket, "inbox", "dept", "hand.pdf")
	write := func(content string, mtime time.Time) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(hand), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(hand, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(hand, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	const key = "inbox/dept/hand.pdf"
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)

	write("dropped by a person", t0)
	listed := storagetest.List(t, s, "inbox/")
	if len(listed) != 1 || listed[0].Key != key || listed[0].ETag != md5hex("dropped by a person") || !listed[0].ModTime.Equal(t0) {
		t.Fatalf("List = %+v, want %q with the MD5 ETag and ModTime %v", listed, key, t0)
	}
	got, info := storagetest.Get(t, s, key)
	if string(got) != "dropped by a person" || info.ContentType != storage.DefaultContentType || len(info.Metadata) != 0 {
		t.Errorf("Get = %q %+v, want the content with the default content type", got, info)
	}

	// Changed by hand, in place and then by a rename, with the size kept:
	// the new modification time or inode reveals it.
	for i, c := range []string{"DROPPED BY A PERSON", "changed by a person"} {
		write(c, t0.Add(time.Duration(i+1)*time.Minute))
		st, err := s.Stat(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if st.ETag != md5hex(c) {
			t.Errorf("after editing to %q: ETag %q, want %q", c, st.ETag, md5hex(c))
		}
	}
	// Replaced via rename, which is what rsync and most editors do.
	tmp := filepath.Join(root, "elsewhere")
	if err := os.WriteFile(tmp, []byte("renamed into place"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, hand); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(t.Context(), key)
	if err != nil || st.ETag != md5hex("renamed into place") {
		t.Fatalf("after a rename into place: %+v %v, want ETag %q", st, err, md5hex("renamed into place"))
	}

	// The hand-computed ETag works for a compare-and-swap.
	if _, err := s.Put(t.Context(), key, strings.NewReader("x"), 1, storage.PutOptions{IfMatch: md5hex("stale")}); !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Errorf("Put IfMatch a wrong ETag over a hand-placed file: %v, want ErrPreconditionFailed", err)
	}
	storagetest.Put(t, s, key, "sealed", storage.PutOptions{IfMatch: md5hex("renamed into place"), ContentType: "application/pdf"})

	// A person replacing a stored object leaves its metadata behind.
	write("overwritten by hand", time.Now())
	got, info = storagetest.Get(t, s, key)
	if string(got) != "overwritten by hand" || info.ETag != md5hex(string(got)) || info.ContentType != storage.DefaultContentType {
		t.Errorf("after a hand overwrite: %q %+v, want the new content, its MD5 and the default type", got, info)
	}
}

func TestNonObjectsAreSkipped(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	storagetest.Put(t, s, "in/real", "real", storage.PutOptions{})
	dir := filepath.Join(root, bucket, "in")
	mustWrite(t, filepath.Join(dir, `back\slash`), "no valid key names it")
	mustWrite(t, filepath.Join(dir, "ctl\x01", "x"), "nor this")
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if got := storagetest.Keys(storagetest.List(t, s, "")); !slices.Equal(got, []string{"in/real"}) {
		t.Errorf("List = %q, want only in/real", got)
	}
	if _, err := s.Stat(t.Context(), "in/link"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat of a symbolic link: %v, want ErrNotExist", err)
	}
	if rc, _, err := s.Get(t.Context(), "in/link"); !errors.Is(err, storage.ErrNotExist) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Get of a symbolic link: %v, want ErrNotExist", err)
	}
	if err := s.Delete(t.Context(), "in/link"); err != nil {
		t.Errorf("Delete of a symbolic link: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "link")); err != nil {
		t.Errorf("Delete removed a symbolic link that is no object: %v", err)
	}
	if _, err := s.Put(t.Context(), "in/link", strings.NewReader("x"), 1, storage.PutOptions{}); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("Put over a symbolic link: %v, want ErrInvalidKey", err)
	}
	if got, _ := storagetest.Get(t, s, "in/real"); string(got) != "real" {
		t.Errorf("the link's target = %q, want it untouched", got)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestKeyConflicts(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir())
	storagetest.Put(t, s, "folder/child", "child", storage.PutOptions{})
	storagetest.Put(t, s, "file", "file", storage.PutOptions{Metadata: map[string]string{"k": "v"}})
	for _, tc := range []struct{ key, mention string }{
		{"folder", "folder holding other objects"},
		{"file/child", `"file" is an object`},
		{"file.json/x", "metadata file collides"},
		{"long/" + strings.Repeat("n", 300), "longer than this file system allows"},
	} {
		for _, opts := range []storage.PutOptions{{}, {IfNoneMatch: true}} {
			_, err := s.Put(t.Context(), tc.key, strings.NewReader("x"), 1, opts)
			if !errors.Is(err, storage.ErrInvalidKey) || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("Put(%q, %+v): %v; want ErrInvalidKey saying %q", tc.key, opts, err, tc.mention)
			}
			if storage.IsRetryable(err) {
				t.Errorf("Put(%q): conflict reported retryable", tc.key)
			}
		}
		if _, err := s.Stat(t.Context(), tc.key); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("Stat(%q) after a refused Put: %v, want ErrNotExist", tc.key, err)
		}
	}
	// Deleting a key whose paths are folders of other keys touches neither.
	storagetest.Put(t, s, "other.json/x", "x", storage.PutOptions{})
	for _, key := range []string{"folder", "other"} {
		if err := s.Delete(t.Context(), key); err != nil {
			t.Errorf("Delete(%q): %v", key, err)
		}
	}
	if got, _ := storagetest.Get(t, s, "other.json/x"); string(got) != "x" {
		t.Errorf("other.json/x = %q after Delete(\"other\"), want it intact", got)
	}
	if got, info := storagetest.Get(t, s, "file"); string(got) != "file" || info.Metadata["k"] != "v" {
		t.Errorf("file = %q %v after refused writes, want it intact", got, info.Metadata)
	}
	if got := storagetest.Keys(storagetest.List(t, s, "")); !slices.Equal(got, []string{"file", "folder/child", "other.json/x"}) {
		t.Errorf("List = %q", got)
	}
}

func TestDeletePrunesEmptyFolders(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	storagetest.Put(t, s, "x/y/z/doomed", "d", storage.PutOptions{})
	storagetest.Put(t, s, "x/keep", "k", storage.PutOptions{})
	if err := s.Delete(t.Context(), "x/y/z/doomed"); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{
		filepath.Join(root, bucket, "x", "y"),
		filepath.Join(root, ".sealpipe", "meta", bucket, "x", "y"),
	} {
		if _, err := os.Lstat(gone); !errors.Is(err, iofs.ErrNotExist) {
			t.Errorf("%s still exists after its last object was deleted (%v)", gone, err)
		}
	}
	if err := s.Delete(t.Context(), "x/keep"); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{filepath.Join(root, bucket, "x"), filepath.Join(root, ".sealpipe", "meta", bucket, "x")} {
		if _, err := os.Lstat(gone); !errors.Is(err, iofs.ErrNotExist) {
			t.Errorf("%s still exists (%v)", gone, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, bucket)); err != nil || !fi.IsDir() {
		t.Errorf("the bucket folder itself must stay: %v", err)
	}
}

// TestPutRacesDeletePruning races writes into a folder against deletes that
// empty and prune it: no write may fail for want of its folder.
func TestPutRacesDeletePruning(t *testing.T) {
	s := open(t, t.TempDir())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				key := fmt.Sprintf("churn/a/b/%d-%d", w, i)
				if _, err := s.Put(t.Context(), key, strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
					t.Errorf("Put(%q): %v", key, err)
					return
				}
				if err := s.Delete(t.Context(), key); err != nil {
					t.Errorf("Delete(%q): %v", key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := storagetest.Keys(storagetest.List(t, s, "")); len(got) != 0 {
		t.Errorf("List = %q, want nothing", got)
	}
}

// The stress variant's size. With these, the code before place retried on
// a vanished folder failed TestPutRacesDeletePruningStress in 20 runs out of
// 20 on an idle two-core machine (and 10 of 10 with both cores kept busy),
// where TestPutRacesDeletePruning failed about one run in a hundred, and
// only under load. A run takes under a second.
const (
	churnProcesses = 2  // writer processes besides the test's own
	churnWriters   = 8  // goroutines per process
	churnRounds    = 40 // Put, Get, Delete rounds per goroutine
)

// churnRootEnv, when set, makes the test binary a writer process of
// TestPutRacesDeletePruningStress on the root it names (see TestMain).
const churnRootEnv = "SEALPIPE_FS_CHURN_ROOT"

func TestMain(m *testing.M) {
	if root := os.Getenv(churnRootEnv); root != "" {
		os.Exit(churnProcess(root))
	}
	os.Exit(m.Run())
}

// churnProcess runs the churn workload as one of the writer processes,
// reporting failures on standard error and in its exit status.
func churnProcess(root string) int {
	s, err := fs.OpenWith(root, bucket, fs.Options{NoSync: true})
	if err == nil {
		err = churn(context.Background(), s, fmt.Sprintf("p%d", os.Getpid()), churnWriters, churnRounds)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// churn runs writers goroutines that each put, read back and delete rounds
// objects in a folder tree that all of them share, in this process and
// others: folders of objects and of sidecars, two levels deep, are emptied
// and pruned over and over while others write into them. Writes alternate
// between create-only ones (published by a hard link) and overwrites
// (published by a rename). name tells this process's keys apart.
func churn(ctx context.Context, s *fs.Store, name string, writers, rounds int) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				key := fmt.Sprintf("churn/%d/%d/%s-%d-%d", i%2, i/2%2, name, w, i)
				if err := churnOnce(ctx, s, key, storage.PutOptions{IfNoneMatch: i%2 == 0}); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// churnOnce puts key, reads it back and deletes it.
func churnOnce(ctx context.Context, s *fs.Store, key string, opts storage.PutOptions) error {
	if _, err := s.Put(ctx, key, strings.NewReader(key), -1, opts); err != nil {
		return err
	}
	rc, _, err := s.Get(ctx, key)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	if string(b) != key {
		return fmt.Errorf("Get(%q) = %q, want the key itself", key, b)
	}
	return s.Delete(ctx, key)
}

// TestPutRacesDeletePruningStress is TestPutRacesDeletePruning at a size
// that catches the race under load, with writers in several processes
// sharing the root. Afterwards nothing may be left: no object, no sidecar,
// no temporary file and no folder, since every folder is pruned by the
// Delete that empties it.
func TestPutRacesDeletePruningStress(t *testing.T) {
	root := t.TempDir()
	s, err := fs.OpenWith(root, bucket, fs.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	procs := make([]*exec.Cmd, churnProcesses)
	outputs := make([]bytes.Buffer, churnProcesses)
	for i := range procs {
		procs[i] = exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
		procs[i].Env = append(os.Environ(), churnRootEnv+"="+root)
		procs[i].Stdout, procs[i].Stderr = &outputs[i], &outputs[i]
		if err := procs[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	if err := churn(t.Context(), s, "test", churnWriters, churnRounds); err != nil {
		t.Errorf("in the test's process: %v", err)
	}
	for i, p := range procs {
		if err := p.Wait(); err != nil {
			t.Errorf("writer process %d: %v\n%s", i, err, &outputs[i])
		}
	}
	for _, dir := range []string{
		filepath.Join(root, bucket),
		filepath.Join(root, ".sealpipe", "meta", bucket),
		filepath.Join(root, ".sealpipe", "tmp"),
	} {
		if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
			t.Errorf("%s holds %d entries (%v), want none", dir, len(entries), err)
		}
	}
}

// TestTwoStores emulates two processes with two Stores on one root: their
// conditional writes exclude each other through the lock files.
func TestTwoStores(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	stores := []*fs.Store{open(t, root), open(t, root)}
	const n = 16

	race := func(key string, opts storage.PutOptions) int {
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			wins  []int
			start = make(chan struct{})
		)
		for i := range n {
			wg.Go(func() {
				<-start
				_, err := stores[i%2].Put(t.Context(), key, strings.NewReader(fmt.Sprint(i)), -1, opts)
				switch {
				case err == nil:
					mu.Lock()
					wins = append(wins, i)
					mu.Unlock()
				case !errors.Is(err, storage.ErrPreconditionFailed):
					t.Errorf("writer %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(wins) != 1 {
			t.Fatalf("%d writers won (%v), want 1", len(wins), wins)
		}
		for _, s := range stores {
			if got, _ := storagetest.Get(t, s, key); string(got) != fmt.Sprint(wins[0]) {
				t.Errorf("object holds %q, want winner %d's", got, wins[0])
			}
		}
		return wins[0]
	}

	race("registry/new.esl", storage.PutOptions{IfNoneMatch: true})
	base := storagetest.Put(t, stores[0], "registry/index.json", "base", storage.PutOptions{})
	race("registry/index.json", storage.PutOptions{IfMatch: base.ETag})
}

// TestReadersDuringOverwrites checks that a reader racing writers always
// gets a consistent object: the content, ETag and metadata of one version.
func TestReadersDuringOverwrites(t *testing.T) {
	t.Parallel()
	s, err := fs.OpenWith(t.TempDir(), bucket, fs.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	const key, reads = "registry/hot.json", 2000
	storagetest.Put(t, s, key, "v-0", storage.PutOptions{Metadata: map[string]string{"v": "v-0"}})
	var (
		readers sync.WaitGroup
		writer  sync.WaitGroup
		done    = make(chan struct{})
		writes  atomic.Int64
	)
	writer.Go(func() {
		for i := 1; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			v := fmt.Sprintf("v-%d", i)
			if _, err := s.Put(t.Context(), key, strings.NewReader(v), -1, storage.PutOptions{Metadata: map[string]string{"v": v}}); err != nil {
				t.Errorf("Put: %v", err)
				return
			}
			writes.Add(1)
		}
	})
	for r := range 2 {
		readers.Go(func() {
			for range reads {
				var content string
				var info storage.ObjectInfo
				if r == 0 {
					st, err := s.Stat(t.Context(), key)
					if err != nil {
						t.Errorf("Stat: %v", err)
						return
					}
					info, content = st, st.Metadata["v"]
				} else {
					// Not storagetest.Get: it fails with t.Fatal, which only
					// the test's own goroutine may call.
					rc, got, err := s.Get(t.Context(), key)
					if err != nil {
						t.Errorf("Get: %v", err)
						return
					}
					b, err := io.ReadAll(rc)
					rc.Close()
					if err != nil {
						t.Errorf("reading: %v", err)
						return
					}
					info, content = got, string(b)
				}
				if info.Metadata["v"] != content || info.ETag != md5hex(content) {
					t.Errorf("read %q with ETag %q and metadata %v: not one version", content, info.ETag, info.Metadata)
					return
				}
			}
		})
	}
	readers.Wait()
	close(done)
	writer.Wait()
	t.Logf("%d consistent reads by each of 2 readers during %d overwrites", reads, writes.Load())
}

func TestGetReaderSeeks(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir())
	storagetest.Put(t, s, "seek", "0123456789", storage.PutOptions{})
	rc, _, err := s.Get(t.Context(), "seek")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		t.Fatal("Get's reader is not an io.ReaderAt")
	}
	buf := make([]byte, 3)
	if _, err := ra.ReadAt(buf, 6); err != nil || string(buf) != "678" {
		t.Errorf("ReadAt(6) = %q, %v; want 678", buf, err)
	}
	sk, ok := rc.(io.Seeker)
	if !ok {
		t.Fatal("Get's reader is not an io.Seeker")
	}
	if _, err := sk.Seek(-2, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(rc); string(rest) != "89" {
		t.Errorf("after Seek(-2, end) read %q, want 89", rest)
	}
}

func TestDamagedSidecar(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	storagetest.Put(t, s, "obj", "content", storage.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"a": "b"}})
	side := filepath.Join(root, ".sealpipe", "meta", bucket, "obj.json")
	for _, junk := range []string{"{not json", `{"format":"from-the-future/9","versions":[]}`, ""} {
		if err := os.WriteFile(side, []byte(junk), 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := s.Stat(t.Context(), "obj")
		if err != nil {
			t.Fatalf("Stat with sidecar %q: %v", junk, err)
		}
		if st.ETag != md5hex("content") || st.ContentType != storage.DefaultContentType {
			t.Errorf("with sidecar %q: %+v, want the MD5 ETag and default type", junk, st)
		}
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"records", "abc", "a.b-c", strings.Repeat("a", 63), "123"} {
		if _, err := fs.Open(t.TempDir(), name); err != nil {
			t.Errorf("Open(bucket %q): %v", name, err)
		}
	}
	for _, name := range []string{"", "ab", strings.Repeat("a", 64), "Records", ".sealpipe", "-abc", "abc-", "a..b", "a/b", "a_b", "../x"} {
		if _, err := fs.Open(t.TempDir(), name); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", name)) {
			t.Errorf("Open(bucket %q): %v, want an error quoting the name", name, err)
		}
	}
	file := filepath.Join(t.TempDir(), "file")
	mustWrite(t, file, "")
	if _, err := fs.Open(file, "records"); err == nil {
		t.Error("Open with a file as root succeeded")
	}
}

func TestOpenSweepsStaleTemporaryFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	open(t, root)
	tmp := filepath.Join(root, ".sealpipe", "tmp")
	stale, fresh := filepath.Join(tmp, "put-stale"), filepath.Join(tmp, "put-fresh")
	mustWrite(t, stale, "abandoned")
	mustWrite(t, fresh, "in progress")
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	open(t, root)
	if _, err := os.Stat(stale); !errors.Is(err, iofs.ErrNotExist) {
		t.Errorf("stale temporary file survived Open: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("Open removed a fresh temporary file: %v", err)
	}
}

func TestStatsDoNotWriteForStoredObjects(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	storagetest.Put(t, s, "obj", "content", storage.PutOptions{})
	side := filepath.Join(root, ".sealpipe", "meta", bucket, "obj.json")
	before, err := os.ReadFile(side)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Stat(t.Context(), "obj"); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := os.ReadFile(side); !bytes.Equal(before, after) {
		t.Errorf("Stat rewrote the sidecar:\n%s\nbecame\n%s", before, after)
	}
}
