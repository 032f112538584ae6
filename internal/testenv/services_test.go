package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"
	"github.com/redis/go-redis/v9"
)

// ---------------------------------------------------------------- the real services

func TestRedis(t *testing.T) {
	addr := Redis(t)
	ctx := t.Context()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })

	if got, err := rdb.Ping(ctx).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v; want PONG", got, err)
	}
	key, want := "sealpipe:testenv:"+randomID(8), randomID(16)
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	if err := rdb.Set(ctx, key, want, time.Minute).Err(); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
	if got, err := rdb.Get(ctx, key).Result(); err != nil || got != want {
		t.Fatalf("GET %s = %q, %v; want %q", key, got, err, want)
	}
}

// TestMinIO checks the S3 API and the bucket-event path the pipeline relies
// on: a bucket configured with EventsARN gets each upload's event pushed onto
// the Redis list EventsKey.
func TestMinIO(t *testing.T) {
	s3 := MinIO(t)
	addr := Redis(t)
	ExclusiveEvents(t) // a bridge test elsewhere would pop our event
	ctx := t.Context()

	mc, err := minio.New(s3.Host(), &minio.Options{
		Creds:  credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""),
		Secure: s3.Secure(),
		Region: s3.Region,
	})
	if err != nil {
		t.Fatalf("minio.New(%q): %v", s3.Endpoint, err)
	}
	bucket := Bucket(t, s3)

	// Plain object round trip.
	body := []byte("sealpipe testenv " + randomID(16))
	if _, err := mc.PutObject(ctx, bucket, "plain.txt", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	obj, err := mc.GetObject(ctx, bucket, "plain.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GetObject read %q, %v; want %q", got, err, body)
	}

	// Bucket events through the Redis target.
	arn, err := notification.NewArnFromString(s3.EventsARN)
	if err != nil {
		t.Fatalf("events ARN %q: %v", s3.EventsARN, err)
	}
	queue := notification.NewConfig(arn)
	queue.AddEvents(notification.ObjectCreatedAll)
	var cfg notification.Configuration
	cfg.AddQueue(queue)
	if err := mc.SetBucketNotification(ctx, bucket, cfg); err != nil {
		t.Fatalf("SetBucketNotification(%s → %s): %v", bucket, s3.EventsARN, err)
	}

	key := "inbox/县政府/doc 1.pdf" // keys arrive URL-encoded in events
	up, err := mc.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "application/pdf"})
	if err != nil {
		t.Fatalf("PutObject %q: %v", key, err)
	}

	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ev, err := takeEvent(waitCtx, rdb, s3.EventsKey, bucket)
	if err != nil {
		t.Fatalf("no event for bucket %s on Redis list %q: %v", bucket, s3.EventsKey, err)
	}
	if ev.EventName != "s3:ObjectCreated:Put" {
		t.Errorf("eventName = %q, want s3:ObjectCreated:Put", ev.EventName)
	}
	if k, err := url.QueryUnescape(ev.S3.Object.Key); err != nil || k != key {
		t.Errorf("object key %q decodes to %q, %v; want %q", ev.S3.Object.Key, k, err, key)
	}
	if ev.S3.Object.ETag != up.ETag || ev.S3.Object.Size != int64(len(body)) {
		t.Errorf("event object eTag %q size %d; uploaded eTag %q size %d",
			ev.S3.Object.ETag, ev.S3.Object.Size, up.ETag, len(body))
	}
}

