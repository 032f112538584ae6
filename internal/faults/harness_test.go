package faults

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/storage"
)

// passphrase protects the development keys of the shared trust chain.
const passphrase = "faults test passphrase"

var showLogs = flag.Bool("faults.logs", false, "print the end of every worker's log")

// batchDocs is the number of good documents in a fault run's batch; the
// demo's two bad ones come on top.
const batchDocs = 500

// shared holds what every test of the binary reuses: the sealpipe binary,
// the development trust chain and the sample batch. Making them is the
// slow part of a test's setup.
var shared struct {
	dir string // removed by TestMain

	binOnce sync.Once
	bin     string
	binErr  error

	pkiOnce sync.Once
	data    string // SEALPIPE_DATA: the trust chain under pki/
	ca      *devca.CA
	pkiErr  error

	batchOnce sync.Once
	batch     *demo.Batch
	batchErr  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sealpipe-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	shared.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// long skips a test under -short: each takes a minute or more.
func long(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("a fault run takes minutes; skipped with -short")
	}
}

// sealpipeBinary builds cmd/sealpipe once per test binary, with the go
// command on PATH (GOTOOLCHAIN, set by make, picks the same toolchain).
func sealpipeBinary(t *testing.T) string {
	t.Helper()
	shared.binOnce.Do(func() {
		root, ok := testenv.ModuleRoot()
		if !ok {
			shared.binErr = errors.New("module root not found")
			return
		}
		goCmd, err := exec.LookPath("go")
		if err != nil {
			shared.binErr = err
			return
		}
		bin := filepath.Join(shared.dir, "sealpipe")
		cmd := exec.Command(goCmd, "build", "-buildvcs=false", "-o", bin, "./cmd/sealpipe")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			shared.binErr = fmt.Errorf("go build ./cmd/sealpipe: %v\n%s", err, out)
			return
		}
		shared.bin = bin
	})
	if shared.binErr != nil {
		t.Fatal(shared.binErr)
	}
	return shared.bin
}

// trustChain makes the development trust chain once per test binary, as
// `sealpipe ca init` does: under <data>/pki, with the keyring that names
// its keys for the workers.
func trustChain(t *testing.T) (data string, ca *devca.CA) {
	t.Helper()
	shared.pkiOnce.Do(func() {
		shared.data = filepath.Join(shared.dir, "data")
		e := engine.New(engine.Settings{Data: shared.data, KeyPassphrase: passphrase})
		defer e.Close()
		shared.ca, shared.pkiErr = e.InitDevCA(demo.Units, demo.Approvers)
	})
	if shared.pkiErr != nil {
		t.Fatal(shared.pkiErr)
	}
	return shared.data, shared.ca
}

// sampleBatch makes the fault runs' batch once per test binary: batchDocs
// good certificates and the two bad documents, approved by demo.Approver.
// Every test uploads it into a bucket of its own.
func sampleBatch(t *testing.T) *demo.Batch {
	t.Helper()
	_, ca := trustChain(t)
	shared.batchOnce.Do(func() {
		approver := ca.Approvers[demo.Approver]
		key, err := ca.Signer(context.Background(), approver)
		if err != nil {
			shared.batchErr = err
			return
		}
		shared.batch, shared.batchErr = demo.MakeBatch(demo.BatchOptions{
			Ref:  pipeline.BatchRef{Department: demo.Department, Batch: "faults-500"},
			Docs: batchDocs, Bad: true, ApproverKey: key, ApproverCert: approver.Cert,
		})
	})
	if shared.batchErr != nil {
		t.Fatal(shared.batchErr)
	}
	return shared.batch
}

// cluster is one fault run's world: a private Redis and MinIO, a bucket
// holding the demo seals and an uploaded batch, and the worker processes.
type cluster struct {
	t        *testing.T
	redis    *testenv.RedisServer
	minio    *testenv.MinIOServer
	settings engine.Settings
	eng      *engine.Engine
	store    storage.Store
	mc       *minio.Client // the bucket's versions, which the store does not show
	batch    *demo.Batch
	workers  []*worker
}

