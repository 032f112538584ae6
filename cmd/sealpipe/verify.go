package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/report"
)

func newVerifyCmd(g *globals) *cobra.Command {
	var roots []string
	var noRegistry, verbose bool
	cmd := &cobra.Command{
		Use:   "verify FILE.pdf...",
		Short: "Verify the seals and signatures of PDF documents (验章)",
		Long: `Verify every signature in each PDF: the signature value and document hash, the
embedded GB/T 38540 seal (format, maker signature, maker certificate, validity),
that the signer's certificate is one the seal lists, the signer's certificate
chain at the signing time, and the seal's registry status at the signing time.

Trusted roots come from --roots, else from SEALPIPE_ROOTS, else from
<data>/pki/root.crt. The registry check uses the configured store (the S3
bucket, or <data>/store when it exists); skip it with --no-registry.

Exit codes: 0 every signature passed; 1 a signature failed; 2 usage or I/O
error (including a file that is not a readable PDF); 3 indeterminate: nothing
failed but something could not be established (unknown chain, no signature).`,
		Example: `  sealpipe verify sealed.pdf
  sealpipe verify --json --roots root.crt *.pdf`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := g.engine().Verifier(cmd.Context(), engine.VerifierOptions{Roots: roots, NoRegistry: noRegistry})
			if err != nil {
				return err
			}
			var docs []*report.Document
			var verdicts []report.Indication
			ioFailed := false
			for _, name := range args {
				data, err := os.ReadFile(name)
				var doc *report.Document
				if err == nil {
					doc, err = v.PDF(cmd.Context(), name, data)
				}
				if err != nil {
					ioFailed = true
					fmt.Fprintf(g.stderr, "sealpipe: %s: %v\n", name, err)
					docs = append(docs, &report.Document{Document: name, Indication: report.Indeterminate, Error: err.Error(), Signatures: []report.Signature{}})
					continue
				}
				docs = append(docs, doc)
				verdicts = append(verdicts, doc.Indication)
			}
			if g.jsonOut {
				if err := printJSON(g, docs); err != nil {
					return err
				}
			} else {
				for _, d := range docs {
					printDocument(g, d, verbose)
				}
			}
			switch report.Combine(verdicts...) {
			case report.Failed:
				return &exitError{exitFailed, errSilent}
			case report.Indeterminate:
				if !ioFailed {
					return &exitError{exitIndeterminate, errSilent}
				}
			}
			if ioFailed {
				return &exitError{exitUsage, errSilent}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&roots, "roots", nil, "PEM file of trusted root certificates (repeatable; default $SEALPIPE_ROOTS, else <data>/pki/root.crt)")
	f.BoolVar(&noRegistry, "no-registry", false, "skip the registry status check")
	f.BoolVarP(&verbose, "verbose", "v", false, "print every check, not only those that did not pass")
	return cmd
}

func printDocument(g *globals, d *report.Document, verbose bool) {
	fmt.Fprintf(g.stdout, "%s: %s\n", d.Document, d.Indication)
	if d.Error != "" {
		fmt.Fprintf(g.stdout, "  error: %s\n", d.Error)
	}
	if len(d.Signatures) == 0 && d.Error == "" {
		fmt.Fprintln(g.stdout, "  no signatures")
	}
	for _, s := range d.Signatures {
		fmt.Fprintf(g.stdout, "  signature %q: %s\n", s.Field, s.Indication)
		if s.SealID != "" {
			fmt.Fprintf(g.stdout, "    seal:   %s %s\n", s.SealID, s.SealName)
		}
		fmt.Fprintf(g.stdout, "    signer: %s\n    signed: %s\n", s.Signer, s.SigningTime.Format("2006-01-02 15:04:05 MST"))
		for _, c := range s.Checks {
			if !verbose && (c.Result == report.OK || c.Result == report.Skipped) {
				continue
			}
			line := fmt.Sprintf("    %-14s %s", c.Result, c.Name)
			if c.SubIndication != "" {
				line += " (" + c.SubIndication + ")"
			}
			if c.Detail != "" {
				line += ": " + c.Detail
			}
			fmt.Fprintln(g.stdout, line)
		}
	}
}
