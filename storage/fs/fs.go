// Package fs is a storage.Store kept in a local folder, laid out so that a
// person can browse it: object "inbox/tax/b1/doc.pdf" of bucket "records" is
// the file <root>/records/inbox/tax/b1/doc.pdf. It is sealpipe's embedded
// default object store (what `sealpipe demo` and an unconfigured `run` use) and
// the first backend the storagetest conformance suite runs against.
//
// What the store keeps besides the objects lives under <root>/.sealpipe,
// never inside a bucket folder:
//
//	.sealpipe/tmp/                       uploads in progress
//	.sealpipe/locks/NN.lock              write locks: 256 stripes, picked by hashing bucket and key
//	.sealpipe/meta/<bucket>/<key>.json   ETag, content type and metadata of the object's file
//
// # Atomicity and durability
//
// Put spools the content into a temporary file on the same file system,
// computes its MD5 (the ETag, as S3 gives for a single-part upload) and
// fsyncs it; then, holding the key's write lock, it checks the write's
// condition, records the new version in the key's sidecar file and publishes
// the content with one rename; a create-only write renames with
// RENAME_NOREPLACE on Linux, elsewhere it hard-links (both fail if the name
// exists, even for a writer that ignores the lock). The content and the
// sidecar are durable before the content is published, and the
// publication before Put returns (unless Options.NoSync): the files and
// both folders are fsynced before and after publishing, in rounds that
// concurrent writers share (group commit, see syncer); on Linux a round is
// one syncfs(2) of the store's file system (roundFlush). A reader sees the
// old object or the new one, never a partial file, and a crash at any point
// leaves one of the two with its metadata: the new sidecar keeps the entry of
// the file it replaces until the next write, so readers need no lock.
//
// The write lock is a flock on a lock file, taken with one open file
// description per acquisition, so it excludes writers in other processes
// and other Stores on the same root as well as goroutines of this one.
// Readers take no lock.
//
// # Files placed by hand
//
// A regular file a person (or rsync, or cp) puts into a bucket folder is an
// object: it is listed and readable, with ETag the hex MD5 of its content
// and content type application/octet-stream. A sidecar entry records which
// file it describes by inode, size and modification time, so a file changed
// by hand is recognised and hashed afresh; the result is cached in the
// sidecar. Editing a file in place without changing its size or its
// modification time defeats this, as it defeats make and rsync.
//
// Symbolic links, devices and other non-regular files are not objects, and
// neither are files whose path is not a valid key (storage.CheckKey), such as
// a name holding a backslash: listings skip them.
//
// # Limits
//
// A file system cannot hold a file and a folder of the same name, so the
// keys "a" and "a/b" cannot both exist (nor "a" and "a.json/b", whose
// sidecars would collide): the Put that would need both fails with an error
// wrapping storage.ErrInvalidKey. So does a key with a segment longer than
// the file system allows: 255 bytes on most, 250 for the last segment, whose
// sidecar name adds ".json". On a case-insensitive file
// system keys differing only in case are the same object. The root must be
// on a file system with hard links and, for locking between processes,
// flock (ext4, XFS, Btrfs and tmpfs qualify; on systems without
// flock only writers within one process are serialized).
package fs

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	iofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sealpipe/sealpipe/storage"
)

const (
	// internalDir is the folder under the root holding everything that is
	// not an object. A bucket name cannot begin with a dot, so it is never
	// a bucket folder.
	internalDir = ".sealpipe"

	dirPerm  = 0o750 // folders: owner full access, group may browse
	filePerm = 0o640 // objects and sidecars: owner read-write, group read

	// lockStripes is how many lock files guard the keys of a root.
	lockStripes = 256

	// staleTemp is the age past which Open removes a temporary file as
	// abandoned by a crashed writer.
	staleTemp = 24 * time.Hour

	// maxAttempts bounds the retries of a reader whose file a concurrent
	// writer replaced.
	maxAttempts = 5

	// maxPlaceAttempts bounds the retries of a writer whose folder
	// concurrent Deletes keep pruning (see place). Each retry answers a
	// prune that completed, so the bound is far beyond what a race needs:
	// in 30 runs of TestPutRacesDeletePruningStress (24 writers in three
	// processes churning one folder tree, both cores kept busy by other
	// processes) a write took at most 5 attempts.
	maxPlaceAttempts = 1000
)

