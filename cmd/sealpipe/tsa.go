package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/pipeline/tsa"
)

func newTSACmd(g *globals) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "tsa [--listen ADDR]",
		Short: "Serve a development RFC 3161 timestamp authority (SM2 and ECDSA) on SEALPIPE_TSA_ADDR",
		Long: `Serve a development timestamp authority (RFC 3161 over HTTP, §3.4) until
interrupted (SIGINT or SIGTERM): a POST of application/timestamp-query is
answered with application/timestamp-reply, a token or a rejection saying why
(badAlg, badDataFormat, unacceptedPolicy…). It is for development and tests
(SEALPIPE_TSA_URL, the pades-b-t signature format); production asks a
licensed TSA.

Two keys sign tokens, with their certificates under <data>/pki/tsa, issued on
first use by the development CA (sealpipe ca init first) with the critical
extended key usage id-kp-timeStamping alone:

  /sm2     SM2 with SM3 (GB/T 35275 SignerInfo), tsa/sm2.crt, issued by the
           SM2 root <data>/pki/root.crt
  /ecdsa   ECDSA P-256 with SHA-256, tsa/ecdsa.crt, issued by the development
           PAdES CA <data>/pki/pades/ca.crt (which also certifies the p256 and
           rsa2048 units' keys, and which verify trusts), which OpenSSL and
           NSS can check:
             openssl ts -verify -in reply.tsr -queryfile query.tsq \
                 -CAfile <data>/pki/pades/ca.crt
  /        by the request's imprint: SM3 to the SM2 key, SHA-2 to the ECDSA one

Tokens carry the TSA certificate when the request asks (certReq), a nonce
when it has one, the policy ` + tsa.DevPolicy.String() + `, genTime to the second
with an accuracy of one second, and the ESS signing-certificate-v2 attribute.
The listener's URL is printed on stdout once it listens ("tsa:
http://127.0.0.1:3161"); with port 0 the system picks one. One log line per
request goes to stderr at level info, the default here.`,
		Example: `  sealpipe ca init
  sealpipe tsa &
  openssl ts -query -data file -sha256 -cert -out query.tsq
  curl -s -H 'Content-Type: application/timestamp-query' --data-binary @query.tsq \
      http://127.0.0.1:3161/ecdsa -o reply.tsr
  openssl ts -verify -in reply.tsr -queryfile query.tsq -CAfile sealpipe-data/pki/pades/ca.crt
  # PDF signatures stamped by it:
  SEALPIPE_TSA_URL=http://127.0.0.1:3161/ecdsa SEALPIPE_PDF_SIGNATURE_FORMATS='*=pades-b-t' sealpipe run`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f := cmd.Flag("log-level"); f == nil || !f.Changed {
				g.log = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
				slog.SetDefault(g.log)
			}
			addr := listen
			if addr == "" {
				addr = g.engine().Settings().Signatures.TSAAddr
			}
			ca, err := g.engine().DevCA()
			if err != nil {
				return err
			}
			ids, err := ca.EnsureTSA(cmd.Context())
			if err != nil {
				return err
			}
			sm2, err := tsa.NewAuthority(ids.SM2Key, []*smx509.Certificate{ids.SM2.Cert})
			if err != nil {
				return err
			}
			ec, err := tsa.NewAuthority(ids.ECDSAKey, []*smx509.Certificate{ids.ECDSA.Cert})
			if err != nil {
				return err
			}
			sm2.Log, ec.Log = g.log, g.log
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return &exitError{exitUsage, fmt.Errorf("SEALPIPE_TSA_ADDR=%q: %w", addr, err)}
			}
			g.log.Info("development TSA", "sm2", ids.SM2.CertPath, "ecdsa", ids.ECDSA.CertPath)
			fmt.Fprintf(g.stdout, "tsa: http://%s\n", ln.Addr())
			return serveTSA(cmd.Context(), ln, &tsa.Mux{SM2: sm2, ECDSA: ec})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on ($SEALPIPE_TSA_ADDR, default 127.0.0.1:3161)")
	return cmd
}

// serveTSA serves h on ln until ctx is done, then finishes the requests in
// flight (up to 10s).
func serveTSA(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
