package pipeline_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/storage"
)

func TestBatchEndToEnd(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("b1", 3, true)
	e.upload(b)
	ref := b.Ref
	rep := e.runBatch(ref)

	if rep.Sealed != 3 || rep.Rejected != 2 || len(rep.Documents) != 5 {
		t.Fatalf("batch report: sealed %d rejected %d of %d, want 3, 2 of 5", rep.Sealed, rep.Rejected, len(rep.Documents))
	}
	// The batch report for people, beside the JSON one.
	page := string(e.read(ref.BatchPageKey()))
	for _, want := range []string{"部分文件被拒绝", demo.Tampered, string(pipeline.CodeDigestMismatch), "approver-zhang"} {
		if !strings.Contains(page, want) {
			t.Errorf("%s lacks %q", ref.BatchPageKey(), want)
		}
	}
	if pdf := e.read(ref.BatchPDFKey()); !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("%s is no PDF: %.20q", ref.BatchPDFKey(), pdf)
	}
	wantCode := map[string]report.Code{demo.Tampered: pipeline.CodeDigestMismatch, demo.WrongSeal: pipeline.CodeSealNotPermitted}
	for _, d := range rep.Documents {
		if code, bad := wantCode[d.Document]; bad {
			if d.Outcome != report.OutcomeRejected || d.Code != code {
				t.Errorf("%s: outcome %s code %s, want rejected %s", d.Document, d.Outcome, d.Code, code)
			}
			var rj report.Rejection
			raw := e.read(ref.RejectionKey(d.Document))
			e.record(ref.RejectionKey(d.Document), &rj)
			if rj.Code != code || rj.Reason == "" || rj.Document != d.Document {
				t.Errorf("rejection record %+v", rj)
			}
			if want := `"code": "` + string(code) + `"`; !bytes.Contains(raw, []byte(want)) {
				t.Errorf("rejection record %s lacks %s", raw, want)
			}
			if e.exists(ref.SealedKey(d.Document)) {
				t.Errorf("rejected %s was sealed anyway", d.Document)
			}
			continue
		}
		if d.Outcome != report.OutcomeSealed || d.Indication != report.Passed {
			t.Errorf("%s: outcome %s indication %s, want sealed TOTAL_PASSED", d.Document, d.Outcome, d.Indication)
		}
		in, out := b.Files[d.Document], e.read(ref.SealedKey(d.Document))
		if !bytes.HasPrefix(out, in) || len(out) <= len(in) {
			t.Errorf("%s: sealed output is not the input plus an incremental update", d.Document)
		}
		var doc report.Document
		e.record(ref.ReportKey(d.Document), &doc)
		if doc.Indication != report.Passed || len(doc.Signatures) != 1 || doc.Signatures[0].SealID != demo.SealCivil {
			t.Errorf("%s: report %s with %d signatures", d.Document, doc.Indication, len(doc.Signatures))
		}
		for _, c := range doc.Signatures[0].Checks {
			if c.Result == report.NotOK || c.Result == report.Unknown {
				t.Errorf("%s: check %s = %s (%s)", d.Document, c.Name, c.Result, c.Detail)
			}
		}
		// Its report for people, with the seal's picture.
		htmlKey, pdfKey := ref.DocumentPageKeys(d.Document)
		page := string(e.read(htmlKey))
		for _, want := range []string{"签章有效", demo.SealCivil, "data:image/png;base64,", doc.SM3} {
			if !strings.Contains(page, want) {
				t.Errorf("%s lacks %q", htmlKey, want)
			}
		}
		if pdf := e.read(pdfKey); !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("/Subtype /Image")) {
			t.Errorf("%s: no PDF with the seal's picture", pdfKey)
		}
	}
	if n := e.count(storage.PrefixAudit + demo.SealCivil + "/"); n != 3 {
		t.Errorf("usage records for %s: %d, want 3 (one per sealed document)", demo.SealCivil, n)
	}
	var use audit.Record
	e.record(storage.PrefixAudit+demo.SealCivil+"/"+ref.Department+"/"+ref.Batch+"/"+demo.DocumentName(1)+".json", &use)
	if use.Approver == "" || use.OutputSM3 == "" || use.SignedAt.IsZero() || use.Operator != "pipeline" {
		t.Errorf("usage record incomplete: %+v", use)
	}
}

