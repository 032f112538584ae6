package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
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
(PDF: mm from the page's lower-left corner; OFD: from its top-left corner), on
the certificate's seal area. With --certify each PDF document's seal certifies
it (DocMDP).
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
	f.IntVar(&opts.Certify, "certify", 0, "PDF documents: have each seal certify its document with this DocMDP permission (1 no changes, 2 form filling and signing, 3 those and annotations); 0: ordinary seals")
	cmd.AddCommand(makeCmd, newBatchUploadCmd(g), newBatchPruneCmd(g))
	return cmd
}

func newBatchUploadCmd(g *globals) *cobra.Command {
	var ref pipeline.BatchRef
	cmd := &cobra.Command{
		Use:   "upload DIR [--dept D] [--batch B]",
		Short: "Upload a batch folder to the inbox: documents first, the approval last",
		Long: `Upload the batch folder DIR (the documents, approval.json and
approval.json.p7s, as sealpipe approve or batch make write them) to
inbox/<dept>/<batch>/ of the configured store, in the order the pipeline
needs: every document first (16 at a time), then approval.json, then
approval.json.p7s, whose arrival commits the batch. The department and batch are read from
approval.json; --dept and --batch, if given, must match it.

The folder is checked before anything is uploaded: a folder without both
approval files, with files the approval does not list, missing a document
it lists, or holding a document changed since approval is refused (exit 2).
Writes are create-only: an object already in the inbox with the same bytes
is left as it is; one with other bytes stops the upload (exit 1) — a batch is
corrected under a new batch identifier.

Credentials: against S3 (SEALPIPE_S3_ENDPOINT) the uploads are signed with
the department's SEALPIPE_DEPT_ACCESS_KEY and SEALPIPE_DEPT_SECRET_KEY when
both are set (. ./.services.env sets them to the department user of make
services-up), else with the service's SEALPIPE_S3_ACCESS_KEY and
SEALPIPE_S3_SECRET_KEY. Without SEALPIPE_S3_ENDPOINT the batch goes to the
local store under the data folder.`,
		Example: `  sealpipe batch upload ./batch-001
  sealpipe batch upload ./batch-001 --dept civil-affairs --batch 2026-11-24-001`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := g.engine().UploadBatch(cmd.Context(), engine.UploadOptions{Dir: args[0], Ref: ref})
			if errors.Is(err, engine.ErrNotABatch) || errors.Is(err, os.ErrNotExist) {
				return &exitError{exitUsage, err}
			}
			if g.jsonOut && res != nil && err == nil {
				return printJSON(g, res)
			}
			if res != nil {
				printUpload(g, res)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&ref.Department, "dept", "", "department (default: approval.json's; given, it must match)")
	cmd.Flags().StringVar(&ref.Batch, "batch", "", "batch identifier (default: approval.json's; given, it must match)")
	return cmd
}

// printUpload tells what batch upload did, in upload order.
func printUpload(g *globals, res *engine.UploadResult) {
	who := map[string]string{
		"department": "as the department (SEALPIPE_DEPT_ACCESS_KEY " + res.AccessKey + ")",
		"service":    "with the service's credentials (SEALPIPE_S3_ACCESS_KEY " + res.AccessKey + ")",
		"local":      "(the local store)",
	}[res.Credentials]
	fmt.Fprintf(g.stdout, "uploading %s to %s %s\n", res.Batch, res.Inbox, who)
	for _, o := range res.Objects {
		note := ""
		if o.Existed {
			note = "  (already there, unchanged)"
		}
		fmt.Fprintf(g.stdout, "  %-24s %9d bytes%s\n", o.Name, o.Size, note)
	}
	if n := len(res.Objects); n > 0 && res.Objects[n-1].Name == approval.SignatureName {
		fmt.Fprintf(g.stdout, "uploaded %d document(s) and the approval: batch %s is submitted\n", res.Documents, res.Batch)
	}
}
