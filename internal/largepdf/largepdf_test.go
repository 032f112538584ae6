package largepdf_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/largepdf"
	"github.com/sealpipe/sealpipe/internal/testenv"
)

// TestWrite: a document of each size is exactly that size, the same
// bytes each time, and one qpdf checks without a warning.
func TestWrite(t *testing.T) {
	t.Parallel()
	qpdf := testenv.Tool(t, "qpdf")
	for _, size := range []int64{largepdf.MinSize, 1025, 4096, 100_003, 1<<20 + 7} {
		var a, b bytes.Buffer
		if err := largepdf.Write(&a, size); err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if err := largepdf.Write(&b, size); err != nil {
			t.Fatal(err)
		}
		if int64(a.Len()) != size || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("%d bytes asked: %d written, the same twice: %v", size, a.Len(), bytes.Equal(a.Bytes(), b.Bytes()))
		}
		name := filepath.Join(t.TempDir(), "large.pdf")
		if err := largepdf.WriteFile(name, size); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, a.Bytes()) {
			t.Fatalf("%d bytes: WriteFile wrote other bytes than Write (%v)", size, err)
		}
		out, err := exec.Command(qpdf, "--check", name).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors found") || strings.Contains(string(out), "WARNING") {
			t.Errorf("%d bytes: qpdf --check: %v\n%s", size, err, out)
		}
	}
	if err := largepdf.Write(new(bytes.Buffer), largepdf.MinSize-1); err == nil {
		t.Errorf("a document of %d bytes was written", largepdf.MinSize-1)
	}
}
