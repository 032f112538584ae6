package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
)

func newMigrateCmd(g *globals) *cobra.Command {
	var depts, keyAliases []string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring a store written before seals and records were signed up to date",
		Long: `Give every seal kept in the old layout (registry/seals/<id>/record.json) a signed
log — its registration, then its history as status changes — signed by the seal
administrator (SEALPIPE_ADMIN_KEY), and move its key URI into the keyring under
an alias; sign every report, rejection and usage record not yet signed with the
pipeline's key (SEALPIPE_SERVICE_KEY); commit the uses of every completed batch
to the usage log. Running it again changes nothing.

Migration vouches for what the store holds now: run it once, before departments
have their own credentials, on a store no one else could write.`,
		Example: `  sealpipe migrate --approver-dept approver-zhang=civil-affairs`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := engine.MigrateOptions{Departments: map[string][]string{}, Keys: map[string]string{}}
			for _, p := range depts {
				cn, dept, ok := strings.Cut(p, "=")
				if !ok || cn == "" || dept == "" {
					return usageErr("--approver-dept %q: want APPROVER=DEPARTMENT", p)
				}
				opts.Departments[cn] = append(opts.Departments[cn], dept)
			}
			for _, p := range keyAliases {
				id, alias, ok := strings.Cut(p, "=")
				if !ok || id == "" || alias == "" {
					return usageErr("--key %q: want SEAL-ID=ALIAS", p)
				}
				opts.Keys[id] = alias
			}
			m, err := g.engine().Migrate(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(g, m)
			}
			fmt.Fprintf(g.stdout, "migrated %d seal(s) %v; signed %d record(s); committed the uses of %d batch(es) to the usage log\n",
				len(m.Seals), m.Seals, m.Records, m.Batches)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&depts, "approver-dept", nil, "department an approver may approve for, as APPROVER=DEPARTMENT (repeatable; default: the seal's key alias)")
	cmd.Flags().StringArrayVar(&keyAliases, "key", nil, "key alias of a seal whose old key URI gives none, as SEAL-ID=ALIAS (repeatable)")
	return cmd
}
