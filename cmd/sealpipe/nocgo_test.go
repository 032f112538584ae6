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
// reports as unavailable rather than failing obscurely.
func TestBuildWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "sealpipe")
	build := exec.Command("go", "build", "-o", bin, ".")
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
