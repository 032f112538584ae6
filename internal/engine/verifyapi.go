package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/verifyapi"
)

// HTTPSettings configure the public verification service (package
// verifyapi) that `sealpipe serve` runs.
type HTTPSettings struct {
	// Addr is the service's address; "off" means none.
	Addr string `env:"SEALPIPE_HTTP_ADDR" default:"127.0.0.1:8080" help:"address of the public verification service sealpipe serve runs: the page at /, POST /api/v1/verify, /healthz, /readyz, /metrics (off: none)"`
	// TLSCert and TLSKey are its TLS certificate and key; empty, it
	// serves plain HTTP, as behind a reverse proxy that terminates TLS.
	TLSCert string `env:"SEALPIPE_HTTP_TLS_CERT" help:"PEM file of the verification service's TLS certificate, an ECDSA or RSA key's (empty: plain HTTP, e.g. behind a reverse proxy that terminates TLS)"`
	TLSKey  string `env:"SEALPIPE_HTTP_TLS_KEY" help:"PEM file of its private key, unencrypted (mode 0600) or encrypted with the key passphrase"`
	// MaxConcurrent bounds the documents verified at once, each held in
	// memory (up to SEALPIPE_MAX_DOCUMENT_SIZE); 0 means twice the CPUs.
	MaxConcurrent int `env:"SEALPIPE_HTTP_MAX_CONCURRENT" help:"documents the verification service verifies at once, each held in memory up to SEALPIPE_MAX_DOCUMENT_SIZE (0: twice the CPUs)"`
}

// httpOff is SEALPIPE_HTTP_ADDR's value for no verification service.
const httpOff = "off"

// VerifyServer returns the public verification service: documents up to
// SEALPIPE_MAX_DOCUMENT_SIZE checked by the engine's Verifier (trusted
// roots, CRLs and the registry as `sealpipe verify` has them) with the
// seals' pictures kept for the page; /readyz probing the object store,
// Redis when configured, and each key of the keyring; /metrics the
// engine's metrics. The TLS certificate is nil for plain HTTP.
func (e *Engine) VerifyServer(ctx context.Context) (*verifyapi.Server, *tls.Certificate, error) {
	s := e.settings.HTTP
	var cert *tls.Certificate
	switch {
	case s.TLSCert != "" && s.TLSKey != "":
		c, err := adminapi.LoadKeyPair(s.TLSCert, s.TLSKey, e.keyPassphrase)
		if err != nil {
			return nil, nil, settingError("SEALPIPE_HTTP_TLS_CERT", s.TLSCert, "%v", err)
		}
		cert = &c
	case s.TLSCert != "" || s.TLSKey != "":
		return nil, nil, settingError("SEALPIPE_HTTP_TLS_CERT", s.TLSCert, "set both SEALPIPE_HTTP_TLS_CERT and SEALPIPE_HTTP_TLS_KEY, or neither")
	}
	v, err := e.Verifier(ctx, VerifierOptions{})
	if err != nil {
		return nil, nil, err
	}
	v.Pictures = true
	codes, err := e.codeLookup()
	if err != nil {
		return nil, nil, err
	}
	srv, err := verifyapi.New(verifyapi.Config{
		Verifier:        v,
		Codes:           codes,
		MaxDocumentSize: int64(e.settings.MaxDocumentSize),
		MaxConcurrent:   s.MaxConcurrent,
		Probes:          e.readinessProbes(),
		Logger:          e.log,
		Metrics:         e.metrics,
	})
	if err != nil {
		return nil, nil, err
	}
	return srv, cert, nil
}

// codeLookup returns the look-up of sealed documents by verification code
// in the configured store, or nil when there is none to look in: a local
// store that does not exist (nothing is created for it) or no trusted
// root to check the pipeline's records against. The store is opened at
// the first look-up, so that the service starts while it is unreachable.
func (e *Engine) codeLookup() (verifyapi.CodeLookup, error) {
	if e.settings.S3.Endpoint == "" && !e.LocalStoreExists() {
		return nil, nil
	}
	pool, err := e.Trust()
	if errors.Is(err, errNoRoots) {
		e.log.Info("no trusted roots configured: verification codes cannot be looked up")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return codeLookup{e, pool}, nil
}

// codeLookup finds sealed documents by verification code in the engine's
// store (pipeline.ReportByCode).
type codeLookup struct {
	e    *Engine
	pool *trust.Pool
}

func (c codeLookup) ReportByCode(ctx context.Context, code string) (*report.Document, error) {
	st, err := c.e.Store(ctx)
	if err != nil {
		return nil, err
	}
	_, doc, err := pipeline.ReportByCode(ctx, st, c.pool, code)
	if errors.Is(err, pipeline.ErrUnknownCode) {
		return nil, fmt.Errorf("%w: %w", verifyapi.ErrUnknownCode, err)
	}
	return doc, err
}

// readinessProbes are what the verification service's /readyz checks:
// the object store (as config check checks it), Redis if configured, and
// each key of the keyring, if there is one, opened and proved by a test
// signature.
func (e *Engine) readinessProbes() []verifyapi.Probe {
	probes := []verifyapi.Probe{{Name: "store", Check: func(ctx context.Context) error {
		if r := e.checkStore(ctx); r.Status == CheckFailed {
			return errors.New(r.Detail)
		}
		return nil
	}}}
	if r := e.settings.Redis; r.Addr != "" {
		probes = append(probes, verifyapi.Probe{Name: "redis", Check: func(ctx context.Context) error {
			rdb := redis.NewClient(&redis.Options{Addr: r.Addr, Password: string(r.Password), DB: r.DB, MaxRetries: -1})
			defer rdb.Close()
			if err := rdb.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("%s: %w", r.Addr, err)
			}
			return nil
		}})
	}
	if ring, err := readKeyring(e.keyringPath()); err == nil {
		if _, err := os.Stat(e.keyringPath()); err == nil {
			for _, alias := range slices.Sorted(maps.Keys(ring)) {
				probes = append(probes, verifyapi.Probe{Name: "key " + alias, Check: func(ctx context.Context) error {
					return e.checkKey(ctx, alias)
				}})
			}
		}
	}
	return probes
}

// httpListener is the verification service as one of Serve's listeners.
func (e *Engine) httpListener(ctx context.Context) (listener, error) {
	srv, cert, err := e.VerifyServer(ctx)
	if err != nil {
		return listener{}, err
	}
	addr := e.settings.HTTP.Addr
	return listener{"http", func(ctx context.Context, ready func(string)) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return settingError("SEALPIPE_HTTP_ADDR", addr, "%v", err)
		}
		scheme := "http://"
		if cert != nil {
			scheme = "https://"
		}
		ready(scheme + ln.Addr().String())
		return srv.Serve(ctx, ln, cert)
	}}, nil
}
