package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
)

func newServeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Serve the public verification service (验章) and the seal administration API",
		Long: `Run the listeners the settings configure until interrupted (SIGINT or
SIGTERM), then finish the requests in flight (up to 30s) and exit 0:

  http     the public verification service on SEALPIPE_HTTP_ADDR (default
           127.0.0.1:8080; TLS with SEALPIPE_HTTP_TLS_CERT and _KEY): the
           verification page at /, where anyone chooses or drops a PDF or
           OFD document and reads the verdict; POST /api/v1/verify, the
           document as the body or the multipart field "document", answered
           with its JSON report (?format=html: the page, ?format=pdf: the
           PDF report); GET /v/<code>, the report of the document sealed
           here with that verification code, and a form to compare a
           document in hand with it (with SEALPIPE_VERIFY_BASE_URL set to
           this service's public address, the pipeline prints a QR code of
           that address and the code under the seal of each PDF); /healthz; /readyz (the object store,
           Redis and the keys answer); /metrics. No login; documents up to
           SEALPIPE_MAX_DOCUMENT_SIZE are verified in memory and never
           stored
  admin    the seal administration API on SEALPIPE_ADMIN_ADDR, mutual TLS
           (see sealpipe ca issue-client); its routes are under /api/v1,
           described by GET /api/v1/openapi.json
  metrics  Prometheus /metrics on SEALPIPE_METRICS_ADDR, if set

Each listener's URL is printed on stdout once it listens ("http:
http://127.0.0.1:8080", "admin: https://127.0.0.1:8443"); with port 0 the
system picks one. Nothing to serve (SEALPIPE_HTTP_ADDR=off and no
SEALPIPE_ADMIN_ADDR or exchange job) is a usage error (exit 2).

The admin listener requires a client certificate during the TLS handshake:
one that chains to SEALPIPE_ADMIN_TLS_CLIENT_CA (default: the development
TLS CA, <data>/pki/tls/ca.crt) or SEALPIPE_ROOTS, valid and on no CRL
(SEALPIPE_CRLS); a connection without one fails before any request. Its role OID (SEALPIPE_API_*_OID) gives the
role, its subject the name (CN) and units (O: a keeper's units; OU: an
uploader's departments). Every change is signed with the seal
administrator's key (SEALPIPE_ADMIN_KEY, opened at start) and records the
client's name, role and key fingerprint in the signed registry change.
The server's certificate is SEALPIPE_ADMIN_TLS_CERT (default: the
development one ca init makes for 127.0.0.1, ::1 and localhost).

The access log (one line a request: route, status, client) goes to stderr
at level info, the default for serve.`,
		Example: `  sealpipe serve          # then open http://127.0.0.1:8080/
  curl --data-binary @sealed.pdf http://127.0.0.1:8080/api/v1/verify

  sealpipe ca init
  SEALPIPE_ADMIN_ADDR=127.0.0.1:8443 sealpipe serve
  # elsewhere: a client certificate, and the seals commands through the API
  sealpipe ca issue-client --role admin --name admin-wang --out ./clients
  export SEALPIPE_ADMIN_URL=https://127.0.0.1:8443 \
      SEALPIPE_ADMIN_CLIENT_CERT=./clients/admin-wang.crt SEALPIPE_ADMIN_CLIENT_KEY=./clients/admin-wang.key
  sealpipe seals list`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f := cmd.Flag("log-level"); f == nil || !f.Changed {
				g.log = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
				slog.SetDefault(g.log)
			}
			err := g.engine().Serve(cmd.Context(), engine.ServeOptions{Ready: func(name, url string) {
				fmt.Fprintf(g.stdout, "%s: %s\n", name, url)
			}})
			if errors.Is(err, engine.ErrNothingToServe) {
				return &exitError{exitUsage, err}
			}
			return err
		},
	}
}
