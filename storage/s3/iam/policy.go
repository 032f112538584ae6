package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/sealpipe/sealpipe/storage"
)

// ErrInvalidName reports a bucket or department name that cannot be put
// in a policy: an invalid bucket name, or a department name holding a
// character that a policy or a key prefix would read as more than itself.
var ErrInvalidName = errors.New("iam: invalid name")

// Document is an IAM policy in the JSON form MinIO and Amazon S3 take.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Document.
type Statement struct {
	Sid       string                         `json:"Sid"`
	Effect    string                         `json:"Effect"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// JSON encodes the document.
func (d Document) JSON() []byte {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		panic("iam: encoding a policy: " + err.Error()) // only strings inside
	}
	return b
}

// Prefixes returns the key prefixes a department of that name may read:
// its inbox and its three output folders, each ending in a slash.
func Prefixes(dept string) []string {
	return []string{
		storage.PrefixInbox + dept + "/",
		storage.PrefixSealed + dept + "/",
		storage.PrefixReports + dept + "/",
		storage.PrefixRejected + dept + "/",
	}
}

// Policy returns the policy of department dept in bucket. Everything it
// does not allow is denied:
//
//   - UploadToOwnInbox: s3:PutObject (a plain PUT, and the creation,
//     parts and completion of a multipart upload) and
//     s3:AbortMultipartUpload (a client cleaning up an upload that
//     failed) on inbox/<dept>/*.
//   - ReadOwnObjects: s3:GetObject (GET and HEAD) on inbox/<dept>/*,
//     sealed/<dept>/*, reports/<dept>/* and rejected/<dept>/*.
//   - ListOwnPrefixes: s3:ListBucket on the bucket, only for listings
//     whose prefix starts with one of those four folders (the s3:prefix
//     condition; a listing without a prefix, or of inbox/, is refused).
//
// Not even s3:GetBucketLocation is allowed: clients are configured with
// the region (minio-go takes a refusal to mean the default one). Nor is
// creating the bucket, which rclone tries unless its remote says
// no_check_bucket = true.
//
// No delete is allowed, not even in the department's own inbox: what a
// department uploaded is the record of what it submitted, a batch is
// final once its report exists, and corrections go under a new batch
// identifier. The service's own identity writes sealed/, reports/,
// rejected/, registry/ and audit/.
func Policy(bucket, dept string) (Document, error) {
	if err := checkNames(bucket, dept); err != nil {
		return Document{}, err
	}
	own := Prefixes(dept)
	objects := make([]string, len(own))
	listed := make([]string, len(own))
	for i, p := range own {
		objects[i] = objectARN(bucket, p+"*")
		listed[i] = p + "*"
	}
	return Document{
		Version: "2012-10-17",
		Statement: []Statement{
			{Sid: "UploadToOwnInbox", Effect: "Allow",
				Action:   []string{"s3:PutObject", "s3:AbortMultipartUpload"},
				Resource: []string{objectARN(bucket, storage.PrefixInbox+dept+"/*")}},
			{Sid: "ReadOwnObjects", Effect: "Allow",
				Action:   []string{"s3:GetObject"},
				Resource: objects},
			{Sid: "ListOwnPrefixes", Effect: "Allow",
				Action:    []string{"s3:ListBucket"},
				Resource:  []string{bucketARN(bucket)},
				Condition: map[string]map[string][]string{"StringLike": {"s3:prefix": listed}}},
		},
	}, nil
}

func bucketARN(bucket string) string      { return "arn:aws:s3:::" + bucket }
func objectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

// checkNames refuses names that would not mean themselves in a policy.
// Department names are expected to follow sealpipe's rule for path
// segments (letters, digits, '.', '_' and '-'); this check is the
// package's own guard on the characters that matter here: policy
// wildcards (*, ?), policy variables ($), key separators (/), MinIO's
// reserved characters in user and policy names (',', '='), spaces and
// control characters, and a leading dot (".." would climb out of the
// folder).
func checkNames(bucket, dept string) error {
	// A valid bucket name holds no '_': UserName relies on it to keep
	// bucket and department apart.
	if err := s3utils.CheckValidBucketNameStrict(bucket); err != nil {
		return fmt.Errorf("%w: bucket %q: %v", ErrInvalidName, bucket, err)
	}
	if dept == "" || dept[0] == '.' ||
		strings.ContainsFunc(dept, func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune("*?$/\\,={}[]", r) }) {
		return fmt.Errorf("%w: department %q", ErrInvalidName, dept)
	}
	return nil
}
