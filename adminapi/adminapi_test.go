package adminapi_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// fixture is a running admin API over a fresh development registry: two
// units' seals (A: civil-affairs, 某某县民政局, approver-zhang for the
// department civil-affairs; B: county-office, approver-li for
// county-office) and a client certificate for each role, the bound ones
// bound to A's unit, department and approver.
type fixture struct {
	e      *engine.Engine
	dir    string
	url    string
	pool   *trust.Pool // the TLS CA, for clients
	certs  map[adminapi.Role]tls.Certificate
	client map[adminapi.Role]*http.Client
	sealA  string
	sealB  string
	next   int // the next seal code's last digits
}

var (
	fix     *fixture
	fixErr  error
	fixOnce sync.Once
	tmpDirs []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tmpDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// names are the client certificates' names, by role.
var names = map[adminapi.Role]string{
	adminapi.RoleAdmin: "admin-wang", adminapi.RoleRegistrar: "registrar-liu", adminapi.RoleKeeper: "keeper-zhao",
	adminapi.RoleApprover: "approver-zhang", adminapi.RoleAuditor: "auditor-sun", adminapi.RoleUploader: "uploader-civil",
}

func setup(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = newFixture() })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func newFixture() (*fixture, error) {
	dir, err := os.MkdirTemp("", "adminapi-test")
	if err != nil {
		return nil, err
	}
	tmpDirs = append(tmpDirs, dir)
	ctx := context.Background()
	e := engine.New(engine.Settings{Data: filepath.Join(dir, "data"), KeyPassphrase: "adminapi test"})
	ca, err := e.InitDevCA(
		[]devca.Unit{{Slug: "civil-affairs", Name: "某某县民政局"}, {Slug: "county-office", Name: "某某县人民政府办公室"}},
		[]devca.Approver{{Slug: "approver-zhang", Name: "张伟"}, {Slug: "approver-li", Name: "李娜"}})
	if err != nil {
		return nil, err
	}
	f := &fixture{e: e, dir: dir, certs: map[adminapi.Role]tls.Certificate{}, client: map[adminapi.Role]*http.Client{}, next: 1}
	if f.sealA, err = f.makeSeal(ctx, "A"); err != nil {
		return nil, err
	}
	if f.sealB, err = f.makeSeal(ctx, "B"); err != nil {
		return nil, err
	}
	tlsCA, err := trust.LoadCertificates(ca.TLSCAPath())
	if err != nil {
		return nil, err
	}
	f.pool = trust.NewPool(tlsCA)
	for _, r := range adminapi.Roles() {
		spec := engine.ClientSpec{Role: string(r), Name: names[r], Out: filepath.Join(dir, "clients")}
		if r == adminapi.RoleKeeper || r == adminapi.RoleUploader {
			spec.Unit = "civil-affairs"
		}
		crt, key, err := e.IssueClient(ctx, spec)
		if err != nil {
			return nil, err
		}
		cert, err := adminapi.LoadKeyPair(crt, key, nil)
		if err != nil {
			return nil, err
		}
		f.certs[r], f.client[r] = cert, f.httpClient(&cert)
	}
	srv, cert, err := e.AdminServer(ctx)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go srv.Serve(ctx, ln, cert)
	f.url = "https://" + ln.Addr().String()
	return f, nil
}

// makeSeal makes a fresh seal of unit A or B, as the command line does.
func (f *fixture) makeSeal(ctx context.Context, unit string) (string, error) {
	return f.makeSealValid(ctx, unit, 0)
}

// makeSealValid makes a fresh seal of unit A or B valid for validity (0:
// two years, as long as the unit's certificate, so that it cannot be
// renewed; a year can).
func (f *fixture) makeSealValid(ctx context.Context, unit string, validity time.Duration) (string, error) {
	code := fmt.Sprintf("330102000%05d", f.next)
	f.next++
	spec := engine.SealSpec{Unit: "civil-affairs", Code: code, Approvers: []string{"approver-zhang"}, Validity: validity}
	if unit == "B" {
		spec = engine.SealSpec{Unit: "county-office", Code: code, Approvers: []string{"approver-li"}, Validity: validity}
	}
	_, err := f.e.MakeSeal(ctx, spec)
	return code, err
}

