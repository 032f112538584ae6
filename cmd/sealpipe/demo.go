package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust/devca"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/templates/certpdf"
	"github.com/sealpipe/sealpipe/workers"
)

// The demo's fixed identities: seals of the two default units, and the
// department whose batch it seals.
const (
	demoDept           = "civil-affairs"
	demoSealCivil      = "33010200000001" // civil-affairs, approvable by approver-zhang
	demoSealCounty     = "33010200000002" // county-office, approvable by approver-li only
	demoApprover       = "approver-zhang"
	demoTampered       = "zz-tampered.pdf"   // changed after approval: digest mismatch
	demoWrongSeal      = "zz-wrong-seal.pdf" // names a seal the approver may not use
	demoPollInterval   = 20 * time.Millisecond
	demoDefaultTimeout = 10 * time.Minute
)

// demoOptions are the demo's knobs.
type demoOptions struct {
	Docs        int
	Concurrency int
	Timeout     time.Duration
}

// demoSummary is what the demo prints.
type demoSummary struct {
	Batch          string        `json:"batch"`
	Documents      int           `json:"documents"`
	Sealed         int           `json:"sealed"`
	Rejected       int           `json:"rejected"`
	AlreadyDone    bool          `json:"already_done"`
	Elapsed        time.Duration `json:"elapsed_ns"`
	DocsPerSecond  float64       `json:"docs_per_second"`
	Rejections     []string      `json:"rejections"`
	SealedPrefix   string        `json:"sealed_prefix"`
	ReportsPrefix  string        `json:"reports_prefix"`
	RejectedPrefix string        `json:"rejected_prefix"`
	BatchReport    string        `json:"batch_report"`
	StoreDir       string        `json:"store_dir"`
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
	f.DurationVar(&opts.Timeout, "timeout", demoDefaultTimeout, "give up waiting for the batch after this long")
	return cmd
}

func runDemo(ctx context.Context, g *globals, opts demoOptions) (*demoSummary, error) {
	if opts.Timeout == 0 {
		opts.Timeout = demoDefaultTimeout
	}
	pass, err := g.passphrase(true)
	if err != nil {
		return nil, err
	}
	ca, err := devca.Init(devca.Config{Dir: g.pkiDir(), Passphrase: pass, Units: defaultUnits, Approvers: defaultApprovers})
	if err != nil {
		return nil, err
	}
	st, err := g.openStore()
	if err != nil {
		return nil, err
	}
	reg := registry.New(st)
	for _, s := range []sealSpec{
		{Unit: "civil-affairs", Purpose: "业务专用章", Code: demoSealCivil, Approvers: []string{"approver-zhang"}},
		{Unit: "county-office", Code: demoSealCounty, Approvers: []string{"approver-li"}},
	} {
		if _, err := reg.Get(ctx, s.Code); errors.Is(err, registry.ErrNotFound) {
			if _, err := makeSeal(ctx, ca, reg, s); err != nil {
				return nil, fmt.Errorf("make demo seal %s: %w", s.Code, err)
			}
		} else if err != nil {
			return nil, err
		}
	}

	ref := pipeline.BatchRef{Department: demoDept, Batch: fmt.Sprintf("demo-%d", opts.Docs)}
	if err := uploadDemoBatch(ctx, ca, st, ref, opts.Docs); err != nil {
		return nil, err
	}

	// The queue: Asynq on an in-process Redis.
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start in-process redis: %w", err)
	}
	defer mr.Close()
	tickCtx, stopTick := context.WithCancel(ctx)
	defer stopTick()
	go func() { // miniredis expires keys only when told time has passed
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-tickCtx.Done():
				return
			case <-t.C:
				mr.FastForward(100 * time.Millisecond)
			}
		}
	}()
	redis := asynq.RedisClientOpt{Addr: mr.Addr()}
	client := asynq.NewClient(redis)
	defer client.Close()

	open, err := g.keyOpener()
	if err != nil {
		return nil, err
	}
	p := pipeline.New(st, reg, g.trustPool(ca), open, pipeline.Config{Logger: g.log})
	h := workers.NewHandlers(p, client, workers.Config{Bucket: st.Bucket(), Logger: g.log})
	srv, mux := workers.NewServer(redis, h, workers.ServerConfig{Concurrency: opts.Concurrency, Logger: g.log})
	if err := srv.Start(mux); err != nil {
		return nil, fmt.Errorf("start workers: %w", err)
	}
	defer srv.Shutdown()

	_, alreadyErr := st.Stat(ctx, ref.BatchReportKey())
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

	sum := &demoSummary{
		Batch: ref.String(), Documents: len(b.Documents), Sealed: b.Sealed, Rejected: b.Rejected,
		AlreadyDone: alreadyErr == nil, Elapsed: elapsed,
		SealedPrefix:   filepath.Join(g.storeDir(), st.Bucket(), storage.PrefixSealed+ref.String()) + "/",
		ReportsPrefix:  filepath.Join(g.storeDir(), st.Bucket(), storage.PrefixReports+ref.String()) + "/",
		RejectedPrefix: filepath.Join(g.storeDir(), st.Bucket(), storage.PrefixRejected+ref.String()) + "/",
		BatchReport:    filepath.Join(g.storeDir(), st.Bucket(), ref.BatchReportKey()),
		StoreDir:       filepath.Join(g.storeDir(), st.Bucket()),
		Rejections:     []string{},
	}
	if elapsed > 0 && !sum.AlreadyDone {
		sum.DocsPerSecond = float64(len(b.Documents)) / elapsed.Seconds()
	}
	for _, e := range b.Documents {
		if e.Outcome == report.OutcomeRejected {
			sum.Rejections = append(sum.Rejections, fmt.Sprintf("%s: %s: %s", e.Document, e.Code, e.Reason))
		}
	}
	return sum, nil
}

