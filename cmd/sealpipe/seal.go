package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
)

func newSealCmd(g *globals) *cobra.Command {
	var sealID, out string
	var force bool
	pl := approval.DefaultPlacement
	cmd := &cobra.Command{
		Use:   "seal IN -o OUT --seal ID",
		Short: "Apply a registered seal to one local PDF or OFD document",
		Long: `Apply a registered seal to a single PDF or OFD document; the format is told
from the content, not the name.

  PDF: the seal picture on the page and an SM2/SM3 CMS signature in one
       incremental update, so IN's bytes are an exact prefix of OUT.
  OFD: a new package with one more Seal signature (GB/T 33190 §18): a stamp
       annotation with the seal picture, Signature.xml and its SES_Signature;
       every part of IN is carried over unchanged.

--page, --x and --y place the seal picture as the format measures, in mm:
  PDF: --x/--y are the picture's lower-left corner from the page's lower-left
       corner (y up), or with --corner from another corner of the page as
       displayed to the picture's nearest corner;
  OFD: --x/--y are the picture's top-left corner from the page's top-left
       corner (y down).
A PDF may instead be sealed on a keyword (--keyword: the picture centred on
that text), on several pages (--pages), and certified (--certify, DocMDP).
--riding makes a riding seal (骑缝章) on either format. Whatever the mode, the
seal is one signature.

The output is verified before it is written, and the use is recorded in the
seal's usage log (audit/<seal>/local/...).`,
		Example: `  sealpipe seal cert.pdf -o cert.sealed.pdf --seal 33010200000001
  sealpipe seal cert.ofd -o cert.sealed.ofd --seal 33010200000001 --page 1 --x 120 --y 200
  sealpipe seal cert.pdf -o cert.sealed.pdf --seal 33010200000001 --keyword （盖章）
  sealpipe seal cert.pdf -o cert.sealed.pdf --seal 33010200000001 --pages all --corner upper-right --x 15 --y 15
  sealpipe seal contract.pdf -o contract.sealed.pdf --seal 33010200000001 --riding --y 120`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sealID == "" || out == "" {
				return usageErr("--seal and -o are required")
			}
			if !force {
				if _, err := os.Stat(out); err == nil {
					return usageErr("%s exists; pass --force to replace it", out)
				}
			}
			// The input is streamed, never held whole: hashed as it is
			// read once, sealed over the file (a PDF up to
			// SEALPIPE_MAX_FILE_SIZE), then copied to the output.
			input, err := os.Open(args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			defer input.Close()
			info, err := input.Stat()
			if err != nil {
				return usageErr("%v", err)
			}
			p, err := g.engine(engine.WithOperator(actor())).Pipeline(cmd.Context())
			if err != nil {
				return err
			}
			sealed, rep, err := p.SealLocalFile(cmd.Context(), input, info.Size(), sealID, pl, filepath.Base(out))
			var rj *pipeline.RejectError
			switch {
			case errors.As(err, &rj):
				return &exitError{exitFailed, err}
			case err != nil:
				return err
			}
			if err := writeFileAtomic(out, sealed); err != nil {
				return usageErr("%v", err)
			}
			if g.jsonOut {
				return printJSON(g, rep)
			}
			fmt.Fprintf(g.stdout, "sealed %s -> %s (%d bytes, %s)\n", args[0], out, sealed.Size(), rep.Indication)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&sealID, "seal", "", "registered seal ID to apply")
	f.StringVarP(&out, "output", "o", "", "output file")
	f.BoolVar(&force, "force", false, "replace the output file if it exists")
	placement := addPlacementFlags(f, &pl)
	cmd.PreRunE = func(*cobra.Command, []string) error { return placement.resolve() }
	return cmd
}

// writeFileAtomic writes data to name through a temporary file in the same
// folder, synced before it is renamed, so a reader never sees a
// half-written file. data is copied through a buffer of bounded size.
func writeFileAtomic(name string, data io.WriterTo) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".sealpipe-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := data.WriteTo(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