// TestMinIODept checks the department user `make services-up` grants:
// it may upload to its own inbox in its bucket, and not to registry/ or
// another department's inbox, nor list the bucket.
func TestMinIODept(t *testing.T) {
	s3 := MinIODept(t)
	ctx := t.Context()
	d := s3.Dept
	root, err := minio.New(s3.Host(), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Secure: s3.Secure(), Region: s3.Region})
	if err != nil {
		t.Fatal(err)
	}
	dept, err := minio.New(s3.Host(), &minio.Options{Creds: credentials.NewStaticV4(d.AccessKey, d.SecretKey, ""), Secure: s3.Secure(), Region: s3.Region})
	if err != nil {
		t.Fatal(err)
	}
	batch := "testenv-" + randomID(6)
	tests := []struct {
		key     string
		allowed bool
	}{
		{"inbox/" + d.Name + "/" + batch + "/probe.pdf", true},
		{"inbox/" + d.Name + "-other/" + batch + "/probe.pdf", false},
		{"registry/" + batch + "/probe.json", false},
		{"sealed/" + d.Name + "/" + batch + "/probe.pdf", false},
	}
	for _, tt := range tests {
		body := []byte("probe")
		_, err := dept.PutObject(ctx, d.Bucket, tt.key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		if err == nil {
			t.Cleanup(func() { root.RemoveObject(context.Background(), d.Bucket, tt.key, minio.RemoveObjectOptions{}) })
		}
		if allowed := err == nil; allowed != tt.allowed {
			t.Errorf("department %s put %s: %v; want allowed %v", d.Name, tt.key, err, tt.allowed)
		} else if err != nil && minio.ToErrorResponse(err).Code != "AccessDenied" {
			t.Errorf("department %s put %s: %v; want AccessDenied", d.Name, tt.key, err)
		}
	}
	var listErr error
	for obj := range dept.ListObjects(ctx, d.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		listErr = obj.Err
		break
	}
	if minio.ToErrorResponse(listErr).Code != "AccessDenied" {
		t.Errorf("department %s listing the whole bucket: %v; want AccessDenied", d.Name, listErr)
	}
}

func TestSoftHSM(t *testing.T) {
	p := SoftHSM(t)
	tool := Tool(t, "pkcs11-tool")

	out := pkcs11Tool(t, tool, p, "--module", p.Module, "-L")
	label := regexp.MustCompile(`(?m)^\s*token label\s*:\s*` + regexp.QuoteMeta(p.Token) + `\s*$`)
	if !label.MatchString(out) {
		t.Fatalf("pkcs11-tool -L does not list token %q:\n%s", p.Token, out)
	}
	// The user PIN opens the token (listing objects needs a login).
	pkcs11Tool(t, tool, p, "--module", p.Module, "--token-label", p.Token, "--login", "--pin", p.PIN, "--list-objects")
}

func pkcs11Tool(t *testing.T, tool string, p PKCS11, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), tool, args...)
	cmd.Env = p.Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// s3Event is the part of a MinIO event record the test checks.
type s3Event struct {
	EventName string `json:"eventName"`
	S3        struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
			ETag string `json:"eTag"`
		} `json:"object"`
	} `json:"s3"`
}

