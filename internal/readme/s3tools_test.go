package readme

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// TestS3ToolConfigs runs README.md's upload command blocks, each with the
// tool's configuration `make services-up` wrote, as the department user,
// against the real MinIO: every file of a batch arrives unchanged, the
// approval signature last. rclone and s3cmd are required (make deps
// installs them: missing, the test is skipped, or fails under CI); the AWS
// CLI and mc are tried when installed.
func TestS3ToolConfigs(t *testing.T) {
	s3, tools := testenv.MinIOTools(t)
	blocks := uploadBlocks(t)
	for _, want := range []string{"rclone", "s3cmd", "aws", "mc"} {
		if blocks[want] == "" {
			t.Errorf("README.md has no upload block for %s", want)
		}
	}
	root, err := minio.New(s3.Host(), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Secure: s3.Secure(), Region: s3.Region})
	if err != nil {
		t.Fatal(err)
	}
	for tool, block := range blocks {
		t.Run(tool, func(t *testing.T) {
			if _, err := exec.LookPath(tool); err != nil {
				if tool == "rclone" || tool == "s3cmd" {
					testenv.Missing(t, "%s is not installed (make deps installs it)", tool)
				}
				t.Skipf("%s is not installed", tool)
			}
			if _, err := os.Stat(filepath.Join(tools.Dir, map[string]string{
				"rclone": "rclone.conf", "s3cmd": "s3cfg", "aws": "aws-config", "mc": "mc/config.json",
			}[tool])); err != nil {
				t.Fatalf("services.sh up wrote no configuration for %s, which is installed: %v (run `make services-up` again)", tool, err)
			}
			batch := fmt.Sprintf("s3tools-%s-%s", tool, randomHex(t, 6))
			prefix := "inbox/" + s3.Dept.Name + "/" + batch + "/"
			t.Cleanup(func() { removePrefix(t, root, s3.Dept.Bucket, prefix) })

			dir := filepath.Join(t.TempDir(), "batch-001")
			files := map[string][]byte{}
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"cert-00001.pdf", "cert-00002.pdf", "cert-00003.ofd", "approval.json", "approval.json.p7s"} {
				files[n] = []byte(n + " " + randomHex(t, 16))
				if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
					t.Fatal(err)
				}
			}
			script := strings.NewReplacer("./batch-001", dir, "2026-11-24-001", batch).Replace(block)
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
			cmd.Dir = t.TempDir()
			cmd.Env = append(os.Environ(), "SEALPIPE_TOOLS_DIR="+tools.Dir, "SEALPIPE_DEPT_REMOTE="+tools.Remote,
				"HOME="+t.TempDir()) // no configuration of the user's own
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("README.md's %s block: %v\n%s\n%s", tool, err, script, out)
			}

			ctx := context.Background()
			got := map[string]minio.ObjectInfo{}
			for o := range root.ListObjects(ctx, s3.Dept.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				got[strings.TrimPrefix(o.Key, prefix)] = o
			}
			if len(got) != len(files) {
				t.Fatalf("%s uploaded %d object(s) under %s, want the batch's %d", tool, len(got), prefix, len(files))
			}
			for n, want := range files {
				obj, err := root.GetObject(ctx, s3.Dept.Bucket, prefix+n, minio.GetObjectOptions{})
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(obj)
				obj.Close()
				if err != nil || !bytes.Equal(b, want) {
					t.Errorf("%s%s: got %q (%v), want %q", prefix, n, b, err, want)
				}
			}
			// MinIO keeps modification times to the millisecond: the
			// approval is uploaded by a later command than the documents.
			sig := got["approval.json.p7s"].LastModified
			for n, o := range got {
				if n != "approval.json.p7s" && o.LastModified.After(sig) {
					t.Errorf("%s arrived after approval.json.p7s (%s > %s): the approval must come last", n, o.LastModified, sig)
				}
			}
		})
	}
}

// removePrefix deletes the objects under prefix, and any record a running
// pipeline made of the batch, with the root credentials.
func removePrefix(t *testing.T, mc *minio.Client, bucket, inbox string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rest := strings.TrimPrefix(inbox, "inbox/")
	for _, p := range []string{inbox, "reports/" + rest, "rejected/" + rest, "sealed/" + rest} {
		for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: p, Recursive: true}) {
			if o.Err != nil {
				t.Errorf("cleanup: listing %s: %v", p, o.Err)
				break
			}
			if err := mc.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
				t.Errorf("cleanup: removing %s: %v", o.Key, err)
			}
		}
	}
}

// uploadBlocks returns README.md's upload commands, one shell block per
// tool between the upload-tools markers, by the tool each block's first
// comment names ("# rclone …" → "rclone").
func uploadBlocks(t *testing.T) map[string]string {
	t.Helper()
	root, ok := testenv.ModuleRoot()
	if !ok {
		t.Fatal("module root not found")
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok1 := strings.Cut(string(b), "<!-- upload-tools")
	section, _, ok2 := strings.Cut(rest, "<!-- /upload-tools -->")
	if !ok1 || !ok2 {
		t.Fatal("README.md: no <!-- upload-tools --> … <!-- /upload-tools --> section")
	}
	blocks := map[string]string{}
	for _, b := range shellBlocks("README.md", section) {
		tool := commentTool(b)
		if tool == "" {
			t.Fatalf("README.md: an upload block does not start with a comment naming its tool:\n%s", b.body)
		}
		blocks[tool] = b.body
	}
	return blocks
}

// randomHex returns n random bytes in hex.
func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
