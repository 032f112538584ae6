package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/exchange"
	"github.com/sealpipe/sealpipe/pipeline/keys/keeper"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage/fs"
)

// ExchangeSettings configure the exchange with the provincial seal system
// (package pipeline/exchange): the filing exports this registry's
// registrar signs, the province's revocation lists it applies, and the
// scheduled jobs of `sealpipe seals exchange`.
type ExchangeSettings struct {
	// Registry names this registry in its filing exports, such as
	// "411728 遂平县". Empty means the organisation (else the common name)
	// of the seal administrator's certificate.
	Registry string `env:"SEALPIPE_EXCHANGE_REGISTRY" help:"the issuing registry (county) named in filing exports, e.g. 411728 遂平县 (empty: the organisation in the seal administrator's certificate)"`
	// ExportDir is the folder `sealpipe seals exchange` writes a filing
	// export of every seal to, every ExportInterval. Empty means no
	// scheduled export.
	ExportDir string `env:"SEALPIPE_EXCHANGE_EXPORT_DIR" help:"folder sealpipe seals exchange writes a signed filing export of every seal to (filing-<time>.json), every SEALPIPE_EXCHANGE_EXPORT_INTERVAL (empty: no scheduled export)"`
	// ExportInterval is the period of the scheduled filing export.
	ExportInterval time.Duration `env:"SEALPIPE_EXCHANGE_EXPORT_INTERVAL" default:"24h" help:"how often sealpipe seals exchange writes a filing export"`
	// RevocationsURL is the province's revocation list, an http(s) URL
	// or a file, that `sealpipe seals exchange` imports every
	// RevocationsInterval. Empty means none.
	RevocationsURL string `env:"SEALPIPE_REVOCATIONS_URL" help:"the province's signed seal revocation list, an http(s) URL or a file, that sealpipe seals exchange imports every SEALPIPE_REVOCATIONS_INTERVAL (empty: none)"`
	// RevocationsInterval is the period of the scheduled import.
	RevocationsInterval time.Duration `env:"SEALPIPE_REVOCATIONS_INTERVAL" default:"1h" help:"how often sealpipe seals exchange imports the province's revocation list"`
	// ProvinceRoots are PEM files of the roots the province's signing
	// certificate chains to. Empty means SEALPIPE_ROOTS (or the
	// development root).
	ProvinceRoots []string `env:"SEALPIPE_PROVINCE_ROOTS" help:"PEM files of the roots the province's revocation list signer chains to, comma-separated (empty: those of SEALPIPE_ROOTS)"`
	// ProvinceOID is the role OID the province's signing certificate
	// must carry (trust.UsageProvince).
	ProvinceOID string `env:"SEALPIPE_PROVINCE_OID" default:"1.3.6.1.4.1.32473.38540.4" help:"OID (EKU or policy) the certificate signing the province's revocation lists must carry"`
}

// exchangeMarks returns the high-water marks of the exports and lists
// applied here, kept under <data>/state/exchange/marks.json, out of the
// bucket's reach.
func (e *Engine) exchangeMarks() (exchange.Marks, error) {
	st, err := fs.Open(e.StateDir(), "exchange")
	if err != nil {
		return nil, err
	}
	return exchange.StoredMarks(st, "marks.json"), nil
}

// ExportRequest says what ExportFiling exports and where.
type ExportRequest struct {
	// Out is the file written (replaced whole, atomically).
	Out string
	// Seals are the seals to export; empty means every seal.
	Seals []string
	// Since, if not zero, keeps the seals with a change at or after it.
	Since time.Time
}

// ExportFiling writes a filing export of the registry, signed by the seal
// administrator (SEALPIPE_ADMIN_KEY, the registrar), to req.Out and
// returns what it holds.
func (e *Engine) ExportFiling(ctx context.Context, req ExportRequest) (*exchange.Filing, error) {
	reg, admin, err := e.registryAdmin(ctx)
	if err != nil {
		return nil, err
	}
	name := e.settings.Exchange.Registry
	if name == "" {
		name = admin.Cert.Subject.CommonName
		if o := admin.Cert.Subject.Organization; len(o) > 0 && o[0] != "" {
			name = o[0]
		}
	}
	doc, f, err := exchange.Export(ctx, reg, exchange.ExportOptions{Registry: name, Seals: req.Seals, Since: req.Since}, admin)
	if err != nil {
		return nil, err
	}
	if err := keeper.WriteFileAtomic(req.Out, doc, 0o644); err != nil {
		return nil, fmt.Errorf("%w: write %s: %w", exchange.ErrFetch, req.Out, err)
	}
	return f, nil
}

// ImportFiling verifies the filing export at path — signed by a seal
// administrator (registrar) the trusted roots vouch for — and registers
// its seals in this registry in their states there, each change signed
// by this registry's seal administrator (exchange.Import).
func (e *Engine) ImportFiling(ctx context.Context, path string) (*exchange.ImportReport, error) {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return nil, fmt.Errorf("%w: %s: a filing export is read from a file", exchange.ErrFetch, path)
	}
	return applyDocument(ctx, e, path, exchange.FetchOptions{MaxSize: exchange.MaxFilingSize}, e.Trust, exchange.ReadFiling,
		func(ctx context.Context, f *exchange.Filing, sig exchange.Signed, reg *registry.Registry, marks exchange.Marks, admin signed.Signer) (*exchange.ImportReport, error) {
			return exchange.Import(ctx, f, sig, reg, marks, admin)
		})
}

