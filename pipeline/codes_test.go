package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/templates/verifymark"
)

// TestReportByCode: every sealed document of a batch is found by its
// verification code, as people type it, and no rejected one; a code no
// document has, a malformed one, an index entry the pipeline did not
// sign, and an entry pointing at another document's report are refused.
func TestReportByCode(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("codes", 3, true)
	e.upload(b)
	rep := e.runBatch(b.Ref)
	ctx := context.Background()
	if n := e.count(storage.PrefixCodes); n != rep.Sealed {
		t.Fatalf("%d index entries for %d sealed documents", n, rep.Sealed)
	}
	var codes []string
	for _, d := range rep.Documents {
		if d.Outcome != report.OutcomeSealed {
			continue
		}
		var want report.Document
		e.record(d.Report, &want)
		approved, err := approval.Digest(bytes.NewReader(b.Files[d.Document]))
		if err != nil {
			t.Fatal(err)
		}
		code := pipeline.DocumentCode(b.Ref, d.Document, approved)
		if want.VerificationCode != code || d.VerificationCode != code {
			t.Fatalf("%s: the report's code is %q, the batch report's %q, want %q", d.Document, want.VerificationCode, d.VerificationCode, code)
		}
		codes = append(codes, code)
		for _, typed := range []string{code, "  " + code[:9] + " " + code[10:] + " "} {
			rec, got, err := pipeline.ReportByCode(ctx, e.store, e.ca.Pool(), typed)
			if err != nil {
				t.Fatalf("%s by %q: %v", d.Document, typed, err)
			}
			if got.SM3 != want.SM3 || got.Document != d.Sealed || got.VerificationCode != code || rec.Sealed != d.Sealed || rec.Report != d.Report || rec.Code != code {
				t.Errorf("%s by %q: entry %+v, report of %s", d.Document, typed, rec, got.Document)
			}
		}
	}
	// A report written before reports held their code is found by the
	// code of its output's SM3, under which the pipeline indexed it then.
	signedRecord := func(v any) []byte {
		body, err := service(t, e.ca).Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	var old report.Document
	e.record(rep.Documents[2].Report, &old)
	oldCode, _ := report.VerificationCode(old.SM3)
	old.VerificationCode = ""
	e.replace(rep.Documents[2].Report, signedRecord(old))
	e.put(pipeline.CodeKey(oldCode), signedRecord(pipeline.CodeRecord{Code: oldCode, Sealed: rep.Documents[2].Sealed, Report: rep.Documents[2].Report}))
	if _, got, err := pipeline.ReportByCode(ctx, e.store, e.ca.Pool(), oldCode); err != nil {
		t.Errorf("a report without its code, by its output's code: %v", err)
	} else if got.VerificationCode != oldCode {
		t.Errorf("a report without its code, by its output's code: the report says code %q", got.VerificationCode)
	}
	if _, _, err := pipeline.ReportByCode(ctx, e.store, e.ca.Pool(), codes[2]); !errors.Is(err, pipeline.ErrTampered) {
		t.Errorf("a report without its code, by its own code: %v, want ErrTampered", err)
	}

	// The first sealed document's index entry replaced: by the second's
	// (signed, but another code's); by one the pipeline signed that names
	// another code, or another document's report; by bytes the pipeline
	// did not sign.
	second := e.read(pipeline.CodeKey(codes[1]))
	first := &pipeline.CodeRecord{Code: codes[0], Department: b.Ref.Department, Batch: b.Ref.Batch}
	signedEntry := func(code, reportKey string) []byte {
		r := *first
		r.Code, r.Report = code, reportKey
		return signedRecord(r)
	}
	var sealedReports []string
	for _, d := range rep.Documents {
		if d.Outcome == report.OutcomeSealed {
			sealedReports = append(sealedReports, d.Report)
		}
	}
	for _, tt := range []struct {
		name string
		code string
		put  []byte
		want error
	}{
		{"unknown", "0000-0000-0000-0000", nil, pipeline.ErrUnknownCode},
		{"malformed", "not a code", nil, pipeline.ErrUnknownCode},
		{"another document's entry", codes[0], second, pipeline.ErrTampered},
		{"an entry naming another code", codes[0], signedEntry(codes[1], sealedReports[0]), pipeline.ErrTampered},
		{"an entry naming another document's report", codes[0], signedEntry(codes[0], sealedReports[1]), pipeline.ErrTampered},
		{"unsigned entry", codes[0], []byte(`{"code":"` + codes[0] + `","report":"` + rep.Documents[0].Report + `"}`), pipeline.ErrTampered},
	} {
		if tt.put != nil {
			e.replace(pipeline.CodeKey(tt.code), tt.put)
		}
		if _, _, err := pipeline.ReportByCode(ctx, e.store, e.ca.Pool(), tt.code); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestDocumentCode: the code is the approved digest's and the sealing's:
// another digest, department, batch or name gives another code, and the
// code is not the approved digest's own (report.VerificationCode).
func TestDocumentCode(t *testing.T) {
	ref := pipeline.BatchRef{Department: "civil-affairs", Batch: "b1"}
	digest := strings.Repeat("ab", 32)
	code := pipeline.DocumentCode(ref, "a.pdf", digest)
	if _, err := report.ParseVerificationCode(code); err != nil {
		t.Fatal(err)
	}
	if own, _ := report.VerificationCode(digest); code == own {
		t.Error("the code is the digest's own")
	}
	for name, other := range map[string]string{
		"digest":     pipeline.DocumentCode(ref, "a.pdf", strings.Repeat("ac", 32)),
		"department": pipeline.DocumentCode(pipeline.BatchRef{Department: "civil", Batch: "b1"}, "a.pdf", digest),
		"batch":      pipeline.DocumentCode(pipeline.BatchRef{Department: "civil-affairs", Batch: "b2"}, "a.pdf", digest),
		"name":       pipeline.DocumentCode(ref, "b.pdf", digest),
		"shifted":    pipeline.DocumentCode(pipeline.BatchRef{Department: "civil-affairs", Batch: "b"}, "1a.pdf", digest),
	} {
		if other == code {
			t.Errorf("another %s gives the same code %s", name, code)
		}
	}
	if again := pipeline.DocumentCode(ref, "a.pdf", digest); again != code {
		t.Errorf("the code of the same sealing changed: %s, then %s", code, again)
	}
}

// TestVerificationMark: with a base URL, the QR code printed under the
// seal of each sealed PDF reads (through poppler and zbar) as the address
// of the document's own code; without one, nothing is printed. A document
// with two seals gets one mark, under the first; one whose first seal is
// a riding seal, under the second; the seals verify all the same.
func TestVerificationMark(t *testing.T) {
	const base = "https://yz.example.gov.cn/sealpipe"
	for _, tt := range []struct {
		name string
		base string
	}{{"with a base URL", base}, {"without", ""}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, pipeline.Config{VerifyBaseURL: tt.base})
			e.registerJointSeal()
			b := e.sampleBatch("marks", 3, false)
			e.resign(b, demo.Approver, func(m *approval.Manifest) {
				also := []approval.SealUse{{Seal: jointSeal, Placement: approval.Placement{Page: 1, X: 30, Y: 60}}}
				m.Documents[1].Also = also
				m.Documents[2].Also = also
				m.Documents[2].Placement = approval.Placement{Riding: true, Y: 100}
			})
			m, err := approval.Parse(b.Files[approval.ManifestName])
			if err != nil {
				t.Fatal(err)
			}
			seals := map[string]int{}
			for _, d := range m.Documents {
				seals[d.Name] = len(d.Seals())
			}
			e.upload(b)
			rep := e.runBatch(b.Ref)
			if rep.Sealed != 3 {
				t.Fatalf("%d of 3 documents sealed: %+v", rep.Sealed, rep.Documents)
			}
			for _, d := range rep.Documents {
				var r report.Document
				e.record(d.Report, &r)
				file := filepath.Join(t.TempDir(), "sealed.pdf")
				if err := os.WriteFile(file, e.read(d.Sealed), 0o644); err != nil {
					t.Fatal(err)
				}
				var want []string
				if tt.base != "" {
					want = []string{verifymark.URL(base, r.VerificationCode)}
				}
				if got := testenv.DecodeQR(t, file, 1); !slices.Equal(got, want) {
					t.Errorf("%s: the QR codes read %q, want %q", d.Document, got, want)
				}
				if r.Indication != report.Passed || len(r.Signatures) != seals[d.Document] {
					t.Errorf("%s: %s with %d signatures, want %s with %d", d.Document, r.Indication, len(r.Signatures), report.Passed, seals[d.Document])
				}
			}
		})
	}
}
