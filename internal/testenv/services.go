package testenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The settings deploy/local/services.sh writes to .services.env; `make test`
// exports them, and tests run by a plain `go test` read the file instead.
const (
	envRedisAddr   = "SEALPIPE_REDIS_ADDR"
	envS3Endpoint  = "SEALPIPE_S3_ENDPOINT"
	envS3AccessKey = "SEALPIPE_S3_ACCESS_KEY"
	envS3SecretKey = "SEALPIPE_S3_SECRET_KEY"
	envS3Region    = "SEALPIPE_S3_REGION"
	envS3EventsARN = "SEALPIPE_S3_EVENTS_ARN"
	envS3EventsKey = "SEALPIPE_S3_EVENTS_KEY"
	envDept        = "SEALPIPE_DEPT"
	envDeptBucket  = "SEALPIPE_DEPT_BUCKET"
	envDeptAccess  = "SEALPIPE_DEPT_ACCESS_KEY"
	envDeptSecret  = "SEALPIPE_DEPT_SECRET_KEY"
	envPKCS11Mod   = "SEALPIPE_PKCS11_MODULE"
	envSoftHSMConf = "SOFTHSM2_CONF"
	envPKCS11Token = "SEALPIPE_PKCS11_TOKEN"
	envPKCS11PIN   = "SEALPIPE_PKCS11_PIN"
	envPKCS11SOPIN = "SEALPIPE_PKCS11_SO_PIN"
	envToolsDir    = "SEALPIPE_TOOLS_DIR"
	envDeptRemote  = "SEALPIPE_DEPT_REMOTE"
	// envServicesDir is where services.sh keeps the state of the services
	// it started, their PID files among it (ServerCPU).
	envServicesDir = "SEALPIPE_SERVICES_DIR"
)

// servicesEnvFile is the name, at the module root, of the file
// `make services-up` writes its connection settings to.
const servicesEnvFile = ".services.env"

// servicesEnvPath returns where .services.env is, for reading and messages.
func servicesEnvPath() (path string, ok bool) {
	root, ok := ModuleRoot()
	if !ok {
		return servicesEnvFile, false
	}
	return filepath.Join(root, servicesEnvFile), true
}

// probeTimeout bounds each liveness probe of a service.
const probeTimeout = 5 * time.Second

// S3 is how to reach the MinIO server started by `make services-up`.
type S3 struct {
	// Endpoint is the server's base URL, such as "http://127.0.0.1:30486"
	// (a host:port setting is returned as http://host:port). minio-go
	// wants Host() and Secure() instead.
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
	// EventsARN is the bucket-notification target, such as
	// "arn:minio:sqs::SEALPIPE:redis": MinIO pushes the events of buckets
	// configured with it, in its "access" format, onto the Redis list
	// EventsKey of the Redis server that Redis returns.
	EventsARN string
	EventsKey string
	// Dept is the department user `make services-up` grants with
	// `sealpipe access grant`; zero when .services.env has none (use
	// MinIODept to require it).
	Dept Dept
}

// Dept is a department's own MinIO credentials: its user may upload to
// inbox/<Name>/ of Bucket and read its own folders, nothing else.
type Dept struct {
	Name      string // the department, such as "civil-affairs"
	Bucket    string // the bucket its policy names, such as "sealpipe"
	AccessKey string
	SecretKey string
}

// AsDept returns s with the department's credentials in place of the
// service's, for S3 tools that take an S3 (rclone, s3cmd, minio-go).
func (s S3) AsDept() S3 {
	s.AccessKey, s.SecretKey = s.Dept.AccessKey, s.Dept.SecretKey
	return s
}

// Host returns the endpoint's host:port, the form minio-go's New takes.
func (s S3) Host() string {
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		return s.Endpoint
	}
	return u.Host
}

// Secure reports whether the endpoint uses TLS.
func (s S3) Secure() bool { return strings.HasPrefix(s.Endpoint, "https://") }

// PKCS11 is how to reach the SoftHSM2 token set up by `make services-up`.
type PKCS11 struct {
	Module string // path of the PKCS#11 library, libsofthsm2.so
	Conf   string // SoftHSM2 configuration file (SOFTHSM2_CONF)
	Token  string // token label
	PIN    string // user PIN
	SOPIN  string // security officer PIN
}

// Env returns the environment a child process such as pkcs11-tool needs to
// see the token: the current environment with SOFTHSM2_CONF set to p.Conf.
func (p PKCS11) Env() []string {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envSoftHSMConf+"=") {
			env = append(env, kv)
		}
	}
	return append(env, envSoftHSMConf+"="+p.Conf)
}

