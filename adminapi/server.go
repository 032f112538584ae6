package adminapi

import (
	"context"
	"crypto/tls"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealpipe/sealpipe/internal/httpserve"
	"github.com/sealpipe/sealpipe/pipeline/audittrail"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// Limits of the admin listener (Serve).
const (
	// MaxBodySize bounds a request body: the largest, a seal to make or a
	// list of approvers with their certificates, is a few kilobytes.
	MaxBodySize = 1 << 20
	// MaxUploadSize bounds the body of a route that carries files (an
	// application's identity materials, an impression's scan), base64 in
	// JSON: a few scans of some megabytes.
	MaxUploadSize = 48 << 20
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes = 64 << 10
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound
	// a connection's phases; WriteTimeout leaves time to make a seal with
	// an S3 registry.
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 2 * time.Minute
	IdleTimeout       = 2 * time.Minute
	// ShutdownTimeout is how long Serve waits, once its context is done,
	// for the requests in flight to finish.
	ShutdownTimeout = 30 * time.Second
)

// Registry is what the API reads of the seal registry: a
// *registry.Registry.
type Registry interface {
	List(ctx context.Context) ([]registry.Record, error)
	Get(ctx context.Context, id string) (*registry.Entry, error)
	Applications(ctx context.Context) ([]registry.Application, error)
	Application(ctx context.Context, id string) (*registry.Application, error)
}

// Administrator makes the registry changes the API is asked for, each
// signed with the seal administrator's key and recording the principal
// who asked (registry.Principal). The engine provides it.
type Administrator interface {
	MakeSeal(ctx context.Context, req MakeRequest, by *registry.Principal) (*registry.Entry, error)
	SetStatus(ctx context.Context, id string, change registry.StatusChange) (*registry.Record, error)
	SetApprovers(ctx context.Context, id string, req ApproversRequest, by *registry.Principal) (*registry.Record, error)
	SubmitApplication(ctx context.Context, req ApplicationRequest, by *registry.Principal) (*registry.Application, error)
	ReviewApplication(ctx context.Context, id string, req ReviewRequest, by *registry.Principal) (*registry.Application, error)
	MakeFromApplication(ctx context.Context, id string, req ApplicationMakeRequest, by *registry.Principal) (*registry.Application, error)
	FileApplication(ctx context.Context, id string, req FileRequest, by *registry.Principal) (*registry.Application, error)
	// MakeSealFromImpression makes and registers the seal req asks for
	// with imp as its picture once it passes the checks of seals make
	// --impression (size and colour; registry.ErrInvalid saying why not).
	MakeSealFromImpression(ctx context.Context, req MakeRequest, imp ImpressionUpload, by *registry.Principal) (*registry.Entry, error)
	// ChangeSeal makes the successor of seal id that req describes and
	// revokes id with reason code superseded naming it; RenewSeal makes
	// one that differs in its code and validity only. Both return the
	// successor and the old seal's record, and finish a change an earlier
	// call left half done.
	ChangeSeal(ctx context.Context, id string, req ChangeRequest, by *registry.Principal) (*registry.Entry, *registry.Record, error)
	RenewSeal(ctx context.Context, id string, req RenewRequest, by *registry.Principal) (*registry.Entry, *registry.Record, error)
}

// AuditTrail answers audit queries (GET /api/v1/audit): an
// *audittrail.Trail, which the engine provides over the store's usage log
// and registry.
type AuditTrail interface {
	Query(ctx context.Context, f audittrail.Filter) ([]audittrail.Event, error)
}

// Config is what a Server needs.
type Config struct {
	// Trust verifies client certificates: chain, validity and CRLs, as
	// for every certificate sealpipe relies on. Required.
	Trust *trust.Pool
	// RoleOIDs are the OIDs that mark each role in client certificates.
	// Nil means DefaultRoleOIDs.
	RoleOIDs map[Role]asn1.ObjectIdentifier
	// Registry and Admin read and change the registry. Required.
	Registry Registry
	Admin    Administrator
	// Audit answers audit queries. Required.
	Audit AuditTrail
	// Logger gets the access log, one line a request. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Metrics, if set, gets the API's Prometheus collectors.
	Metrics prometheus.Registerer
	// Now is the clock certificates are checked at. Nil means time.Now.
	Now func() time.Time
	// ClientCRL, if set, is a CRL file (DER or PEM) of the CA that issues
	// client certificates, such as the development TLS CA's
	// <data>/pki/tls/ca.crl. It must verify under one of Trust's roots.
	// The server stats the file at every handshake and request and reads
	// it again when it changed, so a new CRL takes effect without a
	// restart. A client certificate it lists is refused at the handshake
	// (ErrClientRevoked; 401 UNAUTHENTICATED on a connection opened
	// before). A CRL that cannot be read or verified, has no nextUpdate
	// or is past it fails closed: every client is refused (ErrClientCRL),
	// with an error in the log, until a good one is in place.
	ClientCRL string
	// ClientCRLOptional makes a missing ClientCRL file mean that nothing
	// is revoked yet, rather than refuse every client.
	ClientCRLOptional bool
}

// Server is the seal administration API.
type Server struct {
	cfg     Config
	handler http.Handler
	metrics *metrics
	crl     *clientCRL // nil without Config.ClientCRL
}

// New returns the API over cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Trust == nil || cfg.Registry == nil || cfg.Admin == nil || cfg.Audit == nil {
		return nil, errors.New("adminapi: Config needs Trust, Registry, Admin and Audit")
	}
	if cfg.RoleOIDs == nil {
		cfg.RoleOIDs = DefaultRoleOIDs()
	}
	if err := checkRoleOIDs(cfg.RoleOIDs); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, metrics: newMetrics(cfg.Metrics)}
	if cfg.ClientCRL != "" {
		s.crl = &clientCRL{path: cfg.ClientCRL, optional: cfg.ClientCRLOptional, pool: cfg.Trust, log: cfg.Logger}
		s.crl.mu.Lock()
		s.crl.refresh() // logs the CRL, or why it is unusable, at start
		if s.crl.err != nil {
			s.crl.logFailure(s.crl.err)
		}
		s.crl.mu.Unlock()
	}
	mux := http.NewServeMux()
	paths := map[string]bool{}
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.pattern, s.route(rt))
		paths[rt.pattern] = true
	}
	// A known path with another method is 405, any other path 404, both
	// in JSON like every other error.
	for p := range paths {
		mux.Handle(p, s.fallback(http.StatusMethodNotAllowed, CodeMethodNotAllowed))
	}
	mux.Handle("/", s.fallback(http.StatusNotFound, CodeNotFound))
	s.handler = s.observe(s.authenticate(mux))
	return s, nil
}

