package backup_test

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/backup"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/storage/s3"
)

// Seals of the tests.
const (
	sealA = "33010200000001"
	sealB = "33010200000002"
	sealC = "33010200000003"
)

// world is a store with a registry and a usage log, and the identities
// that write them.
type world struct {
	st                       storage.Store
	reg                      *registry.Registry
	log                      *audit.Log
	pool                     *trust.Pool
	admin, service, outsider signed.Signer
	maker                    signed.Signer
	signer, approver         *smx509.Certificate
}

// newWorld returns a world over a store of its own in a local folder,
// with seals made.
func newWorld(t *testing.T, seals ...string) *world {
	t.Helper()
	w := newWorldIn(t, newStore(t, "sealpipe"))
	for _, id := range seals {
		w.makeSeal(t, id)
	}
	return w
}

// newWorldIn returns a world over st.
func newWorldIn(t *testing.T, st storage.Store) *world {
	t.Helper()
	root := testpki.CA(t, "Backup Test Root")
	leaf := func(cn string, roles ...asn1.ObjectIdentifier) signed.Signer {
		id := testpki.Leaf(t, root, cn, roles...)
		return signed.Signer{Key: id.Key, Cert: id.Cert}
	}
	w := &world{
		st: st, pool: trust.NewPool([]*smx509.Certificate{root.Cert}),
		admin: leaf("registrar", trust.DefaultRegistryAdminOID), service: leaf("pipeline", trust.DefaultPipelineOID),
		outsider: leaf("intruder"), maker: leaf("sealmaker"),
		signer: leaf("civil-affairs").Cert, approver: leaf("approver-zhang", trust.DefaultApproverOID).Cert,
	}
	w.reg = registry.New(w.st, w.pool)
	w.log = audit.New(w.st, w.service, w.pool)
	return w
}

