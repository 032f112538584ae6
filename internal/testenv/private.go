package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Private servers: a Redis or MinIO server that one test starts for itself,
// on 127.0.0.1 and a free port, and may kill, stop and restart at will —
// which it must never do to the shared services of `make services-up`,
// since other packages' tests use them at the same time. The binaries are
// those `make services-up` installs: redis-server from Debian, MinIO from
// the cache deploy/local/services.sh builds it into. A test whose binary
// is missing is skipped, or fails under CI=true (Missing).
//
// Each server is killed when its test ends, and also when the test
// process dies (Pdeathsig), so that none outlives a crashed test.

// startTimeout bounds the wait for a private server to answer.
const startTimeout = 60 * time.Second

// server is a process listening on 127.0.0.1:port, restartable on the same
// port.
type server struct {
	t    testing.TB
	name string
	log  string   // its output, appended across restarts
	argv []string // command line
	env  []string // extra environment

	mu  sync.Mutex
	cmd *exec.Cmd
}

// RedisServer is a private Redis without persistence: killing it loses
// every key, as the shared development Redis would.
type RedisServer struct {
	// Addr is host:port.
	Addr string
	server
}

// StartRedis starts a private Redis server for the test and stops it when
// the test ends.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	exe, err := exec.LookPath("redis-server")
	if err != nil {
		Missing(t, "redis-server not on PATH (make services-up installs it)")
	}
	dir := t.TempDir()
	r := &RedisServer{server: server{t: t, name: "redis", log: filepath.Join(dir, "redis.log")}}
	r.startOnFreePort(func(port int) []string {
		return []string{exe, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
			"--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no"}
	}, func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }, &r.Addr, r.ready)
	return r
}

func (r *RedisServer) ready(ctx context.Context) error { return pingRedis(ctx, r.Addr) }

// Kill kills the server (SIGKILL) and waits for it to exit: every queued
// task is lost.
func (r *RedisServer) Kill() { r.kill() }

// Restart starts the server again on the same address, empty, and waits
// until it answers.
func (r *RedisServer) Restart() { r.restart(r.ready) }

// MinIOServer is a private MinIO server with one drive, its data in a
// folder of the test's. Its S3 settings have no bucket-event target.
type MinIOServer struct {
	S3 S3
	server
}

// StartMinIO starts a private MinIO server for the test and stops it when
// the test ends.
func StartMinIO(t testing.TB) *MinIOServer {
	t.Helper()
	exe := minioBinary(t)
	dir := t.TempDir()
	m := &MinIOServer{
		S3:     S3{AccessKey: "sealpipe-test", SecretKey: rand.Text(), Region: "us-east-1"},
		server: server{t: t, name: "minio", log: filepath.Join(dir, "minio.log")},
	}
	m.env = []string{"MINIO_ROOT_USER=" + m.S3.AccessKey, "MINIO_ROOT_PASSWORD=" + m.S3.SecretKey,
		"MINIO_UPDATE=off", "MINIO_BROWSER=off", "MINIO_REGION=" + m.S3.Region}
	m.startOnFreePort(func(port int) []string {
		return []string{exe, "server", "--quiet", "--address", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), filepath.Join(dir, "data")}
	}, func(port int) string { return fmt.Sprintf("http://127.0.0.1:%d", port) }, &m.S3.Endpoint, m.ready)
	return m
}

func (m *MinIOServer) ready(ctx context.Context) error { return checkMinIOLive(ctx, m.S3.Endpoint) }

// Kill kills the server (SIGKILL) and waits for it to exit. Its data stays.
func (m *MinIOServer) Kill() { m.kill() }

// Restart starts the server again on the same port and data folder and
// waits until it is live.
func (m *MinIOServer) Restart() { m.restart(m.ready) }

// Stop freezes the server (SIGSTOP): connections are accepted by the
// kernel but nothing answers, as with a hung server or a network
// partition. Continue undoes it.
func (m *MinIOServer) Stop() { m.signal(syscall.SIGSTOP) }

// Continue resumes a server frozen by Stop (SIGCONT).
func (m *MinIOServer) Continue() { m.signal(syscall.SIGCONT) }

// minioVersionLine is the line of deploy/local/services.sh that pins MinIO.
var minioVersionLine = regexp.MustCompile(`(?m)^readonly MINIO_VERSION=(\S+)$`)

