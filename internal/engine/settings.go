package engine

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Settings is sealpipe's whole configuration. Every field is one SEALPIPE_*
// setting, read by Load from the environment or from a file of KEY=value
// lines (`--config FILE`), the environment winning. The zero value of each
// field means the default its `default` tag gives, or the behaviour its
// comment describes; Table lists them all, for help texts and the README.
//
// A field of type Secret may also be given as the name of a file holding
// it, under its key with a _FILE suffix (the Docker and Kubernetes secrets
// convention), so that it need not sit in the environment.
type Settings struct {
	// Data is the data folder: the development PKI under pki/, the
	// local object store under store/, and under state/ the newest
	// registry head this machine's pipeline has seen of each seal
	// (registry.Marks), which catches a registry log rolled back.
	Data string `env:"SEALPIPE_DATA" default:"sealpipe-data" help:"data folder: the development PKI under pki/, the local object store under store/, the pipeline's registry high-water marks under state/"`
	// Bucket holds inbox/, sealed/, reports/, rejected/, codes/, registry/
	// and audit/.
	Bucket string `env:"SEALPIPE_BUCKET" default:"sealpipe" help:"bucket holding inbox/, sealed/, reports/, rejected/, codes/, registry/, audit/"`
	// KeyPassphrase decrypts the SM4-encrypted key files. Empty means the
	// development passphrase that `sealpipe ca init` keeps under
	// <data>/pki, if there is one.
	KeyPassphrase Secret `env:"SEALPIPE_KEY_PASSPHRASE" help:"passphrase of the SM4-encrypted key files (empty: the development one under <data>/pki, if any)"`
	// Roots are PEM files of trusted root certificates. Empty means
	// <data>/pki/root.crt, the development root, and, if it exists,
	// <data>/pki/pades/ca.crt, the development PAdES CA (devca.AddUnit).
	Roots []string `env:"SEALPIPE_ROOTS" help:"PEM files of trusted root certificates, comma-separated (empty: <data>/pki/root.crt, and <data>/pki/pades/ca.crt, the development PAdES CA, if it exists)"`
	// CRLs are revocation lists of the trusted CAs, checked for every
	// certificate: approvers, document signers, seal makers,
	// administrators, the pipeline (GB/T 38540 §6.3 (3), §7.3 (e)). Each
	// is a DER or PEM file, read once, or an http(s):// URL, downloaded
	// when first needed and kept until its nextUpdate (package trust,
	// CRLFetcher); a URL that cannot be downloaded leaves the status of
	// its issuer's certificates unknown: INDETERMINATE (TRY_LATER), never
	// passed. These URLs are the operator's: nothing read from a document
	// or the bucket adds to them.
	CRLs []string `env:"SEALPIPE_CRLS" help:"revocation lists of the trusted CAs, checked for every certificate, comma-separated: DER or PEM files, or http(s):// URLs downloaded and kept until their nextUpdate"`
	// CRLDistributionPoints also downloads the http(s) CRL distribution
	// points (RFC 5280 §4.2.1.13) named by the certificates being
	// checked. Those URLs come from certificates, which arrive with
	// documents and in the bucket, so off (the default) no URL that
	// untrusted input names is ever requested, by `run` or by `verify`
	// (whose --crl-dp turns it on for one run).
	CRLDistributionPoints bool `env:"SEALPIPE_CRL_DISTRIBUTION_POINTS" default:"false" help:"also download the http(s) CRL distribution points that certificates name (they come with documents: leave off for run; verify --crl-dp turns it on once)"`
	// CRLTimeout bounds the download of one CRL.
	CRLTimeout time.Duration `env:"SEALPIPE_CRL_TIMEOUT" default:"10s" help:"longest download of one CRL"`
	// CRLMaxSize bounds the size of one downloaded CRL.
	CRLMaxSize ByteSize `env:"SEALPIPE_CRL_MAX_SIZE" default:"16MiB" help:"largest CRL downloaded, e.g. 64MiB"`
	// Keys is the keyring: the file that maps the key aliases the
	// registry names to keys this worker can open. Empty means
	// <data>/keys.conf.
	Keys string `env:"SEALPIPE_KEYS" help:"keyring: a file of 'ALIAS KEY-URI [passphrase-file=PATH]' lines mapping the registry's key aliases to keys (empty: <data>/keys.conf)"`
	// SecretMaxAge is how long a key file's passphrase or a token's user
	// PIN may go unchanged — the county rules' keeper changes the
	// protection password regularly — before `keys list`, `config check`
	// and `run` warn; RetentionOff never warns. When each last changed is
	// recorded under <data>/state/secrets.json by `keys rotate-passphrase`
	// and `keys change-pin` (package pipeline/keys/keeper).
	SecretMaxAge Retention `env:"SEALPIPE_SECRET_MAX_AGE" default:"90d" help:"longest a key file's passphrase or an HSM user PIN may go unchanged before keys list, config check and run warn, e.g. 90d or 2160h; off: never warn. sealpipe keys rotate-passphrase and keys change-pin change them"`
	// SealExpiryWarning is how long before an active seal's validity
	// ends `seals list` marks it and `config check` and `run` warn, so
	// that it is renewed in time (county rules 第十条: validity follows
	// the certificate's, renewable online); RetentionOff never warns.
	SealExpiryWarning Retention `env:"SEALPIPE_SEAL_EXPIRY_WARNING" default:"30d" help:"how long before an active seal expires seals list marks it and config check and run warn, e.g. 30d or 720h; off: never. sealpipe seals renew makes its successor"`

	// ServiceKey and ServiceCert are the pipeline's own identity: the key
	// (an alias in the keyring) that signs its reports, rejection and
	// usage records, and its certificate (PEM; empty means the
	// development one, <data>/pki/pipeline.crt).
	ServiceKey  string `env:"SEALPIPE_SERVICE_KEY" default:"pipeline" help:"keyring alias of the pipeline's key, which signs its reports, rejection and usage records"`
	ServiceCert string `env:"SEALPIPE_SERVICE_CERT" help:"PEM file of the pipeline's certificate (empty: <data>/pki/pipeline.crt)"`
	// AdminKey and AdminCert are the seal administrator's identity that
	// signs registry changes made by this command line (empty cert: the
	// development one, <data>/pki/registrar.crt).
	AdminKey  string `env:"SEALPIPE_ADMIN_KEY" default:"registrar" help:"keyring alias of the seal administrator's key, which signs registry changes"`
	AdminCert string `env:"SEALPIPE_ADMIN_CERT" help:"PEM file of the seal administrator's certificate (empty: <data>/pki/registrar.crt)"`

	Roles RoleSettings

	S3     S3Settings
	Redis  RedisSettings
	PKCS11 PKCS11Settings

	// Concurrency is the number of documents processed at once per
	// process. Zero means workers.DefaultConcurrency().
	Concurrency int `env:"SEALPIPE_CONCURRENCY" help:"documents processed at once per process (0: 16 × CPUs)"`
	// MemoryBudget bounds the bytes of documents in flight per process
	// (pipeline.Config.MemoryBudget): a document waits until it fits, and
	// one larger than the budget is processed alone. A document in flight
	// peaks at four to five and a half times its size in memory
	// (internal/faults TestMemoryBudget measures it): the default, four
	// documents of 62 MB at once, took 1.2–1.4 GB, none 2.2 GB.
	MemoryBudget ByteSize `env:"SEALPIPE_MEMORY_BUDGET" default:"256MiB" help:"bytes of documents in flight per process, e.g. 512MiB; a larger document is processed alone. Peak memory is about 200 MiB + 5 × this"`
	// MaxDocumentSize bounds a document of a batch
	// (pipeline.Config.MaxDocumentSize). A PDF of more than 16 MiB is
	// spooled to a temporary file while it is hashed, sealed over the
	// file and its output uploaded from it (a multipart upload on S3), so
	// memory does not grow with it; an OFD package is held in memory, and
	// the memory budget charges every document its size.
	MaxDocumentSize ByteSize `env:"SEALPIPE_MAX_DOCUMENT_SIZE" default:"64MiB" help:"largest document of a batch; a PDF over 16 MiB is spooled to a temporary file and streamed, an OFD package is held in memory"`
	// MaxFileSize bounds a local PDF that `sealpipe seal` and `sealpipe
	// verify` read (pipeline.Config.MaxFileSize, verify.Verifier.MaxPDFSize):
	// they stream it from the file in bounded memory (pdfseal.UpdateReader,
	// pdfseal.VerifyReader), so it may be far larger than a batch's
	// documents, which are held in memory.
	MaxFileSize ByteSize `env:"SEALPIPE_MAX_FILE_SIZE" default:"4GiB" help:"largest local PDF that seal and verify read; streamed from the file in bounded memory (peak under 100 MiB for 1 GiB)"`
	// PollInterval is how often `run` scans the inbox for approved batches,
	// the safety net behind bucket events.
	PollInterval time.Duration `env:"SEALPIPE_POLL_INTERVAL" default:"30s" help:"how often run scans the inbox for approved batches (the safety net behind events)"`
	// InboxRetention is how long the inbox of a finished batch
	// (inbox/<dept>/<batch>/) is kept, counted from the completion time
	// its signed batch report gives (package pipeline/retention); Off
	// keeps every inbox. `run` prunes every hour and `run --once` at its
	// end; `sealpipe batch prune` on demand.
	InboxRetention Retention `env:"SEALPIPE_INBOX_RETENTION" default:"720h" help:"how long the inbox of a finished batch is kept, counted from the completion time in its signed batch report, e.g. 720h or 30d; then it is archived or deleted (SEALPIPE_INBOX_RETENTION_ACTION); off (or never): kept forever"`
	// InboxRetentionAction is what becomes of an inbox whose retention
	// ended: "archive" moves it to archive/<dept>/<batch>/ in the same
	// bucket (copied create-only, verified, then deleted); "delete"
	// deletes it. Archive is the default: the signed approval and the
	// documents as approved are the record of what a department
	// submitted, and only the inbox holds them (the batch report names
	// the approver but holds no signature of theirs; a sealed OFD is a new
	// package), while inbox/, which the poller lists every
	// SEALPIPE_POLL_INTERVAL, is left with the batches in flight. Delete
	// suits a deployment that keeps that record elsewhere.
	InboxRetentionAction string `env:"SEALPIPE_INBOX_RETENTION_ACTION" default:"archive" help:"what becomes of an inbox whose retention ended: archive (moved to archive/<dept>/<batch>/ in the same bucket, copied create-only and verified before inbox/ loses it; the signed approval stays on record) or delete"`
	// DocumentPages writes each sealed document's report for people, an
	// HTML page and a PDF file with the seal's picture, beside its JSON
	// report (pipeline.Config.NoDocumentPages). The batch's are always
	// written.
	DocumentPages bool `env:"SEALPIPE_DOCUMENT_PAGES" default:"true" help:"write each sealed document's report for people beside its JSON report: <doc>.html and <doc>.pdf, with the seal's picture (false: only the batch's batch.html and batch.pdf; saves about 4 ms of CPU and two writes a document)"`
	// VerifyBaseURL is the public address of the verification service
	// (`sealpipe serve`), printed under the first seal of each sealed PDF
	// as a QR code of <VerifyBaseURL>/v/<code> beside the document's
	// verification code (pipeline.Config.VerifyBaseURL). Empty prints
	// nothing; the code is in every sealed document's report all the same.
	VerifyBaseURL string `env:"SEALPIPE_VERIFY_BASE_URL" help:"public address of the verification service (sealpipe serve), e.g. https://yz.example.gov.cn: under the first seal of each sealed PDF, a QR code of <url>/v/<code> and the document's verification code are printed, covered by the seal's signature (empty: nothing printed; every report holds the code all the same)"`
	// MetricsAddr is the address `run` serves Prometheus /metrics on.
	// Empty means none.
	MetricsAddr string `env:"SEALPIPE_METRICS_ADDR" help:"address for Prometheus /metrics, e.g. 127.0.0.1:9464 (empty: off)"`

	// HTTP configures the public verification service `sealpipe serve`
	// runs.
	HTTP HTTPSettings

	// AdminAPI configures the seal administration API: the listener
	// `sealpipe serve` runs and the server the seals commands call.
	AdminAPI AdminAPISettings

	// Exchange configures the exchange with the provincial seal system.
	Exchange ExchangeSettings

	// Signatures chooses the PDF signature format of each seal and the
	// timestamp authority (signatures.go).
	Signatures SignatureSettings
}

