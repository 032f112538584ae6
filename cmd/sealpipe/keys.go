package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/keys/keeper"
)

func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "The keepers' secrets: key file passphrases and HSM PINs, their ages and changes",
		Long: `Each signing key of the keyring (SEALPIPE_KEYS) is protected by a secret its
keeper changes regularly (the county rules, 第十一条): the passphrase of an
SM4-encrypted key file, or the user PIN of the HSM token holding it.

  keys list               each alias's secret, when it last changed and how old
                          it is; warns when older than SEALPIPE_SECRET_MAX_AGE
  keys rotate-passphrase  re-encrypt a key file under a new passphrase
  keys change-pin         change a token's user PIN and its PIN file

Changes are atomic: a crash at any point leaves a key that opens with the old
secret or the new one. New secrets come from a file or, on a terminal, are
asked for twice without echo; never from a flag's value.`,
	}
	cmd.AddCommand(newKeysListCmd(g), newRotatePassphraseCmd(g), newChangePINCmd(g))
	return cmd
}

func newKeysListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"status"},
		Short:   "List each key's secret, when it last changed and how old it is",
		Long: `List each alias of the keyring with its secret's kind (passphrase or pin),
where the key and the secret are, when the secret last changed and its age in
days, then a WARN line for each secret older than SEALPIPE_SECRET_MAX_AGE,
of unknown age, or whose change did not finish. When a secret last changed
is recorded in <data>/state/secrets.json by rotate-passphrase and change-pin;
a key file's passphrase not changed since has the key file's modification
time. It opens no key and logs in to no token.

Exit codes: 0 listed (warnings too); 2 the keyring cannot be read.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			secrets, err := g.engine().Secrets(cmd.Context())
			if err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(g, secrets)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ALIAS\tKIND\tLAST CHANGED\tAGE\tWHERE")
			for _, s := range secrets {
				changed, age := "unknown", "?"
				if s.Changed != nil {
					changed = s.Changed.Format(time.DateTime) + " UTC"
					if s.ChangedFrom != "record" {
						changed += " (" + s.ChangedFrom + ")"
					}
					age = fmt.Sprintf("%dd", s.AgeDays)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Alias, s.Kind, changed, age, s.Where)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, s := range secrets {
				for _, w := range s.Warnings {
					fmt.Fprintf(g.stdout, "WARN %s: %s\n", s.Alias, w)
				}
			}
			return nil
		},
	}
}

func newRotatePassphraseCmd(g *globals) *cobra.Command {
	var newFile, passFile string
	cmd := &cobra.Command{
		Use:   "rotate-passphrase ALIAS [--new-passphrase-file FILE] [--passphrase-file PATH]",
		Short: "Re-encrypt a key file under a new passphrase, atomically",
		Long: `Re-encrypt the key file the keyring names ALIAS under a new passphrase and
put that passphrase in the key's passphrase file. The new passphrase is read
from --new-passphrase-file (one trailing newline dropped), or asked for twice
on the terminal. It must have at least 12 characters, 5 of them different,
not be a run such as "abcdefghijkl", not begin or end with white space, and
differ from the current one.

The current passphrase is the key's passphrase-file (its keyring line), or
SEALPIPE_KEY_PASSPHRASE. A key with no passphrase file of its own — none, or
one that another key shares — needs --passphrase-file PATH: the file to keep
its new passphrase in (mode 0600; keep it out of the data folder, which
backups copy), which its keyring lines then name. Every alias of the same key
file moves with it.

A crash at any point leaves a key file that opens with the passphrase its
source then holds, old or new: the key file first holds the key encrypted
under both passphrases, then the passphrase file (or the keyring line) is
switched with one rename, then the old encryption goes. Run the same command
again to finish a rotation that was interrupted. The change is recorded for
keys list; the key is then opened through the keyring to check it.

Exit codes: 0 rotated; 1 the current passphrase does not open the key, or
the rotation failed; 2 usage, an unknown alias, a refused passphrase.`,
		Example: `  sealpipe keys rotate-passphrase civil-affairs --new-passphrase-file /run/keeper/new
  sealpipe keys rotate-passphrase civil-affairs --passphrase-file /etc/sealpipe/secrets/civil-affairs.pass`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pass, err := newSecret(cmd.Context(), g, newFile, "--new-passphrase-file", "passphrase for "+args[0])
			if err != nil {
				return err
			}
			res, err := g.engine().RotatePassphrase(cmd.Context(), engine.PassphraseRotation{Alias: args[0], New: pass, PassphraseFile: passFile, By: actor()})
			if err != nil {
				return secretErr(err)
			}
			if g.jsonOut {
				return printJSON(g, res)
			}
			verb := "rotated"
			if res.Resumed {
				verb = "finished rotating"
			}
			fmt.Fprintf(g.stdout, "%s the passphrase of %s (%s): the new passphrase is in %s\n", verb, strings.Join(res.Aliases, ", "), res.KeyFile, res.PassphraseFile)
			if res.KeyringChanged {
				fmt.Fprintf(g.stdout, "keyring lines of %s now name passphrase-file=%s\n", strings.Join(res.Aliases, ", "), res.PassphraseFile)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&newFile, "new-passphrase-file", "", "file holding the new passphrase (default: ask on the terminal)")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "absolute path of the file to keep the key's passphrase in, for a key without one of its own")
	return cmd
}

func newChangePINCmd(g *globals) *cobra.Command {
	var newFile string
	var spec engine.PINChangeSpec
	cmd := &cobra.Command{
		Use:   "change-pin [ALIAS | --token LABEL --pin-source file:/PATH [--module LIB]] [--new-pin-file FILE]",
		Short: "Change an HSM token's user PIN, and the PIN file the keyring reads it from",
		Long: `Change the user PIN of the token that holds the pkcs11: key ALIAS (or of the
token LABEL in --module, default SEALPIPE_PKCS11_MODULE), with C_SetPIN, then
the file its pin-source names. The current PIN is that file's; the new PIN is
read from --new-pin-file, or asked for twice on the terminal. It must have at
least 6 characters and as many as the token asks for, not be one character
repeated or a run such as 123456, and differ from the current one. Every
pkcs11: key of the keyring on that token must read its PIN from that file.

