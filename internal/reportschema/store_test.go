package reportschema_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/memstore"
	"github.com/sealpipe/sealpipe/internal/reportschema"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/storage"
)

func TestKeyKind(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]reportschema.Kind{
		"reports/civil-affairs/b1/cert-00001.pdf.json": reportschema.Document,
		"reports/civil-affairs/b1/batch.json":          reportschema.Batch,
		"rejected/civil-affairs/b1/x.ofd.json":         reportschema.Rejection,
		"rejected/civil-affairs/b1/batch.json":         reportschema.Rejection,
		"reports/civil-affairs/b1/cert-00001.pdf":      "",
		"reports/civil-affairs/batch.json":             "",
		"audit/33010200000021/civil-affairs/b1/x.json": "",
		"sealed/civil-affairs/b1/x.json":               "",
	} {
		if got, ok := reportschema.KeyKind(key); got != want || ok != (want != "") {
			t.Errorf("KeyKind(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
}

// TestCheckStore: the signed reports of a store are checked, each as what
// its key says, and nothing else is.
func TestCheckStore(t *testing.T) {
	t.Parallel()
	st := memstore.New("sealpipe")
	key, cert := testpki.SelfSigned(t, "pipeline")
	signer := signed.Signer{Key: key, Cert: cert}
	put := func(k string, data []byte) {
		t.Helper()
		if _, err := st.Put(context.Background(), k, bytes.NewReader(data), int64(len(data)), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	putSigned := func(k, doc string) {
		t.Helper()
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		b, err := signer.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		put(k, b)
	}
	putSigned("reports/civil-affairs/2026-03-01.a/batch.json", validBatch)
	putSigned("reports/civil-affairs/b1/cert-00001.pdf.json", validDocument)
	putSigned("rejected/civil-affairs/b1/b.pdf.json", validRejection)
	put("reports/civil-affairs/b1/planted.pdf.json", []byte(`{"document": "planted.pdf"}`)) // not signed: not the pipeline's
	putSigned("audit/33010200000021/civil-affairs/b1/x.pdf.json", `{"seal": "x"}`)          // no report

	rec := &recorder{TB: t}
	if n := reportschema.CheckStore(rec, st, nil); n != 3 || rec.msg != "" {
		t.Fatalf("CheckStore of valid reports: %d checked, want 3; %s", n, rec.msg)
	}

	// A rejection stored where a document's report belongs is invalid.
	putSigned("reports/civil-affairs/b1/b.pdf.json", validRejection)
	rec.msg = ""
	if n := reportschema.CheckStore(rec, st, nil); n != 4 || !strings.Contains(rec.msg, "reports/civil-affairs/b1/b.pdf.json: ") ||
		!strings.Contains(rec.msg, "not a valid document report") {
		t.Errorf("CheckStore: %d checked, want 4, and the misplaced rejection reported: %s", n, rec.msg)
	}
}
