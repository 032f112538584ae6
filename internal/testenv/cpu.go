package testenv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// which Linux fixes at 100 for user space).
const clockTick = 10 * time.Millisecond

// ServerCPU returns the CPU time, user and system, that the service name
// ("minio", "redis") started by `make services-up` has used so far, read
// from /proc (proc(5)) by the PID in its state folder. ok is false where
// that cannot be told: not Linux, services not started by services.sh.
// Benchmarks report the difference over a run, so that a figure bound by
// a server's own work says so.
func ServerCPU(name string) (cpu time.Duration, ok bool) {
	s, err := readSettings()
	if err != nil {
		return 0, false
	}
	dir, _, ok := s.get(envServicesDir)
	if !ok {
		return 0, false
	}
	pid, err := os.ReadFile(filepath.Join(dir, name+".pid"))
	if err != nil {
		return 0, false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%s/stat", strings.TrimSpace(string(pid))))
	if err != nil {
		return 0, false
	}
	return statCPU(stat)
}

// statCPU returns utime + stime from the content of a /proc/<pid>/stat
// file: fields 14 and 15, counted after the command name, which is in
// parentheses and may hold spaces and parentheses itself.
func statCPU(stat []byte) (time.Duration, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	// The fields after ")" begin with field 3 (state).
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * clockTick, true
}
