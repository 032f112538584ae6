// Package engine is sealpipe's composition root: it turns Settings into the
// running parts — the object store, the seal registry, the trust pool, the
// signing keys (key files and the HSM pool), the pipeline, the Asynq
// queue with the inbox poller and the bucket-event bridge, and the inbox
// retention rule (Pruner) — so that cmd/sealpipe only parses flags.
// Nothing else in sealpipe reads the environment or chooses an
// implementation.
//
// An Engine builds each part on first use and keeps it, so a command pays
// only for what it uses: `seals list` opens the store, never a key. The
// development CA under <data>/pki is opened only by the commands that make
// development material (DevCA); running the pipeline needs none of it:
// trusted roots come from SEALPIPE_ROOTS (or the development root
// certificate, a public file), keys from their URIs.
package engine

import (
	"context"
	"encoding/asn1"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/emmansun/gmsm/smx509"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/retention"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/storage/s3"
	"github.com/sealpipe/sealpipe/templates/verifymark"
)

// Engine is sealpipe assembled from Settings. Its methods are safe for
// concurrent use. Close releases what it opened.
type Engine struct {
	settings Settings
	log      *slog.Logger
	operator string
	hsmOpts  hsmOptions
	metrics  *prometheus.Registry

	mu       sync.Mutex
	store    storage.Store
	trust    *trust.Pool
	registry *registry.Registry
	hsm      hsmBackend
	signers  *keys.Cache
	pipeline *pipeline.Pipeline
	pruner   *retention.Pruner
	devPass  []byte   // the development passphrase, once read
	closers  []func() // run by Close, last first

	crls *trust.CRLFetcher // the CRLs downloaded, shared by every pool
}

// Option adjusts an Engine beyond its Settings.
type Option func(*Engine)

// WithLogger sends the engine's logs, and those of the parts it builds, to
// log. The default is slog.Default().
func WithLogger(log *slog.Logger) Option { return func(e *Engine) { e.log = log } }

// WithOperator names who applies seals, for usage records. The default is
// the pipeline's ("pipeline").
func WithOperator(name string) Option { return func(e *Engine) { e.operator = name } }

// New returns an Engine for s (zero fields take their defaults). It opens
// nothing yet.
func New(s Settings, opts ...Option) *Engine {
	e := &Engine{settings: s.WithDefaults(), log: slog.Default(), metrics: prometheus.NewRegistry()}
	e.crls = &trust.CRLFetcher{Timeout: e.settings.CRLTimeout, MaxSize: int64(e.settings.CRLMaxSize)}
	for _, o := range opts {
		o(e)
	}
	e.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return e
}

// Settings returns the settings in force, defaults filled in.
func (e *Engine) Settings() Settings { return e.settings }

// Logger returns the engine's logger.
func (e *Engine) Logger() *slog.Logger { return e.log }

// PKIDir is the development PKI folder, <data>/pki.
func (e *Engine) PKIDir() string { return filepath.Join(e.settings.Data, "pki") }

// StoreDir is the local object store's folder, <data>/store.
func (e *Engine) StoreDir() string { return filepath.Join(e.settings.Data, "store") }

// StateDir is the folder of the pipeline's own state, <data>/state: the
// registry high-water marks (see Pipeline).
func (e *Engine) StateDir() string { return filepath.Join(e.settings.Data, "state") }

// Close releases everything the engine opened: keys, HSM sessions, the
// queue. The engine must not be used afterwards.
func (e *Engine) Close() error {
	e.mu.Lock()
	closers := e.closers
	e.closers = nil
	e.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	return nil
}

// onClose registers f to run at Close. The caller holds e.mu.
func (e *Engine) onClose(f func()) { e.closers = append(e.closers, f) }

// settingError is the error of a setting that cannot be used.
func settingError(key, value string, format string, args ...any) error {
	return &SettingError{Key: key, Value: value, Err: fmt.Errorf(format, args...)}
}

// Store returns the object store: the S3 bucket when SEALPIPE_S3_ENDPOINT
// is set, else the local store under <data>/store.
func (e *Engine) Store(ctx context.Context) (storage.Store, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.storeLocked(ctx)
}

