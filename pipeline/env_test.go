package pipeline_test

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/internal/reportschema"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
)

var testPassphrase = []byte("pipeline test passphrase")

// shared is the trust chain every test reuses: making SM2 keys and
// encrypting them is the slow part of the setup.
var shared struct {
	once sync.Once
	dir  string
	err  error
}

// env is a pipeline over a fresh local store, with the demo's seals.
type env struct {
	t     testing.TB
	store storage.Store
	reg   *registry.Registry
	marks registry.Marks // the worker's registry high-water marks, kept across restarts
	ca    *devca.CA
	p     *pipeline.Pipeline
	cfg   pipeline.Config
}

func newEnv(t testing.TB, cfg pipeline.Config) *env {
	t.Helper()
	return newEnvWith(t, cfg, fs.Options{})
}

// newEnvWith is newEnv over a local store opened with opts.
func newEnvWith(t testing.TB, cfg pipeline.Config, opts fs.Options) *env {
	t.Helper()
	st, err := fs.OpenWith(t.TempDir(), "sealpipe", opts)
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, cfg, st)
}

// newEnvOn is newEnv over st, an empty store.
func newEnvOn(t testing.TB, cfg pipeline.Config, st storage.Store) *env {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = setupSharedPKI()
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	ctx := context.Background()
	ca, reg, err := demo.Setup(ctx, shared.dir, testPassphrase, st)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if cfg.Service.Key == nil {
		cfg.Service = service(t, ca)
	}
	state, err := fs.Open(t.TempDir(), "state")
	if err != nil {
		t.Fatal(err)
	}
	marks := registry.StoredMarks(state, "marks.json")
	if err := reg.Remember(ctx, marks); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, reg: reg, marks: marks, ca: ca, cfg: cfg}
	if _, bench := t.(*testing.B); !bench {
		// Every report the test made is valid against the documented schema.
		t.Cleanup(func() { e.checkStoredReports() })
	}
	e.rebuild()
	return e
}

func setupSharedPKI() (string, error) {
	dir, err := tempDir()
	if err != nil {
		return "", err
	}
	_, err = devca.Init(devca.Config{Dir: dir, Passphrase: testPassphrase, Units: demo.Units, Approvers: demo.Approvers})
	return dir, err
}

// rebuild makes a new pipeline with e.cfg, as a restarted worker would.
func (e *env) rebuild() {
	e.rebuildWith(e.ca.OpenAlias)
}

// rebuildWith is rebuild with another way to open signing keys by alias.
func (e *env) rebuildWith(open func(ctx context.Context, alias string) (crypto.Signer, error)) {
	signers := keys.NewCache(open)
	e.t.Cleanup(func() { signers.Close() })
	e.p = pipeline.New(e.store, e.reg, trust.NewPool([]*smx509.Certificate{e.ca.Root}), signers, e.cfg)
}

// service is the development pipeline identity of ca, which signs the
// pipeline's records.
func service(t testing.TB, ca *devca.CA) signed.Signer {
	t.Helper()
	key, err := ca.Signer(context.Background(), ca.Pipeline)
	if err != nil {
		t.Fatal(err)
	}
	return signed.Signer{Key: key, Cert: ca.Pipeline.Cert}
}

// restartWorker replaces the pipeline and its registry with new ones over
// the same store, as a worker restarted has: nothing cached, the registry
// heads it saw remembered only by its marks (internal/engine keeps them
// under <data>/state).
func (e *env) restartWorker() {
	e.t.Helper()
	e.reg = registry.New(e.store, e.ca.Pool())
	if err := e.reg.Remember(context.Background(), e.marks); err != nil {
		e.t.Fatal(err)
	}
	e.rebuild()
}

// admin is the development registrar, who signs registry changes.
func (e *env) admin() signed.Signer {
	e.t.Helper()
	key, err := e.ca.Signer(context.Background(), e.ca.Registrar)
	if err != nil {
		e.t.Fatal(err)
	}
	return signed.Signer{Key: key, Cert: e.ca.Registrar.Cert}
}