// Store is a storage.Store over one bucket folder. It is safe for concurrent
// use, also alongside other Stores and other processes using the same root.
type Store struct {
	bucket string
	dir    string // <root>/<bucket>: the objects
	meta   string // <root>/.sealpipe/meta/<bucket>: the sidecars
	tmp    string // <root>/.sealpipe/tmp
	locks  string // <root>/.sealpipe/locks
	noSync bool   // Options.NoSync
	// group, when not nil, makes writes durable in shared rounds
	// (barrier) instead of fsyncing each file and folder.
	group *syncer

	// held is the in-process half of the stripe locks: a goroutine holds
	// stripe i of this Store while it has a value in held[i]. It queues
	// goroutines in order, and cancellably, before they poll the flock.
	held [lockStripes]chan struct{}
}

var _ storage.Store = (*Store)(nil)

// Options tunes a Store. The zero value is what production wants.
type Options struct {
	// NoSync skips every fsync. Writes stay atomic for readers and across
	// a crash of the process, but a crash of the machine may lose recent
	// ones or their metadata. It is for tests and throwaway demos, where
	// it makes a small Put several times faster.
	NoSync bool
}

// Open returns the Store for bucket inside the folder root, creating the
// bucket folder and the store's internal folders if they are missing. The
// bucket name follows the S3 rules: 3 to 63 lower-case letters, digits, dots
// and hyphens, beginning and ending with a letter or digit.
//
// Open removes temporary files abandoned more than a day ago by writers that
// crashed.
func Open(root, bucket string) (*Store, error) {
	return OpenWith(root, bucket, Options{})
}

// OpenWith is Open with options.
func OpenWith(root, bucket string, opts Options) (*Store, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fs: open %q: %w", root, err)
	}
	internal := filepath.Join(root, internalDir)
	s := &Store{
		bucket: bucket,
		dir:    filepath.Join(root, bucket),
		meta:   filepath.Join(internal, "meta", bucket),
		tmp:    filepath.Join(internal, "tmp"),
		locks:  filepath.Join(internal, "locks"),
		noSync: opts.NoSync,
	}
	for _, d := range []string{s.dir, s.meta, s.tmp, s.locks} {
		if err := os.MkdirAll(d, dirPerm); err != nil {
			return nil, fmt.Errorf("fs: open bucket %q: %w", bucket, err)
		}
	}
	// A rename cannot cross file systems: a bucket folder mounted or
	// symlinked elsewhere would make every Put fail.
	for _, d := range []string{s.dir, s.meta} {
		same, err := sameDevice(s.tmp, d)
		if err != nil {
			return nil, fmt.Errorf("fs: open bucket %q: %w", bucket, err)
		}
		if !same {
			return nil, fmt.Errorf("fs: open bucket %q: %s is not on the same file system as %s", bucket, d, s.tmp)
		}
	}
	if !opts.NoSync {
		s.group = newSyncer(roundFlush(s.tmp))
	}
	for i := range s.held {
		s.held[i] = make(chan struct{}, 1)
	}
	s.sweep(time.Now().Add(-staleTemp))
	return s, nil
}

// syncFile makes f's content durable, unless the store skips fsync; in a
// store that syncs in shared rounds, the next barrier does, by its name.
func (s *Store) syncFile(f *os.File) error {
	switch {
	case s.noSync:
		return nil
	case s.group != nil:
		s.group.addFile(f.Name())
		return nil
	}
	return f.Sync()
}

// syncDir makes the entries of folder dir durable, unless the store skips
// fsync; in a store that syncs in shared rounds, the next barrier does.
func (s *Store) syncDir(dir string) error {
	switch {
	case s.noSync:
		return nil
	case s.group != nil:
		s.group.addDir(dir)
		return nil
	}
	return SyncDir(dir)
}

// barrier makes everything written so far durable when the store syncs
// in shared rounds (group); without, syncFile and syncDir did.
func (s *Store) barrier() error {
	if s.group == nil {
		return nil
	}
	return s.group.wait()
}

