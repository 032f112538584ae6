package readme

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// The READMEs whose command blocks TestREADME runs, in this order.
var readmes = []string{"README.md", "deploy/local/README.md"}

// skipped are the only command lines TestREADME does not run, each with
// the reason. Each must still be found, as written, in its file.
var skipped = []struct{ file, line, why string }{
	{"README.md", "make test    # install what the tests need, start Redis/MinIO/SoftHSM2 on 127.0.0.1, run every test",
		"TestREADME runs inside make test: the quick start's second command is the one running it"},
}

// optional are the tools the READMEs call optional ("when installed"): a
// block whose first line is a comment naming one of them runs only where
// it is installed.
var optional = []string{"aws", "mc"}

// outcomes are what the READMEs say a block's commands print, as regular
// expressions over the block's output. A block is named by its file and a
// line of it (whitespace-trimmed, exact) that no other block of the file has.
var outcomes = []struct {
	file, line string
	want       []string
}{
	// Quick start: the demo's summary as the README shows it.
	{"README.md", "make demo    # seal a sample batch end to end on embedded defaults", []string{
		`sealpipe demo: batch civil-affairs/demo-20\n`, `\n  documents: 22\n`, `\n  sealed:    20\n`, `\n  rejected:  2\n`,
		`zz-tampered.pdf: DIGEST_MISMATCH`, `zz-wrong-seal.pdf: SEAL_NOT_PERMITTED`,
		`batch report: demo-data/store/sealpipe/reports/civil-affairs/demo-20/batch.json`,
	}},
	// The verification service: the demo's first certificate passes.
	{"README.md", "http://127.0.0.1:8080/api/v1/verify                   # the JSON report: \"indication\": \"TOTAL_PASSED\"", []string{
		`"indication": "TOTAL_PASSED"`, `"seal_id": "33010200000001"`,
	}},
	{"README.md", "sealpipe version", []string{`(?m)^sealpipe \S+`}},
	// Sealing through MinIO with an HSM key: 20 sealed, the batch complete.
	{"README.md", "sealpipe status civil-affairs/hsm-001   # \"complete\", 20 sealed, the batch report in reports/", []string{
		`(?m)^civil-affairs/hsm-001: sealed 20, rejected 0 `, // run --once
		`(?m)^civil-affairs/hsm-001: complete$`, `(?m)^  sealed:\s+20$`, `(?m)^  report:\s+reports/civil-affairs/hsm-001/batch\.json$`,
	}},
	{"README.md", "sealpipe batch upload ./batch-001      # department and batch from approval.json", []string{
		`(?m)^  approval\.json\.p7s\s+\d+ bytes\nuploaded 10 document\(s\) and the approval`,
	}},
	{"README.md", "sealpipe status civil-affairs/2026-11-24-001   # \"complete\", 10 sealed", []string{
		`(?m)^civil-affairs/2026-11-24-001: sealed 10, rejected 0 `,
		`(?m)^civil-affairs/2026-11-24-001: complete$`, `(?m)^  sealed:\s+10$`, `(?m)^  report:\s+reports/civil-affairs/2026-11-24-001/batch\.json$`,
	}},
	{"README.md", "sealpipe access list                                  # departments, access keys, enabled or not", []string{
		`access key: sealpipe_sealpipe_public-security`, `public-security`,
	}},
	// The department lists what was sealed: the ten certificates.
	{"README.md", "ls sealpipe-civil-affairs:sealpipe/sealed/civil-affairs/2026-11-24-001/   # the 10 sealed PDFs", []string{
		`(?s)(\n\s*\d+ cert-000\d\d\.pdf){10}`,
	}},
	// Administration: a keeper sees its unit's seals only, suspends one,
	// and whoami names its role.
	{"README.md", "sealpipe seals list                                   # only 某某县民政局's seals: 33010200000001 and 33010200000011", []string{
		`(?m)^admin: https://127\.0\.0\.1:8443`, `(?m)^33010200000001\s+active\s`, `(?m)^33010200000011\s+active\s`,
		`(?m)^33010200000011\s+suspended\s`, `"role":\s*"keeper"`,
	}},
	{"deploy/local/README.md", "go test ./storage/...   # tests find the services (also without the line above)", []string{
		`(?m)^ok\s+github\.com/sealpipe/sealpipe/storage/s3\s`, `(?m)^ok\s+github\.com/sealpipe/sealpipe/storage/fs\s`,
	}},
}

// block is one fenced ```sh block of a README.
type block struct {
	file string
	line int    // line of the opening fence
	body string // the commands, dedented
}

