package engine

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/redis/go-redis/v9"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage/s3"
)

// CheckStatus is the outcome of one check of the configuration.
type CheckStatus string

// The outcomes of a check. WARN fails nothing: it says what needs doing
// soon, such as a key's secret older than SEALPIPE_SECRET_MAX_AGE.
const (
	CheckOK      CheckStatus = "OK"
	CheckFailed  CheckStatus = "FAILED"
	CheckSkipped CheckStatus = "SKIPPED"
	CheckWarn    CheckStatus = "WARN"
)

// CheckResult is one line of `sealpipe config check`: what was checked,
// how it went and why.
type CheckResult struct {
	// Check names what was checked, such as "key pipeline".
	Check string `json:"check"`
	// Status is OK, FAILED or SKIPPED.
	Status CheckStatus `json:"status"`
	// Detail says what was found, or why it failed or was skipped.
	Detail string `json:"detail"`
}

// ChecksFailed reports whether any of results failed.
func ChecksFailed(results []CheckResult) bool {
	return slices.ContainsFunc(results, func(r CheckResult) bool { return r.Status == CheckFailed })
}

// SettingsCheck is the check of loading the settings, for a Load that
// returned err (nil: they loaded). Check starts with it.
func SettingsCheck(err error) CheckResult {
	if err != nil {
		return CheckResult{"settings", CheckFailed, err.Error()}
	}
	return CheckResult{"settings", CheckOK, "loaded"}
}

// checkTimeout bounds each check that reaches a service.
const checkTimeout = 10 * time.Second

// checkMessage is what the key checks sign: a fixed test message, never a
// document or record.
const checkMessage = "sealpipe config check: test signature, signs nothing"

