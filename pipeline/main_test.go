package pipeline_test

import (
	"os"
	"testing"
)

var tempDirs []string

func tempDir() (string, error) {
	d, err := os.MkdirTemp("", "sealpipe-pipeline-test-*")
	if err == nil {
		tempDirs = append(tempDirs, d)
	}
	return d, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// longTable skips a long table of cases under -short. The race pass of
// make test (-race -short: the race detector slows the pipeline's tests
// sixfold) leaves these tables, which add cases rather than concurrency,
// to the main pass, which runs every test.
func longTable(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("a long table of cases: the main pass of make test runs it; -short, as in the race pass, leaves it out")
	}
}
