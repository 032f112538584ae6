package pdfseal

import (
	"strings"
	"testing"
)

func TestCheckXRefTable(t *testing.T) {
	t.Parallel()
	const trailer = "trailer\n<</Size 3/Root 1 0 R>>\nstartxref\n9\n%%EOF\n"
	tests := []struct {
		name    string
		section string // after the "xref" keyword
		wantErr string // "" for valid
	}{
		{"two-byte EOLs", "\n0 3\n0000000000 65535 f\r\n0000000010 00000 n\r\n0000000079 00000 n\r\n" + trailer, ""},
		{"one-byte EOLs, two subsections", "\n0 1\n0000000000 65535 f\n2 1\n0000000079 00000 n\n" + trailer, ""},
		{"no subsection", "\n" + trailer, "no subsection"},
		{"count beyond the file", "\n0 999999\n0000000000 65535 f \n" + trailer, "subsection 1 header"},
		{"garbage entry", "\n0 2\n0000000000 65535 f \nzzzzzzzzzz 00000 n \n" + trailer, "entry for object 1"},
		{"entry type x", "\n0 1\n0000000000 65535 x \n" + trailer, "entry for object 0"},
		{"no trailer", "\n0 1\n0000000000 65535 f \nstartxref\n9\n%%EOF", "subsection 2 header"},
		{"no startxref", "\n0 1\n0000000000 65535 f \ntrailer\n<</Size 1>>", "not followed by startxref"},
		{"trailer without /Size", "\n0 1\n0000000000 65535 f \ntrailer\n<</Root 1 0 R>>\nstartxref\n9", "/Size"},
	}
	for _, tc := range tests {
		_, err := checkXRefTable([]byte(tc.section))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.wantErr)
		}
	}
}