func newStore(t *testing.T, bucket string) storage.Store {
	t.Helper()
	st, err := fs.OpenWith(t.TempDir(), bucket, fs.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newLocation(t *testing.T) backup.Location {
	return backup.Location{Store: newStore(t, "backup"), Prefix: "snap"}
}

func (w *world) makeSeal(t *testing.T, id string) {
	t.Helper()
	_, err := w.reg.Make(context.Background(), registry.MakeRequest{
		ID: id, Unit: "某某县民政局", Purpose: "业务专用章", Key: "civil-affairs", SignerCert: w.signer, Maker: w.maker,
		Picture:   ses.Picture{Type: "PNG", Data: []byte("picture"), WidthMM: 40, HeightMM: 40},
		Approvers: []registry.ApproverGrant{{Cert: w.approver, Departments: []string{"civil-affairs"}}},
	}, w.admin)
	if err != nil {
		t.Fatal(err)
	}
}

// submit submits application id (county rules 第八条) with two
// identity materials, and approves it when approve is set.
func (w *world) submit(t *testing.T, id string, approve bool) {
	t.Helper()
	ctx := context.Background()
	_, err := w.reg.Submit(ctx, registry.ApplicationRequest{
		ID: id, Unit: "某某县民政局", Kind: registry.KindName, Holder: "张三", Clerk: "王芳",
		Materials: []registry.MaterialFile{{Name: "unit-licence.pdf", Data: []byte("%PDF licence " + id)}, {Name: "holder-id.png", Data: []byte("PNG id card")}},
	}, w.admin)
	if err != nil {
		t.Fatal(err)
	}
	if approve {
		if _, err := w.reg.Review(ctx, id, true, "materials complete", nil, w.admin); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *world) setStatus(t *testing.T, id string, to registry.Status) {
	t.Helper()
	if _, err := w.reg.SetStatus(context.Background(), id, to, "test", w.admin); err != nil {
		t.Error(err)
	}
}

// batch seals docs documents of batch b with each of seals as the
// pipeline does: outputs, usage records, the commit to each seal's log,
// the signed batch report naming each checkpoint.
func (w *world) batch(t *testing.T, b string, docs int, seals ...string) {
	t.Helper()
	ctx := context.Background()
	ref := pipeline.BatchRef{Department: "civil-affairs", Batch: b}
	var cps []report.LogCheckpoint
	for _, seal := range seals {
		var keys []string
		for i := range docs {
			doc := fmt.Sprintf("cert-%s-%05d.pdf", seal, i+1)
			out := []byte("%PDF sealed " + b + "/" + doc)
			key := "sealed/civil-affairs/" + b + "/" + doc
			put(t, w.st, key, out)
			rec := audit.Record{SealID: seal, SealName: "章", Department: ref.Department, Batch: b, Document: doc,
				InputSM3: "aa", OutputSM3: sm3hex(out), Output: key, SignedAt: time.Now().UTC(), Operator: "pipeline"}
			if err := w.log.Append(ctx, rec); err != nil {
				t.Error(err)
				return
			}
			keys = append(keys, rec.Key())
		}
		cp, err := w.log.Commit(ctx, seal, ref.String(), keys)
		if err != nil {
			t.Error(err)
			return
		}
		cps = append(cps, report.LogCheckpoint{Seal: seal, Seq: cp.Seq, SM3: cp.SM3})
	}
	rep, err := w.service.Marshal(report.Batch{Department: ref.Department, Batch: b, Sealed: docs * len(seals), CompletedAt: time.Now().UTC(), UsageLog: cps})
	if err != nil {
		t.Error(err)
		return
	}
	put(t, w.st, ref.BatchReportKey(), rep)
}

func put(t *testing.T, st storage.Store, key string, body []byte) {
	t.Helper()
	if _, err := st.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), storage.PutOptions{}); err != nil {
		t.Error(err)
	}
}

func sm3hex(b []byte) string {
	sum := sm3.Sum(b)
	return hex.EncodeToString(sum[:])
}

// verify runs what `sealpipe registry verify` and `sealpipe audit verify`
// run over st and fails t with what they find.
func verify(t *testing.T, st storage.Store, pool *trust.Pool) {
	t.Helper()
	ctx := context.Background()
	problems, err := registry.New(st, pool).Verify(ctx)
	if err != nil || len(problems) > 0 {
		t.Fatalf("registry verify: %v %v", problems, err)
	}
	log := audit.New(st, signed.Signer{}, pool)
	seals, err := log.Seals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	complete := func(label string) (bool, error) {
		ref, err := pipeline.ParseBatchLabel(label)
		if err != nil {
			return false, err
		}
		_, err = st.Stat(ctx, ref.BatchReportKey())
		return err == nil, nil
	}
	for _, s := range seals {
		if p, err := log.Verify(ctx, s, complete); p != nil || err != nil {
			t.Fatalf("audit verify: %v %v", p, err)
		}
	}
}

// restore runs a whole restore: open, trust, check, copy.
func restore(ctx context.Context, loc backup.Location, pool *trust.Pool, dst storage.Store) error {
	b, err := backup.Open(ctx, loc)
	if err != nil {
		return err
	}
	if err := b.Trust(pool); err != nil {
		return err
	}
	if err := b.Check(ctx); err != nil {
		return err
	}
	_, err = b.Restore(ctx, dst)
	return err
}

func (w *world) take(t *testing.T, loc backup.Location, opts backup.Options) *backup.Result {
	t.Helper()
	opts.Signer, opts.Version = w.service, "test"
	res, err := backup.Take(context.Background(), w.st, loc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func keys(t *testing.T, st storage.Store) []string {
	t.Helper()
	var out []string
	if err := st.List(context.Background(), "", func(o storage.ObjectInfo) error { out = append(out, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRoundTrip: backup, restore into an empty store, both verifies pass
// and the store holds what the original held of the registry and usage
// log, and the data files come back as they were.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	w := newWorld(t, sealA, sealB)
	ctx := context.Background()
	w.setStatus(t, sealB, registry.StatusSuspended)
	w.batch(t, "b1", 2, sealA)
	w.batch(t, "b2", 1, sealA)
	w.submit(t, "app-1", true)
	w.submit(t, "app-2", false)
	put(t, w.st, "inbox/civil-affairs/b3/x.pdf", []byte("%PDF waiting")) // not held
	files := []backup.File{{Name: "keys.conf", Mode: 0o644, Body: []byte("pipeline file:///x\n")}, {Name: "pki/root.key", Mode: 0o600, Body: []byte("encrypted")}}
	loc := newLocation(t)
	res := w.take(t, loc, backup.Options{Files: files, Data: "/srv/sealpipe"})
	if len(res.Warnings) > 0 || res.Rounds != 1 {
		t.Fatalf("warnings %v, rounds %d", res.Warnings, res.Rounds)
	}
	want := []backup.Seal{{ID: sealA, Registry: 1, UsageLog: 2}, {ID: sealB, Registry: 2}}
	if fmt.Sprint(res.Manifest.Seals) != fmt.Sprint(want) {
		t.Fatalf("seals %v, want %v", res.Manifest.Seals, want)
	}
	if want := []backup.Application{{ID: "app-1", Registry: 2}, {ID: "app-2", Registry: 1}}; fmt.Sprint(res.Manifest.Applications) != fmt.Sprint(want) {
		t.Fatalf("applications %v, want %v", res.Manifest.Applications, want)
	}

	dst := newStore(t, "restored")
	if err := restore(ctx, loc, w.pool, dst); err != nil {
		t.Fatal(err)
	}
	verify(t, dst, w.pool)
	var wantKeys []string
	for _, k := range keys(t, w.st) {
		if !strings.HasPrefix(k, storage.PrefixInbox) {
			wantKeys = append(wantKeys, k)
		}
	}
	if got := keys(t, dst); fmt.Sprint(got) != fmt.Sprint(wantKeys) {
		t.Fatalf("restored\n%v\nwant\n%v", got, wantKeys)
	}
	b, err := backup.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Files(ctx)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(files) {
		t.Fatalf("files %v %v, want %v", got, err, files)
	}
	if b.Manifest.Data != "/srv/sealpipe" || b.Manifest.Bucket != "sealpipe" || b.Manifest.AsOf.After(b.Manifest.Created) {
		t.Fatalf("manifest %+v", b.Manifest)
	}
	if a, err := registry.New(dst, w.pool).Application(ctx, "app-1"); err != nil || a.State != registry.AppApproved || len(a.Materials) != 2 {
		t.Fatalf("restored application %+v, %v", a, err)
	}
	if heads := b.Manifest.Heads(); heads[sealA] != 1 || heads[sealB] != 2 || heads[registry.ApplicationMark("app-1")] != 2 || len(heads) != 4 {
		t.Fatalf("heads %v", heads)
	}
	// A second restore finds the store not empty, and writes nothing.
	before := keys(t, dst)
	if err := restore(ctx, loc, w.pool, dst); !errors.Is(err, backup.ErrNotEmpty) {
		t.Fatalf("restore into a non-empty store: %v, want ErrNotEmpty", err)
	}
	if after := keys(t, dst); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("a refused restore changed the store")
	}
	// A second backup to the same place is refused, and so is one to a
	// place holding anything, before it copies a thing.
	used := newLocation(t)
	put(t, used.Store, used.Prefix+"/leftover", []byte("x"))
	for _, loc := range []backup.Location{loc, used} {
		if _, err := backup.Take(ctx, w.st, loc, backup.Options{Signer: w.service}); !errors.Is(err, backup.ErrNotEmpty) {
			t.Fatalf("backup into a used location: %v, want ErrNotEmpty", err)
		}
	}
	if k := keys(t, used.Store); fmt.Sprint(k) != "[snap/leftover]" {
		t.Fatalf("a refused backup wrote: %v", k)
	}
}

// TestRestoreRefuses: a backup with any object missing, added or changed,
// an unfinished one, or one whose manifest is not the pipeline's is
// refused naming the object, and nothing is written.
func TestRestoreRefuses(t *testing.T) {
	t.Parallel()
	w := newWorld(t, sealA)
	ctx := context.Background()
	w.batch(t, "b1", 2, sealA)
	const change = "store/" + "registry/seals/" + sealA + "/log/000001.json"
	for _, tc := range []struct {
		name   string
		spoil  func(t *testing.T, loc backup.Location, raw []byte)
		object string // named by the error
	}{
		{"object changed", func(t *testing.T, loc backup.Location, _ []byte) {
			body, _, _ := storage.ReadAll(ctx, loc.Store, loc.Prefix+"/"+change, 1<<20)
			body[len(body)-2] ^= 1
			put(t, loc.Store, loc.Prefix+"/"+change, body)
		}, change},
		{"object longer", func(t *testing.T, loc backup.Location, _ []byte) {
			body, _, _ := storage.ReadAll(ctx, loc.Store, loc.Prefix+"/"+change, 1<<20)
			put(t, loc.Store, loc.Prefix+"/"+change, append(body, ' '))
		}, change},
		{"object missing", func(t *testing.T, loc backup.Location, _ []byte) {
			if err := loc.Store.Delete(ctx, loc.Prefix+"/"+change); err != nil {
				t.Fatal(err)
			}
		}, change},
		{"object added", func(t *testing.T, loc backup.Location, _ []byte) {
			put(t, loc.Store, loc.Prefix+"/store/registry/seals/"+sealA+"/log/000002.json", []byte("{}"))
		}, "store/registry/seals/" + sealA + "/log/000002.json"},
		{"unfinished: no manifest", func(t *testing.T, loc backup.Location, _ []byte) {
			if err := loc.Store.Delete(ctx, loc.Prefix+"/"+backup.ManifestName); err != nil {
				t.Fatal(err)
			}
		}, backup.ManifestName},
		{"manifest edited", func(t *testing.T, loc backup.Location, raw []byte) {
			put(t, loc.Store, loc.Prefix+"/"+backup.ManifestName, bytes.Replace(raw, []byte(`"version": "test"`), []byte(`"version": "tesT"`), 1))
		}, backup.ManifestName},
		{"manifest signed by an outsider", func(t *testing.T, loc backup.Location, raw []byte) {
			payload, _, err := signed.Open(raw)
			if err != nil {
				t.Fatal(err)
			}
			m, err := backup.ParseManifest(payload)
			if err != nil {
				t.Fatal(err)
			}
			forged, err := w.outsider.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			put(t, loc.Store, loc.Prefix+"/"+backup.ManifestName, forged)
		}, backup.ManifestName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := newLocation(t)
			w.take(t, loc, backup.Options{})
			raw, _, err := storage.ReadAll(ctx, loc.Store, loc.Prefix+"/"+backup.ManifestName, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			tc.spoil(t, loc, raw)
			dst := newStore(t, "restored")
			err = restore(ctx, loc, w.pool, dst)
			var oe *backup.ObjectError
			if !errors.Is(err, backup.ErrVerify) || !errors.As(err, &oe) || oe.Name != tc.object {
				t.Fatalf("restore = %v, want an *ObjectError naming %s", err, tc.object)
			}
			if k := keys(t, dst); len(k) > 0 {
				t.Fatalf("a refused restore wrote %v", k)
			}
		})
	}
	// A location with nothing there is no backup at all.
	if _, err := backup.Open(ctx, newLocation(t)); !errors.Is(err, backup.ErrNoBackup) {
		t.Fatalf("Open of an empty location = %v, want ErrNoBackup", err)
	}
}

// TestCut: writes in progress when the backup is taken are left out — a
// registry change whose head has not moved yet, a usage-log segment
// without its checkpoint, and a batch report naming that checkpoint —
// so that the restored store verifies and shows what had happened by the
// cut, no more.
func TestCut(t *testing.T) {
	t.Parallel()
	w := newWorld(t, sealA, sealB)
	ctx := context.Background()
	w.batch(t, "b1", 1, sealA)
	// A status change whose head was not moved yet: the head of before.
	head := "registry/seals/" + sealA + "/head.json"
	old, _, err := storage.ReadAll(ctx, w.st, head, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	w.setStatus(t, sealA, registry.StatusSuspended)
	put(t, w.st, head, old)
	// Batch b2 of both seals, committed to A's log, its commit to B's
	// still in progress (no checkpoint yet), and (as a backup reading
	// reports after its last look can find) the report naming both.
	w.batch(t, "b2", 1, sealA, sealB)
	if err := w.st.Delete(ctx, audit.CheckpointKey(sealB, 1)); err != nil {
		t.Fatal(err)
	}
	// An application's review whose head was not moved yet, and a
	// submission in progress: its material written, its first change not.
	w.submit(t, "app-1", false)
	appHead := registry.ApplicationsPrefix + "app-1/head.json"
	oldApp, _, err := storage.ReadAll(ctx, w.st, appHead, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.Review(ctx, "app-1", true, "", nil, w.admin); err != nil {
		t.Fatal(err)
	}
	put(t, w.st, appHead, oldApp)
	put(t, w.st, registry.MaterialKey("app-2", "unit-licence.pdf"), []byte("%PDF licence"))

	loc := newLocation(t)
	res := w.take(t, loc, backup.Options{})
	if want := []backup.Application{{ID: "app-1", Registry: 1}}; fmt.Sprint(res.Manifest.Applications) != fmt.Sprint(want) {
		t.Fatalf("applications %v, want %v", res.Manifest.Applications, want)
	}
	if want := []backup.Seal{{ID: sealA, Registry: 1, UsageLog: 2}, {ID: sealB, Registry: 1}}; fmt.Sprint(res.Manifest.Seals) != fmt.Sprint(want) {
		t.Fatalf("seals %v, want %v", res.Manifest.Seals, want)
	}
	dst := newStore(t, "restored")
	if err := restore(ctx, loc, w.pool, dst); err != nil {
		t.Fatal(err)
	}
	verify(t, dst, w.pool)
	e, err := registry.New(dst, w.pool).Get(ctx, sealA)
	if err != nil || e.Status != registry.StatusActive || e.Head != 1 {
		t.Fatalf("restored seal %+v %v: want active at change 1", e, err)
	}
	if a, err := registry.New(dst, w.pool).Application(ctx, "app-1"); err != nil || a.State != registry.AppSubmitted {
		t.Fatalf("restored application %+v %v: want submitted at change 1", a, err)
	}
	for _, key := range []string{registry.ChangeKey(sealA, 2), audit.SegmentKey(sealB, 1), "reports/civil-affairs/b2/batch.json",
		registry.ApplicationChangeKey("app-1", 2), registry.MaterialKey("app-2", "unit-licence.pdf")} {
		if _, err := dst.Stat(ctx, key); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("%s restored: a write in progress at the cut", key)
		}
	}
	// The usage record of b2 with seal B is held: a use, not in the log yet.
	if _, err := dst.Stat(ctx, "audit/"+sealB+"/civil-affairs/b2/cert-"+sealB+"-00001.pdf.json"); err != nil {
		t.Error(err)
	}
}

// TestHeadsLookedAtAgain: a look at the store lists the registry, then
// reads one seal's head after the other's. Changes made between the two
// reads — seal A revoked, then seal B suspended — are caught by the look
// after the copy, and the backup holds both, never B's change without A's,
// which came first. A change made after the listing and before its head
// is read is copied too: the changes a head names are copied by key.
func TestHeadsLookedAtAgain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(w *world)
		want   map[string]registry.Status
		rounds int
	}{
		{"A then B between their head reads", func(w *world) {
			w.setStatus(t, sealA, registry.StatusRevoked)
			w.setStatus(t, sealB, registry.StatusSuspended)
		}, map[string]registry.Status{sealA: registry.StatusRevoked, sealB: registry.StatusSuspended}, 2},
		{"B after the listing, before its head read", func(w *world) {
			w.setStatus(t, sealB, registry.StatusSuspended)
		}, map[string]registry.Status{sealA: registry.StatusActive, sealB: registry.StatusSuspended}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, sealA, sealB)
			ctx := context.Background()
			var once sync.Once
			opts := backup.Options{}
			backup.SetHeadRead(&opts, func(key string) {
				if strings.Contains(key, sealA) {
					once.Do(func() { tc.change(w) })
				}
			})
			loc := newLocation(t)
			res := w.take(t, loc, opts)
			if res.Rounds != tc.rounds {
				t.Errorf("rounds %d, want %d", res.Rounds, tc.rounds)
			}
			dst := newStore(t, "restored")
			if err := restore(ctx, loc, w.pool, dst); err != nil {
				t.Fatal(err)
			}
			verify(t, dst, w.pool)
			reg := registry.New(dst, w.pool)
			for id, want := range tc.want {
				if e, err := reg.Get(ctx, id); err != nil || e.Status != want {
					t.Errorf("restored %s: %v %v, want %s (the store's at the backup's as-of)", id, e.Status, err, want)
				}
			}
		})
	}
}

// TestApplicationLookedAtAgain: an application reviewed after its head
// was read is caught by the look after the copy, like a seal's change.
func TestApplicationLookedAtAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, sealA)
	ctx := context.Background()
	w.submit(t, "app-1", false)
	var once sync.Once
	opts := backup.Options{}
	backup.SetHeadRead(&opts, func(key string) {
		if strings.Contains(key, "app-1") {
			once.Do(func() {
				if _, err := w.reg.Review(ctx, "app-1", true, "", nil, w.admin); err != nil {
					t.Error(err)
				}
			})
		}
	})
	loc := newLocation(t)
	if res := w.take(t, loc, opts); res.Rounds != 2 || fmt.Sprint(res.Manifest.Applications) != "[{app-1 2}]" {
		t.Fatalf("rounds %d, applications %v; want 2 rounds and app-1 at change 2", res.Rounds, res.Manifest.Applications)
	}
	dst := newStore(t, "restored")
	if err := restore(ctx, loc, w.pool, dst); err != nil {
		t.Fatal(err)
	}
	verify(t, dst, w.pool)
	if a, err := registry.New(dst, w.pool).Application(ctx, "app-1"); err != nil || a.State != registry.AppApproved {
		t.Fatalf("restored application %+v %v: want approved", a, err)
	}
}

