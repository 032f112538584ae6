package trust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// Defaults of a CRLFetcher's zero fields.
const (
	// DefaultCRLTimeout bounds one CRL download, connection included.
	DefaultCRLTimeout = 10 * time.Second
	// DefaultCRLMaxSize bounds the size of one CRL.
	DefaultCRLMaxSize = 16 << 20
	// DefaultCRLCacheEntries bounds the URLs whose CRL is kept.
	DefaultCRLCacheEntries = 256
)

const (
	// crlMaxAge is how long a CRL without nextUpdate is kept.
	crlMaxAge = time.Hour
	// crlRetryAfter is how long a failed download is remembered before
	// the URL is tried again, so that a batch of documents does not
	// hammer a server that is down.
	crlRetryAfter = time.Minute
	// maxCRLRedirects bounds the HTTP redirects one download follows.
	maxCRLRedirects = 3
)

// ErrCRLFetch is wrapped by every error of CRLFetcher.Fetch.
var ErrCRLFetch = errors.New("trust: CRL download failed")

// CRLFetcher downloads certificate revocation lists over HTTP or HTTPS
// (RFC 5280 §4.2.1.13, §6.3) and keeps each, per URL, until its
// nextUpdate (an hour when it states none). A failed download is
// remembered for a minute before the URL is tried again. Downloads are
// bounded in time (Timeout) and size (MaxSize), and the cache in entries
// (MaxEntries). The zero value is ready to use; a CRLFetcher is safe for
// concurrent use and must not be copied after first use.
//
// The fetcher downloads whatever URL it is given: which URLs it is given
// is the caller's decision (see OnlineCRLs), since a URL chosen by a
// document or a bucket object would let that object make the verifier
// send requests where it likes.
type CRLFetcher struct {
	// Client makes the requests. Nil means a client of its own whose
	// redirects stay on http and https, at most three.
	Client *http.Client
	// Timeout bounds one download. Zero means DefaultCRLTimeout.
	Timeout time.Duration
	// MaxSize bounds one CRL in bytes. Zero means DefaultCRLMaxSize.
	MaxSize int64
	// MaxEntries bounds the URLs kept in the cache; the least recently
	// used goes first. Zero means DefaultCRLCacheEntries.
	MaxEntries int
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]*crlEntry
}

// crlEntry is one URL's cached CRL or failure. mu serialises the
// downloads of the URL, so that concurrent verifications fetch it once.
type crlEntry struct {
	mu      sync.Mutex
	crl     *smx509.RevocationList // the last CRL downloaded, nil if none
	err     error                  // the last download's failure, nil if it succeeded
	expires time.Time              // download again from then on
	used    time.Time              // for eviction
}

func (f *CRLFetcher) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Fetch returns the CRL at rawURL, from the cache while it is fresh. On a
// failed download it returns an error wrapping ErrCRLFetch together with
// the CRL last downloaded from the URL, if any, which may be stale: its
// issuer says whose revocation status is now unknown. The CRL's signature
// is not checked here (Pool does it against the issuer of the certificate
// in question).
func (f *CRLFetcher) Fetch(ctx context.Context, rawURL string) (*smx509.RevocationList, error) {
	e := f.entry(rawURL)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := f.now()
	if now.Before(e.expires) {
		return e.crl, e.err
	}
	crl, err := f.download(ctx, rawURL)
	if err != nil {
		e.err, e.expires = err, now.Add(crlRetryAfter)
		return e.crl, err
	}
	e.crl, e.err = crl, nil
	switch {
	case crl.NextUpdate.IsZero():
		e.expires = now.Add(crlMaxAge)
	case crl.NextUpdate.After(now):
		e.expires = crl.NextUpdate
	default: // already stale when served: try again soon
		e.expires = now.Add(crlRetryAfter)
	}
	return crl, nil
}

