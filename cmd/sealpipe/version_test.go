package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionCommit builds sealpipe from this checkout as make build does
// (-buildvcs) and checks that --version prints the module version and the
// commit it was built from. (version.txtar checks the form of the line in
// a test binary, which carries no commit.)
func TestVersionCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	head, err := exec.Command(git, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "sealpipe")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -buildvcs=true: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("sealpipe --version: %v", err)
	}
	line := strings.TrimSpace(string(out))
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "sealpipe" || !(f[1] == "(devel)" || strings.HasPrefix(f[1], "v")) {
		t.Fatalf("sealpipe --version = %q, want sealpipe VERSION COMMIT …", line)
	}
	if commit := strings.TrimSpace(string(head)); f[2] != commit {
		t.Errorf("sealpipe --version = %q, want the commit %s", line, commit)
	}
	if v, _ := exec.Command(bin, "version").Output(); strings.TrimSpace(string(v)) != line {
		t.Errorf("sealpipe version = %q, differs from --version %q", v, line)
	}
}