// httpClient presents cert (none if nil) and trusts the TLS CA.
func (f *fixture) httpClient(cert *tls.Certificate) *http.Client {
	var certs []tls.Certificate
	if cert != nil {
		certs = []tls.Certificate{*cert}
	}
	cfg := adminapi.ClientTLS(tls.Certificate{}, f.pool, "127.0.0.1")
	cfg.Certificates = certs
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: time.Minute}
}

// call sends a request as role and returns the status and the body.
func (f *fixture) call(t *testing.T, c *http.Client, method, path string, body any) (int, []byte) {
	t.Helper()
	resp, b := f.send(t, c, method, path, body, nil)
	return resp.StatusCode, b
}

// send sends a request with header as role and returns the response and
// its body, checked against the document.
func (f *fixture) send(t *testing.T, c *http.Client, method, path string, body any, header http.Header) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, method, path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	return resp, b
}

// TestNoClientCertificate: a connection without a client certificate, or
// with one no trusted CA issued, is refused during the TLS handshake:
// the client gets a TLS error, never an HTTP response (not even a 401).
func TestNoClientCertificate(t *testing.T) {
	f := setup(t)
	other := selfSignedClient(t)
	for name, c := range map[string]*http.Client{"no certificate": f.httpClient(nil), "untrusted certificate": f.httpClient(&other)} {
		resp, err := c.Get(f.url + adminapi.Prefix + "/whoami")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: got HTTP %s, want a TLS handshake error", name, resp.Status)
		}
		var alert tls.AlertError
		if !errors.As(err, &alert) && !strings.Contains(err.Error(), "tls") {
			t.Fatalf("%s: %v, want a TLS alert", name, err)
		}
	}
	// adminapi.Client names the refusal, whichever way the failed request
	// reports it (under TLS 1.3 a reset, or HTTP/2's "could not be
	// established", lose the server's alert); a few tries meet both.
	c, err := adminapi.NewClient(f.url, other, f.pool)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 5 {
		_, err := c.Whoami(context.Background())
		if err == nil || !strings.Contains(err.Error(), "refused this client at the TLS handshake") || !strings.Contains(err.Error(), "tls: ") {
			t.Fatalf("Client.Whoami with an untrusted certificate: %v, want the handshake refusal named", err)
		}
	}
	// The same client with its certificate gets through.
	if code, _ := f.call(t, f.client[adminapi.RoleAuditor], "GET", adminapi.Prefix+"/whoami", nil); code != http.StatusOK {
		t.Fatalf("auditor whoami: %d", code)
	}
}

