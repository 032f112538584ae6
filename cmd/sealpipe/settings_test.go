package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/approval"
)

// mustSealpipe runs the command line in-process and fails the test unless
// it exits 0. It returns standard output.
func mustSealpipe(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := sealpipe(t, args...)
	if code != exitOK {
		t.Fatalf("sealpipe %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// placeBatch writes the batch in dir into the local object store of the
// data folder, under inbox/<dept>/<batch>/, documents first and the
// approval last, as a department's upload would: the local store takes
// files placed by hand as objects.
func placeBatch(t *testing.T, data, dir, batch string) {
	t.Helper()
	inbox := filepath.Join(data, "store", "sealpipe", "inbox", demo.Department, batch)
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range uploadOrder(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inbox, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runOnce runs `run --once --json` with the given global arguments and
// returns what became of each batch.
func runOnce(t *testing.T, args ...string) []engine.BatchResult {
	t.Helper()
	return runOnceExit(t, exitOK, args...)
}

// runOnceExit is runOnce for a run that must exit with code want: exitFailed
// when some batch with documents got none sealed.
func runOnceExit(t *testing.T, want int, args ...string) []engine.BatchResult {
	t.Helper()
	code, out, errs := sealpipe(t, append(args, "--json", "run", "--once", "--timeout", "2m")...)
	if code != want {
		t.Fatalf("sealpipe run --once: exit %d, want %d\n%s%s", code, want, out, errs)
	}
	var res []engine.BatchResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("run --once output: %v\n%s", err, out)
	}
	return res
}

// TestRunWithConfigFileOnly: every setting, the key passphrase included,
// may come from --config FILE alone. `run` then opens the key files the
// seals name with it, and generates no development passphrase. Then, with
// the development PKI gone and SEALPIPE_ROOTS naming the root, `run` still
// starts: production needs no development CA.
func TestRunWithConfigFileOnly(t *testing.T) {
	embeddedDefaults(t)
	data := t.TempDir()
	const pass, seal, batch = "a passphrase given only in a file", "33010200000031", "from-config"

	// Development material, made with the passphrase in the environment.
	t.Setenv("SEALPIPE_KEY_PASSPHRASE", pass)
	mustSealpipe(t, "--data", data, "ca", "init")
	mustSealpipe(t, "--data", data, "seals", "make", "--unit", "civil-affairs", "--code", seal, "--purpose", "业务专用章", "--approver", demo.Approver)
	dir := filepath.Join(t.TempDir(), batch)
	mustSealpipe(t, "--data", data, "batch", "make", "--docs", "2", "--out", dir, "--batch", batch, "--seal", seal)
	placeBatch(t, data, dir, batch)

	// From here on the passphrase is only in the file.
	t.Setenv("SEALPIPE_KEY_PASSPHRASE", "")
	conf := filepath.Join(t.TempDir(), "sealpipe.env")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("# sealpipe settings\nSEALPIPE_DATA=%s\nSEALPIPE_KEY_PASSPHRASE=%q\n", data, pass)), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runOnce(t, "--config", conf)
	if len(res) != 1 || res[0].Sealed != 2 || res[0].Rejected != 0 {
		t.Fatalf("run --once: %+v, want 2 sealed", res)
	}
	checkStoredReports(t, data)
	if _, err := os.Stat(filepath.Join(data, "pki", "DEV-ONLY-passphrase")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a development passphrase was generated (%v)", err)
	}

	// Without the development PKI, as in production: the root, the
	// pipeline's certificate and its key (named in a keyring of its own)
	// are configured elsewhere; nothing in pki/ is needed to start.
	elsewhere := t.TempDir()
	for _, f := range []string{"root.crt", "pipeline.crt", "pipeline.key"} {
		b, err := os.ReadFile(filepath.Join(data, "pki", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(elsewhere, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ring := filepath.Join(elsewhere, "keys.conf")
	if err := os.WriteFile(ring, []byte("pipeline file://"+filepath.Join(elsewhere, "pipeline.key")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(data, "pki")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SEALPIPE_ROOTS", filepath.Join(elsewhere, "root.crt"))
	t.Setenv("SEALPIPE_SERVICE_CERT", filepath.Join(elsewhere, "pipeline.crt"))
	t.Setenv("SEALPIPE_KEYS", ring)
	if out := mustSealpipe(t, "--config", conf, "run", "--once"); !strings.Contains(out, "no approved batches waiting") {
		t.Fatalf("run --once without pki/: %s", out)
	}
	// The sealed documents still verify against the configured root.
	sealed, _ := filepath.Glob(filepath.Join(data, "store", "sealpipe", "sealed", demo.Department, batch, "*.pdf"))
	if len(sealed) != 2 {
		t.Fatalf("sealed: %v", sealed)
	}
	if out := mustSealpipe(t, "--config", conf, "verify", sealed[0]); !strings.Contains(out, "TOTAL_PASSED") {
		t.Fatalf("verify: %s", out)
	}
	// And with no roots at all, run says what is missing (exit 2).
	t.Setenv("SEALPIPE_ROOTS", "")
	code, _, errs := sealpipe(t, "--config", conf, "run", "--once")
	if code != exitUsage || !strings.Contains(errs, "SEALPIPE_ROOTS") {
		t.Fatalf("run without roots: exit %d, %s", code, errs)
	}
}

// TestHSMPoolFromSettings: a seal whose key lives in SoftHSM2 is named by a
// plain pkcs11: URI — no module path, no PIN source — and the HSM pool gets
// its module and PIN from the settings alone; a batch sealed through it
// verifies.
func TestHSMPoolFromSettings(t *testing.T) {
	hsm := testenv.SoftHSM(t)
	embeddedDefaults(t)
	data := t.TempDir()
	const seal, batch = "33010200000032", "hsm-settings"
	label := testenv.KeyPair(t, hsm, "EC:prime256v1")
	uri := fmt.Sprintf("pkcs11:token=%s;object=%s", hsm.Token, label)
	pin := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pin, []byte(hsm.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "sealpipe.env")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("SEALPIPE_DATA=%s\nSEALPIPE_KEY_PASSPHRASE=dev\nSEALPIPE_PKCS11_MODULE=%s\nSEALPIPE_PKCS11_PIN_FILE=%s\nSEALPIPE_PKCS11_MAX_SESSIONS=2\n",
		data, hsm.Module, pin)), 0o600); err != nil {
		t.Fatal(err)
	}

	mustSealpipe(t, "--config", conf, "ca", "init")
	mustSealpipe(t, "--config", conf, "seals", "make", "--unit", "hsm-settings", "--unit-name", "某某县民政局", "--signer-key", uri, "--dept", demo.Department,
		"--code", seal, "--purpose", "业务专用章", "--approver", demo.Approver)
	dir := filepath.Join(t.TempDir(), batch)
	// PDF and OFD alike: the HSM-held ECDSA key signs the CMS of the one
	// and the SES_Signature of the other.
	mustSealpipe(t, "--config", conf, "batch", "make", "--docs", "4", "--format", "mixed", "--out", dir, "--batch", batch, "--seal", seal)
	placeBatch(t, data, dir, batch)
	res := runOnce(t, "--config", conf)
	if len(res) != 1 || res[0].Sealed != 4 {
		t.Fatalf("run --once: %+v, want 4 sealed", res)
	}
	checkStoredReports(t, data)
	for _, ext := range []string{"*.pdf", "*.ofd"} {
		sealed, _ := filepath.Glob(filepath.Join(data, "store", "sealpipe", "sealed", demo.Department, batch, ext))
		if len(sealed) != 2 {
			t.Fatalf("sealed %s: %v", ext, sealed)
		}
		for _, f := range sealed {
			if out := mustSealpipe(t, "--config", conf, "verify", f); !strings.Contains(out, "TOTAL_PASSED") {
				t.Fatalf("verify %s: %s", f, out)
			}
		}
	}

	// Without the PIN setting the token refuses: the PIN came from there.
	bare := filepath.Join(t.TempDir(), "sealpipe.env")
	if err := os.WriteFile(bare, []byte(fmt.Sprintf("SEALPIPE_DATA=%s\nSEALPIPE_KEY_PASSPHRASE=dev\nSEALPIPE_PKCS11_MODULE=%s\n", data, hsm.Module)), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := os.ReadFile(filepath.Join(dir, demo.DocumentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "in.pdf")
	if err := os.WriteFile(local, in, 0o644); err != nil {
		t.Fatal(err)
	}
	pl := approval.DefaultPlacement
	code, out, errs := sealpipe(t, "--config", bare, "seal", local, "-o", local+".sealed", "--seal", seal,
		"--page", fmt.Sprint(pl.Page), "--x", fmt.Sprint(pl.X), "--y", fmt.Sprint(pl.Y))
	if code == exitOK || !strings.Contains(errs, "PIN") {
		t.Fatalf("seal without the PIN setting: exit %d\n%s%s", code, out, errs)
	}
	t.Logf("without the PIN setting: %s", errs)
}
