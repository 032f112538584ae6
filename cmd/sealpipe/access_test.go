package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testenv"
)

// TestAccessUsage: the access commands refuse bad command lines and
// settings with exit 2 before asking any server, and a server that does
// not answer is a failure (exit 1).
func TestAccessUsage(t *testing.T) {
	embeddedDefaults(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	s3 := []string{"SEALPIPE_S3_ENDPOINT=" + closed, "SEALPIPE_S3_ACCESS_KEY=a", "SEALPIPE_S3_SECRET_KEY=s"}
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"grant without --dept", s3, []string{"access", "grant", "--secret-file", "f"}, exitUsage, "--dept is required"},
		{"grant without a place for the secret", s3, []string{"access", "grant", "--dept", "civil-affairs"}, exitUsage, "--secret-file FILE is required"},
		{"grant with an argument", s3, []string{"access", "grant", "civil-affairs"}, exitUsage, "takes 0 argument(s)"},
		{"grant with an unknown flag", s3, []string{"access", "grant", "--department", "x"}, exitUsage, "unknown flag"},
		{"grant climbing out", s3, []string{"access", "grant", "--dept", "../registry", "--print-secret"}, exitUsage, `invalid department name "../registry"`},
		{"grant with a wildcard", s3, []string{"access", "grant", "--dept", "civil*", "--print-secret"}, exitUsage, `invalid department name "civil*"`},
		{"grant with a space", s3, []string{"access", "grant", "--dept", "civil affairs", "--print-secret"}, exitUsage, "invalid department name"},
		{"grant without S3", nil, []string{"access", "grant", "--dept", "civil-affairs", "--print-secret"}, exitUsage, "set SEALPIPE_S3_ENDPOINT"},
		{"list without S3", nil, []string{"access", "list"}, exitUsage, "set SEALPIPE_S3_ENDPOINT"},
		{"revoke without --dept", s3, []string{"access", "revoke"}, exitUsage, "--dept is required"},
		{"revoke a bad name", s3, []string{"access", "revoke", "--dept", ".hidden"}, exitUsage, "invalid department name"},
		{"list, server down", s3, []string{"access", "list"}, exitFailed, "list-users"},
		{"revoke, server down", s3, []string{"access", "revoke", "--dept", "civil-affairs"}, exitFailed, "remove-user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, kv := range tt.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			code, out, errs := sealpipe(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(errs, tt.wantErr) {
				t.Errorf("sealpipe %s: exit %d, stderr %q; want exit %d and %q\n%s", strings.Join(tt.args, " "), code, errs, tt.wantCode, tt.wantErr, out)
			}
		})
	}
}

// accessEnv points the CLI at the MinIO of `make services-up`, with a
// fresh bucket (made by the CLI, removed when t ends) and data folder and
// an in-process Redis, and returns the bucket, the service's client and
// the MinIO settings.
func accessEnv(t *testing.T) (string, *minio.Client, testenv.S3) {
	t.Helper()
	s3 := testenv.MinIO(t)
	embeddedDefaults(t)
	bucket := testenv.BucketName(t, s3)
	for k, v := range map[string]string{
		"SEALPIPE_DATA":           t.TempDir(),
		"SEALPIPE_BUCKET":         bucket,
		"SEALPIPE_KEY_PASSPHRASE": "access passphrase",
		"SEALPIPE_S3_ENDPOINT":    s3.Endpoint,
		"SEALPIPE_S3_ACCESS_KEY":  s3.AccessKey,
		"SEALPIPE_S3_SECRET_KEY":  s3.SecretKey,
		"SEALPIPE_S3_REGION":      s3.Region,
	} {
		t.Setenv(k, v)
	}
	root, err := minio.New(s3.Host(), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Secure: s3.Secure(), Region: s3.Region})
	if err != nil {
		t.Fatal(err)
	}
	return bucket, root, s3
}

