package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDemoHintRuns builds sealpipe, runs the demo the ways a user may — as
// ./bin/sealpipe (what make demo runs, not on PATH), as sealpipe found on
// PATH, and by the bare name sealpipe while PATH's sealpipe is another
// program — and runs the "check one:" hint each prints, as printed, with sh
// from the same working directory: it must exit 0 with TOTAL_PASSED.
func TestDemoHintRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the demo")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "sealpipe")
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A sealpipe on PATH that is not this one.
	decoy := filepath.Join(dir, "decoy", "sealpipe")
	if err := os.MkdirAll(filepath.Dir(decoy), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(decoy, []byte("#!/bin/sh\necho decoy sealpipe >&2\nexit 97\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The environment of a user after make demo: no SEALPIPE_* settings.
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SEALPIPE_") && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "HOME=") {
			base = append(base, kv)
		}
	}
	base = append(base, "HOME="+dir)
	const sysPath = "/usr/local/bin:/usr/bin:/bin"

	for _, tt := range []struct {
		name, arg0, path string
		want             string // how the hint names the program
	}{
		{"./bin/sealpipe, not on PATH", "./bin/sealpipe", sysPath, "./bin/sealpipe"},
		{"sealpipe on PATH", "sealpipe", filepath.Join(dir, "bin") + ":" + sysPath, "sealpipe"},
		{"another sealpipe on PATH", "sealpipe", filepath.Join(dir, "decoy") + ":" + sysPath, bin},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := append(base[:len(base):len(base)], "PATH="+tt.path)
			cmd := exec.Command(bin, "demo", "--data", "demo-data", "--docs", "1")
			cmd.Args[0], cmd.Dir, cmd.Env = tt.arg0, dir, env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("sealpipe demo: %v\n%s", err, out)
			}
			m := regexp.MustCompile(`(?m)^  check one: +(.*)$`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("no check one: hint in\n%s", out)
			}
			hint := string(m[1])
			if want := tt.want + " verify --data demo-data demo-data/"; !strings.HasPrefix(hint, want) {
				t.Errorf("hint %q, want it to start %q", hint, want)
			}
			sh := exec.Command("sh", "-c", hint)
			sh.Dir, sh.Env = dir, env
			got, err := sh.CombinedOutput()
			if err != nil || !strings.Contains(string(got), ": TOTAL_PASSED") {
				t.Errorf("the hint %q: %v\n%s", hint, err, got)
			}
		})
	}
}

func TestSelfCommand(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "bin", "sealpipe")
	other := filepath.Join(dir, "other", "sealpipe")
	link := filepath.Join(dir, "link", "sealpipe")
	for _, p := range []string{exe, other} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	found := func(p string) func(string) (string, error) {
		return func(string) (string, error) { return p, nil }
	}
	notFound := func(string) (string, error) { return "", exec.ErrNotFound }
	executable := func() (string, error) { return exe, nil }
	for _, tt := range []struct {
		name       string
		arg0       string
		lookPath   func(string) (string, error)
		executable func() (string, error)
		want       string
	}{
		{"relative path", "./bin/sealpipe", found(other), executable, "./bin/sealpipe"},
		{"path without ./", "bin/sealpipe", notFound, executable, "bin/sealpipe"},
		{"absolute path", exe, notFound, executable, exe},
		{"by name, on PATH", "sealpipe", found(exe), executable, "sealpipe"},
		{"by name, on PATH through a symbolic link", "sealpipe", found(link), executable, "sealpipe"},
		{"by name, another on PATH", "sealpipe", found(other), executable, exe},
		{"by name, none on PATH", "sealpipe", notFound, executable, exe},
		{"by another name", "sp", found(exe), executable, "sealpipe"},
		{"executable unknown", "sealpipe", found(other), func() (string, error) { return "", errors.New("no /proc") }, "sealpipe"},
	} {
		if got := selfCommand(tt.arg0, tt.lookPath, tt.executable); got != tt.want {
			t.Errorf("%s: selfCommand(%q) = %q, want %q", tt.name, tt.arg0, got, tt.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"demo-data":                   "demo-data",
		"/tmp/x/store/sealed/a-1.pdf": "/tmp/x/store/sealed/a-1.pdf",
		"my data":                     "'my data'",
		"it's":                        `'it'\''s'`,
		"":                            "''",
		"数据":                          "'数据'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
