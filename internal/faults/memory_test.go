package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
)

var memoryTable = flag.String("faults.memory", "", "comma-separated SEALPIPE_MEMORY_BUDGET values: TestMemoryBudget measures the peak RSS of each and logs it")

// The large batch of issue 7: eight documents of 62 MB at once.
const (
	largeDocs = 8
	largeSize = 62 << 20
)

// TestMemoryBudget seals eight 62 MB documents with eight workers in one
// `sealpipe run --once` process and bounds the process's peak RSS
// (getrusage maxrss) by its memory budget: with SEALPIPE_MEMORY_BUDGET =
// 128MiB two documents are in flight at once, not eight.
//
// A document in flight peaks at four to five and a half times its size —
// the input, the sealed output, the parse of each, the collector's
// headroom — and the process needs about 200 MiB besides: measured, 670–845
// MiB with two documents at once, 1.2–1.4 GB with four, 2.2–2.3 GB with
// all eight (no budget). The bound is base + 7 × budget, 1096 MiB.
//
// -faults.memory=8GiB,256MiB,… measures the peak RSS under each budget
// instead.
func TestMemoryBudget(t *testing.T) {
	long(t)
	t.Parallel()
	dir, ref := largeBatch(t)
	if *memoryTable != "" {
		for _, budget := range strings.Split(*memoryTable, ",") {
			rss, elapsed := runLarge(t, dir, ref, budget)
			t.Logf("SEALPIPE_MEMORY_BUDGET=%s: peak RSS %d MiB, %s", budget, rss>>20, elapsed.Round(time.Millisecond))
		}
		return
	}
	const budget = 128 << 20
	rss, elapsed := runLarge(t, dir, ref, engine.ByteSize(budget).String())
	limit := int64(base + 7*budget)
	t.Logf("budget %s: peak RSS %d MiB (limit %d MiB), %s", engine.ByteSize(budget), rss>>20, limit>>20, elapsed.Round(time.Millisecond))
	if rss > limit {
		t.Fatalf("peak RSS %d MiB exceeds %d MiB, base + 7 × the %d MiB budget", rss>>20, limit>>20, budget>>20)
	}
}

// base is what a `sealpipe run` process takes besides documents: the
// runtime, the in-process Redis, the registry and keys, with room to spare.
const base = 200 << 20

// largeBatch writes a batch of largeDocs documents of about largeSize
// bytes each, approved, into a folder and returns the folder and the batch.
func largeBatch(t *testing.T) (dir string, ref pipeline.BatchRef) {
	t.Helper()
	_, ca := trustChain(t)
	ctx := context.Background()
	approver := ca.Approvers[demo.Approver]
	key, err := ca.Signer(ctx, approver)
	if err != nil {
		t.Fatal(err)
	}
	ref = pipeline.BatchRef{Department: demo.Department, Batch: "large"}
	b, err := demo.MakeBatch(demo.BatchOptions{Ref: ref, Docs: largeDocs, ApproverKey: key, ApproverCert: approver.Cert})
	if err != nil {
		t.Fatal(err)
	}
	m, err := approval.Parse(b.Files[approval.ManifestName])
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	for i := range m.Documents {
		d := &m.Documents[i]
		pdf := inflate(t, b.Files[d.Name], largeSize)
		*d = approval.NewDocument(d.Name, pdf, d.Seal, d.Placement)
		if err := os.WriteFile(filepath.Join(dir, d.Name), pdf, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	body, sig, err := approval.MarshalSigned(m, key, approver.Cert)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{approval.ManifestName: body, approval.SignatureName: sig} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, ref
}

// largeBucket makes a new bucket in the local store of the shared data
// folder, registers the demo seals in it, and uploads the batch in dir:
// the documents, then the approval.
func largeBucket(t *testing.T, dir string, ref pipeline.BatchRef) string {
	t.Helper()
	data, ca := trustChain(t)
	ctx := context.Background()
	bucket := fmt.Sprintf("large-%d", time.Now().UnixNano())
	st, err := fs.Open(filepath.Join(data, "store"), bucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Join(data, "store", bucket)) })
	if err := demo.RegisterSeals(ctx, ca, registry.New(st, ca.Pool())); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !pipeline.IsCommitKey(e.Name()) {
			names = append(names, e.Name())
		}
	}
	for _, n := range append(names, approval.ManifestName, approval.SignatureName) {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := f.Stat()
		if err == nil {
			_, err = st.Put(ctx, ref.Inbox()+n, f, fi.Size(), storage.PutOptions{ContentType: demo.ContentType(n)})
		}
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return bucket
}

