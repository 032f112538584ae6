package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// reasonCodes lists the reason codes for --help.
func reasonCodes() string {
	s := make([]string, len(registry.ReasonCodes))
	for i, c := range registry.ReasonCodes {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// newChangeCmd is `seals change` (renew false) or `seals renew`.
func newChangeCmd(g *globals, renew bool) *cobra.Command {
	var (
		c     engine.SealChange
		years int
	)
	c.Renew = renew
	cmd := &cobra.Command{
		Use:   "change OLD --code NEWCODE [--purpose TEXT] [--holder NAME] [--approver SLUG]... --reason TEXT",
		Short: "Replace a seal by a new one (a change of name, purpose, holder or representative) and revoke the old",
		Long: `Make a new seal as the successor of seal OLD and revoke OLD with reason code
superseded, naming the new seal (county rules 第十三条: a new seal, the old
revoked with a reference). The new seal records OLD as its predecessor.

The new seal takes what the command line leaves out from OLD: its unit, kind,
approvers with their departments, its purpose with --keep-purpose, and for a
personal name seal without --holder its picture and name. --purpose, --holder
and --approver say what changes; the unit's name is the one in its signer
certificate, as for seals make.

The successor is registered first, then OLD revoked: a change stopped between
the two leaves both active, and running the same command again finishes it.
Documents sealed with OLD before the change still verify (status at signing
time); new documents are refused it.

With SEALPIPE_ADMIN_URL set, the admin API makes the change (POST
/api/v1/seals/OLD/change, the admin role), recording the client certificate's
holder as requester in both registry changes.`,
		Example: `  # the unit's name changed: a new official seal, the old one revoked
  sealpipe seals change 33010200000004 --code 33010200000014 --purpose "" --reason "unit renamed (county decision 12)"

  # a new legal representative: a new name seal
  sealpipe seals change 33010200000101 --code 33010200000111 --holder 李四 --reason "representative changed"`,
		Args: exactArgs(1),
	}
	if renew {
		cmd.Use = "renew OLD --code NEWCODE [--valid-years N]"
		cmd.Short = "Renew a seal: a successor with a new validity, the old revoked"
		cmd.Long = `Make a new seal as the successor of seal OLD with the same unit, kind, purpose,
picture (for a personal name seal) and approvers, valid from now for
--valid-years but never beyond the unit's signer certificate, and revoke OLD
with reason code superseded naming it (county rules 第十条: validity follows the
certificate's, renewable online). A GB/T 38540 seal's validity is inside its
signed SESeal, so a renewal is a new seal with a new code, not an edit.

A renewal that would not end later than OLD — the unit's certificate ends no
later — is refused: renew the certificate first. As with seals change, the
successor is registered first; running the command again finishes a renewal
that stopped before OLD was revoked. seals list marks, and config check and
run warn of, seals that expire within SEALPIPE_SEAL_EXPIRY_WARNING.

With SEALPIPE_ADMIN_URL set, the admin API renews it (POST
/api/v1/seals/OLD/renew, the admin role), recording the client certificate's
holder as requester in both registry changes.`
		cmd.Example = `  sealpipe seals renew 33010200000004 --code 33010200000024`
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if c.New.Code == "" {
			return usageErr("--code NEWCODE is required: the new seal's code")
		}
		if years < 1 || years > 10 {
			return usageErr("--valid-years %d: want 1 to 10", years)
		}
		c.New.Validity = time.Duration(years) * 365 * 24 * time.Hour
		if !renew && c.Reason == "" {
			return usageErr("--reason is required: the old seal's revocation records why")
		}
		c.Old = args[0]
		c.KeepPurpose = !cmd.Flags().Changed("purpose")
		var (
			succ *registry.Record
			old  *registry.Record
		)
		client, err := g.engine().AdminClient()
		switch {
		case err != nil:
			return err
		case client != nil:
			succ, old, err = changeThroughAPI(cmd.Context(), client, c, years*365)
		default:
			var e *registry.Entry
			if e, old, err = g.engine().ChangeSeal(cmd.Context(), c); e != nil {
				succ = &e.Record
			}
		}
		switch {
		case errors.Is(err, registry.ErrNotFound), errors.Is(err, registry.ErrTransition), errors.Is(err, registry.ErrConflict), errors.Is(err, registry.ErrTampered):
			return &exitError{exitFailed, err}
		case errors.Is(err, registry.ErrInvalid), errors.Is(err, registry.ErrExists):
			return &exitError{exitUsage, err}
		case err != nil:
			return err
		}
		recs := []registry.Record{*succ, *old}
		if !g.jsonOut {
			fmt.Fprintf(g.stderr, "sealpipe: seals %s: %s replaces %s, revoked (superseded)\n", cmd.Name(), succ.ID, old.ID)
		}
		return printRecords(g, recs)
	}
	f := cmd.Flags()
	f.StringVar(&c.New.Code, "code", "", "the new seal's 14-digit code (its esID)")
	f.IntVar(&years, "valid-years", 2, "validity of the new seal in years (capped at the signer certificate's)")
	if !renew {
		f.StringVar(&c.Reason, "reason", "", "why the seal changes (recorded with the old seal's revocation)")
		f.StringVar(&c.New.Purpose, "purpose", "", "the new seal's purpose text (default: the old seal's; \"\" makes an official seal, 公章)")
		f.StringVar(&c.New.Holder, "holder", "", "a personal name seal's new holder (default: the old seal's picture and name)")
		f.StringArrayVar(&c.New.Approvers, "approver", nil, "approver slug of the new seal (repeatable; default: the old seal's approvers)")
		f.StringArrayVar(&c.New.Departments, "dept", nil, "department the --approver may approve for (repeatable; default: the unit's slug)")
	}
	return cmd
}

// changeThroughAPI asks the admin API for change c (POST
// /api/v1/seals/{id}/change, or …/renew for a renewal), the new seal
// valid for days. It returns the successor's record and the old seal's.
func changeThroughAPI(ctx context.Context, client *adminapi.Client, c engine.SealChange, days int) (succ, old *registry.Record, err error) {
	var s *adminapi.Succession
	if c.Renew {
		s, err = client.Renew(ctx, c.Old, adminapi.RenewRequest{Code: c.New.Code, ValidityDays: days})
	} else {
		req := adminapi.ChangeRequest{
			Code: c.New.Code, Reason: c.Reason, Holder: c.New.Holder,
			Approvers: c.New.Approvers, Departments: c.New.Departments, ValidityDays: days,
		}
		if !c.KeepPurpose {
			req.Purpose = &c.New.Purpose
		}
		s, err = client.Change(ctx, c.Old, req)
	}
	if err != nil {
		return nil, nil, err
	}
	return &s.Seal.Record, &s.Superseded, nil
}
