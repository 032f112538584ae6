package audit_test

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
)

const seal = "33010200000001"

// identities returns a trust pool, the pipeline's identity in it and an
// outsider's (a trusted certificate without the pipeline role).
func identities(t *testing.T) (*trust.Pool, signed.Signer, signed.Signer) {
	t.Helper()
	rootKey := testpki.NewKey(t)
	root := &testpki.Identity{Key: rootKey, Cert: testpki.Issue(t, &smx509.Certificate{
		Subject: pkix.Name{CommonName: "Audit Test Root"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}, rootKey, nil)}
	leaf := func(cn string, role asn1.ObjectIdentifier) signed.Signer {
		key := testpki.NewKey(t)
		tmpl := &smx509.Certificate{Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().AddDate(1, 0, 0), KeyUsage: smx509.KeyUsageDigitalSignature}
		if role != nil {
			tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{role}
		}
		return signed.Signer{Key: key, Cert: testpki.Issue(t, tmpl, key, root)}
	}
	return trust.NewPool([]*smx509.Certificate{root.Cert}), leaf("pipeline", trust.DefaultPipelineOID), leaf("intruder", nil)
}

// use writes a sealed output and its usage record for document doc of
// batch b, as the pipeline does.
func use(t *testing.T, st storage.Store, log *audit.Log, b, doc string) audit.Record {
	t.Helper()
	output := []byte("%PDF sealed " + b + "/" + doc)
	key := "sealed/dept/" + b + "/" + doc
	put(t, st, key, output)
	rec := audit.Record{SealID: seal, SealName: "章", Department: "dept", Batch: b, Document: doc,
		InputSM3: "aa", OutputSM3: sm3hex(output), Output: key, SignedAt: time.Now().UTC(), Operator: "pipeline"}
	if err := log.Append(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestAppend(t *testing.T) {
	t.Parallel()
	pool, svc, outsider := identities(t)
	st, err := fs.Open(t.TempDir(), "audit-test")
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(st, svc, pool)
	ctx := context.Background()
	rec := use(t, st, log, "b", "x.pdf")
	if got, want := rec.Key(), "audit/33010200000001/dept/b/x.pdf.json"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
	if got, err := log.ReadRecord(ctx, rec.Key()); err != nil || got.OutputSM3 != rec.OutputSM3 {
		t.Fatalf("ReadRecord = %+v, %v", got, err)
	}
	// A retried sealing of the same output appends again: the first stands.
	if err := log.Append(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// Another output under the same key is no retry.
	other := rec
	other.OutputSM3 = "cc"
	if err := log.Append(ctx, other); !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("Append of another output = %v, want ErrTampered", err)
	}
	// A forged record planted where the real one belongs is found out,
	// never taken for it: unsigned, or signed by someone else.
	for name, forge := range map[string]func(audit.Record) []byte{
		"unsigned": func(r audit.Record) []byte { b, _ := json.Marshal(r); return b },
		"signed by an outsider": func(r audit.Record) []byte {
			b, err := outsider.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	} {
		forged := rec
		forged.Document = strings.ReplaceAll(name, " ", "-") + ".pdf"
		put(t, st, forged.Key(), forge(forged))
		if err := log.Append(ctx, forged); !errors.Is(err, audit.ErrTampered) {
			t.Errorf("%s: Append over a forged record = %v, want ErrTampered", name, err)
		}
	}
	local := audit.Record{SealID: seal, Document: "out.pdf", OutputSM3: "0123456789abcdef0123", SignedAt: time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC)}
	if got, want := local.Key(), "audit/33010200000001/local/20261124T010203Z-0123456789abcdef.json"; got != want {
		t.Fatalf("local Key = %q, want %q", got, want)
	}
	if err := log.Append(ctx, audit.Record{SealID: "x"}); err == nil {
		t.Fatal("an incomplete record was accepted")
	}
}

// TestConcurrentCommits: workers committing the same batch at once (two
// report tasks of one batch on different queues) and other batches in
// between leave each batch in the log exactly once, and the log verifies.
func TestConcurrentCommits(t *testing.T) {
	t.Parallel()
	pool, svc, _ := identities(t)
	st, err := fs.Open(t.TempDir(), "audit-test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const rounds, workers = 10, 6
	for r := range rounds {
		b := fmt.Sprintf("b%02d", r)
		rec := use(t, st, audit.New(st, svc, pool), b, "1.pdf")
		start := make(chan struct{})
		cps := make([]audit.Checkpoint, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				<-start
				label, keys := "dept/"+b, []string{rec.Key()}
				if w%3 == 2 { // another batch, committed at the same moment
					label = fmt.Sprintf("dept/other-%02d-%d", r, w)
				}
				cps[w], errs[w] = audit.New(st, svc, pool).Commit(ctx, seal, label, keys)
			})
		}
		close(start)
		wg.Wait()
		for w := range workers {
			if errs[w] != nil {
				t.Fatalf("round %d, worker %d: %v", r, w, errs[w])
			}
			if w%3 != 2 && cps[w] != cps[0] {
				t.Fatalf("round %d: workers committing one batch got checkpoints %+v and %+v", r, cps[0], cps[w])
			}
		}
	}
	// Each label once: as many segments as distinct labels.
	var segs int
	if err := st.List(ctx, audit.PrefixLog+seal+"/", func(storage.ObjectInfo) error { segs++; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := rounds * (1 + workers/3); segs != want {
		t.Fatalf("%d segments, want %d (one per batch)", segs, want)
	}
	p, err := audit.New(st, signed.Signer{}, pool).Verify(ctx, seal, func(string) (bool, error) { return true, nil })
	if err != nil || p != nil {
		t.Fatalf("Verify = %v, %v", p, err)
	}
}

// TestVerify builds a usage log of three batches, then attacks it the
// ways issue 7 lists; Verify names the first problem each time.
func TestVerify(t *testing.T) {
	t.Parallel()
	pool, svc, outsider := identities(t)
	seg := func(n int) string { return fmt.Sprintf("usagelog/%s/%06d.json", seal, n) }
	cp := func(n int) string { return fmt.Sprintf("checkpoints/%s/%06d.json", seal, n) }
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, st storage.Store, recs []audit.Record)
		object string // the object the problem names; "" means none
	}{
		{"untouched", func(*testing.T, storage.Store, []audit.Record) {}, ""},
		{"a record rewritten", func(t *testing.T, st storage.Store, recs []audit.Record) {
			b := get(t, st, recs[1].Key())
			put(t, st, recs[1].Key(), bytes.Replace(b, []byte(`"operator"`), []byte(`"operator" `), 1)) // same JSON, other bytes
		}, "audit/33010200000001/dept/b1/2.pdf.json"},
		{"a record deleted", func(t *testing.T, st storage.Store, recs []audit.Record) {
			del(t, st, recs[2].Key())
		}, "audit/33010200000001/dept/b2/1.pdf.json"},
		{"a record replaced by a forgery", func(t *testing.T, st storage.Store, recs []audit.Record) {
			r := recs[0]
			r.Operator = "someone else"
			b, err := outsider.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			put(t, st, r.Key(), b)
		}, "audit/33010200000001/dept/b1/1.pdf.json"},
		{"a sealed output replaced by the unsealed input", func(t *testing.T, st storage.Store, recs []audit.Record) {
			put(t, st, recs[3].Output, []byte("%PDF unsealed"))
		}, "sealed/dept/b2/2.pdf"},
		{"a segment deleted", func(t *testing.T, st storage.Store, _ []audit.Record) {
			del(t, st, seg(2))
		}, seg(2)},
		{"two segments swapped", func(t *testing.T, st storage.Store, _ []audit.Record) {
			a, b := get(t, st, seg(1)), get(t, st, seg(2))
			put(t, st, seg(1), b)
			put(t, st, seg(2), a)
		}, seg(1)},
		{"cut short: the last segment and its checkpoint deleted", func(t *testing.T, st storage.Store, _ []audit.Record) {
			del(t, st, seg(3))
			del(t, st, cp(3))
		}, "audit/33010200000001/dept/b3/1.pdf.json"},
		{"cut short: the last segment deleted", func(t *testing.T, st storage.Store, _ []audit.Record) {
			del(t, st, seg(3))
		}, cp(3)},
		{"a checkpoint deleted", func(t *testing.T, st storage.Store, _ []audit.Record) {
			del(t, st, cp(2))
		}, cp(2)},
		{"a use added", func(t *testing.T, st storage.Store, recs []audit.Record) {
			r := recs[0]
			r.Document = "extra.pdf"
			b, _ := json.Marshal(r)
			put(t, st, r.Key(), b)
		}, "audit/33010200000001/dept/b1/extra.pdf.json"},
		{"a use signed by the pipeline in a batch in progress", func(t *testing.T, st storage.Store, _ []audit.Record) {
			use(t, st, audit.New(st, svc, pool), "open", "1.pdf")
		}, ""},
		{"a signed use copied into a batch in progress", func(t *testing.T, st storage.Store, recs []audit.Record) {
			put(t, st, "audit/33010200000001/dept/open/1.pdf.json", get(t, st, recs[0].Key()))
		}, "audit/33010200000001/dept/open/1.pdf.json"},
		{"an unsigned use in a batch in progress", func(t *testing.T, st storage.Store, recs []audit.Record) {
			r := recs[0]
			r.Batch = "open"
			b, _ := json.Marshal(r)
			put(t, st, r.Key(), b)
		}, "audit/33010200000001/dept/open/1.pdf.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := fs.Open(t.TempDir(), "audit-test")
			if err != nil {
				t.Fatal(err)
			}
			log := audit.New(st, svc, pool)
			ctx := context.Background()
			var recs []audit.Record
			for _, b := range []string{"b1", "b2", "b3"} {
				var keys []string
				for _, d := range []string{"1.pdf", "2.pdf"} {
					r := use(t, st, log, b, d)
					recs = append(recs, r)
					keys = append(keys, r.Key())
				}
				c, err := log.Commit(ctx, seal, "dept/"+b, keys)
				if err != nil {
					t.Fatal(err)
				}
				// Committing again (a retried batch report) adds nothing.
				if again, err := log.Commit(ctx, seal, "dept/"+b, keys); err != nil || again != c {
					t.Fatalf("second Commit = %+v, %v; want %+v", again, err, c)
				}
			}
			tc.attack(t, st, recs)
			complete := func(label string) (bool, error) { return label != "dept/open", nil }
			p, err := audit.New(st, signed.Signer{}, pool).Verify(ctx, seal, complete)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.object == "" && p != nil:
				t.Fatalf("Verify: %v", p)
			case tc.object != "" && (p == nil || p.Object != tc.object):
				t.Fatalf("Verify = %v, want a problem with %s", p, tc.object)
			}
			// Uses walks the same way: the same problem and no use, or
			// every use, each listed by its segment.
			uses, up, err := audit.New(st, signed.Signer{}, pool).Uses(ctx, seal, complete)
			switch {
			case err != nil:
				t.Fatal(err)
			case p != nil && (up == nil || *up != *p || uses != nil):
				t.Fatalf("Uses = %d uses, %v; want none and %v", len(uses), up, p)
			case p != nil:
			case up != nil || len(uses) < len(recs):
				t.Fatalf("Uses = %d uses, %v; want %d", len(uses), up, len(recs))
			}
			for i, u := range uses[:min(len(uses), len(recs))] {
				if want := fmt.Sprintf("usagelog/%s/%06d.json", seal, i/2+1); u.Key != recs[i].Key() || u.Segment != want || u.OutputSM3 != recs[i].OutputSM3 {
					t.Errorf("use %d: %s in %s, want %s in %s", i, u.Key, u.Segment, recs[i].Key(), want)
				}
			}
		})
	}
}

func put(t *testing.T, st storage.Store, key string, b []byte) {
	t.Helper()
	if _, err := st.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	b, _, err := storage.ReadAll(context.Background(), st, key, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func del(t *testing.T, st storage.Store, key string) {
	t.Helper()
	if err := st.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
}

func sm3hex(b []byte) string {
	sum := sm3.Sum(b)
	return hex.EncodeToString(sum[:])
}
