package iam

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// lab is a fresh bucket on the MinIO of `make services-up`, with objects
// of two departments and of the service in it.
type lab struct {
	s3     testenv.S3
	admin  *Admin
	root   *minio.Client
	bucket string
	dept   string // the department under test
	other  string // another department; its name begins with dept's
}

func newLab(t *testing.T) *lab {
	t.Helper()
	s3 := testenv.MinIO(t)
	admin, err := New(Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Region: s3.Region})
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{s3: s3, admin: admin, root: client(t, s3, s3.AccessKey, s3.SecretKey)}
	l.bucket, l.dept = testenv.Bucket(t, s3), "dept-"+randomHex(t, 4)
	l.other = l.dept + "-other"       // inbox/<dept> is a prefix of inbox/<other>
	t.Cleanup(func() { l.revoke(t) }) // before the bucket's removal
	for _, d := range []string{l.dept, l.other} {
		for _, key := range []string{
			"inbox/" + d + "/b1/seed.pdf",
			"sealed/" + d + "/b1/seed.pdf",
			"reports/" + d + "/b1/seed.pdf.json",
			"rejected/" + d + "/b1/bad.pdf.json",
			"audit/33010200000001/" + d + "/b1/seed.pdf.json",
		} {
			l.put(t, l.root, key)
		}
	}
	l.put(t, l.root, "registry/seals/33010200000001/record.json")
	return l
}

