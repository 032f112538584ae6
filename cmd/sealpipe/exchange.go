package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/exchange"
	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// exchangeNote is what the exchange commands' help says of keys and
// formats.
const exchangeNote = `The exchange commands sign with the seal administrator's key
(SEALPIPE_ADMIN_KEY, the registrar) on this machine, also when
SEALPIPE_ADMIN_URL is set. The formats are described in docs/filing-export.md.

Exit codes: 0 done; 1 a document refused (signature, signer, format, older
than the one applied before) or a seal that could not be exported, imported
or revoked; 2 usage, unreadable file or download, or I/O failure.`

// newExchangeCmds returns the seals subcommands of the exchange with the
// provincial seal system: export, import, import-revocations, exchange.
func newExchangeCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{newExportCmd(g), newImportCmd(g), newImportRevocationsCmd(g), newExchangeJobsCmd(g)}
}

// exchangeErr gives an exchange error its exit code: 1 for a refused
// document or a registry that does not verify, 2 for what could not be
// read or written.
func exchangeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, exchange.ErrFetch), errors.Is(err, registry.ErrInvalid):
		return &exitError{exitUsage, err}
	case errors.Is(err, exchange.ErrRefused), errors.Is(err, registry.ErrTampered), errors.Is(err, registry.ErrNotFound):
		return &exitError{exitFailed, err}
	}
	return err
}

func newExportCmd(g *globals) *cobra.Command {
	var out, since string
	var seals []string
	cmd := &cobra.Command{
		Use:   "export --out FILE [--seal ID]... [--since TIME]",
		Short: "Write a filing export (备案) of the seals for the province, signed by the registrar",
		Long: `Write a filing export of the registry's seals to FILE: per seal its code, names,
kind, validity, SESeal (base64 DER) and its SM3, signer and maker certificates,
approvers, status and the full history of its signed log, each change with the
SM3 of its signed object. Every seal's log is verified first; one that does not
verify stops the export (exit 1). The export is a signed envelope
(sealpipe-signed/1) signed by the registrar; SEALPIPE_EXCHANGE_REGISTRY names
the issuing registry in it.

` + exchangeNote,
		Example: `  sealpipe seals export --out filing.json
  sealpipe seals export --out changed.json --since 2026-11-01
  sealpipe seals export --out one.json --seal 33010200000001`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageErr("--out FILE is required")
			}
			req := engine.ExportRequest{Out: out, Seals: seals}
			if since != "" {
				t, err := parseTime(since)
				if err != nil {
					return usageErr("--since %q: %v", since, err)
				}
				req.Since = t
			}
			f, err := g.engine().ExportFiling(cmd.Context(), req)
			if err != nil {
				return exchangeErr(err)
			}
			if g.jsonOut {
				return printJSON(g, struct {
					File     string    `json:"file"`
					Export   string    `json:"export"`
					Registry string    `json:"registry"`
					Created  time.Time `json:"created_at"`
					Seals    int       `json:"seals"`
				}{out, f.ID, f.Registry, f.CreatedAt, len(f.Seals)})
			}
			fmt.Fprintf(g.stdout, "filing export %s of %s: %d seal(s), written to %s\n", f.ID, f.Registry, len(f.Seals), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the export to (replaced whole)")
	cmd.Flags().StringArrayVar(&seals, "seal", nil, "export only this seal (repeatable; default: every seal)")
	cmd.Flags().StringVar(&since, "since", "", "export only the seals changed at or after this time (RFC 3339, or a date 2006-01-02, UTC)")
	return cmd
}

// parseTime reads an RFC 3339 time or a date (UTC midnight).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, errors.New("want an RFC 3339 time such as 2026-11-01T08:00:00+08:00, or a date such as 2026-11-01")
	}
	return t, nil
}

func newImportCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Register the seals of another registry's filing export here, in their states there",
		Long: `Verify the filing export FILE — its signature first, by a registrar certificate
that chains to the trusted roots and carries SEALPIPE_ADMIN_OID, then that every
seal agrees with its SESeal — and register its seals in this registry in the
status they have there. Nothing of the other registry's log is copied: each seal
gets one change of this registry's own, signed by this registry's
administrator, saying "imported from filing export X of R (SM3 …), made T:
originally <status> since <time>". A seal registered here already with the same
SESeal takes the export's status (a seal revoked here stays revoked); one
registered with another SESeal is a conflict, left alone (exit 1). Importing the
same export again changes nothing; an export older than the last one imported
from the same registry is refused (exit 1).

` + exchangeNote,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := g.engine().ImportFiling(cmd.Context(), args[0])
			if err != nil {
				return exchangeErr(err)
			}
			rows := [][]string{{"SEAL", "ACTION", "STATUS", "DETAIL"}}
			for _, s := range rep.Seals {
				rows = append(rows, []string{s.Seal, s.Action, string(s.Status), s.Detail})
			}
			head := fmt.Sprintf("filing export %s of %s (SM3 %s), signed by %s", rep.Export, rep.Registry, rep.SM3, rep.Signer)
			var failed []error
			for _, s := range rep.Failed() {
				failed = append(failed, fmt.Errorf("seal %s not imported: %w", s.Seal, s.Err))
			}
			return printExchange(g, rep, head, rows, failed)
		},
	}
}

func newImportRevocationsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "import-revocations FILE|URL",
		Short: "Revoke the seals the province's signed revocation list names",
		Long: `Read the province's revocation list from FILE or an http(s) URL, verify its
signature — by a certificate that chains to SEALPIPE_PROVINCE_ROOTS (or the
trusted roots) and carries SEALPIPE_PROVINCE_OID — and revoke each listed seal
of this registry. Each revocation is a registry change signed by the seal
administrator that records the list (issuer, number, issue time, SM3), the
reason code and when the province revoked the seal, and names the list's
signer as who asked for it. Seals revoked already are left; seals this registry
does not know are reported (exit 0). A list older than the last one applied
(a lower number, or an earlier issue time; kept in <data>/state/exchange/) is
refused (exit 1); the same list again changes nothing.

` + exchangeNote,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := g.engine().ImportRevocations(cmd.Context(), args[0])
			if err != nil {
				return exchangeErr(err)
			}
			rows := [][]string{{"SEAL", "ACTION", "DETAIL"}}
			for _, s := range rep.Seals {
				rows = append(rows, []string{s.Seal, s.Action, s.Detail})
			}
			head := fmt.Sprintf("revocation list %d of %s issued %s (SM3 %s), signed by %s: %d revoked, %d already revoked, %d unknown",
				rep.Number, rep.Issuer, rep.Issued.Format(time.RFC3339), rep.SM3, rep.Signer,
				rep.Count(exchange.ActionRevoked), rep.Count(exchange.ActionAlreadyRevoked), rep.Count(exchange.ActionUnknown))
			var failed []error
			for _, s := range rep.Failed() {
				failed = append(failed, fmt.Errorf("seal %s not revoked: %w", s.Seal, s.Err))
			}
			return printExchange(g, rep, head, rows, failed)
		},
	}
}

// printExchange prints what an import did: rep as JSON with --json, else
// the line head and the table rows (its header first). It then fails
// (exit 1) with the seals that failed, if any.
func printExchange(g *globals, rep any, head string, rows [][]string, failed []error) error {
	if g.jsonOut {
		if err := printJSON(g, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(g.stdout, head)
		tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
	}
	if len(failed) > 0 {
		return &exitError{exitFailed, errors.Join(failed...)}
	}
	return nil
}

func newExchangeJobsCmd(g *globals) *cobra.Command {
	var once bool
	cmd := &cobra.Command{
		Use:   "exchange [--once]",
		Short: "Run the scheduled exchange with the province: filing exports and revocation list imports",
		Long: `Run the exchange jobs the settings configure until interrupted: a filing export of
every seal into SEALPIPE_EXCHANGE_EXPORT_DIR (filing-<UTC time>.json) every
SEALPIPE_EXCHANGE_EXPORT_INTERVAL, and the import of the province's revocation
list at SEALPIPE_REVOCATIONS_URL every SEALPIPE_REVOCATIONS_INTERVAL, each at
start and then on its interval; a failure is logged and tried again at the next
run. With --once each job runs once and the command exits (for cron), 1 if one
failed.

It runs apart from sealpipe run, on the seal administrator's machine: both jobs
sign with the registrar's key, which the sealing workers never open. sealpipe
serve runs the same jobs beside the admin API when they are configured.

` + exchangeNote,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			jobs, err := g.engine().ExchangeJobs(cmd.Context())
			if err != nil {
				return exchangeErr(err)
			}
			if once {
				var errs []error
				for _, j := range jobs {
					if err := j.Do(cmd.Context()); err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", j.Name, err))
					} else {
						fmt.Fprintf(g.stdout, "%s: done\n", j.Name)
					}
				}
				if err := errors.Join(errs...); err != nil {
					return &exitError{exitFailed, err}
				}
				return nil
			}
			return exchange.RunJobs(cmd.Context(), jobs)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "run each job once, then exit")
	return cmd
}