// newCluster starts the servers, registers the demo seals and uploads the
// batch b (documents first, the approval last). The bucket keeps every
// version of its objects, so that checkExactlyOnce can tell an object
// written twice from one written once: create-only writes (If-None-Match)
// work the same on it.
func newCluster(t *testing.T, b *demo.Batch) *cluster {
	t.Helper()
	data, ca := trustChain(t)
	c := &cluster{t: t, redis: testenv.StartRedis(t), minio: testenv.StartMinIO(t), batch: b}
	s3 := c.minio.S3
	c.settings = engine.Settings{
		Data: data, Bucket: "sealpipe", KeyPassphrase: passphrase,
		S3:    engine.S3Settings{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: engine.Secret(s3.SecretKey), Region: s3.Region},
		Redis: engine.RedisSettings{Addr: c.redis.Addr},
	}
	ctx := t.Context()
	var err error
	c.mc, err = minio.New(s3.Host(), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Region: s3.Region})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.mc.MakeBucket(ctx, c.settings.Bucket, minio.MakeBucketOptions{Region: s3.Region}); err != nil {
		t.Fatal(err)
	}
	if err := c.mc.EnableVersioning(ctx, c.settings.Bucket); err != nil {
		t.Fatal(err)
	}
	c.eng = engine.New(c.settings)
	t.Cleanup(func() { c.eng.Close() })
	if c.store, err = c.eng.Store(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := c.eng.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.RegisterSeals(ctx, ca, reg); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.upload(ctx)
	t.Logf("uploaded %d files in %s", len(b.Files), time.Since(start).Round(time.Millisecond))
	return c
}

// upload puts the batch into its inbox as a department's parallel upload
// would: the documents eight at a time, then the approval, then its
// signature, which closes the batch.
func (c *cluster) upload(ctx context.Context) {
	c.t.Helper()
	names := c.batch.Names()
	put := func(n string) error {
		data := c.batch.Files[n]
		_, err := c.store.Put(ctx, c.batch.Ref.Inbox()+n, bytes.NewReader(data), int64(len(data)),
			storage.PutOptions{IfNoneMatch: true, ContentType: demo.ContentType(n)})
		return err
	}
	docs := names[:len(names)-2]
	errs := make([]error, len(docs))
	forEach(len(docs), 8, func(i int) { errs[i] = put(docs[i]) })
	for _, n := range names[len(names)-2:] {
		errs = append(errs, put(n))
	}
	if err := errors.Join(errs...); err != nil {
		c.t.Fatal(err)
	}
}

// forEach calls f(0) … f(n-1) from up to par goroutines at once.
func forEach(n, par int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, par) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// worker is one `sealpipe run` process.
type worker struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done
}

// env is the environment of a worker: the test's own, without any
// sealpipe setting (make test exports the shared services' ones), plus
// the cluster's settings, Redis at redisAddr, and extra.
func (c *cluster) env(redisAddr string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SEALPIPE_") && !strings.HasPrefix(kv, "SOFTHSM2_CONF=") {
			env = append(env, kv)
		}
	}
	s := c.settings
	return append(append(env,
		"SEALPIPE_DATA="+s.Data,
		"SEALPIPE_BUCKET="+s.Bucket,
		"SEALPIPE_KEY_PASSPHRASE="+string(s.KeyPassphrase),
		"SEALPIPE_S3_ENDPOINT="+s.S3.Endpoint,
		"SEALPIPE_S3_ACCESS_KEY="+s.S3.AccessKey,
		"SEALPIPE_S3_SECRET_KEY="+string(s.S3.SecretKey),
		"SEALPIPE_S3_REGION="+s.S3.Region,
		"SEALPIPE_REDIS_ADDR="+redisAddr,
		"SEALPIPE_POLL_INTERVAL=1s",
	), extra...)
}

// startWorker starts `sealpipe run` against the cluster's Redis.
func (c *cluster) startWorker() *worker { return c.startWorkerOn(c.redis.Addr) }