// Redis returns the address (host:port) of the Redis server started by
// `make services-up`, after checking that it answers PING.
func Redis(t testing.TB) string {
	t.Helper()
	return redisFrom(t, loadSettings(t))
}

// MinIO returns the settings of the MinIO server started by
// `make services-up`, after checking that its liveness endpoint answers.
func MinIO(t testing.TB) S3 {
	t.Helper()
	return minioFrom(t, loadSettings(t))
}

// MinIODept is MinIO with the department user `make services-up` grants
// (S3.Dept) required: the test is skipped, or fails under CI, when
// .services.env predates it.
func MinIODept(t testing.TB) S3 {
	t.Helper()
	return minioDeptFrom(t, loadSettings(t))
}

// S3Tools is the configuration of S3 tools that `make services-up` writes
// for the department user (S3.Dept).
type S3Tools struct {
	// Dir holds rclone.conf and s3cfg, and aws-config, aws-credentials
	// and mc/config.json when the AWS CLI and mc were installed.
	Dir string
	// Remote names the department's rclone remote, AWS CLI profile and
	// mc alias.
	Remote string
}

// MinIOTools returns the department's MinIO settings (as MinIODept) and
// the S3 tools' configuration: the test is skipped, or fails under CI,
// when .services.env predates it or its folder is gone.
func MinIOTools(t testing.TB) (S3, S3Tools) {
	t.Helper()
	s := loadSettings(t)
	s3 := minioDeptFrom(t, s)
	v := s.require(t, "the S3 tools' configuration", envToolsDir, envDeptRemote)
	tools := S3Tools{Dir: v[envToolsDir], Remote: v[envDeptRemote]}
	if !isDir(tools.Dir) {
		s.unreachable(t, envToolsDir, "the S3 tools' configuration folder %s does not exist", tools.Dir)
	}
	return s3, tools
}

// SoftHSM returns the settings of the SoftHSM2 token prepared by
// `make services-up`, after checking that the module and its configuration
// exist.
//
// SoftHSM2 reads SOFTHSM2_CONF from the process environment when the module
// is initialised, so if the settings came from .services.env, SoftHSM sets
// that variable for the whole test process (t.Setenv cannot be used by
// parallel tests). The value is the same for every caller.
func SoftHSM(t testing.TB) PKCS11 {
	t.Helper()
	p := softHSMFrom(t, loadSettings(t))
	if os.Getenv(envSoftHSMConf) != p.Conf {
		if err := os.Setenv(envSoftHSMConf, p.Conf); err != nil {
			t.Fatalf("setting %s: %v", envSoftHSMConf, err)
		}
	}
	return p
}

func redisFrom(t testing.TB, s settings) string {
	t.Helper()
	v := s.require(t, "Redis", envRedisAddr)
	addr := v[envRedisAddr]
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	if err := pingRedis(ctx, addr); err != nil {
		s.unreachable(t, envRedisAddr, "Redis at %s does not answer: %v", addr, err)
	}
	return addr
}

// Shared returns the settings of the shared MinIO server and SoftHSM2
// token for a program that is not a test, such as the leftover check of
// `make test` (internal/testenv/cmd/leftovers): read as MinIO and SoftHSM
// read them, from the environment first, then .services.env, but without
// probing the services. Any setting unset is an error.
func Shared() (S3, PKCS11, error) {
	s, err := readSettings()
	if err != nil {
		return S3{}, PKCS11{}, err
	}
	v, unset := s.lookup(append(slices.Clone(minioNames), softHSMNames...)...)
	if len(unset) > 0 {
		return S3{}, PKCS11{}, fmt.Errorf("%s unset and not in %s (run `make services-up`)", strings.Join(unset, ", "), s.filePath)
	}
	s3, err := s.s3(v)
	return s3, pkcs11Of(v), err
}

// The settings of MinIO and of SoftHSM2, all required.
var (
	minioNames   = []string{envS3Endpoint, envS3AccessKey, envS3SecretKey, envS3Region, envS3EventsARN, envS3EventsKey}
	softHSMNames = []string{envPKCS11Mod, envSoftHSMConf, envPKCS11Token, envPKCS11PIN, envPKCS11SOPIN}
)