// entry returns the cache entry of rawURL, making room for it if needed.
func (f *CRLFetcher) entry(rawURL string) *crlEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if f.cache == nil {
		f.cache = make(map[string]*crlEntry)
	}
	if e, ok := f.cache[rawURL]; ok {
		e.used = now
		return e
	}
	limit := f.MaxEntries
	if limit <= 0 {
		limit = DefaultCRLCacheEntries
	}
	for len(f.cache) >= limit {
		var oldest string
		for u, e := range f.cache {
			if oldest == "" || e.used.Before(f.cache[oldest].used) {
				oldest = u
			}
		}
		delete(f.cache, oldest)
	}
	e := &crlEntry{used: now}
	f.cache[rawURL] = e
	return e
}

// download fetches and parses one CRL.
func (f *CRLFetcher) download(ctx context.Context, rawURL string) (*smx509.RevocationList, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrCRLFetch, rawURL, fmt.Sprintf(format, args...))
	}
	if !isHTTP(rawURL) {
		return nil, fail("not an http or https URL")
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultCRLTimeout
	}
	limit := f.MaxSize
	if limit <= 0 {
		limit = DefaultCRLMaxSize
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fail("%v", err)
	}
	client := f.Client
	if client == nil {
		client = defaultCRLClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fail("%v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fail("HTTP status %s", resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fail("%d bytes, more than the limit of %d", resp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fail("%v", err)
	}
	if int64(len(b)) > limit {
		return nil, fail("more than the limit of %d bytes", limit)
	}
	crl, err := ParseCRL(b)
	if err != nil {
		return nil, fail("%v", err)
	}
	return crl, nil
}

// defaultCRLClient follows at most maxCRLRedirects redirects, and only to
// http and https URLs.
var defaultCRLClient = &http.Client{
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxCRLRedirects {
			return fmt.Errorf("more than %d redirects", maxCRLRedirects)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirect to a %s URL", req.URL.Scheme)
		}
		return nil
	},
}

// OnlineCRLs say which CRLs a Pool downloads while it verifies, on top of
// those added with AddCRL.
type OnlineCRLs struct {
	// URLs are http(s) URLs of CRLs, chosen by the operator. Each is
	// applied to the certificates of the issuer that signed it; one that
	// cannot be downloaded leaves the revocation status of its issuer's
	// certificates unknown (of every certificate, while its issuer has
	// never been seen).
	URLs []string
	// DistributionPoints, if set, also downloads the http(s) CRL
	// distribution points (RFC 5280 §4.2.1.13) that each certificate of a
	// chain names, the root excepted; a certificate none of whose
	// distribution points yields a current CRL of its issuer then has an
	// unknown revocation status. A certificate chooses these URLs: turn
	// this on only where requests to the addresses certificates name are
	// acceptable.
	DistributionPoints bool
	// Fetcher downloads and caches the CRLs. Nil means a CRLFetcher of
	// the pool's own, with the defaults.
	Fetcher *CRLFetcher
}

