package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/approval"
)

func newApproveCmd(g *globals) *cobra.Command {
	var dept, batch, approver, seal string
	var also []string
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
sealed); --riding makes a riding seal (骑缝章) on either format.

--also SEAL@X,Y (repeatable) lists a further seal for every document, applied
after --seal as a signature of its own: a co-issuing unit's seal (联合发文), or
a PAdES signature beside an SM2 seal for relying parties that cannot check SM2
(the seal's format is its own, SEALPIPE_PDF_SIGNATURE_FORMATS). Its picture
goes at X,Y mm, measured as --x and --y are, on the page or pages of --page or
--pages. The approver must be allowed to approve each seal.`,
		Example: `  sealpipe approve ./batch-001 --dept civil-affairs --batch 2026-11-24-001 --approver approver-zhang --seal 33010200000001
  sealpipe approve ./joint-001 --dept civil-affairs --batch joint-001 --approver approver-zhang --seal 33010200000001 --x 40 --y 30 --also 33010200000005@100,30`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dept == "" || batch == "" || approver == "" || seal == "" {
				return usageErr("--dept, --batch, --approver and --seal are required")
			}
			uses, err := alsoSeals(also, pl)
			if err != nil {
				return err
			}
			m, err := g.engine().ApproveDir(cmd.Context(), args[0], engine.ApprovalSpec{
				Department: dept, Batch: batch, Approver: approver, Seal: seal, Placement: pl, Also: uses,
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
	f.StringArrayVar(&also, "also", nil, "SEAL@X,Y: a further seal to apply after --seal, its picture at X,Y mm on the same page(s) (repeatable)")
	placement := addPlacementFlags(f, &pl)
	cmd.PreRunE = func(*cobra.Command, []string) error { return placement.resolve() }
	return cmd
}

// alsoSeals parses the --also values, SEAL@X,Y, into further seals placed
// at X,Y on the page or pages of pl, from pl's corner.
func alsoSeals(values []string, pl approval.Placement) ([]approval.SealUse, error) {
	var uses []approval.SealUse
	for _, v := range values {
		seal, at, ok := strings.Cut(v, "@")
		xs, ys, ok2 := strings.Cut(at, ",")
		x, errX := strconv.ParseFloat(strings.TrimSpace(xs), 64)
		y, errY := strconv.ParseFloat(strings.TrimSpace(ys), 64)
		if !ok || !ok2 || seal == "" || errX != nil || errY != nil {
			return nil, usageErr("--also %q: want SEAL@X,Y, such as 33010200000005@100,30 (mm)", v)
		}
		page := pl.Page
		if page == 0 && pl.Pages == "" {
			page = 1
		}
		uses = append(uses, approval.SealUse{Seal: seal, Placement: approval.Placement{Page: page, Pages: pl.Pages, Corner: pl.Corner, X: x, Y: y}})
	}
	return uses, nil
}