// Handler returns the API's HTTP handler. It expects requests that came
// over the TLS configuration TLSConfig returns: any other is refused
// (401).
func (s *Server) Handler() http.Handler { return s.handler }

// TLSConfig returns the listener's TLS configuration: cert as the server's
// certificate, and a client certificate required and verified during the
// handshake — a connection without one that chains to Config.Trust's
// roots (valid now, not revoked) never reaches the API.
func (s *Server) TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		// Package trust checks the chain (any algorithm, SM2 included)
		// and the CRLs, which crypto/tls would not: it asks for a
		// certificate and VerifyConnection checks it with the pool and
		// the client CRL, on resumed sessions too.
		ClientAuth: tls.RequireAnyClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			raw := make([][]byte, len(cs.PeerCertificates))
			for i, c := range cs.PeerCertificates {
				raw[i] = c.Raw
			}
			_, err := s.verifyClient(raw)
			return err
		},
	}
}

// verifyClient checks a client's certificates (leaf first, DER) as
// verifyPeer does, then against the client CRL, and returns the leaf.
func (s *Server) verifyClient(raw [][]byte) (*smx509.Certificate, error) {
	now := s.cfg.Now()
	chain, err := verifyPeer(s.cfg.Trust, raw, now, smx509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	if s.crl != nil {
		if err := s.crl.check(chain, now); err != nil {
			return nil, err
		}
	}
	return chain[0], nil
}

// Serve serves the API on ln with TLS (TLSConfig with cert) until ctx is
// done, then shuts down gracefully: it stops accepting, lets the requests
// in flight finish for up to ShutdownTimeout, and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener, cert tls.Certificate) error {
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.TLSConfig(cert),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		// TLS handshake failures — a client without a certificate, or
		// with one the roots do not vouch for — are logged here.
		ErrorLog:    slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelInfo),
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if err := httpserve.Serve(ctx, srv, ln, true, ShutdownTimeout); err != nil {
		return fmt.Errorf("adminapi: serve: %w", err)
	}
	return nil
}

// exchange is what the access log learns of a request as it is served.
type exchange struct {
	pattern   string
	principal *Principal
	code      string // the error code of an error response
	err       error  // the cause of a 500
}

type ctxKey int

const (
	exchangeKey ctxKey = iota
	principalKey
)

// observe writes the access log and the metrics of every request.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ex := &exchange{}
		sw := &httpserve.StatusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), exchangeKey, ex)))
		elapsed := time.Since(start)
		attrs := []any{
			"method", r.Method, "path", r.URL.Path, "route", ex.pattern, "status", sw.Status, "bytes", sw.Bytes,
			"duration", elapsed.Round(time.Microsecond), "remote", r.RemoteAddr,
		}
		if p := ex.principal; p != nil {
			attrs = append(attrs, "name", p.Name, "role", p.Role, "fingerprint", p.Fingerprint)
		}
		if ex.code != "" {
			attrs = append(attrs, "code", ex.code)
		}
		level := slog.LevelInfo
		if ex.err != nil {
			attrs, level = append(attrs, "err", ex.err), slog.LevelError
		}
		s.cfg.Logger.Log(r.Context(), level, "admin api", attrs...)
		s.metrics.observe(ex.pattern, sw.Status, elapsed)
	})
}

