package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/templates/reportview"
)

func newVerifyCmd(g *globals) *cobra.Command {
	var roots, crls []string
	var noRegistry, verbose, crlDP, force bool
	var reportFile, lang string
	cmd := &cobra.Command{
		Use:   "verify FILE...",
		Short: "Verify the seals and signatures of documents (验章)",
		Long: `Verify every signature in each document: the signature value and document hash,
what changed after signing, the embedded GB/T 38540 seal (format, maker
signature, maker certificate, validity), that the signer's certificate is one
the seal lists, the signer's certificate chain at the signing time, and the
seal's registry status at the signing time. The format is recognised from the
content (a PDF starts with %PDF-, an OFD package is a ZIP), not the name.

No setup is needed to check a document sealed elsewhere: without any trusted
root the certificate chains are INDETERMINATE (NO_CERTIFICATE_CHAIN_FOUND) and
everything else is checked, so a correct document exits 3 and a forged or
altered one 1. Nothing is written: no data folder is created.

Trusted roots come from --roots, else from SEALPIPE_ROOTS, else from
<data>/pki/root.crt if it exists, with <data>/pki/pades/ca.crt, the
development PAdES CA of units with p256 or rsa2048 keys, if that exists.
Revocation lists come from SEALPIPE_CRLS and
--crl (files, or http(s) URLs, downloaded and cached until their nextUpdate);
the CRL distribution points named in certificates are downloaded only with
--crl-dp or SEALPIPE_CRL_DISTRIBUTION_POINTS=true, since a document would
otherwise choose the addresses verify contacts. A CRL that cannot be
downloaded makes the certificate's check INDETERMINATE (TRY_LATER). The
registry check uses the configured store (the S3 bucket, or <data>/store when
it exists); skip it with --no-registry.

With --json, the full result of every check of every signature is printed.
With --report FILE, the report a person reads is also written to FILE, for
one document: a PDF (FILE ending in .pdf) or an HTML page (.html), in
Chinese or, with --lang en, in English, showing each seal's picture, the
verdict in words with the failing checks explained, and every check.

A seal the configured registry does not hold is INDETERMINATE
(SEAL_NOT_REGISTERED), never FAILED: the registry speaks only for the seals
it registered. A seal it holds that was suspended or revoked at the signing
time is FAILED (SEAL_NOT_ACTIVE). With no registry configured the check is
NOT_APPLICABLE; a registry that cannot be read makes it INDETERMINATE
(TRY_LATER). A file that cannot be read, or is neither a PDF nor an OFD
document, has no verdict: it is printed as "FILE: error: REASON".

Exit codes: 0 every signature passed; 1 a signature failed; 2 usage or I/O
error (including a file that is neither a readable PDF nor OFD);
3 indeterminate: nothing failed but something could not be established
(unknown chain, revocation status unknown, seal not registered, no
signature). With several files the worst wins: 2 (error) over 1 (failed)
over 3 (indeterminate) over 0.`,
		Example: `  sealpipe verify sealed.pdf
  sealpipe verify --json --roots root.crt --crl http://ca.example/root.crl *.pdf
  sealpipe verify sealed.pdf --report sealed.report.pdf`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			render, err := reportRenderer(reportFile, lang, force, args)
			if err != nil {
				return err
			}
			v, err := g.engine().Verifier(cmd.Context(), engine.VerifierOptions{
				Roots: roots, CRLs: crls, DistributionPoints: crlDP, NoRegistry: noRegistry,
			})
			if err != nil {
				return err
			}
			v.Pictures = render != nil
			var docs []*report.Document
			var verdicts []report.Indication
			for _, name := range args {
				doc, err := verifyFile(cmd.Context(), v, name)
				if err != nil {
					// No verdict: the file could not be judged at all. Its
					// result, "FILE: error: REASON", goes to stdout in its
					// place among the others (or into the JSON), once: not
					// to stderr as well.
					docs = append(docs, &report.Document{Document: name, Error: err.Error(), Signatures: []report.Signature{}})
					verdicts = append(verdicts, "")
					continue
				}
				docs = append(docs, doc)
				verdicts = append(verdicts, doc.Indication)
			}
			if render != nil {
				out, err := render(docs[0])
				if err != nil {
					return err
				}
				if err := writeFileAtomic(reportFile, bytes.NewReader(out)); err != nil {
					return fmt.Errorf("write the report: %w", err)
				}
				for _, d := range docs {
					for i := range d.Signatures {
						d.Signatures[i].SealPicture = nil // for the file, not the terminal
					}
				}
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
			if code := verifyExit(verdicts); code != 0 {
				return &exitError{code, errSilent}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&roots, "roots", nil, "PEM file of trusted root certificates (repeatable; default $SEALPIPE_ROOTS, else <data>/pki/root.crt)")
	f.StringArrayVar(&crls, "crl", nil, "CRL file or http(s) URL, besides $SEALPIPE_CRLS (repeatable)")
	f.BoolVar(&crlDP, "crl-dp", false, "also download the CRL distribution points certificates name ($SEALPIPE_CRL_DISTRIBUTION_POINTS)")
	f.BoolVar(&noRegistry, "no-registry", false, "skip the registry status check")
	f.BoolVarP(&verbose, "verbose", "v", false, "print every check, not only those that did not pass")
	f.StringVar(&reportFile, "report", "", "also write the report a person reads to FILE, .pdf or .html (one document only)")
	f.StringVar(&lang, "lang", "zh", "language of the --report: zh or en")
	f.BoolVar(&force, "force", false, "replace the --report file if it exists")
	return cmd
}

// reportRenderer checks the --report flags and returns what renders the
// report into the file's format, or nil without --report.
func reportRenderer(file, lang string, force bool, args []string) (func(*report.Document) ([]byte, error), error) {
	if file == "" {
		return nil, nil
	}
	if len(args) != 1 {
		return nil, usageErr("--report writes the report of one document; %d given", len(args))
	}
	if lang != "zh" && lang != "en" {
		return nil, usageErr("--lang %q: want zh or en", lang)
	}
	if abs, err := filepath.Abs(file); err == nil {
		if in, err := filepath.Abs(args[0]); err == nil && in == abs {
			return nil, usageErr("--report %s is the document being verified", file)
		}
	}
	if !force {
		if _, err := os.Stat(file); err == nil {
			return nil, usageErr("%s exists; pass --force to replace it", file)
		}
	}
	opts := reportview.Options{Lang: reportview.ParseLang(lang)}
	switch ext := strings.ToLower(filepath.Ext(file)); ext {
	case ".pdf":
		return func(d *report.Document) ([]byte, error) { return reportview.PDF(d, opts) }, nil
	case ".html", ".htm":
		return func(d *report.Document) ([]byte, error) {
			var b bytes.Buffer
			err := reportview.HTML(&b, d, opts)
			return b.Bytes(), err
		}, nil
	default:
		return nil, usageErr("--report %s: name a .pdf or .html file", file)
	}
}

// verifyFile verifies the document in the file name, streaming a PDF from
// it (verify.Verifier.DocumentReader).
func verifyFile(ctx context.Context, v *verify.Verifier, name string) (*report.Document, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return v.DocumentReader(ctx, name, f, info.Size())
}

func printDocument(g *globals, d *report.Document, verbose bool) {
	if d.Error != "" {
		fmt.Fprintf(g.stdout, "%s: error: %s\n", d.Document, d.Error)
		return
	}
	fmt.Fprintf(g.stdout, "%s: %s\n", d.Document, d.Indication)
	if len(d.Signatures) == 0 {
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

// verifyExit is the exit code of `sealpipe verify` over the verdicts of
// its files, "" standing for a file that could not be read or is not a
// document. The worst outcome wins: exitUsage (2, an error) over
// exitFailed (1, a signature failed) over exitIndeterminate (3) over 0
// (every signature of every file passed).
func verifyExit(verdicts []report.Indication) int {
	code := 0
	rank := map[int]int{0: 0, exitIndeterminate: 1, exitFailed: 2, exitUsage: 3}
	for _, in := range verdicts {
		c := 0
		switch in {
		case "":
			c = exitUsage
		case report.Failed:
			c = exitFailed
		case report.Indeterminate:
			c = exitIndeterminate
		}
		if rank[c] > rank[code] {
			code = c
		}
	}
	return code
}
