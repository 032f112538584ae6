package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testenv"
)

// BenchmarkEndToEnd is issue 11's end-to-end figure on the servers of
// make services-up: b.N certificates made by `sealpipe batch make`,
// uploaded into MinIO by `sealpipe batch upload` and sealed by `sealpipe
// run --once` through Redis-backed Asynq, with a software SM2 key. It
// reports docs/s from the first upload to the batch report, the way a
// service hall sees it, and, where the servers' CPU time can be read
// (testenv.ServerCPU), MinIO's per document over the same span
// (minio-cpu-ms/doc) and in the upload alone (upload-minio-cpu-ms/doc):
// with both cores shared, 2 s over the first bounds docs/s whatever
// sealpipe does, and over twice the second (the upload and the sealed
// output are a PUT each) whatever it does with fewer objects. Run it with
// a fixed count:
//
//	make bench BENCH=BenchmarkEndToEnd BENCHTIME=10000x
func BenchmarkEndToEnd(b *testing.B) {
	servicesEnv(b)
	mustRun(b, "ca", "init")
	const code = "33010200000088"
	mustRun(b, "seals", "make", "--unit", "civil-affairs", "--dept", demo.Department, "--code", code,
		"--purpose", "业务专用章", "--approver", demo.Approver)
	batch := fmt.Sprintf("bench-%d", b.N)
	dir := filepath.Join(b.TempDir(), batch)
	mustRun(b, "batch", "make", "--docs", fmt.Sprint(b.N), "--out", dir, "--batch", batch, "--seal", code)

	b.ResetTimer()
	minioBefore, minioKnown := testenv.ServerCPU("minio")
	start := time.Now()
	mustRun(b, "batch", "upload", dir)
	uploaded := time.Since(start)
	minioUploaded, _ := testenv.ServerCPU("minio")
	out := mustRun(b, "--json", "run", "--once", "--timeout", "30m")
	elapsed := time.Since(start)
	minioAfter, _ := testenv.ServerCPU("minio")
	b.StopTimer()

	var runs []engine.BatchResult
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		b.Fatalf("run --once --json: %v\n%s", err, out)
	}
	if len(runs) != 1 || runs[0].Sealed != b.N || runs[0].Rejected != 0 {
		b.Fatalf("run --once: want %d sealed, none rejected:\n%s", b.N, strings.TrimSpace(out))
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "docs/s")
	b.ReportMetric(float64(b.N)/uploaded.Seconds(), "upload-docs/s")
	if minioKnown {
		perDoc := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
		b.ReportMetric(perDoc(minioAfter-minioBefore), "minio-cpu-ms/doc")
		b.ReportMetric(perDoc(minioUploaded-minioBefore), "upload-minio-cpu-ms/doc")
	}
}
