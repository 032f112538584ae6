package retention_test

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/retention"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/storage/s3"
)

// now is the fake clock's time.
var now = time.Date(2026, 12, 24, 2, 0, 0, 0, time.UTC)

const days = 24 * time.Hour

var ref = pipeline.BatchRef{Department: "civil-affairs", Batch: "2026-11-24-001"}

// inbox is what the department uploaded for ref: documents, a file in a
// sub-folder, the approval and its signature.
var inbox = map[string][]byte{
	"cert-00001.pdf":    []byte("%PDF-1.7 first document"),
	"cert-00002.ofd":    []byte("PK\x03\x04 second document"),
	"notes/readme.txt":  []byte("uploaded beside the batch"),
	"approval.json":     []byte(`{"batch":"2026-11-24-001"}`),
	"approval.json.p7s": []byte("\x30\x82 signature"),
}

// ids are the identities of the tests: a trust pool, the pipeline's
// identity in it and an outsider's (trusted, without the pipeline role).
type ids struct {
	pool              *trust.Pool
	service, outsider signed.Signer
}

var shared struct {
	once sync.Once
	ids  ids
}

func identities(t *testing.T) ids {
	t.Helper()
	shared.once.Do(func() {
		from, to := now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)
		rootKey := testpki.NewKey(t)
		root := &testpki.Identity{Key: rootKey, Cert: testpki.Issue(t, &smx509.Certificate{
			Subject: pkix.Name{CommonName: "Retention Test Root"}, NotBefore: from, NotAfter: to,
			KeyUsage: smx509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		}, rootKey, nil)}
		issue := func(cn string, roles ...asn1.ObjectIdentifier) signed.Signer {
			key := testpki.NewKey(t)
			return signed.Signer{Key: key, Cert: testpki.Issue(t, &smx509.Certificate{
				Subject: pkix.Name{CommonName: cn}, NotBefore: from, NotAfter: to,
				KeyUsage: smx509.KeyUsageDigitalSignature, UnknownExtKeyUsage: roles,
			}, key, root)}
		}
		shared.ids = ids{
			pool:     trust.NewPool([]*smx509.Certificate{root.Cert}),
			service:  issue("pipeline", trust.DefaultPipelineOID),
			outsider: issue("intruder"),
		}
	})
	return shared.ids
}

