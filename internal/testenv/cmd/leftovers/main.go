// Command leftovers checks that tests leave nothing behind on the shared
// services of `make services-up`. `make test` runs it around the tests:
//
//	go run ./internal/testenv/cmd/leftovers save FILE    before them
//	go run ./internal/testenv/cmd/leftovers check FILE   after them
//
// save writes to FILE what the shared MinIO server and SoftHSM2 token
// hold: buckets, canned policies and department users (storage/s3/iam's
// sealpipe_<bucket>_<dept>, found through the policies of the same name),
// and the token's objects. check takes the same inventory again and
// fails (exit 1), naming each of them, if anything is there that was not
// in FILE: tests remove what they make (testenv.Bucket, BucketName,
// KeyPair). What `services.sh up` made — the bucket sealpipe, the
// department user and its policy, the token — is in FILE already, and so
// is whatever earlier runs left. Something of FILE that is gone is
// reported, not a failure.
//
// The services are shared: a test of another process may be running
// while check looks. So what check finds it looks for again, for up to
// -settle, and names only what is still there.
//
// The settings are read as the tests read them (testenv.Shared): from the
// environment, else from .services.env.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/storage/s3/iam"
)

const usage = `usage: leftovers save FILE
       leftovers [-settle D] check FILE`

func main() {
	settle := flag.Duration("settle", 20*time.Second, "how long check waits for what it finds to go away")
	flag.Usage = func() { fmt.Fprintln(os.Stderr, usage); flag.PrintDefaults() }
	flag.Parse()
	if flag.NArg() != 2 || flag.Arg(0) != "save" && flag.Arg(0) != "check" {
		flag.Usage()
		os.Exit(2)
	}
	s3, p, err := testenv.Shared()
	if err != nil {
		fail("the shared services: %v", err)
	}
	now := func() inventory {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		inv, err := take(ctx, s3, p)
		if err != nil {
			fail("%v", err)
		}
		return inv
	}
	file := flag.Arg(1)
	if flag.Arg(0) == "save" {
		inv := now()
		b, err := json.MarshalIndent(inv, "", "  ")
		if err == nil {
			err = os.WriteFile(file, append(b, '\n'), 0o600)
		}
		if err != nil {
			fail("%v", err)
		}
		fmt.Fprintf(os.Stderr, "leftovers: %d buckets, policies, users and token objects before the tests (%s)\n", len(inv), file)
		return
	}
	var before inventory
	b, err := os.ReadFile(file)
	if err == nil {
		err = json.Unmarshal(b, &before)
	}
	if err != nil {
		fail("the inventory taken before the tests: %v", err)
	}
	left, gone := diff(before, now())
	for deadline := time.Now().Add(*settle); len(left) > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Second)
		left, gone = diff(before, now())
	}
	for _, g := range gone {
		fmt.Fprintf(os.Stderr, "leftovers: note: %s was there before the tests and is gone\n", g)
	}
	if len(left) == 0 {
		fmt.Fprintln(os.Stderr, "leftovers: the tests left nothing on the shared services")
		return
	}
	fmt.Fprintf(os.Stderr, "leftovers: the tests left behind on the shared services (MinIO at %s, token %s) %d thing(s) that were not there before them:\n",
		s3.Endpoint, p.Token, len(left))
	for _, l := range left {
		fmt.Fprintf(os.Stderr, "  %s\n", l)
	}
	fmt.Fprintln(os.Stderr, "leftovers: a test that makes a bucket or a key pair on the shared services makes it with testenv.Bucket, BucketName or KeyPair, which remove it when the test ends")
	os.Exit(1)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "leftovers: "+format+"\n", args...)
	os.Exit(1)
}

// inventory maps each thing on the services ("bucket x", "token object
// …") to a detail that only messages show, such as when it was made.
type inventory map[string]string

