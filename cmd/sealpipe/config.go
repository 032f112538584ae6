package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// settings are sealpipe's SEALPIPE_* configuration: the environment,
// over an optional config file of KEY=VALUE lines (`--config FILE`).
type settings struct {
	file map[string]string
}

// setting documents one configuration key.
type setting struct {
	Key, Default, Help string
}

// knownSettings lists every SEALPIPE_* key; the README's configuration
// table and `sealpipe run --help` come from the same list.
var knownSettings = []setting{
	{"SEALPIPE_DATA", "sealpipe-data", "data folder: dev PKI under pki/, the local object store under store/"},
	{"SEALPIPE_BUCKET", "sealpipe", "bucket holding inbox/, sealed/, reports/, rejected/, registry/, audit/"},
	{"SEALPIPE_KEY_PASSPHRASE", "", "passphrase of the SM4-encrypted key files"},
	{"SEALPIPE_KEY_PASSPHRASE_FILE", "", "file holding that passphrase instead"},
	{"SEALPIPE_S3_ENDPOINT", "", "S3/MinIO endpoint host:port; set it to use S3 instead of the local store"},
	{"SEALPIPE_S3_ACCESS_KEY", "", "S3 access key"},
	{"SEALPIPE_S3_SECRET_KEY", "", "S3 secret key"},
	{"SEALPIPE_S3_REGION", "", "S3 region (empty: the server's default)"},
	{"SEALPIPE_S3_SECURE", "false", "use HTTPS to reach S3"},
	{"SEALPIPE_S3_EVENTS_ARN", "", "MinIO notify_redis target ARN; when set, `run` subscribes the bucket's inbox/ to it"},
	{"SEALPIPE_S3_EVENTS_KEY", "", "Redis list MinIO pushes bucket events to; when set, `run` bridges them into tasks"},
	{"SEALPIPE_REDIS_ADDR", "", "Redis host:port for the Asynq queues (empty: an in-process Redis, single process only)"},
	{"SEALPIPE_REDIS_PASSWORD", "", "Redis password"},
	{"SEALPIPE_REDIS_DB", "0", "Redis database number"},
	{"SEALPIPE_CONCURRENCY", "0", "documents processed at once per process (0: 4 × CPUs)"},
	{"SEALPIPE_POLL_INTERVAL", "30s", "how often `run` scans the inbox for approved batches (the safety net behind events)"},
	{"SEALPIPE_METRICS_ADDR", "", "address for Prometheus /metrics, e.g. 127.0.0.1:9464 (empty: off)"},
	{"SEALPIPE_ROOTS", "", "PEM file(s) of trusted roots, comma-separated (empty: <data>/pki/root.crt)"},
}

// loadSettings reads the optional config file.
func loadSettings(path string, log *slog.Logger) (*settings, error) {
	s := &settings{file: map[string]string{}}
	if path == "" {
		return s, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErr("--config: %v", err)
	}
	defer f.Close()
	known := map[string]bool{}
	for _, k := range knownSettings {
		known[k.Key] = true
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"'`)
		if !ok || k == "" {
			return nil, usageErr("%s:%d: want KEY=value, got %q", path, n, line)
		}
		if !known[k] {
			// Files like .services.env also carry settings for other
			// programs; say so rather than fail, so a typo is visible.
			log.Warn("config: ignoring unknown setting", "file", path, "line", n, "key", k)
			continue
		}
		s.file[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, usageErr("--config: %v", err)
	}
	return s, nil
}

// get returns a setting: the environment first, then the file, then the default.
func (s *settings) get(key string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	if v, ok := s.file[key]; ok {
		return v
	}
	for _, k := range knownSettings {
		if k.Key == key {
			return k.Default
		}
	}
	panic("unknown setting " + key)
}

func (s *settings) int(key string) (int, error) {
	n, err := strconv.Atoi(s.get(key))
	if err != nil {
		return 0, usageErr("%s=%q: want an integer", key, s.get(key))
	}
	return n, nil
}

func (s *settings) bool(key string) (bool, error) {
	b, err := strconv.ParseBool(s.get(key))
	if err != nil {
		return false, usageErr("%s=%q: want true or false", key, s.get(key))
	}
	return b, nil
}

func (s *settings) duration(key string) (time.Duration, error) {
	d, err := time.ParseDuration(s.get(key))
	if err != nil || d <= 0 {
		return 0, usageErr("%s=%q: want a positive duration like 30s", key, s.get(key))
	}
	return d, nil
}

// settingsHelp renders the settings table for help texts.
func settingsHelp() string {
	var b strings.Builder
	for _, k := range knownSettings {
		def := k.Default
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(&b, "  %-30s %s (default %s)\n", k.Key, k.Help, def)
	}
	return b.String()
}
