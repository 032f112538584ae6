package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sealpipe/sealpipe/internal/reportschema"
	"github.com/sealpipe/sealpipe/pipeline/signed"
)

// Every report the command's tests produce is checked against
// docs/report.schema.json (package internal/reportschema):
//
//   - what `sealpipe --json verify` and `sealpipe --json seal` print, in
//     the tests that run the command in-process (sealpipe) and in the
//     scripts (the sealpipe command of testCommands: runCheckingReports);
//   - the reports and rejection records stored in local object stores
//     (storedReportProblems): under $WORK after each script, and under
//     the data folder of the tests that run the pipeline in-process.

// reportCommands are the commands that print a report with --json, and
// its kind.
var reportCommands = map[string]reportschema.Kind{
	"verify": reportschema.Documents, // one report per file, in an array
	"seal":   reportschema.Document,  // the sealed output's report
}

// reportFailuresEnv names the file the sealpipe command of the scripts
// appends the problems of invalid reports to, for checkScriptReports.
const reportFailuresEnv = "REPORTSCHEMA_FAILURES"

// exitReportInvalid is the exit code of the scripts' sealpipe command when
// it printed an invalid report and reportFailuresEnv is not set.
const exitReportInvalid = 97

// reportKind returns the kind of report `sealpipe args` prints on stdout,
// and false if it prints none.
func reportKind(args []string) (reportschema.Kind, bool) {
	if !slices.Contains(args, "--json") && !slices.Contains(args, "--json=true") ||
		slices.Contains(args, "--help") || slices.Contains(args, "-h") {
		return "", false
	}
	root := newRootCmd(&globals{stdout: io.Discard, stderr: io.Discard})
	cmd, _, err := root.Find(args)
	if err != nil || cmd.Parent() != root {
		return "", false
	}
	kind, ok := reportCommands[cmd.Name()]
	return kind, ok
}

// checkReportOutput validates stdout, the output of `sealpipe args`, if
// that prints a report. A command that failed before printing anything
// printed no report.
func checkReportOutput(args []string, stdout []byte) error {
	kind, ok := reportKind(args)
	if !ok || len(bytes.TrimSpace(stdout)) == 0 {
		return nil
	}
	return reportschema.Validate(kind, stdout)
}

// runCheckingReports is run for the scripts: it runs `sealpipe args` with
// the process's streams, and when the command prints a report, checks it
// once printed. An invalid one is reported on stderr and appended to the
// file $REPORTSCHEMA_FAILURES names, which fails the script at its
// end (checkScriptReports) whatever exit code the script expects; without
// that file the exit code becomes exitReportInvalid.
func runCheckingReports(args []string) int {
	if _, ok := reportKind(args); !ok {
		return run(args, os.Stdout, os.Stderr)
	}
	var out bytes.Buffer
	code := run(args, &out, os.Stderr)
	os.Stdout.Write(out.Bytes())
	err := checkReportOutput(args, out.Bytes())
	if err == nil {
		return code
	}
	msg := fmt.Sprintf("sealpipe %s: the report printed is not valid against docs/report.schema.json: %v\n", strings.Join(args, " "), err)
	fmt.Fprint(os.Stderr, msg)
	if name := os.Getenv(reportFailuresEnv); name != "" {
		f, ferr := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if ferr == nil {
			_, ferr = f.WriteString(msg)
			if cerr := f.Close(); ferr == nil {
				ferr = cerr
			}
		}
		if ferr == nil {
			return code
		}
		fmt.Fprintln(os.Stderr, ferr)
	}
	return exitReportInvalid
}

// checkScriptReports arranges, in a script's setup, that the script fails
// at its end if a report its sealpipe commands printed was invalid, or if
// a report stored under $WORK is.
func checkScriptReports(env *testscript.Env) error {
	dir, err := os.MkdirTemp("", "sealpipe-report-failures-")
	if err != nil {
		return err
	}
	failures := filepath.Join(dir, "failures")
	env.Setenv(reportFailuresEnv, failures)
	env.Defer(func() {
		printed, _ := os.ReadFile(failures)
		os.RemoveAll(dir)
		n, stored := storedReportProblems(env.WorkDir)
		if n > 0 {
			env.T().Log(fmt.Sprintf("%d stored reports checked against docs/report.schema.json", n))
		}
		if len(printed) > 0 || stored != "" {
			env.T().Fatal("reports not valid against docs/report.schema.json:\n" + string(printed) + stored)
		}
	})
	return nil
}