// Check checks the configuration part by part, without changing anything
// (it creates no file, folder or bucket): the data folder; the trusted
// roots and each CRL (files parsed, URLs downloaded); the keyring and each
// key in it, opened (a key file decrypted, a pkcs11: key found on its
// token after login) and proved by a test signature over a fixed message,
// verified with its public key, and the age of its secret (WARN when over
// SEALPIPE_SECRET_MAX_AGE, unknown or left half-changed); the PKCS#11
// modules; the service and administrator identities (certificate matches
// key, trusted for the role); the object store (S3 reachable and bucket
// present, or the local folder); and Redis, when configured. The first
// result is SettingsCheck(nil).
func (e *Engine) Check(ctx context.Context) []CheckResult {
	out := []CheckResult{SettingsCheck(nil)}
	add := func(check string, err error, okDetail string) {
		if err != nil {
			out = append(out, CheckResult{check, CheckFailed, err.Error()})
			return
		}
		out = append(out, CheckResult{check, CheckOK, okDetail})
	}
	s := e.settings

	// The data folder.
	switch fi, err := os.Stat(s.Data); {
	case errors.Is(err, os.ErrNotExist):
		out = append(out, CheckResult{"data folder", CheckSkipped, s.Data + " does not exist (`sealpipe ca init` makes a development one; run makes it)"})
	case err != nil:
		add("data folder", err, "")
	case !fi.IsDir():
		add("data folder", fmt.Errorf("%s is not a folder", s.Data), "")
	default:
		add("data folder", nil, s.Data)
	}

	// Trusted roots and revocation lists.
	pool, err := e.rootsPool(s.Roots, nil, false)
	rootsDetail := ""
	if err == nil {
		rootsDetail = fmt.Sprintf("%d root certificate(s)", len(pool.Roots()))
	}
	add("trust roots", err, rootsDetail)
	for _, c := range s.CRLs {
		name := "crl " + c
		if strings.HasPrefix(c, "http://") || strings.HasPrefix(c, "https://") {
			ctx, cancel := context.WithTimeout(ctx, checkTimeout)
			crl, err := e.crls.Fetch(ctx, c)
			cancel()
			detail := ""
			if err == nil {
				detail = "downloaded; next update " + crl.NextUpdate.UTC().Format(time.RFC3339)
			}
			add(name, err, detail)
			continue
		}
		b, err := os.ReadFile(c)
		if err == nil && pool != nil {
			err = pool.AddCRL(b)
		} else if err == nil {
			_, err = trust.ParseCRL(b)
		}
		add(name, err, "parses")
	}

	// The keyring and its keys.
	ringPath := e.keyringPath()
	ring, err := readKeyring(ringPath)
	if err == nil {
		if _, serr := os.Stat(ringPath); serr != nil {
			err = fmt.Errorf("%w (`sealpipe ca init` makes a development keyring)", serr)
		}
	}
	add("keyring", err, fmt.Sprintf("%s: %d key(s)", ringPath, len(ring)))
	for _, alias := range slices.Sorted(maps.Keys(ring)) {
		add("key "+alias, e.checkKey(ctx, alias), redactURI(ring[alias].uri)+": opens; test signature over a fixed message verifies")
	}
	// How old each key's secret is (SEALPIPE_SECRET_MAX_AGE).
	if secrets, err := e.Secrets(ctx); err != nil && len(ring) > 0 {
		add("secrets", err, "")
	} else {
		for _, s := range secrets {
			out = append(out, secretCheck(s))
		}
	}

	// PKCS#11 modules.
	modules := s.PKCS11.Modules
	if s.PKCS11.Module != "" {
		modules = append([]string{s.PKCS11.Module}, modules...)
	}
	if len(modules) == 0 {
		out = append(out, CheckResult{"pkcs11 modules", CheckSkipped, "none configured (SEALPIPE_PKCS11_MODULE, SEALPIPE_PKCS11_MODULES)"})
	}
	for _, m := range modules {
		_, err := os.Stat(m)
		if err == nil && !PKCS11Available {
			err = ErrNoPKCS11
		}
		add("pkcs11 module "+m, err, "present")
	}

	// The identities.
	for _, id := range []struct {
		name string
		open func(context.Context) (signed.Signer, error)
	}{{"service identity", e.Service}, {"admin identity", e.Admin}} {
		sg, err := id.open(ctx)
		detail := ""
		if err == nil {
			detail = trust.Name(sg.Cert) + ": certificate matches the key and is trusted for the role"
		}
		add(id.name, err, detail)
	}

	// The admin API's client CRL, when the admin API is served.
	if s.AdminAPI.Addr != "" {
		out = append(out, e.clientCRLCheck())
	}

	// The object store, and the seals expiring soon in it.
	store := e.checkStore(ctx)
	out = append(out, store)
	if store.Status == CheckOK {
		out = append(out, e.sealExpiryChecks(ctx)...)
	}

	// Redis.
	if s.Redis.Addr == "" {
		out = append(out, CheckResult{"redis", CheckSkipped, "SEALPIPE_REDIS_ADDR unset: run uses an in-process Redis (one process only)"})
	} else {
		ctx, cancel := context.WithTimeout(ctx, checkTimeout)
		rdb := redis.NewClient(&redis.Options{Addr: s.Redis.Addr, Password: string(s.Redis.Password), DB: s.Redis.DB, MaxRetries: -1})
		err := rdb.Ping(ctx).Err()
		rdb.Close()
		cancel()
		if err != nil {
			err = fmt.Errorf("%s: %w", s.Redis.Addr, err)
		}
		add("redis", err, s.Redis.Addr+" answers PING")
	}
	return out
}