// startWorkerOn starts `sealpipe run` against the Redis at addr. It is
// stopped (SIGTERM, then SIGKILL) when the test ends.
func (c *cluster) startWorkerOn(redisAddr string) *worker {
	t := c.t
	t.Helper()
	w := &worker{name: fmt.Sprintf("worker-%d", len(c.workers)+1), done: make(chan struct{})}
	c.workers = append(c.workers, w)
	w.log = filepath.Join(t.TempDir(), w.name+".log")
	logf, err := os.Create(w.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	w.cmd = exec.Command(sealpipeBinary(t), "--log-level", "info", "run")
	w.cmd.Env = c.env(redisAddr)
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.err = w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		w.stop(t)
		if t.Failed() || *showLogs {
			t.Logf("%s log (end):\n%s", w.name, tail(w.log, 6000))
		}
	})
	return w
}

// stop stops the worker as an operator would (SIGTERM: it finishes the
// tasks in progress) and waits until it has exited.
func (w *worker) stop(t *testing.T) {
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30s of SIGTERM", w.name)
		w.cmd.Process.Kill()
		<-w.done
	}
}

// stopWorkers stops every worker, so that what they leave in the bucket
// can be checked with nothing still being written.
func (c *cluster) stopWorkers() {
	var wg sync.WaitGroup
	for _, w := range c.workers {
		wg.Go(func() { w.stop(c.t) })
	}
	wg.Wait()
}

