package engine

import (
	"context"
	"crypto/tls"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/exchange"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// AdminAPISettings configure the seal administration API (package
// adminapi): the listener `sealpipe serve` runs, and the server the
// `seals` commands use instead of changing the registry themselves.
type AdminAPISettings struct {
	// Addr is the admin listener's address. Empty means none.
	Addr string `env:"SEALPIPE_ADMIN_ADDR" help:"address of the admin API that sealpipe serve runs, mutual TLS, e.g. 127.0.0.1:8443 (empty: no admin listener)"`
	// TLSCert and TLSKey are its TLS server certificate and key (empty:
	// the development ones `sealpipe ca init` makes under <data>/pki/tls).
	TLSCert string `env:"SEALPIPE_ADMIN_TLS_CERT" help:"PEM file of the admin listener's TLS certificate, an ECDSA or RSA key's (empty: <data>/pki/tls/admin-server.crt, which ca init makes for 127.0.0.1, ::1 and localhost)"`
	TLSKey  string `env:"SEALPIPE_ADMIN_TLS_KEY" help:"PEM file of its private key, unencrypted (mode 0600) or encrypted with the key passphrase (empty: <data>/pki/tls/admin-server.key)"`
	// TLSClientCA are CA certificates whose client certificates the
	// admin listener accepts besides the trusted roots' (empty: the
	// development TLS CA, if there is one).
	TLSClientCA []string `env:"SEALPIPE_ADMIN_TLS_CLIENT_CA" help:"PEM files of CAs whose client certificates the admin listener accepts besides SEALPIPE_ROOTS', comma-separated; CRLs from SEALPIPE_CRLS (empty: <data>/pki/tls/ca.crt, the development TLS CA, if it exists)"`
	// TLSClientCRL is the client CA's CRL, which the admin listener
	// reads again whenever the file changes (adminapi.Config.ClientCRL).
	TLSClientCRL string `env:"SEALPIPE_ADMIN_TLS_CLIENT_CRL" help:"CRL file (DER or PEM) of the CA of the admin API's client certificates, read again whenever it changes: a certificate it lists is refused; one that does not verify or is past its nextUpdate refuses every client (empty: <data>/pki/tls/ca.crl, which sealpipe ca revoke-client writes, when SEALPIPE_ADMIN_TLS_CLIENT_CA is empty; none there yet: nothing revoked)"`
	// URL is the admin API the seals commands call; empty: they change
	// the registry themselves.
	URL string `env:"SEALPIPE_ADMIN_URL" help:"admin API for the seals commands, e.g. https://127.0.0.1:8443: set, they are its clients (with SEALPIPE_ADMIN_CLIENT_CERT) instead of signing registry changes themselves"`
	// ClientCert and ClientKey are the client certificate (and key) the
	// seals commands present to URL.
	ClientCert string `env:"SEALPIPE_ADMIN_CLIENT_CERT" help:"PEM file of the client certificate the seals commands present to SEALPIPE_ADMIN_URL (sealpipe ca issue-client writes one)"`
	ClientKey  string `env:"SEALPIPE_ADMIN_CLIENT_KEY" help:"PEM file of that certificate's private key (mode 0600)"`
	// CA are the roots the admin server's certificate must chain to
	// besides the trusted roots (empty: the development TLS CA, if any).
	CA []string `env:"SEALPIPE_ADMIN_CA" help:"PEM files of the CAs the admin API's server certificate may chain to besides SEALPIPE_ROOTS, comma-separated (empty: <data>/pki/tls/ca.crt, the development TLS CA, if it exists)"`

	Roles APIRoleSettings
}

// APIRoleSettings are the OIDs that mark the admin API's roles in client
// certificates, as an extended key usage or a policy
// (adminapi.DefaultRoleOIDs).
type APIRoleSettings struct {
	Admin     string `env:"SEALPIPE_API_ADMIN_OID" default:"1.3.6.1.4.1.32473.38540.10.1" help:"OID (EKU or policy) of the admin API role admin (seal administrator, city) in client certificates"`
	Registrar string `env:"SEALPIPE_API_REGISTRAR_OID" default:"1.3.6.1.4.1.32473.38540.10.2" help:"OID of the admin API role registrar (county registrar)"`
	Keeper    string `env:"SEALPIPE_API_KEEPER_OID" default:"1.3.6.1.4.1.32473.38540.10.3" help:"OID of the admin API role keeper (a unit's seal keeper; its units are the certificate's O)"`
	Approver  string `env:"SEALPIPE_API_APPROVER_OID" default:"1.3.6.1.4.1.32473.38540.10.4" help:"OID of the admin API role approver (its CN is the approver's name in seals' records)"`
	Auditor   string `env:"SEALPIPE_API_AUDITOR_OID" default:"1.3.6.1.4.1.32473.38540.10.5" help:"OID of the admin API role auditor (reads everything)"`
	Uploader  string `env:"SEALPIPE_API_UPLOADER_OID" default:"1.3.6.1.4.1.32473.38540.10.6" help:"OID of the admin API role uploader (a department's; its departments are the certificate's OU)"`
}

// apiRoleOIDs parses the role OID settings.
func (s Settings) apiRoleOIDs() (map[adminapi.Role]asn1.ObjectIdentifier, error) {
	r := s.AdminAPI.Roles
	out := map[adminapi.Role]asn1.ObjectIdentifier{}
	for _, x := range []struct {
		role       adminapi.Role
		key, value string
	}{
		{adminapi.RoleAdmin, "SEALPIPE_API_ADMIN_OID", r.Admin},
		{adminapi.RoleRegistrar, "SEALPIPE_API_REGISTRAR_OID", r.Registrar},
		{adminapi.RoleKeeper, "SEALPIPE_API_KEEPER_OID", r.Keeper},
		{adminapi.RoleApprover, "SEALPIPE_API_APPROVER_OID", r.Approver},
		{adminapi.RoleAuditor, "SEALPIPE_API_AUDITOR_OID", r.Auditor},
		{adminapi.RoleUploader, "SEALPIPE_API_UPLOADER_OID", r.Uploader},
	} {
		oid, err := parseOID(x.value)
		if err != nil {
			return nil, settingError(x.key, x.value, "%v", err)
		}
		out[x.role] = oid
	}
	return out, nil
}

// ErrNothingToServe is wrapped, with ErrSettings, by Serve's error when
// no listener and no exchange job is configured.
var ErrNothingToServe = errors.New("nothing to serve: set SEALPIPE_HTTP_ADDR (not off) for the verification service, SEALPIPE_ADMIN_ADDR for the admin API, or SEALPIPE_EXCHANGE_EXPORT_DIR or SEALPIPE_REVOCATIONS_URL for the exchange jobs")

// listener is one of the things Serve runs until its context is done:
// run calls ready with the URL it listens on, if any.
type listener struct {
	name string
	run  func(ctx context.Context, ready func(url string)) error
}

// ServeOptions adjust Serve.
type ServeOptions struct {
	// Ready, if set, is called once a listener listens, with its name
	// ("http", "admin") and URL.
	Ready func(name, url string)
}

// Serve runs the listeners the settings configure until ctx is done —
// the public verification service on SEALPIPE_HTTP_ADDR (VerifyServer),
// the admin API on SEALPIPE_ADMIN_ADDR (AdminServer), and
// Prometheus /metrics on SEALPIPE_METRICS_ADDR beside it — and the
// scheduled exchange jobs with the province (ExchangeJobs), if any, then
// shuts them down gracefully and returns nil. With nothing configured it
// fails with an error wrapping ErrSettings and ErrNothingToServe.
func (e *Engine) Serve(ctx context.Context, opts ServeOptions) error {
	s := e.settings
	var run []listener
	if s.HTTP.Addr != httpOff {
		l, err := e.httpListener(ctx)
		if err != nil {
			return err
		}
		run = append(run, l)
	}
	if s.AdminAPI.Addr != "" {
		srv, cert, err := e.AdminServer(ctx)
		if err != nil {
			return err
		}
		run = append(run, listener{"admin", func(ctx context.Context, ready func(string)) error {
			ln, err := net.Listen("tcp", s.AdminAPI.Addr)
			if err != nil {
				return settingError("SEALPIPE_ADMIN_ADDR", s.AdminAPI.Addr, "%v", err)
			}
			ready("https://" + ln.Addr().String())
			return srv.Serve(ctx, ln, cert)
		}})
	}
	jobs, err := e.ExchangeJobs(ctx)
	switch {
	case err == nil:
		run = append(run, listener{"exchange", func(ctx context.Context, _ func(string)) error {
			for _, j := range jobs {
				e.log.Info("exchange job scheduled", "job", j.Name, "every", j.Interval.String())
			}
			return exchange.RunJobs(ctx, jobs)
		}})
	case !errors.Is(err, ErrNoExchangeJobs):
		return err
	}
	if len(run) == 0 {
		return fmt.Errorf("%w: %w", ErrSettings, ErrNothingToServe)
	}
	if s.MetricsAddr != "" {
		stop, err := serveMetrics(s.MetricsAddr, e)
		if err != nil {
			return err
		}
		defer stop()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(run))
	for _, l := range run {
		go func() {
			err := l.run(ctx, func(url string) {
				e.log.Info("listening", "listener", l.name, "url", url)
				if opts.Ready != nil {
					opts.Ready(l.name, url)
				}
			})
			if err != nil {
				cancel() // one listener failing stops them all
			}
			errc <- err
		}()
	}
	var first error
	for range run {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// AdminServer returns the admin API over the registry and the audit
// trail (AuditTrail), changes signed by the seal administrator (Admin,
// opened now so that a server that cannot sign says so at start), client
// certificates checked against the trusted roots and CRLs with the
// SEALPIPE_API_*_OID roles, and its TLS server certificate.
func (e *Engine) AdminServer(ctx context.Context) (*adminapi.Server, tls.Certificate, error) {
	roles, err := e.settings.apiRoleOIDs()
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	pool, err := e.tlsRoots("SEALPIPE_ADMIN_TLS_CLIENT_CA", e.settings.AdminAPI.TLSClientCA)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	reg, err := e.Registry(ctx)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	if _, err := e.Admin(ctx); err != nil {
		return nil, tls.Certificate{}, err
	}
	trail, err := e.AuditTrail(ctx)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	certFile, keyFile := e.AdminTLSFiles()
	cert, err := adminapi.LoadKeyPair(certFile, keyFile, e.keyPassphrase)
	if err != nil {
		key, value := "SEALPIPE_ADMIN_TLS_CERT", e.settings.AdminAPI.TLSCert
		if value == "" {
			value = certFile
		}
		return nil, tls.Certificate{}, settingError(key, value, "%v (sealpipe ca init makes a development one; sealpipe ca issue-server for other hosts)", err)
	}
	crl, optional := e.adminClientCRL()
	srv, err := adminapi.New(adminapi.Config{Trust: pool, RoleOIDs: roles, Registry: reg, Admin: adminBackend{e}, Audit: trail, Logger: e.log, Metrics: e.metrics,
		ClientCRL: crl, ClientCRLOptional: optional})
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	return srv, cert, nil
}

// adminClientCRL returns the CRL of the CA that issues admin API client
// certificates: SEALPIPE_ADMIN_TLS_CLIENT_CRL, or with the development TLS
// CA its CRL, which is optional (none yet: nothing revoked).
func (e *Engine) adminClientCRL() (path string, optional bool) {
	path = e.settings.AdminAPI.TLSClientCRL
	if path == "" && len(e.settings.AdminAPI.TLSClientCA) == 0 {
		return filepath.Join(e.PKIDir(), devca.TLSDirName, devca.TLSCRLName), true
	}
	return path, false
}

// AdminTLSFiles returns the admin listener's certificate and key files:
// SEALPIPE_ADMIN_TLS_CERT and _KEY, or the development ones.
func (e *Engine) AdminTLSFiles() (cert, key string) {
	cert, key = e.settings.AdminAPI.TLSCert, e.settings.AdminAPI.TLSKey
	dev := filepath.Join(e.PKIDir(), devca.TLSDirName, devca.TLSServerName)
	if cert == "" {
		cert = dev + ".crt"
	}
	if key == "" {
		key = dev + ".key"
	}
	return cert, key
}

// AdminClient returns a client of the admin API at SEALPIPE_ADMIN_URL,
// presenting SEALPIPE_ADMIN_CLIENT_CERT and trusting a server certificate
// that chains to SEALPIPE_ADMIN_CA (or the trusted roots). It returns
// nil, nil when SEALPIPE_ADMIN_URL is not set.
func (e *Engine) AdminClient() (*adminapi.Client, error) {
	s := e.settings.AdminAPI
	if s.URL == "" {
		return nil, nil
	}
	if s.ClientCert == "" || s.ClientKey == "" {
		return nil, settingError("SEALPIPE_ADMIN_URL", s.URL, "set SEALPIPE_ADMIN_CLIENT_CERT and SEALPIPE_ADMIN_CLIENT_KEY to the client certificate and key to present (sealpipe ca issue-client)")
	}
	cert, err := adminapi.LoadKeyPair(s.ClientCert, s.ClientKey, e.keyPassphrase)
	if err != nil {
		return nil, settingError("SEALPIPE_ADMIN_CLIENT_CERT", s.ClientCert, "%v", err)
	}
	pool, err := e.tlsRoots("SEALPIPE_ADMIN_CA", s.CA)
	if err != nil {
		return nil, err
	}
	c, err := adminapi.NewClient(s.URL, cert, pool)
	if err != nil {
		return nil, settingError("SEALPIPE_ADMIN_URL", s.URL, "%v", err)
	}
	return c, nil
}

// tlsRoots is the trust pool of the admin API's TLS: the trusted roots
// (SEALPIPE_ROOTS, or the development root) and the CAs of setting (or
// the development TLS CA), with the configured CRLs and role OIDs.
func (e *Engine) tlsRoots(setting string, cas []string) (*trust.Pool, error) {
	files := e.settings.Roots
	if len(files) == 0 {
		if dev := filepath.Join(e.PKIDir(), "root.crt"); fileExists(dev) {
			files = []string{dev}
		}
	}
	if len(cas) == 0 {
		if dev := filepath.Join(e.PKIDir(), devca.TLSDirName, devca.TLSCAName+".crt"); fileExists(dev) {
			cas = []string{dev}
		}
	}
	if len(files)+len(cas) == 0 {
		return nil, settingError(setting, "", "no CA: set it (or SEALPIPE_ROOTS), or run `sealpipe ca init` for the development TLS CA")
	}
	return e.rootsPool(append(slices.Clip(files), cas...), e.settings.CRLs, e.settings.CRLDistributionPoints)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ClientSpec describes an admin API client certificate to issue.
type ClientSpec struct {
	// Role is an adminapi role name; Name the holder's name (the
	// certificate's CN and file name).
	Role, Name string
	// Unit binds a keeper to a unit of the development trust chain (its
	// slug; the certificate names the unit's name, as its certificate
	// and seals do) and an uploader to a department (inbox/<dept>/).
	// UnitName names a keeper's unit the trust chain does not hold.
	Unit, UnitName string
	// Out is the folder NAME.crt and NAME.key are written to.
	Out string
}

// IssueClient issues an admin API client certificate from the development
// CA, with the role OID the settings give the role, and writes it to
// spec.Out: NAME.crt and NAME.key (unencrypted PKCS#8, mode 0600). Bad
// requests wrap registry.ErrInvalid.
func (e *Engine) IssueClient(ctx context.Context, spec ClientSpec) (certPath, keyPath string, err error) {
	role, err := adminapi.ParseRole(spec.Role)
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", registry.ErrInvalid, err)
	}
	roles, err := e.settings.apiRoleOIDs()
	if err != nil {
		return "", "", err
	}
	ca, err := e.DevCA()
	if err != nil {
		return "", "", err
	}
	req := devca.TLSClient{Name: spec.Name, Role: roles[role]}
	switch {
	case role == adminapi.RoleKeeper && spec.UnitName != "":
		if id, ok := ca.Signers[spec.Unit]; ok && id.Cert.Subject.Organization[0] != spec.UnitName {
			return "", "", fmt.Errorf("%w: unit %q's certificate names it %q, not %q", registry.ErrInvalid, spec.Unit, id.Cert.Subject.Organization[0], spec.UnitName)
		}
		req.Units = []string{spec.UnitName}
	case role == adminapi.RoleKeeper:
		id, err := ca.Unit(spec.Unit)
		if err != nil {
			return "", "", fmt.Errorf("%w: %w (or give --unit-name for a unit of no development certificate)", registry.ErrInvalid, err)
		}
		req.Units = id.Cert.Subject.Organization[:1]
	case role == adminapi.RoleUploader:
		if err := approval.CheckSegment("department", spec.Unit); err != nil {
			return "", "", fmt.Errorf("%w: %w", registry.ErrInvalid, err)
		}
		req.Departments = []string{spec.Unit}
	case spec.Unit != "" || spec.UnitName != "":
		return "", "", fmt.Errorf("%w: the %s role is bound to no unit", registry.ErrInvalid, role)
	}
	certPEM, keyPEM, err := ca.IssueTLSClient(ctx, req)
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", registry.ErrInvalid, err)
	}
	return devca.WriteTLSPair(spec.Out, spec.Name, certPEM, keyPEM)
}

// IssueServer issues a TLS server certificate for the admin listener
// from the development CA, for hosts, and writes it to out: NAME.crt and
// NAME.key (unencrypted, mode 0600).
func (e *Engine) IssueServer(ctx context.Context, name string, hosts []string, out string) (certPath, keyPath string, err error) {
	ca, err := e.DevCA()
	if err != nil {
		return "", "", err
	}
	certPEM, keyPEM, err := ca.IssueTLSServer(ctx, name, hosts)
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", registry.ErrInvalid, err)
	}
	return devca.WriteTLSPair(out, name, certPEM, keyPEM)
}

// adminBackend makes the admin API's changes, signed by the seal
// administrator (Admin).
type adminBackend struct{ e *Engine }

func (b adminBackend) MakeSeal(ctx context.Context, req adminapi.MakeRequest, by *registry.Principal) (*registry.Entry, error) {
	return b.e.MakeSeal(ctx, makeSpec(req, by))
}

func makeSpec(req adminapi.MakeRequest, by *registry.Principal) SealSpec {
	return SealSpec{
		Kind: req.Kind, Holder: req.Holder, Unit: req.Unit, UnitName: req.UnitName, Purpose: req.Purpose, Code: req.Code,
		Approvers: req.Approvers, Departments: req.Departments, Validity: time.Duration(req.ValidityDays) * 24 * time.Hour,
		KeyType: devca.KeyType(req.KeyType), Requester: by,
	}
}

// adminBackend makes seals from impressions, changes and renews them too.
var _ adminapi.Administrator = adminBackend{}

func (b adminBackend) MakeSealFromImpression(ctx context.Context, req adminapi.MakeRequest, imp adminapi.ImpressionUpload, by *registry.Principal) (*registry.Entry, error) {
	spec := makeSpec(req, by)
	spec.Impression, spec.ImpressionDPI = imp.Data, imp.DPI
	return b.e.MakeSeal(ctx, spec)
}

func (b adminBackend) ChangeSeal(ctx context.Context, id string, req adminapi.ChangeRequest, by *registry.Principal) (*registry.Entry, *registry.Record, error) {
	c := SealChange{Old: id, Reason: req.Reason, KeepPurpose: req.Purpose == nil, New: SealSpec{
		Code: req.Code, Holder: req.Holder, Approvers: req.Approvers, Departments: req.Departments,
		Validity: time.Duration(req.ValidityDays) * 24 * time.Hour, Requester: by,
	}}
	if req.Purpose != nil {
		c.New.Purpose = *req.Purpose
	}
	return b.e.ChangeSeal(ctx, c)
}

func (b adminBackend) RenewSeal(ctx context.Context, id string, req adminapi.RenewRequest, by *registry.Principal) (*registry.Entry, *registry.Record, error) {
	return b.e.ChangeSeal(ctx, SealChange{Old: id, Renew: true, KeepPurpose: true, New: SealSpec{
		Code: req.Code, Validity: time.Duration(req.ValidityDays) * 24 * time.Hour, Requester: by,
	}})
}

func (b adminBackend) SetStatus(ctx context.Context, id string, change registry.StatusChange) (*registry.Record, error) {
	reg, admin, err := b.e.registryAdmin(ctx)
	if err != nil {
		return nil, err
	}
	return reg.ChangeStatus(ctx, id, change, admin)
}

// registryAdmin returns the registry and the seal administrator who
// signs its changes.
func (e *Engine) registryAdmin(ctx context.Context) (*registry.Registry, signed.Signer, error) {
	reg, err := e.Registry(ctx)
	if err != nil {
		return nil, signed.Signer{}, err
	}
	admin, err := e.Admin(ctx)
	if err != nil {
		return nil, signed.Signer{}, err
	}
	return reg, admin, nil
}

func (b adminBackend) SetApprovers(ctx context.Context, id string, req adminapi.ApproversRequest, by *registry.Principal) (*registry.Record, error) {
	pool, err := b.e.Trust()
	if err != nil {
		return nil, err
	}
	grants := make([]registry.ApproverGrant, len(req.Approvers))
	var ca *devca.CA
	for i, a := range req.Approvers {
		var cert *smx509.Certificate
		switch {
		case a.Certificate != "":
			certs, err := trust.ParseCertificatesPEM([]byte(a.Certificate))
			if err != nil || len(certs) != 1 {
				return nil, fmt.Errorf("%w: approver %d: want one PEM certificate (%v)", registry.ErrInvalid, i+1, err)
			}
			cert = certs[0]
		default:
			if ca == nil {
				var err error
				if ca, err = b.e.DevCA(); err != nil {
					return nil, fmt.Errorf("%w: approver %q: no certificate given, and %w", registry.ErrInvalid, a.Name, err)
				}
			}
			id, err := ca.Approver(a.Name)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", registry.ErrInvalid, err)
			}
			cert = id.Cert
		}
		if _, err := pool.Verify(cert, time.Now(), trust.UsageApprover); err != nil {
			return nil, fmt.Errorf("%w: approver %q: %w", registry.ErrInvalid, cert.Subject.CommonName, err)
		}
		grants[i] = registry.ApproverGrant{Cert: cert, Departments: a.Departments}
	}
	reg, admin, err := b.e.registryAdmin(ctx)
	if err != nil {
		return nil, err
	}
	return reg.ChangeApprovers(ctx, id, registry.ApproversChange{Grants: grants, Reason: req.Reason, Requester: by}, admin)
}