The new PIN is written to FILE.pending first; once the token took it, that is
renamed over the PIN file. A crash in between leaves the token with the new
PIN and the PIN file with the old one: run the same command again, which logs
in with each to find which the token has, and finishes. The change is
recorded for keys list; a key named by alias is then opened with the new PIN.

Exit codes: 0 changed; 1 the token refused (a wrong current PIN, a PIN it
will not take) or the change failed; 2 usage, an unknown alias, a refused PIN,
a PIN that comes from no file.`,
		Example: `  sealpipe keys change-pin civil-hsm --new-pin-file /run/keeper/new-pin
  sealpipe keys change-pin --token sealpipe --pin-source file:/etc/sealpipe/hsm.pin`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) > 1:
				return usageErr("%s takes one alias; see --help", cmd.CommandPath())
			case len(args) == 1 && (spec.Token != "" || spec.PINSource != "" || spec.Module != ""):
				return usageErr("name the key by its alias or the token by --token and --pin-source, not both")
			case len(args) == 0 && (spec.Token == "" || spec.PINSource == ""):
				return usageErr("name the key by its alias, or the token by --token LABEL and its PIN file by --pin-source file:/PATH")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := spec.Token
			if len(args) == 1 {
				spec.Alias, name = args[0], args[0]
			}
			pin, err := newSecret(cmd.Context(), g, newFile, "--new-pin-file", "user PIN for "+name)
			if err != nil {
				return err
			}
			spec.New, spec.By = string(pin), actor()
			res, err := g.engine().ChangePIN(cmd.Context(), spec)
			if err != nil {
				return secretErr(err)
			}
			if g.jsonOut {
				return printJSON(g, res)
			}
			switch res.Recovered {
			case "finished":
				fmt.Fprintf(g.stdout, "finished an earlier PIN change of token %s: %s holds the PIN the token took\n", res.Token, res.PINFile)
			case "discarded":
				fmt.Fprintf(g.stdout, "an earlier PIN change of token %s never reached the token: its staged PIN is discarded\n", res.Token)
			}
			if !res.Resumed {
				fmt.Fprintf(g.stdout, "changed the user PIN of token %s: the new PIN is in %s\n", res.Token, res.PINFile)
			}
			if len(res.Aliases) > 0 {
				fmt.Fprintf(g.stdout, "keys on the token: %s\n", strings.Join(res.Aliases, ", "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&newFile, "new-pin-file", "", "file holding the new PIN (default: ask on the terminal)")
	f.StringVar(&spec.Token, "token", "", "label of the token, when no alias is given")
	f.StringVar(&spec.Module, "module", "", "PKCS#11 module of the token (default SEALPIPE_PKCS11_MODULE); it must be allowed")
	f.StringVar(&spec.PINSource, "pin-source", "", "file holding the token's current PIN, file:/PATH or /PATH, when no alias is given")
	return cmd
}

// newSecret reads a new passphrase or PIN from file, or else asks for it
// twice on the terminal; neither is a usage error.
func newSecret(ctx context.Context, g *globals, file, flag, what string) ([]byte, error) {
	if file != "" {
		b, err := keeper.ReadNew(file)
		if err != nil {
			return nil, usageErr("%s: %v", flag, err)
		}
		return b, nil
	}
	b, err := keeper.AskNew(ctx, os.Stdin, g.stderr, what)
	switch {
	case errors.Is(err, keeper.ErrNoTerminal):
		return nil, usageErr("give the new secret in a file with %s FILE, or run this on a terminal to be asked for it", flag)
	case err != nil:
		return nil, usageErr("%v", err)
	}
	return b, nil
}

// secretErr gives a secret change's error its exit code: 2 for what the
// command was asked (an unknown alias, a refused secret, a secret kept
// where it cannot be changed), 1 for what failed.
func secretErr(err error) error {
	switch {
	case errors.Is(err, keeper.ErrWeakSecret), errors.Is(err, engine.ErrUnknownKey),
		errors.Is(err, engine.ErrSecretSource), errors.Is(err, engine.ErrSettings):
		return &exitError{exitUsage, err}
	}
	return &exitError{exitFailed, err}
}
