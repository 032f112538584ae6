package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
)

func newConfigCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the settings in force (secrets only as set or not)",
		Long: `Print every SEALPIPE_* setting with the value sealpipe would use: from the
environment, else from --config FILE, else the default. Secrets print as
"(set)" or nothing.

` + settingsHelp + engine.Help(),
		Example: `  sealpipe config --config /etc/sealpipe.env`,
		Args:    exactArgs(0),
		RunE: func(*cobra.Command, []string) error {
			values := g.settings.Values()
			if g.jsonOut {
				return printJSON(g, values)
			}
			for _, v := range values {
				fmt.Fprintln(g.stdout, v)
			}
			return nil
		},
	}
}
