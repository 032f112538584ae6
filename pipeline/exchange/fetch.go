package exchange

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// FetchOptions bound Fetch.
type FetchOptions struct {
	// MaxSize is the largest document read; zero means
	// MaxRevocationListSize.
	MaxSize int64
	// Timeout bounds a download; zero means a minute.
	Timeout time.Duration
	// Client downloads; nil means http.DefaultClient.
	Client *http.Client
}

// Fetch reads the document at src: an http(s):// URL, downloaded, or a
// file. Failures wrap ErrFetch. src comes from the operator (a command
// line or SEALPIPE_REVOCATIONS_URL), never from a document.
func Fetch(ctx context.Context, src string, opts FetchOptions) ([]byte, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = MaxRevocationListSize
	}
	var r io.ReadCloser
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		if opts.Timeout <= 0 {
			opts.Timeout = time.Minute
		}
		ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrFetch, src, err)
		}
		client := opts.Client
		if client == nil {
			client = http.DefaultClient
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFetch, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: %s: %s", ErrFetch, src, resp.Status)
		}
		r = resp.Body
	} else {
		f, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFetch, err)
		}
		r = f
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, opts.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFetch, src, err)
	}
	if int64(len(b)) > opts.MaxSize {
		return nil, fmt.Errorf("%w: %s: more than %d bytes", ErrFetch, src, opts.MaxSize)
	}
	return b, nil
}
