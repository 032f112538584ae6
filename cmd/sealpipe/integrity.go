package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newRegistryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "registry", Short: "Check the seal registry"}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Verify every seal's and application's signed log in the registry",
		Long: `Read every seal's log in the registry and check it: each change signed by a
seal administrator trusted at the time it states, numbered, linked to the one
before, the head naming the last; then every application's log (seals
application), its identity materials matching the SM3 its submission pinned.
Exit 1 naming each seal or application whose log does not verify and the
object at fault; such a seal cannot be used until an administrator looks into
it.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			problems, err := g.engine().VerifyRegistry(cmd.Context())
			if err != nil {
				return err
			}
			if g.jsonOut {
				out := []map[string]string{}
				for _, p := range problems {
					if p.Application != "" {
						out = append(out, map[string]string{"application": p.Application, "problem": p.Err.Error()})
						continue
					}
					out = append(out, map[string]string{"seal": p.Seal, "problem": p.Err.Error()})
				}
				if err := printJSON(g, out); err != nil {
					return err
				}
			}
			if len(problems) == 0 {
				if !g.jsonOut {
					fmt.Fprintln(g.stdout, "registry: every seal's log verifies")
				}
				return nil
			}
			for _, p := range problems {
				fmt.Fprintf(g.stderr, "sealpipe: %v\n", p.Err)
			}
			return &exitError{exitFailed, errSilent}
		},
	})
	return cmd
}

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Check and query the usage log (用章记录)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify [SEAL…]",
		Short: "Verify the usage log of every seal, or of those named",
		Long: `Walk each seal's usage log: every segment signed by the pipeline, numbered,
linked to the one before and matching its checkpoint; every usage record it
lists signed, unchanged, and the sealed output it names still the one sealed;
every use in a completed batch listed. Exit 1 naming the first problem of each
seal: an edited, deleted, reordered or added record, a log cut short, a sealed
output replaced.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			problems, err := g.engine().VerifyUsage(cmd.Context(), args)
			if err != nil {
				return err
			}
			if g.jsonOut {
				out := []map[string]string{}
				for _, p := range problems {
					out = append(out, map[string]string{"seal": p.Seal, "object": p.Object, "problem": p.Reason})
				}
				if err := printJSON(g, out); err != nil {
					return err
				}
			}
			if len(problems) == 0 {
				if !g.jsonOut {
					fmt.Fprintln(g.stdout, "usage log: every use is on record")
				}
				return nil
			}
			for _, p := range problems {
				fmt.Fprintf(g.stderr, "sealpipe: %v\n", p)
			}
			return &exitError{exitFailed, errSilent}
		},
	})
	cmd.AddCommand(newAuditQueryCmd(g))
	return cmd
}