// stores are the backends every test runs against: the local folder
// store, and a bucket of its own on the real MinIO.
var stores = []struct {
	name string
	open func(t *testing.T) storage.Store
}{
	{"fs", func(t *testing.T) storage.Store {
		st, err := fs.Open(t.TempDir(), "sealpipe")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"minio", minioStore},
}

// minioStore returns a store on a bucket of t's own on the MinIO server
// of make services-up, removed with its objects when t ends.
func minioStore(t *testing.T) storage.Store {
	t.Helper()
	m := testenv.MinIO(t)
	st, err := s3.New(t.Context(), s3.Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Region: m.Region,
		Bucket: testenv.BucketName(t, m), CreateBucket: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func put(t *testing.T, st storage.Store, key string, body []byte) {
	t.Helper()
	if _, err := st.Put(t.Context(), key, bytes.NewReader(body), int64(len(body)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// upload writes the inbox of batch r.
func upload(t *testing.T, st storage.Store, r pipeline.BatchRef) {
	t.Helper()
	for name, body := range inbox {
		put(t, st, r.Inbox()+name, body)
	}
}

// signedReport is batch r's report completed at completed, signed by
// signer.
func signedReport(t *testing.T, signer signed.Signer, r pipeline.BatchRef, completed time.Time) []byte {
	t.Helper()
	body, err := signer.Marshal(&report.Batch{Department: r.Department, Batch: r.Batch, Sealed: 2, CompletedAt: completed})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// finalBatch uploads the inbox of ref to st, with a report the pipeline
// signed 31 days ago: due under the default retention. It returns st.
func finalBatch(t *testing.T, st storage.Store) storage.Store {
	t.Helper()
	upload(t, st, ref)
	put(t, st, ref.BatchReportKey(), signedReport(t, identities(t).service, ref, now.Add(-31*days)))
	return st
}

// objects returns the objects under prefix, by key relative to it.
func objects(t *testing.T, st storage.Store, prefix string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := st.List(t.Context(), prefix, func(o storage.ObjectInfo) error {
		b, _, err := storage.ReadAll(t.Context(), st, o.Key, 1<<20)
		out[strings.TrimPrefix(o.Key, prefix)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantInbox checks that the inbox of r holds what was uploaded, or
// nothing (intact false), and the archive the same bytes, or nothing.
func wantState(t *testing.T, st storage.Store, r pipeline.BatchRef, inboxIntact, archived bool) {
	t.Helper()
	check := func(where, prefix string, full bool) {
		got := objects(t, st, prefix)
		switch {
		case full && !maps.EqualFunc(got, inbox, bytes.Equal):
			t.Errorf("%s holds %q, want the %d objects uploaded, byte for byte", where, slices.Sorted(maps.Keys(got)), len(inbox))
		case !full && len(got) > 0:
			t.Errorf("%s holds %q, want nothing", where, slices.Sorted(maps.Keys(got)))
		}
	}
	check("the inbox", r.Inbox(), inboxIntact)
	check("the archive", retention.ArchivePrefix(r), archived)
}

func newPruner(t *testing.T, st storage.Store, cfg retention.Config) *retention.Pruner {
	t.Helper()
	cfg.Now = func() time.Time { return now }
	cfg.Logger = slog.New(slog.DiscardHandler)
	p, err := retention.New(st, identities(t).pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrune applies the rule to one batch in each state, on both stores:
// only a batch whose report the pipeline signed for it, completed the
// retention ago or more, loses its inbox; archived bytes are the
// uploaded ones.
func TestPrune(t *testing.T) {
	id := identities(t)
	other := pipeline.BatchRef{Department: ref.Department, Batch: "2026-11-24-002"}
	unsigned, _ := json.Marshal(report.Batch{Department: ref.Department, Batch: ref.Batch, CompletedAt: now.Add(-90 * days)})
	for _, tc := range []struct {
		name    string
		report  func(t *testing.T) []byte // nil: none
		cfg     retention.Config
		dryRun  bool
		want    retention.Outcome // "": no result at all
		err     error             // wrapped by Prune's error
		intact  bool              // the inbox is left as uploaded
		archive bool              // the archive holds the inbox
	}{
		{name: "final and old: archived", report: reportAt(id.service, ref, now.Add(-31*days)),
			want: retention.Archived, archive: true},
		{name: "final at the very end of its retention: archived", report: reportAt(id.service, ref, now.Add(-30*days)),
			want: retention.Archived, archive: true},
		{name: "final and old: deleted", report: reportAt(id.service, ref, now.Add(-31*days)), cfg: retention.Config{Action: retention.Delete},
			want: retention.Deleted},
		{name: "final and old, shorter retention", report: reportAt(id.service, ref, now.Add(-2*days)), cfg: retention.Config{Retention: 36 * time.Hour},
			want: retention.Archived, archive: true},
		{name: "final and young: kept", report: reportAt(id.service, ref, now.Add(-29*days)),
			want: retention.NotDue, intact: true},
		{name: "completed in the future: kept", report: reportAt(id.service, ref, now.Add(time.Hour)),
			want: retention.NotDue, intact: true},
		{name: "no report: kept", want: retention.NotFinal, intact: true},
		{name: "planted unsigned report: kept", report: func(*testing.T) []byte { return unsigned },
			want: retention.Failed, err: pipeline.ErrTampered, intact: true},
		{name: "report signed by an outsider: kept", report: reportAt(id.outsider, ref, now.Add(-90*days)),
			want: retention.Failed, err: pipeline.ErrTampered, intact: true},
		{name: "another batch's signed report: kept", report: reportAt(id.service, other, now.Add(-90*days)),
			want: retention.Failed, err: pipeline.ErrTampered, intact: true},
		{name: "signed report without completion time: kept", report: reportAt(id.service, ref, time.Time{}),
			want: retention.Failed, err: retention.ErrNoCompletionTime, intact: true},
		{name: "retention off: kept", report: reportAt(id.service, ref, now.Add(-3650*days)), cfg: retention.Config{Retention: retention.Forever},
			intact: true},
		{name: "dry run, archive: nothing changes", report: reportAt(id.service, ref, now.Add(-31*days)), dryRun: true,
			want: retention.WouldArchive, intact: true},
		{name: "dry run, delete: nothing changes", report: reportAt(id.service, ref, now.Add(-31*days)), dryRun: true,
			cfg: retention.Config{Action: retention.Delete}, want: retention.WouldDelete, intact: true},
	} {
		for _, s := range stores {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				st := s.open(t)
				upload(t, st, ref)
				if tc.report != nil {
					put(t, st, ref.BatchReportKey(), tc.report(t))
				}
				results, err := newPruner(t, st, tc.cfg).Prune(t.Context(), retention.Options{DryRun: tc.dryRun})
				if tc.err != nil {
					if !errors.Is(err, tc.err) {
						t.Errorf("Prune: %v, want an error wrapping %v", err, tc.err)
					}
				} else if err != nil {
					t.Errorf("Prune: %v", err)
				}
				switch {
				case tc.want == "" && len(results) != 0:
					t.Errorf("results %+v, want none", results)
				case tc.want != "" && (len(results) != 1 || results[0].Outcome != tc.want || results[0].Batch != ref.String()):
					t.Errorf("results %+v, want %s %s", results, ref, tc.want)
				case tc.want == retention.Archived || tc.want == retention.Deleted || tc.want == retention.WouldArchive || tc.want == retention.WouldDelete:
					if r, n := results[0], int64(0); r.Objects != len(inbox) || r.Bytes != sum(inbox, &n) {
						t.Errorf("result counts %d objects, %d bytes; want %d, %d", r.Objects, r.Bytes, len(inbox), n)
					}
				}
				wantState(t, st, ref, tc.intact, tc.archive)
				if _, err := st.Stat(t.Context(), ref.BatchReportKey()); (err != nil) != (tc.report == nil) {
					t.Errorf("the batch report: %v", err) // never touched
				}
			})
		}
	}
}

// reportAt returns the signed report of batch r, completed at completed.
func reportAt(signer signed.Signer, r pipeline.BatchRef, completed time.Time) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return signedReport(t, signer, r, completed) }
}

// sum adds up the sizes of objs into *n and returns it.
func sum(objs map[string][]byte, n *int64) int64 {
	for _, b := range objs {
		*n += int64(len(b))
	}
	return *n
}

// TestPruneMany prunes a bucket with several batches at once: each gets
// its own outcome, in key order; objects outside any batch are left alone.
func TestPruneMany(t *testing.T) {
	id := identities(t)
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			st := s.open(t)
			batches := map[string]func(t *testing.T) []byte{
				"a-old":      reportAt(id.service, pipeline.BatchRef{Department: "civil-affairs", Batch: "a-old"}, now.Add(-40*days)),
				"b-young":    reportAt(id.service, pipeline.BatchRef{Department: "civil-affairs", Batch: "b-young"}, now.Add(-1*days)),
				"c-open":     nil,
				"c-open-old": reportAt(id.service, pipeline.BatchRef{Department: "civil-affairs", Batch: "c-open-old"}, now.Add(-40*days)),
			}
			for b, rep := range batches {
				r := pipeline.BatchRef{Department: "civil-affairs", Batch: b}
				upload(t, st, r)
				if rep != nil {
					put(t, st, r.BatchReportKey(), rep(t))
				}
			}
			put(t, st, "inbox/stray.pdf", []byte("no batch"))
			put(t, st, "inbox/civil-affairs/.hidden/x.pdf", []byte("no valid batch"))
			reg := prometheus.NewRegistry()
			results, err := newPruner(t, st, retention.Config{Metrics: retention.NewMetrics(reg)}).Prune(t.Context(), retention.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range results {
				got = append(got, r.Batch+" "+string(r.Outcome))
			}
			// In key order: "c-open-old/" sorts before "c-open/".
			want := []string{"civil-affairs/a-old archived", "civil-affairs/b-young not-due", "civil-affairs/c-open-old archived", "civil-affairs/c-open not-final"}
			if !slices.Equal(got, want) {
				t.Errorf("results %q, want %q", got, want)
			}
			if _, err := st.Stat(t.Context(), "inbox/stray.pdf"); err != nil {
				t.Errorf("an object of no batch: %v", err)
			}
			if _, err := st.Stat(t.Context(), "inbox/civil-affairs/.hidden/x.pdf"); err != nil {
				t.Errorf("an object of no valid batch: %v", err)
			}
			if n := metric(t, reg, "sealpipe_inbox_pruned_batches_total"); n != 2 {
				t.Errorf("sealpipe_inbox_pruned_batches_total %v, want 2", n)
			}
			if n := metric(t, reg, "sealpipe_inbox_pruned_objects_total"); n != float64(2*len(inbox)) {
				t.Errorf("sealpipe_inbox_pruned_objects_total %v, want %d", n, 2*len(inbox))
			}
		})
	}
}

// metric returns the sum of the counter name in reg over its labels.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

// faulty is a store that fails the nth call of an operation, as a
// process killed there would stop, or runs a hook after a write.
type faulty struct {
	storage.Store
	op    string // "put" or "delete"
	n     int    // fail the nth call of op (1: the first)
	calls int
	after func(key string) // after each successful Put
}

var errCrash = errors.New("crash")

func (f *faulty) fail(op string) bool {
	if op != f.op {
		return false
	}
	f.calls++
	return f.calls == f.n
}

func (f *faulty) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.ObjectInfo, error) {
	if f.fail("put") {
		return storage.ObjectInfo{}, errCrash
	}
	info, err := f.Store.Put(ctx, key, r, size, opts)
	if err == nil && f.after != nil {
		f.after(key)
	}
	return info, err
}

func (f *faulty) Delete(ctx context.Context, key string) error {
	if f.fail("delete") {
		return errCrash
	}
	return f.Store.Delete(ctx, key)
}

// TestArchiveCutShort stops an archive run at each stage — during the
// copies, between the copies and the deletes, during the deletes — and
// runs it again: the second run finishes, with the archive byte for byte
// what was uploaded, and nothing is lost in between.
func TestArchiveCutShort(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   string
		n    int
	}{
		{"second copy fails", "put", 2},
		{"last copy fails", "put", len(inbox)},
		{"first delete fails: between copy and delete", "delete", 1},
		{"third delete fails", "delete", 3},
		{"last delete fails", "delete", len(inbox)},
	} {
		for _, s := range stores {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				st := finalBatch(t, s.open(t))
				results, err := newPruner(t, &faulty{Store: st, op: tc.op, n: tc.n}, retention.Config{}).Prune(t.Context(), retention.Options{})
				if !errors.Is(err, errCrash) || len(results) != 1 || results[0].Outcome != retention.Failed {
					t.Fatalf("cut short: %+v, %v; want the batch failed", results, err)
				}
				// Nothing lost: each object is in the inbox or, verified, in the archive.
				left, archived := objects(t, st, ref.Inbox()), objects(t, st, retention.ArchivePrefix(ref))
				for name, body := range inbox {
					if !bytes.Equal(left[name], body) && !bytes.Equal(archived[name], body) {
						t.Errorf("%s is neither in the inbox nor in the archive", name)
					}
				}
				if tc.op == "delete" && len(left) != len(inbox)-(tc.n-1) {
					t.Errorf("the inbox holds %d objects after %d deletes", len(left), tc.n-1)
				}
				if _, ok := left[approval.SignatureName]; !ok {
					t.Errorf("the approval signature, which committed the batch, went before the rest of the inbox")
				}
				results, err = newPruner(t, st, retention.Config{}).Prune(t.Context(), retention.Options{})
				if err != nil || len(results) != 1 || results[0].Outcome != retention.Archived {
					t.Fatalf("run again: %+v, %v; want the batch archived", results, err)
				}
				wantState(t, st, ref, false, true)
			})
		}
	}
}

// TestArchiveConflict: an object already under an archive key with other
// bytes keeps the whole inbox, and is left as it is.
func TestArchiveConflict(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			st := finalBatch(t, s.open(t))
			planted := []byte("other bytes")
			put(t, st, retention.ArchivePrefix(ref)+"cert-00002.ofd", planted)
			results, err := newPruner(t, st, retention.Config{}).Prune(t.Context(), retention.Options{})
			if !errors.Is(err, retention.ErrArchiveConflict) || len(results) != 1 || results[0].Outcome != retention.Failed {
				t.Fatalf("%+v, %v; want the batch failed with ErrArchiveConflict", results, err)
			}
			if got := objects(t, st, ref.Inbox()); !maps.EqualFunc(got, inbox, bytes.Equal) {
				t.Errorf("the inbox holds %q, want it intact", slices.Sorted(maps.Keys(got)))
			}
			if got := objects(t, st, retention.ArchivePrefix(ref))["cert-00002.ofd"]; !bytes.Equal(got, planted) {
				t.Errorf("the object in the archive became %q", got)
			}
		})
	}
}

