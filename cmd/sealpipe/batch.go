package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/demo"
)

func newBatchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "batch", Short: "Work with batches of documents"}
	var opts demo.BatchOptions
	var out, approver, format string
	makeCmd := &cobra.Command{
		Use:   "make --docs N --out DIR",
		Short: "Write a sample batch (documents and a signed approval) to a local folder",
		Long: `Render N sample service-hall certificates into DIR and approve them: DIR then
holds the documents, approval.json and approval.json.p7s, ready to upload to
inbox/<dept>/<batch>/ with any S3 tool (documents first, approval files last).
The certificates are PDF, OFD or both alternating (--format pdf|ofd|mixed);
each document's placement in the approval is measured as its format measures
(PDF: mm from the page's lower-left corner; OFD: from its top-left corner).
With --bad, two documents that must be refused are added (one changed after
approval, one naming a seal its approver may not use).`,
		Example: `  sealpipe batch make --docs 100 --out ./batch-001 --batch 2026-11-24-001
  sealpipe batch make --docs 100 --out ./batch-002 --batch 2026-11-24-002 --format mixed`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" || opts.Docs < 0 || opts.Docs > 100000 {
				return usageErr("--out DIR and --docs 1..100000 are required")
			}
			if err := opts.Ref.Validate(); err != nil {
				return usageErr("%v", err)
			}
			f, err := demo.ParseFormat(format)
			if err != nil {
				return usageErr("--format: %v", err)
			}
			opts.Format = f
			ca, err := g.engine().DevCA()
			if err != nil {
				return err
			}
			id, err := ca.Approver(approver)
			if err != nil {
				return &exitError{exitUsage, err}
			}
			if opts.ApproverKey, err = ca.Signer(cmd.Context(), id); err != nil {
				return err
			}
			opts.ApproverCert = id.Cert
			b, err := demo.MakeBatch(opts)
			if err != nil {
				return usageErr("%v", err)
			}
			if err := b.WriteDir(out); err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintf(g.stdout, "wrote %d document(s) and the signed approval to %s\nupload them to %s%s\n",
				len(b.Files)-2, filepath.Clean(out), "inbox/", opts.Ref.String()+"/")
			return nil
		},
	}
	f := makeCmd.Flags()
	f.IntVar(&opts.Docs, "docs", 10, "number of sample documents")
	f.StringVar(&out, "out", "", "folder to write the batch into")
	f.StringVar(&opts.Ref.Department, "dept", demo.Department, "department")
	f.StringVar(&opts.Ref.Batch, "batch", "sample-001", "batch identifier")
	f.StringVar(&approver, "approver", demo.Approver, "approver slug whose key signs the approval")
	f.StringVar(&opts.Seal, "seal", demo.SealCivil, "seal ID every document names")
	f.BoolVar(&opts.Bad, "bad", false, "add two documents that must be refused")
	f.StringVar(&format, "format", string(demo.FormatPDF), "document format: pdf, ofd or mixed (alternating)")
	cmd.AddCommand(makeCmd)
	return cmd
}