func (b adminBackend) SubmitApplication(ctx context.Context, req adminapi.ApplicationRequest, by *registry.Principal) (*registry.Application, error) {
	reg, admin, err := b.e.registryAdmin(ctx)
	if err != nil {
		return nil, err
	}
	r := registry.ApplicationRequest{ID: req.ID, Unit: req.Unit, Kind: req.Kind, Purpose: req.Purpose, Holder: req.Holder, Clerk: req.Clerk, Reason: req.Reason, Requester: by}
	for _, m := range req.Materials {
		r.Materials = append(r.Materials, registry.MaterialFile{Name: m.Name, Data: m.Data})
	}
	return reg.Submit(ctx, r, admin)
}

func (b adminBackend) ReviewApplication(ctx context.Context, id string, req adminapi.ReviewRequest, by *registry.Principal) (*registry.Application, error) {
	reg, admin, err := b.e.registryAdmin(ctx)
	if err != nil {
		return nil, err
	}
	return reg.Review(ctx, id, req.Approve, req.Reason, by, admin)
}

func (b adminBackend) MakeFromApplication(ctx context.Context, id string, req adminapi.ApplicationMakeRequest, by *registry.Principal) (*registry.Application, error) {
	_, a, err := b.e.MakeFromApplication(ctx, id, SealSpec{
		Unit: req.Unit, Code: req.Code, Approvers: req.Approvers, Departments: req.Departments,
		Validity: time.Duration(req.ValidityDays) * 24 * time.Hour, Requester: by,
	})
	return a, err
}

func (b adminBackend) FileApplication(ctx context.Context, id string, req adminapi.FileRequest, by *registry.Principal) (*registry.Application, error) {
	return b.e.FileSeal(ctx, id, req.Reason, by)
}
