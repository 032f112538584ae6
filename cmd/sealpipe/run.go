package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
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
nightly jobs. Otherwise it runs until interrupted. Either applies the inbox
retention rule (SEALPIPE_INBOX_RETENTION; see sealpipe batch prune): run at
start and every hour, --once at its end, logging the inboxes it kept after an
error.

At start it logs a warning for each key whose passphrase or HSM PIN is older
than SEALPIPE_SECRET_MAX_AGE, or whose change did not finish (sealpipe keys
list says more), and for each active seal that expires within
SEALPIPE_SEAL_EXPIRY_WARNING (sealpipe seals renew makes its successor).

With --once it prints, per batch, what became of it: documents sealed and
rejected (with the count per rejection code and each rejected document's
reason), the time taken and documents per second (--json: the same as a JSON
array). It exits 1 if a batch that had documents got none sealed (every one
rejected, or the whole batch refused), 0 otherwise, also when nothing was
waiting. While it waits, a terminal on stderr gets a progress line every few
seconds; a stderr that is not a terminal gets none.

` + settingsHelp + engine.Help(),
		Example: `  SEALPIPE_S3_ENDPOINT=127.0.0.1:9000 SEALPIPE_REDIS_ADDR=127.0.0.1:6379 sealpipe run
  sealpipe run --once --config /etc/sealpipe.env`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			g.engine().WarnSecretAges(ctx)
			g.engine().WarnExpiringSeals(ctx)
			w, err := g.engine().StartWorkers(ctx, engine.WorkerOptions{})
			if err != nil {
				return err
			}
			defer w.Close()
			if !once {
				g.log.Info("sealpipe running")
				return w.Serve(ctx)
			}
			results, err := w.RunOnce(ctx, engine.RunOnceOptions{Timeout: timeout, Progress: progressLines(g)})
			if err != nil {
				if len(results) > 0 && !g.jsonOut {
					printRunResults(g, results)
				}
				return err
			}
			if g.jsonOut {
				if err := printJSON(g, results); err != nil {
					return err
				}
			} else {
				printRunResults(g, results)
			}
			return sealedNothing(results)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "seal what is waiting, then exit")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Hour, "with --once: give up waiting for a batch after this long")
	return cmd
}

// printRunResults prints the summary of each batch run --once waited for.
func printRunResults(g *globals, results []engine.BatchResult) {
	if len(results) == 0 {
		fmt.Fprintln(g.stdout, "no approved batches waiting")
	}
	for _, r := range results {
		fmt.Fprintf(g.stdout, "%s: sealed %d, rejected %d (%s)\n", r.Batch, r.Sealed, r.Rejected, r.Report)
		fmt.Fprintf(g.stdout, "  documents: %d\n  sealed:    %d\n  rejected:  %d\n", r.Documents, r.Sealed, r.Rejected)
		if br := r.BatchRejection; br != nil {
			fmt.Fprintf(g.stdout, "  batch refused: %s: %s\n", br.Code, br.Reason)
		}
		if len(r.Codes) > 0 {
			var codes []string
			for c, n := range r.Codes {
				codes = append(codes, fmt.Sprintf("%s %d", c, n))
			}
			slices.Sort(codes)
			fmt.Fprintf(g.stdout, "  by code:   %s\n", strings.Join(codes, ", "))
		}
		if r.BatchRejection == nil {
			for _, rj := range r.Rejections {
				fmt.Fprintf(g.stdout, "    - %s: %s: %s\n", rj.Document, rj.Code, rj.Reason)
			}
		}
		fmt.Fprintf(g.stdout, "  elapsed:   %s (%.1f docs/s)\n", time.Duration(r.ElapsedSeconds*float64(time.Second)).Round(time.Millisecond), r.DocsPerSecond)
	}
}

// sealedNothing is the exit of run --once: 1 naming the batches that had
// documents and got none sealed, nil if there are none.
func sealedNothing(results []engine.BatchResult) error {
	var bad []string
	for _, r := range results {
		if r.SealedNothing() {
			bad = append(bad, fmt.Sprintf("%s (%d document(s), all rejected)", r.Batch, r.Documents))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &exitError{exitFailed, fmt.Errorf("sealed nothing of %s", strings.Join(bad, ", "))}
}

// progressLines returns a RunOnce progress callback that writes a line to
// stderr when stderr is a terminal, and nil (no progress) otherwise.
func progressLines(g *globals) func(engine.Progress) {
	if !isTerminal(g.stderr) {
		return nil
	}
	return func(p engine.Progress) {
		fmt.Fprintf(g.stderr, "sealpipe: %s: batches %d/%d complete; documents %d/%d of the others have an outcome\n",
			p.Elapsed.Round(time.Second), p.Done, p.Batches, p.Finished, p.Documents)
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