// RoleSettings are the OIDs that mark sealpipe's roles in certificates,
// as an extended key usage or a certificate policy (package trust). The
// defaults are the development CA's; a deployment sets its CA's.
type RoleSettings struct {
	Approver string `env:"SEALPIPE_APPROVER_OID" default:"1.3.6.1.4.1.32473.38540.1" help:"OID (EKU or policy) an approver's certificate must carry"`
	Admin    string `env:"SEALPIPE_ADMIN_OID" default:"1.3.6.1.4.1.32473.38540.2" help:"OID (EKU or policy) a seal administrator's certificate must carry to sign registry changes"`
	Service  string `env:"SEALPIPE_SERVICE_OID" default:"1.3.6.1.4.1.32473.38540.3" help:"OID (EKU or policy) the pipeline's certificate must carry to sign its records"`
}

// S3Settings say where the S3 (MinIO) bucket is. With no Endpoint the
// local object store under the data folder serves instead.
type S3Settings struct {
	// Endpoint is host:port or an http(s):// URL.
	Endpoint string `env:"SEALPIPE_S3_ENDPOINT" help:"S3/MinIO endpoint, host:port or URL; set it to use S3 instead of the local store"`
	// AccessKey and SecretKey are the credentials.
	AccessKey string `env:"SEALPIPE_S3_ACCESS_KEY" help:"S3 access key"`
	SecretKey Secret `env:"SEALPIPE_S3_SECRET_KEY" help:"S3 secret key"`
	// Region is the bucket's region. Empty means the server's default.
	Region string `env:"SEALPIPE_S3_REGION" help:"S3 region (empty: the server's default)"`
	// Secure uses HTTPS; an https:// Endpoint implies it.
	Secure bool `env:"SEALPIPE_S3_SECURE" default:"false" help:"use HTTPS to reach S3 (an https:// endpoint implies it)"`
	// EventsARN is a MinIO notify_redis target: `run` subscribes the
	// bucket's inbox/ to it. Empty means no subscription.
	EventsARN string `env:"SEALPIPE_S3_EVENTS_ARN" help:"MinIO notify_redis target ARN; run subscribes the bucket's inbox/ to it"`
	// EventsKey is the Redis list MinIO pushes bucket events to: `run`
	// bridges them into tasks. Empty means no bridge; the poller alone
	// finds batches.
	EventsKey string `env:"SEALPIPE_S3_EVENTS_KEY" help:"Redis list MinIO pushes bucket events to; run bridges them into tasks"`
	// DeptAccessKey and DeptSecretKey are a department's credentials
	// (`sealpipe access grant`): `batch upload` signs with them, when both
	// are set, instead of AccessKey and SecretKey, as a department
	// uploads. Nothing else uses them.
	DeptAccessKey string `env:"SEALPIPE_DEPT_ACCESS_KEY" help:"a department's S3 access key (sealpipe access grant): batch upload uses it and SEALPIPE_DEPT_SECRET_KEY, when both are set, instead of the service's"`
	DeptSecretKey Secret `env:"SEALPIPE_DEPT_SECRET_KEY" help:"that department's S3 secret key"`
}

