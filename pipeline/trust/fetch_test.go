package trust

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// crlServer serves the CRL body() at /crl and counts the requests.
type crlServer struct {
	*httptest.Server
	requests atomic.Int64
}

func newCRLServer(t *testing.T, body func() []byte) *crlServer {
	t.Helper()
	s := &crlServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.URL.Path != "/crl" {
			http.NotFound(w, r)
			return
		}
		w.Write(body())
	}))
	t.Cleanup(s.Close)
	return s
}

// unreachableURL returns a URL nothing listens on.
func unreachableURL(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL + "/crl"
	s.Close()
	return u
}

// clock is a settable time for a CRLFetcher.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.t.Store(&t) }
func (c *clock) now() time.Time   { return *c.t.Load() }

func TestOnlineCRLs(t *testing.T) {
	t.Parallel()
	signerKU := smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment
	root := issue(t, spec{cn: "root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	sub := issue(t, spec{cn: "sub CA", ca: true, ku: caUsage, maxPathLen: -1}, root)
	signer := issue(t, spec{cn: "signer", ku: signerKU}, sub)
	other := issue(t, spec{cn: "other signer", ku: signerKU}, sub)
	revokedAt := t0.Add(-time.Hour)
	subCRL := revoke(t, sub, map[*smx509.Certificate]time.Time{signer.Cert: revokedAt}, 1)
	rootCRL := revoke(t, root, nil, 0)
	srv := newCRLServer(t, func() []byte { return subCRL })
	rootSrv := newCRLServer(t, func() []byte { return rootCRL })

	pool := func(o OnlineCRLs) *Pool {
		p := NewPool([]*smx509.Certificate{root.Cert}, sub.Cert)
		p.SetOnlineCRLs(o)
		return p
	}
	fetcher := func(c *clock) *CRLFetcher { return &CRLFetcher{Now: c.now} }

	t.Run("revoked, then from the cache", func(t *testing.T) {
		c := newClock(t0)
		p := pool(OnlineCRLs{URLs: []string{srv.URL + "/crl", rootSrv.URL + "/crl"}, Fetcher: fetcher(c)})
		before := srv.requests.Load()
		_, err := p.Verify(signer.Cert, t0, UsageDocumentSigner)
		var rev *RevokedError
		if !errors.As(err, &rev) || !rev.At.Equal(revokedAt) || rev.Reason != 1 {
			t.Fatalf("Verify = %v, want a RevokedError at %s for keyCompromise", err, revokedAt)
		}
		if _, err := p.Verify(other.Cert, t0, UsageDocumentSigner); err != nil {
			t.Fatalf("a certificate the CRL does not list: %v", err)
		}
		if _, err := p.Verify(signer.Cert, t0, UsageDocumentSigner); !errors.As(err, &rev) {
			t.Fatalf("second Verify = %v", err)
		}
		if n := srv.requests.Load() - before; n != 1 {
			t.Errorf("%d requests for three verifications, want 1 (cached until nextUpdate)", n)
		}
		// Past its nextUpdate the CRL is downloaded again.
		c.set(t0.AddDate(0, 0, 8))
		_, err = p.Verify(signer.Cert, t0, UsageDocumentSigner)
		if n := srv.requests.Load() - before; n != 2 {
			t.Errorf("%d requests after nextUpdate, want 2", n)
		}
		// It is still the same, stale CRL: the status is unknown, not "not
		// revoked" — except that a revocation it states stands.
		if !errors.As(err, &rev) {
			t.Errorf("stale CRL listing the signer: %v", err)
		}
		if _, err := p.Verify(other.Cert, t0, UsageDocumentSigner); !errors.Is(err, ErrRevocationUnknown) {
			t.Errorf("stale CRL: Verify = %v, want ErrRevocationUnknown", err)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		p := pool(OnlineCRLs{URLs: []string{unreachableURL(t)}, Fetcher: fetcher(newClock(t0))})
		chain, err := p.Verify(other.Cert, t0, UsageDocumentSigner)
		var ue *RevocationUnknownError
		if !errors.Is(err, ErrRevocationUnknown) || !errors.As(err, &ue) || !errors.Is(err, ErrCRLFetch) {
			t.Fatalf("Verify = %v, want a RevocationUnknownError wrapping ErrCRLFetch", err)
		}
		if len(chain) != 3 {
			t.Errorf("chain of %d certificates, want the otherwise valid chain of 3", len(chain))
		}
	})

	t.Run("revocation before the signing time wins over an unknown status", func(t *testing.T) {
		p := pool(OnlineCRLs{URLs: []string{srv.URL + "/crl", unreachableURL(t)}, Fetcher: fetcher(newClock(t0))})
		if _, err := p.Verify(signer.Cert, t0, UsageDocumentSigner); !errors.Is(err, ErrRevoked) {
			t.Fatalf("Verify = %v, want ErrRevoked", err)
		}
		// Revoked after the signing time: the unknown status decides.
		if _, err := p.Verify(signer.Cert, revokedAt.Add(-time.Minute), UsageDocumentSigner); !errors.Is(err, ErrRevocationUnknown) {
			t.Fatalf("Verify = %v, want ErrRevocationUnknown", err)
		}
	})

	t.Run("a CRL signed by someone else", func(t *testing.T) {
		// A CRL naming the sub CA as issuer but signed by another key.
		impostor := issue(t, spec{cn: "sub CA", ca: true, ku: caUsage, maxPathLen: -1}, root)
		forged := revoke(t, impostor, nil, 0)
		bad := newCRLServer(t, func() []byte { return forged })
		p := pool(OnlineCRLs{URLs: []string{bad.URL + "/crl"}, Fetcher: fetcher(newClock(t0))})
		if _, err := p.Verify(other.Cert, t0, UsageDocumentSigner); !errors.Is(err, ErrRevocationUnknown) {
			t.Fatalf("Verify = %v, want ErrRevocationUnknown", err)
		}
	})

	t.Run("distribution points only when allowed", func(t *testing.T) {
		var dpCRL []byte // set once the certificate naming the server exists
		dp := newCRLServer(t, func() []byte { return dpCRL })
		withDP := issue(t, spec{cn: "signer with DP", ku: signerKU, crlDPs: []string{"ldap://ldap.example/cn=crl", dp.URL + "/crl"}}, sub)
		dpCRL = revoke(t, sub, map[*smx509.Certificate]time.Time{withDP.Cert: revokedAt}, 0)
		off := pool(OnlineCRLs{Fetcher: fetcher(newClock(t0))})
		if _, err := off.Verify(withDP.Cert, t0, UsageDocumentSigner); err != nil || dp.requests.Load() != 0 {
			t.Fatalf("distribution points off: Verify = %v after %d requests, want nil after none", err, dp.requests.Load())
		}
		on := pool(OnlineCRLs{DistributionPoints: true, Fetcher: fetcher(newClock(t0))})
		if _, err := on.Verify(withDP.Cert, t0, UsageDocumentSigner); !errors.Is(err, ErrRevoked) || dp.requests.Load() != 1 {
			t.Fatalf("distribution points on: Verify = %v after %d requests, want ErrRevoked after 1", err, dp.requests.Load())
		}
		deadDP := issue(t, spec{cn: "signer with a dead DP", ku: signerKU, crlDPs: []string{unreachableURL(t)}}, sub)
		if _, err := on.Verify(deadDP.Cert, t0, UsageDocumentSigner); !errors.Is(err, ErrRevocationUnknown) {
			t.Fatalf("dead distribution point: Verify = %v, want ErrRevocationUnknown", err)
		}
	})
}

func TestCRLFetcherLimits(t *testing.T) {
	t.Parallel()
	root := issue(t, spec{cn: "root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	crl := revoke(t, root, nil, 0)
	big := newCRLServer(t, func() []byte { return crl })
	f := &CRLFetcher{MaxSize: int64(len(crl) - 1), Now: newClock(t0).now}
	if _, err := f.Fetch(t.Context(), big.URL+"/crl"); !errors.Is(err, ErrCRLFetch) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized CRL: %v", err)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	f = &CRLFetcher{Timeout: 50 * time.Millisecond}
	start := time.Now()
	if _, err := f.Fetch(t.Context(), slow.URL+"/crl"); !errors.Is(err, ErrCRLFetch) || time.Since(start) > 3*time.Second {
		t.Errorf("slow server: %v after %s", err, time.Since(start))
	}
	for _, u := range []string{"file:///etc/passwd", "ldap://x/cn=crl", "not a url", big.URL + "/missing"} {
		if _, err := (&CRLFetcher{}).Fetch(t.Context(), u); !errors.Is(err, ErrCRLFetch) {
			t.Errorf("Fetch(%q) = %v, want ErrCRLFetch", u, err)
		}
	}
	// The cache holds at most MaxEntries URLs.
	f = &CRLFetcher{MaxEntries: 2, Now: newClock(t0).now}
	for _, p := range []string{"/crl", "/crl?a", "/crl?b", "/crl"} {
		if _, err := f.Fetch(t.Context(), big.URL+p); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.cache); n != 2 {
		t.Errorf("%d cached URLs, want 2", n)
	}
}
