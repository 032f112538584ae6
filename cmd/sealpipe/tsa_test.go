package main

import (
	"bytes"
	"net/http"
	"os"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// tspost URL QUERY REPLY posts the file QUERY as an
	// application/timestamp-query to URL and writes the answer to REPLY;
	// the answer must be a 200 application/timestamp-reply.
	scriptCmds["tspost"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 3 {
			ts.Fatalf("usage: tspost URL QUERY REPLY")
		}
		query, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		resp, err := http.Post(args[0], "application/timestamp-query", bytes.NewReader(query))
		ts.Check(err)
		defer resp.Body.Close()
		var reply bytes.Buffer
		_, err = reply.ReadFrom(resp.Body)
		ts.Check(err)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/timestamp-reply" {
			ts.Fatalf("%s answered %s, %s", args[0], resp.Status, resp.Header.Get("Content-Type"))
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[2]), reply.Bytes(), 0o644))
	}
}
