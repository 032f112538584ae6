package adminapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/audittrail"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// Client calls the API as the holder of a client certificate: what
// `sealpipe seals …` do when SEALPIPE_ADMIN_URL is set. Its methods
// return an *Error for an error response.
type Client struct {
	base string
	tls  *tls.Config
	http *http.Client
}

// NewClient returns a client of the API at baseURL (https://host:port),
// presenting cert and accepting the server only if its certificate
// chains to pool's roots and names the URL's host (ClientTLS).
func NewClient(baseURL string, cert tls.Certificate, pool *trust.Pool) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("adminapi: admin API URL %q: want https://host:port", baseURL)
	}
	tc := ClientTLS(cert, pool, u.Hostname())
	tr := &http.Transport{
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: ReadHeaderTimeout,
		ForceAttemptHTTP2:   true,
	}
	return &Client{base: "https://" + u.Host, tls: tc, http: &http.Client{Transport: tr, Timeout: WriteTimeout + ReadTimeout}}, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// do sends in (if not nil) as JSON and decodes the response into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if refused := c.handshakeRefusal(ctx); refused != nil {
			return refused
		}
		return fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin API: %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{}
		if json.Unmarshal(b, e) != nil || e.Code == "" {
			e = &Error{Message: fmt.Sprintf("admin API: %s %s: %s", method, path, resp.Status)}
		}
		e.Status = resp.StatusCode
		return e
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("admin API: %s %s: the response: %w", method, path, err)
	}
	return nil
}

// handshakeRefusal tells why a request failed when the server refused
// this client at the TLS handshake. Under TLS 1.3 the server checks the
// client's certificate after the client has finished its side of the
// handshake, so a request on that connection fails as a reset or, with
// HTTP/2, as a connection "not established", and the server's alert is
// lost. handshakeRefusal dials once more, completes the handshake and waits
// briefly for that alert; it returns nil when there is none (the failure
// was something else).
func (c *Client) handshakeRefusal(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d := tls.Dialer{Config: c.tls.Clone()}
	d.Config.NextProtos = nil
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(c.base, "https://"))
	if err != nil {
		return nil // the request's own error says why the dial failed
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != nil && strings.Contains(err.Error(), "tls:") {
		return fmt.Errorf("admin API: %s refused this client at the TLS handshake (revoked, expired or unknown client certificate?): %w", c.base, err)
	}
	return nil
}

func sealPath(id string, rest ...string) string {
	return strings.Join(append([]string{Prefix + "/seals/" + url.PathEscape(id)}, rest...), "/")
}

// Whoami returns who the server takes the client for.
func (c *Client) Whoami(ctx context.Context) (*Whoami, error) {
	var w Whoami
	return &w, c.do(ctx, http.MethodGet, Prefix+"/whoami", nil, &w)
}

// List returns the seals the client may read.
func (c *Client) List(ctx context.Context) ([]registry.Record, error) {
	var l SealList
	return l.Seals, c.do(ctx, http.MethodGet, Prefix+"/seals", nil, &l)
}

// Show returns seal id.
func (c *Client) Show(ctx context.Context, id string) (*Seal, error) {
	var s Seal
	return &s, c.do(ctx, http.MethodGet, sealPath(id), nil, &s)
}

// History returns seal id's history.
func (c *Client) History(ctx context.Context, id string) (*History, error) {
	var h History
	return &h, c.do(ctx, http.MethodGet, sealPath(id, "history"), nil, &h)
}

// Approvers returns seal id's approvers.
func (c *Client) Approvers(ctx context.Context, id string) (*Approvers, error) {
	var a Approvers
	return &a, c.do(ctx, http.MethodGet, sealPath(id, "approvers"), nil, &a)
}

// Make makes and registers a seal.
func (c *Client) Make(ctx context.Context, req MakeRequest) (*Seal, error) {
	var s Seal
	return &s, c.do(ctx, http.MethodPost, Prefix+"/seals", req, &s)
}

// MakeFromImpression makes and registers a seal whose picture is imp, an
// imported impression of the registered physical seal.
func (c *Client) MakeFromImpression(ctx context.Context, req MakeRequest, imp ImpressionUpload) (*Seal, error) {
	var s Seal
	return &s, c.do(ctx, http.MethodPost, Prefix+"/seals", MakeSealRequest{MakeRequest: req, Impression: &imp}, &s)
}

// Change replaces seal id by the new seal req describes and revokes it as
// superseded (seals change).
func (c *Client) Change(ctx context.Context, id string, req ChangeRequest) (*Succession, error) {
	var s Succession
	return &s, c.do(ctx, http.MethodPost, sealPath(id, "change"), req, &s)
}