func TestIdempotentAndCrashSafe(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("b2", 2, false)
	e.upload(b)
	ref := b.Ref
	first := e.runBatch(ref)
	name := demo.DocumentName(1)
	before, err := e.store.Stat(context.Background(), ref.SealedKey(name))
	if err != nil {
		t.Fatal(err)
	}

	// Delivered again: nothing changes.
	out, err := e.p.SealDocument(context.Background(), ref, name)
	if err != nil || out != report.OutcomeSealed {
		t.Fatalf("second SealDocument = %v, %v", out, err)
	}
	// A crash after the sealed output was written but before the report:
	// the retry derives the report from the existing output.
	if err := e.store.Delete(context.Background(), ref.ReportKey(name)); err != nil {
		t.Fatal(err)
	}
	e.rebuild()
	if out, err := e.p.SealDocument(context.Background(), ref, name); err != nil || out != report.OutcomeSealed {
		t.Fatalf("SealDocument after crash = %v, %v", out, err)
	}
	after, err := e.store.Stat(context.Background(), ref.SealedKey(name))
	if err != nil {
		t.Fatal(err)
	}
	if after.ETag != before.ETag {
		t.Fatal("the document was sealed a second time")
	}
	if !e.exists(ref.ReportKey(name)) {
		t.Fatal("the report was not rewritten after the crash")
	}
	if n := e.count(storage.PrefixAudit + demo.SealCivil + "/"); n != 2 {
		t.Fatalf("usage records: %d, want 2", n)
	}
	// Intake of a finished batch is final, whatever the approval's age.
	e.cfg.Now = func() time.Time { return time.Now().Add(30 * 24 * time.Hour) }
	e.rebuild()
	plan, err := e.p.Intake(context.Background(), ref)
	if err != nil || !plan.Complete || len(plan.Documents) != 0 {
		t.Fatalf("Intake of a finished batch = %+v, %v", plan, err)
	}
	again, err := e.p.WriteBatchReport(context.Background(), ref)
	if err != nil || !again.CompletedAt.Equal(first.CompletedAt) {
		t.Fatalf("batch report rewritten: %v", err)
	}
}

