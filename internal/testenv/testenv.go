// Package testenv lets tests find what lives outside the module: the shared
// conformance corpus of seals and signed documents made by other
// implementations, and independent tools (OpenSSL, qpdf, poppler) used to
// cross-check sealpipe's output.
//
// A test that needs something missing is skipped with a message on a
// developer's machine and fails when CI=true, so CI can never go green by
// testing nothing.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// CI reports whether the tests run under continuous integration (CI=true).
func CI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test, or fails it under CI, explaining what is missing.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("CI=true and a required test dependency is missing: "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}

// Conformance returns the absolute path of the conformance corpus
// (shared/conformance beside the project folder, or $SEALPIPE_CONFORMANCE).
// Read the files in place; never copy them into the project.
func Conformance(t testing.TB) string {
	t.Helper()
	dir, ok := ConformanceDir()
	if !ok {
		Missing(t, "conformance corpus not found (set SEALPIPE_CONFORMANCE or place shared/conformance beside the project)")
	}
	return dir
}

// ConformanceFile reads a file of the conformance corpus in place, by its
// path inside the corpus (e.g. "ofd", "h.ofd"); a missing corpus is
// Missing, an unreadable file fails the test.
func ConformanceFile(t testing.TB, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{Conformance(t)}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ConformanceDir locates the conformance corpus without a test, for
// benchmarks and fuzz seeding. ok is false if it is absent.
func ConformanceDir() (dir string, ok bool) {
	if d := os.Getenv("SEALPIPE_CONFORMANCE"); d != "" {
		return d, isDir(filepath.Join(d))
	}
	root, ok := ModuleRoot()
	if !ok {
		return "", false
	}
	d := filepath.Join(filepath.Dir(root), "shared", "conformance")
	return d, isDir(d)
}

// ModuleRoot returns the directory holding sealpipe's go.mod.
func ModuleRoot() (string, bool) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", false
	}
	d := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}

// Tool returns the path of an external program the test needs, such as
// "openssl", "qpdf", "pdftoppm" or "pdfsig". `make test` installs them.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s not on PATH (make test installs it: deploy/local/install-deps.sh)", name)
	}
	return p
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