// selfSignedClient is a client certificate with a role OID from a CA
// nobody trusts.
func selfSignedClient(t *testing.T) tls.Certificate {
	t.Helper()
	ca, err := devca.Init(devca.Config{Dir: filepath.Join(t.TempDir(), "pki"), Passphrase: []byte("outsider")})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueTLSClient(context.Background(), devca.TLSClient{Name: "admin-mallory", Role: adminapi.DefaultRoleOIDs()[adminapi.RoleAdmin]})
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWhoami: the role and units come from the certificate.
func TestWhoami(t *testing.T) {
	f := setup(t)
	for _, r := range adminapi.Roles() {
		_, b := f.call(t, f.client[r], "GET", adminapi.Prefix+"/whoami", nil)
		var w adminapi.Whoami
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		if w.Role != r || w.Name != names[r] || len(w.Fingerprint) != 64 || w.Permissions[adminapi.ActionWhoami] != adminapi.All {
			t.Errorf("%s: whoami %+v", r, w)
		}
		switch r {
		case adminapi.RoleKeeper:
			if len(w.Units) != 1 || w.Units[0] != "某某县民政局" {
				t.Errorf("keeper's units %v", w.Units)
			}
		case adminapi.RoleUploader:
			if len(w.Departments) != 1 || w.Departments[0] != "civil-affairs" {
				t.Errorf("uploader's departments %v", w.Departments)
			}
		}
	}
}

// TestErrors: errors are JSON with a stable code and the status that
// fits, as documented.
func TestErrors(t *testing.T) {
	f := setup(t)
	admin := f.client[adminapi.RoleAdmin]
	seal := adminapi.Prefix + "/seals/" + f.sealA
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"GET", adminapi.Prefix + "/seals/33010299999999", nil, 404, adminapi.CodeSealNotFound},
		{"GET", adminapi.Prefix + "/nothing", nil, 404, adminapi.CodeNotFound},
		{"DELETE", seal, nil, 405, adminapi.CodeMethodNotAllowed},
		{"POST", seal + "/suspend", map[string]string{}, 400, adminapi.CodeBadRequest},
		{"POST", seal + "/suspend", map[string]string{"reason": "x", "extra": "y"}, 400, adminapi.CodeBadRequest},
		{"POST", seal + "/suspend", map[string]string{"reason": strings.Repeat("x", adminapi.MaxBodySize)}, 413, adminapi.CodeTooLarge},
		{"POST", adminapi.Prefix + "/applications", adminapi.ApplicationRequest{ID: "app-big", Unit: "某某县民政局", Kind: "official", Clerk: "王芳",
			Materials: []adminapi.MaterialUpload{{Name: "scan.pdf", Data: make([]byte, adminapi.MaxUploadSize)}}}, 413, adminapi.CodeTooLarge},
		{"POST", seal + "/activate", adminapi.StatusRequest{Reason: "already active"}, 409, adminapi.CodeTransition},
		{"POST", adminapi.Prefix + "/seals", adminapi.MakeRequest{Unit: "civil-affairs", Code: "33010288888888", Approvers: []string{"approver-zhang"}, SignerKey: "pkcs11:object=x"}, 400, adminapi.CodeInvalid},
		{"POST", adminapi.Prefix + "/seals", adminapi.MakeRequest{Unit: "no-such-unit", Code: "33010288888888", Approvers: []string{"approver-zhang"}}, 400, adminapi.CodeInvalid},
		{"POST", adminapi.Prefix + "/seals", adminapi.MakeRequest{Unit: "civil-affairs", KeyType: "p256", Code: "33010288888888", Approvers: []string{"approver-zhang"}}, 400, adminapi.CodeInvalid},
		{"POST", adminapi.Prefix + "/seals", adminapi.MakeRequest{Unit: "civil-new", UnitName: "某某县新单位", KeyType: "ed25519", Code: "33010288888888", Approvers: []string{"approver-zhang"}}, 400, adminapi.CodeInvalid},
	} {
		f.ensure(t, f.sealA, "active")
		code, b := f.call(t, admin, tc.method, tc.path, tc.body)
		var e adminapi.Error
		if err := json.Unmarshal(b, &e); err != nil || code != tc.status || e.Code != tc.code || e.Message == "" {
			t.Errorf("%s %s: %d %s, want %d %s: %s", tc.method, tc.path, code, e.Code, tc.status, tc.code, b)
		}
	}
	// A route that carries files takes more than MaxBodySize: a scan of
	// some megabytes.
	scan := adminapi.ApplicationRequest{ID: "app-scan", Unit: "某某县民政局", Kind: "official", Clerk: "王芳",
		Materials: []adminapi.MaterialUpload{{Name: "licence-scan.pdf", Data: bytes.Repeat([]byte("%PDF scan "), adminapi.MaxBodySize/4)}}}
	if code, b := f.call(t, admin, "POST", adminapi.Prefix+"/applications", scan); code != http.StatusCreated {
		t.Errorf("an application with a %d-byte material: %d %s, want 201", len(scan.Materials[0].Data), code, b)
	}
	req, _ := http.NewRequest("POST", f.url+seal+"/suspend", strings.NewReader("reason=lost"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := admin.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form body: %s, want 415", resp.Status)
	}
}
