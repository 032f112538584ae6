package verifyapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealpipe/sealpipe/internal/httpserve"
	"github.com/sealpipe/sealpipe/pipeline/report"
)

// Defaults and limits of the listener (Serve).
const (
	// DefaultMaxDocumentSize is Config.MaxDocumentSize's default.
	DefaultMaxDocumentSize = 64 << 20
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes = 64 << 10
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound
	// a connection's phases; ReadTimeout leaves a slow phone two minutes
	// to upload a document.
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 2 * time.Minute
	WriteTimeout      = 3 * time.Minute
	IdleTimeout       = 2 * time.Minute
	// ShutdownTimeout is how long Serve waits, once its context is done,
	// for the requests in flight to finish.
	ShutdownTimeout = 30 * time.Second
	// DefaultProbeEvery is Config.ProbeEvery's default.
	DefaultProbeEvery = 10 * time.Second
	// probeTimeout bounds one readiness probe.
	probeTimeout = 5 * time.Second
)

// Verifier verifies a document of size bytes read through r; name only
// labels the report. It returns an error only for a document it cannot
// read at all. *verify.Verifier satisfies it; set its Pictures, which the
// page shows.
type Verifier interface {
	DocumentReader(ctx context.Context, name string, r io.ReaderAt, size int64) (*report.Document, error)
}

// CodeLookup finds the report of the sealed document whose verification
// code (report.Document.VerificationCode) is code, typed as a person
// types it (report.ParseVerificationCode). It returns an error wrapping
// ErrUnknownCode when no document has it.
type CodeLookup interface {
	ReportByCode(ctx context.Context, code string) (*report.Document, error)
}

// ErrUnknownCode means no sealed document has a verification code.
var ErrUnknownCode = errors.New("verifyapi: no sealed document has this verification code")

// Probe is one check of /readyz: that a part the server needs answers.
type Probe struct {
	// Name names the part, e.g. "store".
	Name string
	// Check returns nil when the part answers. It is given a few
	// seconds.
	Check func(ctx context.Context) error
}

// Config configures a Server. The zero value of each field but Verifier
// means its default.
type Config struct {
	// Verifier verifies the documents uploaded. Required.
	Verifier Verifier
	// MaxDocumentSize bounds a document uploaded; zero means
	// DefaultMaxDocumentSize.
	MaxDocumentSize int64
	// MaxConcurrent bounds the documents held and verified at once, and
	// so the memory they take (MaxConcurrent × MaxDocumentSize at most);
	// a request waits its turn while its client waits. Zero means
	// 2 × GOMAXPROCS.
	MaxConcurrent int
	// Codes, if set, finds sealed documents by their verification code
	// for GET /v/<code>; nil, every code is unknown.
	Codes CodeLookup
	// Probes are what /readyz checks; none means ready while serving.
	Probes []Probe
	// ProbeEvery is how long /readyz answers from the probes' last
	// results before it runs them again, so that a public /readyz costs
	// the parts it probes little however often it is asked; zero means
	// DefaultProbeEvery, a negative value runs them for every request.
	ProbeEvery time.Duration
	// Logger receives the access log (one line a request) and errors;
	// nil means slog.Default().
	Logger *slog.Logger
	// Metrics, if set, registers the server's collectors and serves
	// /metrics with everything registered there.
	Metrics *prometheus.Registry
}

// Server is the verification service: an http.Handler (Handler) and the
// listener that serves it (Serve).
type Server struct {
	cfg     Config
	handler http.Handler
	slots   chan struct{}
	metrics *metrics

	readyMu   sync.Mutex // serialises the probes of concurrent /readyz
	probedAt  time.Time  // when the probes last ran, under readyMu
	lastProbe map[string]error
}

// ErrNoVerifier means Config.Verifier is missing.
var ErrNoVerifier = errors.New("verifyapi: no Verifier configured")

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Verifier == nil {
		return nil, ErrNoVerifier
	}
	if cfg.MaxDocumentSize <= 0 {
		cfg.MaxDocumentSize = DefaultMaxDocumentSize
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 2 * runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ProbeEvery == 0 {
		cfg.ProbeEvery = DefaultProbeEvery
	}
	s := &Server{cfg: cfg, slots: make(chan struct{}, cfg.MaxConcurrent)}
	if cfg.Metrics != nil {
		s.metrics = newMetrics(cfg.Metrics)
	}
	s.handler = s.observe(s.routes())
	return s, nil
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves the routes on ln, with TLS if cert is not nil, until ctx
// is done; then it lets the requests in flight finish (up to
// ShutdownTimeout) and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener, cert *tls.Certificate) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelInfo),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
	}
	if err := httpserve.Serve(ctx, srv, ln, cert != nil, ShutdownTimeout); err != nil {
		return fmt.Errorf("verifyapi: serve: %w", err)
	}
	return nil
}

// ready returns each probe's error (nil: it passed), from the probes'
// last run if that was less than Config.ProbeEvery ago.
func (s *Server) ready(ctx context.Context) map[string]error {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if s.lastProbe != nil && time.Since(s.probedAt) < s.cfg.ProbeEvery {
		return s.lastProbe
	}
	defer func() { s.probedAt = time.Now() }()
	out := make(map[string]error, len(s.cfg.Probes))
	for _, p := range s.cfg.Probes {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		out[p.Name] = p.Check(pctx)
		cancel()
	}
	s.lastProbe = out
	return out
}

// exchange is what the access log learns of a request as it is served.
type exchange struct {
	route      string
	indication report.Indication // the verdict of a verified document
	code       string            // the error code of an error response
	err        error             // the cause of a 500
}

type ctxKey struct{}

// observe writes the access log and the metrics of every request, and
// the security headers of every response.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ex := &exchange{}
		h := w.Header()
		// Pages use only their own inline style and data: images; they
		// post only to this server and are framed nowhere.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		sw := &httpserve.StatusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ex)))
		elapsed := time.Since(start)
		attrs := []any{
			"method", r.Method, "path", r.URL.Path, "route", ex.route, "status", sw.Status, "bytes", sw.Bytes,
			"duration", elapsed.Round(time.Microsecond), "remote", r.RemoteAddr,
		}
		if ex.indication != "" {
			attrs = append(attrs, "indication", ex.indication)
		}
		if ex.code != "" {
			attrs = append(attrs, "code", ex.code)
		}
		level := slog.LevelInfo
		if ex.err != nil {
			attrs, level = append(attrs, "err", ex.err), slog.LevelError
		}
		s.cfg.Logger.Log(r.Context(), level, "verify api", attrs...)
		s.metrics.observe(ex.route, sw.Status, ex.indication, elapsed)
	})
}

// exchangeOf returns the access log's record of r.
func exchangeOf(r *http.Request) *exchange {
	if ex, ok := r.Context().Value(ctxKey{}).(*exchange); ok {
		return ex
	}
	return &exchange{}
}
