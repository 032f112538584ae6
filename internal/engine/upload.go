package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/s3"
)

// ErrNotABatch is wrapped by UploadBatch's error when the folder cannot be
// uploaded as a batch: no approval, files the approval does not list,
// documents it lists that are missing or differ from what was approved,
// or a department or batch other than the approval's. Nothing is uploaded
// then.
var ErrNotABatch = errors.New("not an uploadable batch folder")

// ErrUploadConflict is wrapped by UploadBatch's error when the inbox
// already holds an object of the batch with other content: uploads are
// create-only, and a batch is corrected under a new batch identifier.
var ErrUploadConflict = errors.New("the inbox already holds a different object")

// UploadOptions say what UploadBatch uploads.
type UploadOptions struct {
	// Dir is the batch folder: the documents, approval.json and
	// approval.json.p7s (as `sealpipe approve` and `batch make` write it).
	Dir string
	// Ref is the batch to upload to. Empty fields are read from
	// approval.json; given ones must match it.
	Ref pipeline.BatchRef
}

// UploadedObject is one file UploadBatch uploaded, in upload order.
type UploadedObject struct {
	// Name is the file's name in the folder, Key the object's key.
	Name string `json:"name"`
	Key  string `json:"key"`
	Size int64  `json:"size"`
	// Existed reports that the inbox held the same bytes already (an
	// earlier upload of the batch): the object was left as it was.
	Existed bool `json:"existed,omitempty"`
}

// UploadResult is what UploadBatch did.
type UploadResult struct {
	// Batch is <dept>/<batch>.
	Batch string `json:"batch"`
	// Inbox is where the objects went, e.g. s3://sealpipe/inbox/<dept>/<batch>/.
	Inbox string `json:"inbox"`
	// Credentials says who signed the uploads: "department"
	// (SEALPIPE_DEPT_ACCESS_KEY), "service" (SEALPIPE_S3_ACCESS_KEY) or
	// "local" (the local object store, no credentials).
	Credentials string `json:"credentials"`
	// AccessKey is the access key the uploads were signed with, if any.
	AccessKey string `json:"access_key,omitempty"`
	// Documents counts the documents among Objects.
	Documents int `json:"documents"`
	// Objects lists the uploads in order: documents by name, then
	// approval.json, then approval.json.p7s.
	Objects []UploadedObject `json:"objects"`
}

// UploadBatch uploads the batch folder opts.Dir to inbox/<dept>/<batch>/ of
// the configured store in the order the pipeline needs: every document
// first, then approval.json, then approval.json.p7s, whose arrival
// commits the batch. It checks the folder before uploading anything (an
// error wrapping ErrNotABatch): both approval files present, approval.json
// well formed, every other file listed in it, every listed document
// present with the approved SM3 digest, opts.Ref (where given) the
// approval's. Writes are create-only: an object already there with the
// same bytes is left as it is (UploadedObject.Existed), one with other
// bytes stops the upload with an error wrapping ErrUploadConflict.
//
// Against S3 it signs with the department's credentials
// (SEALPIPE_DEPT_ACCESS_KEY and SEALPIPE_DEPT_SECRET_KEY) when both are
// set, else with the service's (SEALPIPE_S3_ACCESS_KEY); without
// SEALPIPE_S3_ENDPOINT it writes to the local store.
func (e *Engine) UploadBatch(ctx context.Context, opts UploadOptions) (*UploadResult, error) {
	ref, files, err := readBatchDir(opts.Dir, opts.Ref)
	if err != nil {
		return nil, err
	}
	st, res, err := e.uploadStore(ctx)
	if err != nil {
		return nil, err
	}
	res.Batch, res.Inbox = ref.String(), strings.TrimSuffix(e.StoreLocation(), "/")+"/"+ref.Inbox()
	// The documents go up side by side; the approval files after every
	// document is in, one after the other: the signature's arrival commits
	// the batch.
	docs, approvals := files[:len(files)-2], files[len(files)-2:]
	uploaded, err := e.uploadEach(ctx, st, opts.Dir, ref, docs, uploadConcurrency)
	res.Objects = uploaded
	if err != nil {
		return res, err
	}
	res.Documents = len(uploaded)
	for _, f := range approvals {
		o, err := e.upload(ctx, st, opts.Dir, ref, f)
		if err != nil {
			return res, err
		}
		res.Objects = append(res.Objects, o)
	}
	return res, nil
}

