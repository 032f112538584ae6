package pipeline_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/storage"
)

// jointSeal is a seal of the county office whose uses Approver may
// approve for civil-affairs batches: a co-issuing unit's seal.
const jointSeal = "33010200000005"

// registerJointSeal makes and registers jointSeal.
func (e *env) registerJointSeal() {
	e.t.Helper()
	ctx := context.Background()
	maker, err := e.ca.Signer(ctx, e.ca.SealMaker)
	if err != nil {
		e.t.Fatal(err)
	}
	signer := e.ca.Signers["county-office"]
	unit := signer.Cert.Subject.Organization[0]
	pic, err := engine.SealPicture(unit, "", jointSeal)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.reg.Make(ctx, registry.MakeRequest{
		ID: jointSeal, Unit: unit, Picture: pic, SignerCert: signer.Cert, Key: "county-office",
		Approvers: []registry.ApproverGrant{{Cert: e.ca.Approvers[demo.Approver].Cert, Departments: []string{demo.Department}}},
		Maker:     signed.Signer{Key: maker, Cert: e.ca.SealMaker.Cert},
	}, e.admin()); err != nil {
		e.t.Fatal(err)
	}
}

// alsoSeal makes the approval of b list seal as a further seal of the
// document name.
func (e *env) alsoSeal(b *demo.Batch, name, seal string) {
	e.t.Helper()
	e.resign(b, demo.Approver, func(m *approval.Manifest) {
		for i := range m.Documents {
			if m.Documents[i].Name == name {
				m.Documents[i].Also = []approval.SealUse{{Seal: seal, Placement: approval.Placement{Page: 1, X: 80, Y: 20}}}
			}
		}
	})
}

// TestAlsoSeals: a document whose approval lists a further seal
// (approval.Document.Also, a co-issuing unit's) gets both (a PDF the
// second in an incremental update over the first, an OFD one more
// signature): its report holds both signatures, passed, in order, and a
// full verification of the output agrees; each seal gets the document's
// usage record and a segment of its log in the batch report. A retry after
// a crash before the report derives the same.
func TestAlsoSeals(t *testing.T) {
	longTable(t)
	for _, f := range []demo.Format{demo.FormatPDF, demo.FormatOFD} {
		t.Run(string(f), func(t *testing.T) {
			e := newEnv(t, pipeline.Config{})
			e.registerJointSeal()
			b := e.formatBatch("also", 2, false, f)
			name := f.DocumentName(1)
			e.alsoSeal(b, name, jointSeal)
			e.upload(b)
			batch := e.runBatch(b.Ref)
			if batch.Sealed != 2 || batch.Rejected != 0 {
				t.Fatalf("batch report: %d sealed, %d rejected: %+v", batch.Sealed, batch.Rejected, batch.Documents)
			}

			var stored report.Document
			e.record(b.Ref.ReportKey(name), &stored)
			out := e.read(b.Ref.SealedKey(name))
			v := &verify.Verifier{Trust: trust.NewPool([]*smx509.Certificate{e.ca.Root}), Seals: e.reg}
			full, err := v.Document(context.Background(), name, out)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{demo.SealCivil, jointSeal}
			for _, rep := range []*report.Document{&stored, full} {
				if got := sealIDs(rep); rep.Indication != report.Passed || !slices.Equal(got, want) {
					t.Errorf("report: %s, seals %v; want %s, %v", rep.Indication, got, report.Passed, want)
				}
			}
			if f == demo.FormatPDF && !bytes.HasPrefix(out, b.Files[name]) {
				t.Error("the output does not begin with the approved document")
			}

			for seal, n := range map[string]int{demo.SealCivil: 2, jointSeal: 1} {
				if got := e.count(storage.PrefixAudit + seal + "/"); got != n {
					t.Errorf("seal %s: %d usage records, want %d", seal, got, n)
				}
			}
			var logged []string
			for _, cp := range batch.UsageLog {
				logged = append(logged, cp.Seal)
			}
			if slices.Sort(logged); !slices.Equal(logged, want) {
				t.Errorf("usage log segments of seals %v, want %v", logged, want)
			}

			// A crash after the output, before its report: the retry checks
			// both seals in the stored output.
			if err := e.store.Delete(context.Background(), b.Ref.ReportKey(name)); err != nil {
				t.Fatal(err)
			}
			e.rebuild()
			if got, err := e.p.SealDocument(context.Background(), b.Ref, name); err != nil || got != report.OutcomeSealed {
				t.Fatalf("SealDocument after the crash = %v, %v", got, err)
			}
			var again report.Document
			e.record(b.Ref.ReportKey(name), &again)
			if got := sealIDs(&again); again.Indication != report.Passed || !slices.Equal(got, want) || again.SM3 != stored.SM3 {
				t.Errorf("report after the crash: %s, seals %v, SM3 %s; want %s, %v, %s", again.Indication, got, again.SM3, report.Passed, want, stored.SM3)
			}
		})
	}
}

// TestAlsoSealRefused: a further seal the approver may not approve for the
// department rejects the whole document (wantRejected: nothing is sealed).
func TestAlsoSealRefused(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("also-refused", 2, false)
	name := demo.DocumentName(1)
	e.alsoSeal(b, name, demo.SealCounty) // only OtherApprover may approve it
	e.wantRejected(b, name, pipeline.CodeSealNotPermitted)
}

// sealIDs returns the seals of rep's signatures, in order.
func sealIDs(rep *report.Document) []string {
	var ids []string
	for _, s := range rep.Signatures {
		ids = append(ids, s.SealID)
	}
	return ids
}