func (e *Engine) storeLocked(ctx context.Context) (storage.Store, error) {
	if e.store != nil {
		return e.store, nil
	}
	s := e.settings
	if s.S3.Endpoint == "" {
		st, err := fs.Open(e.StoreDir(), s.Bucket)
		if err != nil {
			return nil, fmt.Errorf("%w: local store: %w", ErrSettings, err)
		}
		e.store = st
		return st, nil
	}
	cfg := s.s3Config()
	// A missing bucket is created: the first command run against a fresh
	// MinIO (seals make, run) sets it up.
	cfg.CreateBucket = true
	st, err := s3.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open S3 bucket %q at %s: %w", s.Bucket, s.S3.Endpoint, err)
	}
	e.store = st
	return st, nil
}

// s3Config is the S3 bucket of the settings, reached with the service's
// credentials: what the store, config check and uploads start from.
func (s Settings) s3Config() s3.Config {
	return s3.Config{
		Endpoint:  s.S3.Endpoint,
		AccessKey: s.S3.AccessKey,
		SecretKey: string(s.S3.SecretKey),
		Region:    s.S3.Region,
		Bucket:    s.Bucket,
		Secure:    s.S3.Secure,
	}
}

// StoreLocation describes where objects live, for messages: a folder for
// the local store, s3://bucket otherwise.
func (e *Engine) StoreLocation() string {
	if e.settings.S3.Endpoint == "" {
		return filepath.Join(e.StoreDir(), e.settings.Bucket)
	}
	return "s3://" + e.settings.Bucket
}

// LocalStoreExists reports whether the local object store's bucket folder
// exists, so that read-only commands can tell "no data yet" from an error
// without creating folders.
func (e *Engine) LocalStoreExists() bool {
	fi, err := os.Stat(filepath.Join(e.StoreDir(), e.settings.Bucket))
	return err == nil && fi.IsDir()
}

// Registry returns the seal registry kept in the store, whose changes
// must be signed by administrators the trusted roots vouch for. It is made
// once: it remembers the newest head of each seal it has read, which
// catches a log rolled back while the process runs.
func (e *Engine) Registry(ctx context.Context) (*registry.Registry, error) {
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := e.Trust()
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.registry == nil {
		e.registry = registry.New(st, pool)
	}
	return e.registry, nil
}

// Trust returns the pool of trusted roots: the SEALPIPE_ROOTS files, or
// else the development root certificate <data>/pki/root.crt. Neither
// present is an error wrapping ErrSettings.
func (e *Engine) Trust() (*trust.Pool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.trust != nil {
		return e.trust, nil
	}
	p, err := e.rootsPool(e.settings.Roots, e.settings.CRLs, e.settings.CRLDistributionPoints)
	if err != nil {
		return nil, err
	}
	e.trust = p
	return p, nil
}

// storeAndTrust returns the store and the trusted roots: what a reader of
// the pipeline's signed records needs, and no key.
func (e *Engine) storeAndTrust(ctx context.Context) (storage.Store, *trust.Pool, error) {
	st, err := e.Store(ctx)
	if err != nil {
		return nil, nil, err
	}
	pool, err := e.Trust()
	if err != nil {
		return nil, nil, err
	}
	return st, pool, nil
}

// roleOIDs are the role settings, by the trust usage each marks.
func (s Settings) roleOIDs() map[trust.Usage]struct{ key, value string } {
	return map[trust.Usage]struct{ key, value string }{
		trust.UsageApprover:      {"SEALPIPE_APPROVER_OID", s.Roles.Approver},
		trust.UsageRegistryAdmin: {"SEALPIPE_ADMIN_OID", s.Roles.Admin},
		trust.UsagePipeline:      {"SEALPIPE_SERVICE_OID", s.Roles.Service},
		trust.UsageProvince:      {"SEALPIPE_PROVINCE_OID", s.Exchange.ProvinceOID},
	}
}

// errNoRoots is wrapped by rootsPool's error when no root is configured
// and there is no development root either.
var errNoRoots = errors.New("no trusted roots")