// uploadConcurrency is how many documents of a batch UploadBatch uploads
// at once: enough to keep a store's round trips overlapping, few enough
// not to crowd a department's link.
const uploadConcurrency = 16

// uploadEach uploads files with up to n uploads at a time and returns what
// was uploaded, in the order of files. After the first error it starts no
// more uploads, waits for those under way and returns that error with the
// objects that did go up.
func (e *Engine) uploadEach(ctx context.Context, st storage.Store, dir string, ref pipeline.BatchRef, files []string, n int) ([]UploadedObject, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	objs := make([]UploadedObject, len(files))
	done := make([]bool, len(files))
	slots := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, f := range files {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			o, err := e.upload(ctx, st, dir, ref, f)
			if err != nil {
				cancel(err)
				return
			}
			objs[i], done[i] = o, true
		})
	}
	wg.Wait()
	var up []UploadedObject
	for i, o := range objs {
		if done[i] {
			up = append(up, o)
		}
	}
	if err := context.Cause(ctx); err != nil {
		return up, err
	}
	return up, nil
}

// upload uploads the batch file name create-only to the batch's inbox. An
// object already there with the same bytes is left as it is; one with
// other bytes is an error wrapping ErrUploadConflict.
func (e *Engine) upload(ctx context.Context, st storage.Store, dir string, ref pipeline.BatchRef, name string) (UploadedObject, error) {
	o := UploadedObject{Name: name, Key: ref.Inbox() + name}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return o, fmt.Errorf("upload %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return o, fmt.Errorf("upload %s: %w", name, err)
	}
	o.Size = fi.Size()
	// Streamed from the file (in parts, if large): a document of any
	// size goes up in constant memory.
	created, err := storage.PutOnceFrom(ctx, st, o.Key, io.NewSectionReader(f, 0, o.Size), o.Size, storage.PutOptions{ContentType: contentType(name)})
	if err != nil {
		return o, fmt.Errorf("upload %s to %s: %w", name, o.Key, err)
	}
	if !created {
		same, err := sameContent(ctx, st, o.Key, f, o.Size)
		if err != nil {
			return o, fmt.Errorf("upload %s: %s exists; reading it back: %w", name, o.Key, err)
		}
		if !same {
			return o, fmt.Errorf("%w: %s: batches are final once uploaded; upload the corrected batch under a new batch identifier", ErrUploadConflict, o.Key)
		}
		o.Existed = true
	}
	e.log.DebugContext(ctx, "uploaded", "key", o.Key, "size", o.Size, "existed", o.Existed)
	return o, nil
}

// sameContent reports whether the object under key holds the size bytes of
// f: the same length and SM3, read streaming.
func sameContent(ctx context.Context, st storage.Store, key string, f io.ReaderAt, size int64) (bool, error) {
	rc, info, err := st.Get(ctx, key)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	if info.Size >= 0 && info.Size != size {
		return false, nil
	}
	theirs, err := approval.Digest(io.LimitReader(rc, size+1))
	if err != nil {
		return false, err
	}
	ours, err := approval.Digest(io.NewSectionReader(f, 0, size))
	if err != nil {
		return false, err
	}
	return theirs == ours, nil
}