// takeEvent waits for an event of bucket on the Redis list key and removes
// it. The list is shared by every bucket configured with the events ARN,
// and other packages' tests consume it at the same time, so this looks
// without popping (LRANGE) and removes only its own entry (LREM): a BLPOP
// here could take and lose another test's event.
func takeEvent(ctx context.Context, rdb *redis.Client, key, bucket string) (s3Event, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		items, err := rdb.LRange(ctx, key, 0, -1).Result()
		if err != nil {
			return s3Event{}, err
		}
		for _, item := range items {
			// MinIO's "access" format: [{"Event":[record],"EventTime":"…"}].
			var entries []struct{ Event []s3Event }
			if json.Unmarshal([]byte(item), &entries) != nil {
				continue // someone else's garbage: not ours to judge
			}
			for _, e := range entries {
				for _, rec := range e.Event {
					if rec.S3.Bucket.Name == bucket {
						if err := rdb.LRem(ctx, key, 1, item).Err(); err != nil {
							return s3Event{}, err
						}
						return rec, nil
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return s3Event{}, fmt.Errorf("%w (the list holds %d other entries)", ctx.Err(), len(items))
		case <-tick.C:
		}
	}
}

// ---------------------------------------------------------------- settings and probes

func TestSettingsGet(t *testing.T) {
	const file = "/repo/.services.env"
	tests := []struct {
		name       string
		env, vars  map[string]string
		wantValue  string
		wantSource string
		wantOK     bool
	}{
		{"environment wins", map[string]string{"X": "env"}, map[string]string{"X": "file"}, "env", "the environment", true},
		{"file when unset", nil, map[string]string{"X": "file"}, "file", file, true},
		{"empty env falls back", map[string]string{"X": ""}, map[string]string{"X": "file"}, "file", file, true},
		{"absent", nil, map[string]string{"Y": "file"}, "", "", false},
		{"no file", nil, nil, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings{lookupEnv: mapLookup(tt.env), file: tt.vars, filePath: file}
			v, src, ok := s.get("X")
			if v != tt.wantValue || src != tt.wantSource || ok != tt.wantOK {
				t.Errorf("get(X) = %q, %q, %v; want %q, %q, %v", v, src, ok, tt.wantValue, tt.wantSource, tt.wantOK)
			}
		})
	}
}

// TestServiceOutcomes checks what a test that asks for a service sees:
// the settings when it answers, a skip when it is not configured or
// .services.env is stale, and a failure when the environment names a
// service that does not answer.
func TestServiceOutcomes(t *testing.T) {
	t.Setenv("CI", "") // Missing must skip here, whatever the caller's CI is

	live := fakeRedis(t, "+PONG\r\n")
	noauth := fakeRedis(t, "-NOAUTH Authentication required.\r\n")
	closed := closedPort(t)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/minio/health/live" {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(healthy.Close)
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(sick.Close)
	module := filepath.Join(t.TempDir(), "libsofthsm2.so")
	if err := os.WriteFile(module, []byte("\x7fELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	minioVars := func(endpoint string) map[string]string {
		return map[string]string{
			envS3Endpoint: endpoint, envS3AccessKey: "a", envS3SecretKey: "s", envS3Region: "us-east-1",
			envS3EventsARN: "arn:minio:sqs::SEALPIPE:redis", envS3EventsKey: "k",
		}
	}
	hsmVars := func(mod string) map[string]string {
		return map[string]string{envPKCS11Mod: mod, envSoftHSMConf: module, envPKCS11Token: "t", envPKCS11PIN: "1", envPKCS11SOPIN: "2"}
	}
	deptVars := func(endpoint string) map[string]string {
		v := minioVars(endpoint)
		v[envDept], v[envDeptBucket], v[envDeptAccess], v[envDeptSecret] = "civil-affairs", "sealpipe", "sealpipe_sealpipe_civil-affairs", "d"
		return v
	}
	redisCall := func(tb testing.TB, s settings) { redisFrom(tb, s) }
	minioCall := func(tb testing.TB, s settings) { minioFrom(tb, s) }
	deptCall := func(tb testing.TB, s settings) {
		got := minioDeptFrom(tb, s)
		want := Dept{Name: "civil-affairs", Bucket: "sealpipe", AccessKey: "sealpipe_sealpipe_civil-affairs", SecretKey: "d"}
		if got.Dept != want || got.AsDept().AccessKey != want.AccessKey || got.AsDept().SecretKey != "d" || got.AccessKey != "a" {
			tb.Fatalf("MinIODept = %+v; want Dept %+v", got, want)
		}
	}
	hsmCall := func(tb testing.TB, s settings) { softHSMFrom(tb, s) }

	tests := []struct {
		name      string
		call      func(testing.TB, settings)
		env, file map[string]string
		want      outcome
		wantMsg   string // substring of the skip or failure message
	}{
		{"redis live via env", redisCall, map[string]string{envRedisAddr: live}, nil, passed, ""},
		{"redis live via file", redisCall, nil, map[string]string{envRedisAddr: live}, passed, ""},
		{"redis unconfigured", redisCall, nil, nil, skipped, envRedisAddr + " unset"},
		{"redis env down", redisCall, map[string]string{envRedisAddr: closed}, nil, failed, "from the environment"},
		{"redis file stale", redisCall, nil, map[string]string{envRedisAddr: closed}, skipped, "from /repo/.services.env"},
		{"redis wrong reply", redisCall, map[string]string{envRedisAddr: noauth}, nil, failed, `"-NOAUTH Authentication required.\r\n"`},
		{"minio live", minioCall, minioVars(healthy.URL), nil, passed, ""},
		{"minio partly configured", minioCall, map[string]string{envS3Endpoint: healthy.URL}, nil, skipped, envS3AccessKey + ", "},
		{"minio unhealthy", minioCall, minioVars(sick.URL), nil, failed, "503"},
		{"minio endpoint host:port", minioCall, minioVars(strings.TrimPrefix(healthy.URL, "http://")), nil, passed, ""},
		{"minio endpoint with a path", minioCall, minioVars(healthy.URL + "/bucket"), nil, failed, `"` + healthy.URL + `/bucket"`},
		{"minio file stale", minioCall, nil, minioVars(sick.URL), skipped, "not live"},
		{"minio department", deptCall, nil, deptVars(healthy.URL), passed, ""},
		{"minio without department", deptCall, nil, minioVars(healthy.URL), skipped, "department user is not configured: " + envDept + ", "},
		{"minio department down", deptCall, deptVars(sick.URL), nil, failed, "503"},
		{"softhsm present", hsmCall, hsmVars(module), nil, passed, ""},
		{"softhsm module missing", hsmCall, nil, hsmVars("/nonexistent/libsofthsm2.so"), skipped, `"/nonexistent/libsofthsm2.so"`},
		{"softhsm unconfigured", hsmCall, nil, nil, skipped, envPKCS11Mod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings{lookupEnv: mapLookup(tt.env), file: tt.file, filePath: "/repo/.services.env"}
			got, msg := observe(t, func(tb testing.TB) { tt.call(tb, s) })
			if got != tt.want || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("outcome %v %q; want %v containing %q", got, msg, tt.want, tt.wantMsg)
			}
		})
	}
}

func TestMissingFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "true")
	s := settings{lookupEnv: mapLookup(nil), filePath: "/repo/.services.env"}
	got, msg := observe(t, func(tb testing.TB) { redisFrom(tb, s) })
	if got != failed || !strings.Contains(msg, "CI=true") {
		t.Errorf("outcome %v %q; want a failure naming CI=true", got, msg)
	}
}

func TestNormalizeEndpoint(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"https://s3.example.gov.cn/", "https://s3.example.gov.cn"},
		{"127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"[::1]:9000", "http://[::1]:9000"},
		{"http://127.0.0.1:9000/bucket", ""},
		{"http://u:p@127.0.0.1:9000", ""},
		{"ftp://127.0.0.1:9000", ""},
		{"127.0.0.1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := normalizeEndpoint(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("normalizeEndpoint(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.in)) {
			t.Errorf("normalizeEndpoint(%q) error %q does not quote the input", tt.in, err)
		}
	}
}

func TestS3HostSecure(t *testing.T) {
	tests := []struct {
		endpoint, host string
		secure         bool
	}{
		{"http://127.0.0.1:9000", "127.0.0.1:9000", false},
		{"https://s3.example.gov.cn", "s3.example.gov.cn", true},
		{"https://[::1]:9443/", "[::1]:9443", true},
	}
	for _, tt := range tests {
		s := S3{Endpoint: tt.endpoint}
		if s.Host() != tt.host || s.Secure() != tt.secure {
			t.Errorf("S3{%q}: Host %q Secure %v; want %q %v", tt.endpoint, s.Host(), s.Secure(), tt.host, tt.secure)
		}
	}
}

func TestPKCS11Env(t *testing.T) {
	t.Setenv(envSoftHSMConf, "/etc/softhsm/softhsm2.conf")
	env := PKCS11{Conf: "/tmp/x/softhsm2.conf"}.Env()
	var confs []string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, envSoftHSMConf+"="); ok {
			confs = append(confs, v)
		}
	}
	if len(confs) != 1 || confs[0] != "/tmp/x/softhsm2.conf" {
		t.Errorf("Env() sets SOFTHSM2_CONF to %q; want exactly [/tmp/x/softhsm2.conf]", confs)
	}
}

type outcome int

const (
	passed outcome = iota
	skipped
	failed
)

func (o outcome) String() string { return [...]string{"passed", "skipped", "failed"}[o] }

// recorder stands in for the testing.TB a service helper gets: it records a
// skip or failure and ends the helper's goroutine as the real ones do.
type recorder struct {
	testing.TB
	outcome outcome
	msg     string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any)  { r.stop(skipped, fmt.Sprintf(format, args...)) }
func (r *recorder) Fatalf(format string, args ...any) { r.stop(failed, fmt.Sprintf(format, args...)) }
func (r *recorder) Fatal(args ...any)                 { r.stop(failed, fmt.Sprint(args...)) }

func (r *recorder) stop(o outcome, msg string) {
	r.outcome, r.msg = o, msg
	runtime.Goexit()
}

func observe(t *testing.T, f func(testing.TB)) (outcome, string) {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.outcome, r.msg
}