func minioFrom(t testing.TB, s settings) S3 {
	t.Helper()
	s3, err := s.s3(s.require(t, "MinIO", minioNames...))
	if err != nil {
		s.unreachable(t, envS3Endpoint, "MinIO: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	if err := checkMinIOLive(ctx, s3.Endpoint); err != nil {
		s.unreachable(t, envS3Endpoint, "MinIO at %s is not live: %v", s3.Endpoint, err)
	}
	return s3
}

func minioDeptFrom(t testing.TB, s settings) S3 {
	t.Helper()
	s.require(t, "MinIO's department user", envDept, envDeptBucket, envDeptAccess, envDeptSecret)
	return minioFrom(t, s)
}

// s3 returns the MinIO settings of v, the values of minioNames, with the
// department's when they are set.
func (s settings) s3(v map[string]string) (S3, error) {
	endpoint, err := normalizeEndpoint(v[envS3Endpoint])
	if err != nil {
		return S3{}, err
	}
	s3 := S3{
		Endpoint:  endpoint,
		AccessKey: v[envS3AccessKey],
		SecretKey: v[envS3SecretKey],
		Region:    v[envS3Region],
		EventsARN: v[envS3EventsARN],
		EventsKey: v[envS3EventsKey],
	}
	name, _, _ := s.get(envDept)
	bucket, _, _ := s.get(envDeptBucket)
	access, _, _ := s.get(envDeptAccess)
	secret, _, _ := s.get(envDeptSecret)
	s3.Dept = Dept{Name: name, Bucket: bucket, AccessKey: access, SecretKey: secret}
	return s3, nil
}

// pkcs11Of returns the SoftHSM2 settings of v, the values of softHSMNames.
func pkcs11Of(v map[string]string) PKCS11 {
	return PKCS11{
		Module: v[envPKCS11Mod],
		Conf:   v[envSoftHSMConf],
		Token:  v[envPKCS11Token],
		PIN:    v[envPKCS11PIN],
		SOPIN:  v[envPKCS11SOPIN],
	}
}

func softHSMFrom(t testing.TB, s settings) PKCS11 {
	t.Helper()
	p := pkcs11Of(s.require(t, "SoftHSM2", softHSMNames...))
	for _, f := range []struct{ name, path string }{{envPKCS11Mod, p.Module}, {envSoftHSMConf, p.Conf}} {
		if fi, err := os.Stat(f.path); err != nil || !fi.Mode().IsRegular() {
			s.unreachable(t, f.name, "SoftHSM2: %s=%q is not a file", f.name, f.path)
		}
	}
	return p
}

// errNotReady means a service was reached but gave the wrong answer.
var errNotReady = errors.New("service not ready")

// pingRedis sends PING to the Redis server at addr over a plain TCP
// connection (RESP, no client library) and expects +PONG.
func pingRedis(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(probeTimeout)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	if _, err := io.WriteString(conn, "*1\r\n$4\r\nPING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(conn, 512)).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the reply to PING: %w", err)
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("%w: PING answered %q", errNotReady, line)
	}
	return nil
}

// normalizeEndpoint returns an S3 endpoint as a base URL without a trailing
// slash. It accepts a URL (http or https) or host:port, which means http, as
// sealpipe's own SEALPIPE_S3_ENDPOINT does.
func normalizeEndpoint(endpoint string) (string, error) {
	if u, err := url.Parse(endpoint); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		if u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
			return "", fmt.Errorf("S3 endpoint %q: want a base URL such as http://127.0.0.1:9000", endpoint)
		}
		return u.Scheme + "://" + u.Host, nil
	}
	if host, port, err := net.SplitHostPort(endpoint); err == nil && host != "" && port != "" && !strings.ContainsAny(endpoint, "/?#@") {
		return "http://" + endpoint, nil
	}
	return "", fmt.Errorf("S3 endpoint %q: want http(s)://host:port or host:port", endpoint)
}

// checkMinIOLive asks MinIO's liveness endpoint (/minio/health/live) under
// endpoint, a base URL as normalizeEndpoint returns, and expects 200 OK.
func checkMinIOLive(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/minio/health/live", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s: %s", errNotReady, req.URL, resp.Status)
	}
	return nil
}

// settings looks each name up in the environment first, then in the
// .services.env file.
type settings struct {
	lookupEnv func(string) (string, bool)
	file      map[string]string
	filePath  string // for messages
}

// source says where get found name: "the environment" or the file.
func (s settings) get(name string) (value, source string, ok bool) {
	if v, ok := s.lookupEnv(name); ok && v != "" {
		return v, "the environment", true
	}
	if v, ok := s.file[name]; ok && v != "" {
		return v, s.filePath, true
	}
	return "", "", false
}