// uploadDemoBatch renders the sample documents, approves them and uploads
// everything create-only: documents first, the approval last. On a second
// run the objects already there are kept.
func uploadDemoBatch(ctx context.Context, ca *devca.CA, st storage.Store, ref pipeline.BatchRef, n int) error {
	dir, err := os.MkdirTemp("", "sealpipe-demo-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	date := time.Now()
	for i := 1; i <= n; i++ {
		pdf, err := certpdf.Render(certpdf.Sample(i, date))
		if err != nil {
			return fmt.Errorf("render sample certificate %d: %w", i, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("cert-%05d.pdf", i)), pdf, 0o644); err != nil {
			return err
		}
	}
	for i, name := range []string{demoTampered, demoWrongSeal} {
		pdf, err := certpdf.Render(certpdf.Sample(n+1+i, date))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), pdf, 0o644); err != nil {
			return err
		}
	}
	approver := ca.Approvers[demoApprover]
	m, err := manifestFor(dir, ref.Department, ref.Batch, approver.Cert.Subject.CommonName, demoSealCivil, defaultPlacement(), time.Now())
	if err != nil {
		return err
	}
	for i := range m.Documents {
		if m.Documents[i].Name == demoWrongSeal {
			m.Documents[i].Seal = demoSealCounty
		}
	}
	key, err := ca.Signer(ctx, approver)
	if err != nil {
		return err
	}
	if err := writeApproval(dir, m, key, approver.Cert); err != nil {
		return err
	}
	// The tampered document changes after its approval was signed.
	tampered := filepath.Join(dir, demoTampered)
	b, err := os.ReadFile(tampered)
	if err != nil {
		return err
	}
	if err := os.WriteFile(tampered, append(b, "% changed after approval\n"...), 0o644); err != nil {
		return err
	}
	names := make([]string, 0, len(m.Documents)+2)
	for _, d := range m.Documents {
		names = append(names, d.Name)
	}
	names = append(names, approval.ManifestName, approval.SignatureName)
	for _, name := range names {
		if err := uploadFile(ctx, st, filepath.Join(dir, name), ref.Inbox()+name); err != nil {
			return err
		}
	}
	return nil
}

// uploadFile puts a local file into the store create-only; an object already
// there is kept.
func uploadFile(ctx context.Context, st storage.Store, path, key string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	ct := "application/pdf"
	if strings.HasSuffix(key, ".json") {
		ct = "application/json"
	} else if strings.HasSuffix(key, ".p7s") {
		ct = "application/pkcs7-signature"
	}
	_, err = st.Put(ctx, key, f, fi.Size(), storage.PutOptions{IfNoneMatch: true, ContentType: ct})
	if errors.Is(err, storage.ErrPreconditionFailed) {
		return nil
	}
	return err
}

// waitBatch polls until the batch report exists.
func waitBatch(ctx context.Context, p *pipeline.Pipeline, st storage.Store, ref pipeline.BatchRef, timeout time.Duration) (*report.Batch, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(demoPollInterval)
	defer t.Stop()
	for {
		if _, err := st.Stat(ctx, ref.BatchReportKey()); err == nil {
			return p.WriteBatchReport(ctx, ref) // returns the report written
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
	fmt.Fprintf(w, "  elapsed:   %s", s.Elapsed.Round(time.Millisecond))
	if s.DocsPerSecond > 0 {
		fmt.Fprintf(w, " (%.1f docs/s)", s.DocsPerSecond)
	}
	fmt.Fprintf(w, "\n  outputs:\n    sealed PDFs:  %s\n    reports:      %s\n    rejections:   %s\n    batch report: %s\n",
		s.SealedPrefix, s.ReportsPrefix, s.RejectedPrefix, s.BatchReport)
	fmt.Fprintf(w, "  check one:    sealpipe verify --data %s %scert-00001.pdf\n", g.data, s.SealedPrefix)
}