// uploadStore returns the store UploadBatch writes to, and a result saying
// whose credentials sign.
func (e *Engine) uploadStore(ctx context.Context) (storage.Store, *UploadResult, error) {
	s := e.settings
	if s.S3.Endpoint == "" {
		st, err := e.Store(ctx)
		return st, &UploadResult{Credentials: "local"}, err
	}
	if s.S3.DeptAccessKey == "" || s.S3.DeptSecretKey == "" {
		st, err := e.Store(ctx)
		return st, &UploadResult{Credentials: "service", AccessKey: s.S3.AccessKey}, err
	}
	// A department may neither look at nor create the bucket (package
	// iam): the first upload says whether it is there.
	cfg := s.s3Config()
	cfg.AccessKey, cfg.SecretKey, cfg.SkipBucketCheck = s.S3.DeptAccessKey, string(s.S3.DeptSecretKey), true
	st, err := s3.New(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("open S3 bucket %q at %s: %w", s.Bucket, s.S3.Endpoint, err)
	}
	return st, &UploadResult{Credentials: "department", AccessKey: s.S3.DeptAccessKey}, nil
}

// readBatchDir checks the batch folder dir against its approval and
// returns the batch and the files to upload, in upload order.
func readBatchDir(dir string, want pipeline.BatchRef) (pipeline.BatchRef, []string, error) {
	bad := func(format string, args ...any) (pipeline.BatchRef, []string, error) {
		return pipeline.BatchRef{}, nil, fmt.Errorf("%w: %s: %s", ErrNotABatch, dir, fmt.Sprintf(format, args...))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return pipeline.BatchRef{}, nil, err
	}
	var names []string
	hasSig := false
	for _, en := range entries {
		switch {
		case en.Name() == approval.SignatureName:
			hasSig = true
		case en.Name() == approval.ManifestName:
		default:
			names = append(names, en.Name())
		}
	}
	mb, err := os.ReadFile(filepath.Join(dir, approval.ManifestName))
	if errors.Is(err, os.ErrNotExist) || (err == nil && !hasSig) {
		return bad("no approval: it needs %s and its signature %s (sealpipe approve writes both)", approval.ManifestName, approval.SignatureName)
	}
	if err != nil {
		return pipeline.BatchRef{}, nil, err
	}
	m, err := approval.Parse(mb)
	if err != nil {
		return bad("%s: %v", approval.ManifestName, err)
	}
	ref := pipeline.BatchRef{Department: m.Department, Batch: m.Batch}
	if want.Department != "" && want.Department != ref.Department {
		return bad("--dept %q, but %s approves department %q", want.Department, approval.ManifestName, ref.Department)
	}
	if want.Batch != "" && want.Batch != ref.Batch {
		return bad("--batch %q, but %s approves batch %q", want.Batch, approval.ManifestName, ref.Batch)
	}
	if err := ref.Validate(); err != nil {
		return bad("%s: %v", approval.ManifestName, err)
	}
	var unlisted []string
	for _, n := range names {
		if _, ok := m.Find(n); !ok {
			unlisted = append(unlisted, n)
		}
	}
	if len(unlisted) > 0 {
		return bad("files the approval does not list: %s (remove them, or approve them again with sealpipe approve)", strings.Join(unlisted, ", "))
	}
	var missing, changed []string
	for _, d := range m.Documents {
		fi, err := os.Lstat(filepath.Join(dir, d.Name))
		if err != nil || !fi.Mode().IsRegular() {
			missing = append(missing, d.Name)
			continue
		}
		sum, err := fileDigest(filepath.Join(dir, d.Name))
		if err != nil {
			return pipeline.BatchRef{}, nil, err
		}
		if sum != d.SM3 {
			changed = append(changed, d.Name)
		}
	}
	if len(missing) > 0 {
		return bad("documents the approval lists are missing: %s", strings.Join(missing, ", "))
	}
	if len(changed) > 0 {
		return bad("documents changed since they were approved (SM3 digest differs): %s", strings.Join(changed, ", "))
	}
	slices.Sort(names)
	return ref, append(names, approval.ManifestName, approval.SignatureName), nil
}

// contentType returns the media type of a batch file.
func contentType(name string) string {
	switch lower := strings.ToLower(name); {
	case strings.HasSuffix(lower, ".json"):
		return "application/json"
	case strings.HasSuffix(lower, ".p7s"):
		return "application/pkcs7-signature"
	case strings.HasSuffix(lower, ".pdf"):
		return "application/pdf"
	case strings.HasSuffix(lower, ".ofd"):
		return "application/ofd"
	}
	return "application/octet-stream"
}
