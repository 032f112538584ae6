package engine

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// env returns a lookup function over m, as os.LookupEnv over an environment.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// writeFile writes content to a new file in a test folder and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	t.Parallel()
	secret := writeFile(t, "pass", "from a file\n")
	crlf := writeFile(t, "crlf", "from a file\r\n")
	twoNewlines := writeFile(t, "nlnl", "from a file\n\n")
	empty := writeFile(t, "empty", "\n")
	for _, tc := range []struct {
		name  string
		file  string // config file content; "" means no file
		env   map[string]string
		check func(t *testing.T, s Settings)
		err   string // substring of the error, if one is expected
	}{
		{
			name: "defaults",
			check: func(t *testing.T, s Settings) {
				if s.Data != "sealpipe-data" || s.Bucket != "sealpipe" || s.PollInterval != 30*time.Second ||
					s.PKCS11.SM2Input != "digest" || s.PKCS11.SM2Output != "raw" || s.KeyPassphrase != "" || s.Concurrency != 0 ||
					s.InboxRetention != Retention(30*24*time.Hour) || s.InboxRetentionAction != "archive" {
					t.Errorf("defaults: %+v", s)
				}
			},
		},
		{
			name: "passphrase only in the file",
			file: "SEALPIPE_KEY_PASSPHRASE=file secret\nSEALPIPE_DATA=/srv/data\n",
			check: func(t *testing.T, s Settings) {
				if s.KeyPassphrase != "file secret" || s.Data != "/srv/data" {
					t.Errorf("got %q, %q", s.KeyPassphrase, s.Data)
				}
			},
		},
		{
			name: "environment wins over the file",
			file: "SEALPIPE_BUCKET=from-file\nSEALPIPE_REDIS_DB=3\n",
			env:  map[string]string{"SEALPIPE_BUCKET": "from-env"},
			check: func(t *testing.T, s Settings) {
				if s.Bucket != "from-env" || s.Redis.DB != 3 {
					t.Errorf("bucket %q db %d", s.Bucket, s.Redis.DB)
				}
			},
		},
		{
			name: "empty environment variable counts as unset",
			file: "SEALPIPE_BUCKET=from-file\n",
			env:  map[string]string{"SEALPIPE_BUCKET": ""},
			check: func(t *testing.T, s Settings) {
				if s.Bucket != "from-file" {
					t.Errorf("bucket %q", s.Bucket)
				}
			},
		},
		{
			name: "file syntax: export, quotes, comments",
			file: "# comment\n\nexport SEALPIPE_S3_ENDPOINT='http://127.0.0.1:9000'\nSEALPIPE_ROOTS=\"a.crt, b.crt,\"\n",
			check: func(t *testing.T, s Settings) {
				if s.S3.Endpoint != "http://127.0.0.1:9000" || strings.Join(s.Roots, "|") != "a.crt|b.crt" {
					t.Errorf("endpoint %q roots %q", s.S3.Endpoint, s.Roots)
				}
			},
		},
		{
			name: "secret from a _FILE setting in the file",
			file: "SEALPIPE_PKCS11_PIN_FILE=" + secret + "\n",
			check: func(t *testing.T, s Settings) {
				if s.PKCS11.PIN != "from a file" {
					t.Errorf("PIN %q", s.PKCS11.PIN)
				}
			},
		},
		{
			name: "secret from a _FILE environment variable",
			env:  map[string]string{"SEALPIPE_KEY_PASSPHRASE_FILE": secret},
			check: func(t *testing.T, s Settings) {
				if s.KeyPassphrase != "from a file" {
					t.Errorf("passphrase %q", s.KeyPassphrase)
				}
			},
		},
		{
			name: "secret file: CRLF dropped",
			env:  map[string]string{"SEALPIPE_KEY_PASSPHRASE_FILE": crlf},
			check: func(t *testing.T, s Settings) {
				if s.KeyPassphrase != "from a file" {
					t.Errorf("passphrase %q", s.KeyPassphrase)
				}
			},
		},
		{
			name: "secret file: only one newline dropped",
			env:  map[string]string{"SEALPIPE_KEY_PASSPHRASE_FILE": twoNewlines},
			check: func(t *testing.T, s Settings) {
				if s.KeyPassphrase != "from a file\n" {
					t.Errorf("passphrase %q", s.KeyPassphrase)
				}
			},
		},
		{
			name: "secret in the environment keeps its whitespace",
			env:  map[string]string{"SEALPIPE_KEY_PASSPHRASE": " s3cret\n"},
			check: func(t *testing.T, s Settings) {
				if s.KeyPassphrase != " s3cret\n" {
					t.Errorf("passphrase %q", s.KeyPassphrase)
				}
			},
		},
		{
			name: "HSM pool",
			env: map[string]string{
				"SEALPIPE_PKCS11_MODULE": "/usr/lib/softhsm/libsofthsm2.so", "SEALPIPE_PKCS11_MAX_SESSIONS": "4",
				"SEALPIPE_PKCS11_SM2_MECHANISM": "0x80000101", "SEALPIPE_PKCS11_SM2_INPUT": "message",
				"SEALPIPE_PKCS11_SM2_OUTPUT": "der", "SEALPIPE_PKCS11_SM2_PARAMETER": "31323334", "SEALPIPE_PKCS11_WAIT_TIMEOUT": "5s",
			},
			check: func(t *testing.T, s Settings) {
				p := s.PKCS11
				if p.Module != "/usr/lib/softhsm/libsofthsm2.so" || p.MaxSessions != 4 || p.SM2Mechanism != 0x80000101 ||
					p.SM2Input != "message" || p.SM2Output != "der" || p.WaitTimeout != 5*time.Second {
					t.Errorf("%+v", p)
				}
				if b, _ := p.sm2Parameter(); string(b) != "1234" {
					t.Errorf("parameter %q", b)
				}
			},
		},
		{
			name: "inbox retention in days, deleted",
			env:  map[string]string{"SEALPIPE_INBOX_RETENTION": "90d", "SEALPIPE_INBOX_RETENTION_ACTION": "delete"},
			check: func(t *testing.T, s Settings) {
				if s.InboxRetention != Retention(90*24*time.Hour) || s.InboxRetentionAction != "delete" {
					t.Errorf("retention %v, action %q", s.InboxRetention, s.InboxRetentionAction)
				}
			},
		},
		{
			name: "inbox retention off",
			file: "SEALPIPE_INBOX_RETENTION=never\n",
			check: func(t *testing.T, s Settings) {
				if s.InboxRetention != RetentionOff || s.InboxRetention.String() != "off" {
					t.Errorf("retention %v", s.InboxRetention)
				}
			},
		},
		{name: "inbox retention zero", env: map[string]string{"SEALPIPE_INBOX_RETENTION": "0"}, err: `SEALPIPE_INBOX_RETENTION="0": want a duration above zero`},
		{name: "inbox retention negative", env: map[string]string{"SEALPIPE_INBOX_RETENTION": "-1h"}, err: "SEALPIPE_INBOX_RETENTION"},
		{name: "inbox retention bad", env: map[string]string{"SEALPIPE_INBOX_RETENTION": "a month"}, err: "SEALPIPE_INBOX_RETENTION"},
		{name: "inbox retention too many days", env: map[string]string{"SEALPIPE_INBOX_RETENTION": "1000000d"}, err: "SEALPIPE_INBOX_RETENTION"},
		{name: "inbox retention action bad", env: map[string]string{"SEALPIPE_INBOX_RETENTION_ACTION": "move"}, err: `SEALPIPE_INBOX_RETENTION_ACTION="move": want archive or delete`},
		{name: "secret twice", env: map[string]string{"SEALPIPE_KEY_PASSPHRASE": "x", "SEALPIPE_KEY_PASSPHRASE_FILE": secret}, err: "set only one"},
		{name: "secret file empty", env: map[string]string{"SEALPIPE_KEY_PASSPHRASE_FILE": empty}, err: "SEALPIPE_KEY_PASSPHRASE_FILE"},
		{name: "secret file missing", env: map[string]string{"SEALPIPE_PKCS11_PIN_FILE": "/nonexistent/pin"}, err: "SEALPIPE_PKCS11_PIN_FILE"},
		{name: "bad number", env: map[string]string{"SEALPIPE_REDIS_DB": "one"}, err: `SEALPIPE_REDIS_DB="one"`},
		{name: "negative number", env: map[string]string{"SEALPIPE_CONCURRENCY": "-1"}, err: "SEALPIPE_CONCURRENCY"},
		{name: "bad duration", file: "SEALPIPE_POLL_INTERVAL=soon\n", err: "SEALPIPE_POLL_INTERVAL"},
		{name: "bad bool", env: map[string]string{"SEALPIPE_S3_SECURE": "maybe"}, err: "want true or false"},
		{name: "bad mechanism", env: map[string]string{"SEALPIPE_PKCS11_SM2_MECHANISM": "vendor"}, err: "SEALPIPE_PKCS11_SM2_MECHANISM"},
		{name: "bad SM2 input", env: map[string]string{"SEALPIPE_PKCS11_SM2_INPUT": "hash"}, err: "SEALPIPE_PKCS11_SM2_INPUT"},
		{name: "bad SM2 output", env: map[string]string{"SEALPIPE_PKCS11_SM2_OUTPUT": "asn1"}, err: "SEALPIPE_PKCS11_SM2_OUTPUT"},
		{name: "bad SM2 parameter", env: map[string]string{"SEALPIPE_PKCS11_SM2_PARAMETER": "xyz"}, err: "SEALPIPE_PKCS11_SM2_PARAMETER"},
		{name: "not KEY=value", file: "SEALPIPE_DATA\n", err: "want KEY=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tc.file != "" {
				path = writeFile(t, "sealpipe.env", tc.file)
			}
			s, err := Load(path, env(tc.env), slog.New(slog.DiscardHandler))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrSettings) {
					t.Fatalf("Load: %v, want an ErrSettings error containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "from a file") {
					t.Errorf("the error shows a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load("/nonexistent/sealpipe.env", env(nil), slog.New(slog.DiscardHandler))
	if !errors.Is(err, ErrSettings) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load: %v", err)
	}
}

// TestLoadWarnsOfUnknownKeys: a typo in a config file shows in the log.
func TestLoadWarnsOfUnknownKeys(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	path := writeFile(t, "sealpipe.env", "SEALPIPE_BUCKT=x\nSEALPIPE_PKCS11_PIN_FILE=/dev/null\n")
	_, err := Load(path, env(nil), slog.New(slog.NewTextHandler(&logs, nil)))
	if err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("Load: %v, want the empty PIN file refused", err)
	}
	if !strings.Contains(logs.String(), "SEALPIPE_BUCKT") || strings.Contains(logs.String(), "PIN_FILE") {
		t.Errorf("log: %s", logs.String())
	}
}

