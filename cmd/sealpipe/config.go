package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the settings in force (secrets only as set or not)",
		Long: `Print every SEALPIPE_* setting with the value sealpipe would use: from the
environment, else from --config FILE, else the default. Secrets print as
"(set)" or nothing. deploy/sealpipe.conf.sample documents every setting.

` + settingsHelp + engine.Help(),
		Example: `  sealpipe config --config /etc/sealpipe.env
  sealpipe config check --config /etc/sealpipe.env`,
		Args: exactArgs(0),
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
	cmd.AddCommand(newConfigCheckCmd(g), &cobra.Command{
		Use:   "sample",
		Short: "Print a configuration file documenting every setting, all commented out",
		Long: `Print a file for --config that lists every setting with its help text and
default, commented out: it loads as the defaults until lines are uncommented.
It is deploy/sealpipe.conf.sample.`,
		Example: `  sealpipe config sample > /etc/sealpipe.conf`,
		Args:    exactArgs(0),
		RunE: func(*cobra.Command, []string) error {
			_, err := g.stdout.Write(engine.SampleConfig())
			return err
		},
	})
	return cmd
}

func newConfigCheckCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check the configuration: settings, trust roots, keys, identities, store, Redis",
		Long: `Load the configuration (the environment over --config FILE) and check each
part it configures, one line a check, OK, FAILED or SKIPPED with the reason:
the settings parse; the data folder; the trusted roots load and each CRL
parses (files) or downloads (URLs); the keyring parses and each of its keys
opens (a key file decrypts with its passphrase; a pkcs11: key's module is
allowed, its token reached, the login accepted and the object found) and
makes a test signature over a fixed message, which its public key verifies
(nothing real is signed); the PKCS#11 modules are present; the service and
administrator certificates match their keys and carry their role; the object
store answers and its bucket exists (S3) or its folder does (local); Redis
answers, when SEALPIPE_REDIS_ADDR is set.

It changes nothing: no folder, file or bucket is created.

Exit codes: 0 every check OK or SKIPPED; 1 a check FAILED; 2 usage.`,
		Example:     `  sealpipe --config /etc/sealpipe.conf config check`,
		Args:        exactArgs(0),
		Annotations: map[string]string{annotationSettings: settingsReported},
		RunE: func(cmd *cobra.Command, _ []string) error {
			var results []engine.CheckResult
			if g.settingsErr != nil {
				results = []engine.CheckResult{engine.SettingsCheck(g.settingsErr)}
			} else {
				results = g.engine().Check(cmd.Context())
			}
			if g.jsonOut {
				if err := printJSON(g, results); err != nil {
					return err
				}
			} else {
				for _, r := range results {
					fmt.Fprintf(g.stdout, "%-7s %s: %s\n", r.Status, r.Check, r.Detail)
				}
			}
			if engine.ChecksFailed(results) {
				return &exitError{exitFailed, errSilent}
			}
			return nil
		},
	}
}
