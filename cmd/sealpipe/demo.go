package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/workers"
)

// demoOptions are the demo's knobs.
type demoOptions struct {
	Docs        int
	Concurrency int
	Timeout     time.Duration
}

// demoSummary is what the demo prints.
type demoSummary struct {
	Batch          string   `json:"batch"`
	Documents      int      `json:"documents"`
	Sealed         int      `json:"sealed"`
	Rejected       int      `json:"rejected"`
	AlreadyDone    bool     `json:"already_done"`
	ElapsedSeconds float64  `json:"elapsed_seconds"`
	DocsPerSecond  float64  `json:"docs_per_second"`
	Rejections     []string `json:"rejections"`
	SealedDir      string   `json:"sealed_dir"`
	ReportsDir     string   `json:"reports_dir"`
	RejectedDir    string   `json:"rejected_dir"`
	BatchReport    string   `json:"batch_report"`
}

func newDemoCmd(g *globals) *cobra.Command {
	opts := demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Seal a sample batch end to end on embedded defaults (what `make demo` runs)",
		Long: `Run the whole pipeline on embedded defaults, with nothing to install:

  1. make the development SM2 trust chain and two unit seals, if absent
  2. render N sample service-hall certificates, plus two bad documents: one
     changed after approval (digest mismatch) and one naming a seal the
     approver may not use
  3. upload them with a signed approval into the local object store
     (<data>/store/<bucket>/inbox/civil-affairs/demo-N/)
  4. run intake → approval → sealing → verification → reports through Asynq
     workers on an in-process Redis (miniredis)

and print a summary. Running it again seals nothing twice: the batch is
already complete and its outputs stand.`,
		Example: `  sealpipe demo --data ./demo-data --docs 50`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Docs < 1 || opts.Docs > 100000 {
				return usageErr("--docs %d: want 1 to 100000", opts.Docs)
			}
			sum, err := runDemo(cmd.Context(), g, opts)
			if err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(g, sum)
			}
			printSummary(g, sum)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Docs, "docs", 20, "number of good sample documents (two bad ones are added)")
	f.IntVar(&opts.Concurrency, "concurrency", 0, "worker concurrency (default 4 × CPUs)")
	f.DurationVar(&opts.Timeout, "timeout", 10*time.Minute, "give up waiting for the batch after this long")
	return cmd
}

func runDemo(ctx context.Context, g *globals, opts demoOptions) (*demoSummary, error) {
	pass, err := g.passphrase(true)
	if err != nil {
		return nil, err
	}
	st, err := g.localStore() // the demo always runs on embedded defaults
	if err != nil {
		return nil, err
	}
	reg := registry.New(st)
	ca, err := demo.Setup(ctx, g.pkiDir(), pass, reg, actor())
	if err != nil {
		return nil, err
	}
	approver := ca.Approvers[demo.Approver]
	key, err := ca.Signer(ctx, approver)
	if err != nil {
		return nil, err
	}
	ref := pipeline.BatchRef{Department: demo.Department, Batch: fmt.Sprintf("demo-%d", opts.Docs)}
	batch, err := demo.MakeBatch(demo.BatchOptions{Ref: ref, Docs: opts.Docs, Bad: true, ApproverKey: key, ApproverCert: approver.Cert})
	if err != nil {
		return nil, err
	}
	if err := batch.Upload(ctx, st); err != nil {
		return nil, err
	}

	// The queue: Asynq workers on an in-process Redis.
	e, err := startEngine(ctx, g, st, reg, ca, asynq.RedisClientOpt{}, opts.Concurrency, nil)
	if err != nil {
		return nil, err
	}
	defer e.close()
	p, h := e.p, e.h

	_, doneBefore := st.Stat(ctx, ref.BatchReportKey())
	start := time.Now()
	poller := &workers.Poller{Store: st, Handlers: h, Logger: g.log}
	if _, err := poller.Scan(ctx); err != nil {
		return nil, err
	}
	b, err := waitBatch(ctx, p, st, ref, opts.Timeout)
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)

	bucketDir := g.storeLocation(st)
	sum := &demoSummary{
		Batch: ref.String(), Documents: len(b.Documents), Sealed: b.Sealed, Rejected: b.Rejected,
		AlreadyDone: doneBefore == nil, ElapsedSeconds: elapsed.Seconds(),
		SealedDir:   filepath.Join(bucketDir, storage.PrefixSealed, ref.String()) + "/",
		ReportsDir:  filepath.Join(bucketDir, storage.PrefixReports, ref.String()) + "/",
		RejectedDir: filepath.Join(bucketDir, storage.PrefixRejected, ref.String()) + "/",
		BatchReport: filepath.Join(bucketDir, ref.BatchReportKey()),
		Rejections:  []string{},
	}
	if !sum.AlreadyDone {
		sum.DocsPerSecond = float64(len(b.Documents)) / elapsed.Seconds()
	}
	for _, e := range b.Documents {
		if e.Outcome == report.OutcomeRejected {
			sum.Rejections = append(sum.Rejections, fmt.Sprintf("%s: %s: %s", e.Document, e.Code, e.Reason))
		}
	}
	return sum, nil
}

// startMiniredis runs an in-process Redis on loopback and advances its
// clock, since miniredis expires keys only when told time has passed.
func startMiniredis(ctx context.Context) (*miniredis.Miniredis, error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start in-process redis: %w", err)
	}
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				mr.FastForward(100 * time.Millisecond)
			}
		}
	}()
	return mr, nil
}

// waitBatch polls until the batch report exists and returns it.
func waitBatch(ctx context.Context, p *pipeline.Pipeline, st storage.Store, ref pipeline.BatchRef, timeout time.Duration) (*report.Batch, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if _, err := st.Stat(ctx, ref.BatchReportKey()); err == nil {
			return p.WriteBatchReport(ctx, ref) // returns the report already written
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("batch %s not complete after %s: %w", ref, timeout, ctx.Err())
		case <-t.C:
		}
	}
}

func printSummary(g *globals, s *demoSummary) {
	w := g.stdout
	fmt.Fprintf(w, "sealpipe demo: batch %s\n", s.Batch)
	if s.AlreadyDone {
		fmt.Fprintln(w, "  (already complete from an earlier run: nothing was sealed again)")
	}
	fmt.Fprintf(w, "  documents: %d\n  sealed:    %d\n  rejected:  %d\n", s.Documents, s.Sealed, s.Rejected)
	for _, r := range s.Rejections {
		fmt.Fprintf(w, "    - %s\n", r)
	}
	fmt.Fprintf(w, "  elapsed:   %.3fs", s.ElapsedSeconds)
	if s.DocsPerSecond > 0 {
		fmt.Fprintf(w, " (%.1f docs/s)", s.DocsPerSecond)
	}
	fmt.Fprintf(w, "\n  outputs:\n    sealed PDFs:  %s\n    reports:      %s\n    rejections:   %s\n    batch report: %s\n",
		s.SealedDir, s.ReportsDir, s.RejectedDir, s.BatchReport)
	fmt.Fprintf(w, "  check one:     sealpipe verify --data %s %s%s\n", g.data, s.SealedDir, demo.DocumentName(1))
}