// require returns the values of names, or reports the service as Missing
// listing every unset name.
func (s settings) require(t testing.TB, service string, names ...string) map[string]string {
	t.Helper()
	v, unset := s.lookup(names...)
	if len(unset) > 0 {
		Missing(t, "%s is not configured: %s unset and not in %s (run `make services-up`)",
			service, strings.Join(unset, ", "), s.filePath)
	}
	return v
}

// lookup returns the values of names, and those of names that are unset.
func (s settings) lookup(names ...string) (v map[string]string, unset []string) {
	v = make(map[string]string, len(names))
	for _, n := range names {
		if x, _, ok := s.get(n); ok {
			v[n] = x
		} else {
			unset = append(unset, n)
		}
	}
	return v, unset
}

// unreachable reports a configured service that does not answer. Settings
// taken from the environment were asked for explicitly: the test fails.
// Settings from .services.env may be stale (services stopped, machine
// rebooted): the service counts as Missing.
func (s settings) unreachable(t testing.TB, name, format string, args ...any) {
	t.Helper()
	_, source, _ := s.get(name)
	msg := fmt.Sprintf(format, args...) + fmt.Sprintf(" (%s from %s; run `make services-up`)", name, source)
	if source == "the environment" {
		t.Fatal(msg)
	}
	Missing(t, "%s", msg)
}

// servicesFile caches .services.env for the test process.
var servicesFile = sync.OnceValues(func() (map[string]string, error) {
	path, ok := servicesEnvPath()
	if !ok {
		return nil, nil
	}
	return readEnvFile(path)
})

func loadSettings(t testing.TB) settings {
	t.Helper()
	s, err := readSettings()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readSettings returns the settings of the environment and .services.env.
func readSettings() (settings, error) {
	file, err := servicesFile()
	if err != nil {
		return settings{}, fmt.Errorf("%v (delete it and run `make services-up`)", err)
	}
	path, _ := servicesEnvPath()
	return settings{lookupEnv: os.LookupEnv, file: file, filePath: path}, nil
}

// readEnvFile parses the file at path; a missing file is empty, not an error.
func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	vars, err := parseEnvFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return vars, nil
}

// errEnvSyntax means a line of .services.env is not a shell assignment of
// the form services.sh writes.
var errEnvSyntax = errors.New("not a shell assignment")

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseEnvFile parses the lines deploy/local/services.sh writes: blank lines,
// # comments and `[export ]NAME=VALUE`, where VALUE is a concatenation of
// 'single-quoted' text, backslash-escaped characters and plain characters.
// That is the subset of POSIX shell quoting (XCU §2.2) the script emits; no
// expansion happens, so a line using $, ` or " is rejected rather than read
// differently from the shell.
func parseEnvFile(b []byte) (map[string]string, error) {
	vars := make(map[string]string)
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		stmt := strings.TrimPrefix(line, "export ")
		name, raw, ok := strings.Cut(stmt, "=")
		if !ok || !envName.MatchString(name) {
			return nil, fmt.Errorf("line %d: %w: %q", i+1, errEnvSyntax, line)
		}
		value, err := unquoteShell(raw)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w: %s in %q", i+1, errEnvSyntax, err, line)
		}
		vars[name] = value
	}
	return vars, nil
}

// unquoteShell undoes the single-quote and backslash quoting of one shell word.
func unquoteShell(s string) (string, error) {
	var out bytes.Buffer
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", errors.New("unterminated single quote")
			}
			out.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case '\\':
			if i+1 == len(s) {
				return "", errors.New("trailing backslash")
			}
			i++
			out.WriteByte(s[i])
		case '"', '$', '`', ' ', '\t', ';', '&', '|', '<', '>', '(', ')':
			return "", fmt.Errorf("unsupported shell syntax %q", c)
		default:
			out.WriteByte(c)
		}
	}
	return out.String(), nil
}

// ExclusiveEvents serialises the tests, across test processes, that consume
// or expect events from the one bucket-events list MinIO pushes to: a
// bridge under test pops every event, including those another package's
// test waits for. It holds an exclusive flock until the test ends.
func ExclusiveEvents(t testing.TB) {
	t.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("sealpipe-test-events-%d.lock", os.Getuid()))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("testenv: events lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("testenv: events lock: %v", err)
	}
	t.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}
