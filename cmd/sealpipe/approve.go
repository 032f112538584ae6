package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/approval"
)

func newApproveCmd(g *globals) *cobra.Command {
	var dept, batch, approver, seal string
	pl := approval.DefaultPlacement
	cmd := &cobra.Command{
		Use:   "approve DIR",
		Short: "Write and sign the approval manifest for the PDF and OFD documents in DIR",
		Long: `List every .pdf and .ofd file in DIR with its SM3 digest, the seal to apply and
where, and write DIR/approval.json plus its detached SM2 signature
DIR/approval.json.p7s, signed with the approver's key. Upload DIR's documents
to inbox/<dept>/<batch>/ and the two approval files last: their arrival closes
the batch. --x and --y are read as each document's format measures (told from
its content): for a PDF the picture's lower-left corner from the page's
lower-left corner (or from --corner), for an OFD its top-left corner from the
page's top-left corner, in mm. --keyword, --pages, --corner and --certify are
for PDF documents (an OFD listed with them is refused PLACEMENT_INVALID when
sealed); --riding makes a riding seal (骑缝章) on either format.`,
		Example: `  sealpipe approve ./batch-001 --dept civil-affairs --batch 2026-11-24-001 --approver approver-zhang --seal 33010200000001`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dept == "" || batch == "" || approver == "" || seal == "" {
				return usageErr("--dept, --batch, --approver and --seal are required")
			}
			m, err := g.engine().ApproveDir(cmd.Context(), args[0], engine.ApprovalSpec{
				Department: dept, Batch: batch, Approver: approver, Seal: seal, Placement: pl,
			})
			switch {
			case errors.Is(err, approval.ErrMalformed), errors.Is(err, os.ErrNotExist):
				return &exitError{exitUsage, err}
			case err != nil:
				return err
			}
			fmt.Fprintf(g.stdout, "approved %d document(s) for %s/%s; wrote %s and %s\n", len(m.Documents), dept, batch,
				filepath.Join(args[0], approval.ManifestName), filepath.Join(args[0], approval.SignatureName))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dept, "dept", "", "department (the <dept> in inbox/<dept>/<batch>/)")
	f.StringVar(&batch, "batch", "", "batch identifier (the <batch> in inbox/<dept>/<batch>/)")
	f.StringVar(&approver, "approver", "", "approver slug in the trust chain, whose key signs")
	f.StringVar(&seal, "seal", "", "seal ID to apply to every document")
	placement := addPlacementFlags(f, &pl)
	cmd.PreRunE = func(*cobra.Command, []string) error { return placement.resolve() }
	return cmd
}
