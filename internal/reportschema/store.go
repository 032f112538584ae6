package reportschema

import (
	"context"
	"path"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
)

// maxRecordSize bounds a stored report read back: a batch report of ten
// thousand documents is a few megabytes.
const maxRecordSize = 64 << 20

// KeyKind returns the kind of report the pipeline stores under object key
// (pipeline.BatchRef's keys): a batch report at
// reports/<dept>/<batch>/batch.json, a document's verification report at
// reports/<dept>/<batch>/<document>.json, a rejection record at
// rejected/<dept>/<batch>/<document>.json or rejected/<dept>/<batch>/batch.json.
// It returns false for any other key.
func KeyKind(key string) (Kind, bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 4 || !strings.HasSuffix(key, ".json") {
		return "", false
	}
	switch parts[0] + "/" {
	case storage.PrefixReports:
		if path.Base(key) == "batch.json" {
			return Batch, true
		}
		return Document, true
	case storage.PrefixRejected:
		return Rejection, true
	}
	return "", false
}

// CheckRecord fails t unless record, a signed record (a sealpipe-signed/1
// envelope, package pipeline/signed) stored under key, holds a payload
// valid as kind, and reports whether it does. The envelope's signature
// must verify; who signed it is not checked.
func CheckRecord(t testing.TB, key string, kind Kind, record []byte) bool {
	t.Helper()
	payload, _, err := signed.Open(record)
	if err != nil {
		t.Errorf("%s: %v", key, err)
		return false
	}
	if err := Validate(kind, payload); err != nil {
		t.Errorf("%s: %v", key, err)
		return false
	}
	return true
}

// CheckStore validates every report stored in st — each record under
// reports/ and rejected/ whose key KeyKind knows — and returns how many
// it checked. Only records the pipeline signed count: with pool, those
// audit.OpenRecord accepts (signed by a certificate pool trusts for the
// pipeline), without, those whose signature verifies. Anything else under
// those prefixes, such as an object a test planted, is left alone.
func CheckStore(t testing.TB, st storage.Store, pool *trust.Pool) int {
	t.Helper()
	ctx := context.Background()
	checked, invalid := 0, 0
	for _, prefix := range []string{storage.PrefixReports, storage.PrefixRejected} {
		var keys []string
		err := st.List(ctx, prefix, func(o storage.ObjectInfo) error {
			if _, ok := KeyKind(o.Key); ok {
				keys = append(keys, o.Key)
			}
			return nil
		})
		if err != nil {
			t.Errorf("reportschema: list %s: %v", prefix, err)
			return checked
		}
		for _, key := range keys {
			data, _, err := storage.ReadAll(ctx, st, key, maxRecordSize)
			if err != nil {
				t.Errorf("reportschema: %v", err)
				continue
			}
			if !pipelineSigned(data, pool) {
				continue
			}
			kind, _ := KeyKind(key)
			if !CheckRecord(t, key, kind, data) {
				invalid++
			}
			checked++
		}
	}
	t.Logf("reportschema: %d stored reports checked against docs/report.schema.json, %d invalid", checked, invalid)
	return checked
}

// pipelineSigned reports whether data is a signed record by the pipeline:
// one whose signer pool trusts for that, or, with no pool, any whose
// signature verifies.
func pipelineSigned(data []byte, pool *trust.Pool) bool {
	if pool == nil {
		_, _, err := signed.Open(data)
		return err == nil
	}
	return audit.OpenRecord(data, new(any), pool) == nil
}
