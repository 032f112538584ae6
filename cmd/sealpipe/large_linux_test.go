package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/minio/minio-go/v7"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/internal/largepdf"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/report"
)

// TestLargeFileBoundedMemory (issue 11 item 4): a generated 1 GiB PDF
// seals with `sealpipe seal` and verifies with `sealpipe verify`, each run
// as a process of its own, and neither's peak RSS reaches 100 MiB: the
// input is streamed — hashed while read, sealed over the file, copied to
// the output — never held whole. The output begins with the input, byte
// for byte. It takes a minute or so, mostly disk; it is skipped only with
// -short outside CI.
func TestLargeFileBoundedMemory(t *testing.T) {
	skipLarge(t)
	const sealID = "33010200000041"
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	embeddedDefaults(t)
	t.Setenv("SEALPIPE_DATA", filepath.Join(dir, "data"))
	t.Setenv("SEALPIPE_KEY_PASSPHRASE", "large file test")
	mustRun(t, "ca", "init")
	mustRun(t, "seals", "make", "--unit", "civil-affairs", "--code", sealID, "--approver", demo.Approver)

	const size = largeSize
	in, out := filepath.Join(dir, "large.pdf"), filepath.Join(dir, "large.sealed.pdf")
	if err := largepdf.WriteFile(in, size); err != nil {
		t.Fatal(err)
	}
	boundedStep(t, "sealed "+in+" -> "+out, "seal", in, "-o", out, "--seal", sealID)
	boundedStep(t, out+": TOTAL_PASSED", "verify", out)

	info, err := os.Stat(out)
	if err != nil || info.Size() <= size {
		t.Fatalf("the output: %v, %v", info, err)
	}
	if got, want := fileSM3(t, out, size), fileSM3(t, in, size); got != want {
		t.Errorf("the output's first %d bytes have SM3 %s, the input %s", size, got, want)
	}
}