// rootsPool loads files as trusted roots, or the development roots when
// files is empty (root.crt, and pades/ca.crt once it exists), with the
// revocation lists crls (files read now, http(s) URLs downloaded when
// needed) and, if distributionPoints, the CRL distribution points
// certificates name.
func (e *Engine) rootsPool(files, crls []string, distributionPoints bool) (*trust.Pool, error) {
	if len(files) == 0 {
		dev := filepath.Join(e.PKIDir(), "root.crt")
		if _, err := os.Stat(dev); err != nil {
			return nil, fmt.Errorf("%w: %w: set SEALPIPE_ROOTS (or pass --roots), or run `sealpipe ca init` for a development root (looked for %s)", ErrSettings, errNoRoots, dev)
		}
		files = []string{dev}
		// The development PAdES CA, once a unit has an ECDSA or RSA key,
		// is a root too: of those units' signer certificates.
		pades := filepath.Join(e.PKIDir(), devca.PAdESDirName, devca.PAdESCAName+".crt")
		if _, err := os.Stat(pades); err == nil {
			files = append(files, pades)
		}
	}
	var roots []*smx509.Certificate
	for _, f := range files {
		certs, err := trust.LoadCertificates(f)
		if err != nil {
			return nil, settingError("SEALPIPE_ROOTS", f, "%v", err)
		}
		roots = append(roots, certs...)
	}
	pool := trust.NewPool(roots)
	var urls []string
	for _, f := range crls {
		if strings.HasPrefix(f, "http://") || strings.HasPrefix(f, "https://") {
			urls = append(urls, f)
			continue
		}
		b, err := os.ReadFile(f)
		if err == nil {
			err = pool.AddCRL(b)
		}
		if err != nil {
			return nil, settingError("SEALPIPE_CRLS", f, "%v", err)
		}
	}
	if len(urls) > 0 || distributionPoints {
		pool.SetOnlineCRLs(trust.OnlineCRLs{URLs: urls, DistributionPoints: distributionPoints, Fetcher: e.crls})
	}
	for usage, role := range e.settings.roleOIDs() {
		oid, err := parseOID(role.value)
		if err != nil {
			return nil, settingError(role.key, role.value, "%v", err)
		}
		pool.SetRoleOID(usage, oid)
	}
	return pool, nil
}

// parseOID parses a dotted OID such as 1.2.156.10197.1.301.
func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("want a dotted OID such as 1.2.156.10197.1")
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("want a dotted OID such as 1.2.156.10197.1")
		}
		oid[i] = n
	}
	return oid, nil
}

// Signers returns the shared cache of opened signing keys: each key URI is
// opened once (a KDF run or an HSM login) and kept until Close.
func (e *Engine) Signers() *keys.Cache {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.signers == nil {
		c := keys.NewCache(e.OpenKey)
		e.signers = c
		e.onClose(func() { c.Close() })
	}
	return e.signers
}