// RedisSettings locate the Redis server behind the Asynq queues. With no
// Addr an in-process Redis serves, for one process only.
type RedisSettings struct {
	// Addr is host:port.
	Addr string `env:"SEALPIPE_REDIS_ADDR" help:"Redis host:port for the queues (empty: an in-process Redis, one process only)"`
	// Password authenticates to Redis.
	Password Secret `env:"SEALPIPE_REDIS_PASSWORD" help:"Redis password"`
	// DB is the database number.
	DB int `env:"SEALPIPE_REDIS_DB" default:"0" help:"Redis database number"`
}

// PKCS11Settings configure the HSM pool that signs with keys named by
// pkcs11: URIs (package pipeline/keys/pkcs11).
type PKCS11Settings struct {
	// Module is the PKCS#11 library for key URIs that name none.
	Module string `env:"SEALPIPE_PKCS11_MODULE" help:"PKCS#11 module (library path) for pkcs11: key URIs that name none"`
	// PIN is the token's user PIN, for key URIs without pin-source.
	PIN Secret `env:"SEALPIPE_PKCS11_PIN" help:"token user PIN for pkcs11: key URIs without pin-source"`
	// MaxSessions caps the signatures in progress at once per token.
	// Zero means pkcs11.DefaultMaxSessions.
	MaxSessions int `env:"SEALPIPE_PKCS11_MAX_SESSIONS" help:"signatures in progress at once per token (0: 16)"`
	// WaitTimeout bounds the wait for a free session. Zero means
	// pkcs11.DefaultWaitTimeout.
	WaitTimeout time.Duration `env:"SEALPIPE_PKCS11_WAIT_TIMEOUT" help:"longest wait for a free token session (0: 30s)"`
	// HealthInterval is the period of the pool's health check of every
	// token. Zero means pkcs11.DefaultHealthInterval.
	HealthInterval time.Duration `env:"SEALPIPE_PKCS11_HEALTH_INTERVAL" help:"period of the token health check (0: 30s)"`
	// SM2Mechanism is the token's vendor-defined CKM_ code for SM2
	// signatures, such as 0x80000101. Zero means the token cannot sign
	// with SM2 keys.
	SM2Mechanism uint `env:"SEALPIPE_PKCS11_SM2_MECHANISM" help:"vendor CKM_ code of the token's SM2 signature mechanism, e.g. 0x80000101 (0: no SM2 signing)"`
	// SM2Input is what the mechanism signs: "digest" (e = SM3(Z_A‖M),
	// as GM/T 0018 devices take) or "message".
	SM2Input string `env:"SEALPIPE_PKCS11_SM2_INPUT" default:"digest" help:"what the SM2 mechanism signs: digest (e = SM3(Z‖M), GM/T 0018) or message"`
	// SM2Output is the form of the mechanism's signatures: "raw" (r‖s)
	// or "der".
	SM2Output string `env:"SEALPIPE_PKCS11_SM2_OUTPUT" default:"raw" help:"form of the SM2 mechanism's signatures: raw (r‖s) or der"`
	// SM2Parameter is the mechanism parameter, in hex. Empty means none.
	SM2Parameter string `env:"SEALPIPE_PKCS11_SM2_PARAMETER" help:"SM2 mechanism parameter in hex, for tokens that take the signer ID there"`
	// Modules are the PKCS#11 libraries the HSM pool may load, besides
	// Module. A library is code run inside the worker: nothing else is
	// loaded, whatever a key URI names.
	Modules []string `env:"SEALPIPE_PKCS11_MODULES" help:"other PKCS#11 libraries the HSM pool may load, comma-separated (only these and SEALPIPE_PKCS11_MODULE are ever loaded)"`
	// SM2KeyType is a vendor CKA_KEY_TYPE of SM2 keys, for tokens that do
	// not store them as CKK_EC keys on the SM2 curve. Zero means CKK_EC.
	SM2KeyType uint `env:"SEALPIPE_PKCS11_SM2_KEY_TYPE" help:"vendor CKA_KEY_TYPE of SM2 keys, for tokens that do not use CKK_EC (0: CKK_EC)"`
}