// TestSecretsStaySecret: secrets never print, in Values or in logs.
func TestSecretsStaySecret(t *testing.T) {
	t.Parallel()
	s := Settings{KeyPassphrase: "hunter2", S3: S3Settings{SecretKey: "s3-secret"}, Redis: RedisSettings{Password: "redis-pw"}, PKCS11: PKCS11Settings{PIN: "pin-4711"}}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("settings", "pass", s.KeyPassphrase, "settings", s)
	all := strings.Join(s.WithDefaults().Values(), "\n") + logs.String()
	// Secrets with letters: the log's timestamp holds digits by chance (a
	// PIN of "1234" once failed CI on 21:41:19.123450969).
	for _, secret := range []string{"hunter2", "s3-secret", "redis-pw", "pin-4711"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q printed:\n%s", secret, all)
		}
	}
	if !strings.Contains(all, "SEALPIPE_KEY_PASSPHRASE=(set)") || !strings.Contains(all, "SEALPIPE_DATA=sealpipe-data") {
		t.Errorf("values:\n%s", all)
	}
}

// TestTable: every setting is documented once, and WithDefaults gives
// what Load gives from nothing.
func TestTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, st := range Table() {
		if !strings.HasPrefix(st.Key, "SEALPIPE_") || st.Help == "" || seen[st.Key] {
			t.Errorf("setting %+v: want a unique SEALPIPE_ key with help", st)
		}
		seen[st.Key] = true
	}
	loaded, err := Load("", env(nil), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(Settings{}.WithDefaults().Values(), "\n"), strings.Join(loaded.Values(), "\n"); got != want {
		t.Errorf("WithDefaults:\n%s\nLoad:\n%s", got, want)
	}
	help := Help()
	for key := range seen {
		if !strings.Contains(help, key) || !strings.Contains(Markdown(), key) {
			t.Errorf("%s missing from Help or Markdown", key)
		}
	}
}

// TestRetentionString writes each retention as ParseRetention reads it
// back, without trailing zero units.
func TestRetentionString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"720h": "720h", "30d": "720h", "1h30m": "1h30m", "90m": "1h30m", "45s": "45s", "2m": "2m",
		"off": "off", "never": "off", "OFF": "off",
	} {
		r, err := ParseRetention(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %s", in, r, err, want)
			continue
		}
		if back, err := ParseRetention(r.String()); err != nil || back != r {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", r.String(), back, err, r)
		}
	}
}