// TestChangedWhileArchiving: an inbox object uploaded again between its
// copy and its deletion is kept, then and on the next run.
func TestChangedWhileArchiving(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			st := finalBatch(t, s.open(t))
			again := []byte("%PDF-1.7 uploaded again")
			f := &faulty{Store: st, after: func(key string) {
				if key == retention.ArchivePrefix(ref)+"cert-00001.pdf" {
					put(t, st, ref.Inbox()+"cert-00001.pdf", again)
				}
			}}
			for run, want := range []error{retention.ErrChanged, retention.ErrArchiveConflict} {
				results, err := newPruner(t, f, retention.Config{}).Prune(t.Context(), retention.Options{})
				if !errors.Is(err, want) || len(results) != 1 || results[0].Outcome != retention.Failed {
					t.Fatalf("run %d: %+v, %v; want the batch failed with %v", run+1, results, err, want)
				}
				if got := objects(t, st, ref.Inbox())["cert-00001.pdf"]; !bytes.Equal(got, again) {
					t.Errorf("run %d: the object uploaded again became %q", run+1, got)
				}
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	for in, want := range map[string]retention.Action{"": retention.Archive, "archive": retention.Archive, "delete": retention.Delete} {
		if got, err := retention.ParseAction(in); err != nil || got != want {
			t.Errorf("ParseAction(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := retention.ParseAction("move"); !errors.Is(err, retention.ErrAction) {
		t.Errorf("ParseAction(move): %v, want ErrAction", err)
	}
	if _, err := retention.New(nil, nil, retention.Config{Action: "shred"}); !errors.Is(err, retention.ErrAction) {
		t.Errorf("New with action shred: %v, want ErrAction", err)
	}
}