// TestBatchRejections covers approvals that refuse the whole batch.
func TestBatchRejections(t *testing.T) {
	longTable(t)
	tests := []struct {
		name   string
		mutate func(e *env, b *demo.Batch)
		cfg    pipeline.Config
		code   report.Code
	}{
		{"forged signature", func(e *env, b *demo.Batch) {
			b.Files[approval.SignatureName][len(b.Files[approval.SignatureName])-3] ^= 0xff
		}, pipeline.Config{}, pipeline.CodeApprovalSignature},
		{"manifest changed after signing", func(e *env, b *demo.Batch) {
			b.Files[approval.ManifestName] = bytes.Replace(b.Files[approval.ManifestName], []byte(`"page": 1`), []byte(`"page": 2`), 1)
		}, pipeline.Config{}, pipeline.CodeApprovalSignature},
		{"approval for another batch", func(e *env, b *demo.Batch) {
			e.resign(b, demo.Approver, func(m *approval.Manifest) { m.Batch = "other" })
		}, pipeline.Config{}, pipeline.CodeApprovalMismatch},
		{"stale approval", nil, pipeline.Config{Now: func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }}, pipeline.CodeApprovalStale},
		{"approval from the future", nil, pipeline.Config{Now: func() time.Time { return time.Now().Add(-time.Hour) }}, pipeline.CodeApprovalStale},
		{"not json", func(e *env, b *demo.Batch) { b.Files[approval.ManifestName] = []byte("%PDF-1.7") }, pipeline.Config{}, pipeline.CodeApprovalMalformed},
		{"manifest too large", func(e *env, b *demo.Batch) {
			b.Files[approval.ManifestName] = append(b.Files[approval.ManifestName], bytes.Repeat([]byte(" "), approval.MaxManifestSize)...)
		}, pipeline.Config{}, pipeline.CodeApprovalMalformed},
		{"signature too large", func(e *env, b *demo.Batch) {
			b.Files[approval.SignatureName] = make([]byte, approval.MaxSignatureSize+1)
		}, pipeline.Config{}, pipeline.CodeApprovalSignature},
		{"untrusted approver", func(e *env, b *demo.Batch) {
			key, cert := selfSigned(t, "approver-zhang")
			body := b.Files[approval.ManifestName]
			sig, err := approval.Sign(body, key, cert)
			if err != nil {
				t.Fatal(err)
			}
			b.Files[approval.SignatureName] = sig
		}, pipeline.Config{}, pipeline.CodeApproverUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			b := e.sampleBatch("rej", 2, false)
			if tt.mutate != nil {
				tt.mutate(e, b)
			}
			e.upload(b)
			plan, err := e.p.Intake(context.Background(), b.Ref)
			if err != nil {
				t.Fatalf("Intake: %v", err)
			}
			if plan.Rejected == nil || plan.Rejected.Code != tt.code || !plan.Complete || len(plan.Documents) != 0 {
				t.Fatalf("plan = %+v, want the batch rejected with %s", plan, tt.code)
			}
			rep, err := e.p.WriteBatchReport(context.Background(), b.Ref)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sealed != 0 || rep.Rejected != 2 || rep.Rejection == nil || rep.Rejection.Code != tt.code {
				t.Fatalf("batch report %+v", rep)
			}
			if n := e.count(storage.PrefixSealed); n != 0 {
				t.Fatalf("%d documents sealed from a rejected batch", n)
			}
			// Documents of a rejected batch are never sealed, even when asked.
			if out, err := e.p.SealDocument(context.Background(), b.Ref, demo.DocumentName(1)); err != nil || out != report.OutcomeRejected {
				t.Fatalf("SealDocument in a rejected batch = %v, %v", out, err)
			}
		})
	}
}

