package adminapi_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// TestClientCRL runs the admin listener the way sealpipe serve does (the
// engine's AdminServer: the development TLS CA's <data>/pki/tls/ca.crl
// as the client CRL) and revokes a keeper's certificate while it runs.
// Each step changes the CRL file under the running server, then checks
// with real TLS handshakes who gets through: the revoked keeper is
// refused at the handshake, the auditor is not; a connection the keeper
// opened before the revocation gets 401; a CRL that does not verify under
// the CA, is garbage or is past its nextUpdate refuses every client, with
// an error in the log, until a good CRL is back.
func TestClientCRL(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	logs := &testenv.LogBuffer{}
	e := engine.New(engine.Settings{Data: filepath.Join(dir, "data"), KeyPassphrase: "client crl test"},
		engine.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	ca, err := e.InitDevCA([]devca.Unit{{Slug: "civil-affairs", Name: "某某县民政局"}}, []devca.Approver{{Slug: "approver-zhang", Name: "张伟"}})
	if err != nil {
		t.Fatal(err)
	}
	tlsCA, err := trust.LoadCertificates(ca.TLSCAPath())
	if err != nil {
		t.Fatal(err)
	}
	pool := trust.NewPool(tlsCA)
	issue := func(role adminapi.Role, name string) (tls.Certificate, string) {
		spec := engine.ClientSpec{Role: string(role), Name: name, Out: filepath.Join(dir, "clients")}
		if role == adminapi.RoleKeeper {
			spec.Unit = "civil-affairs"
		}
		crt, key, err := e.IssueClient(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := adminapi.LoadKeyPair(crt, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		return pair, crt
	}
	keeper, keeperCrt := issue(adminapi.RoleKeeper, "keeper-zhao")
	auditor, _ := issue(adminapi.RoleAuditor, "auditor-sun")

	srv, cert, err := e.AdminServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln, cert) }()
	t.Cleanup(func() { stop(); <-done })
	url := "https://" + ln.Addr().String() + adminapi.Prefix + "/whoami"

	client := func(c tls.Certificate) *http.Client {
		cfg := adminapi.ClientTLS(c, pool, "127.0.0.1")
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 30 * time.Second}
	}
	// whoami on a new connection: "ok", or the handshake's refusal.
	fresh := func(c tls.Certificate) string {
		t.Helper()
		cl := client(c)
		defer cl.CloseIdleConnections()
		resp, err := cl.Get(url)
		if err != nil {
			var alert tls.AlertError
			if !errors.As(err, &alert) && !strings.Contains(err.Error(), "tls") {
				t.Fatalf("want a TLS alert, got %v", err)
			}
			return "refused at the handshake"
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("an accepted handshake got %s: %s", resp.Status, b)
		}
		return "ok"
	}
	const ok, refused = "ok", "refused at the handshake"

	// A connection the keeper opens before it is revoked, kept alive.
	kept := client(keeper)
	defer kept.CloseIdleConnections()
	if resp, err := kept.Get(url); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	// A client that resumes its TLS sessions: its first connection
	// before the revocation, later ones resumed (without a certificate
	// message, so VerifyConnection must check the CRL there too).
	resumer := func() *http.Client {
		cfg := adminapi.ClientTLS(keeper, pool, "127.0.0.1")
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}, Timeout: 30 * time.Second}
	}()
	for i := range 2 {
		resp, err := resumer.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if i == 1 && !resp.TLS.DidResume {
			t.Fatal("the second connection did not resume: the test cannot tell")
		}
	}

	crlPath := ca.TLSCRLPath()
	var goodCRL []byte
	outsider, err := devca.Init(devca.Config{Dir: filepath.Join(dir, "outsider"), Passphrase: []byte("outsider")})
	if err != nil {
		t.Fatal(err)
	}

	for _, step := range []struct {
		name            string
		change          func(t *testing.T) // the CRL file under the running server
		keeper, auditor string
		log             string // what the server's log says, if anything
	}{
		{"no CRL yet: nothing revoked", func(t *testing.T) {}, ok, ok, ""},
		{"keeper revoked", func(t *testing.T) {
			certs, err := trust.LoadCertificates(keeperCrt)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := ca.RevokeTLSClient(ctx, devca.TLSRevoke{Cert: certs[0], Reason: "affiliation-changed"}); err != nil {
				t.Fatal(err)
			}
			if goodCRL, err = os.ReadFile(crlPath); err != nil {
				t.Fatal(err)
			}
		}, refused, ok, "client CRL loaded"},
		{"a CRL another CA signed (same issuer name)", func(t *testing.T) {
			if _, err := outsider.IssueTLSCRL(ctx, 0); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(outsider.TLSCRLPath())
			if err != nil {
				t.Fatal(err)
			}
			writeCRL(t, crlPath, b)
		}, refused, refused, "signature does not verify under the trusted CA"},
		{"the good CRL back", func(t *testing.T) { writeCRL(t, crlPath, goodCRL) }, refused, ok, "client CRL usable again"},
		{"garbage", func(t *testing.T) { writeCRL(t, crlPath, []byte("not a CRL")) }, refused, refused, "client CRL unusable"},
		{"past its nextUpdate", func(t *testing.T) {
			if _, _, err := ca.RevokeTLSClient(ctx, devca.TLSRevoke{Serial: big.NewInt(0x5EA1), Now: time.Now().Add(-48 * time.Hour), CRLValidity: time.Hour}); err != nil {
				t.Fatal(err)
			}
		}, refused, refused, "expired at its nextUpdate"},
		{"issued again", func(t *testing.T) {
			if _, err := ca.IssueTLSCRL(ctx, 0); err != nil {
				t.Fatal(err)
			}
		}, refused, ok, "client CRL usable again"},
	} {
		t.Run(step.name, func(t *testing.T) {
			before := len(logs.String())
			step.change(t)
			if got := fresh(keeper); got != step.keeper {
				t.Errorf("keeper: %s, want %s", got, step.keeper)
			}
			if got := fresh(auditor); got != step.auditor {
				t.Errorf("auditor: %s, want %s", got, step.auditor)
			}
			if !strings.Contains(logs.String()[before:], step.log) {
				t.Errorf("the log does not say %q:\n%s", step.log, logs.String()[before:])
			}
		})
	}

	// A resumed session of the revoked keeper is refused at the handshake.
	if resp, err := resumer.Get(url); err == nil {
		resp.Body.Close()
		t.Fatalf("a resumed session of the revoked keeper: %s (resumed %v), want a TLS error", resp.Status, resp.TLS.DidResume)
	}

	// The connection opened before the revocation: 401, saying why.
	resp, err := kept.Get(url)
	if err != nil {
		t.Fatalf("the kept-alive connection: %v", err)
	}
	defer resp.Body.Close()
	var body adminapi.Error
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized || body.Code != adminapi.CodeUnauthenticated || !strings.Contains(body.Message, "client certificate revoked") || !strings.Contains(body.Message, "affiliationChanged") {
		t.Fatalf("revoked keeper on an open connection: %d %+v", resp.StatusCode, body)
	}
	// The handshake refusal is logged with its reason.
	if !strings.Contains(logs.String(), `adminapi: client certificate revoked: \"keeper-zhao\"`) {
		t.Errorf("the log does not name the revoked certificate:\n%s", logs.String())
	}
}

// writeCRL replaces the CRL file as a publisher would: a new file renamed
// over the old.
func writeCRL(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