// diff returns, sorted, what after has and before has not (with its
// detail), and what before has and after has not.
func diff(before, after inventory) (left, gone []string) {
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[k]; !ok {
			left = append(left, strings.TrimSpace(k+" "+after[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if _, ok := after[k]; !ok {
			gone = append(gone, k)
		}
	}
	return left, gone
}

// take lists what the shared MinIO server and token hold.
func take(ctx context.Context, s3 testenv.S3, p testenv.PKCS11) (inventory, error) {
	inv := inventory{}
	mc, err := minio.New(s3.Host(), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Secure: s3.Secure(), Region: s3.Region})
	if err != nil {
		return nil, err
	}
	buckets, err := mc.ListBuckets(ctx)
	if err != nil {
		return nil, fmt.Errorf("MinIO at %s: listing buckets: %w", s3.Endpoint, err)
	}
	for _, b := range buckets {
		inv["bucket "+b.Name] = "(made " + b.CreationDate.Local().Format(time.DateTime) + ")"
	}

	policies, err := cannedPolicies(ctx, s3)
	if err != nil {
		return nil, fmt.Errorf("MinIO at %s: listing policies: %w", s3.Endpoint, err)
	}
	admin, err := iam.New(iam.Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Region: s3.Region})
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for _, name := range policies {
		inv["MinIO policy "+name] = ""
		// sealpipe_<bucket>_<dept>: a bucket name holds no '_'.
		rest, ok := strings.CutPrefix(name, "sealpipe_")
		bucket, _, ok2 := strings.Cut(rest, "_")
		if !ok || !ok2 || listed[bucket] {
			continue
		}
		listed[bucket] = true
		users, err := admin.List(ctx, bucket)
		if err != nil && !errors.Is(err, iam.ErrInvalidName) {
			return nil, fmt.Errorf("MinIO at %s: listing the users of bucket %s: %w", s3.Endpoint, bucket, err)
		}
		for _, u := range users {
			inv["MinIO user "+u.AccessKey] = ""
		}
	}

	objects, err := tokenObjects(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("SoftHSM2 token %s: %w", p.Token, err)
	}
	for _, o := range objects {
		inv["token object: "+o] = ""
	}
	return inv, nil
}

// cannedPolicies returns the names of the server's policies, MinIO's own
// (readwrite, …) among them: its admin API's list-canned-policies, whose
// answer, unlike that of list-users, is not encrypted.
func cannedPolicies(ctx context.Context, s3 testenv.S3) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s3.Endpoint+"/minio/admin/v3/list-canned-policies", nil)
	if err != nil {
		return nil, err
	}
	empty := sha256.Sum256(nil)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(empty[:]))
	resp, err := http.DefaultClient.Do(signer.SignV4(*req, s3.AccessKey, s3.SecretKey, "", s3.Region))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, body)
	}
	var policies map[string]json.RawMessage
	if err := json.Unmarshal(body, &policies); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(policies)), nil
}

// tokenObjects returns the objects of the token, each as its kind, label
// and ID, as pkcs11-tool lists them logged in.
func tokenObjects(ctx context.Context, p testenv.PKCS11) ([]string, error) {
	cmd := exec.CommandContext(ctx, "pkcs11-tool", "--module", p.Module, "--token-label", p.Token, "--login", "--pin", p.PIN, "--list-objects")
	cmd.Env = p.Env()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pkcs11-tool --list-objects: %v\n%s", err, stderr.String())
	}
	return parseObjects(string(out)), nil
}

// parseObjects reads pkcs11-tool's --list-objects listing: each object is
// a line such as "Private Key Object; EC" and indented attribute lines,
// "label:" and "ID:" among them.
func parseObjects(listing string) []string {
	var objs []string
	var kind, label, id string
	flush := func() {
		if kind != "" {
			objs = append(objs, fmt.Sprintf("%s label=%q id=%s", kind, label, id))
		}
		kind, label, id = "", "", ""
	}
	for line := range strings.Lines(listing) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			flush()
			if head, _, _ := strings.Cut(line, ";"); strings.Contains(strings.ToLower(head), "object") {
				kind = strings.TrimSpace(strings.TrimRight(head, "0123456789 ")) // "Data object 7": no handle
			}
			continue
		}
		switch k, v, _ := strings.Cut(strings.TrimSpace(line), ":"); k {
		case "label":
			label = strings.TrimSpace(v)
		case "ID":
			id = strings.TrimSpace(v)
		}
	}
	flush()
	return objs
}
