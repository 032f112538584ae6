package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/demo"
)

func newDemoCmd(g *globals) *cobra.Command {
	opts := demo.Options{}
	var format string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Seal a sample batch end to end on embedded defaults (what `make demo` runs)",
		Long: `Run the whole pipeline on embedded defaults, with nothing to install:

  1. make the development SM2 trust chain and two unit seals, if absent
  2. render N sample service-hall certificates as PDF, OFD or both
     alternating (--format pdf|ofd|mixed), plus two bad documents: one
     changed after approval (digest mismatch) and one naming a seal the
     approver may not use
  3. upload them with a signed approval into the local object store
     (<data>/store/<bucket>/inbox/civil-affairs/demo-N/, or demo-ofd-N/ and
     demo-mixed-N/ for the other formats)
  4. run intake → approval → sealing → verification → reports through Asynq
     workers on an in-process Redis (miniredis)

and print a summary. Running it again seals nothing twice: the batch is
already complete and its outputs stand. S3, Redis and HSM settings are
ignored: the demo always runs on the local store.`,
		Example: `  sealpipe demo --data ./demo-data --docs 50
  sealpipe demo --data ./demo-data --docs 50 --format ofd`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Docs < 1 || opts.Docs > 100000 {
				return usageErr("--docs %d: want 1 to 100000", opts.Docs)
			}
			f, err := demo.ParseFormat(format)
			if err != nil {
				return usageErr("--format: %v", err)
			}
			opts.Format = f
			opts.Logger = g.log
			sum, err := demo.Run(cmd.Context(), g.settings, opts)
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
	f.StringVar(&format, "format", string(demo.FormatPDF), "document format: pdf, ofd or mixed (alternating)")
	f.IntVar(&opts.Concurrency, "concurrency", 0, "worker concurrency (default 16 × CPUs)")
	f.DurationVar(&opts.Timeout, "timeout", 10*time.Minute, "give up waiting for the batch after this long")
	return cmd
}

func printSummary(g *globals, s *demo.Summary) {
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
	sealed := "sealed PDFs: "
	switch s.Format {
	case demo.FormatOFD:
		sealed = "sealed OFDs: "
	case demo.FormatMixed:
		sealed = "sealed:      "
	}
	fmt.Fprintf(w, "\n  outputs:\n    %s %s\n    reports:      %s\n    rejections:   %s\n    batch report: %s\n",
		sealed, s.SealedDir, s.ReportsDir, s.RejectedDir, s.BatchReport)
	fmt.Fprintf(w, "    for people:   %s (open it in a browser) and %s; each document's <name>.html and <name>.pdf beside its <name>.json in reports\n", s.BatchPage, s.BatchPDF)
	self := shellQuote(selfCommand(os.Args[0], exec.LookPath, os.Executable))
	fmt.Fprintf(w, "  check one:     %s verify --data %s %s\n",
		self, shellQuote(g.settings.Data), shellQuote(s.SealedDir+s.Format.DocumentName(1)))
	addr, env := demo.ServeAddr(g.settings), ""
	if addr != g.settings.HTTP.Addr {
		env = "SEALPIPE_HTTP_ADDR=" + addr + " "
	}
	fmt.Fprintf(w, "  in a browser:  %s%s serve --data %s, then open http://%s/ and choose a sealed document,\n                 or scan the QR code under a sealed certificate's seal\n",
		env, self, shellQuote(g.settings.Data), addr)
}

// selfCommand returns the command that runs this very program again from
// the same working directory, for the hints a command prints: the name it
// was invoked by (arg0) when that holds a path separator (./bin/sealpipe),
// else "sealpipe" when that name on PATH is this executable, else the
// executable's absolute path — `make demo` runs ./bin/sealpipe, which need
// not be on PATH, and another sealpipe may be.
func selfCommand(arg0 string, lookPath func(string) (string, error), executable func() (string, error)) string {
	if strings.ContainsRune(arg0, '/') || strings.ContainsRune(arg0, filepath.Separator) {
		return arg0
	}
	const name = "sealpipe"
	exe, err := executable()
	if err != nil {
		return name
	}
	if onPath, err := lookPath(name); err == nil && sameFile(onPath, exe) {
		return name
	}
	if abs, err := filepath.Abs(exe); err == nil {
		return abs
	}
	return exe
}

// sameFile reports whether the paths a and b name the same file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// letters, digits and the punctuation of ordinary paths.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+=,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