// checkStoredReports fails t if a report stored under dir is invalid, or
// if there is none: the callers check a data folder a run wrote reports to.
func checkStoredReports(t testing.TB, dir string) {
	t.Helper()
	n, p := storedReportProblems(dir)
	if p != "" {
		t.Errorf("reports not valid against docs/report.schema.json:\n%s", p)
	}
	if n == 0 {
		t.Errorf("no signed report stored under %s to check", dir)
	}
	t.Logf("%d stored reports under %s checked against docs/report.schema.json", n, dir)
}

// storedReportProblems validates the records that local object stores
// (storage/fs) under dir hold as reports — files <bucket>/reports/<dept>/
// <batch>/<name>.json and <bucket>/rejected/<dept>/<batch>/<name>.json,
// batch.json under reports/ being a batch report — and returns what is
// wrong with them, or "", and how many it checked. Only signed records
// count: the payload of the envelope is validated; a file that is no
// signed envelope (one a script planted, or tampered with) is not the
// pipeline's and is skipped.
func storedReportProblems(dir string) (checked int, problems string) {
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".sealpipe" { // the store's sidecars
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		kind, ok := storedKind(p)
		if !ok {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		payload, _, err := signed.Open(data)
		if err != nil {
			return nil
		}
		checked++
		if err := reportschema.Validate(kind, payload); err != nil {
			fmt.Fprintf(&b, "%s: %v\n", p, err)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(&b, "%s: %v\n", dir, err)
	}
	return checked, b.String()
}

// storedKind returns the kind of report stored at path p, a file
// .../<bucket>/reports/<dept>/<batch>/<name>.json or
// .../<bucket>/rejected/<dept>/<batch>/<name>.json of a local store: the
// kind of its key (reportschema.KeyKind).
func storedKind(p string) (reportschema.Kind, bool) {
	parts := strings.Split(filepath.ToSlash(p), "/")
	if len(parts) < 4 {
		return "", false
	}
	return reportschema.KeyKind(strings.Join(parts[len(parts)-4:], "/"))
}

// TestReportKind: the commands whose output is checked are found
// wherever the flags are.
func TestReportKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want reportschema.Kind
	}{
		{[]string{"--json", "verify", "a.pdf"}, reportschema.Documents},
		{[]string{"--json", "--data", "d", "verify", "--roots", "r.crt", "a.pdf", "b.pdf"}, reportschema.Documents},
		{[]string{"verify", "--json", "a.pdf"}, reportschema.Documents},
		{[]string{"--json", "seal", "a.pdf", "-o", "b.pdf", "--seal", "1"}, reportschema.Document},
		{[]string{"verify", "a.pdf"}, ""},
		{[]string{"--json", "verify", "--help"}, ""},
		{[]string{"--json", "audit", "verify", "1"}, ""},
		{[]string{"--json", "registry", "verify"}, ""},
		{[]string{"--json", "seals", "show", "1"}, ""},
		{[]string{"--json", "nonsense"}, ""},
	} {
		if got, _ := reportKind(tc.args); got != tc.want {
			t.Errorf("reportKind(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
	for _, tc := range []struct {
		path string
		want reportschema.Kind
	}{
		{"w/data/store/sealpipe/reports/civil-affairs/b1/cert-00001.pdf.json", reportschema.Document},
		{"w/data/store/sealpipe/reports/civil-affairs/b1/batch.json", reportschema.Batch},
		{"w/data/store/sealpipe/rejected/civil-affairs/b1/batch.json", reportschema.Rejection},
		{"w/data/store/sealpipe/rejected/civil-affairs/b1/x.pdf.json", reportschema.Rejection},
		{"w/data/store/sealpipe/audit/33010200000021/civil-affairs/b1/x.pdf.json", ""},
		{"w/data/store/sealpipe/reports/civil-affairs/b1.json", ""},
	} {
		if got, _ := storedKind(tc.path); got != tc.want {
			t.Errorf("storedKind(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