// TestDocumentRejections covers documents refused one by one.
func TestDocumentRejections(t *testing.T) {
	longTable(t)
	qpdf := testenv.Tool(t, "qpdf")
	tests := []struct {
		name   string
		mutate func(t *testing.T, e *env, b *demo.Batch) string // returns the document to check
		cfg    pipeline.Config
		code   report.Code
	}{
		{"not a pdf", func(t *testing.T, e *env, b *demo.Batch) string {
			e.setDocument(b, "junk.pdf", []byte("this is not a PDF at all"))
			return "junk.pdf"
		}, pipeline.Config{}, pipeline.CodeDocumentMalformed},
		{"truncated pdf", func(t *testing.T, e *env, b *demo.Batch) string {
			d := b.Files[demo.DocumentName(1)]
			e.setDocument(b, "truncated.pdf", d[:len(d)/2])
			return "truncated.pdf"
		}, pipeline.Config{}, pipeline.CodeDocumentMalformed},
		{"encrypted pdf", func(t *testing.T, e *env, b *demo.Batch) string {
			e.setDocument(b, "locked.pdf", encrypt(t, qpdf, b.Files[demo.DocumentName(1)]))
			return "locked.pdf"
		}, pipeline.Config{}, pipeline.CodeDocumentEncrypted},
		{"certified, no changes permitted", func(t *testing.T, e *env, b *demo.Batch) string {
			// The catalog's /Perms /DocMDP names a signature whose
			// DocMDP transform has P=1 (ISO 32000-1 §12.8.2.2).
			ed := pdfsealtest.New(t, b.Files[demo.DocumentName(1)])
			sig := ed.Add("<</Type /Sig /Reference [<</Type /SigRef /TransformMethod /DocMDP /TransformParams <</Type /TransformParams /P 1 /V /1.2>>>>]>>")
			root := ed.Root()
			cat := ed.Dict(root)
			cat["Perms"] = types.Dict{"DocMDP": sig}
			e.setDocument(b, "certified.pdf", ed.Set(root, cat).Bytes())
			return "certified.pdf"
		}, pipeline.Config{}, pipeline.CodeDocumentLocked},
		{"page tree /Count lies", func(t *testing.T, e *env, b *demo.Batch) string {
			ed := pdfsealtest.New(t, b.Files[demo.DocumentName(1)])
			pages := ed.Dict(ed.Root())["Pages"].(types.IndirectRef).ObjectNumber.Value()
			d := ed.Dict(pages)
			d["Count"] = types.Integer(0) // a page below a root that counts none
			e.setDocument(b, "count.pdf", ed.Set(pages, d).Bytes())
			return "count.pdf"
		}, pipeline.Config{}, pipeline.CodeDocumentMalformed},
		{"xref /Prev loop", func(t *testing.T, e *env, b *demo.Batch) string {
			// An update whose trailer's /Prev names its own table.
			ed := pdfsealtest.New(t, b.Files[demo.DocumentName(1)])
			pdf := ed.Set(ed.Root(), ed.Dict(ed.Root())).Bytes()
			at := bytes.LastIndex(pdf, []byte("startxref"))
			own := bytes.Fields(pdf[at+len("startxref"):])[0]
			prev := bytes.LastIndex(pdf, []byte("/Prev "))
			end := prev + len("/Prev ") + bytes.IndexAny(pdf[prev+len("/Prev "):], "/>")
			e.setDocument(b, "loop.pdf", slices.Concat(pdf[:prev], []byte("/Prev "), own, pdf[end:]))
			return "loop.pdf"
		}, pipeline.Config{}, pipeline.CodeDocumentMalformed},
		{"too large", func(t *testing.T, e *env, b *demo.Batch) string { return demo.DocumentName(1) },
			pipeline.Config{MaxDocumentSize: 1000}, pipeline.CodeDocumentTooLarge},
		{"page out of range", func(t *testing.T, e *env, b *demo.Batch) string {
			e.resign(b, demo.Approver, func(m *approval.Manifest) { m.Documents[0].Placement.Page = 9 })
			return demo.DocumentName(1)
		}, pipeline.Config{}, pipeline.CodePlacementInvalid},
		{"unknown seal", func(t *testing.T, e *env, b *demo.Batch) string {
			e.resign(b, demo.Approver, func(m *approval.Manifest) { m.Documents[0].Seal = "99999999999999" })
			return demo.DocumentName(1)
		}, pipeline.Config{}, pipeline.CodeSealUnknown},
		{"suspended seal", func(t *testing.T, e *env, b *demo.Batch) string {
			e.setStatus(demo.SealCivil, registry.StatusSuspended, "audit")
			return demo.DocumentName(1)
		}, pipeline.Config{}, pipeline.CodeSealNotActive},
		{"revoked seal", func(t *testing.T, e *env, b *demo.Batch) string {
			e.setStatus(demo.SealCivil, registry.StatusRevoked, "key compromise")
			return demo.DocumentName(1)
		}, pipeline.Config{}, pipeline.CodeSealNotActive},
		{"expired seal", func(t *testing.T, e *env, b *demo.Batch) string { return demo.DocumentName(1) },
			pipeline.Config{Now: func() time.Time { return time.Now().Add(3 * 365 * 24 * time.Hour) }, MaxApprovalAge: 4 * 365 * 24 * time.Hour}, pipeline.CodeSealExpired},
		{"seal whose key its certificates do not match", func(t *testing.T, e *env, b *demo.Batch) string {
			maker, err := e.ca.Signer(context.Background(), e.ca.SealMaker)
			if err != nil {
				t.Fatal(err)
			}
			pic, err := engine.SealPicture("某某县民政局", "", "33010200000003")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.reg.Make(context.Background(), registry.MakeRequest{
				ID: "33010200000003", Unit: "某某县民政局", Picture: pic, SignerCert: e.ca.Signers["civil-affairs"].Cert,
				Key:       "county-office", // another unit's key
				Approvers: []registry.ApproverGrant{{Cert: e.ca.Approvers[demo.Approver].Cert, Departments: []string{demo.Department}}},
				Maker:     signed.Signer{Key: maker, Cert: e.ca.SealMaker.Cert},
			}, e.admin()); err != nil {
				t.Fatal(err)
			}
			e.resign(b, demo.Approver, func(m *approval.Manifest) { m.Documents[0].Seal = "33010200000003" })
			return demo.DocumentName(1)
		}, pipeline.Config{}, pipeline.CodeSealUnusable},
		{"not in the approval", func(t *testing.T, e *env, b *demo.Batch) string {
			b.Files["stray.pdf"] = b.Files[demo.DocumentName(1)]
			return "stray.pdf"
		}, pipeline.Config{}, pipeline.CodeNotApproved},
		{"missing after the upload window", func(t *testing.T, e *env, b *demo.Batch) string {
			delete(b.Files, demo.DocumentName(1))
			return demo.DocumentName(1)
		}, pipeline.Config{UploadWindow: time.Nanosecond}, pipeline.CodeDocumentMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			b := e.sampleBatch("doc", 2, false)
			e.wantRejected(b, tt.mutate(t, e, b), tt.code)
		})
	}
}