// TestAccessLifecycle is item 6 of issue 7 end to end, through the CLI: a
// department granted with `access grant` uploads batches into its inbox
// with rclone, s3cmd and minio-go; `run --once` seals them; the department
// reads its own outputs and cannot write anything but its inbox nor read
// another department's outputs; granting again keeps its secret key,
// --rotate replaces it, and `access revoke` makes it fail.
func TestAccessLifecycle(t *testing.T) {
	bucket, root, s3 := accessEnv(t)
	ctx := context.Background()
	const dept, other, seal = demo.Department, "records-office", "33010200000041"
	secretFile := filepath.Join(t.TempDir(), "dept.secret")

	out := mustRun(t, "access", "grant", "--dept", dept, "--secret-file", secretFile)
	secret := readSecret(t, secretFile)
	accessKey := "sealpipe_" + bucket + "_" + dept
	if !strings.Contains(out, "access key: "+accessKey) || strings.Contains(out, secret) {
		t.Fatalf("access grant printed:\n%s\nwant the access key %s and not the secret key", out, accessKey)
	}
	t.Cleanup(func() { sealpipe(t, "access", "revoke", "--dept", dept) })
	deptS3 := s3
	deptS3.AccessKey, deptS3.SecretKey = accessKey, secret
	client := func(secret string) *minio.Client {
		c, err := minio.New(s3.Host(), &minio.Options{Creds: credentials.NewStaticV4(accessKey, secret, ""), Secure: s3.Secure(), Region: s3.Region, MaxRetries: 1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mc := client(secret)

	// Batches of the department, uploaded with its credentials, and one
	// of another department, uploaded by the service.
	mustRun(t, "ca", "init")
	mustRun(t, "seals", "make", "--unit", "civil-affairs", "--code", seal, "--purpose", "业务专用章", "--approver", demo.Approver)
	t.Setenv("RCLONE_S3_NO_CHECK_BUCKET", "true") // a department may not create buckets
	uploads := []struct {
		batch  string
		upload func(dir, prefix string)
	}{
		{"by-rclone", func(dir, prefix string) { rclone(t, deptS3, bucket, dir, prefix) }},
		{"by-s3cmd", func(dir, prefix string) { s3cmd(t, deptS3, bucket, dir, prefix) }},
		{"by-minio-go", func(dir, prefix string) { minioUpload(t, mc, bucket, dir, prefix) }},
	}
	for _, u := range uploads {
		dir := filepath.Join(t.TempDir(), u.batch)
		mustRun(t, "batch", "make", "--docs", "2", "--out", dir, "--dept", dept, "--batch", u.batch, "--seal", seal)
		u.upload(dir, "inbox/"+dept+"/"+u.batch+"/")
	}
	dir := filepath.Join(t.TempDir(), "theirs")
	mustRun(t, "batch", "make", "--docs", "2", "--bad", "--out", dir, "--dept", other, "--batch", "theirs", "--seal", seal)
	minioUpload(t, root, bucket, dir, "inbox/"+other+"/theirs/")

	// The other department's batch is all refused (its approver may not
	// approve for it): run --once exits 1 for it.
	res := runOnceExit(t, exitFailed)
	outcomes := map[string]int{}
	for _, r := range res {
		outcomes[r.Batch] = r.Sealed + r.Rejected
	}
	for _, b := range []string{dept + "/by-rclone", dept + "/by-s3cmd", dept + "/by-minio-go", other + "/theirs"} {
		if outcomes[b] == 0 {
			t.Fatalf("run --once: %+v; want outcomes for %s", res, b)
		}
	}

	// What the department reaches now that there are outputs.
	ownSealed := listKeys(t, root, bucket, "sealed/"+dept+"/by-rclone/")
	ownReports := listKeys(t, root, bucket, "reports/"+dept+"/by-s3cmd/")
	theirs := append(listKeys(t, root, bucket, "sealed/"+other+"/"), listKeys(t, root, bucket, "rejected/"+other+"/")...)
	theirs = append(theirs, listKeys(t, root, bucket, "reports/"+other+"/")...)
	if len(ownSealed) == 0 || len(ownReports) == 0 || len(theirs) == 0 {
		t.Fatalf("outputs: own sealed %v, own reports %v, theirs %v", ownSealed, ownReports, theirs)
	}
	type reach struct {
		what    string
		allowed bool
		do      func() error
	}
	get := func(key string) func() error {
		return func() error {
			obj, err := mc.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
			if err != nil {
				return err
			}
			defer obj.Close()
			_, err = io.Copy(io.Discard, obj)
			return err
		}
	}
	put := func(key string) func() error {
		return func() error {
			_, err := mc.PutObject(ctx, bucket, key, bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
			return err
		}
	}
	list := func(prefix string) func() error {
		return func() error {
			ctx, stop := context.WithCancel(ctx) // ends the listing left after the first object
			defer stop()
			for obj := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
				return obj.Err
			}
			return nil
		}
	}
	reaches := []reach{
		{"read own sealed " + ownSealed[0], true, get(ownSealed[0])},
		{"read own report " + ownReports[0], true, get(ownReports[0])},
		{"list own sealed", true, list("sealed/" + dept + "/")},
		{"upload another batch", true, put("inbox/" + dept + "/later/doc.pdf")},
		{"write registry", false, put("registry/seals/" + seal + "/record.json")},
		{"write audit", false, put("audit/" + seal + "/" + dept + "/by-rclone/x.json")},
		{"write own sealed", false, put(ownSealed[0])},
		{"write own reports", false, put(ownReports[0])},
		{"write own rejected", false, put("rejected/" + dept + "/by-rclone/x.json")},
		{"write other inbox", false, put("inbox/" + other + "/theirs/doc.pdf")},
		{"list other sealed", false, list("sealed/" + other + "/")},
	}
	for _, key := range theirs {
		reaches = append(reaches, reach{"read " + key, false, get(key)})
	}
	for _, r := range reaches {
		err := r.do()
		if allowed := err == nil; allowed != r.allowed || err != nil && minio.ToErrorResponse(err).Code != "AccessDenied" {
			t.Errorf("%s: %v; want allowed %v (or AccessDenied)", r.what, err, r.allowed)
		}
	}

	// The list, granting again, rotating, revoking.
	out = mustRun(t, "access", "list")
	if !strings.Contains(out, dept) || !strings.Contains(out, accessKey) || !strings.Contains(out, "enabled") {
		t.Fatalf("access list:\n%s", out)
	}
	out = mustRun(t, "access", "grant", "--dept", dept, "--secret-file", secretFile)
	if !strings.Contains(out, "secret key: unchanged") || readSecret(t, secretFile) != secret {
		t.Fatalf("grant again:\n%s\nwant the secret key unchanged", out)
	}
	if err := put("inbox/" + dept + "/again/doc.pdf")(); err != nil {
		t.Fatalf("after granting again: %v", err)
	}
	var rotated engine.AccessGrant
	out = mustRun(t, "--json", "access", "grant", "--dept", dept, "--secret-file", secretFile, "--rotate", "--print-secret")
	if err := json.Unmarshal([]byte(out), &rotated); err != nil {
		t.Fatal(err)
	}
	if !rotated.SecretIssued || rotated.Created || rotated.SecretKey == secret || rotated.SecretKey != readSecret(t, secretFile) {
		t.Fatalf("grant --rotate --print-secret: %+v; want a new secret key, printed and in the file", rotated)
	}
	if err := put("inbox/" + dept + "/old-key/doc.pdf")(); err == nil {
		t.Fatal("the old secret key works after --rotate")
	}
	mc = client(rotated.SecretKey)
	if err := put("inbox/" + dept + "/new-key/doc.pdf")(); err != nil {
		t.Fatalf("the rotated secret key: %v", err)
	}

	out = mustRun(t, "access", "revoke", "--dept", dept)
	if !strings.Contains(out, accessKey) {
		t.Fatalf("access revoke: %s", out)
	}
	err := put("inbox/" + dept + "/revoked/doc.pdf")()
	if code := minio.ToErrorResponse(err).Code; code != "InvalidAccessKeyId" {
		t.Fatalf("upload after revoke: %v (code %q); want InvalidAccessKeyId", err, code)
	}
	if code, _, errs := sealpipe(t, "access", "revoke", "--dept", dept); code != exitFailed || !strings.Contains(errs, "has no access") {
		t.Fatalf("revoke again: exit %d, %s; want 1, has no access", code, errs)
	}
	if out := mustRun(t, "--json", "access", "list"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("access list after revoke: %s", out)
	}
}

// readSecret returns the secret key in file, after checking that only its
// owner may read it.
func readSecret(t *testing.T, file string) string {
	t.Helper()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", file, fi.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := strings.CutSuffix(string(b), "\n")
	if !ok || len(s) != 40 {
		t.Fatalf("%s holds %q, want a 40-character secret key and a newline", file, b)
	}
	return s
}