// Secret is a setting that must not be printed: Table and logs show
// whether it is set, never its value.
type Secret string

// String returns a placeholder, never the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "(set)"
}

// LogValue keeps the secret out of structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps the secret out of JSON and other encodings of the
// settings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Setting documents one SEALPIPE_* setting.
type Setting struct {
	// Key is the environment variable, such as SEALPIPE_DATA.
	Key string
	// Default is the value used when it is unset, or "" for none.
	Default string
	// Help says what it does.
	Help string
	// Secret is set for settings that may be given as a file (Key_FILE).
	Secret bool

	index []int // the field in Settings
}

// ErrSettings is wrapped by every error about a setting's value, and by
// errors about the configuration as a whole.
var ErrSettings = errors.New("invalid settings")

// SettingError reports a setting whose value cannot be used.
type SettingError struct {
	Key   string // the setting, such as SEALPIPE_REDIS_DB
	Value string // its value as given; empty for secrets
	Err   error
}

func (e *SettingError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %v", e.Key, e.Err)
	}
	return fmt.Sprintf("%s=%q: %v", e.Key, e.Value, e.Err)
}

// Unwrap returns ErrSettings and the cause.
func (e *SettingError) Unwrap() []error { return []error{ErrSettings, e.Err} }

var (
	secretType    = reflect.TypeFor[Secret]()
	durationType  = reflect.TypeFor[time.Duration]()
	byteSizeType  = reflect.TypeFor[ByteSize]()
	retentionType = reflect.TypeFor[Retention]()
	table         = settingsTable()
)

