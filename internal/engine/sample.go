package engine

import (
	"fmt"
	"strings"
)

// SampleConfigPath is the sample configuration file in the repository,
// which SampleConfig's output is kept identical to.
const SampleConfigPath = "deploy/sealpipe.conf.sample"

// SampleConfig returns a configuration file for `--config` that documents
// every setting: its help text, then the setting commented out with its
// default (or empty), so that the file loads as the defaults until a line
// is uncommented. Secrets also name their _FILE form.
func SampleConfig() []byte {
	var b strings.Builder
	b.WriteString(`# sealpipe configuration: KEY=value lines, given with --config FILE.
# The environment wins over this file; blank lines and # comments are skipped.
# Every setting is listed, commented out, with its default (empty: none).
# Uncomment and set what this deployment needs; check it with
#
#	sealpipe --config FILE config check
#
# Generated from internal/engine.Settings; go test ./internal/engine -run SampleConfig -update rewrites it.
`)
	for _, st := range table {
		b.WriteString("\n")
		for _, line := range wrap(st.Help, 76) {
			fmt.Fprintf(&b, "# %s\n", line)
		}
		if st.Secret {
			fmt.Fprintf(&b, "# (or %s_FILE=PATH: a file holding it)\n", st.Key)
		}
		fmt.Fprintf(&b, "#%s=%s\n", st.Key, st.Default)
	}
	return []byte(b.String())
}

// wrap breaks text into lines of at most width bytes at spaces (a longer
// word stays whole).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) > width:
			lines = append(lines, line)
			line = w
		default:
			line += " " + w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
