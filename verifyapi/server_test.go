package verifyapi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealpipe/sealpipe/docs"
	"github.com/sealpipe/sealpipe/internal/reportschema"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/verifyapi"
)

// newServer returns a test server of the verification service over d.
func newServer(t *testing.T, d *documents, cfg verifyapi.Config) *httptest.Server {
	t.Helper()
	if cfg.Verifier == nil {
		cfg.Verifier = d.verifier()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := verifyapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// form is a multipart body with the file data in field.
func form(t *testing.T, field, filename string, data []byte) (body []byte, contentType string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.WriteField("note", "ignored"); err != nil {
		t.Fatal(err)
	}
	if field != "" {
		fw, err := mw.CreateFormFile(field, filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

type response struct {
	status      int
	contentType string
	body        []byte
}

func do(t *testing.T, method, url, contentType string, body []byte, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

// TestVerify is the API's table: every kind of upload, as JSON and as a
// page.
func TestVerify(t *testing.T) {
	t.Parallel()
	d := testDocuments(t)
	ts := newServer(t, d, verifyapi.Config{})
	small := newServer(t, d, verifyapi.Config{MaxDocumentSize: 4096})
	sealedForm, sealedType := form(t, "document", `C:\Users\clerk\证明-0001.pdf`, d.sealed)
	noField, noFieldType := form(t, "", "", nil)
	otherField, otherFieldType := form(t, "file", "x.pdf", d.sealed)
	emptyFile, emptyFileType := form(t, "document", "empty.pdf", nil)
	bigForm, bigFormType := form(t, "document", "big.pdf", d.sealed)

	tests := []struct {
		name        string
		server      *httptest.Server
		query       string
		contentType string
		body        []byte
		status      int
		indication  report.Indication // of a JSON report
		code        string            // of a JSON error
		docName     string            // the report's document name
		html        []string          // in an HTML answer
		pdf         bool              // a PDF answer
	}{
		{name: "sealed", body: d.sealed, query: "?name=a.pdf", status: 200, indication: report.Passed, docName: "a.pdf"},
		{name: "sealed form", contentType: sealedType, body: sealedForm, status: 200, indication: report.Passed, docName: "证明-0001.pdf"},
		{name: "tampered", body: d.tampered, status: 200, indication: report.Failed, docName: "document"},
		{name: "unsigned", body: d.unsigned, status: 200, indication: report.Indeterminate},
		{name: "sealed ofd", body: d.sealedOFD, status: 200, indication: report.Passed},
		{name: "tampered ofd", body: d.tamperedOFD, status: 200, indication: report.Failed},
		{name: "not a document", body: []byte("hello, world"), status: 422, code: verifyapi.CodeNotADocument},
		{name: "broken pdf", body: []byte("%PDF-1.7\n1 0 obj <<"), status: 422, code: verifyapi.CodeUnreadable},
		{name: "empty", status: 400, code: verifyapi.CodeEmpty},
		{name: "form without the field", contentType: noFieldType, body: noField, status: 400, code: verifyapi.CodeEmpty},
		{name: "form with another field", contentType: otherFieldType, body: otherField, status: 400, code: verifyapi.CodeEmpty},
		{name: "form with an empty file", contentType: emptyFileType, body: emptyFile, status: 400, code: verifyapi.CodeEmpty},
		{name: "broken form", contentType: "multipart/form-data; boundary=x", body: []byte("--x\r\nno end"), status: 400, code: verifyapi.CodeBadRequest},
		{name: "oversized", server: small, body: d.sealed, status: 413, code: verifyapi.CodeTooLarge},
		{name: "oversized form", server: small, contentType: bigFormType, body: bigForm, status: 413, code: verifyapi.CodeTooLarge},
		{name: "unknown format", query: "?format=xml", body: d.sealed, status: 400, code: verifyapi.CodeBadRequest},
		{name: "page sealed", query: "?format=html", contentType: sealedType, body: sealedForm, status: 200,
			html: []string{"签章有效", "示例县政务服务中心电子印章", "33010000000001", "data:image/png;base64,", "证明-0001.pdf", `href="/?lang=zh"`,
				`href="data:application/pdf;base64,JVBERi`, `download="证明-0001.report.pdf"`}},
		{name: "pdf sealed", query: "?format=pdf", contentType: sealedType, body: sealedForm, status: 200, pdf: true},
		{name: "pdf tampered", query: "?format=pdf&lang=en", body: d.tampered, status: 200, pdf: true},
		{name: "page tampered", query: "?format=html&lang=en", body: d.tampered, status: 200,
			html: []string{"Not valid", "the content differs from what was signed"}},
		{name: "page not a document", query: "?format=html", body: []byte("hello"), status: 422,
			html: []string{"无法验证", "这个文件既不是 PDF，也不是 OFD 文件", `<form method="post"`}},
		{name: "page oversized", server: small, query: "?format=html&lang=en", body: d.sealed, status: 413,
			html: []string{"Cannot verify", "larger than this service verifies"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := tt.server
			if srv == nil {
				srv = ts
			}
			ct := tt.contentType
			if ct == "" {
				ct = "application/pdf"
			}
			r := do(t, "POST", srv.URL+"/api/v1/verify"+tt.query, ct, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.pdf {
				if r.contentType != "application/pdf" || !bytes.HasPrefix(r.body, []byte("%PDF-")) {
					t.Fatalf("Content-Type %q, body %.20q: want a PDF", r.contentType, r.body)
				}
				return
			}
			if tt.html != nil {
				if !strings.HasPrefix(r.contentType, "text/html") {
					t.Fatalf("Content-Type %q, want HTML", r.contentType)
				}
				for _, w := range tt.html {
					if !bytes.Contains(r.body, []byte(w)) {
						t.Errorf("page lacks %q", w)
					}
				}
				return
			}
			if r.contentType != "application/json" {
				t.Fatalf("Content-Type %q, want JSON", r.contentType)
			}
			if tt.code != "" {
				var e verifyapi.Error
				if err := json.Unmarshal(r.body, &e); err != nil || e.Code != tt.code || e.Message == "" {
					t.Fatalf("error %s (%v), want code %s", r.body, err, tt.code)
				}
				return
			}
			reportschema.Check(t, reportschema.Document, r.body)
			var doc report.Document
			if err := json.Unmarshal(r.body, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Indication != tt.indication {
				t.Fatalf("indication %s, want %s: %s", doc.Indication, tt.indication, r.body)
			}
			if tt.docName != "" && doc.Document != tt.docName {
				t.Errorf("document %q, want %q", doc.Document, tt.docName)
			}
			if tt.indication == report.Passed {
				s := doc.Signatures[0]
				if s.SealID != "33010000000001" || s.SealPicture == nil || !bytes.Equal(s.SealPicture.Data, d.picture) {
					t.Errorf("signature %s %v: want the seal and its picture", s.SealID, s.SealPicture != nil)
				}
			}
		})
	}
}

// TestPage: the verification page, in Chinese by default and in English
// when asked, posts the document to the API as a page; other paths and
// methods are JSON errors.
func TestPage(t *testing.T) {
	t.Parallel()
	ts := newServer(t, testDocuments(t), verifyapi.Config{})
	tests := []struct {
		name, method, path string
		header             []string
		status             int
		want               []string
	}{
		{"chinese", "GET", "/", nil, 200, []string{`<html lang="zh-CN">`, "电子印章验证", `action="/api/v1/verify?format=html&amp;lang=zh"`, `name="document"`, `href="/?lang=en"`}},
		{"english", "GET", "/?lang=en", nil, 200, []string{`<html lang="en">`, "Electronic seal verification", `lang=en"`}},
		{"accept-language", "GET", "/", []string{"Accept-Language", "en-GB,en;q=0.9"}, 200, []string{"Electronic seal verification"}},
		{"not found", "GET", "/nowhere", nil, 404, []string{`"code": "NOT_FOUND"`}},
		{"wrong method", "GET", "/api/v1/verify", nil, 405, []string{`"code": "METHOD_NOT_ALLOWED"`}},
		{"healthz", "GET", "/healthz", nil, 200, []string{"ok"}},
		{"schema", "GET", "/api/v1/report.schema.json", nil, 200, []string{`"$id": "` + docs.ReportSchemaID + `"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, ts.URL+tt.path, "", nil, tt.header...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			for _, w := range tt.want {
				if !bytes.Contains(r.body, []byte(w)) {
					t.Errorf("answer lacks %q:\n%s", w, r.body)
				}
			}
		})
	}
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

// TestConcurrentUploads: documents verified at the same time, more than
// the server holds at once, each get their own verdict, and no more than
// MaxConcurrent are verified at once.
func TestConcurrentUploads(t *testing.T) {
	t.Parallel()
	d := testDocuments(t)
	counter := &countingVerifier{Verifier: d.verifier()}
	ts := newServer(t, d, verifyapi.Config{MaxConcurrent: 2, Verifier: counter})
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := range 24 {
		wg.Go(func() {
			body, want := d.sealed, report.Passed
			if i%3 == 1 {
				body, want = d.tampered, report.Failed
			}
			resp, err := http.Post(ts.URL+"/api/v1/verify", "application/pdf", bytes.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var doc report.Document
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				errs <- err
				return
			}
			if doc.Indication != want {
				errs <- errors.New("upload " + string(rune('0'+i%10)) + ": " + string(doc.Indication) + ", want " + string(want))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if counter.max < 1 || counter.max > 2 {
		t.Errorf("%d documents verified at once, want 1 or 2", counter.max)
	}
}

// countingVerifier records the most verifications running at once.
type countingVerifier struct {
	verifyapi.Verifier
	mu       sync.Mutex
	now, max int
}

func (c *countingVerifier) DocumentReader(ctx context.Context, name string, r io.ReaderAt, size int64) (*report.Document, error) {
	c.mu.Lock()
	c.now++
	c.max = max(c.max, c.now)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.now--
		c.mu.Unlock()
	}()
	time.Sleep(5 * time.Millisecond) // long enough for the others to pile up
	return c.Verifier.DocumentReader(ctx, name, r, size)
}

// TestReadyz: ready while every probe passes; one failing makes it 503,
// naming the probe but not its error, which goes to the log.
func TestReadyz(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	var fail sync.Mutex
	failing := false
	ts := newServer(t, testDocuments(t), verifyapi.Config{
		Logger:     slog.New(slog.NewTextHandler(&log, nil)),
		ProbeEvery: -1,
		Probes: []verifyapi.Probe{
			{Name: "store", Check: func(context.Context) error { return nil }},
			{Name: "redis", Check: func(context.Context) error {
				fail.Lock()
				defer fail.Unlock()
				if failing {
					return errors.New("dial tcp 10.0.0.7:6379: connection refused")
				}
				return nil
			}},
		},
	})
	r := do(t, "GET", ts.URL+"/readyz", "", nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"ready": true`)) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	fail.Lock()
	failing = true
	fail.Unlock()
	r = do(t, "GET", ts.URL+"/readyz", "", nil)
	if r.status != 503 || !bytes.Contains(r.body, []byte(`"name": "redis",`+"\n"+`      "ok": false`)) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if bytes.Contains(r.body, []byte("10.0.0.7")) {
		t.Errorf("/readyz reveals the probe's error: %s", r.body)
	}
	if !strings.Contains(log.String(), "10.0.0.7") {
		t.Errorf("the log lacks the probe's error:\n%s", log.String())
	}
}

// TestReadyzCached: /readyz runs the probes at most once a ProbeEvery,
// however often it is asked.
func TestReadyzCached(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	runs := 0
	ts := newServer(t, testDocuments(t), verifyapi.Config{
		ProbeEvery: time.Hour,
		Probes: []verifyapi.Probe{{Name: "key", Check: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			runs++
			return nil
		}}},
	})
	for range 5 {
		if r := do(t, "GET", ts.URL+"/readyz", "", nil); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	if runs != 1 {
		t.Errorf("the probes ran %d times for 5 requests within ProbeEvery, want once", runs)
	}
}

// TestAccessLogAndMetrics: each request is one log line with its route,
// status and verdict, and counted in the metrics served on /metrics.
func TestAccessLogAndMetrics(t *testing.T) {
	t.Parallel()
	d := testDocuments(t)
	var log testenv.LogBuffer
	ts := newServer(t, d, verifyapi.Config{Logger: slog.New(slog.NewTextHandler(&log, nil)), Metrics: prometheus.NewRegistry()})
	do(t, "POST", ts.URL+"/api/v1/verify", "application/pdf", d.tampered)
	do(t, "POST", ts.URL+"/api/v1/verify", "application/pdf", nil)
	m := do(t, "GET", ts.URL+"/metrics", "", nil)
	for _, w := range []string{
		`sealpipe_verify_documents_total{indication="TOTAL_FAILED"} 1`,
		`sealpipe_verify_requests_total{route="POST /api/v1/verify",status="200"} 1`,
		`sealpipe_verify_requests_total{route="POST /api/v1/verify",status="400"} 1`,
	} {
		if !bytes.Contains(m.body, []byte(w)) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	for _, w := range []string{
		`route="POST /api/v1/verify" status=200`, "indication=TOTAL_FAILED",
		`route="POST /api/v1/verify" status=400`, "code=EMPTY_DOCUMENT",
	} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("access log lacks %s:\n%s", w, log.String())
		}
	}
}

// TestServeTLS: Serve answers over TLS with the certificate given and,
// once its context ends, lets a request in flight finish and returns nil.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	d := testDocuments(t)
	cert, pool := tlsCertificate(t)
	release := make(chan struct{})
	started := make(chan struct{})
	slow := slowVerifier{d.verifier(), started, release}
	s, err := verifyapi.New(verifyapi.Config{Verifier: slow})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, &cert) }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := "https://" + ln.Addr().String()
	resp, err := client.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := make(chan int, 1)
	go func() {
		resp, err := client.Post(url+"/api/v1/verify", "application/pdf", bytes.NewReader(d.sealed))
		if err != nil {
			got <- -1
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-started
	cancel()
	time.Sleep(50 * time.Millisecond) // Serve is shutting down, the request still in flight
	close(release)
	if status := <-got; status != 200 {
		t.Fatalf("the request in flight got %d", status)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := client.Get(url + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

// slowVerifier holds each verification until release closes.
type slowVerifier struct {
	verifyapi.Verifier
	started chan struct{}
	release chan struct{}
}

func (s slowVerifier) DocumentReader(ctx context.Context, name string, r io.ReaderAt, size int64) (*report.Document, error) {
	close(s.started)
	<-s.release
	return s.Verifier.DocumentReader(ctx, name, r, size)
}

// tlsCertificate returns a self-signed ECDSA certificate for 127.0.0.1
// and a pool that trusts it.
func tlsCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"}}, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