// SetOnlineCRLs makes Verify consult the CRLs o names. A revocation found
// on one is a *RevokedError as for CRLs added with AddCRL; a revocation
// status that cannot be established — a URL unreachable, a CRL stale (past
// its nextUpdate), unsigned by the issuer or with an unhandled critical
// extension — is a *RevocationUnknownError wrapping ErrRevocationUnknown.
func (p *Pool) SetOnlineCRLs(o OnlineCRLs) {
	if o.Fetcher == nil {
		o.Fetcher = &CRLFetcher{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.online = &o
}

// ErrRevocationUnknown: the revocation status of a certificate of the
// chain could not be established (see RevocationUnknownError).
var ErrRevocationUnknown = errors.New("trust: revocation status unknown")

// RevocationUnknownError reports a certificate whose revocation status
// could not be established from the online CRLs (Pool.SetOnlineCRLs). It
// wraps ErrRevocationUnknown and the cause. The chain is otherwise valid:
// the condition is temporary, and a later verification may succeed
// (ETSI EN 319 102-1 TRY_LATER).
type RevocationUnknownError struct {
	Cert   *smx509.Certificate // the certificate whose status is unknown
	Source string              // the CRL URL that failed
	Err    error               // why
}

func (e *RevocationUnknownError) Error() string {
	return fmt.Sprintf("%v: certificate %s: CRL %s: %v", ErrRevocationUnknown, Name(e.Cert), e.Source, e.Err)
}

// Unwrap returns ErrRevocationUnknown and the cause.
func (e *RevocationUnknownError) Unwrap() []error { return []error{ErrRevocationUnknown, e.Err} }

// check applies the online CRLs to chain (leaf first, root last) at
// verification time at. It returns the earliest revocation found, or the
// first certificate whose status is unknown.
func (o *OnlineCRLs) check(chain []*smx509.Certificate, at time.Time) (*RevokedError, *RevocationUnknownError) {
	var rev *RevokedError
	var unknown *RevocationUnknownError
	ctx := context.Background()
	for i := 0; i+1 < len(chain); i++ {
		c, issuer := chain[i], chain[i+1]
		for _, u := range o.URLs {
			crl, err := o.Fetcher.Fetch(ctx, u)
			if crl != nil && string(crl.RawIssuer) != string(issuer.RawSubject) {
				continue // another issuer's CRL
			}
			if err == nil {
				var r *RevokedError
				r, err = o.lookup(crl, c, issuer, at)
				rev = earliest(rev, r)
			}
			if err != nil && unknown == nil {
				unknown = &RevocationUnknownError{Cert: c, Source: u, Err: err}
			}
		}
		if !o.DistributionPoints {
			continue
		}
		var dpErr *RevocationUnknownError
		found := false
		for _, u := range c.CRLDistributionPoints {
			if !isHTTP(u) {
				continue // ldap: and others are not fetched
			}
			crl, err := o.Fetcher.Fetch(ctx, u)
			if err == nil && string(crl.RawIssuer) != string(issuer.RawSubject) {
				err = fmt.Errorf("the CRL is issued by %q, not by the certificate's issuer %q", crl.Issuer.String(), issuer.Subject.String())
			}
			if err == nil {
				var r *RevokedError
				r, err = o.lookup(crl, c, issuer, at)
				if rev = earliest(rev, r); err == nil {
					found = true
					break
				}
			}
			if dpErr == nil {
				dpErr = &RevocationUnknownError{Cert: c, Source: u, Err: err}
			}
		}
		if !found && dpErr != nil && unknown == nil {
			unknown = dpErr
		}
	}
	return rev, unknown
}

// lookup checks that crl is issuer's, fully understood and current, and
// returns c's entry on it, if any: also, with an error, when the CRL is
// stale.
func (o *OnlineCRLs) lookup(crl *smx509.RevocationList, c, issuer *smx509.Certificate, at time.Time) (*RevokedError, error) {
	if len(crl.AuthorityKeyId) > 0 && len(issuer.SubjectKeyId) > 0 && string(crl.AuthorityKeyId) != string(issuer.SubjectKeyId) {
		return nil, fmt.Errorf("the CRL's authority key identifier is not that of the issuer %s", Name(issuer))
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("the CRL does not verify with the key of the issuer %s: %v", Name(issuer), err)
	}
	if err := criticalCRLHandled(crl); err != nil {
		return nil, err
	}
	var rev *RevokedError
	for _, entry := range crl.RevokedCertificateEntries {
		if entry.SerialNumber.Cmp(c.SerialNumber) == 0 {
			r := &RevokedError{Cert: c, At: entry.RevocationTime, Reason: entry.ReasonCode, Checked: at}
			rev = earliest(rev, r)
		}
	}
	// A stale CRL still proves the revocations it lists, but not that a
	// certificate it does not list is unrevoked.
	if now := o.Fetcher.now(); !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
		return rev, fmt.Errorf("the CRL is stale: its next update was due %s", crl.NextUpdate.UTC().Format(time.RFC3339))
	}
	return rev, nil
}

// isHTTP reports whether u is an http or https URL.
func isHTTP(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}