// Table lists every setting, in the order of the Settings fields.
func Table() []Setting { return table }

// settingsTable derives the table from the Settings struct tags.
func settingsTable() []Setting {
	var out []Setting
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			at := append(append([]int(nil), index...), i)
			key := f.Tag.Get("env")
			if key == "" {
				if f.Type.Kind() != reflect.Struct {
					panic("engine: Settings field " + f.Name + " has no env tag")
				}
				walk(f.Type, at)
				continue
			}
			out = append(out, Setting{Key: key, Default: f.Tag.Get("default"), Help: f.Tag.Get("help"), Secret: f.Type == secretType, index: at})
		}
	}
	walk(reflect.TypeFor[Settings](), nil)
	return out
}

// maxSecretFile bounds a file named by a _FILE setting: anything larger is
// a mistake.
const maxSecretFile = 64 << 10

// Load returns the settings given by the environment (lookup, such as
// os.LookupEnv) over those in the file at path, if path is not empty.
// Unset settings take their defaults (WithDefaults). An environment variable set to the
// empty string counts as unset. A key in the file that is not a setting is
// logged, not refused, since files such as .services.env also hold settings
// for other programs. Errors about values wrap ErrSettings.
func Load(path string, lookup func(string) (string, bool), log *slog.Logger) (Settings, error) {
	file := map[string]string{}
	if path != "" {
		var err error
		if file, err = readSettingsFile(path, log); err != nil {
			return Settings{}, err
		}
	}
	get := func(key string) (string, bool) {
		if v, ok := lookup(key); ok && v != "" {
			return v, true
		}
		v, ok := file[key]
		return v, ok
	}
	var s Settings
	root := reflect.ValueOf(&s).Elem()
	for _, st := range table {
		val, ok := get(st.Key)
		if st.Secret {
			var err error
			if val, ok, err = secretValue(st.Key, val, ok, get); err != nil {
				return Settings{}, err
			}
		}
		if !ok {
			continue
		}
		if err := setField(root.FieldByIndex(st.index), val); err != nil {
			shown := val
			if st.Secret {
				shown = ""
			}
			return Settings{}, &SettingError{Key: st.Key, Value: shown, Err: err}
		}
	}
	s = s.WithDefaults()
	if err := s.PKCS11.check(); err != nil {
		return Settings{}, err
	}
	if _, err := s.retentionAction(); err != nil {
		return Settings{}, err
	}
	if _, err := s.Signatures.formats(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// WithDefaults returns s with every zero field that has a default set to
// it, so that code given a Settings literal sees what Load would give.
func (s Settings) WithDefaults() Settings {
	root := reflect.ValueOf(&s).Elem()
	for _, st := range table {
		if f := root.FieldByIndex(st.index); st.Default != "" && f.IsZero() {
			if err := setField(f, st.Default); err != nil {
				panic("engine: bad default for " + st.Key + ": " + err.Error())
			}
		}
	}
	return s
}

// secretValue resolves a secret given directly (val, ok) or as the file
// named by key_FILE.
func secretValue(key, val string, ok bool, get func(string) (string, bool)) (string, bool, error) {
	fileKey := key + "_FILE"
	path, fromFile := get(fileKey)
	switch {
	case ok && fromFile:
		return "", false, &SettingError{Key: key, Err: fmt.Errorf("both %s and %s are set: set only one", key, fileKey)}
	case !fromFile:
		return val, ok, nil
	}
	b, err := readSecretFile(path)
	if err != nil {
		return "", false, &SettingError{Key: fileKey, Value: path, Err: err}
	}
	return string(b), true, nil
}

// setField parses val into the settings field v; an empty val leaves the
// zero value.
func setField(v reflect.Value, val string) error {
	if val == "" {
		return nil
	}
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(val)
		if err != nil || d < 0 {
			return errors.New("want a duration such as 30s or 5m")
		}
		v.SetInt(int64(d))
	case v.Type() == retentionType:
		r, err := ParseRetention(val)
		if err != nil {
			return err
		}
		v.SetInt(int64(r))
	case v.Type() == byteSizeType:
		n, err := ParseByteSize(val)
		if err != nil {
			return err
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.String:
		v.SetString(val)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return errors.New("want true or false")
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return errors.New("want a whole number, 0 or more")
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Uint:
		n, err := strconv.ParseUint(val, 0, 32) // 0x… allowed
		if err != nil {
			return errors.New("want a whole number, decimal or 0x hexadecimal, below 2^32")
		}
		v.SetUint(n)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var list []string
		for _, s := range strings.Split(val, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		v.Set(reflect.ValueOf(list))
	default:
		panic("engine: unsupported settings field type " + v.Type().String())
	}
	return nil
}

// readSettingsFile reads KEY=value lines: blank lines and # comments are
// skipped, an "export " prefix and quotes around the value are dropped.
func readSettingsFile(path string, log *slog.Logger) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: config file: %w", ErrSettings, err)
	}
	defer f.Close()
	known := map[string]bool{}
	for _, st := range table {
		known[st.Key] = true
		if st.Secret {
			known[st.Key+"_FILE"] = true
		}
	}
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		k, v = strings.TrimSpace(k), unquote(strings.TrimSpace(v))
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: %s:%d: want KEY=value, got %q", ErrSettings, path, n, line)
		}
		if !known[k] {
			log.Warn("config: ignoring unknown setting", "file", path, "line", n, "key", k)
			continue
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: config file %s: %w", ErrSettings, path, err)
	}
	return out, nil
}

