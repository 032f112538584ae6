package main

import (
	"io"
	"testing"

	"github.com/spf13/cobra"
)

// TestCommandNamesUnique fails when a command is registered twice under
// one parent (the second would never run, and --help lists it twice).
func TestCommandNamesUnique(t *testing.T) {
	root := newRootCmd(&globals{stdout: io.Discard, stderr: io.Discard})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		seen := map[string]bool{}
		for _, sub := range c.Commands() {
			for _, name := range append([]string{sub.Name()}, sub.Aliases...) {
				if seen[name] {
					t.Errorf("%q has two subcommands named %q", c.CommandPath(), name)
				}
				seen[name] = true
			}
			walk(sub)
		}
	}
	walk(root)
}
