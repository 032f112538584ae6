package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/engine"
)

// TestBuildWithoutCgo: sealpipe builds with CGO_ENABLED=0 — a static binary
// for minimal containers — and does everything but PKCS#11 there, which it
// reports as unavailable rather than failing obscurely. Built as `make
// build` builds it, its version names the git revision it was built from.
func TestBuildWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "sealpipe")
	build := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	data := t.TempDir()
	sealpipe := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"--data", data}, args...)...)
		cmd.Env = []string{"SEALPIPE_KEY_PASSPHRASE=nocgo", "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		for _, args := range [][]string{{"version"}, {"--version"}} {
			out, err := sealpipe(args...)
			if err != nil || !strings.Contains(out, strings.TrimSpace(string(head))) || !strings.HasPrefix(out, "sealpipe ") {
				t.Errorf("sealpipe %s: %v %q, want the revision %s", args[0], err, out, head)
			}
		}
	} else {
		t.Logf("not in a git checkout (%v): the revision is not checked", err)
	}
	if out, err := sealpipe("ca", "init"); err != nil {
		t.Fatalf("ca init: %v\n%s", err, out)
	}
	out, err := sealpipe("seals", "make", "--unit", "hsm-unit", "--unit-name", "某某县民政局", "--code", "33010200000041",
		"--signer-key", "pkcs11:token=seals;object=seal-01", "--approver", demo.Approver)
	if err == nil || !strings.Contains(out, engine.ErrNoPKCS11.Error()) {
		t.Fatalf("seals make with an HSM key: %v\n%s", err, out)
	}
	if out, err := sealpipe("seals", "make", "--unit", "civil-affairs", "--code", "33010200000042", "--approver", demo.Approver); err != nil {
		t.Fatalf("seals make with a key file: %v\n%s", err, out)
	}
}
