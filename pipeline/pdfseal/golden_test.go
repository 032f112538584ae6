package pdfseal

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGoldenUpdate pins the text of the incremental update Seal appends,
// with what varies between runs (stream data, offsets, the CMS) masked.
// Run with -update after an intended change and review the diff.
func TestGoldenUpdate(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	masks := []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile(`(?s)\nstream\n.*?\nendstream`), "\nstream\n…\nendstream"},
		{regexp.MustCompile(`/Length \d+`), "/Length …"},
		{regexp.MustCompile(`/Contents<[0-9a-f]+>`), "/Contents<…>"},
		{regexp.MustCompile(`/ByteRange\[[0-9 ]+\]`), "/ByteRange[…]"},
		{regexp.MustCompile(`\d{10} (\d{5}) n`), "………………………… $1 n"},
		{regexp.MustCompile(`startxref\n\d+`), "startxref\n…"},
	}
	for _, tc := range []struct{ input, golden string }{
		{"pdf/hello.pdf", "hello.update.golden"},
		{"pdf/hello_hsm.pdf", "hello_hsm.update.golden"},
	} {
		t.Run(tc.input, func(t *testing.T) {
			t.Parallel()
			in := conformance(t, tc.input)
			opts := options(t, sm2K, 1)
			opts.SealData = []byte{0x30, 0x03, 0x02, 0x01, 0x04}
			got := seal(t, in, opts)[len(in):]
			for _, m := range masks {
				got = m.re.ReplaceAll(got, []byte(m.with))
			}
			path := filepath.Join("testdata", tc.golden)
			if *updateGolden {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("the update differs from %s (run with -update and review the diff):\n%s", path, got)
			}
		})
	}
}