// checkBucket reports whether name is a valid S3 bucket name.
func checkBucket(name string) error {
	bad := func(why string) error { return fmt.Errorf("fs: invalid bucket name %q: %s", name, why) }
	if len(name) < 3 || len(name) > 63 {
		return bad("want 3 to 63 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		switch {
		case !alnum && c != '.' && c != '-':
			return bad(fmt.Sprintf("character %q; want lower-case letters, digits, '.' and '-'", c))
		case !alnum && (i == 0 || i == len(name)-1):
			return bad("must begin and end with a letter or digit")
		}
	}
	if strings.Contains(name, "..") {
		return bad(`holds ".."`)
	}
	return nil
}

// sweep removes temporary files last modified before cutoff. It is best
// effort: a file it cannot remove is left for the next Open.
func (s *Store) sweep(cutoff time.Time) {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(s.tmp, e.Name()))
		}
	}
}

// Bucket returns the bucket name given to Open.
func (s *Store) Bucket() string { return s.bucket }

// objectPath returns the file holding key's content. key must be valid.
func (s *Store) objectPath(key string) string {
	return filepath.Join(s.dir, filepath.FromSlash(key))
}

// sidecarPath returns the file holding key's sidecar. key must be valid.
func (s *Store) sidecarPath(key string) string {
	return filepath.Join(s.meta, filepath.FromSlash(key)+".json")
}

// Get opens the object for reading. Besides io.ReadCloser the reader
// implements io.ReaderAt and io.Seeker; every read fails once ctx is done.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	const op = "get"
	if err := s.precheck(ctx, op, key); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	obj, err := s.openObject(ctx, op, key, true)
	if err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	return &reader{ctx: ctx, f: obj.f}, obj.v.info(key, obj.fi), nil
}

// Stat returns the object's information without its content.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	const op = "stat"
	if err := s.precheck(ctx, op, key); err != nil {
		return storage.ObjectInfo{}, err
	}
	fi, err := os.Lstat(s.objectPath(key))
	switch {
	case err != nil && absent(err):
		return storage.ObjectInfo{}, notFound(op, key)
	case err != nil:
		return storage.ObjectInfo{}, opError(op, key, err)
	case !fi.Mode().IsRegular():
		return storage.ObjectInfo{}, notFound(op, key)
	}
	if v, ok, err := s.lookup(key, fi); err != nil {
		return storage.ObjectInfo{}, opError(op, key, err)
	} else if ok {
		return v.info(key, fi), nil
	}
	// Placed by hand, or replaced since the Lstat: open it to be sure.
	obj, err := s.openObject(ctx, op, key, true)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	obj.f.Close()
	return obj.v.info(key, obj.fi), nil
}

// Put stores the content of r under key, all or nothing. See the package
// documentation for how. The returned information is that of the version
// written.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.ObjectInfo, error) {
	const op = "put"
	if err := s.precheck(ctx, op, key); err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := storage.CheckPutOptions(opts); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("%s %q: %w", op, key, err)
	}
	if err := s.doomed(key, opts); err != nil {
		return storage.ObjectInfo{}, err
	}
	sp, err := s.spool(ctx, key, r, size)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	contentType := opts.ContentType
	if contentType == "" {
		contentType = storage.DefaultContentType
	}
	v := version{
		ETag:        sp.etag,
		Size:        sp.fi.Size(),
		ModTime:     sp.fi.ModTime().UnixNano(),
		FileID:      fileID(sp.fi),
		ContentType: contentType,
	}
	if len(opts.Metadata) > 0 {
		v.Metadata = opts.Metadata
	}

	unlock, err := s.lock(ctx, key)
	if err == nil {
		err = s.commit(ctx, key, sp.path, v, opts)
		unlock()
	} else {
		err = opError(op, key, err)
	}
	// Publishing took the temporary name away; a failure left it.
	if err != nil {
		os.Remove(sp.path)
	}
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	return v.info(key, sp.fi), nil
}

