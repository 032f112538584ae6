package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/storage/s3/iam"
)

// Department access: each department uploads with its own MinIO user,
// whose policy (package storage/s3/iam) lets it write only
// inbox/<dept>/ of the configured bucket and read only its own inbox,
// sealed/, reports/ and rejected/ folders. The service's credentials
// (SEALPIPE_S3_ACCESS_KEY) administer those users and alone write the
// rest.

// GrantSpec says which department to give access and where its secret
// key goes.
type GrantSpec struct {
	// Department follows the rule of batch path segments
	// (approval.CheckSegment).
	Department string
	// Rotate issues a new secret key to a department that has one.
	Rotate bool
	// SecretFile, if set, receives an issued secret key (mode 0600,
	// replaced whole). The file is prepared before the server is asked,
	// so a secret key is never set that could not be kept.
	SecretFile string
	// PrintSecret returns an issued secret key in the result. At least
	// one of SecretFile and PrintSecret is required.
	PrintSecret bool
}

// AccessGrant is what GrantAccess did.
type AccessGrant struct {
	Department string `json:"department"`
	Bucket     string `json:"bucket"`
	AccessKey  string `json:"access_key"`
	Policy     string `json:"policy"`
	// Created is set when the department had no user yet.
	Created bool `json:"created"`
	// SecretIssued is set when a secret key was issued (a new user, or
	// Rotate); otherwise the existing one stands.
	SecretIssued bool   `json:"secret_issued"`
	SecretFile   string `json:"secret_file,omitempty"` // where an issued secret key was written
	SecretKey    string `json:"secret_key,omitempty"`  // an issued secret key, with PrintSecret only
}

// DepartmentAccess is a department that has a user in the bucket.
type DepartmentAccess = iam.Department

// ErrNotGranted reports a department without access to revoke.
var ErrNotGranted = iam.ErrNotGranted

// ErrDepartmentName reports a department name that breaks the rule of
// batch path segments (approval.CheckSegment).
var ErrDepartmentName = errors.New("invalid department name")

// checkDepartment applies approval.CheckSegment, in words about departments.
func checkDepartment(dept string) error {
	if approval.CheckSegment("department", dept) != nil {
		return fmt.Errorf("%w %q: want 1-64 letters, digits, '.', '_' or '-', not starting with '.' (the rule of the <dept> in inbox/<dept>/<batch>/)", ErrDepartmentName, dept)
	}
	return nil
}

// GrantAccess creates or updates the department's MinIO user and policy in
// the configured bucket, creating the bucket if it is missing. An invalid
// department name is an error wrapping ErrDepartmentName; no S3
// endpoint, one wrapping ErrSettings; a secret file that cannot be
// written, an *os.PathError.
func (e *Engine) GrantAccess(ctx context.Context, spec GrantSpec) (AccessGrant, error) {
	if err := checkDepartment(spec.Department); err != nil {
		return AccessGrant{}, err
	}
	if spec.SecretFile == "" && !spec.PrintSecret {
		return AccessGrant{}, errors.New("engine: GrantAccess needs a SecretFile or PrintSecret: an issued secret key would be lost")
	}
	admin, err := e.accessAdmin()
	if err != nil {
		return AccessGrant{}, err
	}
	if _, err := e.Store(ctx); err != nil { // the bucket the policy names
		return AccessGrant{}, err
	}
	secret, err := iam.NewSecretKey()
	if err != nil {
		return AccessGrant{}, err
	}
	pending := ""
	if spec.SecretFile != "" {
		if pending, err = prepareSecretFile(spec.SecretFile, secret); err != nil {
			return AccessGrant{}, err
		}
	}
	g, err := admin.Grant(ctx, e.settings.Bucket, spec.Department, iam.GrantOptions{SecretKey: secret, Rotate: spec.Rotate})
	out := AccessGrant{
		Department: g.Department.Department, Bucket: g.Bucket, AccessKey: g.AccessKey, Policy: g.Policy,
		Created: g.Created, SecretIssued: g.SecretKey != "",
	}
	if pending != "" && (err != nil || !out.SecretIssued) {
		os.Remove(pending)
	}
	if err != nil {
		return AccessGrant{}, bucketError(fmt.Errorf("grant access to department %q in bucket %q: %w", spec.Department, e.settings.Bucket, err))
	}
	if !out.SecretIssued {
		return out, nil
	}
	if pending != "" {
		if err := os.Rename(pending, spec.SecretFile); err != nil {
			return out, fmt.Errorf("the new secret key of %s is set but not saved where asked; it is in %s: %w", g.AccessKey, pending, err)
		}
		out.SecretFile = spec.SecretFile
	}
	if spec.PrintSecret {
		out.SecretKey = g.SecretKey
	}
	return out, nil
}

// prepareSecretFile writes secret to a new file of mode 0600 beside path,
// to be renamed to path once the secret key is set, and returns its name.
func prepareSecretFile(path, secret string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return "", fmt.Errorf("secret file %s: %w", path, err)
	}
	_, err = f.WriteString(secret + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("secret file %s: %w", path, err)
	}
	return f.Name(), nil
}

// ListAccess returns the departments that have a user in the configured
// bucket.
func (e *Engine) ListAccess(ctx context.Context) ([]DepartmentAccess, error) {
	admin, err := e.accessAdmin()
	if err != nil {
		return nil, err
	}
	depts, err := admin.List(ctx, e.settings.Bucket)
	return depts, bucketError(err)
}

// RevokeAccess removes the department's user and policy from the
// configured bucket, and returns their name (the access key that stops
// working). A department without either is an error wrapping
// ErrNotGranted.
func (e *Engine) RevokeAccess(ctx context.Context, dept string) (string, error) {
	if err := checkDepartment(dept); err != nil {
		return "", err
	}
	admin, err := e.accessAdmin()
	if err != nil {
		return "", err
	}
	if err := admin.Revoke(ctx, e.settings.Bucket, dept); err != nil {
		return "", bucketError(err)
	}
	return iam.UserName(e.settings.Bucket, dept), nil
}

// bucketError makes a name package iam refuses a settings error: the
// department passed checkDepartment, so the name is the bucket's.
func bucketError(err error) error {
	if errors.Is(err, iam.ErrInvalidName) {
		return settingError("SEALPIPE_BUCKET", "", "%w", err)
	}
	return err
}

// accessAdmin returns the MinIO admin client for the S3 settings.
func (e *Engine) accessAdmin() (*iam.Admin, error) {
	s := e.settings.S3
	if s.Endpoint == "" {
		return nil, fmt.Errorf("%w: department access lives in MinIO: set SEALPIPE_S3_ENDPOINT and the service's SEALPIPE_S3_ACCESS_KEY and SEALPIPE_S3_SECRET_KEY", ErrSettings)
	}
	admin, err := iam.New(iam.Config{
		Endpoint:  s.Endpoint,
		AccessKey: s.AccessKey,
		SecretKey: string(s.SecretKey),
		Region:    s.Region,
		Secure:    s.Secure,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSettings, err)
	}
	return admin, nil
}