// provincePool returns the roots the province's revocation lists must be
// signed under: SEALPIPE_PROVINCE_ROOTS, else the trusted roots, with the
// CRLs and role OIDs of the settings.
func (e *Engine) provincePool() (*trust.Pool, error) {
	if len(e.settings.Exchange.ProvinceRoots) == 0 {
		return e.Trust()
	}
	return e.rootsPool(e.settings.Exchange.ProvinceRoots, e.settings.CRLs, e.settings.CRLDistributionPoints)
}

// ImportRevocations reads the province's revocation list at src (a file
// or an http(s) URL), verifies it against the province's roots and role
// OID, and revokes the listed seals of this registry, each change signed
// by the seal administrator (exchange.ApplyRevocations).
func (e *Engine) ImportRevocations(ctx context.Context, src string) (*exchange.RevocationReport, error) {
	fo := exchange.FetchOptions{MaxSize: exchange.MaxRevocationListSize, Timeout: e.settings.CRLTimeout}
	return applyDocument(ctx, e, src, fo, e.provincePool, exchange.ReadRevocationList,
		func(ctx context.Context, l *exchange.RevocationList, sig exchange.Signed, reg *registry.Registry, marks exchange.Marks, admin signed.Signer) (*exchange.RevocationReport, error) {
			return exchange.ApplyRevocations(ctx, l, sig, reg, marks, admin)
		})
}

// applyDocument reads the exchange document at src, verifies it with
// read against the roots pool gives — before the seal administrator's key
// is opened — and applies it with apply to this registry, signed by the
// seal administrator, with the marks of what was applied before.
func applyDocument[D, R any](ctx context.Context, e *Engine, src string, fo exchange.FetchOptions, pool func() (*trust.Pool, error),
	read func([]byte, *trust.Pool, time.Time) (*D, exchange.Signed, error),
	apply func(context.Context, *D, exchange.Signed, *registry.Registry, exchange.Marks, signed.Signer) (*R, error),
) (*R, error) {
	data, err := exchange.Fetch(ctx, src, fo)
	if err != nil {
		return nil, err
	}
	p, err := pool()
	if err != nil {
		return nil, err
	}
	doc, sig, err := read(data, p, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	reg, admin, err := e.registryAdmin(ctx)
	if err != nil {
		return nil, err
	}
	marks, err := e.exchangeMarks()
	if err != nil {
		return nil, err
	}
	return apply(ctx, doc, sig, reg, marks, admin)
}

// ErrNoExchangeJobs reports that no exchange job is configured.
var ErrNoExchangeJobs = errors.New("no exchange job configured: set SEALPIPE_EXCHANGE_EXPORT_DIR or SEALPIPE_REVOCATIONS_URL")

// ExchangeJobs returns the scheduled exchange jobs the settings configure:
// a filing export of every seal into SEALPIPE_EXCHANGE_EXPORT_DIR every
// SEALPIPE_EXCHANGE_EXPORT_INTERVAL, and the import of the revocation
// list at SEALPIPE_REVOCATIONS_URL every SEALPIPE_REVOCATIONS_INTERVAL.
// Both sign with the seal administrator's key, which is opened now, so
// that a misconfiguration shows at start. None configured is
// ErrNoExchangeJobs (wrapping ErrSettings).
func (e *Engine) ExchangeJobs(ctx context.Context) ([]exchange.Job, error) {
	x := e.settings.Exchange
	if x.ExportDir == "" && x.RevocationsURL == "" {
		return nil, fmt.Errorf("%w: %w", ErrSettings, ErrNoExchangeJobs)
	}
	if _, _, err := e.registryAdmin(ctx); err != nil {
		return nil, err
	}
	var jobs []exchange.Job
	if x.ExportDir != "" {
		if err := os.MkdirAll(x.ExportDir, 0o755); err != nil {
			return nil, settingError("SEALPIPE_EXCHANGE_EXPORT_DIR", x.ExportDir, "%v", err)
		}
		jobs = append(jobs, exchange.Job{Name: "filing export", Interval: x.ExportInterval, Logger: e.log, Do: func(ctx context.Context) error {
			out := filepath.Join(x.ExportDir, "filing-"+time.Now().UTC().Format("20060102T150405Z")+".json")
			f, err := e.ExportFiling(ctx, ExportRequest{Out: out})
			if err == nil {
				e.log.InfoContext(ctx, "exchange: filing export written", "file", out, "export", f.ID, "seals", len(f.Seals))
			}
			return err
		}})
	}
	if x.RevocationsURL != "" {
		jobs = append(jobs, exchange.Job{Name: "revocation list import", Interval: x.RevocationsInterval, Logger: e.log, Do: func(ctx context.Context) error {
			rep, err := e.ImportRevocations(ctx, x.RevocationsURL)
			if err != nil {
				return err
			}
			e.log.InfoContext(ctx, "exchange: revocation list applied", "issuer", rep.Issuer, "number", rep.Number,
				"revoked", rep.Count(exchange.ActionRevoked), "already_revoked", rep.Count(exchange.ActionAlreadyRevoked), "unknown", rep.Count(exchange.ActionUnknown))
			for _, u := range rep.Seals {
				if u.Action == exchange.ActionUnknown {
					e.log.WarnContext(ctx, "exchange: revocation list names a seal this registry does not know", "seal", u.Seal, "number", rep.Number)
				}
			}
			if failed := rep.Failed(); len(failed) > 0 {
				return fmt.Errorf("revocation list %d: %d seal(s) could not be revoked, the first %s: %w", rep.Number, len(failed), failed[0].Seal, failed[0].Err)
			}
			return nil
		}})
	}
	return jobs, nil
}