// setStatus changes a seal's status as the registrar.
func (e *env) setStatus(id string, to registry.Status, reason string) {
	e.t.Helper()
	if _, err := e.reg.SetStatus(context.Background(), id, to, reason, e.admin()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) approver(slug string) (crypto.Signer, *smx509.Certificate) {
	e.t.Helper()
	id := e.ca.Approvers[slug]
	key, err := e.ca.Signer(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return key, id.Cert
}

// sampleBatch makes a demo batch approved by demo.Approver.
func (e *env) sampleBatch(batch string, docs int, bad bool) *demo.Batch {
	e.t.Helper()
	key, cert := e.approver(demo.Approver)
	b, err := demo.MakeBatch(demo.BatchOptions{
		Ref: pipeline.BatchRef{Department: demo.Department, Batch: batch}, Docs: docs, Bad: bad,
		ApproverKey: key, ApproverCert: cert,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// resign rewrites a batch's approval after mutate changed its manifest.
func (e *env) resign(b *demo.Batch, slug string, mutate func(m *approval.Manifest)) {
	e.t.Helper()
	m, err := approval.Parse(b.Files[approval.ManifestName])
	if err != nil {
		e.t.Fatal(err)
	}
	mutate(m)
	key, cert := e.approver(slug)
	body, sig, err := approval.MarshalSigned(m, key, cert)
	if err != nil {
		e.t.Fatal(err)
	}
	b.Files[approval.ManifestName], b.Files[approval.SignatureName] = body, sig
}

// setDocument replaces (or adds) a document and lists it in the manifest
// with its true digest.
func (e *env) setDocument(b *demo.Batch, name string, data []byte) {
	e.t.Helper()
	b.Files[name] = data
	e.resign(b, demo.Approver, func(m *approval.Manifest) {
		d := approval.NewDocument(name, data, m.Documents[0].Seal, m.Documents[0].Placement)
		for i := range m.Documents {
			if m.Documents[i].Name == name {
				m.Documents[i] = d
				return
			}
		}
		m.Documents = append(m.Documents, d)
	})
}

func (e *env) upload(b *demo.Batch) {
	e.t.Helper()
	if err := b.Upload(context.Background(), e.store); err != nil {
		e.t.Fatal(err)
	}
}

// runBatch drives a batch through the pipeline the way the workers do and
// returns its report.
func (e *env) runBatch(ref pipeline.BatchRef) *report.Batch {
	e.t.Helper()
	ctx := context.Background()
	plan, err := e.p.Intake(ctx, ref)
	if err != nil {
		e.t.Fatalf("Intake: %v", err)
	}
	for _, n := range plan.Documents {
		if _, err := e.p.SealDocument(ctx, ref, n); err != nil {
			e.t.Fatalf("SealDocument(%s): %v", n, err)
		}
	}
	b, err := e.p.WriteBatchReport(ctx, ref)
	if err != nil {
		e.t.Fatalf("WriteBatchReport: %v", err)
	}
	reportschema.CheckValue(e.t, b)
	return b
}

func (e *env) read(key string) []byte {
	e.t.Helper()
	rc, _, err := e.store.Get(context.Background(), key)
	if err != nil {
		e.t.Fatalf("read %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// record reads the record under key, checking that the pipeline signed it
// and, if v is a report, that the record is valid against the schema.
func (e *env) record(key string, v any) {
	e.t.Helper()
	data := e.read(key)
	if err := audit.OpenRecord(data, v, e.ca.Pool()); err != nil {
		e.t.Fatalf("record %s: %v", key, err)
	}
	if kind, ok := reportschema.KindOf(v); ok {
		reportschema.CheckRecord(e.t, key, kind, data)
	}
}

func (e *env) exists(key string) bool {
	e.t.Helper()
	_, err := e.store.Stat(context.Background(), key)
	if err != nil && !errors.Is(err, storage.ErrNotExist) {
		e.t.Fatal(err)
	}
	return err == nil
}

func (e *env) count(prefix string) int {
	e.t.Helper()
	n := 0
	if err := e.store.List(context.Background(), prefix, func(storage.ObjectInfo) error { n++; return nil }); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) put(key string, data []byte) {
	e.t.Helper()
	if _, err := e.store.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), storage.PutOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// replace puts data under key in place of what is there.
func (e *env) replace(key string, data []byte) {
	e.t.Helper()
	if err := e.store.Delete(context.Background(), key); err != nil {
		e.t.Fatal(err)
	}
	e.put(key, data)
}

// selfSigned makes an SM2 certificate no trusted root vouches for.
func selfSigned(t *testing.T, cn string) (crypto.Signer, *smx509.Certificate) {
	return testpki.SelfSigned(t, cn)
}

// sealLocal seals the document in with e's pipeline outside any batch
// (Pipeline.SealLocalFile), returning the output's bytes.
func (e *env) sealLocal(in []byte, seal string, pl approval.Placement, output string) ([]byte, *report.Document, error) {
	out, rep, err := e.p.SealLocalFile(context.Background(), bytes.NewReader(in), int64(len(in)), seal, pl, output)
	if err != nil {
		return nil, nil, err
	}
	reportschema.CheckValue(e.t, rep)
	var b bytes.Buffer
	if _, err := out.WriteTo(&b); err != nil {
		return nil, nil, err
	}
	return b.Bytes(), rep, nil
}
