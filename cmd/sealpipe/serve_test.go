package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testenv"
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

// TestServeLooksUpCodes: the verification service that serve runs finds
// each document the demo sealed by its verification code, shows its
// report, and tells the sealed document from another one uploaded to
// compare.
func TestServeLooksUpCodes(t *testing.T) {
	embeddedDefaults(t)
	data := t.TempDir()
	if code, stdout, stderr := sealpipe(t, "demo", "--data", data, "--docs", "2", "--json"); code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, stdout, stderr)
	}
	settings, err := engine.Load("", func(k string) (string, bool) {
		if k == "SEALPIPE_DATA" {
			return data, true
		}
		return "", false
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, _, err := engine.New(settings).VerifyServer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	sealed, err := filepath.Glob(filepath.Join(data, "store", "sealpipe", "sealed", "*", "*", "*.pdf"))
	if err != nil || len(sealed) != 2 {
		t.Fatalf("sealed %v, %v", sealed, err)
	}
	for i, path := range sealed {
		doc, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// The code as a phone reads it off the printed certificate: the QR
		// code under the seal, pointing at the verification service
		// `sealpipe serve` runs on the demo's settings.
		const base = "http://127.0.0.1:8080/v/"
		urls := testenv.DecodeQR(t, path, 1)
		if len(urls) != 1 || !strings.HasPrefix(urls[0], base) {
			t.Fatalf("%s: the QR codes read %q, want one address under %s", filepath.Base(path), urls, base)
		}
		code := strings.TrimPrefix(urls[0], base)
		page := fetchPage(t, "GET", ts.URL+"/v/"+code, nil)
		for _, want := range []string{"签章有效", filepath.Base(path), code} {
			if !strings.Contains(page, want) {
				t.Errorf("/v/%s lacks %q", code, want)
			}
		}
		if page := fetchPage(t, "POST", ts.URL+"/v/"+code, doc); !strings.Contains(page, "一致：您上传的文件就是这份盖章文件") {
			t.Errorf("%s compared with itself: no match", filepath.Base(path))
		}
		other, err := os.ReadFile(sealed[1-i])
		if err != nil {
			t.Fatal(err)
		}
		if page := fetchPage(t, "POST", ts.URL+"/v/"+code, other); !strings.Contains(page, "不一致") {
			t.Errorf("%s compared with another document: a match", filepath.Base(path))
		}
	}
	resp, err := http.Get(ts.URL + "/v/0000-0000-0000-0000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown code: %d, want 404", resp.StatusCode)
	}
}

// fetchPage requests url, with body if POST, and returns the answer,
// which must be 200.
func fetchPage(t *testing.T, method, url string, body []byte) string {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d\n%s", method, url, resp.StatusCode, b)
	}
	return string(b)
}
