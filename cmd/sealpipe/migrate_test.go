package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// TestMigrate: a store written before seals and records were signed — a
// seal as record.json (suspended since), a completed batch's report, usage
// record and rejection, unsigned — is brought up to date by one command,
// after which the registry and the usage log verify, the seal keeps its
// status, and migrating again changes nothing.
func TestMigrate(t *testing.T) {
	embeddedDefaults(t)
	data := t.TempDir()
	t.Setenv("SEALPIPE_KEY_PASSPHRASE", "migrate")
	mustSealpipe(t, "--data", data, "ca", "init")
	ca, err := devca.Load(filepath.Join(data, "pki"), []byte("migrate"))
	if err != nil {
		t.Fatal(err)
	}
	const id = "33010200000051"
	bucket := filepath.Join(data, "store", "sealpipe")
	write := func(key string, v any) []byte {
		t.Helper()
		b, ok := v.([]byte)
		if !ok {
			var err error
			if b, err = json.MarshalIndent(v, "", "  "); err != nil {
				t.Fatal(err)
			}
		}
		p := filepath.Join(bucket, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return b
	}

	// The old registry layout.
	maker, err := ca.Signer(t.Context(), ca.SealMaker)
	if err != nil {
		t.Fatal(err)
	}
	pic, err := engine.SealPicture("某某县民政局", "业务专用章", id)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	esl, err := ses.MakeSeal(rand.Reader, ses.MakeSealRequest{
		VendorID: "SEALPIPE", ID: id, Type: 1, Name: "某某县民政局业务专用章",
		SignerCerts: [][]byte{ca.Signers["civil-affairs"].Cert.Raw},
		CreateDate:  now, ValidStart: now, ValidEnd: now.AddDate(1, 0, 0), Picture: pic,
	}, maker, ca.SealMaker.Cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	write("registry/seals/"+id+"/seal.esl", esl)
	write("registry/seals/"+id+"/record.json", map[string]any{
		"id": id, "name": "某某县民政局业务专用章", "unit": "某某县民政局", "purpose": "业务专用章", "status": "suspended",
		"approvers": []string{demo.Approver}, "signer_key": ca.Signers["civil-affairs"].KeyURI,
		"history": []map[string]any{
			{"at": now.Add(-time.Hour), "status": "active", "actor": "local:root", "reason": "registered"},
			{"at": now.Add(-time.Minute), "status": "suspended", "actor": "local:root", "reason": "annual audit"},
		},
	})
	// A completed batch, its records unsigned.
	output := write("sealed/civil-affairs/old/cert.pdf", []byte("%PDF-1.7 sealed long ago"))
	sum := sm3.Sum(output)
	rec := audit.Record{SealID: id, Department: "civil-affairs", Batch: "old", Document: "cert.pdf",
		OutputSM3: hex.EncodeToString(sum[:]), Output: "sealed/civil-affairs/old/cert.pdf", Operator: "pipeline"}
	write(rec.Key(), rec)
	write("reports/civil-affairs/old/cert.pdf.json", report.Document{Document: "cert.pdf", Indication: report.Passed})
	write("rejected/civil-affairs/old/bad.pdf.json", report.Rejection{Department: "civil-affairs", Batch: "old", Document: "bad.pdf", Code: "DIGEST_MISMATCH"})
	write("reports/civil-affairs/old/batch.json", report.Batch{Department: "civil-affairs", Batch: "old", Sealed: 1, Rejected: 1})
	// The batch report for people beside it (written since): no record,
	// left as it is.
	page := write("reports/civil-affairs/old/batch.html", []byte("<!DOCTYPE html><p>批次报告</p>"))

	// Before: neither the registry nor the usage log verifies.
	if code, _, _ := sealpipe(t, "--data", data, "registry", "verify"); code != exitFailed {
		t.Fatalf("registry verify before migrating: exit %d", code)
	}
	if code, _, _ := sealpipe(t, "--data", data, "audit", "verify"); code != exitFailed {
		t.Fatalf("audit verify before migrating: exit %d", code)
	}
	var m engine.Migration
	if err := json.Unmarshal([]byte(mustSealpipe(t, "--data", data, "--json", "migrate")), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Seals) != 1 || m.Seals[0] != id || m.Records != 4 || m.Batches != 1 {
		t.Fatalf("migrate: %+v", m)
	}
	mustSealpipe(t, "--data", data, "registry", "verify")
	mustSealpipe(t, "--data", data, "audit", "verify")
	if got, err := os.ReadFile(filepath.Join(bucket, "reports", "civil-affairs", "old", "batch.html")); err != nil || !bytes.Equal(got, page) {
		t.Errorf("migrate changed batch.html: %q, %v", got, err)
	}
	out := mustSealpipe(t, "--data", data, "--json", "seals", "show", id)
	for _, want := range []string{`"status": "suspended"`, `"key": "civil-affairs"`, `"name": "approver-zhang"`, `"civil-affairs"`, "annual audit"} {
		if !strings.Contains(out, want) {
			t.Errorf("seals show after migrating lacks %s:\n%s", want, out)
		}
	}
	// Again: nothing left to do.
	if err := json.Unmarshal([]byte(mustSealpipe(t, "--data", data, "--json", "migrate")), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Seals) != 0 || m.Records != 0 || m.Batches != 0 {
		t.Fatalf("second migrate: %+v", m)
	}
}
