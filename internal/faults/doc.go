// Package faults holds sealpipe's fault-injection tests: batches of 500
// documents sealed by real `sealpipe run` processes against a Redis and a
// MinIO server that each test starts for itself (testenv.StartRedis,
// testenv.StartMinIO), while a worker is killed with SIGKILL, Redis is
// killed and restarted empty, MinIO is frozen or killed for 20 seconds, or
// several workers race on the same batch. After each, every document must
// have exactly one outcome — a sealed PDF that verifies, its report and one
// usage record, or a rejection record — and the batch report must count
// them. A memory test seals eight large documents at once and bounds the
// worker's peak RSS by its memory budget.
//
// The servers are private because the tests kill them: the shared services
// of `make services-up` serve other packages' tests at the same time. The
// tests take minutes; `go test -short` skips them.
//
// The package has no code besides its tests.
package faults
