package pipeline_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
)

// The correctness defects of issue 7, each at its root.

// TestApprovalFilesInEitherOrder: a signature uploaded before the manifest
// makes the batch wait for it — sealed once it comes — and only one that
// never comes within the upload window rejects the batch (APPROVAL_MISSING).
func TestApprovalFilesInEitherOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		manifest bool          // the manifest arrives
		later    time.Duration // how long after the signature Intake looks
		want     report.Code   // "" means sealed
	}{
		{"manifest arrives after the signature", true, 30 * time.Minute, ""},
		{"manifest still within the window", false, 59 * time.Minute, "wait"},
		{"manifest never arrives", false, 61 * time.Minute, pipeline.CodeApprovalMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var skew time.Duration
			e := newEnv(t, pipeline.Config{Now: func() time.Time { return time.Now().Add(skew) }})
			b := e.sampleBatch("signature-first", 2, false)
			for _, n := range b.Names() {
				if n != approval.ManifestName {
					e.put(b.Ref.Inbox()+n, b.Files[n])
				}
			}
			ctx := context.Background()
			if _, err := e.p.Intake(ctx, b.Ref); !errors.Is(err, pipeline.ErrNotReady) {
				t.Fatalf("Intake with the signature only = %v, want ErrNotReady", err)
			}
			skew = tc.later
			if tc.manifest {
				e.put(b.Ref.Inbox()+approval.ManifestName, b.Files[approval.ManifestName])
				skew = 0 // the approval's own time must still be fresh
			}
			plan, err := e.p.Intake(ctx, b.Ref)
			switch tc.want {
			case "wait":
				if !errors.Is(err, pipeline.ErrNotReady) {
					t.Fatalf("Intake = %+v, %v; want ErrNotReady", plan, err)
				}
				return
			case "":
				if err != nil || plan.Rejected != nil || len(plan.Documents) != 2 {
					t.Fatalf("Intake = %+v, %v", plan, err)
				}
				if rep := e.runBatch(b.Ref); rep.Sealed != 2 {
					t.Fatalf("sealed %d of 2", rep.Sealed)
				}
			default:
				if err != nil || plan.Rejected == nil || plan.Rejected.Code != tc.want {
					t.Fatalf("Intake = %+v, %v; want the batch rejected %s", plan, err, tc.want)
				}
			}
		})
	}
}

// TestFileNamedBatch: a stray inbox file called "batch" gets no record of
// its own, so it cannot collide with the batch's; the batch report lists
// it refused and the documents sealed.
func TestFileNamedBatch(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("stray", 2, false)
	b.Files["batch"] = []byte("not a document")
	e.upload(b)
	rep := e.runBatch(b.Ref)
	if rep.Sealed != 2 || rep.Rejected != 1 || rep.Rejection != nil {
		t.Fatalf("batch report: sealed %d rejected %d, batch rejection %+v", rep.Sealed, rep.Rejected, rep.Rejection)
	}
	for _, d := range rep.Documents {
		if d.Document == "batch" && (d.Code != pipeline.CodeNotApproved || d.Rejection != "") {
			t.Errorf("the stray file: %+v", d)
		}
	}
	if e.exists(b.Ref.BatchRejectionKey()) {
		t.Error("a batch-level rejection record was written")
	}
}

// TestUnstorableNames: an approval listing a name no record can be made of
// — too long for the stores, or holding a control, bidi or zero-width
// character — is malformed, so the batch is refused at once instead of
// never completing.
func TestUnstorableNames(t *testing.T) {
	longTable(t)
	for name, doc := range map[string]string{
		"241 bytes":        strings.Repeat("a", 237) + ".pdf",
		"255 bytes":        strings.Repeat("b", 251) + ".pdf",
		"U+0085":           "证明\u0085.pdf",
		"right-to-left":    "fdp.\u202eexe.pdf",
		"zero-width space": "a\u200bb.pdf",
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, pipeline.Config{})
			b := e.sampleBatch("names", 1, false)
			// approval.Marshal refuses such a manifest: write it as a
			// careless producer would.
			body := []byte(strings.Replace(string(b.Files[approval.ManifestName]), demo.DocumentName(1), doc, 1))
			key, cert := e.approver(demo.Approver)
			sig, err := approval.Sign(body, key, cert)
			if err != nil {
				t.Fatal(err)
			}
			b.Files[approval.ManifestName], b.Files[approval.SignatureName] = body, sig
			e.upload(b)
			plan, err := e.p.Intake(context.Background(), b.Ref)
			if err != nil || plan.Rejected == nil || plan.Rejected.Code != pipeline.CodeApprovalMalformed {
				t.Fatalf("Intake = %+v, %v; want the batch refused APPROVAL_MALFORMED", plan, err)
			}
		})
	}
}

// TestCRLOutage: when the approver's revocation status cannot be had (the
// CA's CRL does not download), intake fails for now, to be retried, and
// refuses nothing: no rejection record, no batch report.
func TestCRLOutage(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("crl-outage", 1, false)
	e.upload(b)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	pool := trust.NewPool([]*smx509.Certificate{e.ca.Root})
	pool.SetOnlineCRLs(trust.OnlineCRLs{URLs: []string{down.URL + "/root.crl"}})
	signers := keys.NewCache(e.ca.OpenAlias)
	defer signers.Close()
	p := pipeline.New(e.store, e.reg, pool, signers, e.cfg)

	plan, err := p.Intake(context.Background(), b.Ref)
	var rj *pipeline.RejectError
	if err == nil || errors.As(err, &rj) || !errors.Is(err, trust.ErrRevocationUnknown) {
		t.Fatalf("Intake during the outage = %+v, %v; want a transient error wrapping trust.ErrRevocationUnknown", plan, err)
	}
	for _, prefix := range []string{storage.PrefixRejected, storage.PrefixReports} {
		if n := e.count(prefix); n != 0 {
			t.Fatalf("%d objects under %s after an outage", n, prefix)
		}
	}
}
