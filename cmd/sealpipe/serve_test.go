package main

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// scriptCmds are the testscript commands the CLI scripts use besides the
// built-in ones.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// freeport VAR sets VAR to a TCP port on 127.0.0.1 that was free.
	"freeport": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: freeport VAR")
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		port := ln.Addr().(*net.TCPAddr).Port
		ts.Check(ln.Close())
		ts.Setenv(args[0], strconv.Itoa(port))
	},
	// waitport HOST:PORT waits, up to 30s, until something listens there.
	"waitport": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: waitport HOST:PORT")
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			c, err := net.DialTimeout("tcp", args[0], time.Second)
			if err == nil {
				c.Close()
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("nothing listens on %s: %v", args[0], err)
			}
		}
	},
}

// TestServeNothing: serve with no listener configured is a usage error.
func TestServeNothing(t *testing.T) {
	t.Setenv("SEALPIPE_ADMIN_ADDR", "")
	code, _, stderr := sealpipe(t, "--data", t.TempDir(), "serve")
	if code != exitUsage {
		t.Fatalf("serve with nothing to serve: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
}
