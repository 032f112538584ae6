package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// testCommands are the commands TestMain links this binary as, on $PATH
// for the scripts and the tests. The reports sealpipe prints are checked
// against the schema (runCheckingReports).
var testCommands = map[string]func(){
	"sealpipe": func() { os.Exit(runCheckingReports(os.Args[1:])) },
}

func TestMain(m *testing.M) {
	testscript.Main(m, testCommands)
}

// TestScripts runs the CLI behaviour scripts in testdata/script. Each
// fails if a report it made, printed or stored, is not valid against the
// schema (checkScriptReports).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:  "testdata/script",
		Cmds: scriptCmds,
		Setup: func(env *testscript.Env) error {
			env.Setenv("SEALPIPE_KEY_PASSPHRASE", "testscript passphrase")
			env.Setenv("SEALPIPE_DATA", env.WorkDir+"/data")
			// Each serve's verification service on a port of its own.
			env.Setenv("SEALPIPE_HTTP_ADDR", "127.0.0.1:0")
			return checkScriptReports(env)
		},
	})
}