// authenticate identifies the principal of a request by its client
// certificate, checked again (the handshake checked it when the
// connection opened, which may have been a while ago).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			s.writeError(w, r, apiError(http.StatusUnauthorized, CodeUnauthenticated, "%v: connect with TLS and a client certificate", ErrUnauthenticated))
			return
		}
		raw := make([][]byte, len(r.TLS.PeerCertificates))
		for i, c := range r.TLS.PeerCertificates {
			raw[i] = c.Raw
		}
		leaf, err := s.verifyClient(raw)
		if err != nil {
			s.writeError(w, r, apiError(http.StatusUnauthorized, CodeUnauthenticated, "%v: %v", ErrUnauthenticated, err))
			return
		}
		p, err := identify(leaf, s.cfg.RoleOIDs)
		if err != nil {
			s.writeError(w, r, apiError(http.StatusForbidden, CodeNoRole, "%v", err))
			return
		}
		if ex, ok := r.Context().Value(exchangeKey).(*exchange); ok {
			ex.principal = p
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	})
}

// principal returns the principal authenticate found.
func principal(r *http.Request) *Principal {
	p, _ := r.Context().Value(principalKey).(*Principal)
	return p
}

// fallback answers requests no route takes.
func (s *Server) fallback(status int, code string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.setPattern(r, "")
		s.writeError(w, r, apiError(status, code, "%s %s: %s", r.Method, r.URL.Path, http.StatusText(status)))
	})
}

func (s *Server) setPattern(r *http.Request, pattern string) {
	if ex, ok := r.Context().Value(exchangeKey).(*exchange); ok {
		ex.pattern = pattern
	}
}

// request is one request to a route, authorised.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	p      *Principal
	access Access
	entry  *registry.Entry // the {id} seal, once read
	limit  int64           // the body's size bound: MaxBodySize, or the route's
}

// route serves rt: the authorisation table first (the role, then for Own
// access the seal's unit), then the handler.
func (s *Server) route(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.setPattern(r, rt.method+" "+rt.pattern)
		p := principal(r)
		rq := &request{w: w, r: r, p: p, access: Allowed(rt.action, p.Role), limit: MaxBodySize}
		if uploads[rt.action] {
			rq.limit = MaxUploadSize
		}
		if rq.access == Denied {
			s.writeError(w, r, apiError(http.StatusForbidden, CodeForbidden, "%v: the %s role may not %s", ErrForbidden, p.Role, rt.action))
			return
		}
		if r.PathValue("id") != "" && rq.access == Own {
			e, err := rq.seal(s)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if !InScope(p, &e.Record) {
				s.writeError(w, r, apiError(http.StatusForbidden, CodeOtherUnit, "%v: seal %s is not one of %s %q's own (unit %s)", ErrForbidden, e.ID, p.Role, p.Name, e.Unit))
				return
			}
		}
		status, body, err := rt.handle(s, rq)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if raw, ok := body.(rawBody); ok {
			writeRaw(w, status, raw)
			return
		}
		httpserve.WriteJSON(w, status, body)
	})
}

// seal reads the {id} seal of the request.
func (rq *request) seal(s *Server) (*registry.Entry, error) {
	if rq.entry == nil {
		e, err := s.cfg.Registry.Get(rq.r.Context(), rq.r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		rq.entry = e
	}
	return rq.entry, nil
}

// decode reads the JSON body into v: application/json, at most the
// route's bound (MaxBodySize unless it carries files), one object with no
// field v lacks.
func (rq *request) decode(v any) error {
	mt, _, _ := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return apiError(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the body must be application/json, not %q", rq.r.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(http.MaxBytesReader(rq.w, rq.r.Body, rq.limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return apiError(http.StatusRequestEntityTooLarge, CodeTooLarge, "the body exceeds %d bytes", rq.limit)
	case err != nil:
		return apiError(http.StatusBadRequest, CodeBadRequest, "the body: %v", err)
	case dec.More():
		return apiError(http.StatusBadRequest, CodeBadRequest, "the body holds more than one JSON value")
	}
	return nil
}

// writeError writes err as a JSON error response.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := errorFor(err)
	if ex, ok := r.Context().Value(exchangeKey).(*exchange); ok {
		ex.code = e.Code
		if e.Status >= 500 {
			ex.err = err
		}
	}
	httpserve.WriteJSON(w, e.Status, e)
}

// rawBody is a success body other than JSON, such as GET /api/v1/audit's
// CSV: route writes it as it is.
type rawBody struct {
	contentType string
	filename    string // offered for saving (Content-Disposition), if set
	data        []byte
}

func writeRaw(w http.ResponseWriter, status int, body rawBody) {
	w.Header().Set("Content-Type", body.contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	if body.filename != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": body.filename}))
	}
	w.WriteHeader(status)
	w.Write(body.data)
}

// sesealOf summarises e's SESeal.
func sesealOf(e *registry.Entry) *SESeal {
	if e.Seal == nil {
		return nil
	}
	pic := e.Seal.Picture
	return &SESeal{Version: e.Seal.Version, Vendor: e.Seal.VendorID, PictureType: pic.Type, PictureWidthMM: pic.WidthMM, PictureHeightMM: pic.HeightMM, Certificates: len(e.Seal.Certs)}
}