func (l *lab) put(t *testing.T, c *minio.Client, key string) {
	t.Helper()
	body := []byte("object " + key)
	if _, err := c.PutObject(t.Context(), l.bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// revoke removes whatever users and policies the test left.
func (l *lab) revoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, d := range []string{l.dept, l.other} {
		if err := l.admin.Revoke(ctx, l.bucket, d); err != nil && !errors.Is(err, ErrNotGranted) {
			t.Errorf("cleanup: revoke %s: %v", d, err)
		}
	}
}

func client(t *testing.T, s3 testenv.S3, accessKey, secretKey string) *minio.Client {
	t.Helper()
	c, err := minio.New(s3.Host(), &minio.Options{
		Creds: credentials.NewStaticV4(accessKey, secretKey, ""), Secure: s3.Secure(), Region: s3.Region, MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// access is one thing a department may or may not do.
type access struct {
	name    string
	allowed bool
	do      func(ctx context.Context, c *minio.Client, l *lab) error
}

func putKey(key string) func(context.Context, *minio.Client, *lab) error {
	return func(ctx context.Context, c *minio.Client, l *lab) error {
		body := []byte("upload")
		_, err := c.PutObject(ctx, l.bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		return err
	}
}

func getKey(key string) func(context.Context, *minio.Client, *lab) error {
	return func(ctx context.Context, c *minio.Client, l *lab) error {
		obj, err := c.GetObject(ctx, l.bucket, key, minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer obj.Close()
		_, err = io.ReadAll(obj)
		return err
	}
}

func listPrefix(prefix string) func(context.Context, *minio.Client, *lab) error {
	return func(ctx context.Context, c *minio.Client, l *lab) error {
		for obj := range c.ListObjects(ctx, l.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if obj.Err != nil {
				return obj.Err
			}
		}
		return nil
	}
}

// accesses is what the department l.dept may and may not do; every row
// starts from the objects newLab puts.
func accesses(dept, other string) []access {
	own := func(top string) string { return top + "/" + dept + "/b1/" }
	theirs := func(top string) string { return top + "/" + other + "/b1/" }
	return []access{
		{"upload to own inbox", true, putKey(own("inbox") + "doc.pdf")},
		{"multipart upload to own inbox", true, func(ctx context.Context, c *minio.Client, l *lab) error {
			core := minio.Core{Client: c}
			key := own("inbox") + "multi.pdf"
			id, err := core.NewMultipartUpload(ctx, l.bucket, key, minio.PutObjectOptions{})
			if err != nil {
				return err
			}
			part, err := core.PutObjectPart(ctx, l.bucket, key, id, 1, strings.NewReader("part"), 4, minio.PutObjectPartOptions{})
			if err != nil {
				return err
			}
			_, err = core.CompleteMultipartUpload(ctx, l.bucket, key, id, []minio.CompletePart{{PartNumber: 1, ETag: part.ETag}}, minio.PutObjectOptions{})
			return err
		}},
		{"abort own multipart upload", true, func(ctx context.Context, c *minio.Client, l *lab) error {
			core := minio.Core{Client: c}
			key := own("inbox") + "aborted.pdf"
			id, err := core.NewMultipartUpload(ctx, l.bucket, key, minio.PutObjectOptions{})
			if err != nil {
				return err
			}
			return core.AbortMultipartUpload(ctx, l.bucket, key, id)
		}},
		{"read own inbox", true, getKey(own("inbox") + "seed.pdf")},
		{"read own sealed", true, getKey(own("sealed") + "seed.pdf")},
		{"read own reports", true, getKey(own("reports") + "seed.pdf.json")},
		{"read own rejected", true, getKey(own("rejected") + "bad.pdf.json")},
		{"list own inbox", true, listPrefix(own("inbox"))},
		{"list own sealed", true, listPrefix("sealed/" + dept + "/")},
		{"list own reports", true, listPrefix(own("reports"))},
		{"list own rejected", true, listPrefix(own("rejected"))},

		{"write registry", false, putKey("registry/seals/33010200000001/record.json")},
		{"write audit", false, putKey("audit/33010200000001/" + dept + "/b1/seed.pdf.json")},
		{"write own sealed", false, putKey(own("sealed") + "seed.pdf")},
		{"write own reports", false, putKey(own("reports") + "seed.pdf.json")},
		{"write own rejected", false, putKey(own("rejected") + "doc.pdf.json")},
		{"write other inbox", false, putKey(theirs("inbox") + "doc.pdf")},
		{"write inbox top", false, putKey("inbox/" + dept + ".pdf")},
		{"write outside any folder", false, putKey("doc.pdf")},
		{"read other inbox", false, getKey(theirs("inbox") + "seed.pdf")},
		{"read other sealed", false, getKey(theirs("sealed") + "seed.pdf")},
		{"read other reports", false, getKey(theirs("reports") + "seed.pdf.json")},
		{"read other rejected", false, getKey(theirs("rejected") + "bad.pdf.json")},
		{"read registry", false, getKey("registry/seals/33010200000001/record.json")},
		{"read audit", false, getKey("audit/33010200000001/" + dept + "/b1/seed.pdf.json")},
		{"copy other sealed into own inbox", false, func(ctx context.Context, c *minio.Client, l *lab) error {
			_, err := c.CopyObject(ctx,
				minio.CopyDestOptions{Bucket: l.bucket, Object: own("inbox") + "copied.pdf"},
				minio.CopySrcOptions{Bucket: l.bucket, Object: theirs("sealed") + "seed.pdf"})
			return err
		}},
		{"list other sealed", false, listPrefix(theirs("sealed"))},
		{"list without prefix", false, listPrefix("")},
		{"list inbox", false, listPrefix("inbox/")},
		{"list own name without slash", false, listPrefix("inbox/" + dept)},
		{"delete own inbox", false, func(ctx context.Context, c *minio.Client, l *lab) error {
			return c.RemoveObject(ctx, l.bucket, own("inbox")+"seed.pdf", minio.RemoveObjectOptions{})
		}},
		{"delete own sealed", false, func(ctx context.Context, c *minio.Client, l *lab) error {
			return c.RemoveObject(ctx, l.bucket, own("sealed")+"seed.pdf", minio.RemoveObjectOptions{})
		}},
		{"make the bucket public", false, func(ctx context.Context, c *minio.Client, l *lab) error {
			return c.SetBucketPolicy(ctx, l.bucket, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::`+l.bucket+`/*"]}]}`)
		}},
		{"create a bucket", false, func(ctx context.Context, c *minio.Client, l *lab) error {
			return c.MakeBucket(ctx, l.bucket+"-new", minio.MakeBucketOptions{})
		}},
	}
}

// outcome runs a and reports whether it was allowed; any failure but
// AccessDenied fails the test.
func outcome(t *testing.T, c *minio.Client, l *lab, a access) bool {
	t.Helper()
	err := a.do(t.Context(), c, l)
	if err == nil {
		return true
	}
	if code := minio.ToErrorResponse(err).Code; code != "AccessDenied" {
		t.Fatalf("%s: %v (code %q), want success or AccessDenied", a.name, err, code)
	}
	return false
}

// TestDepartmentAccess: a department's credentials from Grant reach its
// own folders as Policy says, and nothing else.
func TestDepartmentAccess(t *testing.T) {
	l := newLab(t)
	g, err := l.admin.Grant(t.Context(), l.bucket, l.dept, GrantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !g.Created || g.SecretKey == "" || g.AccessKey != UserName(l.bucket, l.dept) {
		t.Fatalf("Grant = %+v; want a new user with a secret key", g)
	}
	dept := client(t, l.s3, g.AccessKey, g.SecretKey)
	for _, a := range accesses(l.dept, l.other) {
		t.Run(a.name, func(t *testing.T) {
			if got := outcome(t, dept, l, a); got != a.allowed {
				t.Errorf("allowed = %v, want %v", got, a.allowed)
			}
		})
	}
}

// TestEveryGrantCounts: without any one statement of Policy, or any one
// action, resource or prefix of a statement, some access the department
// needs is refused: nothing is allowed for nothing.
func TestEveryGrantCounts(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	g, err := l.admin.Grant(ctx, l.bucket, l.dept, GrantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dept := client(t, l.s3, g.AccessKey, g.SecretKey)
	full, err := Policy(l.bucket, l.dept)
	if err != nil {
		t.Fatal(err)
	}
	all := accesses(l.dept, l.other)
	for _, v := range lesserPolicies(full) {
		t.Run(v.name, func(t *testing.T) {
			if _, err := l.admin.call(ctx, http.MethodPut, "add-canned-policy", url.Values{"name": {g.Policy}}, v.doc.JSON()); err != nil {
				t.Fatal(err)
			}
			var lost []string
			for _, a := range all {
				if a.allowed && !outcome(t, dept, l, a) {
					lost = append(lost, a.name)
				}
			}
			if len(lost) == 0 {
				t.Fatalf("without %s the department can still do everything it may", v.name)
			}
			t.Logf("refused: %s", strings.Join(lost, ", "))
		})
	}
}

type lesser struct {
	name string
	doc  Document
}

// lesserPolicies returns full less one statement, or less one element of
// a statement's actions, resources or condition values, each in turn.
func lesserPolicies(full Document) []lesser {
	var out []lesser
	with := func(name string, i int, st *Statement) {
		doc := full
		doc.Statement = slices.Clone(full.Statement)
		if st == nil {
			doc.Statement = slices.Delete(doc.Statement, i, i+1)
		} else {
			doc.Statement[i] = *st
		}
		out = append(out, lesser{name, doc})
	}
	for i, st := range full.Statement {
		with(st.Sid, i, nil)
		for j, a := range st.Action {
			if len(st.Action) > 1 {
				cut := st
				cut.Action = slices.Delete(slices.Clone(st.Action), j, j+1)
				with(st.Sid+" less "+a, i, &cut)
			}
		}
		for j, r := range st.Resource {
			if len(st.Resource) > 1 {
				cut := st
				cut.Resource = slices.Delete(slices.Clone(st.Resource), j, j+1)
				_, key, _ := strings.Cut(r, "/") // the object ARN less "arn:aws:s3:::<bucket>/"
				with(st.Sid+" less "+key, i, &cut)
			}
		}
		for op, keys := range st.Condition {
			for key, values := range keys {
				for j, v := range values {
					cut := st
					cut.Condition = map[string]map[string][]string{op: {key: slices.Delete(slices.Clone(values), j, j+1)}}
					with(st.Sid+" less "+key+"="+v, i, &cut)
				}
			}
		}
	}
	return out
}

// TestGrantAgainListRevoke: granting again keeps the secret key, Rotate
// replaces it, a disabled user is enabled again, List shows the
// department, and Revoke makes its credentials fail.
func TestGrantAgainListRevoke(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	upload := putKey("inbox/" + l.dept + "/b2/doc.pdf")
	first, err := l.admin.Grant(ctx, l.bucket, l.dept, GrantOptions{SecretKey: "given-secret-key-0123"})
	if err != nil {
		t.Fatal(err)
	}
	if first.SecretKey != "given-secret-key-0123" {
		t.Fatalf("Grant issued %q, want the given secret key", first.SecretKey)
	}
	works := func(secret string) error {
		return upload(ctx, client(t, l.s3, first.AccessKey, secret), l)
	}

	again, err := l.admin.Grant(ctx, l.bucket, l.dept, GrantOptions{})
	if err != nil || again.Created || again.SecretKey != "" {
		t.Fatalf("Grant again = %+v, %v; want the user kept, no secret issued", again, err)
	}
	if err := works(first.SecretKey); err != nil {
		t.Fatalf("after granting again, the first secret key: %v", err)
	}

	rotated, err := l.admin.Grant(ctx, l.bucket, l.dept, GrantOptions{Rotate: true})
	if err != nil || rotated.Created || rotated.SecretKey == "" || rotated.SecretKey == first.SecretKey {
		t.Fatalf("Grant with Rotate = %+v, %v; want a new secret key", rotated, err)
	}
	if err := works(first.SecretKey); err == nil {
		t.Fatal("the old secret key still works after Rotate")
	}
	if err := works(rotated.SecretKey); err != nil {
		t.Fatalf("the rotated secret key: %v", err)
	}

	// Disabled by hand, enabled by the next grant.
	q := url.Values{"accessKey": {first.AccessKey}, "status": {"disabled"}}
	if _, err := l.admin.call(ctx, http.MethodPut, "set-user-status", q, nil); err != nil {
		t.Fatal(err)
	}
	if err := works(rotated.SecretKey); err == nil {
		t.Fatal("a disabled user can upload")
	}
	if list, err := l.admin.List(ctx, l.bucket); err != nil || len(list) != 1 || list[0].Enabled {
		t.Fatalf("List = %+v, %v; want the department, disabled", list, err)
	}
	if _, err := l.admin.Grant(ctx, l.bucket, l.dept, GrantOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := works(rotated.SecretKey); err != nil {
		t.Fatalf("after granting a disabled user: %v", err)
	}

	list, err := l.admin.List(ctx, l.bucket)
	want := []Department{{Bucket: l.bucket, Department: l.dept, AccessKey: first.AccessKey, Policy: first.AccessKey, Enabled: true}}
	if err != nil || !slices.Equal(list, want) {
		t.Fatalf("List = %+v, %v; want %+v", list, err, want)
	}

	if err := l.admin.Revoke(ctx, l.bucket, l.dept); err != nil {
		t.Fatal(err)
	}
	err = works(rotated.SecretKey)
	if code := minio.ToErrorResponse(err).Code; code != "InvalidAccessKeyId" {
		t.Fatalf("upload after Revoke: %v (code %q), want InvalidAccessKeyId", err, code)
	}
	if list, err := l.admin.List(ctx, l.bucket); err != nil || len(list) != 0 {
		t.Fatalf("List after Revoke = %+v, %v; want none", list, err)
	}
	if err := l.admin.Revoke(ctx, l.bucket, l.dept); !errors.Is(err, ErrNotGranted) {
		t.Fatalf("Revoke again: %v, want ErrNotGranted", err)
	}
}

// TestAdminErrors: a wrong admin secret key is the server's refusal,
// quoted; an unreachable server is a plain error.
func TestAdminErrors(t *testing.T) {
	s3 := testenv.MinIO(t)
	bad, err := New(Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: "not-the-secret-key", Region: s3.Region})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.List(t.Context(), "sealpipe")
	var se *ServerError
	if !errors.As(err, &se) || se.Code != "SignatureDoesNotMatch" || se.StatusCode != http.StatusForbidden {
		t.Fatalf("List with a wrong secret key: %v; want SignatureDoesNotMatch (HTTP 403)", err)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), fmt.Sprintf("list-users: %s", se.Code)) {
		t.Errorf("error %q does not name the call and the code", err)
	}
}