// minioBinary returns the path of the MinIO binary deploy/local/services.sh
// builds: ${XDG_CACHE_HOME:-$HOME/.cache}/sealpipe-tools/minio-<version>/minio,
// the version read from the script itself.
func minioBinary(t testing.TB) string {
	t.Helper()
	root, ok := ModuleRoot()
	if !ok {
		Missing(t, "module root not found: cannot read the MinIO version from deploy/local/services.sh")
	}
	script, err := os.ReadFile(filepath.Join(root, "deploy", "local", "services.sh"))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	m := minioVersionLine.FindSubmatch(script)
	if m == nil {
		t.Fatal("testenv: deploy/local/services.sh has no `readonly MINIO_VERSION=…` line")
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			Missing(t, "no home folder for the MinIO cache: %v", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	exe := filepath.Join(cache, "sealpipe-tools", "minio-"+string(m[1]), "minio")
	if fi, err := os.Stat(exe); err != nil || fi.Mode()&0o111 == 0 {
		Missing(t, "MinIO binary %s missing (make services-up builds it)", exe)
	}
	return exe
}

// startOnFreePort starts the server on a free port, retrying on another
// port if one is taken between the check and the start. argv builds the
// command line for a port, addr the address stored into *dst.
func (s *server) startOnFreePort(argv func(port int) []string, addr func(port int) string, dst *string, ready func(context.Context) error) {
	s.t.Helper()
	s.t.Cleanup(s.kill)
	var err error
	for try := 0; try < 5; try++ {
		port := freePort(s.t)
		s.argv, *dst = argv(port), addr(port)
		if err = s.start(ready); err == nil {
			return
		}
	}
	s.t.Fatalf("testenv: private %s does not start: %v\n%s", s.name, err, s.logTail())
}

// freePort picks a port in 20000–31999 that nothing listens on. Like
// deploy/local/services.sh it stays below Linux's ephemeral range, so that
// an outgoing connection cannot take the port while a killed server is
// down, before its restart.
func freePort(t testing.TB) int {
	for range 100 {
		n, err := rand.Int(rand.Reader, big.NewInt(12000))
		if err != nil {
			t.Fatal(err)
		}
		port := 20000 + int(n.Int64())
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("testenv: no free port in 20000–31999")
	return 0
}

// start runs the command and waits until ready answers or the process
// exits.
func (s *server) start(ready func(context.Context) error) error {
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(s.argv, " "))
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		probe, cancelProbe := context.WithTimeout(ctx, probeTimeout)
		err := ready(probe)
		cancelProbe()
		if err == nil {
			// What answered must be this process, not another server that
			// took the port first: a server that cannot bind exits at once.
			select {
			case werr := <-exited:
				s.exited(cmd, werr)
				return fmt.Errorf("%s exited during start-up (%v), yet the port answers: taken by another process", s.name, werr)
			case <-time.After(300 * time.Millisecond):
			}
			go func() { s.exited(cmd, <-exited) }()
			return nil
		}
		select {
		case werr := <-exited:
			s.exited(cmd, werr)
			return fmt.Errorf("%s exited during start-up (%v); last probe: %v", s.name, werr, err)
		case <-ctx.Done():
			cmd.Process.Kill()
			s.exited(cmd, <-exited)
			return fmt.Errorf("%s does not answer after %s: %v", s.name, startTimeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// exited records that the running process ended.
func (s *server) exited(cmd *exec.Cmd, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == cmd {
		s.cmd = nil
	}
	if logf, ferr := os.OpenFile(s.log, os.O_WRONLY|os.O_APPEND, 0o600); ferr == nil {
		fmt.Fprintf(logf, "--- %s: exited: %v\n", time.Now().Format(time.RFC3339Nano), err)
		logf.Close()
	}
}

// kill kills the process and waits until it is gone.
func (s *server) kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGCONT) // a stopped process dies only once continued
	cmd.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		gone := s.cmd != cmd
		s.mu.Unlock()
		if gone {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Errorf("testenv: private %s (pid %d) still runs 10s after SIGKILL", s.name, cmd.Process.Pid)
}

// restart starts the stopped server again with the same command line.
// The port may be held for a moment by the old socket: it retries.
func (s *server) restart(ready func(context.Context) error) {
	s.t.Helper()
	s.kill()
	var err error
	for try := 0; try < 5; try++ {
		if err = s.start(ready); err == nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	s.t.Fatalf("testenv: private %s does not restart: %v\n%s", s.name, err, s.logTail())
}

func (s *server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatalf("testenv: private %s is not running", s.name)
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Fatalf("testenv: signal %v to %s: %v", sig, s.name, err)
	}
	// A signal is delivered when the process next runs in the kernel: on a
	// busy machine a server may answer a request after SIGSTOP returned.
	// Wait until every thread is stopped (or none is).
	switch sig {
	case syscall.SIGSTOP, syscall.SIGCONT:
		want := sig == syscall.SIGSTOP
		deadline := time.Now().Add(10 * time.Second)
		for stopped(cmd.Process.Pid) != want {
			if time.Now().After(deadline) {
				s.t.Fatalf("testenv: %s did not %s within 10 s", s.name, map[bool]string{true: "stop", false: "resume"}[want])
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// stopped reports whether every thread of process pid is stopped (state
// T in /proc/<pid>/task/<tid>/stat, proc(5)).
func stopped(pid int) bool {
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if len(stats) == 0 {
		return false
	}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			return false
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
			return false
		}
	}
	return true
}

// logTail returns the end of the server's output, for failure messages.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
