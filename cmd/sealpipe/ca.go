package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

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
	cmd.AddCommand(initCmd, newIssueClientCmd(g), newIssueServerCmd(g), newRevokeClientCmd(g), newCRLCmd(g))
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
