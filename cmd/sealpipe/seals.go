package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/registry"
)

func newSealsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "seals", Short: "Make, list and manage registered seals"}

	var spec engine.SealSpec
	var years int
	makeCmd := &cobra.Command{
		Use:   "make",
		Short: "Make a GB/T 38540 seal for a unit (or a person's name seal) and register it",
		Long: `Draw the unit's round seal picture (red ring, star, unit name along the arc,
purpose text, seal code), build a GB/T 38540 version 4 SESeal holding the unit's
signer certificate, sign it with the seal maker's key and register it as active:
the registration is signed by the seal administrator (SEALPIPE_ADMIN_KEY, by
default the development registrar). The approvers' certificates are pinned by
their keys, each for the departments given with --dept. The seal's signing key
is named in the registry by the unit's slug; the keyring (SEALPIPE_KEYS) maps
that alias to the key.

With --kind personal the seal is a personal name seal (电子名章, GB/T 38540 seal
type 2) for the person --holder names: a 20 mm red square with the name in two
columns, 之印 added to a two-character name and 印 to a three-character one
(张三 → 张三之印). The unit's key signs with it, like a legal representative's
name seal kept by the unit; --purpose does not apply.`,
		Example: `  # a unit's business seal (业务专用章)
  sealpipe seals make --unit civil-affairs --code 33010200000001 --purpose 业务专用章 --approver approver-zhang

  # the name seal of the unit's legal representative, 张三 (engraved 张三之印)
  sealpipe seals make --kind personal --holder 张三 --unit civil-affairs --code 33010200000101 --approver approver-zhang`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spec.Unit == "" || spec.Code == "" || len(spec.Approvers) == 0 {
				return usageErr("--unit, --code and at least one --approver are required")
			}
			switch spec.Kind {
			case engine.SealKindUnit:
				if spec.Holder != "" {
					return usageErr("--holder is for --kind %s seals", engine.SealKindPersonal)
				}
			case engine.SealKindPersonal:
				if spec.Holder == "" {
					return usageErr("--kind %s needs --holder NAME", engine.SealKindPersonal)
				}
				if spec.Purpose != "" {
					return usageErr("--purpose does not apply to a %s seal", engine.SealKindPersonal)
				}
			default:
				return usageErr("--kind %q: want %s or %s", spec.Kind, engine.SealKindUnit, engine.SealKindPersonal)
			}
			if years < 1 || years > 10 {
				return usageErr("--valid-years %d: want 1 to 10", years)
			}
			spec.Validity = time.Duration(years) * 365 * 24 * time.Hour
			e, err := g.engine().MakeSeal(cmd.Context(), spec)
			if errors.Is(err, registry.ErrInvalid) {
				return &exitError{exitUsage, err}
			}
			if err != nil {
				return err
			}
			return printRecords(g, []registry.Record{e.Record})
		},
	}
	f := makeCmd.Flags()
	f.StringVar(&spec.Kind, "kind", engine.SealKindUnit, "kind of seal: unit (round unit seal) or personal (square name seal, needs --holder)")
	f.StringVar(&spec.Holder, "holder", "", "the person's name on a --kind personal seal, 2 to 8 characters, e.g. 张三")
	f.StringVar(&spec.Unit, "unit", "", "unit (signer slug in the trust chain) the seal belongs to")
	f.StringVar(&spec.Code, "code", "", "14-digit seal code, used as the seal's esID")
	f.StringVar(&spec.Purpose, "purpose", "", "purpose text under the star, e.g. 业务专用章")
	f.StringArrayVar(&spec.Approvers, "approver", nil, "approver slug allowed to approve uses (repeatable)")
	f.StringArrayVar(&spec.Departments, "dept", nil, "department whose batches the approvers may approve (repeatable; default: the unit's slug)")
	f.IntVar(&years, "valid-years", 2, "validity in years (capped at the signer certificate's)")
	f.StringVar(&spec.SignerKey, "signer-key", "", "key URI of an HSM key (pkcs11:...) to sign with; issues the unit a signer certificate for it")
	f.StringVar(&spec.UnitName, "unit-name", "", "the unit's name, when --signer-key creates a new unit")

	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List registered seals",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var recs []registry.Record
			if e := g.engine(); e.Settings().S3.Endpoint != "" || e.LocalStoreExists() {
				reg, err := e.Registry(cmd.Context())
				if err != nil {
					return err
				}
				if recs, err = reg.List(cmd.Context()); err != nil {
					return err
				}
			}
			return printRecords(g, recs)
		},
	}
	showCmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one seal's record and history",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if e := g.engine(); e.Settings().S3.Endpoint == "" && !e.LocalStoreExists() {
				return &exitError{exitFailed, fmt.Errorf("seal %q: %w (no store at %s)", args[0], registry.ErrNotFound, e.StoreLocation())}
			}
			reg, err := g.engine().Registry(cmd.Context())
			if err != nil {
				return err
			}
			e, err := reg.Get(cmd.Context(), args[0])
			if errors.Is(err, registry.ErrNotFound) {
				return &exitError{exitFailed, err}
			} else if err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(g, e.Record)
			}
			b, _ := json.MarshalIndent(e.Record, "", "  ")
			fmt.Fprintf(g.stdout, "%s\nSESeal: version %d, vendor %s, picture %s %dx%d mm, %d signer certificate(s)\n",
				b, e.Seal.Version, e.Seal.VendorID, e.Seal.Picture.Type, e.Seal.Picture.WidthMM, e.Seal.Picture.HeightMM, len(e.Seal.Certs))
			return nil
		},
	}
	cmd.AddCommand(makeCmd, listCmd, showCmd)
	for _, st := range []registry.Status{registry.StatusSuspended, registry.StatusActive, registry.StatusRevoked} {
		cmd.AddCommand(newStatusCmd(g, st))
	}
	return cmd
}

func newStatusCmd(g *globals, to registry.Status) *cobra.Command {
	verb := map[registry.Status]string{registry.StatusSuspended: "suspend", registry.StatusActive: "activate", registry.StatusRevoked: "revoke"}[to]
	var reason string
	c := &cobra.Command{
		Use:   verb + " ID --reason TEXT",
		Short: map[registry.Status]string{registry.StatusSuspended: "Suspend a seal (it may be activated again)", registry.StatusActive: "Reactivate a suspended seal", registry.StatusRevoked: "Revoke a seal for good"}[to],
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return usageErr("--reason is required: the registry records why")
			}
			rec, err := g.engine().SetSealStatus(cmd.Context(), args[0], to, reason)
			switch {
			case errors.Is(err, registry.ErrNotFound), errors.Is(err, registry.ErrTransition), errors.Is(err, registry.ErrConflict), errors.Is(err, registry.ErrTampered):
				return &exitError{exitFailed, err}
			case err != nil:
				return err
			}
			return printRecords(g, []registry.Record{*rec})
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why the status changes (recorded in the seal's history)")
	return c
}

func printRecords(g *globals, recs []registry.Record) error {
	if g.jsonOut {
		if recs == nil {
			recs = []registry.Record{}
		}
		return printJSON(g, recs)
	}
	tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tVALID UNTIL\tNAME\tAPPROVERS")
	for _, r := range recs {
		var approvers []string
		for _, a := range r.Approvers {
			approvers = append(approvers, a.Name+" ("+strings.Join(a.Departments, ",")+")")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, r.ValidEnd.Format(time.DateOnly), r.Name, strings.Join(approvers, "; "))
	}
	return tw.Flush()
}
