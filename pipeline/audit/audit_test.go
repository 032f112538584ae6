package audit_test

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/storage/fs"
)

func TestAppend(t *testing.T) {
	st, err := fs.Open(t.TempDir(), "audit-test")
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(st)
	ctx := context.Background()
	rec := audit.Record{SealID: "33010200000001", SealName: "章", Department: "d", Batch: "b", Document: "x.pdf",
		InputSM3: "aa", OutputSM3: "bb", SignedAt: time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC), Operator: "pipeline"}
	if got, want := rec.Key(), "audit/33010200000001/d/b/x.pdf.json"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
	if err := log.Append(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// A retried sealing appends the same record again: the first one stands.
	second := rec
	second.OutputSM3 = "cc"
	if err := log.Append(ctx, second); err != nil {
		t.Fatal(err)
	}
	rc, _, err := st.Get(ctx, rec.Key())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	var got audit.Record
	if err := json.Unmarshal(b, &got); err != nil || got.OutputSM3 != "bb" {
		t.Fatalf("stored record %+v, %v", got, err)
	}

	local := audit.Record{SealID: "33010200000001", Document: "out.pdf", OutputSM3: "0123456789abcdef0123", SignedAt: rec.SignedAt}
	if got, want := local.Key(), "audit/33010200000001/local/20261124T010203Z-0123456789abcdef.json"; got != want {
		t.Fatalf("local Key = %q, want %q", got, want)
	}
	if err := log.Append(ctx, local); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := log.List(ctx, "33010200000001", func(k string) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("List = %v", keys)
	}
	if err := log.Append(ctx, audit.Record{SealID: "x"}); err == nil {
		t.Fatal("an incomplete record was accepted")
	}
}
