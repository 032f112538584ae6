package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
)

func newRunCmd(g *globals) *cobra.Command {
	var once bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the sealing pipeline against the configured store, queue and keys",
		Long: `Run the pipeline — the same as the demo — against configured services: an
S3/MinIO bucket (or the local store), Redis-backed Asynq queues (or an
in-process Redis) and the signing keys the registered seals name (SM4-encrypted
key files or pkcs11: keys in HSMs, through the pool the SEALPIPE_PKCS11_*
settings configure).

Batches are found by the inbox poller and, when SEALPIPE_S3_EVENTS_KEY is set,
by MinIO bucket events pushed into Redis (notify_redis). With --once it seals
every approved batch waiting in the inbox and exits: the form for scheduled
nightly jobs. Otherwise it runs until interrupted.

` + settingsHelp + engine.Help(),
		Example: `  SEALPIPE_S3_ENDPOINT=127.0.0.1:9000 SEALPIPE_REDIS_ADDR=127.0.0.1:6379 sealpipe run
  sealpipe run --once --config /etc/sealpipe.env`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			w, err := g.engine().StartWorkers(ctx, engine.WorkerOptions{})
			if err != nil {
				return err
			}
			defer w.Close()
			if !once {
				g.log.Info("sealpipe running")
				return w.Serve(ctx)
			}
			results, err := w.RunOnce(ctx, timeout)
			if err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(g, results)
			}
			if len(results) == 0 {
				fmt.Fprintln(g.stdout, "no approved batches waiting")
			}
			for _, r := range results {
				fmt.Fprintf(g.stdout, "%s: sealed %d, rejected %d (%s)\n", r.Batch, r.Sealed, r.Rejected, r.Report)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "seal what is waiting, then exit")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Hour, "with --once: give up waiting for a batch after this long")
	return cmd
}
