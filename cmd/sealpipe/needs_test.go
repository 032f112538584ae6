package main

import (
	"os/exec"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

func init() {
	// ci-needs PROGRAM… fails the script under CI=true when a program is
	// not on PATH (testenv.Missing's rule); elsewhere it does nothing, and
	// the script's own [!exec:PROGRAM] skip lines that follow skip it.
	scriptCmds["ci-needs"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) == 0 {
			ts.Fatalf("usage: ci-needs PROGRAM...")
		}
		for _, p := range args {
			if _, err := exec.LookPath(p); err != nil && testenv.CI() {
				ts.Fatalf("CI=true and %s is not installed (make deps installs it)", p)
			}
		}
	}
}