// TestUnsettled: a store that never stands still is refused, not half
// copied.
func TestUnsettled(t *testing.T) {
	t.Parallel()
	w := newWorld(t, sealB)
	status := registry.StatusActive
	opts := backup.Options{Signer: w.service, MaxRounds: 3}
	backup.SetHeadRead(&opts, func(string) {
		status = map[registry.Status]registry.Status{registry.StatusSuspended: registry.StatusActive, registry.StatusActive: registry.StatusSuspended}[status]
		w.setStatus(t, sealB, status)
	})
	loc := newLocation(t)
	if _, err := backup.Take(context.Background(), w.st, loc, opts); !errors.Is(err, backup.ErrUnsettled) {
		t.Fatalf("Take of a store that kept changing = %v, want ErrUnsettled", err)
	}
	if k := keys(t, loc.Store); len(k) > 0 {
		t.Fatalf("a failed backup left %v", k)
	}
}

// TestConsistentWhileWriting: status changes and sealed batches race the
// backup; what it holds restores into a store that verifies, and each
// seal's logs in it are the store's own up to the cut.
func TestConsistentWhileWriting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) storage.Store
	}{
		{"folder", func(t *testing.T) storage.Store { return newStore(t, "sealpipe") }},
		{"minio", func(t *testing.T) storage.Store {
			m := testenv.MinIO(t)
			st, err := s3.New(context.Background(), s3.Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Region: m.Region, Bucket: testenv.Bucket(t, m)})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			consistentWhileWriting(t, newWorldIn(t, tc.store(t)))
		})
	}
}