// trailer matches the cross-reference section that closes a PDF written by
// internal/demo/certpdf: its trailer dictionary and startxref offset.
var trailer = regexp.MustCompile(`trailer\s*<<(.*?)>>\s*startxref\s*(\d+)\s*%%EOF\s*$`)
var sizeEntry = regexp.MustCompile(`/Size (\d+)`)

// inflate returns pdf grown to about size bytes by an incremental update
// (ISO 32000 §7.5.6) that adds one stream object of random bytes, as a
// large scanned image would.
func inflate(t *testing.T, pdf []byte, size int) []byte {
	t.Helper()
	m := trailer.FindSubmatch(pdf)
	if m == nil {
		t.Fatal("inflate: no trailer and startxref at the end of the PDF")
	}
	dict, prev := string(m[1]), string(m[2])
	sm := sizeEntry.FindStringSubmatch(dict)
	if sm == nil {
		t.Fatal("inflate: no /Size in the trailer")
	}
	nr, _ := strconv.Atoi(sm[1])
	n := max(0, size-len(pdf)-300)
	out := bytes.NewBuffer(make([]byte, 0, len(pdf)+n+300))
	out.Write(pdf)
	off := out.Len()
	fmt.Fprintf(out, "%d 0 obj\n<< /Length %d >>\nstream\n", nr, n)
	noise := make([]byte, n)
	rand.Read(noise)
	out.Write(noise)
	out.WriteString("\nendstream\nendobj\n")
	xref := out.Len()
	dict = sizeEntry.ReplaceAllString(dict, fmt.Sprintf("/Size %d", nr+1))
	fmt.Fprintf(out, "xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \ntrailer\n<<%s /Prev %s >>\nstartxref\n%d\n%%%%EOF\n",
		nr, off, dict, prev, xref)
	return out.Bytes()
}

// runLarge uploads the batch in dir into a new bucket and runs `sealpipe
// run --once` over it with eight workers and the given budget; it checks
// that every document was sealed and returns the process's peak RSS in
// bytes and how long it took.
func runLarge(t *testing.T, dir string, ref pipeline.BatchRef, budget string) (rss int64, elapsed time.Duration) {
	t.Helper()
	data, _ := trustChain(t)
	bucket := largeBucket(t, dir, ref)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SEALPIPE_") {
			env = append(env, kv)
		}
	}
	// The store is the local one under data, the queue an in-process Redis.
	env = append(env, "SEALPIPE_DATA="+data, "SEALPIPE_BUCKET="+bucket, "SEALPIPE_KEY_PASSPHRASE="+passphrase,
		"SEALPIPE_CONCURRENCY=8", "SEALPIPE_MEMORY_BUDGET="+budget)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(sealpipeBinary(t), "--json", "run", "--once", "--timeout", "10m")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("sealpipe run --once: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	elapsed = time.Since(start)
	var res []engine.BatchResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res) != 1 || res[0].Batch != ref.String() || res[0].Sealed != largeDocs {
		t.Fatalf("run --once: %v %s%s", err, stdout.String(), stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no rusage on this system")
	}
	return ru.Maxrss << 10, elapsed // Linux: kilobytes
}