// clientCRLCheck checks the admin API's client CRL as the listener reads
// it: FAILED when the listener would refuse every client, WARN within a
// week of its nextUpdate.
func (e *Engine) clientCRLCheck() CheckResult {
	const name = "admin api client crl"
	path, optional := e.adminClientCRL()
	if path == "" {
		return CheckResult{name, CheckSkipped, "none configured (SEALPIPE_ADMIN_TLS_CLIENT_CRL)"}
	}
	pool, err := e.tlsRoots("SEALPIPE_ADMIN_TLS_CLIENT_CA", e.settings.AdminAPI.TLSClientCA)
	if err != nil {
		return CheckResult{name, CheckFailed, err.Error()}
	}
	st, err := adminapi.CheckClientCRL(path, optional, pool, time.Now())
	switch {
	case err != nil:
		return CheckResult{name, CheckFailed, err.Error()}
	case st.Missing:
		return CheckResult{name, CheckOK, path + ": none yet, nothing revoked (sealpipe ca revoke-client writes it)"}
	case st.Soon:
		return CheckResult{name, CheckWarn, fmt.Sprintf("%s: %d revoked; its nextUpdate %s is within a week: issue it again (sealpipe ca crl), or the admin API refuses every client from then on", path, st.Revoked, st.NextUpdate.UTC().Format(time.RFC3339))}
	}
	return CheckResult{name, CheckOK, fmt.Sprintf("%s: %d revoked; next update %s", path, st.Revoked, st.NextUpdate.UTC().Format(time.RFC3339))}
}

// checkKey opens the key the keyring names alias (through Signers, so the
// identity checks reuse it) and has it sign the fixed test message, which
// its public key must verify (testSignature).
func (e *Engine) checkKey(ctx context.Context, alias string) error {
	key, err := e.Signers().Signer(ctx, alias)
	if err != nil {
		return err
	}
	return testSignature(key, []byte(checkMessage))
}

// testSignature has key sign msg as it signs documents — SM2 with SM3 and
// the default signer ID, ECDSA with SHA-256, RSA PKCS #1 v1.5 with SHA-256
// — and verifies the signature with key's public key.
func testSignature(key crypto.Signer, msg []byte) error {
	digest := sha256.Sum256(msg)
	var sig []byte
	var verify func() bool
	var err error
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		if sm2.IsSM2PublicKey(pub) {
			sig, err = key.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
			verify = func() bool { return sm2.VerifyASN1WithSM2(pub, nil, msg, sig) }
		} else {
			sig, err = key.Sign(rand.Reader, digest[:], crypto.SHA256)
			verify = func() bool { return ecdsa.VerifyASN1(pub, digest[:], sig) }
		}
	case *rsa.PublicKey:
		sig, err = key.Sign(rand.Reader, digest[:], crypto.SHA256)
		verify = func() bool { return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil }
	default:
		return fmt.Errorf("public key is %T, not SM2, ECDSA or RSA", pub)
	}
	if err != nil {
		return fmt.Errorf("test signature: %w", err)
	}
	if !verify() {
		return errors.New("test signature does not verify with the key's public key")
	}
	return nil
}

// checkStore checks the object store without creating anything: the S3
// endpoint answers and the bucket exists, or the local bucket folder is
// there.
func (e *Engine) checkStore(ctx context.Context) CheckResult {
	s := e.settings
	if s.S3.Endpoint == "" {
		dir := filepath.Join(e.StoreDir(), s.Bucket)
		switch fi, err := os.Stat(dir); {
		case errors.Is(err, os.ErrNotExist):
			return CheckResult{"object store", CheckSkipped, "local folder " + dir + " does not exist yet (made on first use)"}
		case err != nil:
			return CheckResult{"object store", CheckFailed, err.Error()}
		case !fi.IsDir():
			return CheckResult{"object store", CheckFailed, dir + " is not a folder"}
		}
		return CheckResult{"object store", CheckOK, "local folder " + dir}
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	_, err := s3.New(ctx, s.s3Config())
	if err != nil {
		return CheckResult{"object store", CheckFailed, fmt.Sprintf("s3://%s at %s: %v", s.Bucket, s.S3.Endpoint, err)}
	}
	return CheckResult{"object store", CheckOK, fmt.Sprintf("s3://%s at %s: bucket exists", s.Bucket, s.S3.Endpoint)}
}
