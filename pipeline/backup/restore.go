package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
)

// Backup is a backup whose manifest has been read: its signature holds
// and it is well-formed. Whether its signer is trusted (Trust) and its
// objects are as listed (Check) are checked next.
type Backup struct {
	// Manifest is the backup's manifest and Signer the certificate that
	// signed it.
	Manifest *Manifest
	Signer   *smx509.Certificate

	loc   Location
	raw   []byte
	index map[string]Object
}

// Open reads the manifest of the backup at loc and checks its signature
// and form. A location with nothing at all is ErrNoBackup; one without a
// manifest — an unfinished backup — or with a manifest that is unsigned,
// altered or malformed fails with an error wrapping ErrVerify.
func Open(ctx context.Context, loc Location) (*Backup, error) {
	raw, _, err := storage.ReadAll(ctx, loc.Store, loc.key(ManifestName), MaxManifestSize)
	if errors.Is(err, storage.ErrNotExist) {
		if CheckEmpty(ctx, loc.Store, loc.key("")) == nil {
			return nil, fmt.Errorf("%w at %s", ErrNoBackup, loc)
		}
		return nil, &ObjectError{Name: ManifestName, Reason: "missing: an unfinished backup, or no backup"}
	}
	if err != nil {
		return nil, fmt.Errorf("backup: read %s: %w", loc.key(ManifestName), err)
	}
	payload, cert, err := signed.Open(raw)
	if err != nil {
		return nil, &ObjectError{Name: ManifestName, Reason: err.Error()}
	}
	m, err := ParseManifest(payload)
	if err != nil {
		return nil, err
	}
	b := &Backup{Manifest: m, Signer: cert, loc: loc, raw: raw, index: make(map[string]Object, len(m.Objects))}
	for _, o := range m.Objects {
		b.index[o.Name] = o
	}
	return b, nil
}

// Trust checks that the manifest was signed by the pipeline: by a
// certificate pool trusts for trust.UsagePipeline, at the time it was
// signed if it has expired since (as usage records are judged). It fails
// with an error wrapping ErrVerify.
func (b *Backup) Trust(pool *trust.Pool) error {
	if err := audit.OpenRecord(b.raw, new(json.RawMessage), pool); err != nil {
		return &ObjectError{Name: ManifestName, Reason: err.Error()}
	}
	return nil
}