func TestWaitsForLateDocuments(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("late", 1, false)
	late := b.Files[demo.DocumentName(1)]
	delete(b.Files, demo.DocumentName(1))
	e.upload(b)
	ctx := context.Background()

	if _, err := e.p.SealDocument(ctx, b.Ref, demo.DocumentName(1)); !errors.Is(err, pipeline.ErrNotReady) {
		t.Fatalf("SealDocument before upload = %v, want ErrNotReady", err)
	}
	if _, err := e.p.WriteBatchReport(ctx, b.Ref); !errors.Is(err, pipeline.ErrNotReady) {
		t.Fatalf("WriteBatchReport = %v, want ErrNotReady", err)
	}
	e.put(b.Ref.Inbox()+demo.DocumentName(1), late)
	if out, err := e.p.SealDocument(ctx, b.Ref, demo.DocumentName(1)); err != nil || out != report.OutcomeSealed {
		t.Fatalf("SealDocument after upload = %v, %v", out, err)
	}
}

func TestIntakeWaitsForSignature(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("unsigned", 1, false)
	delete(b.Files, approval.SignatureName)
	for n, data := range b.Files {
		e.put(b.Ref.Inbox()+n, data)
	}
	if _, err := e.p.Intake(context.Background(), b.Ref); !errors.Is(err, pipeline.ErrNotReady) {
		t.Fatalf("Intake without signature = %v, want ErrNotReady", err)
	}
	// Its retries run out while the signature is still missing.
	_, err := e.p.Intake(context.Background(), b.Ref)
	if err := e.p.RecordBatchFailure(context.Background(), b.Ref, err); err != nil {
		t.Fatal(err)
	}
	rep, err := e.p.WriteBatchReport(context.Background(), b.Ref)
	if err != nil || rep.Rejection == nil || rep.Rejection.Code != pipeline.CodeApprovalMissing || rep.Rejected != 1 {
		t.Fatalf("batch report after a final failure = %+v, %v", rep, err)
	}
}

// TestApprovalDeletedAfterIntake checks that work fanned out from a batch
// whose approval has since been deleted fails instead of waiting: no upload
// will end that wait. A document looks again once Config.ApprovalRecheck
// has passed (or always, with a negative one).
func TestApprovalDeletedAfterIntake(t *testing.T) {
	for _, tc := range []struct {
		deleted string
		recheck time.Duration
	}{
		{approval.ManifestName, -1}, {approval.SignatureName, -1}, {approval.ManifestName, 100 * time.Millisecond},
	} {
		deleted := tc.deleted
		t.Run(fmt.Sprintf("%s, recheck %s", deleted, tc.recheck), func(t *testing.T) {
			e := newEnv(t, pipeline.Config{ApprovalRecheck: tc.recheck})
			b := e.sampleBatch("deleted", 1, false)
			e.upload(b)
			ctx := context.Background()
			if _, err := e.p.Intake(ctx, b.Ref); err != nil {
				t.Fatal(err)
			}
			if err := e.store.Delete(ctx, b.Ref.Inbox()+deleted); err != nil {
				t.Fatal(err)
			}
			time.Sleep(max(tc.recheck, 0))
			if _, err := e.p.SealDocument(ctx, b.Ref, demo.DocumentName(1)); err == nil || errors.Is(err, pipeline.ErrNotReady) {
				t.Errorf("SealDocument = %v, want a failure other than ErrNotReady", err)
			}
			if err := e.p.RecordFailure(ctx, b.Ref, demo.DocumentName(1), errors.New("approval deleted")); err != nil {
				t.Fatal(err)
			}
			if _, err := e.p.WriteBatchReport(ctx, b.Ref); err == nil || errors.Is(err, pipeline.ErrNotReady) {
				t.Errorf("WriteBatchReport = %v, want a failure other than ErrNotReady", err)
			}
			if _, err := e.p.Intake(ctx, b.Ref); !errors.Is(err, pipeline.ErrNotReady) {
				t.Errorf("Intake = %v, want ErrNotReady", err)
			}
		})
	}
}

