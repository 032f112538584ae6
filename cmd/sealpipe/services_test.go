package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/testenv"
)

// servicesEnv points the CLI at the services `make services-up` started:
// MinIO (a fresh bucket, removed when t ends), Redis and the SoftHSM2
// token. It returns the bucket, a minio-go client, the MinIO settings and
// the PKCS#11 settings.
//
// Every other setting is cleared first, so the CLI sees the same under
// `make test`, which exports .services.env, as under a plain `go test`. In
// particular SEALPIPE_S3_EVENTS_ARN stays unset: with it, `run` would
// subscribe the bucket to the bucket-events list that other packages'
// tests consume and check (testenv.ExclusiveEvents).
func servicesEnv(t testing.TB) (string, *minio.Client, testenv.S3, testenv.PKCS11) {
	t.Helper()
	s3 := testenv.MinIO(t)
	redisAddr := testenv.Redis(t)
	hsm := testenv.SoftHSM(t)
	embeddedDefaults(t)
	bucket := testenv.Bucket(t, s3)
	for k, v := range map[string]string{
		"SEALPIPE_DATA":           t.TempDir(),
		"SEALPIPE_BUCKET":         bucket,
		"SEALPIPE_KEY_PASSPHRASE": "integration passphrase",
		"SEALPIPE_S3_ENDPOINT":    s3.Endpoint,
		"SEALPIPE_S3_ACCESS_KEY":  s3.AccessKey,
		"SEALPIPE_S3_SECRET_KEY":  s3.SecretKey,
		"SEALPIPE_S3_REGION":      s3.Region,
		"SEALPIPE_REDIS_ADDR":     redisAddr,
		"SEALPIPE_PKCS11_MODULE":  hsm.Module,
		"SOFTHSM2_CONF":           hsm.Conf,
	} {
		t.Setenv(k, v)
	}
	mc, err := minio.New(s3.Host(), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Secure: s3.Secure(), Region: s3.Region})
	if err != nil {
		t.Fatal(err)
	}
	return bucket, mc, s3, hsm
}

// hsmKey generates an ECDSA P-256 key pair in the SoftHSM2 token, deleted
// when t ends, and returns its pkcs11: URI.
func hsmKey(t *testing.T, hsm testenv.PKCS11) string {
	t.Helper()
	label := testenv.KeyPair(t, hsm, "EC:prime256v1")
	// The PIN goes in a file: the registry, kept in the bucket, refuses
	// key URIs that carry one.
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(hsm.PIN), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("pkcs11:token=%s;object=%s?module-path=%s&pin-source=file:%s", hsm.Token, label, hsm.Module, pinFile)
}

