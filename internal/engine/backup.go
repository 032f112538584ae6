package engine

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/backup"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/storage/s3"
)

// ErrBackupLocation reports a backup location that cannot be used: not
// a folder or s3://bucket/prefix, the store's own bucket or folder, s3://
// without an S3 endpoint, or a folder holding no backup.
var ErrBackupLocation = errors.New("backup location")

// backupBucket is the bucket folder a backup in a local folder DIR is
// kept in: DIR/backup/ (and the folder store's own DIR/.sealpipe/).
const backupBucket = "backup"

// BackupOptions say where a backup goes and who takes it.
type BackupOptions struct {
	// To is a folder, or s3://bucket/prefix reached with the store's S3
	// settings (SEALPIPE_S3_*), never the store's own bucket.
	To string
	// Version names this sealpipe, for the manifest.
	Version string
}

// BackupReport is what Backup wrote.
type BackupReport struct {
	// Location is where the backup is, Manifest its manifest's key there.
	Location string `json:"location"`
	Manifest string `json:"manifest"`
	// Objects counts the objects besides the manifest, Bytes their size.
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
	// Files counts the data folder's files among them.
	Files int `json:"files"`
	// Seals counts the seals whose logs it holds, Applications the
	// applications for seals.
	Seals        int `json:"seals"`
	Applications int `json:"applications"`
	// AsOf is the instant whose registry and usage log it holds, Rounds
	// the looks it took to find them settled.
	AsOf   time.Time `json:"as_of"`
	Rounds int       `json:"rounds"`
	// Signer is the common name of the certificate that signed the manifest.
	Signer string `json:"signer"`
	// Warnings name what the store or data folder holds that the backup
	// does not, or should not.
	Warnings []string `json:"warnings,omitempty"`
}

// Backup takes a consistent backup of the store's registry and usage log
// and of the data folder's PKI and keyring (package backup), signed with
// the service key.
func (e *Engine) Backup(ctx context.Context, opts BackupOptions) (*BackupReport, error) {
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	service, err := e.Service(ctx)
	if err != nil {
		return nil, err
	}
	files, warnings, err := e.dataFiles()
	if err != nil {
		return nil, err
	}
	loc, err := e.backupLocation(ctx, opts.To, true)
	if err != nil {
		return nil, err
	}
	data, err := filepath.Abs(e.settings.Data)
	if err != nil {
		return nil, err
	}
	res, err := backup.Take(ctx, st, loc, backup.Options{Signer: service, Version: opts.Version, Files: files, Data: data})
	if err != nil {
		return nil, err
	}
	return &BackupReport{
		Location: e.describeLocation(opts.To), Manifest: e.describeLocation(opts.To) + "/" + backup.ManifestName,
		Objects: len(res.Manifest.Objects), Bytes: res.Bytes, Files: len(files), Seals: len(res.Manifest.Seals), Applications: len(res.Manifest.Applications),
		AsOf: res.Manifest.AsOf, Rounds: res.Rounds, Signer: service.Cert.Subject.CommonName,
		Warnings: append(warnings, res.Warnings...),
	}, nil
}

