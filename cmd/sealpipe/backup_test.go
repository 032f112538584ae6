package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/testenv"
)

// TestBackupRestoreWithServices is issue 10's backup test on the real
// MinIO: a store with a sealed batch is backed up to s3://bucket/prefix
// and to a folder, lost (bucket emptied, PKI, keyring and the machine's
// state deleted) and restored from each — into the emptied bucket from
// s3://, into a new bucket and data folder from the folder — after which
// `registry verify` and `audit verify` pass and a new batch seals.
func TestBackupRestoreWithServices(t *testing.T) {
	bucket, mc, s3, _ := servicesEnv(t)
	data := os.Getenv("SEALPIPE_DATA")
	const seal = "33010200000051"
	mustRun(t, "ca", "init")
	mustRun(t, "seals", "make", "--unit", demo.Department, "--code", seal, "--approver", demo.Approver)
	sealBatch := func(t *testing.T, batch string, args ...string) {
		t.Helper()
		dir := filepath.Join(t.TempDir(), batch)
		mustRun(t, append(args, "batch", "make", "--docs", "2", "--out", dir, "--batch", batch, "--seal", seal)...)
		mustRun(t, append(args, "batch", "upload", dir)...)
		if out := mustRun(t, append(args, "run", "--once", "--timeout", "3m")...); !strings.Contains(out, demo.Department+"/"+batch+": sealed 2, rejected 0") {
			t.Fatalf("run --once: %s", out)
		}
	}
	verifyBoth := func(t *testing.T, args ...string) {
		t.Helper()
		mustRun(t, append(args, "registry", "verify")...)
		mustRun(t, append(args, "audit", "verify")...)
	}
	sealBatch(t, "before")

	target := testenv.BucketName(t, s3) // made by the backup, removed when t ends
	out := mustRun(t, "backup", "--to", "s3://"+target+"/nightly/1")
	if !strings.Contains(out, "s3://"+target+"/nightly/1/manifest.json, signed by pipeline") {
		t.Fatalf("backup: %s", out)
	}
	dir := filepath.Join(t.TempDir(), "bk")
	mustRun(t, "backup", "--to", dir)
	if keys := listKeys(t, mc, target, "nightly/1/store/sealed/"); len(keys) != 2 {
		t.Fatalf("sealed outputs in the backup: %v", keys)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"backup", "--to", "s3://" + bucket + "/backups"}, exitUsage, "the store's own bucket"},
		{[]string{"backup", "--to", "s3://" + target + "/nightly/1"}, exitUsage, "not empty"},
		{[]string{"restore", "--from", "s3://" + target + "/nightly/1"}, exitUsage, "restore only into an empty store"},
		{[]string{"restore", "--from", "s3://" + target + "/nightly/2"}, exitUsage, "no backup there"},
	} {
		code, _, errs := sealpipe(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("sealpipe %s: exit %d, %s; want exit %d saying %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.want)
		}
	}

	// Lost: the bucket's objects, the PKI, the keyring, the marks.
	ctx := context.Background()
	for _, key := range listKeys(t, mc, bucket, "") {
		if err := mc.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"pki", "keys.conf", "state"} {
		if err := os.RemoveAll(filepath.Join(data, name)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("from s3", func(t *testing.T) {
		mustRun(t, "restore", "--from", "s3://"+target+"/nightly/1")
		verifyBoth(t)
		sealBatch(t, "after")
		verifyBoth(t)
	})
	t.Run("from a folder", func(t *testing.T) {
		args := []string{"--bucket", testenv.BucketName(t, s3), "--data", t.TempDir()}
		if out := mustRun(t, append(args, "restore", "--from", dir)...); !strings.Contains(out, "4 line(s) moved to this data folder") {
			t.Fatalf("restore: %s", out)
		}
		verifyBoth(t, args...)
		sealBatch(t, "elsewhere", args...)
		verifyBoth(t, args...)
	})
}
