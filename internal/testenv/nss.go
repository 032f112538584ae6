package testenv

import (
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// NSSDB makes a temporary NSS database (certutil, as poppler's pdfsig
// reads it with -nssdir) trusting each DER certificate of roots as a CA
// for every purpose, and returns its "sql:" directory. It skips, or fails
// under CI, without certutil.
func NSSDB(t testing.TB, roots ...[]byte) string {
	t.Helper()
	certutil := Tool(t, "certutil")
	dir := t.TempDir()
	certutilRun := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(certutil, append([]string{"-d", "sql:" + dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	certutilRun("-N", "--empty-password")
	for i, der := range roots {
		file := filepath.Join(t.TempDir(), "root.pem")
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		certutilRun("-A", "-n", "sealpipe test root "+strconv.Itoa(i+1), "-t", "C,C,C", "-i", file)
	}
	return "sql:" + dir
}
