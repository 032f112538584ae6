package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/reportschema"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/signed"
)

// checkStoredReports validates, against docs/report.schema.json, every
// report the pipeline signed in e's store (reportschema.CheckStore):
// newEnvOn runs it when the test ends, so that every report the tests
// produce is checked, read back or not.
func (e *env) checkStoredReports() int {
	e.t.Helper()
	return reportschema.CheckStore(e.t, e.store, e.ca.Pool())
}

// TestStoredReportsChecked: the check of the stored reports at the end of
// each test checks every report of a batch, and finds a record the schema
// refuses.
func TestStoredReportsChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, pipeline.Config{})
	b := e.sampleBatch("schema", 2, true)
	e.upload(b)
	rep := e.runBatch(b.Ref)
	if rep.Sealed == 0 || rep.Rejected == 0 {
		t.Fatalf("want a batch with both outcomes, got %d sealed, %d rejected", rep.Sealed, rep.Rejected)
	}
	rec := &recorder{TB: t}
	e.t = rec
	defer func() { e.t = t }()
	if n, want := e.checkStoredReports(), 1+rep.Sealed+rep.Rejected; n != want || rec.errors != "" {
		t.Fatalf("checked %d reports, want %d (the batch report and a record per document); errors: %s", n, want, rec.errors)
	}

	// A record the pipeline signed that the schema refuses.
	bad, err := e.cfg.Service.Marshal(map[string]any{"document": "x.pdf", "indication": "PASSED"})
	if err != nil {
		t.Fatal(err)
	}
	e.put(b.Ref.ReportKey("x.pdf"), bad)
	// One signed by someone else is not the pipeline's: left alone.
	key, cert := selfSigned(t, "not the pipeline")
	planted, err := signed.Signer{Key: key, Cert: cert}.Marshal(map[string]any{"document": "y.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	e.put(b.Ref.ReportKey("y.pdf"), planted)
	rec.errors = ""
	e.checkStoredReports()
	if !strings.Contains(rec.errors, b.Ref.ReportKey("x.pdf")+": ") || !strings.Contains(rec.errors, "/indication") {
		t.Errorf("a report the schema refuses: %q", rec.errors)
	}
	if strings.Contains(rec.errors, "y.pdf") {
		t.Errorf("a record the pipeline did not sign was checked: %q", rec.errors)
	}
	if err := e.store.Delete(context.Background(), b.Ref.ReportKey("x.pdf")); err != nil {
		t.Fatal(err)
	}
}

// recorder is a testing.TB that records what Errorf says instead of
// failing.
type recorder struct {
	testing.TB
	errors string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Errorf(format string, a ...any) { r.errors += fmt.Sprintf(format, a...) + "\n" }
func (r *recorder) Logf(format string, a ...any)   {}