// TestRunWithServices is the end-to-end path on real parts: a seal
// whose key lives in SoftHSM2, a batch made by `sealpipe batch make` and
// uploaded into MinIO by rclone, s3cmd and minio-go in turn, sealed by
// `sealpipe run --once` through Redis-backed Asynq — each document exactly
// once, with reports in the bucket.
func TestRunWithServices(t *testing.T) {
	bucket, mc, s3, hsm := servicesEnv(t)
	ctx := context.Background()
	uri := hsmKey(t, hsm)

	mustRun(t, "ca", "init")
	mustRun(t, "seals", "make", "--unit", "hsm-unit", "--unit-name", "某某县民政局", "--signer-key", uri, "--dept", demo.Department,
		"--code", "33010200000077", "--purpose", "业务专用章", "--approver", demo.Approver)

	uploaders := []struct {
		name   string
		upload func(t *testing.T, dir, prefix string)
	}{
		{"rclone", func(t *testing.T, dir, prefix string) { rclone(t, s3, bucket, dir, prefix) }},
		{"s3cmd", func(t *testing.T, dir, prefix string) { s3cmd(t, s3, bucket, dir, prefix) }},
		{"minio-go", func(t *testing.T, dir, prefix string) { minioUpload(t, mc, bucket, dir, prefix) }},
	}
	for _, u := range uploaders {
		t.Run(u.name, func(t *testing.T) {
			batch := "b-" + u.name
			dir := filepath.Join(t.TempDir(), batch)
			mustRun(t, "batch", "make", "--docs", "3", "--bad", "--out", dir, "--batch", batch, "--seal", "33010200000077")
			prefix := "inbox/" + demo.Department + "/" + batch + "/"
			u.upload(t, dir, prefix)

			out := mustRun(t, "--json", "run", "--once", "--timeout", "3m")
			if !strings.Contains(out, `"batch": "`+demo.Department+`/`+batch+`"`) || !strings.Contains(out, `"sealed": 3`) || !strings.Contains(out, `"rejected": 2`) {
				t.Fatalf("run --once: %s", out)
			}
			sealed := listKeys(t, mc, bucket, "sealed/"+demo.Department+"/"+batch+"/")
			reports := listKeys(t, mc, bucket, "reports/"+demo.Department+"/"+batch+"/")
			// For 3 documents and the batch: the JSON report, an HTML page and a PDF file.
			if len(sealed) != 3 || len(reports) != 3*4 {
				t.Fatalf("sealed %v, reports %v", sealed, reports)
			}
			// Again: nothing new is sealed.
			etags := etagsOf(t, mc, bucket, sealed)
			mustRun(t, "run", "--once", "--timeout", "1m")
			if again := etagsOf(t, mc, bucket, sealed); fmt.Sprint(again) != fmt.Sprint(etags) {
				t.Fatal("a second run changed sealed outputs")
			}
			// The sealed document verifies (ECDSA P-256 key from the HSM, CMS follows it).
			obj, err := mc.GetObject(ctx, bucket, sealed[0], minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			local := filepath.Join(t.TempDir(), "sealed.pdf")
			if err := mc.FGetObject(ctx, bucket, sealed[0], local, minio.GetObjectOptions{}); err != nil {
				t.Fatal(err)
			}
			obj.Close()
			if code, out, errs := sealpipe(t, "verify", local); code != exitOK {
				t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
			}
		})
	}
}

func mustRun(t testing.TB, args ...string) string {
	t.Helper()
	code, out, errs := sealpipe(t, args...)
	if code != exitOK {
		t.Fatalf("sealpipe %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// uploadOrder lists a batch folder's files in upload order: documents
// first, the approval and then its signature last (the commit point).
func uploadOrder(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, e := range entries {
		if n := e.Name(); n != "approval.json" && n != "approval.json.p7s" {
			docs = append(docs, n)
		}
	}
	return append(docs, "approval.json", "approval.json.p7s")
}

func rclone(t *testing.T, s3 testenv.S3, bucket, dir, prefix string) {
	t.Helper()
	tool := testenv.Tool(t, "rclone")
	conf := filepath.Join(t.TempDir(), "rclone.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[minio]\ntype = s3\nprovider = Minio\naccess_key_id = %s\nsecret_access_key = %s\nendpoint = %s\nregion = %s\n",
		s3.AccessKey, s3.SecretKey, s3.Endpoint, s3.Region)), 0o600)
	for _, n := range uploadOrder(t, dir) {
		cmd := exec.Command(tool, "--config", conf, "copyto", filepath.Join(dir, n), "minio:"+bucket+"/"+prefix+n)
		cmd.Env = withoutEnv("AWS_CA_BUNDLE") // set on this machine; breaks rclone
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("rclone copyto %s: %v\n%s", n, err, out)
		}
	}
}

func s3cmd(t *testing.T, s3 testenv.S3, bucket, dir, prefix string) {
	t.Helper()
	tool := testenv.Tool(t, "s3cmd")
	conf := filepath.Join(t.TempDir(), "s3cfg")
	os.WriteFile(conf, []byte(fmt.Sprintf("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\nuse_https = %v\nbucket_location = %s\nsignature_v2 = False\n",
		s3.AccessKey, s3.SecretKey, s3.Host(), s3.Host(), s3.Secure(), regionOr(s3.Region))), 0o600)
	for _, n := range uploadOrder(t, dir) {
		out, err := exec.Command(tool, "-c", conf, "put", filepath.Join(dir, n), "s3://"+bucket+"/"+prefix+n).CombinedOutput()
		if err != nil {
			t.Fatalf("s3cmd put %s: %v\n%s", n, err, out)
		}
	}
}

func minioUpload(t *testing.T, mc *minio.Client, bucket, dir, prefix string) {
	t.Helper()
	for _, n := range uploadOrder(t, dir) {
		if _, err := mc.FPutObject(context.Background(), bucket, prefix+n, filepath.Join(dir, n), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func regionOr(r string) string {
	if r == "" {
		return "us-east-1"
	}
	return r
}

func withoutEnv(name string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, name+"=") {
			env = append(env, kv)
		}
	}
	return env
}

func listKeys(t *testing.T, mc *minio.Client, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	for o := range mc.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func etagsOf(t *testing.T, mc *minio.Client, bucket string, keys []string) []string {
	t.Helper()
	var out []string
	for _, k := range keys {
		info, err := mc.StatObject(context.Background(), bucket, k, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, info.ETag)
	}
	return out
}