// keyPassphrase returns the passphrase of key files: SEALPIPE_KEY_PASSPHRASE,
// or else the development passphrase `sealpipe ca init` keeps under
// <data>/pki, with a warning.
func (e *Engine) keyPassphrase() ([]byte, error) {
	if p := e.settings.KeyPassphrase; p != "" {
		return []byte(p), nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.devPass != nil {
		return e.devPass, nil
	}
	p, err := readDevPassphrase(e.PKIDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no key passphrase: set SEALPIPE_KEY_PASSPHRASE or SEALPIPE_KEY_PASSPHRASE_FILE: %w", ErrSettings, keys.ErrNoPassphrase)
	}
	if err != nil {
		return nil, err
	}
	e.log.Warn("no key passphrase configured: using the DEVELOPMENT passphrase under the data folder; set SEALPIPE_KEY_PASSPHRASE in production",
		"file", devPassphrasePath(e.PKIDir()))
	e.devPass = p
	return p, nil
}

// Pipeline returns the pipeline over the store, the registry, the trusted
// roots and the shared signers.
func (e *Engine) Pipeline(ctx context.Context) (*pipeline.Pipeline, error) {
	reg, err := e.Registry(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := e.Trust()
	if err != nil {
		return nil, err
	}
	signers, err := e.pipelineSigners(e.Signers())
	if err != nil {
		return nil, err
	}
	service, err := e.Service(ctx)
	if err != nil {
		return nil, err
	}
	if u := e.settings.VerifyBaseURL; u != "" {
		if err := verifymark.CheckBaseURL(u); err != nil {
			return nil, settingError("SEALPIPE_VERIFY_BASE_URL", u, "%v", err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pipeline == nil {
		st, err := e.storeLocked(ctx)
		if err != nil {
			return nil, err
		}
		// The newest head seen of each seal outlives the process, on this
		// machine and out of the bucket's reach: a worker restarted after
		// a seal's log was rolled back to an older signed head, or
		// deleted, refuses the seal (REGISTRY_INVALID).
		state, err := fs.Open(e.StateDir(), "registry")
		if err != nil {
			return nil, err
		}
		if err := reg.Remember(ctx, registry.StoredMarks(state, "marks.json")); err != nil {
			return nil, err
		}
		e.pipeline = pipeline.New(st, reg, pool, signers, pipeline.Config{
			Logger: e.log, Operator: e.operator, Service: service, MemoryBudget: int64(e.settings.MemoryBudget),
			MaxDocumentSize: int64(e.settings.MaxDocumentSize), MaxFileSize: int64(e.settings.MaxFileSize),
			NoDocumentPages: !e.settings.DocumentPages, VerifyBaseURL: e.settings.VerifyBaseURL,
		})
	}
	return e.pipeline, nil
}

// VerifierOptions adjust Verifier.
type VerifierOptions struct {
	// Roots are PEM files of trusted roots. Empty means the engine's
	// (SEALPIPE_ROOTS, else the development root, else none).
	Roots []string
	// CRLs are revocation lists consulted besides SEALPIPE_CRLS: files,
	// or http(s) URLs downloaded and cached as the engine's are.
	CRLs []string
	// DistributionPoints downloads the CRL distribution points that
	// certificates name, as SEALPIPE_CRL_DISTRIBUTION_POINTS does.
	DistributionPoints bool
	// NoRegistry skips the registry-status check. Without it the check
	// uses the configured store, or is NOT_APPLICABLE when that is a local
	// store that does not exist yet (a relying party with no registry). A
	// registry that cannot be read makes the check INDETERMINATE, not the
	// verifier fail.
	NoRegistry bool
}

// Verifier returns a verifier for documents sealed here or elsewhere. It
// needs no setup: with no trusted root configured (none given, no
// SEALPIPE_ROOTS, no development root) it still checks signatures,
// digests, seals and coverage, and leaves the certificate chains
// INDETERMINATE; a relying party with no root has no use for CRLs, which
// are then not read. It creates no file or folder.
func (e *Engine) Verifier(ctx context.Context, opts VerifierOptions) (*verify.Verifier, error) {
	var pool *trust.Pool
	var err error
	if len(opts.Roots) > 0 || len(opts.CRLs) > 0 || opts.DistributionPoints {
		roots := opts.Roots
		if len(roots) == 0 {
			roots = e.settings.Roots
		}
		pool, err = e.rootsPool(roots, slices.Concat(e.settings.CRLs, opts.CRLs), opts.DistributionPoints || e.settings.CRLDistributionPoints)
	} else {
		pool, err = e.Trust()
	}
	if errors.Is(err, errNoRoots) {
		e.log.Info("no trusted roots configured: certificate chains will be INDETERMINATE")
		pool, err = trust.NewPool(nil), nil
	}
	if err != nil {
		return nil, err
	}
	v := &verify.Verifier{Trust: pool, MaxPDFSize: int64(e.settings.MaxFileSize)}
	if !opts.NoRegistry && (e.settings.S3.Endpoint != "" || e.LocalStoreExists()) {
		reg, err := e.Registry(ctx)
		if err != nil {
			// A registry that cannot be opened leaves each registry-status
			// check INDETERMINATE with the reason; every other check runs.
			e.log.Warn("the seal registry cannot be read: registry-status checks will be INDETERMINATE (--no-registry skips them)", "err", err)
			v.Seals = unreadableRegistry{err}
		} else {
			v.Seals = reg
		}
	}
	return v, nil
}

// unreadableRegistry is a verify.SealLookup for a registry that could not
// be opened: every lookup returns the reason.
type unreadableRegistry struct{ err error }

func (u unreadableRegistry) Get(context.Context, string) (*registry.Entry, error) {
	return nil, u.err
}

// Metrics returns the registry the engine's parts report metrics to:
// the Go runtime and process, the workers and the HSM pool. `run` serves
// it when SEALPIPE_METRICS_ADDR is set.
func (e *Engine) Metrics() *prometheus.Registry { return e.metrics }