// doomed returns the precondition failure of a conditional write that
// cannot succeed as things stand, without reading its content: a retried
// create-only write of an object that exists, or a compare-and-swap on a
// missing or since-changed object. commit checks again under the lock; this
// only spares spooling the content of a write bound to fail.
func (s *Store) doomed(key string, opts storage.PutOptions) error {
	const op = "put"
	if !opts.IfNoneMatch && opts.IfMatch == "" {
		return nil
	}
	fi, err := os.Lstat(s.objectPath(key))
	exists := err == nil && fi.Mode().IsRegular()
	switch {
	case err != nil && !absent(err):
		return nil // let commit report it
	case opts.IfNoneMatch && exists:
		return fmt.Errorf("%s %q: %w: the object exists", op, key, storage.ErrPreconditionFailed)
	case opts.IfMatch != "" && err != nil:
		return fmt.Errorf("%s %q: %w: the object does not exist, want ETag %q", op, key, storage.ErrPreconditionFailed, opts.IfMatch)
	case opts.IfMatch != "" && exists:
		if v, ok, err := s.lookup(key, fi); err == nil && ok && v.ETag != opts.IfMatch {
			return fmt.Errorf("%s %q: %w: ETag is %q, want %q", op, key, storage.ErrPreconditionFailed, v.ETag, opts.IfMatch)
		}
	}
	return nil
}

// testHookBeforePublish, if set, runs in commit after the sidecar is
// written and before the content is published. A non-nil error aborts the
// commit there, as a crash would.
var testHookBeforePublish func() error

// commit checks opts' condition on key's current object and, if it holds,
// records v in the sidecar and publishes the spooled file tmp as key's
// object. The caller holds key's write lock.
func (s *Store) commit(ctx context.Context, key, tmp string, v version, opts storage.PutOptions) error {
	const op = "put"
	dst := s.objectPath(key)
	cur, err := os.Lstat(dst)
	exists := err == nil
	switch {
	case exists && cur.IsDir():
		return conflict(op, key, "it is a folder holding other objects")
	case exists && cur.Mode()&iofs.ModeSymlink != 0:
		return conflict(op, key, "a symbolic link placed by hand occupies its path")
	case exists && !cur.Mode().IsRegular():
		return conflict(op, key, "a special file placed by hand occupies its path")
	case errors.Is(err, syscall.ENOTDIR):
		return s.parentConflict(op, key)
	case err != nil && !absent(err):
		return s.pathError(op, key, err)
	}

	switch {
	case opts.IfNoneMatch && exists:
		return fmt.Errorf("%s %q: %w: the object exists", op, key, storage.ErrPreconditionFailed)
	case opts.IfMatch != "" && !exists:
		return fmt.Errorf("%s %q: %w: the object does not exist, want ETag %q", op, key, storage.ErrPreconditionFailed, opts.IfMatch)
	}

	// The new sidecar keeps the entry describing the current file, so that
	// until the rename below readers of that file still find its metadata,
	// and after a crash before it the old object keeps its metadata.
	versions := []version{v}
	if exists {
		old, ok, err := s.lookup(key, cur)
		if err != nil {
			return opError(op, key, err)
		}
		if !ok && opts.IfMatch != "" {
			// Placed by hand: its ETag is its MD5.
			obj, err := s.openObject(ctx, op, key, false)
			if err != nil {
				return err
			}
			obj.f.Close()
			old, ok = obj.v, true
		}
		if opts.IfMatch != "" && old.ETag != opts.IfMatch {
			return fmt.Errorf("%s %q: %w: ETag is %q, want %q", op, key, storage.ErrPreconditionFailed, old.ETag, opts.IfMatch)
		}
		if ok {
			versions = append(versions, old)
		}
	}

	// Past this point the write completes even if ctx is done.
	if err := ctx.Err(); err != nil {
		return opError(op, key, err)
	}
	if err := s.writeSidecar(key, versions); err != nil {
		return s.pathError(op, key, err)
	}
	// The content and the sidecar are durable before the content is
	// published, and the publication before Put returns.
	if err := s.barrier(); err != nil {
		return opError(op, key, err)
	}
	if testHookBeforePublish != nil {
		if err := testHookBeforePublish(); err != nil {
			return opError(op, key, err)
		}
	}
	err = s.place(tmp, dst, opts.IfNoneMatch)
	switch {
	case opts.IfNoneMatch && errors.Is(err, iofs.ErrExist):
		// Created by a writer that ignores the lock: a person, or a tool.
		return fmt.Errorf("%s %q: %w: the object exists", op, key, storage.ErrPreconditionFailed)
	case err != nil:
		return s.pathError(op, key, err)
	}
	if err := s.syncDir(filepath.Dir(dst)); err != nil {
		return opError(op, key, err)
	}
	if err := s.barrier(); err != nil {
		return opError(op, key, err)
	}
	return nil
}