func consistentWhileWriting(t *testing.T, w *world) {
	ctx := context.Background()
	for _, id := range []string{sealA, sealB, sealC} {
		w.makeSeal(t, id)
	}
	w.batch(t, "b0", 1, sealA)
	for run := range 2 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			for i := range 4 {
				id := []string{sealB, sealC}[i%2]
				w.setStatus(t, id, []registry.Status{registry.StatusSuspended, registry.StatusActive}[i/2%2])
			}
		})
		wg.Go(func() {
			<-start
			for i := range 4 {
				w.batch(t, fmt.Sprintf("r%d-%d", run, i), 2, []string{sealA, sealB}[i%2])
			}
		})
		loc := newLocation(t)
		close(start)
		res := w.take(t, loc, backup.Options{MaxRounds: 100})
		wg.Wait()
		dst := newStore(t, "restored")
		if err := restore(ctx, loc, w.pool, dst); err != nil {
			t.Fatal(err)
		}
		verify(t, dst, w.pool)
		// Every object of a log in the backup is the store's own.
		for _, s := range res.Manifest.Seals {
			var keys []string
			for seq := 1; seq <= s.Registry; seq++ {
				keys = append(keys, registry.ChangeKey(s.ID, seq))
			}
			for seq := 1; seq <= s.UsageLog; seq++ {
				keys = append(keys, audit.SegmentKey(s.ID, seq), audit.CheckpointKey(s.ID, seq))
			}
			for _, key := range keys {
				a, _, err := storage.ReadAll(ctx, w.st, key, 1<<20)
				b, _, err2 := storage.ReadAll(ctx, dst, key, 1<<20)
				if err != nil || err2 != nil || !bytes.Equal(a, b) {
					t.Fatalf("%s: restored differs from the store's (%v, %v)", key, err, err2)
				}
			}
		}
		t.Logf("run %d: %d rounds, seals %v", run, res.Rounds, res.Manifest.Seals)
	}
}
