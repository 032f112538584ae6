package testenv

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestServerCPU reads this test process as if services.sh had started it:
// what it reports agrees with what getrusage(2) says of the process.
func TestServerCPU(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "self.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envServicesDir, dir)
	if _, ok := ServerCPU("absent"); ok {
		t.Error("ServerCPU of a service without a PID file: ok")
	}
	sum := sha256.Sum256(nil)
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
		sum = sha256.Sum256(sum[:])
	}
	got, ok := ServerCPU("self")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	want := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	// /proc counts in ticks and getrusage ran after it.
	if !ok || got > want+2*clockTick || got < want-5*clockTick {
		t.Errorf("ServerCPU(self) = %v, %v; getrusage says %v", got, ok, want)
	}
}
