package s3

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// newTransport returns the HTTP transport a Store built from cfg uses:
// minio-go's defaults with cfg's timeouts.
func newTransport(cfg Config) *http.Transport {
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &writeDeadlineConn{Conn: c, timeout: cfg.WriteTimeout}, nil
		},
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       cfg.IdleConnTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		TLSHandshakeTimeout:   cfg.DialTimeout,
		ExpectContinueTimeout: 10 * time.Second,
		// Content is stored as given: never let the transport undo a
		// Content-Encoding: gzip.
		DisableCompression: true,
	}
	if cfg.Secure {
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return t
}

// writeDeadlineConn is a connection each write on which fails if it has
// not completed within timeout. net/http writes a request body in pieces
// of at most a few tens of KiB, so this catches a server that stopped
// reading without bounding the length of an upload.
type writeDeadlineConn struct {
	net.Conn
	timeout time.Duration
}

// Write implements net.Conn.
func (c *writeDeadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// dateKey is the context key under which a request carries the
// *serverDate its answer's Date is recorded in.
type dateKey struct{}

// serverDate is the Date header of the last answer to the requests made
// with a context carrying it.
type serverDate struct {
	mu sync.Mutex
	t  time.Time
}

// withServerDate returns a context whose requests record the Date of
// their answers in the returned serverDate.
func withServerDate(ctx context.Context) (context.Context, *serverDate) {
	d := new(serverDate)
	return context.WithValue(ctx, dateKey{}, d), d
}

// get returns the recorded date, or the local clock if no answer had a
// Date header.
func (d *serverDate) get() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.t.IsZero() {
		return time.Now().Truncate(time.Second)
	}
	return d.t
}

// dateRecorder is an http.RoundTripper that records the Date of each
// answer in the serverDate of its request's context, if any. minio-go
// does not pass on the headers of a PUT's answer but for the ETag, and
// the Date is the closest an S3 answer comes to the new version's
// modification time.
type dateRecorder struct{ next http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t *dateRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if d, ok := req.Context().Value(dateKey{}).(*serverDate); ok {
		if date, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			d.mu.Lock()
			d.t = date
			d.mu.Unlock()
		}
	}
	return resp, nil
}