func TestRecordFailure(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("fail", 2, false)
	e.upload(b)
	ctx := context.Background()
	if _, err := e.p.Intake(ctx, b.Ref); err != nil {
		t.Fatal(err)
	}
	if err := e.p.RecordFailure(ctx, b.Ref, demo.DocumentName(1), errors.New("hsm unreachable")); err != nil {
		t.Fatal(err)
	}
	var rj report.Rejection
	e.record(b.Ref.RejectionKey(demo.DocumentName(1)), &rj)
	if rj.Code != pipeline.CodeProcessingFailed {
		t.Fatalf("code %s", rj.Code)
	}
	if out, err := e.p.SealDocument(ctx, b.Ref, demo.DocumentName(2)); err != nil || out != report.OutcomeSealed {
		t.Fatalf("the other document: %v, %v", out, err)
	}
	// A document with an outcome keeps it.
	if err := e.p.RecordFailure(ctx, b.Ref, demo.DocumentName(2), errors.New("late")); err != nil {
		t.Fatal(err)
	}
	if e.exists(b.Ref.RejectionKey(demo.DocumentName(2))) {
		t.Fatal("RecordFailure overrode a sealed outcome")
	}
}

func TestParseInboxKey(t *testing.T) {
	tests := []struct {
		key   string
		ok    bool
		dept  string
		batch string
		name  string
	}{
		{"inbox/civil-affairs/b1/cert.pdf", true, "civil-affairs", "b1", "cert.pdf"},
		{"inbox/civil-affairs/b1/approval.json", true, "civil-affairs", "b1", "approval.json"},
		{"inbox/civil-affairs/b1/sub/cert.pdf", false, "", "", ""},
		{"inbox/civil-affairs/cert.pdf", false, "", "", ""},
		{"inbox/../b1/cert.pdf", false, "", "", ""},
		{"sealed/civil-affairs/b1/cert.pdf", false, "", "", ""},
		{"inbox/civil affairs/b1/cert.pdf", false, "", "", ""},
		{"inbox/civil-affairs/b1/", false, "", "", ""},
	}
	for _, tt := range tests {
		ref, name, err := pipeline.ParseInboxKey(tt.key)
		if (err == nil) != tt.ok || ref.Department != tt.dept || ref.Batch != tt.batch || name != tt.name {
			t.Errorf("ParseInboxKey(%q) = %+v, %q, %v", tt.key, ref, name, err)
		}
	}
}

func TestLocalSeal(t *testing.T) {
	e := newEnv(t, pipeline.Config{Operator: "local:tester"})
	b := e.sampleBatch("local", 1, false)
	in := b.Files[demo.DocumentName(1)]
	out, rep, err := e.sealLocal(in, demo.SealCivil, approval.Placement{Page: 1, X: 20, Y: 20}, "out.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, in) || rep.Indication != report.Passed {
		t.Fatalf("local seal: prefix %v, %s", bytes.HasPrefix(out, in), rep.Indication)
	}
	if n := e.count(storage.PrefixAudit + demo.SealCivil + "/local/"); n != 1 {
		t.Fatalf("local usage records: %d", n)
	}
	e.setStatus(demo.SealCivil, registry.StatusRevoked, "x")
	var rj *pipeline.RejectError
	if _, _, err := e.sealLocal(in, demo.SealCivil, approval.Placement{Page: 1}, "o.pdf"); !errors.As(err, &rj) || rj.Code != pipeline.CodeSealNotActive {
		t.Fatalf("sealing with a revoked seal = %v", err)
	}
}