// TestREADME is the README test of issue 9: every ```sh block of README.md
// and deploy/local/README.md runs as written, in order, in one bash session
// (so that `. ./.services.env` and `export` carry over, as they do for a
// person), in a copy of the work tree made as a fresh clone would be, with
// a home folder and GOPATH of its own, and services of its own
// (SEALPIPE_SERVICES_DIR in a temporary folder: the blocks start and stop
// them, so they must not be the shared ones other tests use). The quick
// start's `make test` is the one line not run (skipped), and the outcomes
// the READMEs' comments state are checked (outcomes).
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: TestREADME builds sealpipe and starts its own services (minutes)")
	}
	for _, tool := range []string{"bash", "make", "git", "redis-server", "softhsm2-util", "pkcs11-tool", "rclone", "s3cmd"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s is not installed (make deps installs it)", tool)
		}
	}
	root, ok := testenv.ModuleRoot()
	if !ok {
		t.Fatal("module root not found")
	}
	var blocks []block
	for _, f := range readmes {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, shellBlocks(f, string(b))...)
	}
	script, err := sessionScript(blocks)
	if err != nil {
		t.Fatal(err)
	}

	tmp := t.TempDir()
	clone := filepath.Join(tmp, "sealpipe")
	copyWorkTree(t, root, clone)
	if err := os.WriteFile(filepath.Join(tmp, "session.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	env := sessionEnv(t, tmp)
	t.Cleanup(func() {
		// Stops whatever the session left running (a failed block before
		// `make services-down`), by the PIDs services.sh recorded.
		cmd := exec.Command("bash", "deploy/local/services.sh", "clean")
		cmd.Dir, cmd.Env = clone, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("services.sh clean: %v\n%s", err, out)
		}
	})

	// The transcript is kept in a file too, so that a long run can be
	// followed with tail -f.
	transcript, err := os.CreateTemp("", "sealpipe-readme-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer transcript.Close()
	t.Logf("transcript: %s", transcript.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", filepath.Join(tmp, "session.sh"))
	cmd.Dir, cmd.Env = clone, env
	cmd.Stdout = io.MultiWriter(&out, transcript)
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()

	outputs := splitOutput(out.String())
	if runErr != nil {
		last := len(outputs) - 1
		if last < 0 {
			t.Fatalf("the session failed before its first block: %v\n%s", runErr, out.String())
		}
		b := blocks[last]
		t.Fatalf("%s:%d: a command of this block failed (%v):\n%s\noutput:\n%s", b.file, b.line, runErr, b.body, tail(outputs[last], 120))
	}
	if len(outputs) != len(blocks) {
		t.Fatalf("%d blocks ran, want %d:\n%s", len(outputs), len(blocks), tail(out.String(), 60))
	}
	for _, o := range outcomes {
		i := findBlock(blocks, o.file, o.line)
		if i < 0 {
			t.Errorf("%s: no command block has the line %q: update the test with the README", o.file, o.line)
			continue
		}
		for _, re := range o.want {
			if !regexp.MustCompile(re).MatchString(outputs[i]) {
				t.Errorf("%s:%d: the output does not match %q:\n%s", o.file, blocks[i].line, re, tail(outputs[i], 60))
			}
		}
	}

	// The demo's hint names a command that works, run as printed from
	// where make demo ran.
	i := findBlock(blocks, "README.md", outcomes[0].line)
	m := regexp.MustCompile(`(?m)^  check one:\s+(.+)$`).FindStringSubmatch(outputs[i])
	if m == nil {
		t.Fatalf("make demo printed no `check one:` hint:\n%s", outputs[i])
	}
	hint := exec.Command("bash", "--noprofile", "--norc", "-c", m[1])
	hint.Dir, hint.Env = clone, env
	if b, err := hint.CombinedOutput(); err != nil || !strings.Contains(string(b), "TOTAL_PASSED") {
		t.Errorf("the demo's hint %q: %v, want TOTAL_PASSED:\n%s", m[1], err, b)
	}
}

// fence matches a ```sh block, indented as a list item's may be; group 1
// is the indentation, group 2 the body.
var fence = regexp.MustCompile("(?ms)^( *)```sh\n(.*?)^ *```[ \t]*$")

// shellBlocks returns the ```sh blocks of a README in order, dedented.
func shellBlocks(file, text string) []block {
	var blocks []block
	for _, m := range fence.FindAllStringSubmatchIndex(text, -1) {
		indent := text[m[2]:m[3]]
		var body strings.Builder
		for _, l := range strings.SplitAfter(text[m[4]:m[5]], "\n") {
			body.WriteString(strings.TrimPrefix(l, indent))
		}
		blocks = append(blocks, block{file: file, line: 1 + strings.Count(text[:m[0]], "\n"), body: body.String()})
	}
	return blocks
}

// marker starts each block's output in the session's transcript.
const marker = "\n@@readme-block@@\n"

// sessionScript joins the blocks into one bash script that stops at the
// first failing command (errexit, pipefail) and traces each command.
// Only the lines of skipped are left out; each must be found.
func sessionScript(blocks []block) (string, error) {
	var s strings.Builder
	s.WriteString("set -eo pipefail\nexec 2>&1\nPS4='$ '\n")
	found := make([]bool, len(skipped))
	for _, b := range blocks {
		s.WriteString("printf '" + strings.ReplaceAll(marker, "\n", `\n`) + "'\n")
		fmt.Fprintf(&s, "# %s:%d\n", b.file, b.line)
		tool := optionalTool(b)
		if tool != "" {
			fmt.Fprintf(&s, "if ! command -v %s >/dev/null; then echo '%s is not installed: block skipped'; else\n", tool, tool)
		}
		s.WriteString("set -x\n")
		for _, l := range strings.SplitAfter(b.body, "\n") {
			skip := false
			for i, k := range skipped {
				if k.file == b.file && strings.TrimSpace(l) == k.line {
					skip, found[i] = true, true
				}
			}
			if !skip {
				s.WriteString(l)
			}
		}
		s.WriteString("{ set +x; } 2>/dev/null\n")
		if tool != "" {
			s.WriteString("fi\n")
		}
	}
	for i, k := range skipped {
		if !found[i] {
			return "", fmt.Errorf("%s: the skipped line %q is gone: update the test with the README", k.file, k.line)
		}
	}
	return s.String(), nil
}

// commentTool returns the first word of a block's first line when that
// line is a comment ("# rclone …" → "rclone"), or "".
func commentTool(b block) string {
	first, _, _ := strings.Cut(strings.TrimSpace(b.body), "\n")
	f := strings.Fields(strings.TrimPrefix(first, "#"))
	if !strings.HasPrefix(first, "#") || len(f) == 0 {
		return ""
	}
	return f[0]
}

// optionalTool returns the optional tool a block is for, or "".
func optionalTool(b block) string {
	if tool := commentTool(b); slices.Contains(optional, tool) {
		return tool
	}
	return ""
}

// splitOutput cuts the transcript into the outputs of the blocks that
// started.
func splitOutput(transcript string) []string {
	parts := strings.Split(transcript, marker)
	return parts[1:]
}

// findBlock returns the index of the block of file holding line, or -1.
func findBlock(blocks []block, file, line string) int {
	for i, b := range blocks {
		if b.file != file {
			continue
		}
		for _, l := range strings.Split(b.body, "\n") {
			if strings.TrimSpace(l) == line {
				return i
			}
		}
	}
	return -1
}

// sessionEnv is the environment of a new user's shell: this process's
// without any SEALPIPE_* or SoftHSM2 setting (make test sources the
// shared services' settings), a home folder and GOPATH of its own (make
// install writes there), the build and module caches and the MinIO binary
// cache shared (nothing to download again), and its own services' state
// folder.
func sessionEnv(t *testing.T, tmp string) []string {
	t.Helper()
	realHome, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	goEnv := func(name string) string {
		b, err := exec.Command("go", "env", name).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", name, err)
		}
		return strings.TrimSpace(string(b))
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		cache = filepath.Join(realHome, ".cache")
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "SEALPIPE_"), k == "SOFTHSM2_CONF", k == "HOME", k == "GOPATH",
			k == "GOMODCACHE", k == "GOCACHE", k == "GOENV", k == "XDG_CACHE_HOME",
			strings.HasPrefix(k, "AWS_") && k != "AWS_CA_BUNDLE":
			continue
		}
		env = append(env, kv)
	}
	home := filepath.Join(tmp, "home")
	for _, d := range []string{home, filepath.Join(tmp, "gopath")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return append(env,
		"HOME="+home,
		"GOPATH="+filepath.Join(tmp, "gopath"),
		"GOMODCACHE="+goEnv("GOMODCACHE"),
		"GOCACHE="+goEnv("GOCACHE"),
		"GOENV="+goEnv("GOENV"),
		"XDG_CACHE_HOME="+cache,
		"SEALPIPE_SERVICES_DIR="+filepath.Join(tmp, "services"),
	)
}

// copyWorkTree copies what a fresh clone of the work tree would hold —
// tracked files as they are now, and new files git does not ignore — to
// dst, with their modes.
func copyWorkTree(t *testing.T, root, dst string) {
	t.Helper()
	b, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			link, err := os.Readlink(src)
			if err == nil {
				err = os.Symlink(link, to)
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