// kill9 kills the worker with SIGKILL, as a crash or the OOM killer would.
func (w *worker) kill9(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-w.done
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// count returns how many objects lie under prefix; listing errors (a
// server down) count as -1.
func (c *cluster) count(prefix string) int {
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	n := 0
	if err := c.store.List(ctx, prefix, func(storage.ObjectInfo) error { n++; return nil }); err != nil {
		return -1
	}
	return n
}

// waitSealed waits until at least n documents of the batch are sealed and
// returns how many are.
func (c *cluster) waitSealed(n int, timeout time.Duration) int {
	c.t.Helper()
	prefix := storage.PrefixSealed + c.batch.Ref.String() + "/"
	deadline := time.Now().Add(timeout)
	for {
		got := c.count(prefix)
		if got >= n {
			return got
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%d documents sealed after %s, waited for %d", got, timeout, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitBatch waits until the batch report exists and returns it.
func (c *cluster) waitBatch(timeout time.Duration) *report.Batch {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	key := c.batch.Ref.BatchReportKey()
	for {
		var b report.Batch
		err := c.readJSON(key, &b)
		if err == nil {
			return &b
		}
		if !errors.Is(err, storage.ErrNotExist) {
			c.t.Logf("reading %s: %v", key, err)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("batch not complete after %s: %d sealed, %d rejected", timeout,
				c.count(storage.PrefixSealed+c.batch.Ref.String()+"/"), c.count(storage.PrefixRejected+c.batch.Ref.String()+"/"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (c *cluster) read(key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(c.t.Context(), time.Minute)
	defer cancel()
	b, _, err := storage.ReadAll(ctx, c.store, key, 1<<30)
	return b, err
}

// readJSON reads the record under key into v. A record in a signed
// envelope (package signed) is read from its payload: checking signatures
// is the pipeline's business, not the fault runs'.
func (c *cluster) readJSON(key string, v any) error {
	b, err := c.read(key)
	if err != nil {
		return err
	}
	var envelope struct {
		Format  string          `json:"format"`
		Payload json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(b, &envelope) == nil && envelope.Format == signed.Format {
		b = envelope.Payload
	}
	return json.Unmarshal(b, v)
}

// keys lists the names directly under prefix.
func (c *cluster) keys(prefix string) []string {
	c.t.Helper()
	var names []string
	err := c.store.List(c.t.Context(), prefix, func(o storage.ObjectInfo) error {
		names = append(names, strings.TrimPrefix(o.Key, prefix))
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// usageRecord holds the fields of an audit/ usage record the checks use.
type usageRecord struct {
	SealID     string `json:"seal_id"`
	Department string `json:"department"`
	Batch      string `json:"batch"`
	Document   string `json:"document"`
	InputSM3   string `json:"input_sm3"`
	OutputSM3  string `json:"output_sm3"`
	Output     string `json:"output"`
}

// expectedRejections are the demo's bad documents and their codes.
var expectedRejections = map[string]report.Code{
	demo.Tampered:  pipeline.CodeDigestMismatch,
	demo.WrongSeal: pipeline.CodeSealNotPermitted,
}

// checkExactlyOnce checks the batch's outputs after a fault run: exactly
// one outcome per document — a sealed PDF with its report and one usage
// record, or a rejection record, never both, never neither, nothing extra —
// the good documents sealed, the two bad ones rejected with their codes,
// the sealed bytes the ones the report and the usage record describe (a
// second sealing that overwrote the first would differ), no output object
// written twice (the bucket keeps versions), the usage log listing the
// batch once, every sealed PDF verifying TOTAL_PASSED, and the batch
// report agreeing.
func (c *cluster) checkExactlyOnce(b *report.Batch) {
	t := c.t
	t.Helper()
	start := time.Now()
	ref := c.batch.Ref
	m, err := approval.Parse(c.batch.Files[approval.ManifestName])
	if err != nil {
		t.Fatal(err)
	}
	approved := map[string]string{} // name → approved SM3
	for _, d := range m.Documents {
		approved[d.Name] = d.SM3
	}
	set := func(names []string, suffix string) map[string]bool {
		out := map[string]bool{}
		for _, n := range names {
			out[strings.TrimSuffix(n, suffix)] = true
		}
		return out
	}
	prefix := func(p string) string { return p + ref.String() + "/" }
	sealed := set(c.keys(prefix(storage.PrefixSealed)), "")
	// reports/ holds each document's JSON report and its pages for people
	// (<doc>.html, <doc>.pdf), and the batch's (batch.json, .html, .pdf).
	reportKeys := c.keys(prefix(storage.PrefixReports))
	withSuffix := func(suffix string) map[string]bool {
		out := map[string]bool{}
		for _, k := range reportKeys {
			if n, ok := strings.CutSuffix(k, suffix); ok {
				out[n] = true
			}
		}
		return out
	}
	reports, pages, pdfs := withSuffix(".json"), withSuffix(".html"), withSuffix(".pdf")
	if len(reports)+len(pages)+len(pdfs) != len(reportKeys) {
		t.Errorf("reports/ holds objects other than .json, .html and .pdf: %v", reportKeys)
	}
	if !pages["batch"] || !pdfs["batch"] {
		t.Errorf("the batch report for people: batch.html %v, batch.pdf %v", pages["batch"], pdfs["batch"])
	}
	delete(pages, "batch")
	delete(pdfs, "batch")
	rejected := set(c.keys(prefix(storage.PrefixRejected)), ".json")
	usage := map[string]map[string]bool{} // seal → documents
	for _, seal := range []string{demo.SealCivil, demo.SealCounty} {
		usage[seal] = set(c.keys(storage.PrefixAudit+seal+"/"+prefix("")), ".json")
	}
	delete(reports, "batch")
	if rejected["batch"] {
		t.Errorf("the whole batch was rejected")
	}

	var problems []string
	var mu sync.Mutex
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	for _, set := range []struct {
		what  string
		names map[string]bool
	}{{"sealed", sealed}, {"reports", reports}, {"report pages", pages}, {"report PDFs", pdfs}, {"rejected", rejected},
		{"audit " + demo.SealCivil, usage[demo.SealCivil]}, {"audit " + demo.SealCounty, usage[demo.SealCounty]}} {
		for n := range set.names {
			if _, ok := approved[n]; !ok {
				fail("%s/%s: not a document of the batch", set.what, n)
			}
		}
	}
	if len(usage[demo.SealCounty]) != 0 {
		fail("usage records of seal %s, which no document may use: %v", demo.SealCounty, usage[demo.SealCounty])
	}
	v, err := c.eng.Verifier(t.Context(), engine.VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nSealed, nRejected := 0, 0
	var toVerify []string
	for name := range approved {
		isSealed := sealed[name] || reports[name] || usage[demo.SealCivil][name] || pages[name] || pdfs[name]
		switch {
		case isSealed && rejected[name]:
			fail("%s: both sealed (%v/%v/%v) and rejected", name, sealed[name], reports[name], usage[demo.SealCivil][name])
		case !isSealed && !rejected[name]:
			fail("%s: no outcome", name)
		case rejected[name]:
			nRejected++
			var rj report.Rejection
			if err := c.readJSON(ref.RejectionKey(name), &rj); err != nil {
				fail("%s: rejection record: %v", name, err)
			} else if want, bad := expectedRejections[name]; !bad || rj.Code != want {
				fail("%s: rejected %s (%s), want %s", name, rj.Code, rj.Reason, want)
			}
		case !sealed[name] || !reports[name] || !usage[demo.SealCivil][name] || !pages[name] || !pdfs[name]:
			fail("%s: partly sealed: sealed PDF %v, report %v (page %v, PDF %v), usage record %v",
				name, sealed[name], reports[name], pages[name], pdfs[name], usage[demo.SealCivil][name])
		default:
			nSealed++
			toVerify = append(toVerify, name)
			if _, bad := expectedRejections[name]; bad {
				fail("%s: sealed, want it rejected", name)
			}
		}
	}
	for _, p := range []string{prefix(storage.PrefixSealed), prefix(storage.PrefixReports), prefix(storage.PrefixRejected),
		storage.PrefixAudit + demo.SealCivil + "/" + prefix(""), storage.PrefixAudit + demo.SealCounty + "/" + prefix("")} {
		for key, n := range c.versions(p) {
			fail("%s: written %d times", key, n)
		}
	}
	if p := c.checkUsageLog(b, toVerify); p != "" {
		fail("%s", p)
	}
	forEach(len(toVerify), 2*runtime.GOMAXPROCS(0), func(i int) {
		if err := c.checkSealed(v, toVerify[i], approved[toVerify[i]]); err != nil {
			fail("%s: %v", toVerify[i], err)
		}
	})
	if want := len(approved) - len(expectedRejections); nSealed != want || nRejected != len(expectedRejections) {
		fail("%d sealed and %d rejected, want %d and %d", nSealed, nRejected, want, len(expectedRejections))
	}
	if b.Sealed != nSealed || b.Rejected != nRejected || len(b.Documents) != len(approved) || b.Rejection != nil {
		fail("batch report: %d sealed, %d rejected, %d documents; the bucket holds %d sealed, %d rejected of %d",
			b.Sealed, b.Rejected, len(b.Documents), nSealed, nRejected, len(approved))
	}
	for _, e := range b.Documents {
		if want := map[bool]report.Outcome{true: report.OutcomeRejected, false: report.OutcomeSealed}[rejected[e.Document]]; e.Outcome != want {
			fail("batch report: %s %s, the bucket says %s", e.Document, e.Outcome, want)
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		if len(problems) > 40 {
			problems = append(problems[:40], fmt.Sprintf("… and %d more", len(problems)-40))
		}
		t.Fatalf("%d problem(s):\n%s", len(problems), strings.Join(problems, "\n"))
	}
	t.Logf("checked: %d sealed (each verified, one report, one usage record), %d rejected, batch report agrees (%s)",
		nSealed, nRejected, time.Since(start).Round(time.Millisecond))
}

// checkUsageLog checks the seal's usage log (package audit) after the
// batch: it verifies, and exactly one segment — the one the batch report
// names — lists the batch's usage records, one per sealed document. A
// batch committed twice, as two report tasks racing could do, would list
// every use twice. It returns the first problem, or "".
func (c *cluster) checkUsageLog(b *report.Batch, sealed []string) string {
	t := c.t
	t.Helper()
	ctx := t.Context()
	pool, err := c.eng.Trust()
	if err != nil {
		t.Fatal(err)
	}
	complete := func(label string) (bool, error) {
		dept, batch, _ := strings.Cut(label, "/")
		_, err := c.store.Stat(ctx, pipeline.BatchRef{Department: dept, Batch: batch}.BatchReportKey())
		if errors.Is(err, storage.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	log := audit.New(c.store, signed.Signer{}, pool)
	if p, err := log.Verify(ctx, demo.SealCivil, complete); err != nil || p != nil {
		return fmt.Sprintf("usage log of %s: %v%v", demo.SealCivil, p, err)
	}
	want := map[string]bool{}
	for _, n := range sealed {
		rec := audit.Record{SealID: demo.SealCivil, Department: c.batch.Ref.Department, Batch: c.batch.Ref.Batch, Document: n}
		want[rec.Key()] = true
	}
	var segments []audit.Segment
	for _, key := range c.keys(audit.PrefixLog + demo.SealCivil + "/") {
		var seg audit.Segment
		if err := c.readJSON(audit.PrefixLog+demo.SealCivil+"/"+key, &seg); err != nil {
			return fmt.Sprintf("usage log segment %s: %v", key, err)
		}
		if seg.Label == c.batch.Ref.String() {
			segments = append(segments, seg)
		}
	}
	if len(segments) != 1 {
		return fmt.Sprintf("usage log of %s: %d segments list batch %s, want 1", demo.SealCivil, len(segments), c.batch.Ref)
	}
	seg := segments[0]
	listed := 0
	for _, e := range seg.Records {
		if want[e.Key] {
			listed++
		}
	}
	if listed != len(want) || len(seg.Records) != len(want) {
		return fmt.Sprintf("usage log segment %d lists %d records, %d of them of the %d sealed documents", seg.Seq, len(seg.Records), listed, len(want))
	}
	if len(b.UsageLog) != 1 || b.UsageLog[0].Seal != demo.SealCivil || b.UsageLog[0].Seq != seg.Seq {
		return fmt.Sprintf("the batch report names usage log checkpoints %+v, the batch is segment %d of %s", b.UsageLog, seg.Seq, demo.SealCivil)
	}
	return ""
}

// versions returns the keys under prefix that were written more than once
// (or deleted), with their number of versions.
func (c *cluster) versions(prefix string) map[string]int {
	c.t.Helper()
	n := map[string]int{}
	for o := range c.mc.ListObjects(c.t.Context(), c.settings.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			c.t.Fatal(o.Err)
		}
		n[o.Key]++
		if o.IsDeleteMarker {
			n[o.Key]++
		}
	}
	for k, v := range n {
		if v == 1 {
			delete(n, k)
		}
	}
	return n
}

// checkSealed checks one sealed document: the sealed PDF begins with the
// approved document (whose SM3 is digest), the report and the usage record
// describe exactly these bytes, and the PDF verifies TOTAL_PASSED with one
// signature.
func (c *cluster) checkSealed(v *verify.Verifier, name, digest string) error {
	ref := c.batch.Ref
	pdf, err := c.read(ref.SealedKey(name))
	if err != nil {
		return err
	}
	sum := sm3.Sum(pdf)
	out := hex.EncodeToString(sum[:])
	var rep report.Document
	if err := c.readJSON(ref.ReportKey(name), &rep); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if rep.SM3 != out || rep.Indication != report.Passed {
		return fmt.Errorf("the report describes SM3 %s (%s), the sealed PDF is %s", rep.SM3, rep.Indication, out)
	}
	var rec usageRecord
	if err := c.readJSON(storage.PrefixAudit+demo.SealCivil+"/"+ref.String()+"/"+name+".json", &rec); err != nil {
		return fmt.Errorf("usage record: %w", err)
	}
	if rec.OutputSM3 != out || rec.InputSM3 != digest || rec.Document != name || rec.Output != ref.SealedKey(name) {
		return fmt.Errorf("the usage record (%s → %s, %s) does not describe the sealed PDF (%s → %s)", rec.InputSM3, rec.OutputSM3, rec.Output, digest, out)
	}
	if !bytes.HasPrefix(pdf, c.batch.Files[name]) {
		return errors.New("the sealed PDF does not begin with the approved document")
	}
	doc, err := v.PDF(c.t.Context(), name, pdf)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if doc.Indication != report.Passed || len(doc.Signatures) != 1 {
		return fmt.Errorf("verify: %s with %d signature(s)", doc.Indication, len(doc.Signatures))
	}
	return nil
}