func encrypt(t *testing.T, qpdf string, pdf []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(qpdf, "--encrypt", "user", "owner", "256", "--", in, out).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --encrypt: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lyingSigner claims one key's public half but signs with another: a broken
// HSM. The pipeline must not publish what it produces.
type lyingSigner struct {
	crypto.Signer
	claimed crypto.PublicKey
}

func (l lyingSigner) Public() crypto.PublicKey { return l.claimed }

func TestBrokenKeyIsNotPublished(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	other, err := e.ca.Signer(context.Background(), e.ca.Signers["county-office"])
	if err != nil {
		t.Fatal(err)
	}
	e.rebuildWith(func(ctx context.Context, alias string) (crypto.Signer, error) {
		s, err := e.ca.OpenAlias(ctx, alias)
		if err != nil {
			return nil, err
		}
		return lyingSigner{Signer: other, claimed: s.Public()}, nil
	})
	b := e.sampleBatch("broken", 1, false)
	e.upload(b)
	rep := e.runBatch(b.Ref)
	if rep.Sealed != 0 || rep.Rejected != 1 || rep.Documents[0].Code != pipeline.CodeSelfCheckFailed {
		t.Fatalf("batch report %+v", rep.Documents)
	}
	if e.exists(b.Ref.SealedKey(demo.DocumentName(1))) {
		t.Fatal("an output that fails verification was published")
	}
}

// racingStore lets another delivery of the same task write the sealed
// output first: the first Put under key writes winner before the caller's.
type racingStore struct {
	storage.Store
	key    string
	winner []byte
	raced  bool
}

func (s *racingStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.ObjectInfo, error) {
	if key == s.key && !s.raced {
		s.raced = true
		if _, err := s.Store.Put(ctx, key, bytes.NewReader(s.winner), int64(len(s.winner)), storage.PutOptions{IfNoneMatch: true}); err != nil {
			return storage.ObjectInfo{}, err
		}
	}
	return s.Store.Put(ctx, key, r, size, opts)
}

// TestLosingDeliveryRecordsTheWinner checks that a delivery which loses the
// race to write the sealed output records the output that stands, not its
// own: the winner may have crashed before writing its records.
func TestLosingDeliveryRecordsTheWinner(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("race", 1, false)
	e.upload(b)
	ctx := context.Background()
	name := demo.DocumentName(1)
	m, err := approval.Parse(b.Files[approval.ManifestName])
	if err != nil {
		t.Fatal(err)
	}
	winner, _, err := e.sealLocal(b.Files[name], m.Documents[0].Seal, m.Documents[0].Placement, "winner.pdf")
	if err != nil {
		t.Fatal(err)
	}
	st := &racingStore{Store: e.store, key: b.Ref.SealedKey(name), winner: winner}
	signers := keys.NewCache(e.ca.OpenAlias)
	p := pipeline.New(st, e.reg, trust.NewPool([]*smx509.Certificate{e.ca.Root}), signers, e.cfg)
	if out, err := p.SealDocument(ctx, b.Ref, name); err != nil || out != report.OutcomeSealed {
		t.Fatalf("SealDocument = %v, %v", out, err)
	}
	if !st.raced {
		t.Fatal("the sealed output was never written")
	}
	if got := e.read(b.Ref.SealedKey(name)); !bytes.Equal(got, winner) {
		t.Fatal("the losing delivery replaced the sealed output")
	}
	var use audit.Record
	e.record(storage.PrefixAudit+m.Documents[0].Seal+"/"+b.Ref.Department+"/"+b.Ref.Batch+"/"+name+".json", &use)
	if sum := sm3.Sum(winner); use.OutputSM3 != hex.EncodeToString(sum[:]) {
		t.Fatalf("usage record names output %s, not the one that stands (%x)", use.OutputSM3, sum)
	}
}

// TestVerifyJudgesStatusAtSigningTime: verification checks the seal's
// registry status at the signing time. A document sealed while the seal was
// active still passes after the seal is revoked; one signed with the seal's
// key after the revocation fails (SEAL_NOT_ACTIVE).
func TestVerifyJudgesStatusAtSigningTime(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	ctx := context.Background()
	in := e.sampleBatch("status", 1, false).Files[demo.DocumentName(1)]
	before, _, err := e.sealLocal(in, demo.SealCivil, approval.Placement{Page: 1, X: 20, Y: 20}, "before.pdf")
	if err != nil {
		t.Fatal(err)
	}
	e.setStatus(demo.SealCivil, registry.StatusRevoked, "key compromised")
	seal, err := e.reg.Get(ctx, demo.SealCivil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := e.ca.Signer(ctx, e.ca.Signers["civil-affairs"])
	if err != nil {
		t.Fatal(err)
	}
	// The holder of the key seals on after the revocation.
	var after bytes.Buffer
	if err := pdfseal.Seal(ctx, &after, in, pdfseal.Options{
		Signer: key, Chain: []*smx509.Certificate{e.ca.Signers["civil-affairs"].Cert},
		Image: seal.Seal.Picture.Data, SealData: seal.Seal.Raw, Time: time.Now().Add(2 * time.Second),
		Placement: pdfseal.Placement{Page: 1, X: 20, Y: 20, Width: 42, Height: 42},
	}); err != nil {
		t.Fatal(err)
	}
	v := &verify.Verifier{Trust: trust.NewPool([]*smx509.Certificate{e.ca.Root}), Seals: e.reg, Now: func() time.Time { return time.Now().Add(time.Minute) }}
	for _, tc := range []struct {
		name string
		pdf  []byte
		want report.Indication
	}{
		{"sealed while active", before, report.Passed},
		{"signed after the revocation", after.Bytes(), report.Failed},
	} {
		doc, err := v.PDF(ctx, tc.name, tc.pdf)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Indication != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, doc.Indication, tc.want)
		}
		var status report.Check
		for _, c := range doc.Signatures[0].Checks {
			if c.Name == "registry-status" {
				status = c
			}
		}
		if wantOK := tc.want == report.Passed; (status.Result == report.OK) != wantOK || (!wantOK && status.SubIndication != report.SubSealNotActive) {
			t.Errorf("%s: registry-status check %+v", tc.name, status)
		}
	}
}