// Renew renews seal id: a successor with a new code and validity, the old
// revoked as superseded (seals renew).
func (c *Client) Renew(ctx context.Context, id string, req RenewRequest) (*Succession, error) {
	var s Succession
	return &s, c.do(ctx, http.MethodPost, sealPath(id, "renew"), req, &s)
}

// SetStatus suspends, reactivates or revokes seal id.
func (c *Client) SetStatus(ctx context.Context, id string, to registry.Status, reason string) (*registry.Record, error) {
	return c.ChangeStatus(ctx, id, to, StatusRequest{Reason: reason})
}

// ChangeStatus is SetStatus with a reason code (StatusRequest.Code).
func (c *Client) ChangeStatus(ctx context.Context, id string, to registry.Status, req StatusRequest) (*registry.Record, error) {
	verb, ok := map[registry.Status]string{registry.StatusSuspended: "suspend", registry.StatusActive: "activate", registry.StatusRevoked: "revoke"}[to]
	if !ok {
		return nil, fmt.Errorf("%w: unknown status %q", registry.ErrTransition, to)
	}
	var r registry.Record
	return &r, c.do(ctx, http.MethodPost, sealPath(id, verb), req, &r)
}

// SetApprovers replaces seal id's approvers.
func (c *Client) SetApprovers(ctx context.Context, id string, req ApproversRequest) (*registry.Record, error) {
	var r registry.Record
	return &r, c.do(ctx, http.MethodPut, sealPath(id, "approvers"), req, &r)
}

func applicationPath(id string, rest ...string) string {
	return strings.Join(append([]string{Prefix + "/applications/" + url.PathEscape(id)}, rest...), "/")
}

// SubmitApplication submits an application for a seal with its identity
// materials (county rules 第八条).
func (c *Client) SubmitApplication(ctx context.Context, req ApplicationRequest) (*registry.Application, error) {
	var a registry.Application
	return &a, c.do(ctx, http.MethodPost, Prefix+"/applications", req, &a)
}

// ReviewApplication approves or refuses submitted application id.
func (c *Client) ReviewApplication(ctx context.Context, id string, req ReviewRequest) (*registry.Application, error) {
	var a registry.Application
	return &a, c.do(ctx, http.MethodPost, applicationPath(id, "review"), req, &a)
}

// Application returns application id, its materials' SM3 and its history.
func (c *Client) Application(ctx context.Context, id string) (*registry.Application, error) {
	var a registry.Application
	return &a, c.do(ctx, http.MethodGet, applicationPath(id), nil, &a)
}

// Applications returns every application for a seal and its state.
func (c *Client) Applications(ctx context.Context) ([]registry.Application, error) {
	var l ApplicationList
	return l.Applications, c.do(ctx, http.MethodGet, Prefix+"/applications", nil, &l)
}

// MakeFromApplication makes the seal approved application id asks for,
// suspended until filed, and returns the application, which names it.
func (c *Client) MakeFromApplication(ctx context.Context, id string, req ApplicationMakeRequest) (*registry.Application, error) {
	var a registry.Application
	return &a, c.do(ctx, http.MethodPost, applicationPath(id, "make"), req, &a)
}

// FileApplication files the seal made from application id, which
// activates it.
func (c *Client) FileApplication(ctx context.Context, id string, req FileRequest) (*registry.Application, error) {
	var a registry.Application
	return &a, c.do(ctx, http.MethodPost, applicationPath(id, "file"), req, &a)
}

// Audit queries the audit trail as audittrail.Trail.Query does, on the
// server: f's seals, unit and bounds (sent as RFC 3339 instants, so that
// the server reads the times f means), the events' times given in
// f.Location (if set). Records that do not verify are an
// *audittrail.UnverifiedError, as from Trail.Query.
func (c *Client) Audit(ctx context.Context, f audittrail.Filter) ([]audittrail.Event, error) {
	q := url.Values{"seal": f.Seals}
	for k, t := range map[string]time.Time{"from": f.From, "to": f.To} {
		if !t.IsZero() {
			q.Set(k, t.Format(time.RFC3339Nano))
		}
	}
	if f.Unit != "" {
		q.Set("unit", f.Unit)
	}
	var l AuditList
	err := c.do(ctx, http.MethodGet, Prefix+"/audit?"+q.Encode(), nil, &l)
	var e *Error
	if errors.As(err, &e) && e.Code == CodeAuditUnverified {
		return nil, &audittrail.UnverifiedError{Problems: e.Problems}
	}
	if err != nil {
		return nil, err
	}
	if f.Location != nil {
		for i := range l.Events {
			l.Events[i].Time = l.Events[i].Time.In(f.Location)
		}
	}
	return l.Events, nil
}
