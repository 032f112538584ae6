package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testenv"
)

// embeddedDefaults clears the settings that point sealpipe at outside
// services (make test exports them), so the test sees embedded defaults.
func embeddedDefaults(t testing.TB) {
	t.Helper()
	for _, st := range engine.Table() {
		t.Setenv(st.Key, "")
		if st.Secret {
			t.Setenv(st.Key+"_FILE", "")
		}
	}
}

// sealpipe runs the command line in-process and returns its exit code and
// output. A report it prints must be valid against the schema.
func sealpipe(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	if err := checkReportOutput(args, out.Bytes()); err != nil {
		t.Errorf("sealpipe %s: the report printed: %v\n%s", strings.Join(args, " "), err, out.Bytes())
	}
	return code, out.String(), errb.String()
}

// TestDemoEndToEnd runs what `make demo` runs, twice, and checks the
// outputs with the project's verifier and with independent tools.
func TestDemoEndToEnd(t *testing.T) {
	qpdf := testenv.Tool(t, "qpdf")
	openssl := testenv.Tool(t, "openssl")
	data := t.TempDir()
	embeddedDefaults(t)
	const docs = 5

	code, stdout, stderr := sealpipe(t, "demo", "--data", data, "--docs", "5", "--json")
	if code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, stdout, stderr)
	}
	var first demo.Summary
	if err := json.Unmarshal([]byte(stdout), &first); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if first.Sealed != docs || first.Rejected != 2 || first.AlreadyDone || first.DocsPerSecond <= 0 {
		t.Fatalf("first run: %+v", first)
	}
	joined := strings.Join(first.Rejections, "\n")
	for _, want := range []string{demo.Tampered + ": DIGEST_MISMATCH", demo.WrongSeal + ": SEAL_NOT_PERMITTED"} {
		if !strings.Contains(joined, want) {
			t.Errorf("rejections %q lack %q", joined, want)
		}
	}
	sealed, err := filepath.Glob(filepath.Join(first.SealedDir, "*.pdf"))
	if err != nil || len(sealed) != docs {
		t.Fatalf("sealed files %v, %v", sealed, err)
	}
	reports, _ := filepath.Glob(filepath.Join(first.ReportsDir, "*.pdf.json"))
	rejections, _ := filepath.Glob(filepath.Join(first.RejectedDir, "*.json"))
	if len(reports) != docs || len(rejections) != 2 {
		t.Fatalf("%d reports and %d rejection records", len(reports), len(rejections))
	}
	for _, f := range []string{first.BatchReport, first.BatchPage, first.BatchPDF} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	stamp := modTimes(t, first.SealedDir)

	// Twice: nothing is sealed again.
	code, stdout, stderr = sealpipe(t, "demo", "--data", data, "--docs", "5", "--json")
	if code != exitOK {
		t.Fatalf("second demo exit %d\n%s", code, stderr)
	}
	var second demo.Summary
	if err := json.Unmarshal([]byte(stdout), &second); err != nil {
		t.Fatal(err)
	}
	if !second.AlreadyDone || second.Sealed != docs || second.Rejected != 2 {
		t.Fatalf("second run: %+v", second)
	}
	if again := modTimes(t, first.SealedDir); !equalMaps(stamp, again) {
		t.Fatal("the second run rewrote sealed outputs")
	}
	audits, _ := filepath.Glob(filepath.Join(data, "store", "sealpipe", "audit", demo.SealCivil, "*", "*", "*.json"))
	if len(audits) != docs {
		t.Fatalf("%d usage records after two runs, want %d", len(audits), docs)
	}

	// Independent tools: qpdf accepts the sealed PDF; OpenSSL accepts the
	// SM2 certificate chain of the signer.
	one := sealed[0]
	if out, err := exec.Command(qpdf, "--check", one).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	pki := filepath.Join(data, "pki")
	for _, leaf := range []string{"signers/civil-affairs.crt", "sealmaker.crt", "approvers/approver-zhang.crt"} {
		// OpenSSL 3.0 needs the SM2 ID spelled out to check SM2 certificate signatures.
		out, err := exec.Command(openssl, "verify", "-vfyopt", "distid:1234567812345678", "-CAfile", filepath.Join(pki, "root.crt"), filepath.Join(pki, leaf)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": OK") {
			t.Fatalf("openssl verify %s: %v\n%s", leaf, err, out)
		}
	}

	// Exit codes of verify.
	orig := filepath.Join(data, "store", "sealpipe", "inbox", demo.Department, "demo-5", demo.DocumentName(1))
	good, err := os.ReadFile(one)
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(t.TempDir(), "tampered.pdf")
	bad := append([]byte(nil), good...)
	// Flip a byte inside the first content stream: within the signed range,
	// and the file still parses.
	at := bytes.Index(bad, []byte("stream\n"))
	if at < 0 {
		t.Fatal("no stream in the sealed PDF")
	}
	bad[at+len("stream\n")+10] ^= 0x01
	if err := os.WriteFile(tampered, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	notPDF := filepath.Join(t.TempDir(), "x.pdf")
	os.WriteFile(notPDF, []byte("hello"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"sealed", []string{"verify", "--data", data, one}, exitOK},
		{"tampered", []string{"verify", "--data", data, tampered}, exitFailed},
		{"unsigned", []string{"verify", "--data", data, orig}, exitIndeterminate},
		{"unknown root", []string{"verify", "--data", data, "--roots", filepath.Join(pki, "sealmaker.crt"), one}, exitIndeterminate},
		{"not a pdf", []string{"verify", "--data", data, notPDF}, exitUsage},
		{"missing file", []string{"verify", "--data", data, "/nonexistent.pdf"}, exitUsage},
		{"failed beats the rest", []string{"verify", "--data", data, one, tampered, orig}, exitFailed},
		{"no arguments", []string{"verify"}, exitUsage},
	} {
		if code, out, errs := sealpipe(t, tc.args...); code != tc.want {
			t.Errorf("%s: exit %d, want %d\n%s%s", tc.name, code, tc.want, out, errs)
		}
		// The same with --json: the same exit code, and the reports
		// printed are valid against the schema (sealpipe checks them).
		if code, out, errs := sealpipe(t, append([]string{"--json"}, tc.args...)...); code != tc.want {
			t.Errorf("%s --json: exit %d, want %d\n%s%s", tc.name, code, tc.want, out, errs)
		}
	}
	checkStoredReports(t, data)
}

func modTimes(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = fi.ModTime().UnixNano()
	}
	return m
}

func equalMaps(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
