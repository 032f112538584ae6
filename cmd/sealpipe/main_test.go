package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// testCommands are the commands TestMain links this binary as, on $PATH
// for the scripts and the tests.
var testCommands = map[string]func(){
	"sealpipe": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
}

func TestMain(m *testing.M) {
	testscript.Main(m, testCommands)
}

// TestScripts runs the CLI behaviour scripts in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:  "testdata/script",
		Cmds: scriptCmds,
		Setup: func(env *testscript.Env) error {
			env.Setenv("SEALPIPE_KEY_PASSPHRASE", "testscript passphrase")
			env.Setenv("SEALPIPE_DATA", env.WorkDir+"/data")
			// Each serve's verification service on a port of its own.
			env.Setenv("SEALPIPE_HTTP_ADDR", "127.0.0.1:0")
			return nil
		},
	})
}
