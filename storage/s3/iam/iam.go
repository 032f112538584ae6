// Package iam gives each department its own MinIO user, limited by a
// policy to its own folders of the bucket: it may upload to
// inbox/<dept>/, and read and list inbox/<dept>/, sealed/<dept>/,
// reports/<dept>/ and rejected/<dept>/; nothing else (see Policy). The
// service's own identity alone writes the rest.
//
// It speaks the few calls of MinIO's admin API (/minio/admin/v3) it needs
// itself — add-canned-policy, user-info, add-user, set-user-status,
// set-user-or-group-policy, list-users, info-canned-policy, remove-user,
// remove-canned-policy — signed with Signature V4 by minio-go's signer,
// with the credential payloads encrypted as the API requires (Argon2id and
// AES-256-GCM in a sio stream). MinIO's own Go admin client,
// github.com/minio/madmin-go, is under the GNU AGPL, which would extend to
// the sealpipe binary that links it; this package stays under
// permissive licences (minio-go: Apache 2.0, sio-go: MIT, x/crypto: BSD).
// It is tested against the MinIO release deploy/local/services.sh builds.
//
// # Names
//
// The user (its access key) and the policy of department D in bucket B
// are both named "sealpipe_B_D" (UserName): bucket names hold no '_', so
// the name says which bucket and department it is for, and one MinIO
// server can serve several sealpipe buckets. Granting again updates the
// policy and keeps the user's secret key unless asked to rotate it;
// revoking removes both.
package iam

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ErrNotGranted reports a department that has no user in the bucket.
var ErrNotGranted = errors.New("iam: department has no access")

// namePrefix begins every user and policy name this package makes.
const namePrefix = "sealpipe_"

// UserName returns the name of the MinIO user, which is its access key,
// and of the policy of department dept in bucket.
func UserName(bucket, dept string) string { return namePrefix + bucket + "_" + dept }

// Config says how to reach MinIO's admin API.
type Config struct {
	// Endpoint is the server's host and port, or an http:// or https://
	// URL of its root, as for storage/s3.
	Endpoint string
	// AccessKey and SecretKey are an identity allowed to manage users
	// and policies, such as MinIO's root user.
	AccessKey, SecretKey string
	// Region signs the requests. Empty means "us-east-1", MinIO's default.
	Region string
	// Secure uses HTTPS; an https:// Endpoint implies it.
	Secure bool
	// Timeout bounds each request. Zero means DefaultTimeout.
	Timeout time.Duration
	// Transport, if set, carries the requests (custom TLS roots,
	// proxies, tests).
	Transport http.RoundTripper
}

// Admin manages department users and policies on one MinIO server. It is
// safe for concurrent use.
type Admin struct {
	scheme, host         string
	accessKey, secretKey string
	region               string
	timeout              time.Duration
	client               *http.Client
}

