package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// newApplicationCmd is `seals application`: applications for seals
// (county rules 第六–八条), on this machine's registry. Through the admin
// API the registrar submits and the city reviews (POST /api/v1/applications).
func newApplicationCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "application",
		Short: "Applications for seals: submit, review, make the seal, file it (then it is active)",
		Long: `An application for a seal names the unit, the kind of seal (official 公章,
special 专用章 with a purpose, name 名章 or title 职务章 with a holder), the clerk
(经办人) and attaches the identity materials, stored in the registry's bucket
under registry/applications/<id>/materials/ with their SM3 in the signed
submission (county rules 第八条). The seal administrator reviews it (第七条),
makes the seal it asks for, registered suspended, and files it (备案): only
then is the seal active.

These commands work on this machine's registry with the seal administrator's
key (SEALPIPE_ADMIN_KEY). With SEALPIPE_ADMIN_URL set they are clients of the
admin API instead: submit (POST /api/v1/applications, admin or registrar; the
materials at most 48 MiB in all), review and make (POST …/review, …/make,
admin), file (POST …/file, admin or registrar), show and list (GET, admin,
registrar or auditor).`,
	}
	var (
		req       registry.ApplicationRequest
		materials []string
	)
	submit := &cobra.Command{
		Use:   "submit ID --unit NAME --kind KIND --clerk NAME --material FILE... [--purpose TEXT] [--holder NAME]",
		Short: "Submit an application with its identity materials",
		Example: `  sealpipe seals application submit 411728-2026-0001 --unit 某某县民政局 --kind special --purpose 业务专用章 \
      --clerk 王芳 --material unit-licence.pdf --material clerk-id.png`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.ID, req.Materials = args[0], nil
			for _, path := range materials {
				b, err := os.ReadFile(path)
				if err != nil {
					return usageErr("--material: %v", err)
				}
				req.Materials = append(req.Materials, registry.MaterialFile{Name: filepath.Base(path), Data: b})
			}
			client, err := g.engine().AdminClient()
			if err != nil {
				return err
			}
			if client == nil {
				a, err := g.engine().SubmitApplication(cmd.Context(), req)
				return printApplication(g, a, err)
			}
			up := adminapi.ApplicationRequest{ID: req.ID, Unit: req.Unit, Kind: req.Kind, Purpose: req.Purpose, Holder: req.Holder, Clerk: req.Clerk, Reason: req.Reason}
			size := 0
			for _, m := range req.Materials {
				up.Materials = append(up.Materials, adminapi.MaterialUpload{Name: m.Name, Data: m.Data})
				size += base64.StdEncoding.EncodedLen(len(m.Data))
			}
			if size > maxUploadFiles {
				return usageErr("--material: %d bytes in base64, more than the admin API takes (at most %d MiB a request): scan at a lower resolution", size, adminapi.MaxUploadSize>>20)
			}
			a, err := client.SubmitApplication(cmd.Context(), up)
			return printApplication(g, a, err)
		},
	}
	f := submit.Flags()
	f.StringVar(&req.Unit, "unit", "", "the unit's name, as its signer certificate carries it, e.g. 某某县民政局")
	f.StringVar((*string)(&req.Kind), "kind", "", "official (公章), special (专用章, needs --purpose), name (名章) or title (职务章), both needing --holder")
	f.StringVar(&req.Purpose, "purpose", "", "a special seal's purpose text, e.g. 合同专用章")
	f.StringVar(&req.Holder, "holder", "", "the person a name or title seal is for")
	f.StringVar(&req.Clerk, "clerk", "", "the clerk (经办人) who submits it for the unit")
	f.StringArrayVar(&materials, "material", nil, "an identity material file (repeatable; its base name is kept)")
	f.StringVar(&req.Reason, "reason", "", "a note recorded with the submission")

	var approve, refuse bool
	var reason string
	review := &cobra.Command{
		Use:   "review ID --approve|--refuse [--reason TEXT]",
		Short: "Approve or refuse a submitted application (a refusal needs --reason)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if approve == refuse {
				return usageErr("say --approve or --refuse")
			}
			client, err := g.engine().AdminClient()
			if err != nil {
				return err
			}
			var a *registry.Application
			if client != nil {
				a, err = client.ReviewApplication(cmd.Context(), args[0], adminapi.ReviewRequest{Approve: approve, Reason: reason})
			} else {
				a, err = g.engine().ReviewApplication(cmd.Context(), args[0], approve, reason)
			}
			return printApplication(g, a, err)
		},
	}
	review.Flags().BoolVar(&approve, "approve", false, "approve the application")
	review.Flags().BoolVar(&refuse, "refuse", false, "refuse the application (needs --reason)")
	review.Flags().StringVar(&reason, "reason", "", "why (recorded)")

	var spec engine.SealSpec
	var years int
	mk := &cobra.Command{
		Use:   "make ID --unit SLUG --code CODE --approver SLUG...",
		Short: "Make the seal an approved application asks for; it stays suspended until filed",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if spec.Unit == "" || spec.Code == "" || len(spec.Approvers) == 0 {
				return usageErr("--unit, --code and --approver are required")
			}
			if years < 1 || years > 10 {
				return usageErr("--valid-years %d: want 1 to 10", years)
			}
			spec.Validity = time.Duration(years) * 365 * 24 * time.Hour
			var (
				seal *registry.Record
				a    *registry.Application
			)
			client, err := g.engine().AdminClient()
			switch {
			case err != nil:
				return err
			case client != nil:
				seal, a, err = makeFromApplicationThroughAPI(cmd.Context(), client, args[0], adminapi.ApplicationMakeRequest{
					Unit: spec.Unit, Code: spec.Code, Approvers: spec.Approvers, Departments: spec.Departments, ValidityDays: years * 365,
				})
			default:
				var e *registry.Entry
				if e, a, err = g.engine().MakeFromApplication(cmd.Context(), args[0], spec); e != nil {
					seal = &e.Record
				}
			}
			if err == nil && !g.jsonOut {
				fmt.Fprintf(g.stdout, "seal %s made from application %s: %s until filed (sealpipe seals application file %s)\n", seal.ID, a.ID, seal.Status, a.ID)
			}
			return printApplication(g, a, err)
		},
	}
	mk.Flags().StringVar(&spec.Unit, "unit", "", "the unit's slug in the trust chain (its certificate must name the application's unit)")
	mk.Flags().StringVar(&spec.Code, "code", "", "14-digit seal code")
	mk.Flags().StringArrayVar(&spec.Approvers, "approver", nil, "approver slug allowed to approve uses (repeatable)")
	mk.Flags().StringArrayVar(&spec.Departments, "dept", nil, "department the approvers may approve for (repeatable; default: the unit's slug)")
	mk.Flags().IntVar(&years, "valid-years", 2, "validity in years (capped at the signer certificate's)")

	var fileReason string
	file := &cobra.Command{
		Use:   "file ID [--reason TEXT]",
		Short: "File (备案) the seal made from an application, which makes it active",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := g.engine().AdminClient()
			if err != nil {
				return err
			}
			var a *registry.Application
			if client != nil {
				a, err = client.FileApplication(cmd.Context(), args[0], adminapi.FileRequest{Reason: fileReason})
			} else {
				a, err = g.engine().FileSeal(cmd.Context(), args[0], fileReason, nil)
			}
			return printApplication(g, a, err)
		},
	}
	file.Flags().StringVar(&fileReason, "reason", "", "recorded with the activation and the filing (default: filed (application ID))")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show an application, its materials' SM3 and its history",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			apps, err := applications(cmd.Context(), g)
			if err != nil {
				return err
			}
			a, err := apps.Application(cmd.Context(), args[0])
			if err != nil {
				return printApplication(g, nil, err)
			}
			return printJSON(g, a)
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the applications and their states",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := applications(cmd.Context(), g)
			if err != nil {
				return err
			}
			apps, err := from.Applications(cmd.Context())
			if err != nil {
				return err
			}
			if g.jsonOut {
				if apps == nil {
					apps = []registry.Application{}
				}
				return printJSON(g, apps)
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tKIND\tUNIT\tHOLDER\tSEAL")
			for _, a := range apps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.State, a.Kind, a.Unit, a.Holder, a.Seal)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(submit, review, mk, file, show, list)
	return cmd
}

