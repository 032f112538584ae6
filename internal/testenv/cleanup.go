package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// What a test makes on the shared services of `make services-up` — a
// bucket in MinIO, a key pair in the SoftHSM2 token — outlives the test
// process, and every other package's tests see it. Tests make such things
// through Bucket, BucketName and KeyPair, which remove them when the test
// ends, and name them after the test, so that anything left behind says
// where it came from. `make test` fails if the tests left anything
// (internal/testenv/cmd/leftovers).

// cleanupTimeout bounds the removal of what one test made.
const cleanupTimeout = time.Minute

// Bucket makes a bucket of t's own on the MinIO server of s and returns
// its name; when t ends, the bucket is removed with everything in it (as
// BucketName).
func Bucket(t testing.TB, s S3) string {
	t.Helper()
	name := BucketName(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := s.client(t).MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("testenv: making bucket %s: %v", name, err)
	}
	return name
}

// BucketName returns the name of a bucket of t's own on the MinIO server
// of s, not made yet: for the code under test to make (storage/s3's
// CreateBucket, `sealpipe access grant`). When t ends the bucket, if it
// exists, is removed with its bucket notifications, every object version
// and delete marker and every incomplete multipart upload in it. A
// cleanup the test registers after BucketName runs before that removal.
func BucketName(t testing.TB, s S3) string {
	t.Helper()
	mc := s.client(t)
	name := uniqueName(t.Name())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := removeBucket(ctx, mc, name); err != nil {
			t.Errorf("testenv: removing bucket %s: %v", name, err)
		}
	})
	return name
}

// client returns a minio-go client of s with s's credentials.
func (s S3) client(t testing.TB) *minio.Client {
	t.Helper()
	mc, err := minio.New(s.Host(), &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Secure: s.Secure(), Region: s.Region})
	if err != nil {
		t.Fatalf("testenv: MinIO client for %s: %v", s.Endpoint, err)
	}
	return mc
}

// removeBucket removes bucket and all that is in it; a bucket that does
// not exist (never made, or removed by the test) is no error. A write
// that lands while it empties the bucket (a straggling worker of the
// test's) makes it empty the bucket again.
func removeBucket(ctx context.Context, mc *minio.Client, bucket string) error {
	if ok, err := mc.BucketExists(ctx, bucket); err != nil || !ok {
		return err
	}
	// No events of the removals below for other tests' bridges to take.
	if err := mc.RemoveAllBucketNotification(ctx, bucket); err != nil {
		return fmt.Errorf("removing its notifications: %w", err)
	}
	for try := 1; ; try++ {
		if err := emptyBucket(ctx, mc, bucket); err != nil {
			return err
		}
		err := mc.RemoveBucket(ctx, bucket)
		if err == nil || try == 3 || minio.ToErrorResponse(err).Code != "BucketNotEmpty" {
			return err
		}
		time.Sleep(time.Second)
	}
}

// emptyBucket removes every object version, delete marker and incomplete
// multipart upload in bucket.
func emptyBucket(ctx context.Context, mc *minio.Client, bucket string) error {
	var versions []minio.ObjectInfo
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			return fmt.Errorf("listing its objects: %w", o.Err)
		}
		versions = append(versions, o)
	}
	removed, err := mc.RemoveObjectsWithIter(ctx, bucket, slices.Values(versions), minio.RemoveObjectsOptions{GovernanceBypass: true})
	if err != nil {
		return fmt.Errorf("removing its objects: %w", err)
	}
	var errs []error
	for r := range removed {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("removing %s (version %q): %w", r.ObjectName, r.ObjectVersionID, r.Err))
		}
	}
	for u := range mc.ListIncompleteUploads(ctx, bucket, "", true) {
		if u.Err != nil {
			errs = append(errs, fmt.Errorf("listing its incomplete uploads: %w", u.Err))
			break
		}
		if err := mc.RemoveIncompleteUpload(ctx, bucket, u.Key); err != nil {
			errs = append(errs, fmt.Errorf("aborting the upload of %s: %w", u.Key, err))
		}
	}
	return errors.Join(errs...)
}

// KeyPair generates a key pair of keyType (pkcs11-tool's --key-type, such
// as "EC:prime256v1") in the token of p and returns its label, under which
// the test finds it (pkcs11:token=…;object=<label>). When t ends, its
// private and public key objects are deleted.
func KeyPair(t testing.TB, p PKCS11, keyType string) string {
	t.Helper()
	tool := Tool(t, "pkcs11-tool")
	label, id := uniqueName(t.Name()), randomID(8)
	p11 := func(args ...string) error {
		cmd := exec.Command(tool, append([]string{"--module", p.Module, "--token-label", p.Token, "--login", "--pin", p.PIN}, args...)...)
		cmd.Env = p.Env()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("pkcs11-tool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := p11("--keypairgen", "--key-type", keyType, "--label", label, "--id", id); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		for _, typ := range []string{"privkey", "pubkey"} {
			if err := p11("--delete-object", "--type", typ, "--label", label, "--id", id); err != nil {
				t.Errorf("testenv: deleting the key pair %s from token %s: %v", label, p.Token, err)
			}
		}
	})
	return label
}

// uniqueName returns a name for what a test makes on the shared services:
// the test's name in lower-case letters, digits and '-' (a bucket name,
// and a label that a pkcs11: URI takes as it is), at most 30 of them, then
// '-' and 12 random hexadecimal digits.
func uniqueName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		if b.Len() >= 30 {
			break
		}
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	name := strings.TrimSuffix(b.String(), "-")
	if name == "" {
		name = "test"
	}
	return name + "-" + randomID(6)
}

// randomID returns n random bytes in hexadecimal.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
