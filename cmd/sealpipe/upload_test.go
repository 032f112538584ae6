package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// TestBatchUploadAsDepartment uploads a batch with `sealpipe batch upload`
// to the real MinIO with the department credentials of `make
// services-up`, which may not look at the bucket: every object arrives,
// approval.json.p7s last, and the output names the department's key.
func TestBatchUploadAsDepartment(t *testing.T) {
	s3 := testenv.MinIODept(t)
	embeddedDefaults(t)
	t.Setenv("SEALPIPE_DATA", t.TempDir())
	t.Setenv("SEALPIPE_KEY_PASSPHRASE", "upload test passphrase")
	if code, _, errs := sealpipe(t, "ca", "init"); code != 0 {
		t.Fatalf("ca init: %s", errs)
	}
	batch := fmt.Sprintf("upload-%d", time.Now().UnixNano())
	dir := filepath.Join(t.TempDir(), "b")
	if code, _, errs := sealpipe(t, "batch", "make", "--docs", "2", "--out", dir, "--batch", batch, "--dept", s3.Dept.Name); code != 0 {
		t.Fatalf("batch make: %s", errs)
	}
	for k, v := range map[string]string{
		"SEALPIPE_S3_ENDPOINT": s3.Endpoint, "SEALPIPE_S3_REGION": s3.Region, "SEALPIPE_BUCKET": s3.Dept.Bucket,
		// The service's key is wrong on purpose: the department's signs.
		"SEALPIPE_S3_ACCESS_KEY": "not-used", "SEALPIPE_S3_SECRET_KEY": "not-used",
		"SEALPIPE_DEPT_ACCESS_KEY": s3.Dept.AccessKey, "SEALPIPE_DEPT_SECRET_KEY": s3.Dept.SecretKey,
	} {
		t.Setenv(k, v)
	}
	root, err := minio.New(s3.Host(), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Secure: s3.Secure(), Region: s3.Region})
	if err != nil {
		t.Fatal(err)
	}
	prefix := "inbox/" + s3.Dept.Name + "/" + batch + "/"
	t.Cleanup(func() {
		for _, k := range listKeys(t, root, s3.Dept.Bucket, prefix) {
			root.RemoveObject(context.Background(), s3.Dept.Bucket, k, minio.RemoveObjectOptions{})
		}
	})

	code, out, errs := sealpipe(t, "batch", "upload", dir)
	if code != 0 {
		t.Fatalf("batch upload: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "as the department (SEALPIPE_DEPT_ACCESS_KEY "+s3.Dept.AccessKey+")") {
		t.Errorf("batch upload does not name the department's key:\n%s", out)
	}
	keys := listKeys(t, root, s3.Dept.Bucket, prefix)
	if len(keys) != 4 {
		t.Fatalf("uploaded %v, want 2 documents and the approval", keys)
	}
	// Listings give modification times to the millisecond.
	mod := map[string]time.Time{}
	for o := range root.ListObjects(context.Background(), s3.Dept.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		mod[strings.TrimPrefix(o.Key, prefix)] = o.LastModified
	}
	for n, m := range mod {
		if n != "approval.json.p7s" && m.After(mod["approval.json.p7s"]) {
			t.Errorf("%s written after approval.json.p7s (%s > %s)", n, m, mod["approval.json.p7s"])
		}
	}
	if mod["approval.json"].After(mod["approval.json.p7s"]) {
		t.Error("approval.json written after its signature")
	}

	// Again: create-only, nothing changes.
	if code, out, errs := sealpipe(t, "batch", "upload", dir); code != 0 || strings.Count(out, "already there, unchanged") != 4 {
		t.Errorf("second batch upload: exit %d\n%s%s", code, out, errs)
	}
}
