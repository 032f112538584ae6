// Package httpserve is the plumbing sealpipe's HTTP listeners share (the
// admin API and the verification service): serving until a context ends
// and then shutting down gracefully, recording a response's status and
// size for the access log, and writing JSON responses.
package httpserve

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve runs srv on ln until ctx is done, then shuts it down, letting the
// requests in flight finish for up to grace. With tls it serves TLS with
// srv.TLSConfig's certificates. It returns srv's error if serving fails,
// else the shutdown's (nil when every request finished in time).
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, tls bool, grace time.Duration) error {
	done := make(chan error, 1)
	go func() {
		if tls {
			done <- srv.ServeTLS(ln, "", "")
			return
		}
		done <- srv.Serve(ln)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// StatusWriter is an http.ResponseWriter that records the status and the
// size of the response written through it.
type StatusWriter struct {
	http.ResponseWriter
	// Status is the response's status; zero until one is written.
	Status int
	// Bytes counts the body's bytes written.
	Bytes int64
}

// WriteHeader records status and writes it.
func (w *StatusWriter) WriteHeader(status int) {
	if w.Status == 0 {
		w.Status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write writes b, recording 200 if no status was written before.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

// WriteJSON writes body as indented JSON with status, marked not to be
// cached or sniffed. A body that cannot be encoded becomes a 500 with the
// error code INTERNAL.
func WriteJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.MarshalIndent(body, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"INTERNAL","message":"internal error: the response could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
