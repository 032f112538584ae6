package demo

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/storage"
)

// Options are the demo's knobs. Zero values mean the defaults given.
type Options struct {
	// Docs is the number of good sample documents. Zero means 20.
	Docs int
	// Format is the documents' format (see Format). Empty means FormatPDF.
	Format Format
	// Concurrency is the worker concurrency. Zero means 16 × CPUs.
	Concurrency int
	// Timeout bounds the wait for the batch. Zero means 10 minutes.
	Timeout time.Duration
	// Logger receives logs. Nil means slog.Default().
	Logger *slog.Logger
	// Date is the certificates' issue date and the approval time. Zero
	// means now.
	Date time.Time
}

// Summary is what a demo run did.
type Summary struct {
	Batch          string   `json:"batch"`
	Format         Format   `json:"format"`
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
	// BatchPage and BatchPDF are the batch report for people: an HTML
	// page to open in a browser, and a PDF file.
	BatchPage string `json:"batch_page"`
	BatchPDF  string `json:"batch_pdf"`
}

// Embedded returns the settings the demo runs on: s's data folder, bucket
// and key passphrase, and embedded defaults for everything else — the
// local object store, an in-process Redis, key files — whatever services
// s points at.
//
// The certificates get their verification mark under the seal, pointing
// at VerifyBaseURL(s).
func Embedded(s engine.Settings) engine.Settings {
	return engine.Settings{Data: s.Data, Bucket: s.Bucket, KeyPassphrase: s.KeyPassphrase, VerifyBaseURL: VerifyBaseURL(s)}
}

// ServeAddr is the address `sealpipe serve` listens on with s for the
// verification service: SEALPIPE_HTTP_ADDR, or its default when it is
// off, as for the demo's hint to run it.
func ServeAddr(s engine.Settings) string {
	if a := s.HTTP.Addr; a != "" && a != "off" {
		return a
	}
	return engine.Settings{}.WithDefaults().HTTP.Addr
}

// VerifyBaseURL is where the verification marks the demo prints under its
// seals point: SEALPIPE_VERIFY_BASE_URL if set, else the verification
// service `sealpipe serve` runs with s (ServeAddr; https with a TLS
// certificate), so that the QR code of a demo certificate opens its
// report while serve runs.
func VerifyBaseURL(s engine.Settings) string {
	if s.VerifyBaseURL != "" {
		return s.VerifyBaseURL
	}
	scheme := "http://"
	if s.HTTP.TLSCert != "" {
		scheme = "https://"
	}
	return scheme + ServeAddr(s)
}

// Run seals a sample batch end to end on the embedded defaults of s (see
// Embedded): it makes the development trust chain and the demo seals if
// they are missing, uploads Docs sample certificates and the two bad
// documents with a signed approval, runs them through the pipeline's
// workers and waits for the batch report. The batch is demo-<Docs> for
// PDF documents, demo-<format>-<Docs> for the other formats. Running it
// again seals nothing twice: the batch is complete and its outputs stand.
func Run(ctx context.Context, s engine.Settings, opts Options) (*Summary, error) {
	if opts.Docs == 0 {
		opts.Docs = 20
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	format, err := ParseFormat(string(opts.Format))
	if err != nil {
		return nil, err
	}
	e := engine.New(Embedded(s), engine.WithLogger(opts.Logger))
	defer e.Close()
	ca, err := e.InitDevCA(Units, Approvers)
	if err != nil {
		return nil, err
	}
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	reg, err := e.Registry(ctx)
	if err != nil {
		return nil, err
	}
	if err := RegisterSeals(ctx, ca, reg); err != nil {
		return nil, err
	}
	approver := ca.Approvers[Approver]
	key, err := ca.Signer(ctx, approver)
	if err != nil {
		return nil, err
	}
	ref := pipeline.BatchRef{Department: Department, Batch: fmt.Sprintf("demo-%d", opts.Docs)}
	if format != FormatPDF {
		ref.Batch = fmt.Sprintf("demo-%s-%d", format, opts.Docs)
	}
	batch, err := MakeBatch(BatchOptions{Ref: ref, Docs: opts.Docs, Bad: true, Format: format, Date: opts.Date, ApproverKey: key, ApproverCert: approver.Cert})
	if err != nil {
		return nil, err
	}
	if err := batch.Upload(ctx, st); err != nil {
		return nil, err
	}

	w, err := e.StartWorkers(ctx, engine.WorkerOptions{Concurrency: opts.Concurrency})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	_, doneBefore := st.Stat(ctx, ref.BatchReportKey())
	start := time.Now()
	if _, err := w.Scan(ctx); err != nil {
		return nil, err
	}
	b, err := w.WaitBatch(ctx, ref, opts.Timeout)
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)

	bucketDir := e.StoreLocation()
	sum := &Summary{
		Batch: ref.String(), Format: format, Documents: len(b.Documents), Sealed: b.Sealed, Rejected: b.Rejected,
		AlreadyDone: doneBefore == nil, ElapsedSeconds: elapsed.Seconds(),
		SealedDir:   filepath.Join(bucketDir, storage.PrefixSealed, ref.String()) + "/",
		ReportsDir:  filepath.Join(bucketDir, storage.PrefixReports, ref.String()) + "/",
		RejectedDir: filepath.Join(bucketDir, storage.PrefixRejected, ref.String()) + "/",
		BatchReport: filepath.Join(bucketDir, ref.BatchReportKey()),
		BatchPage:   filepath.Join(bucketDir, ref.BatchPageKey()),
		BatchPDF:    filepath.Join(bucketDir, ref.BatchPDFKey()),
		Rejections:  []string{},
	}
	if !sum.AlreadyDone {
		sum.DocsPerSecond = float64(len(b.Documents)) / elapsed.Seconds()
	}
	for _, d := range b.Documents {
		if d.Outcome == report.OutcomeRejected {
			sum.Rejections = append(sum.Rejections, fmt.Sprintf("%s: %s: %s", d.Document, d.Code, d.Reason))
		}
	}
	return sum, nil
}
