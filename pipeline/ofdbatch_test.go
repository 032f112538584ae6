package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/ofd"
	"github.com/sealpipe/sealpipe/pipeline/ofdseal"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/storage"
)

// formatBatch makes a demo batch of the given format approved by
// demo.Approver.
func (e *env) formatBatch(batch string, docs int, bad bool, f demo.Format) *demo.Batch {
	e.t.Helper()
	key, cert := e.approver(demo.Approver)
	b, err := demo.MakeBatch(demo.BatchOptions{
		Ref: pipeline.BatchRef{Department: demo.Department, Batch: batch}, Docs: docs, Bad: bad, Format: f,
		ApproverKey: key, ApproverCert: cert,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// TestOFDBatches: batches of OFD documents, alone or mixed with PDFs, go
// through the pipeline as PDF batches do — the format told from each
// document's content — with the same outcomes, reports and usage records.
// Each sealed OFD carries every part of its approved package unchanged and
// verifies with one more Seal signature, the batch's seal's.
func TestOFDBatches(t *testing.T) {
	for _, f := range []demo.Format{demo.FormatOFD, demo.FormatMixed} {
		t.Run(string(f), func(t *testing.T) {
			e := newEnv(t, pipeline.Config{})
			b := e.formatBatch("ofd-"+string(f), 4, true, f)
			e.upload(b)
			ref := b.Ref
			rep := e.runBatch(ref)

			if rep.Sealed != 4 || rep.Rejected != 2 || len(rep.Documents) != 6 {
				t.Fatalf("batch report: sealed %d rejected %d of %d, want 4, 2 of 6: %+v", rep.Sealed, rep.Rejected, len(rep.Documents), rep.Documents)
			}
			wantCode := map[string]report.Code{f.Tampered(): pipeline.CodeDigestMismatch, f.WrongSeal(): pipeline.CodeSealNotPermitted}
			formats := map[verify.Format]int{}
			for _, d := range rep.Documents {
				if code, bad := wantCode[d.Document]; bad {
					if d.Outcome != report.OutcomeRejected || d.Code != code {
						t.Errorf("%s: outcome %s code %s (%s), want rejected %s", d.Document, d.Outcome, d.Code, d.Reason, code)
					}
					if e.exists(ref.SealedKey(d.Document)) {
						t.Errorf("rejected %s was sealed anyway", d.Document)
					}
					continue
				}
				if d.Outcome != report.OutcomeSealed || d.Indication != report.Passed {
					t.Errorf("%s: outcome %s indication %s (%s %s), want sealed TOTAL_PASSED", d.Document, d.Outcome, d.Indication, d.Code, d.Reason)
					continue
				}
				in, out := b.Files[d.Document], e.read(ref.SealedKey(d.Document))
				format := verify.DetectFormat(in)
				formats[format]++
				if got := verify.DetectFormat(out); got != format {
					t.Errorf("%s: sealed output is %s, the input %s", d.Document, got, format)
				}
				info, err := e.store.Stat(context.Background(), ref.SealedKey(d.Document))
				if err != nil {
					t.Fatal(err)
				}
				if want := map[verify.Format]string{verify.FormatPDF: "application/pdf", verify.FormatOFD: "application/ofd"}[format]; info.ContentType != "" && info.ContentType != want {
					t.Errorf("%s: content type %q, want %q", d.Document, info.ContentType, want)
				}
				if format == verify.FormatOFD {
					checkCarriedOver(t, d.Document, in, out)
				}
				var doc report.Document
				e.record(ref.ReportKey(d.Document), &doc)
				if doc.Indication != report.Passed || len(doc.Signatures) != 1 || doc.Signatures[0].SealID != demo.SealCivil {
					t.Errorf("%s: report %s with %d signatures", d.Document, doc.Indication, len(doc.Signatures))
					continue
				}
				var own bool
				for _, c := range doc.Signatures[0].Checks {
					if c.Result == report.NotOK || c.Result == report.Unknown {
						t.Errorf("%s: check %s = %s (%s)", d.Document, c.Name, c.Result, c.Detail)
					}
					own = own || c.Name == "approved-content"
				}
				if !own {
					t.Errorf("%s: the report lacks the pipeline's approved-content check", d.Document)
				}
			}
			if f == demo.FormatMixed && (formats[verify.FormatPDF] != 2 || formats[verify.FormatOFD] != 2) {
				t.Errorf("sealed formats %v, want 2 PDF and 2 OFD", formats)
			}
			if n := e.count(storage.PrefixAudit + demo.SealCivil + "/"); n != 4 {
				t.Errorf("usage records for %s: %d, want 4 (one per sealed document)", demo.SealCivil, n)
			}
			var use audit.Record
			e.record(storage.PrefixAudit+demo.SealCivil+"/"+ref.Department+"/"+ref.Batch+"/"+f.DocumentName(2)+".json", &use)
			if use.Approver == "" || use.OutputSM3 == "" || use.SignedAt.IsZero() {
				t.Errorf("usage record incomplete: %+v", use)
			}

			// Exactly once: running the batch again changes nothing.
			sealed := e.read(ref.SealedKey(f.DocumentName(2)))
			e.restartWorker()
			again := e.runBatch(ref)
			if again.Sealed != 4 || again.Rejected != 2 || !bytes.Equal(e.read(ref.SealedKey(f.DocumentName(2))), sealed) {
				t.Errorf("second run: sealed %d rejected %d; the output changed: %v", again.Sealed, again.Rejected, !bytes.Equal(e.read(ref.SealedKey(f.DocumentName(2))), sealed))
			}
			if n := e.count(storage.PrefixAudit + demo.SealCivil + "/"); n != 4 {
				t.Errorf("usage records after a second run: %d, want 4", n)
			}
		})
	}
}

// checkCarriedOver checks, independently of the pipeline's own check, that
// every part of the approved OFD is in the sealed one with the same bytes,
// OFD.xml and Signatures.xml aside, and that the output has more parts.
func checkCarriedOver(t *testing.T, name string, in, out []byte) {
	t.Helper()
	pin, err := ofd.Open(in, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pout, err := ofd.Open(out, ofd.Limits{})
	if err != nil {
		t.Fatalf("%s: sealed output: %v", name, err)
	}
	if len(pout.Entries()) <= len(pin.Entries()) {
		t.Errorf("%s: %d parts sealed, %d approved", name, len(pout.Entries()), len(pin.Entries()))
	}
	for _, e := range pin.Entries() {
		if e.Name == "OFD.xml" || strings.HasSuffix(e.Name, "Signatures.xml") {
			continue
		}
		a, err := pin.Read(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := pout.Read(e.Name)
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: part %s not carried over: %v", name, e.Name, err)
		}
	}
}

// TestOFDRejections: OFD documents that can never be sealed are refused
// with the codes PDFs get, and nothing is sealed.
func TestOFDRejections(t *testing.T) {
	longTable(t)
	first := demo.FormatOFD.DocumentName(1)
	tests := []struct {
		name   string
		mutate func(t *testing.T, e *env, b *demo.Batch) string // returns the document to check
		cfg    pipeline.Config
		code   report.Code
	}{
		{"truncated package", func(t *testing.T, e *env, b *demo.Batch) string {
			d := b.Files[first]
			e.setDocument(b, "truncated.ofd", d[:len(d)/2])
			return "truncated.ofd"
		}, pipeline.Config{}, pipeline.CodeDocumentMalformed},
		{"no OFD.xml", func(t *testing.T, e *env, b *demo.Batch) string {
			e.setDocument(b, "no-entry.ofd", pipeline.RepackOFD(t, b.Files[first], false, func(name string, data []byte) (string, []byte) {
				if name == "OFD.xml" {
					return "", nil
				}
				return name, data
			}))
			return "no-entry.ofd"
		}, pipeline.Config{}, pipeline.CodeDocumentMalformed},
		{"OFD.xml not XML", func(t *testing.T, e *env, b *demo.Batch) string {
			e.setDocument(b, "bad-xml.ofd", pipeline.RepackOFD(t, b.Files[first], false, func(name string, data []byte) (string, []byte) {
				if name == "OFD.xml" {
					return name, data[:len(data)/2]
				}
				return name, data
			}))
			return "bad-xml.ofd"
		}, pipeline.Config{}, pipeline.CodeDocumentMalformed},
		{"entry climbing out of the package", func(t *testing.T, e *env, b *demo.Batch) string {
			e.setDocument(b, "traversal.ofd", pipeline.RepackOFD(t, b.Files[first], false, func(name string, data []byte) (string, []byte) {
				if strings.HasSuffix(name, ".ttf") {
					return "../../" + name, data
				}
				return name, data
			}))
			return "traversal.ofd"
		}, pipeline.Config{}, pipeline.CodeDocumentMalformed},
		{"neither PDF nor OFD", func(t *testing.T, e *env, b *demo.Batch) string {
			e.setDocument(b, "junk.ofd", []byte("this is no OFD package"))
			return "junk.ofd"
		}, pipeline.Config{}, pipeline.CodeDocumentMalformed},
		{"page out of range", func(t *testing.T, e *env, b *demo.Batch) string {
			e.resign(b, demo.Approver, func(m *approval.Manifest) { m.Documents[0].Placement.Page = 9 })
			return first
		}, pipeline.Config{}, pipeline.CodePlacementInvalid},
		{"stamp off the page", func(t *testing.T, e *env, b *demo.Batch) string {
			e.resign(b, demo.Approver, func(m *approval.Manifest) { m.Documents[0].Placement.Y = 4000 })
			return first
		}, pipeline.Config{}, pipeline.CodePlacementInvalid},
		{"sealed before in whole-document protection mode", func(t *testing.T, e *env, b *demo.Batch) string {
			ctx := context.Background()
			seal, err := e.reg.Get(ctx, demo.SealCivil)
			if err != nil {
				t.Fatal(err)
			}
			key, err := e.ca.OpenAlias(ctx, "civil-affairs")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := ofdseal.Seal(ctx, &out, b.Files[first], ofdseal.Options{
				Signer: key, Cert: e.ca.Signers["civil-affairs"].Cert, SealData: seal.Seal.Raw,
				Placement: ofdseal.Placement{Page: 1, X: 20, Y: 20}, ProtectAll: true,
			}); err != nil {
				t.Fatal(err)
			}
			e.setDocument(b, "protected.ofd", out.Bytes())
			return "protected.ofd"
		}, pipeline.Config{}, pipeline.CodeDocumentLocked},
		{"too large", func(t *testing.T, e *env, b *demo.Batch) string { return first },
			pipeline.Config{MaxDocumentSize: 1000}, pipeline.CodeDocumentTooLarge},
		{"tampered", func(t *testing.T, e *env, b *demo.Batch) string { return demo.FormatOFD.Tampered() },
			pipeline.Config{}, pipeline.CodeDigestMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			b := e.formatBatch("ofd-bad", 2, true, demo.FormatOFD)
			e.wantRejected(b, tt.mutate(t, e, b), tt.code)
		})
	}
}

// wantRejected uploads and runs batch b and checks that document name was
// rejected with code and not sealed.
func (e *env) wantRejected(b *demo.Batch, name string, code report.Code) {
	e.t.Helper()
	e.upload(b)
	rep := e.runBatch(b.Ref)
	i := slices.IndexFunc(rep.Documents, func(d report.BatchEntry) bool { return d.Document == name })
	if i < 0 {
		e.t.Fatalf("%s missing from the batch report", name)
	}
	if d := rep.Documents[i]; d.Outcome != report.OutcomeRejected || d.Code != code {
		e.t.Fatalf("%s: %s %s (%s), want rejected %s", name, d.Outcome, d.Code, d.Reason, code)
	}
	if e.exists(b.Ref.SealedKey(name)) {
		e.t.Fatal("a rejected document was sealed")
	}
}

// TestOFDLocalSeal: `sealpipe seal` of an OFD: sealed, verified, recorded.
func TestOFDLocalSeal(t *testing.T) {
	e := newEnv(t, pipeline.Config{Operator: "local:tester"})
	b := e.formatBatch("local-ofd", 1, false, demo.FormatOFD)
	in := b.Files[demo.FormatOFD.DocumentName(1)]
	out, rep, err := e.sealLocal(in, demo.SealCivil, approval.Placement{Page: 1, X: 20, Y: 20}, "out.ofd")
	if err != nil {
		t.Fatal(err)
	}
	if verify.DetectFormat(out) != verify.FormatOFD || rep.Indication != report.Passed {
		t.Fatalf("local seal: %s, %s", verify.DetectFormat(out), rep.Indication)
	}
	checkCarriedOver(t, "out.ofd", in, out)
	if n := e.count(storage.PrefixAudit + demo.SealCivil + "/local/"); n != 1 {
		t.Fatalf("local usage records: %d", n)
	}
	var rj *pipeline.RejectError
	if _, _, err := e.sealLocal(in, demo.SealCivil, approval.Placement{Page: 9, X: 20, Y: 20}, "o.ofd"); !errors.As(err, &rj) || rj.Code != pipeline.CodePlacementInvalid {
		t.Fatalf("sealing on page 9 of a one-page OFD = %v, want %s", err, pipeline.CodePlacementInvalid)
	}
}
