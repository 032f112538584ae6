package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/devca"
)

func newCACmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Manage the development SM2 trust chain",
	}
	var units, approvers []string
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create the development SM2 root, seal maker, unit signer and approver certificates",
		Long: `Create, under <data>/pki, an SM2 root CA, a seal-maker certificate, one document
signer certificate per unit and one certificate per approver. Private keys are
stored SM4-encrypted (PKCS#8, PBKDF2-HMAC-SM3) with the passphrase from
$SEALPIPE_KEY_PASSPHRASE or $SEALPIPE_KEY_PASSPHRASE_FILE; without either, a
development passphrase is generated into pki/DEV-ONLY-passphrase.

Existing certificates and keys are kept: running it again adds what is missing.
This chain is for development and demonstration only; production uses
certificates from a licensed CA.`,
		Example: `  sealpipe ca init
  sealpipe ca init --unit civil-affairs=某某县民政局 --approver approver-zhang=张伟`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := parsePairs(units, "--unit")
			if err != nil {
				return err
			}
			a, err := parsePairs(approvers, "--approver")
			if err != nil {
				return err
			}
			units, approvers := demo.Units, demo.Approvers
			if len(u) > 0 {
				units = nil
				for _, p := range u {
					units = append(units, devca.Unit{Slug: p[0], Name: p[1]})
				}
			}
			if len(a) > 0 {
				approvers = nil
				for _, p := range a {
					approvers = append(approvers, devca.Approver{Slug: p[0], Name: p[1]})
				}
			}
			ca, err := g.engine().InitDevCA(units, approvers)
			if err != nil {
				return err
			}
			return printCA(g, ca)
		},
	}
	initCmd.Flags().StringArrayVar(&units, "unit", nil, "unit signer as slug=name (repeatable; default: the demo units)")
	initCmd.Flags().StringArrayVar(&approvers, "approver", nil, "approver as slug=name (repeatable; default: the demo approvers)")
	cmd.AddCommand(initCmd, newIssueClientCmd(g), newIssueServerCmd(g), newRevokeClientCmd(g), newCRLCmd(g), newRenewSignerCmd(g))
	return cmd
}

func printCA(g *globals, ca *devca.CA) error {
	type ident struct {
		Role, Slug, Subject, Cert, Key string
	}
	var out []ident
	add := func(role, slug string, id devca.Identity) {
		out = append(out, ident{role, slug, id.Cert.Subject.String(), id.CertPath, id.KeyPath})
	}
	out = append(out, ident{"root", "root", ca.Root.Subject.String(), ca.RootPath, ""})
	add("seal-maker", "sealmaker", ca.SealMaker)
	for _, s := range slices.Sorted(maps.Keys(ca.Signers)) {
		add("signer", s, ca.Signers[s])
	}
	for _, s := range slices.Sorted(maps.Keys(ca.Approvers)) {
		add("approver", s, ca.Approvers[s])
	}
	if g.jsonOut {
		return printJSON(g, out)
	}
	for _, i := range out {
		fmt.Fprintf(g.stdout, "%-10s %-16s %s\n           %s\n", i.Role, i.Slug, i.Subject, i.Cert)
	}
	return nil
}

// parsePairs splits repeated "slug=name" flag values.
func parsePairs(vals []string, flag string) ([][2]string, error) {
	var out [][2]string
	for _, v := range vals {
		slug, name, ok := strings.Cut(v, "=")
		if !ok || slug == "" || name == "" {
			return nil, usageErr("%s %q: want slug=name", flag, v)
		}
		out = append(out, [2]string{slug, name})
	}
	return out, nil
}

func newRenewSignerCmd(g *globals) *cobra.Command {
	var unit string
	var years int
	cmd := &cobra.Command{
		Use:   "renew-signer --unit SLUG [--valid-years N]",
		Short: "Renew a unit's document signer certificate for the same key",
		Long: `Issue the unit's document signer certificate (<data>/pki/signers/SLUG.crt)
again from the development root: the same subject, unit name and key usages,
for the same key, valid from now for --valid-years (never beyond the root).
The key is not replaced and never leaves where it is: a key file stays
encrypted beside the certificate, an HSM key (SLUG.keyuri) stays in its token.
The command opens the key first to check that it is there and is the
certificate's, so an HSM key needs its token and PIN.

A renewal that would not end later than the current certificate is refused.
The current certificate is kept as signers/previous/SLUG-SERIAL.crt. Seals made
before keep the certificate they were made with; seals renew then makes their
successors, valid up to the new certificate's end (county rules 第十条).`,
		Example: `  sealpipe ca renew-signer --unit civil-affairs --valid-years 3
  sealpipe seals renew 33010200000004 --code 33010200000024`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if unit == "" {
				return usageErr("--unit SLUG is required: the unit whose certificate to renew")
			}
			if years < 1 || years > 10 {
				return usageErr("--valid-years %d: want 1 to 10", years)
			}
			ca, err := g.engine().DevCA()
			if err != nil {
				return err
			}
			// The key as sealing opens it: the keyring names it by the unit's slug.
			open := func(ctx context.Context) (crypto.Signer, error) { return g.engine().OpenKey(ctx, unit) }
			old, renewed, err := ca.RenewSigner(cmd.Context(), unit, time.Duration(years)*365*24*time.Hour, open)
			switch {
			case errors.Is(err, devca.ErrUnknownIdentity), errors.Is(err, devca.ErrNoLaterValidity):
				return &exitError{exitUsage, err}
			case err != nil:
				return err
			}
			key := renewed.KeyPath
			if key == "" {
				key = redactKeyURI(renewed.KeyURI)
			}
			if g.jsonOut {
				return printJSON(g, map[string]any{
					"unit": unit, "subject": renewed.Cert.Subject.String(), "certificate": renewed.CertPath, "key": key,
					"serial": fmt.Sprintf("%X", renewed.Cert.SerialNumber), "not_before": renewed.Cert.NotBefore, "not_after": renewed.Cert.NotAfter,
					"previous_serial": fmt.Sprintf("%X", old.Cert.SerialNumber), "previous_not_after": old.Cert.NotAfter,
				})
			}
			fmt.Fprintf(g.stdout, "renewed the signer certificate of unit %s (%s), the same key (%s)\n", unit, renewed.Cert.Subject.Organization[0], key)
			fmt.Fprintf(g.stdout, "  certificate: %s, serial %X, valid until %s (was %s, serial %X)\n", renewed.CertPath,
				renewed.Cert.SerialNumber, renewed.Cert.NotAfter.Format(time.DateOnly), old.Cert.NotAfter.Format(time.DateOnly), old.Cert.SerialNumber)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&unit, "unit", "", "the unit's slug (its certificate's CN, e.g. civil-affairs)")
	f.IntVar(&years, "valid-years", 2, "validity of the renewed certificate in years (capped at the root's)")
	return cmd
}

// redactKeyURI shows a key URI without its query, where a pkcs11: URI may
// carry a pin-value.
func redactKeyURI(uri string) string {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[:i]
	}
	return uri
}
