package pipeline_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/storage"
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
		code, err := report.VerificationCode(want.SM3)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, code)
		for _, typed := range []string{code, "  " + code[:9] + " " + code[10:] + " "} {
			rec, got, err := pipeline.ReportByCode(ctx, e.store, e.ca.Pool(), typed)
			if err != nil {
				t.Fatalf("%s by %q: %v", d.Document, typed, err)
			}
			if got.SM3 != want.SM3 || got.Document != d.Sealed || rec.Sealed != d.Sealed || rec.Report != d.Report || rec.Code != code {
				t.Errorf("%s by %q: entry %+v, report of %s", d.Document, typed, rec, got.Document)
			}
		}
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
		body, err := service(t, e.ca).Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return body
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
			if err := e.store.Delete(ctx, pipeline.CodeKey(tt.code)); err != nil {
				t.Fatal(err)
			}
			e.put(pipeline.CodeKey(tt.code), tt.put)
		}
		if _, _, err := pipeline.ReportByCode(ctx, e.store, e.ca.Pool(), tt.code); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}