// unquote drops one pair of matching single or double quotes around v.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// Help renders the settings table for help texts, one setting a line.
func Help() string {
	var b strings.Builder
	for _, st := range table {
		key := st.Key
		if st.Secret {
			key += "[_FILE]"
		}
		def := ""
		if st.Default != "" {
			def = " (default " + st.Default + ")"
		}
		fmt.Fprintf(&b, "  %-36s %s%s\n", key, st.Help, def)
	}
	return b.String()
}

// Markdown renders the settings table as the README shows it.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| setting | default | meaning |\n|---|---|---|\n")
	for _, st := range table {
		def := "—"
		if st.Default != "" {
			def = "`" + st.Default + "`"
		}
		key := "`" + st.Key + "`"
		if st.Secret {
			key += " or `" + st.Key + "_FILE`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", key, def, strings.ReplaceAll(st.Help, "|", `\|`))
	}
	return b.String()
}

// Values returns every setting's effective value as a KEY=value line,
// secrets shown only as set or not, for `sealpipe config`.
func (s Settings) Values() []string {
	root := reflect.ValueOf(&s).Elem()
	out := make([]string, 0, len(table))
	for _, st := range table {
		f := root.FieldByIndex(st.index)
		var v string
		switch x := f.Interface().(type) {
		case []string:
			v = strings.Join(x, ",")
		case uint:
			if x != 0 {
				v = fmt.Sprintf("0x%x", x)
			}
		case fmt.Stringer:
			v = x.String()
		default:
			v = fmt.Sprint(x)
		}
		out = append(out, st.Key+"="+v)
	}
	return out
}