func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// fakeRedis answers every connection's first command with reply.
func fakeRedis(t *testing.T, reply string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				if _, err := c.Read(buf); err == nil {
					io.WriteString(c, reply)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// closedPort returns a loopback address nobody listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// ---------------------------------------------------------------- .services.env parsing

// sample is what deploy/local/services.sh writes (values shortened).
const sample = `# Written by deploy/local/services.sh up at 2026-11-24T19:14:01Z; removed by its 'down'.
# Development settings only: loopback services, fixed PINs.
export SEALPIPE_SERVICES_DIR='/tmp/sealpipe-services-0'
export SEALPIPE_REDIS_ADDR='127.0.0.1:20378'
export SEALPIPE_S3_ENDPOINT='http://127.0.0.1:30486'
export SEALPIPE_S3_SECRET_KEY='1dd16a16'
export SEALPIPE_S3_EVENTS_ARN='arn:minio:sqs::SEALPIPE:redis'
export SEALPIPE_DEPT_ACCESS_KEY='sealpipe_sealpipe_civil-affairs'
export SOFTHSM2_CONF='/tmp/sealpipe-services-0/softhsm/softhsm2.conf'
`

func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  map[string]string
		isErr bool
	}{
		{"services.sh output", sample, map[string]string{
			"SEALPIPE_SERVICES_DIR":    "/tmp/sealpipe-services-0",
			"SEALPIPE_REDIS_ADDR":      "127.0.0.1:20378",
			"SEALPIPE_S3_ENDPOINT":     "http://127.0.0.1:30486",
			"SEALPIPE_S3_SECRET_KEY":   "1dd16a16",
			"SEALPIPE_S3_EVENTS_ARN":   "arn:minio:sqs::SEALPIPE:redis",
			"SEALPIPE_DEPT_ACCESS_KEY": "sealpipe_sealpipe_civil-affairs",
			"SOFTHSM2_CONF":            "/tmp/sealpipe-services-0/softhsm/softhsm2.conf",
		}, false},
		{"quote inside quotes", `export A='it'\''s'`, map[string]string{"A": "it's"}, false},
		{"bare and escaped", `B=plain\ word`, map[string]string{"B": "plain word"}, false},
		{"empty value", "C=\r\n\n  # note\n", map[string]string{"C": ""}, false},
		{"later wins", "D=1\nD=2", map[string]string{"D": "2"}, false},
		{"no equals", "export E", nil, true},
		{"bad name", "1X=a", nil, true},
		{"unterminated quote", "F='abc", nil, true},
		{"expansion", "G=$HOME", nil, true},
		{"double quotes", `H="a"`, nil, true},
		{"command", "I=a; rm -rf x", nil, true},
		{"trailing backslash", `J=a\`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEnvFile([]byte(tt.in))
			if tt.isErr {
				if !errors.Is(err, errEnvSyntax) {
					t.Fatalf("parseEnvFile(%q) = %v, %v; want errEnvSyntax", tt.in, got, err)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("parseEnvFile(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestParseEnvFileAgreesWithShell has bash source a file and compares what
// it exports with what parseEnvFile reads.
func TestParseEnvFileAgreesWithShell(t *testing.T) {
	bash := Tool(t, "bash")
	values := []string{"", "plain", "it's", "a b\tc", `back\slash`, "$HOME `x` \"q\"", "127.0.0.1:6379", "县政府/印章", "''", "=;&|"}
	var file strings.Builder
	for i, v := range values {
		fmt.Fprintf(&file, "export V%d=%s\n", i, shellQuote(v))
	}
	path := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	parsed, err := parseEnvFile([]byte(file.String()))
	if err != nil {
		t.Fatalf("parseEnvFile: %v\n%s", err, file.String())
	}
	for i, v := range values {
		name := fmt.Sprintf("V%d", i)
		out, err := exec.CommandContext(t.Context(), bash, "-c", `. "$1" && printf %s "${!2}"`, "_", path, name).Output()
		if err != nil {
			t.Fatalf("bash sourcing %s: %v", path, err)
		}
		if string(out) != v || parsed[name] != v {
			t.Errorf("%s: bash reads %q, parseEnvFile %q; written %q", name, out, parsed[name], v)
		}
	}
}

func FuzzParseEnvFile(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`export A='it'\''s'` + "\nB=x\\ y\n"))
	f.Add([]byte("C='unterminated\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vars, err := parseEnvFile(b)
		if err != nil {
			return
		}
		// Whatever parses must survive being written back the way
		// services.sh writes it.
		var out strings.Builder
		for k, v := range vars {
			fmt.Fprintf(&out, "export %s=%s\n", k, shellQuote(v))
		}
		again, err := parseEnvFile([]byte(out.String()))
		if err != nil || !maps.Equal(again, vars) {
			t.Fatalf("round trip of %q: %v, %v; want %v", out.String(), again, err, vars)
		}
	})
}

// shellQuote quotes v as deploy/local/services.sh's q function does.
func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