// TestLargeDocumentPipeline (issue 11 item 4): a generated 1 GiB PDF goes
// through the pipeline on the servers of make services-up — approved with
// `sealpipe approve`, uploaded into MinIO with `sealpipe batch upload`,
// sealed by `sealpipe run --once` through Redis-backed Asynq — each step a
// process of its own whose peak RSS stays under 100 MiB: the document is
// hashed while read, spooled from the store to a file, sealed over it and
// uploaded back as a multipart upload of sections of that file. The stored
// output begins with the input byte for byte and its report says it
// verifies. It is skipped only with -short outside CI.
func TestLargeDocumentPipeline(t *testing.T) {
	skipLarge(t)
	const (
		size  = largeSize
		code  = "33010200000042"
		batch = "large-1gib"
		name  = "large.pdf"
	)
	bucket, mc, _, _ := servicesEnv(t)
	t.Setenv("SEALPIPE_MAX_DOCUMENT_SIZE", "2GiB")
	mustRun(t, "ca", "init")
	mustRun(t, "seals", "make", "--unit", "civil-affairs", "--dept", demo.Department, "--code", code, "--purpose", "业务专用章", "--approver", demo.Approver)
	dir := filepath.Join(t.TempDir(), batch)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, name)
	if err := largepdf.WriteFile(in, size); err != nil {
		t.Fatal(err)
	}
	boundedStep(t, "", "approve", dir, "--dept", demo.Department, "--batch", batch, "--approver", demo.Approver, "--seal", code)
	boundedStep(t, "batch "+demo.Department+"/"+batch+" is submitted", "batch", "upload", dir)
	boundedStep(t, `"sealed": 1`, "--json", "run", "--once", "--timeout", "10m")

	ctx := t.Context()
	sealedKey := "sealed/" + demo.Department + "/" + batch + "/" + name
	obj, err := mc.GetObject(ctx, bucket, sealedKey, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	h := sm3.New()
	if n, err := io.Copy(h, io.LimitReader(obj, size)); err != nil || n != size {
		t.Fatalf("reading the sealed output: %d bytes, %v", n, err)
	}
	if info, err := mc.StatObject(ctx, bucket, sealedKey, minio.StatObjectOptions{}); err != nil || info.Size <= size {
		t.Fatalf("the sealed output: %d bytes, %v; want more than the input's %d", info.Size, err, int64(size))
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), fileSM3(t, in, size); got != want {
		t.Errorf("the output's first %d bytes have SM3 %s, the input %s", size, got, want)
	}
	rc, err := mc.GetObject(ctx, bucket, "reports/"+demo.Department+"/"+batch+"/"+name+".json", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	signed, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := devca.Load(filepath.Join(os.Getenv("SEALPIPE_DATA"), "pki"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Document
	if err := audit.OpenRecord(signed, &rep, ca.Pool()); err != nil {
		t.Fatal(err)
	}
	if rep.Indication != report.Passed || rep.Size <= size {
		t.Errorf("the report: %s of %d bytes, want %s of the output", rep.Indication, rep.Size, report.Passed)
	}
}

// The size of the large-file tests' documents, and the peak RSS they allow
// a command (issue 11 item 4).
const (
	largeSize   = 1 << 30
	largeMaxRSS = 100 << 20
)

// skipLarge skips a large-file test under -short, but never under CI=true.
func skipLarge(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("seals a 1 GiB document; skipped with -short (never under CI=true)")
	}
}

// boundedStep runs sealpipe with args in a process of its own (measured)
// and fails t unless it succeeds, prints want and peaks under
// largeMaxRSS.
func boundedStep(t *testing.T, want string, args ...string) {
	t.Helper()
	out, rss, took, err := measured(t, args...)
	t.Logf("sealpipe %s: peak RSS %.1f MiB, %s", strings.Join(args, " "), float64(rss)/(1<<20), took.Round(time.Millisecond))
	if err != nil || !strings.Contains(out, want) {
		t.Fatalf("sealpipe %s: %v, want %q in\n%s", strings.Join(args, " "), err, want, out)
	}
	if rss >= largeMaxRSS {
		t.Errorf("sealpipe %s: peak RSS %d MiB, want under %d MiB", strings.Join(args, " "), rss>>20, largeMaxRSS>>20)
	}
}

// measured runs sealpipe with args in a process of its own, through the
// peakrss launcher, in the test's environment, and returns its output
// (stdout and stderr), its peak RSS, how long it took and how it ended.
func measured(t *testing.T, args ...string) (string, int64, time.Duration, error) {
	t.Helper()
	// TestMain's links to this binary: sealpipe runs main's run, peakrss
	// measures it.
	bin, err := exec.LookPath("sealpipe")
	if err != nil {
		t.Fatal(err)
	}
	launcher, err := exec.LookPath("peakrss")
	if err != nil {
		t.Fatal(err)
	}
	rssFile := filepath.Join(t.TempDir(), "peak-rss")
	cmd := exec.Command(launcher, append([]string{bin}, args...)...)
	cmd.Env = append(os.Environ(), peakRSSFile+"="+rssFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	kib, rerr := os.ReadFile(rssFile)
	if rerr != nil {
		t.Fatalf("sealpipe %s: %v (%v)\n%s", args[0], rerr, err, out.String())
	}
	n, _ := strconv.ParseInt(string(kib), 10, 64)
	return out.String(), n << 10, took, err
}

// peakRSSFile names the file peakrss writes the peak RSS to.
const peakRSSFile = "SEALPIPE_TEST_PEAK_RSS_FILE"

func init() { testCommands["peakrss"] = peakRSS }

// peakRSS, the command peakrss, runs the command line it is given and
// writes its peak RSS, in KiB (getrusage's ru_maxrss), to the file
// $SEALPIPE_TEST_PEAK_RSS_FILE, then exits as it did. A process started
// straight from a test starts its ru_maxrss at the test process's own
// peak — Linux carries the high-water mark of the address space the child
// shares until exec over — so the test starts this small launcher, whose
// mark is its own few megabytes, and the launcher the command.
func peakRSS() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "peakrss:", err)
		os.Exit(2)
	}
	kib := strconv.FormatInt(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss, 10)
	if err := os.WriteFile(os.Getenv(peakRSSFile), []byte(kib), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "peakrss:", err)
		os.Exit(2)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}

// fileSM3 returns the SM3, in hex, of the first n bytes of the file name.
func fileSM3(t *testing.T, name string, n int64) string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sm3.New()
	if m, err := io.Copy(h, io.LimitReader(f, n)); err != nil || m != n {
		t.Fatalf("%s: %d of %d bytes read: %v", name, m, n, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
