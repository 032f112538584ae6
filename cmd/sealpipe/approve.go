package main

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/pipeline/approval"
)

// manifestFor lists every PDF document in dir, with its SM3 digest, in a
// manifest applying seal at placement.
func manifestFor(dir, dept, batch, approver, seal string, pl approval.Placement, at time.Time) (*approval.Manifest, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	m := &approval.Manifest{Version: approval.Version, Batch: batch, Department: dept, Approver: approver, ApprovedAt: at.UTC().Truncate(time.Second)}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.EqualFold(filepath.Ext(e.Name()), ".pdf") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, usageErr("%v", err)
		}
		m.Documents = append(m.Documents, approval.NewDocument(e.Name(), b, seal, pl))
	}
	slices.SortFunc(m.Documents, func(a, b approval.Document) int { return strings.Compare(a.Name, b.Name) })
	if len(m.Documents) == 0 {
		return nil, usageErr("no .pdf documents in %s", dir)
	}
	return m, nil
}

// writeApproval signs m and writes approval.json and its signature into dir.
func writeApproval(dir string, m *approval.Manifest, signer crypto.Signer, cert *smx509.Certificate) error {
	body, sig, err := approval.MarshalSigned(m, signer, cert)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, approval.ManifestName), body, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, approval.SignatureName), sig, 0o644)
}

func newApproveCmd(g *globals) *cobra.Command {
	var dept, batch, approver, seal string
	pl := approval.DefaultPlacement
	cmd := &cobra.Command{
		Use:   "approve DIR",
		Short: "Write and sign the approval manifest for the PDF documents in DIR",
		Long: `List every .pdf file in DIR with its SM3 digest, the seal to apply and where,
and write DIR/approval.json plus its detached SM2 signature DIR/approval.json.p7s,
signed with the approver's key. Upload DIR's documents to
inbox/<dept>/<batch>/ and the two approval files last: their arrival closes the batch.`,
		Example: `  sealpipe approve ./batch-001 --dept civil-affairs --batch 2026-11-24-001 --approver approver-zhang --seal 33010200000001`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dept == "" || batch == "" || approver == "" || seal == "" {
				return usageErr("--dept, --batch, --approver and --seal are required")
			}
			ca, err := g.engine().DevCA()
			if err != nil {
				return err
			}
			id, err := ca.Approver(approver)
			if err != nil {
				return &exitError{exitUsage, err}
			}
			m, err := manifestFor(args[0], dept, batch, id.Cert.Subject.CommonName, seal, pl, time.Now())
			if err != nil {
				return err
			}
			key, err := ca.Signer(cmd.Context(), id)
			if err != nil {
				return err
			}
			if err := writeApproval(args[0], m, key, id.Cert); err != nil {
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
	f.IntVar(&pl.Page, "page", pl.Page, "page to place the seal on (1-based)")
	f.Float64Var(&pl.X, "x", pl.X, "seal picture's left edge, mm from the page's left edge")
	f.Float64Var(&pl.Y, "y", pl.Y, "seal picture's bottom edge, mm from the page's bottom edge")
	return cmd
}