// place publishes the file from under the name to: it renames it or, if
// noReplace is set, moves it only if to does not exist (renameNoReplace:
// fails with fs.ErrExist otherwise, even against a writer that ignores the
// lock). Missing parent folders of to are made when the move says they
// are missing, so that writing into an existing folder costs one call.
//
// Writers take no lock on folders, and Delete removes the folders it
// empties (prune), so a folder that place has just made or found may be
// gone when the move uses it. place then starts again, for as long as the
// source is there: ENOENT with the source present means a folder on the
// way to to is missing: not made yet, or pruned by a Delete that completed
// in between (or removed by a person). A writer is thus held up only by
// other operations making progress; maxPlaceAttempts merely keeps a path
// that fails with ENOENT for another reason (a dangling symbolic link
// placed by hand where a folder belongs) from looping forever.
func (s *Store) place(from, to string, noReplace bool) error {
	move := os.Rename
	if noReplace {
		move = renameNoReplace
	}
	err := move(from, to)
	for attempt := 1; err != nil && errors.Is(err, iofs.ErrNotExist) && attempt < maxPlaceAttempts; attempt++ {
		if _, serr := os.Lstat(from); serr != nil {
			return err
		}
		if err = s.mkdirs(filepath.Dir(to)); err == nil {
			err = move(from, to)
		}
	}
	return err
}

// linkNoReplace moves the file from under the name to by a hard link,
// which fails with fs.ErrExist if to exists, and the removal of the name
// from.
func linkNoReplace(from, to string) error {
	if err := os.Link(from, to); err != nil {
		return err
	}
	os.Remove(from) // the object stands; a leftover is swept as abandoned
	return nil
}

// mkdirs makes folder dir and its missing parents, recording each new
// folder durably in its parent (unless the store skips fsync). A name that
// exists counts as made: if it is a file, the caller's use of dir fails
// with ENOTDIR, and if a concurrent prune removes it, with ENOENT. Unlike
// os.MkdirAll, mkdirs never fails with EEXIST because a folder it saw
// existing was pruned before it could look again.
func (s *Store) mkdirs(dir string) error {
	err := os.Mkdir(dir, dirPerm)
	if errors.Is(err, iofs.ErrNotExist) {
		if err := s.mkdirs(filepath.Dir(dir)); err != nil {
			return err
		}
		err = os.Mkdir(dir, dirPerm)
	}
	switch {
	case err == nil:
		return s.syncDir(filepath.Dir(dir))
	case errors.Is(err, iofs.ErrExist):
		return nil
	}
	return err
}

// Delete removes the object. Deleting a missing object is not an error.
// Folders left empty are removed, up to the bucket folder.
func (s *Store) Delete(ctx context.Context, key string) error {
	const op = "delete"
	if err := s.precheck(ctx, op, key); err != nil {
		return err
	}
	unlock, err := s.lock(ctx, key)
	if err != nil {
		return opError(op, key, err)
	}
	defer unlock()

	obj := s.objectPath(key)
	fi, err := os.Lstat(obj)
	switch {
	case err == nil && fi.Mode().IsRegular():
		if err := os.Remove(obj); err != nil && !absent(err) {
			return opError(op, key, err)
		}
		prune(filepath.Dir(obj), s.dir)
	case err == nil, absent(err):
		// Not an object (a folder, a link): nothing to delete.
	default:
		return opError(op, key, err)
	}
	// The sidecar path may instead be a folder of another key's sidecars
	// ("k" and "k.json/x"): remove only a file.
	side := s.sidecarPath(key)
	if fi, err := os.Lstat(side); err == nil && fi.Mode().IsRegular() {
		if err := os.Remove(side); err != nil && !absent(err) {
			return opError(op, key, err)
		}
	}
	prune(filepath.Dir(side), s.meta)
	return nil
}

// prune removes dir and then its parents while they are empty, stopping
// below stop.
func prune(dir, stop string) {
	for strings.HasPrefix(dir, stop+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// List calls fn for every object whose key starts with prefix, in lexical
// key order. Listing reads each object's sidecar; an object placed by hand
// is hashed the first time it is seen.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	if err := ctx.Err(); err != nil {
		return opError("list", prefix, err)
	}
	dir, partial := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir, partial = prefix[:i], prefix[i+1:]
		if storage.CheckKey(dir) != nil {
			return nil // no valid key begins with prefix
		}
	}
	return s.walk(ctx, prefix, dir, partial, fn)
}