// maxUploadFiles bounds the files one admin API request carries, base64
// in its JSON body of at most adminapi.MaxUploadSize, with room for the
// rest of the body: an application's materials, an impression's scan.
const maxUploadFiles = adminapi.MaxUploadSize - 64<<10

// applicationReader is what show and list read applications from: this
// machine's registry, or the admin API's GET routes.
type applicationReader interface {
	Application(ctx context.Context, id string) (*registry.Application, error)
	Applications(ctx context.Context) ([]registry.Application, error)
}

// applications returns the admin API client when SEALPIPE_ADMIN_URL is
// set, else this machine's registry.
func applications(ctx context.Context, g *globals) (applicationReader, error) {
	client, err := g.engine().AdminClient()
	if err != nil || client != nil {
		return client, err
	}
	return g.engine().Registry(ctx)
}

// makeFromApplicationThroughAPI asks the admin API to make the seal
// application id asks for (POST /api/v1/applications/{id}/make), and
// reads the seal made, to tell its status as the local command does.
func makeFromApplicationThroughAPI(ctx context.Context, client *adminapi.Client, id string, req adminapi.ApplicationMakeRequest) (*registry.Record, *registry.Application, error) {
	a, err := client.MakeFromApplication(ctx, id, req)
	if err != nil {
		return nil, nil, err
	}
	s, err := client.Show(ctx, a.Seal)
	if err != nil {
		return nil, nil, fmt.Errorf("application %s made seal %s, which cannot be read: %w", a.ID, a.Seal, err)
	}
	return &s.Record, a, nil
}

// printApplication prints an application (JSON: the record; else one
// line), or maps err to an exit status.
func printApplication(g *globals, a *registry.Application, err error) error {
	switch {
	case errors.Is(err, registry.ErrAppNotFound), errors.Is(err, registry.ErrNotFound), errors.Is(err, registry.ErrTransition), errors.Is(err, registry.ErrTampered), errors.Is(err, registry.ErrConflict):
		return &exitError{exitFailed, err}
	case errors.Is(err, registry.ErrInvalid), errors.Is(err, registry.ErrExists):
		return &exitError{exitUsage, err}
	case err != nil:
		return err
	}
	if g.jsonOut {
		return printJSON(g, a)
	}
	var mats []string
	for _, m := range a.Materials {
		mats = append(mats, fmt.Sprintf("%s (SM3 %.16s…)", m.Name, m.SM3))
	}
	fmt.Fprintf(g.stdout, "application %s: %s; %s seal for %s, clerk %s; materials %s", a.ID, a.State, a.Kind, a.Unit, a.Clerk, strings.Join(mats, ", "))
	if a.Seal != "" {
		fmt.Fprintf(g.stdout, "; seal %s", a.Seal)
	}
	fmt.Fprintln(g.stdout)
	return nil
}
