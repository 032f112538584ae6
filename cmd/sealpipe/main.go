// Command sealpipe makes, registers, applies (签章) and checks (验章)
// government electronic seals, and runs the batch sealing pipeline.
//
// Exit codes (all commands):
//
//	0  success; for verify: every signature passed
//	1  the operation failed; for verify: a signature failed
//	2  usage error, unreadable input or I/O failure
//	3  verify only: nothing failed, but something could not be established
//	   (an unknown certificate chain, a document with no signature)
//
// Run `sealpipe help` for the commands and `sealpipe COMMAND --help` for each.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
)

// Exit codes.
const (
	exitOK            = 0
	exitFailed        = 1
	exitUsage         = 2
	exitIndeterminate = 3
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as a usage or I/O problem (exit 2).
func usageErr(format string, args ...any) error {
	return &exitError{exitUsage, fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return execute(ctx, &globals{stdout: stdout, stderr: stderr, stdin: os.Stdin, interactive: isTTY(os.Stdin)}, args)
}

// execute runs the command line with g's streams and returns the exit code.
func execute(ctx context.Context, g *globals, args []string) int {
	defer g.close()
	root := newRootCmd(g)
	root.SetArgs(args)
	return exitCode(root.ExecuteContext(ctx), g.stderr)
}

// exitCode prints err and returns the exit code it stands for: an
// *exitError's own, 2 for usage and settings errors, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != errSilent {
			fmt.Fprintln(stderr, "sealpipe:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "sealpipe:", err)
	switch {
	case strings.HasPrefix(err.Error(), "unknown command"):
		fmt.Fprintln(stderr, "Run 'sealpipe --help' for usage.")
		return exitUsage
	case errors.Is(err, engine.ErrSettings):
		return exitUsage
	}
	return exitFailed
}

// errSilent is an exit whose reason the command already printed.
var errSilent = errors.New("silent")

// globals holds the flags every command shares and the engine they
// configure.
type globals struct {
	config   string
	data     string
	bucket   string
	jsonOut  bool
	logLevel string
	stdout   io.Writer
	stderr   io.Writer
	stdin    io.Reader
	// interactive is set when stdin is a terminal: a command may then ask
	// for what it needs (prompter) instead of taking defaults or failing.
	interactive bool
	log         *slog.Logger
	settings    engine.Settings // loaded before every command runs
	// settingsErr is the error loading the settings, for the commands
	// annotated settingsReported, which run despite it.
	settingsErr error
	eng         *engine.Engine // made by the first call of engine
}

// engine returns the engine for the command's settings, made on first use
// with opts.
func (g *globals) engine(opts ...engine.Option) *engine.Engine {
	if g.eng == nil {
		g.eng = engine.New(g.settings, append([]engine.Option{engine.WithLogger(g.log)}, opts...)...)
	}
	return g.eng
}

// close releases the engine, if a command made one.
func (g *globals) close() {
	if g.eng != nil {
		g.eng.Close()
	}
}

// A command annotated annotationSettings: settingsReported runs even when
// the settings do not load, and reports globals.settingsErr itself.
const (
	annotationSettings = "settings"
	settingsReported   = "reported"
)

// settingsHelp lists the settings for help texts.
const settingsHelp = `Settings (environment variables, or KEY=value lines in --config FILE; the
environment wins; a secret may instead be read from the file KEY_FILE names):
`

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "sealpipe",
		Short: "Make, apply and verify government electronic seals (GB/T 38540) in bulk",
		Long: `sealpipe makes, registers, applies (签章) and checks (验章) government electronic
seals per GB/T 38540-2020 with SM2/SM3, and runs the batch pipeline that seals
approved documents dropped into an object store.

Exit codes: 0 success (verify: all signatures passed); 1 failed (verify: a
signature failed); 2 usage or I/O error; 3 verify: indeterminate (nothing
failed, something could not be established).

` + settingsHelp + engine.Help(),
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
				return usageErr("--log-level %q: want debug, info, warn or error", g.logLevel)
			}
			g.log = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
			slog.SetDefault(g.log)
			s, err := engine.Load(g.config, os.LookupEnv, g.log)
			if err != nil && cmd.Annotations[annotationSettings] == settingsReported {
				// The command reports the error itself (config check).
				g.settingsErr = err
				return nil
			}
			if err != nil {
				return err
			}
			if g.data != "" {
				s.Data = g.data
			}
			if g.bucket != "" {
				s.Bucket = g.bucket
			}
			g.settings = s
			return nil
		},
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{exitUsage, err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.config, "config", "", "file of SEALPIPE_*=value settings; the environment overrides it")
	pf.StringVar(&g.data, "data", "", "data folder: dev PKI under pki/, local object store under store/ ($SEALPIPE_DATA, default ./sealpipe-data)")
	pf.StringVar(&g.bucket, "bucket", "", "bucket of the object store ($SEALPIPE_BUCKET, default sealpipe)")
	pf.BoolVar(&g.jsonOut, "json", false, "print machine-readable JSON on stdout")
	pf.StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn, error")

	root.AddCommand(
		newCACmd(g),
		newSealsCmd(g),
		newApproveCmd(g),
		newBatchCmd(g),
		newSealCmd(g),
		newVerifyCmd(g),
		newDemoCmd(g),
		newRunCmd(g),
		newBatchStatusCmd(g),
		newAccessCmd(g),
		newKeysCmd(g),
		newConfigCmd(g),
		newRegistryCmd(g),
		newAuditCmd(g),
		newMigrateCmd(g),
		newBackupCmd(g), newRestoreCmd(g),
		newServeCmd(g),
		newTSACmd(g),
		newVersionCmd(g),
	)
	return root
}

// actor names who runs a command, for the registry's history and usage
// records of local sealing.
func actor() string {
	if u, err := user.Current(); err == nil {
		return "local:" + u.Username
	}
	return "local:unknown"
}

func printJSON(g *globals, v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// exactArgs is cobra.ExactArgs with a usage exit code.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr("%s takes %d argument(s), got %d; see --help", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs with a usage exit code.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErr("%s needs at least %d argument(s); see --help", cmd.CommandPath(), n)
		}
		return nil
	}
}