// TestSelfCheckAgrees: the pipeline checks what it sealed without
// reading the output again (pdfseal.Sealed.Check, verify.SealedPDF); its
// report must say what a full verification of the stored output says,
// check by check, plus its own approved-content check.
func TestSelfCheckAgrees(t *testing.T) {
	t.Parallel()
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("selfcheck", 3, false)
	e.upload(b)
	e.runBatch(b.Ref)
	v := &verify.Verifier{Trust: trust.NewPool([]*smx509.Certificate{e.ca.Root}), Seals: e.reg}
	for i := 1; i <= 3; i++ {
		name := demo.DocumentName(i)
		var stored report.Document
		e.record(b.Ref.ReportKey(name), &stored)
		out := e.read(b.Ref.SealedKey(name))
		full, err := v.PDF(context.Background(), stored.Document, out)
		if err != nil {
			t.Fatal(err)
		}
		if stored.SM3 != full.SM3 || stored.Size != full.Size || stored.Indication != report.Passed || full.Indication != report.Passed ||
			len(stored.Signatures) != 1 || len(full.Signatures) != 1 {
			t.Fatalf("%s: stored report %s %d %s, %d signatures; full verification %s %d %s, %d signatures", name,
				stored.SM3, stored.Size, stored.Indication, len(stored.Signatures), full.SM3, full.Size, full.Indication, len(full.Signatures))
		}
		got, want := stored.Signatures[0], full.Signatures[0]
		if n := len(got.Checks); n == 0 || got.Checks[n-1].Name != "approved-content" {
			t.Fatalf("%s: the stored report's last check is not the pipeline's own: %+v", name, got.Checks)
		}
		got.Checks = got.Checks[:len(got.Checks)-1]
		if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
			t.Errorf("%s: self-check\n%s\nfull verification\n%s", name, g, w)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
