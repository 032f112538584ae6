package testenv

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// TestBucketRemoved: the bucket Bucket makes is gone when its test ends,
// with every object version, delete marker and incomplete upload in it;
// a BucketName never made is no error.
func TestBucketRemoved(t *testing.T) {
	s3 := MinIO(t)
	mc := s3.client(t)
	var name string
	t.Run("make", func(t *testing.T) {
		name = Bucket(t, s3)
		ctx := t.Context()
		if err := mc.EnableVersioning(ctx, name); err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{"v1", "v2"} {
			if _, err := mc.PutObject(ctx, name, "doc.pdf", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := mc.RemoveObject(ctx, name, "doc.pdf", minio.RemoveObjectOptions{}); err != nil { // a delete marker
			t.Fatal(err)
		}
		if _, err := mc.PutObject(ctx, name, "inbox/x/approval.json", bytes.NewReader([]byte("{}")), 2, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := (minio.Core{Client: mc}).NewMultipartUpload(ctx, name, "half/uploaded.pdf", minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("never made", func(t *testing.T) { BucketName(t, s3) })
	if !strings.HasPrefix(name, "testbucketremoved-make-") {
		t.Errorf("bucket %q is not named after its test", name)
	}
	if ok, err := mc.BucketExists(t.Context(), name); err != nil || ok {
		t.Errorf("bucket %s exists = %v, %v after its test ended; want removed", name, ok, err)
	}
}

// TestKeyPairDeleted: the key pair KeyPair makes is in the token during
// its test and gone afterwards.
func TestKeyPairDeleted(t *testing.T) {
	p := SoftHSM(t)
	tool := Tool(t, "pkcs11-tool")
	list := func(t *testing.T, label string) int {
		out := pkcs11Tool(t, tool, p, "--module", p.Module, "--token-label", p.Token, "--login", "--pin", p.PIN, "--list-objects")
		return len(regexp.MustCompile(`(?m)^\s*label:\s*`+regexp.QuoteMeta(label)+`\s*$`).FindAllString(out, -1))
	}
	var label string
	t.Run("make", func(t *testing.T) {
		label = KeyPair(t, p, "EC:prime256v1")
		if n := list(t, label); n != 2 {
			t.Errorf("token %s holds %d objects labelled %s, want a private and a public key", p.Token, n, label)
		}
	})
	if n := list(t, label); n != 0 {
		t.Errorf("token %s still holds %d objects labelled %s after their test ended", p.Token, n, label)
	}
}

func TestUniqueName(t *testing.T) {
	for _, tc := range []struct{ test, prefix string }{
		{"TestRunWithServices", "testrunwithservices-"},
		{"TestConformance/PartSize=5MiB/Put_and_Get", "testconformance-partsize-5mib-"},
		{"TestX/--weird--/名前", "testx-weird-"},
	} {
		got := uniqueName(tc.test)
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(tc.prefix) + `[0-9a-f]{12}$`).MatchString(got) {
			t.Errorf("name for %s = %q, want %s and 12 hexadecimal digits", tc.test, got, tc.prefix)
		}
		if err := s3utils.CheckValidBucketNameStrict(got); err != nil {
			t.Errorf("name for %s = %q: %v", tc.test, got, err)
		}
	}
	if a, b := uniqueName("TestX"), uniqueName("TestX"); a == b {
		t.Errorf("two names for TestX are both %q", a)
	}
}