// walk lists, in key order, the objects under the folder of key prefix dir
// ("" for the bucket folder) whose names inside it begin with partial.
func (s *Store) walk(ctx context.Context, prefix, dir, partial string, fn func(storage.ObjectInfo) error) error {
	const op = "list"
	entries, err := os.ReadDir(filepath.Join(s.dir, filepath.FromSlash(dir)))
	switch {
	case err != nil && absent(err):
		return nil
	case err != nil:
		return opError(op, prefix, err)
	}
	// Keys under folder "a" all begin "a/", so the folder sorts as "a/":
	// after "a.txt" ('.' < '/') and before "a0".
	type entry struct {
		sortName string
		iofs.DirEntry
	}
	sorted := make([]entry, 0, len(entries))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), partial) {
			continue
		}
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		sorted = append(sorted, entry{n, e})
	}
	slices.SortFunc(sorted, func(a, b entry) int { return strings.Compare(a.sortName, b.sortName) })

	for _, e := range sorted {
		if err := ctx.Err(); err != nil {
			return opError(op, prefix, err)
		}
		key := path.Join(dir, e.Name())
		if storage.CheckKey(key) != nil {
			continue // not addressable as a key, nor is anything under it
		}
		switch {
		case e.IsDir():
			if err := s.walk(ctx, prefix, key, "", fn); err != nil {
				return err
			}
		case e.Type().IsRegular():
			info, err := s.listed(ctx, key, e)
			switch {
			case errors.Is(err, storage.ErrNotExist):
				continue // deleted since the folder was read
			case err != nil:
				return err
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// listed returns the listing entry of the object file e at key.
func (s *Store) listed(ctx context.Context, key string, e iofs.DirEntry) (storage.ObjectInfo, error) {
	const op = "list"
	fi, err := e.Info()
	switch {
	case err != nil && absent(err):
		return storage.ObjectInfo{}, notFound(op, key)
	case err != nil:
		return storage.ObjectInfo{}, opError(op, key, err)
	}
	v, ok, err := s.lookup(key, fi)
	if err != nil {
		return storage.ObjectInfo{}, opError(op, key, err)
	}
	if !ok {
		obj, err := s.openObject(ctx, op, key, true)
		if err != nil {
			return storage.ObjectInfo{}, err
		}
		obj.f.Close()
		v, fi = obj.v, obj.fi
	}
	info := v.info(key, fi)
	info.Metadata = nil // listings carry no metadata
	return info, nil
}

// precheck validates key and ctx before an operation.
func (s *Store) precheck(ctx context.Context, op, key string) error {
	if err := storage.CheckKey(key); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return opError(op, key, err)
	}
	return nil
}

// stripe returns the index of the lock stripe guarding key. It must be the
// same in every process, so it hashes with FNV-1a rather than maphash.
func (s *Store) stripe(key string) int {
	h := fnv.New32a()
	io.WriteString(h, s.bucket)
	h.Write([]byte{0})
	io.WriteString(h, key)
	return int(h.Sum32() % lockStripes)
}

// lock takes key's write lock, waiting until it is free or ctx is done.
func (s *Store) lock(ctx context.Context, key string) (unlock func(), err error) {
	i := s.stripe(key)
	select {
	case s.held[i] <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release, err := lockFile(ctx, s.lockPath(i), true)
	if err != nil {
		<-s.held[i]
		return nil, err
	}
	return func() { release(); <-s.held[i] }, nil
}

// tryLock takes key's write lock if it is free at once.
func (s *Store) tryLock(key string) (unlock func(), ok bool) {
	i := s.stripe(key)
	select {
	case s.held[i] <- struct{}{}:
	default:
		return nil, false
	}
	release, err := lockFile(context.Background(), s.lockPath(i), false)
	if err != nil {
		<-s.held[i]
		return nil, false
	}
	return func() { release(); <-s.held[i] }, true
}

// lockPath returns the lock file of stripe i.
func (s *Store) lockPath(i int) string {
	return filepath.Join(s.locks, fmt.Sprintf("%02x.lock", i))
}