// New returns an Admin for cfg. It sends nothing yet.
func New(cfg Config) (*Admin, error) {
	scheme, host := "http", cfg.Endpoint
	if cfg.Secure {
		scheme = "https"
	}
	if s, rest, ok := strings.Cut(cfg.Endpoint, "://"); ok {
		if s != "http" && s != "https" || s == "http" && cfg.Secure {
			return nil, fmt.Errorf("iam: endpoint %q: want http://, https:// (or Secure) or host:port", cfg.Endpoint)
		}
		scheme, host = s, strings.TrimSuffix(rest, "/")
	}
	if u, err := url.Parse(scheme + "://" + host); err != nil || u.Host != host || host == "" {
		return nil, fmt.Errorf("iam: endpoint %q: want host[:port]", cfg.Endpoint)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("iam: the admin access key and secret key are required")
	}
	a := &Admin{
		scheme: scheme, host: host,
		accessKey: cfg.AccessKey, secretKey: cfg.SecretKey,
		region: cfg.Region, timeout: cfg.Timeout,
		client: newHTTPClient(cfg.Transport),
	}
	if a.region == "" {
		a.region = "us-east-1"
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	return a, nil
}

// Department is a department's user in a bucket.
type Department struct {
	Bucket     string `json:"bucket"`
	Department string `json:"department"`
	AccessKey  string `json:"access_key"`
	Policy     string `json:"policy"` // the policy the user has, normally AccessKey
	Enabled    bool   `json:"enabled"`
}

// GrantOptions adjust Grant.
type GrantOptions struct {
	// SecretKey is the secret key to give the user if one is issued (a
	// new user, or Rotate). Empty means a random one (NewSecretKey).
	SecretKey string
	// Rotate issues a new secret key to a user that exists already.
	Rotate bool
}

// Granted is what Grant did.
type Granted struct {
	Department
	// Created is set when the user did not exist.
	Created bool `json:"created"`
	// SecretKey is the secret key issued now (a new user, or Rotate);
	// empty when the existing user keeps its own.
	SecretKey string `json:"-"`
}

// Grant gives department dept access to its folders of bucket: it writes
// the department's policy (Policy), creates its user if there is none
// (or gives it a new secret key, with Rotate), enables it, and makes that
// policy the user's only one. Granting again is harmless: the policy and
// the mapping are set to what they should be and the secret key stays.
func (a *Admin) Grant(ctx context.Context, bucket, dept string, opts GrantOptions) (Granted, error) {
	doc, err := Policy(bucket, dept)
	if err != nil {
		return Granted{}, err
	}
	name := UserName(bucket, dept)
	g := Granted{Department: Department{Bucket: bucket, Department: dept, AccessKey: name, Policy: name, Enabled: true}}
	if _, err := a.call(ctx, http.MethodPut, "add-canned-policy", url.Values{"name": {name}}, doc.JSON()); err != nil {
		return Granted{}, err
	}
	info, err := a.userInfo(ctx, name)
	switch {
	case hasCode(err, codeNoSuchUser):
		g.Created = true
	case err != nil:
		return Granted{}, err
	}
	if g.Created || opts.Rotate {
		secret := opts.SecretKey
		if secret == "" {
			if secret, err = NewSecretKey(); err != nil {
				return Granted{}, err
			}
		}
		if err := a.setUser(ctx, name, secret); err != nil {
			return Granted{}, err
		}
		g.SecretKey = secret
	} else if info.Status != statusEnabled {
		q := url.Values{"accessKey": {name}, "status": {statusEnabled}}
		if _, err := a.call(ctx, http.MethodPut, "set-user-status", q, nil); err != nil {
			return Granted{}, err
		}
	}
	q := url.Values{"policyName": {name}, "userOrGroup": {name}, "isGroup": {"false"}}
	if _, err := a.call(ctx, http.MethodPut, "set-user-or-group-policy", q, nil); err != nil {
		return Granted{}, err
	}
	return g, nil
}

// List returns the departments that have a user in bucket, by name.
func (a *Admin) List(ctx context.Context, bucket string) ([]Department, error) {
	if err := checkNames(bucket, "x"); err != nil {
		return nil, err
	}
	answer, err := a.call(ctx, http.MethodGet, "list-users", nil, nil)
	if err != nil {
		return nil, err
	}
	plain, err := open(a.secretKey, answer)
	if err != nil {
		return nil, err
	}
	var users map[string]userInfo
	if err := json.Unmarshal(plain, &users); err != nil {
		return nil, fmt.Errorf("iam: list-users: %w", err)
	}
	out := []Department{}
	prefix := namePrefix + bucket + "_"
	for name, u := range users {
		dept, ok := strings.CutPrefix(name, prefix)
		if !ok || dept == "" {
			continue
		}
		out = append(out, Department{Bucket: bucket, Department: dept, AccessKey: name, Policy: u.PolicyName, Enabled: u.Status == statusEnabled})
	}
	slices.SortFunc(out, func(x, y Department) int { return strings.Compare(x.Department, y.Department) })
	return out, nil
}

// Revoke removes department dept's user from bucket, which makes its
// credentials fail at once, and then its policy. A department with
// neither is an error wrapping ErrNotGranted.
func (a *Admin) Revoke(ctx context.Context, bucket, dept string) error {
	if err := checkNames(bucket, dept); err != nil {
		return err
	}
	name := UserName(bucket, dept)
	_, err := a.call(ctx, http.MethodDelete, "remove-user", url.Values{"accessKey": {name}}, nil)
	noUser := hasCode(err, codeNoSuchUser)
	if err != nil && !noUser {
		return err
	}
	_, err = a.call(ctx, http.MethodGet, "info-canned-policy", url.Values{"name": {name}, "v": {"2"}}, nil)
	noPolicy := hasCode(err, codeNoSuchPolicy)
	switch {
	case err != nil && !noPolicy:
		return err
	case noUser && noPolicy:
		return fmt.Errorf("%w: department %q in bucket %q (no user %s)", ErrNotGranted, dept, bucket, name)
	case noPolicy:
		return nil
	}
	_, err = a.call(ctx, http.MethodDelete, "remove-canned-policy", url.Values{"name": {name}}, nil)
	return err
}

// NewSecretKey returns a random secret key: 40 hexadecimal digits (160
// bits), the longest MinIO accepts.
func NewSecretKey() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("iam: generating a secret key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

const statusEnabled = "enabled"

// userInfo is the part of MinIO's description of a user this package reads.
type userInfo struct {
	PolicyName string `json:"policyName"`
	Status     string `json:"status"`
}

func (a *Admin) userInfo(ctx context.Context, name string) (userInfo, error) {
	answer, err := a.call(ctx, http.MethodGet, "user-info", url.Values{"accessKey": {name}}, nil)
	if err != nil {
		return userInfo{}, err
	}
	var u userInfo
	if err := json.Unmarshal(answer, &u); err != nil {
		return userInfo{}, fmt.Errorf("iam: user-info: %w", err)
	}
	return u, nil
}

// setUser creates the user, or sets its secret key, enabled.
func (a *Admin) setUser(ctx context.Context, name, secret string) error {
	body, err := json.Marshal(struct {
		SecretKey string `json:"secretKey"`
		Status    string `json:"status"`
	}{secret, statusEnabled})
	if err != nil {
		return err
	}
	payload, err := seal(a.secretKey, body)
	if err != nil {
		return err
	}
	_, err = a.call(ctx, http.MethodPut, "add-user", url.Values{"accessKey": {name}}, payload)
	return err
}
