package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
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
	// fetch [-cacert FILE] [-post FILE] URL requests URL — GET, or POST
	// with the file as the body; over https trusting the PEM certificates
	// of -cacert — and prints "status N" and the response body on stdout.
	"fetch": func(ts *testscript.TestScript, neg bool, args []string) {
		usage := func() { ts.Fatalf("usage: fetch [-cacert FILE] [-post FILE] URL") }
		if neg {
			usage()
		}
		client := &http.Client{Timeout: time.Minute}
		var body []byte
		for len(args) > 1 {
			if len(args) < 3 {
				usage()
			}
			b, err := os.ReadFile(ts.MkAbs(args[1]))
			ts.Check(err)
			switch args[0] {
			case "-cacert":
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(b) {
					ts.Fatalf("%s: no PEM certificate", args[1])
				}
				client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
			case "-post":
				body = b
			default:
				usage()
			}
			args = args[2:]
		}
		if len(args) != 1 {
			usage()
		}
		var resp *http.Response
		var err error
		if body == nil {
			resp, err = client.Get(args[0])
		} else {
			resp, err = client.Post(args[0], "application/octet-stream", bytes.NewReader(body))
		}
		ts.Check(err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ts.Check(err)
		fmt.Fprintf(ts.Stdout(), "status %d\n%s", resp.StatusCode, b)
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
	t.Setenv("SEALPIPE_HTTP_ADDR", "off")
	code, _, stderr := sealpipe(t, "--data", t.TempDir(), "serve")
	if code != exitUsage {
		t.Fatalf("serve with nothing to serve: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
}
