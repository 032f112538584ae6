package fs

import (
	"encoding/json"
	"errors"
	iofs "io/fs"
	"maps"
	"os"
	"path/filepath"
	"syscall"

	"github.com/sealpipe/sealpipe/storage"
)

// sidecarFormat names the layout of a sidecar file.
const sidecarFormat = "sealpipe-fs-meta/1"

// sidecar is the content of a sidecar file: what the store knows about the
// object file of one key. It lists at most two versions: the file the last
// Put published and the one it replaced, which readers that opened the old
// file before the rename still need, as does the old object after a crash
// between writing the sidecar and the rename.
type sidecar struct {
	Format   string    `json:"format"`
	Versions []version `json:"versions"`
}

// version describes one object file: its identity, which tells whether it is
// the file at the key's path now, and what the store reports about it.
type version struct {
	ETag        string            `json:"etag"`
	Size        int64             `json:"size"`
	ModTime     int64             `json:"mtime_unix_nano"`
	FileID      uint64            `json:"file_id,omitempty"` // inode number; 0 where there is none
	ContentType string            `json:"content_type"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// describes reports whether v was recorded for the file fi.
func (v version) describes(fi iofs.FileInfo) bool {
	return v.Size == fi.Size() && v.ModTime == fi.ModTime().UnixNano() && v.FileID == fileID(fi)
}

// info returns the ObjectInfo of key when v describes the file fi.
func (v version) info(key string, fi iofs.FileInfo) storage.ObjectInfo {
	return storage.ObjectInfo{
		Key:         key,
		Size:        fi.Size(),
		ETag:        v.ETag,
		ModTime:     fi.ModTime().UTC(),
		ContentType: v.ContentType,
		Metadata:    maps.Clone(v.Metadata),
	}
}

// lookup returns the version key's sidecar records for the file fi, and
// whether it has one.
func (s *Store) lookup(key string, fi iofs.FileInfo) (version, bool, error) {
	versions, err := s.readSidecar(key)
	if err != nil {
		return version{}, false, err
	}
	for _, v := range versions {
		if v.describes(fi) {
			return v, true, nil
		}
	}
	return version{}, false, nil
}

// readSidecar returns the versions recorded in key's sidecar. A missing or
// damaged sidecar records none: the object then reads as one placed by hand,
// with its MD5 as ETag but without its content type and metadata.
func (s *Store) readSidecar(key string) ([]version, error) {
	b, err := os.ReadFile(s.sidecarPath(key))
	switch {
	case err != nil && (absent(err) || errors.Is(err, syscall.EISDIR)):
		return nil, nil
	case err != nil:
		return nil, err
	}
	var sc sidecar
	if json.Unmarshal(b, &sc) != nil || sc.Format != sidecarFormat {
		return nil, nil
	}
	return sc.Versions, nil
}

// writeSidecar replaces key's sidecar atomically and durably with one
// recording versions. The caller holds key's write lock.
func (s *Store) writeSidecar(key string, versions []version) (err error) {
	b, err := json.MarshalIndent(sidecar{Format: sidecarFormat, Versions: versions}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.tmp, "meta-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(filePerm); err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return err
	}
	if err := s.syncFile(f); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	dst := s.sidecarPath(key)
	if err := s.place(f.Name(), dst, false); err != nil {
		return err
	}
	if s.group != nil {
		// Named once in place: the next round syncs it under that name
		// (its temporary one is gone by then). Not before: a failed
		// place must leave nothing to sync.
		s.group.addFile(dst)
	}
	return s.syncDir(filepath.Dir(dst))
}