// Check reads every object of the backup and returns the first that
// differs from the manifest as an *ObjectError: one the manifest lists
// that is missing, shorter, longer or changed, or one it does not list.
func (b *Backup) Check(ctx context.Context) error {
	seen := make(map[string]bool, len(b.index))
	var added []string
	err := b.loc.list(ctx, func(name string, _ storage.ObjectInfo) error {
		if _, ok := b.index[name]; ok {
			seen[name] = true
		} else if name != ManifestName {
			added = append(added, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("backup: list %s: %w", b.loc, err)
	}
	if len(added) > 0 {
		return &ObjectError{Name: added[0], Reason: "in the backup but not in its manifest (added)"}
	}
	for _, o := range b.Manifest.Objects {
		if !seen[o.Name] {
			return &ObjectError{Name: o.Name, Reason: "in the manifest but not in the backup (missing)"}
		}
		if err := b.read(ctx, o, io.Discard); err != nil {
			return err
		}
	}
	return nil
}

// read copies object o of the backup to w and checks it against the
// manifest.
func (b *Backup) read(ctx context.Context, o Object, w io.Writer) error {
	hr, closer, _, err := b.get(ctx, o)
	if err != nil {
		return err
	}
	defer closer.Close()
	if _, err := io.Copy(w, hr); err != nil {
		return fmt.Errorf("backup: read %s: %w", b.loc.key(o.Name), err)
	}
	return o.compare(hr)
}

// get opens object o of the backup for reading through a hashingReader
// that stops one byte past the size the manifest gives.
func (b *Backup) get(ctx context.Context, o Object) (*hashingReader, io.Closer, storage.ObjectInfo, error) {
	rc, info, err := b.loc.Store.Get(ctx, b.loc.key(o.Name))
	if errors.Is(err, storage.ErrNotExist) {
		return nil, nil, info, &ObjectError{Name: o.Name, Reason: "in the manifest but not in the backup (missing)"}
	}
	if err != nil {
		return nil, nil, info, fmt.Errorf("backup: read %s: %w", b.loc.key(o.Name), err)
	}
	return newHashingReader(io.LimitReader(rc, o.Size+1)), rc, info, nil
}

// compare checks what hr read against o.
func (o Object) compare(hr *hashingReader) error {
	switch {
	case hr.n != o.Size:
		return &ObjectError{Name: o.Name, Reason: fmt.Sprintf("changed: %d bytes or more, the manifest says %d", hr.n, o.Size)}
	case hr.sum() != o.SM3:
		return &ObjectError{Name: o.Name, Reason: fmt.Sprintf("changed: SM3 %.16s…, the manifest says %.16s…", hr.sum(), o.SM3)}
	}
	return nil
}

// ReadFile returns the content of the object name of the backup, checked
// against the manifest; a name the manifest does not list is an
// *ObjectError too.
func (b *Backup) ReadFile(ctx context.Context, name string) ([]byte, error) {
	o, ok := b.index[name]
	if !ok {
		return nil, &ObjectError{Name: name, Reason: "not in the manifest"}
	}
	var buf bytes.Buffer
	if err := b.read(ctx, o, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Files returns the data folder's files the backup holds, each checked
// against the manifest.
func (b *Backup) Files(ctx context.Context) ([]File, error) {
	var files []File
	for _, o := range b.Manifest.Objects {
		name, ok := strings.CutPrefix(o.Name, DataPrefix)
		if !ok {
			continue
		}
		body, err := b.ReadFile(ctx, o.Name)
		if err != nil {
			return nil, err
		}
		mode, _ := strconv.ParseUint(o.Mode, 8, 32) // ParseManifest checked it
		files = append(files, File{Name: name, Mode: iofs.FileMode(mode), Body: body})
	}
	return files, nil
}

// Restore copies the backup's store objects into dst, which must hold no
// object (else ErrNotEmpty), each checked against the manifest as it is
// copied, and returns how many it copied. If one fails, it removes those
// it wrote before returning the error. Check first: Restore finds a
// changed object only once it has copied it.
func (b *Backup) Restore(ctx context.Context, dst storage.Store) (int, error) {
	if err := CheckEmpty(ctx, dst, ""); err != nil {
		return 0, err
	}
	var written []string
	undo := func(err error) (int, error) {
		// A restore stopped half-way leaves a store that verifies by
		// chance at best: remove what it wrote, even when ctx is done.
		for _, key := range slices.Backward(written) {
			if derr := dst.Delete(context.WithoutCancel(ctx), key); derr != nil {
				return 0, fmt.Errorf("%w (and removing what was restored failed at %s: %v)", err, key, derr)
			}
		}
		return 0, err
	}
	for _, o := range b.Manifest.Objects {
		key, ok := strings.CutPrefix(o.Name, StorePrefix)
		if !ok {
			continue
		}
		wrote, err := b.restore(ctx, o, dst, key)
		if wrote {
			written = append(written, key)
		}
		if err != nil {
			return undo(err)
		}
	}
	return len(written), nil
}

// restore copies object o to dst under key, checking it as it goes, and
// reports whether it wrote the object.
func (b *Backup) restore(ctx context.Context, o Object, dst storage.Store, key string) (bool, error) {
	hr, closer, info, err := b.get(ctx, o)
	if err != nil {
		return false, err
	}
	defer closer.Close()
	opts := storage.PutOptions{IfNoneMatch: true, ContentType: info.ContentType, Metadata: info.Metadata}
	if _, err := dst.Put(ctx, key, hr, o.Size, opts); err != nil {
		if cerr := o.compare(hr); cerr != nil && hr.n > o.Size {
			return false, cerr // longer than listed: the Put refused the extra byte
		}
		// A Put is all or nothing: a failed one wrote nothing.
		return false, fmt.Errorf("backup: restore %s: %w", key, err)
	}
	if err := o.compare(hr); err != nil {
		return true, fmt.Errorf("%w since the backup was checked", err)
	}
	return true, nil
}

// Heads returns the registry head each seal and each application of the
// backup has, by the name of its high-water mark: the marks a machine that
// restores it should keep (registry.ResetMarks).
func (m *Manifest) Heads() map[string]int {
	heads := map[string]int{}
	for _, s := range m.Seals {
		if s.Registry > 0 {
			heads[s.ID] = s.Registry
		}
	}
	for _, a := range m.Applications {
		heads[registry.ApplicationMark(a.ID)] = a.Registry
	}
	return heads
}
