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
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	_ "github.com/sealpipe/sealpipe/pipeline/keys/pkcs11" // pkcs11: key URIs (HSMs)
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
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
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
	if strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintln(stderr, "Run 'sealpipe --help' for usage.")
		return exitUsage
	}
	return exitFailed
}

// errSilent is an exit whose reason the command already printed.
var errSilent = errors.New("silent")

// globals holds the flags every command shares.
type globals struct {
	config   string
	set      *settings
	data     string
	bucket   string
	jsonOut  bool
	logLevel string
	stdout   io.Writer
	stderr   io.Writer
	log      *slog.Logger
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "sealpipe",
		Short: "Make, apply and verify government electronic seals (GB/T 38540) in bulk",
		Long: `sealpipe makes, registers, applies (签章) and checks (验章) government electronic
seals per GB/T 38540-2020 with SM2/SM3, and runs the batch pipeline that seals
approved documents dropped into an object store.

Exit codes: 0 success (verify: all signatures passed); 1 failed (verify: a
signature failed); 2 usage or I/O error; 3 verify: indeterminate (nothing
failed, something could not be established).

Settings (environment variables, or KEY=value lines in --config FILE):
` + settingsHelp(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
				return usageErr("--log-level %q: want debug, info, warn or error", g.logLevel)
			}
			g.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
			slog.SetDefault(g.log)
			set, err := loadSettings(g.config, g.log)
			if err != nil {
				return err
			}
			g.set = set
			if g.data == "" {
				g.data = set.get("SEALPIPE_DATA")
			}
			if g.bucket == "" {
				g.bucket = set.get("SEALPIPE_BUCKET")
			}
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
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
		newVersionCmd(g),
	)
	return root
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