// dataFiles reads the files of the data folder a backup holds: every
// file under <data>/pki as stored (key files stay encrypted) and the
// keyring in force, as keys.conf. A missing PKI or keyring is none.
func (e *Engine) dataFiles() ([]backup.File, []string, error) {
	var (
		files    []backup.File
		warnings []string
	)
	add := func(name, path string) error {
		if err := storage.CheckKey(name); err != nil {
			return fmt.Errorf("backup: %s: a name a backup cannot hold: %w", path, err)
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		files = append(files, backup.File{Name: name, Mode: fi.Mode().Perm(), Body: body})
		return nil
	}
	pki := e.PKIDir()
	err := filepath.WalkDir(pki, func(path string, d iofs.DirEntry, err error) error {
		switch {
		case path == pki && errors.Is(err, iofs.ErrNotExist):
			return filepath.SkipDir
		case err != nil:
			return err
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			warnings = append(warnings, path+": not a regular file: left out")
			return nil
		}
		rel, err := filepath.Rel(e.settings.Data, path)
		if err != nil {
			return err
		}
		if d.Name() == devPassphraseName {
			warnings = append(warnings, path+": the DEVELOPMENT passphrase is in the backup beside the keys it opens (development only: in production set SEALPIPE_KEY_PASSPHRASE and keep it apart)")
		}
		return add(filepath.ToSlash(rel), path)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Stat(e.keyringPath()); err == nil {
		if err := add(keyringName, e.keyringPath()); err != nil {
			return nil, nil, err
		}
	}
	return files, warnings, nil
}

// keyringName is the keyring's name in a backup: data/keys.conf.
const keyringName = "keys.conf"

// backupLocation opens the backup location to: a folder DIR (the backup
// in DIR/backup/), or s3://bucket/prefix reached with the store's S3
// settings. For a backup (create) the folder or bucket is made if
// missing; a restore needs it there.
func (e *Engine) backupLocation(ctx context.Context, to string, create bool) (backup.Location, error) {
	bad := func(format string, args ...any) (backup.Location, error) {
		return backup.Location{}, fmt.Errorf("%w %q: %s", ErrBackupLocation, to, fmt.Sprintf(format, args...))
	}
	if rest, ok := strings.CutPrefix(to, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		prefix = strings.TrimSuffix(prefix, "/")
		switch {
		case bucket == "":
			return bad("want s3://bucket/prefix")
		case prefix != "" && storage.CheckKey(prefix) != nil:
			return bad("%v", storage.CheckKey(prefix))
		case e.settings.S3.Endpoint == "":
			return bad("s3:// needs the S3 settings of the store (SEALPIPE_S3_ENDPOINT and its credentials)")
		case bucket == e.settings.Bucket:
			return bad("the store's own bucket: a backup there is lost with it, and a restore needs the store empty; use a bucket of its own")
		}
		cfg := e.settings.s3Config()
		cfg.Bucket = bucket
		cfg.CreateBucket = create
		st, err := s3.New(ctx, cfg)
		if err != nil {
			return backup.Location{}, fmt.Errorf("%w %q: %w", ErrBackupLocation, to, err)
		}
		return backup.Location{Store: st, Prefix: prefix}, nil
	}
	if to == "" || strings.Contains(to, "://") {
		return bad("want a folder or s3://bucket/prefix")
	}
	dir, err := filepath.Abs(to)
	if err != nil {
		return backup.Location{}, err
	}
	if within(dir, e.StoreDir()) || within(dir, e.PKIDir()) || within(e.StoreDir(), dir) {
		return bad("inside the local store or the PKI folder, or holding them")
	}
	if !create {
		if fi, err := os.Stat(filepath.Join(dir, backupBucket)); err != nil || !fi.IsDir() {
			return bad("no backup there (no folder %s)", filepath.Join(dir, backupBucket))
		}
	}
	st, err := fs.Open(dir, backupBucket)
	if err != nil {
		return backup.Location{}, fmt.Errorf("%w %q: %w", ErrBackupLocation, to, err)
	}
	return backup.Location{Store: st}, nil
}

// within reports whether path is dir or inside it; both absolute.
func within(path, dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// describeLocation names a backup location for messages.
func (e *Engine) describeLocation(to string) string {
	if strings.HasPrefix(to, "s3://") {
		return strings.TrimSuffix(to, "/")
	}
	dir, _ := filepath.Abs(to)
	return filepath.Join(dir, backupBucket)
}

// RestoreOptions say where a backup comes from.
type RestoreOptions struct {
	// From is a folder or s3://bucket/prefix, as BackupOptions.To.
	From string
	// Check verifies the backup and writes nothing.
	Check bool
}

// RestoreReport is what Restore checked and wrote.
type RestoreReport struct {
	From string `json:"from"`
	// Taken, AsOf and Version come from the backup's manifest; Signer is
	// the common name of the certificate that signed it.
	Taken   time.Time `json:"taken"`
	AsOf    time.Time `json:"as_of"`
	Version string    `json:"version"`
	Signer  string    `json:"signer"`
	// TrustedBy says which roots vouched for the signer: the configured
	// ones, or only the backup's own root certificate.
	TrustedBy string `json:"trusted_by"`
	// Objects counts the store objects, Files the data folder's files,
	// Bytes the size of all, Seals the seals, Applications the
	// applications for seals.
	Objects      int   `json:"objects"`
	Files        int   `json:"files"`
	Bytes        int64 `json:"bytes"`
	Seals        int   `json:"seals"`
	Applications int   `json:"applications"`
	// Checked is set when only the check ran: nothing was written.
	Checked bool `json:"checked,omitempty"`
	// Store, PKI and Keyring are where the backup was restored to
	// (empty when the backup held none of that part).
	Store   string `json:"store,omitempty"`
	PKI     string `json:"pki,omitempty"`
	Keyring string `json:"keyring,omitempty"`
	// Rekeyed counts the keyring lines rewritten from the backup's data
	// folder to this one.
	Rekeyed int `json:"keyring_lines_rewritten,omitempty"`
	// Marks is this machine's registry high-water marks file, now the
	// backup's heads; Lowered lists the marks that went down ("seal: from
	// → to"), a rollback made on purpose.
	Marks   string   `json:"marks,omitempty"`
	Lowered []string `json:"marks_lowered,omitempty"`
}

// Trust the backup's manifest is judged by, for RestoreReport.TrustedBy.
const (
	trustedByRoots = "the configured trusted roots"
	trustedByOwn   = "the backup's own root only (data/pki/root.crt: shows the backup unchanged, not who made it; SEALPIPE_ROOTS checks that)"
)

// Restore checks the backup at opts.From — its manifest signed by the
// pipeline, every object as the manifest lists it, nothing added — and
// unless opts.Check restores it: into the store, which must be empty,
// and the data folder, which must hold no PKI or keyring where the
// backup has them. Keyring lines naming files of the backup's data
// folder are rewritten to this one. This machine's registry high-water
// marks become the backup's heads. Nothing is written if a check fails;
// a failed copy removes what it restored. Errors of the backup itself
// wrap backup.ErrVerify.
func (e *Engine) Restore(ctx context.Context, opts RestoreOptions) (*RestoreReport, error) {
	loc, err := e.backupLocation(ctx, opts.From, false)
	if err != nil {
		return nil, err
	}
	b, err := backup.Open(ctx, loc)
	if err != nil {
		return nil, err
	}
	m := b.Manifest
	rep := &RestoreReport{
		From: e.describeLocation(opts.From), Taken: m.Created, AsOf: m.AsOf, Version: m.Version,
		Signer: b.Signer.Subject.CommonName, Seals: len(m.Seals), Applications: len(m.Applications), Checked: opts.Check,
	}
	if !opts.Check {
		if err := e.checkEmptyStore(ctx); err != nil {
			return nil, err
		}
		if err := e.checkNoData(m); err != nil {
			return nil, err
		}
	}
	pool, err := e.Trust()
	rep.TrustedBy = trustedByRoots
	if errors.Is(err, errNoRoots) {
		pool, err = e.backupRoots(ctx, b)
		rep.TrustedBy = trustedByOwn
	}
	if err != nil {
		return nil, err
	}
	if err := b.Trust(pool); err != nil {
		return nil, err
	}
	if err := b.Check(ctx); err != nil {
		return nil, err
	}
	for _, o := range m.Objects {
		rep.Bytes += o.Size
		if strings.HasPrefix(o.Name, backup.DataPrefix) {
			rep.Files++
		} else {
			rep.Objects++
		}
	}
	if opts.Check {
		return rep, nil
	}
	return rep, e.restore(ctx, b, rep)
}

// checkEmptyStore refuses a store that holds objects. A local store not
// made yet is empty, and stays unmade.
func (e *Engine) checkEmptyStore(ctx context.Context) error {
	if e.settings.S3.Endpoint == "" && !e.LocalStoreExists() {
		return nil
	}
	st, err := e.Store(ctx)
	if err != nil {
		return err
	}
	if err := backup.CheckEmpty(ctx, st, ""); err != nil {
		return fmt.Errorf("restore into %s: %w: restore only into an empty store", e.StoreLocation(), err)
	}
	return nil
}

// backupRoots returns a pool trusting the root certificate the backup b
// holds, for the pipeline role as configured.
func (e *Engine) backupRoots(ctx context.Context, b *backup.Backup) (*trust.Pool, error) {
	pem, err := b.ReadFile(ctx, backup.DataPrefix+"pki/root.crt")
	if err != nil {
		return nil, fmt.Errorf("%w (and no trusted roots are configured: set SEALPIPE_ROOTS)", err)
	}
	roots, err := trust.ParseCertificatesPEM(pem)
	if err != nil {
		return nil, &backup.ObjectError{Name: backup.DataPrefix + "pki/root.crt", Reason: err.Error()}
	}
	oid, err := parseOID(e.settings.Roles.Service)
	if err != nil {
		return nil, settingError("SEALPIPE_SERVICE_OID", e.settings.Roles.Service, "%v", err)
	}
	pool := trust.NewPool(roots)
	pool.SetRoleOID(trust.UsagePipeline, oid)
	return pool, nil
}

// ErrDataExists reports a data folder that holds a PKI or keyring where
// a restore would put the backup's.
var ErrDataExists = errors.New("the data folder holds them already")

// checkNoData refuses a data folder holding a PKI or keyring where the
// backup m has one, naming each.
func (e *Engine) checkNoData(m *backup.Manifest) error {
	var in []string
	for _, o := range m.Objects {
		name, ok := strings.CutPrefix(o.Name, backup.DataPrefix)
		if !ok {
			continue
		}
		path := e.PKIDir()
		if name == keyringName {
			path = e.keyringPath()
		}
		if !slices.Contains(in, path) && occupied(path) {
			in = append(in, path)
		}
	}
	if len(in) > 0 {
		return fmt.Errorf("restore: %s: %w: restore only into a data folder without a PKI and keyring (move them away first)", strings.Join(in, ", "), ErrDataExists)
	}
	return nil
}

// occupied reports whether path is there and is no empty folder.
func occupied(path string) bool {
	if entries, err := os.ReadDir(path); err == nil {
		return len(entries) > 0
	}
	_, err := os.Lstat(path)
	return err == nil
}

// restore writes the checked backup b: the data folder's files staged
// beside their place, the store objects, then the files moved into
// place and this machine's marks set.
func (e *Engine) restore(ctx context.Context, b *backup.Backup, rep *RestoreReport) error {
	files, err := b.Files(ctx)
	if err != nil {
		return err
	}
	st, err := e.Store(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(e.settings.Data, 0o750); err != nil {
		return err
	}
	stage, err := os.MkdirTemp(e.settings.Data, ".restore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	data, err := filepath.Abs(e.settings.Data)
	if err != nil {
		return err
	}
	var keyring []byte
	for _, f := range files {
		if f.Name == keyringName {
			keyring, rep.Rekeyed = rekey(f.Body, b.Manifest.Data, data)
			continue
		}
		path := filepath.Join(stage, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, f.Body, f.Mode.Perm()); err != nil {
			return err
		}
	}
	if rep.Objects, err = b.Restore(ctx, st); err != nil {
		return err
	}
	rep.Store = e.StoreLocation()
	if _, err := os.Stat(filepath.Join(stage, "pki")); err == nil {
		if err := os.Rename(filepath.Join(stage, "pki"), e.PKIDir()); err != nil {
			return fmt.Errorf("restore: the store is restored, the PKI not: %w", err)
		}
		rep.PKI = e.PKIDir()
	}
	if keyring != nil {
		if err := writeNew(e.keyringPath(), keyring); err != nil {
			return fmt.Errorf("restore: the store and PKI are restored, the keyring not: %w", err)
		}
		rep.Keyring = e.keyringPath()
	}
	state, err := fs.Open(e.StateDir(), "registry")
	if err != nil {
		return err
	}
	heads := b.Manifest.Heads()
	old, err := registry.ResetMarks(ctx, state, "marks.json", heads)
	if err != nil {
		return fmt.Errorf("restore: the store, PKI and keyring are restored; setting this machine's registry marks failed (delete %s): %w", e.StateDir(), err)
	}
	rep.Marks = filepath.Join(e.StateDir(), "registry", "marks.json")
	for id, seq := range old {
		if seq > heads[id] {
			rep.Lowered = append(rep.Lowered, fmt.Sprintf("%s: %d → %d", id, seq, heads[id]))
		}
	}
	return nil
}

// writeNew writes a new file at path, mode 0600; an existing one is an
// error.
func writeNew(path string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rekey rewrites the keyring lines naming files under the data folder
// old (file:// key URIs, passphrase-file= options) to name them under the
// data folder now, and returns the keyring and how many lines changed.
func rekey(ring []byte, old, now string) ([]byte, int) {
	if old == "" || old == now {
		return ring, 0
	}
	lines := strings.SplitAfter(string(ring), "\n")
	changed := 0
	for i, line := range lines {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		moved := false
		for j, f := range fields {
			for _, p := range []string{"file://", "passphrase-file="} {
				if rest, ok := strings.CutPrefix(f, p+old+"/"); ok {
					fields[j], moved = p+now+"/"+rest, true
				}
			}
		}
		if moved {
			lines[i] = strings.Join(fields, " ") + "\n"
			changed++
		}
	}
	return []byte(strings.Join(lines, "")), changed
}
