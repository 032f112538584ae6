// Package backup takes and restores backups of what sealpipe must not
// lose (county rules 第十七条): the signed seal registry with the
// applications for seals and their identity materials, the usage log
// (usage records, segments and checkpoints) with the sealed outputs and
// batch reports it vouches for, and files of the data folder — the PKI,
// its keys still encrypted exactly as stored, and the keyring.
//
// A backup is a set of objects in a storage.Store under a prefix
// (Location): a folder, or a bucket of its own.
//
//	manifest.json             the Manifest, signed by the pipeline's service key; written last
//	store/<key>               an object of the store, under its key
//	data/pki/…, data/keys.conf  files of the data folder
//
// The manifest lists every other object with its size and SM3. Restoring
// checks the manifest's signature and then every object against it, and
// refuses a backup with any object missing, added or changed, naming it,
// before it writes anything.
//
// # Consistent while the pipeline runs
//
// The pipeline may write while a backup is taken. What the backup holds
// is consistent in this sense:
//
//   - each seal's registry log is a head and exactly the changes up to the
//     one it names, read after the head (a change past it is a write in
//     progress and left out); a seal with changes but no head yet (a
//     registration in progress) is left out;
//   - each application for a seal (registry.Submit) likewise is a head
//     and the changes up to the one it names, with the identity materials
//     its first change pins; an application with no head yet (a
//     submission in progress) is left out;
//   - each seal's usage log is its segments up to the last one whose
//     checkpoint is written (a segment without one is a commit in
//     progress, left out) with those checkpoints, every usage record those
//     segments list and the sealed output each names; usage records not in
//     the log yet (batches in progress) are held too;
//   - a batch report is held only when every checkpoint it names is;
//   - point in time: after copying, every head and every checkpoint is
//     looked at again, and if any moved the copy is extended to the new
//     state and looked at again, until a look finds nothing moved (or
//     Options.MaxRounds pass: ErrUnsettled). The registry and usage log
//     the backup holds are then the store's at that instant, AsOf, never a
//     mix of one seal's log before a change and another's after a later
//     one.
//
// Objects are copied as stored, never judged: a backup of a store whose
// logs do not verify holds logs that do not verify (Take warns of what
// it could not copy).
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/storage"
)

var (
	// ErrVerify reports a backup that does not verify: its manifest
	// missing, unsigned, untrusted or malformed, or an object missing,
	// added or changed (*ObjectError).
	ErrVerify = errors.New("backup: does not verify")
	// ErrNoBackup reports a location that holds nothing at all.
	ErrNoBackup = errors.New("backup: no backup there")
	// ErrNotEmpty reports a destination that holds objects already: the
	// location of a new backup, or a store to restore into.
	ErrNotEmpty = errors.New("backup: not empty")
	// ErrUnsettled reports a store whose registry heads or usage-log
	// checkpoints kept moving for Options.MaxRounds looks.
	ErrUnsettled = errors.New("backup: the store kept changing")
)

// ObjectError names an object of a backup that is missing, added or
// changed. It wraps ErrVerify.
type ObjectError struct {
	Name   string // the object's name in the backup, such as store/registry/seals/…/head.json
	Reason string
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("backup: %s: %s", e.Name, e.Reason)
}

// Unwrap returns ErrVerify.
func (e *ObjectError) Unwrap() error { return ErrVerify }

// Location is where a backup lives: the objects of Store under Prefix.
type Location struct {
	Store storage.Store
	// Prefix is "" (the whole bucket) or a key prefix without a trailing
	// slash, such as "backups/2026-11-24".
	Prefix string
}

// key returns the object key of the backup's object name.
func (l Location) key(name string) string {
	if l.Prefix == "" {
		return name
	}
	return l.Prefix + "/" + name
}

// list calls fn with the name of every object of the backup location.
func (l Location) list(ctx context.Context, fn func(name string, o storage.ObjectInfo) error) error {
	prefix := l.key("")
	return l.Store.List(ctx, prefix, func(o storage.ObjectInfo) error {
		return fn(strings.TrimPrefix(o.Key, prefix), o)
	})
}

// String describes the location for messages.
func (l Location) String() string {
	if l.Prefix == "" {
		return l.Store.Bucket()
	}
	return l.Store.Bucket() + "/" + l.Prefix
}

// CheckEmpty returns nil if st's prefix holds no object, else an error
// wrapping ErrNotEmpty naming the first one.
func CheckEmpty(ctx context.Context, st storage.Store, prefix string) error {
	errFound := errors.New("found")
	var first string
	err := st.List(ctx, prefix, func(o storage.ObjectInfo) error {
		first = o.Key
		return errFound
	})
	switch {
	case errors.Is(err, errFound):
		return fmt.Errorf("%w: %s holds %s", ErrNotEmpty, st.Bucket(), first)
	case err != nil:
		return fmt.Errorf("backup: list %s: %w", st.Bucket(), err)
	}
	return nil
}

// hashingReader counts and hashes what is read through it.
type hashingReader struct {
	r io.Reader
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func newHashingReader(r io.Reader) *hashingReader { return &hashingReader{r: r, h: sm3.New()} }

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.n += int64(n)
	h.h.Write(p[:n])
	return n, err
}

func (h *hashingReader) sum() string { return fmt.Sprintf("%x", h.h.Sum(nil)) }

func sm3hex(b []byte) string {
	sum := sm3.Sum(b)
	return fmt.Sprintf("%x", sum[:])
}
