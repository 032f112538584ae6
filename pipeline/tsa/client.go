package tsa

import (
	"bytes"
	"context"
	"encoding/asn1"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"
)

// DefaultTimeout bounds one exchange with a TSA when the Client's
// HTTPClient has no timeout of its own.
const DefaultTimeout = 30 * time.Second

// Client asks a TSA for timestamp tokens over HTTP (RFC 3161 §3.4). Its
// zero value but URL is usable.
type Client struct {
	// URL is the TSA's address, an http(s):// URL.
	URL string
	// Hash is the imprint's hash algorithm; zero is SHA-256.
	Hash Hash
	// Policy, if set, is asked for and must come back.
	Policy asn1.ObjectIdentifier
	// HTTPClient sends the requests; nil means one with DefaultTimeout.
	HTTPClient *http.Client
}

var defaultHTTPClient = &http.Client{Timeout: DefaultTimeout}

// TimeStamp returns a DER TimeStampToken over data from the TSA: a token
// that answers the request made (imprint, nonce, policy) and whose
// signature verifies with the TSA certificate it carries. Whether that
// certificate is trusted is not judged here. Errors wrap ErrTSA (the
// exchange failed), ErrRejected, ErrMalformed, ErrMismatch, or the token
// errors of [VerifyToken].
func (c *Client) TimeStamp(ctx context.Context, data []byte) ([]byte, error) {
	req, err := NewRequest(c.Hash, data)
	if err != nil {
		return nil, err
	}
	req.Policy = c.Policy
	body, err := req.Marshal()
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTSA, err)
	}
	hreq.Header.Set("Content-Type", QueryType)
	hreq.Header.Set("Accept", ReplyType)
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTSA, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, MaxMessageSize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: reading the reply of %s: %w", ErrTSA, c.URL, err)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: %s answered %s: %.200q", ErrTSA, c.URL, resp.Status, reply)
	case len(reply) > MaxMessageSize:
		return nil, fmt.Errorf("%w: %s answered more than %d bytes", ErrTSA, c.URL, MaxMessageSize)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != ReplyType {
		return nil, fmt.Errorf("%w: %s answered %q, not %s", ErrTSA, c.URL, resp.Header.Get("Content-Type"), ReplyType)
	}
	r, err := ParseResponse(reply)
	if err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	info, err := ParseToken(r.Token)
	if err != nil {
		return nil, err
	}
	if err := info.Answers(req); err != nil {
		return nil, err
	}
	if _, err := VerifyToken(r.Token, data); err != nil {
		return nil, err
	}
	return r.Token, nil
}
