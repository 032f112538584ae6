package engine

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/keys/keeper"
)

// The keepers' secrets: the passphrase of each key file the keyring names
// and the user PIN of each token, changed by `keys rotate-passphrase` and
// `keys change-pin` (package pipeline/keys/keeper holds how, atomically),
// and their ages, recorded in <data>/state/secrets.json and shown by
// `keys list`, `config check` and, when over SEALPIPE_SECRET_MAX_AGE, a
// warning of `run`.

// The kinds of secret.
const (
	// SecretPassphrase is the passphrase of an SM4-encrypted key file.
	SecretPassphrase = "passphrase"
	// SecretPIN is the user PIN of an HSM token.
	SecretPIN = "pin"
)

// ErrSecretSource reports a secret that sealpipe cannot change where it
// is kept: a key with no passphrase file of its own and none named, a
// pkcs11: key whose PIN comes from no file, keys of one key file or token
// whose secrets come from different files.
var ErrSecretSource = errors.New("the secret's source cannot be changed as asked")

// agesPath is the record of the secrets' last changes.
func (e *Engine) agesPath() string { return filepath.Join(e.StateDir(), "secrets.json") }

// SecretStatus is a keyring alias's secret and how old it is, a line of
// `sealpipe keys list`.
type SecretStatus struct {
	// Alias is the keyring alias.
	Alias string `json:"alias"`
	// Kind is SecretPassphrase or SecretPIN.
	Kind string `json:"kind"`
	// Where says where the key and its secret are: the key file and the
	// passphrase's source; the token, its module and the PIN's source.
	Where string `json:"where"`
	// Changed is when the secret last changed, if known.
	Changed *time.Time `json:"changed,omitempty"`
	// ChangedFrom says how Changed is known: "record" (a change made
	// with sealpipe), "key file" (its modification time: the key file
	// was written, encrypted, then) or "" (unknown).
	ChangedFrom string `json:"changed_from"`
	// AgeDays is the secret's age in whole days; -1 if unknown.
	AgeDays int `json:"age_days"`
	// Due is set when the secret is older than SEALPIPE_SECRET_MAX_AGE.
	Due bool `json:"due"`
	// Unfinished is set when a change of the secret did not finish (a key
	// file still holding two encryptions, a staged PIN left).
	Unfinished bool `json:"unfinished"`
	// Warnings say what needs doing, each a sentence.
	Warnings []string `json:"warnings,omitempty"`
}

// Secrets returns the secret of each alias of the keyring, sorted by
// alias, with its age against SEALPIPE_SECRET_MAX_AGE. It reads the
// keyring, the record of changes and the key files' metadata; it opens no
// key and logs in to no token.
func (e *Engine) Secrets(ctx context.Context) ([]SecretStatus, error) {
	ring, err := readKeyring(e.keyringPath())
	if err != nil {
		return nil, err
	}
	changes, err := keeper.Ages{Path: e.agesPath()}.Load()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]SecretStatus, 0, len(ring))
	for _, alias := range slices.Sorted(maps.Keys(ring)) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out = append(out, e.secretStatus(ring[alias], changes, now))
	}
	return out, nil
}

// secretStatus describes the secret of one keyring entry.
func (e *Engine) secretStatus(ent keyringEntry, changes map[string]keeper.Change, now time.Time) SecretStatus {
	st := SecretStatus{Alias: ent.alias, AgeDays: -1}
	var changed time.Time
	var how string
	if isPKCS11(ent.uri) {
		st.Kind, how = SecretPIN, "keys change-pin"
		tok, err := e.token(ent.uri)
		if err != nil {
			st.Where = redactURI(ent.uri)
			st.Warnings = append(st.Warnings, "its token cannot be resolved: "+err.Error())
			return st
		}
		source := "SEALPIPE_PKCS11_PIN"
		if tok.pinFile != "" {
			source = tok.pinFile
			if _, err := os.Stat(keeper.PendingPINFile(tok.pinFile)); err == nil {
				st.Unfinished = true
				st.Warnings = append(st.Warnings, fmt.Sprintf("a PIN change did not finish (%s is left): run sealpipe keys change-pin %s again", keeper.PendingPINFile(tok.pinFile), ent.alias))
			}
		}
		st.Where = fmt.Sprintf("token %s (%s), PIN from %s", tok.name, tok.module, source)
		if c, ok := changes[keeper.PINSecret(tok.id)]; ok {
			changed, st.ChangedFrom = c.Changed, "record"
		}
	} else {
		st.Kind, how = SecretPassphrase, "keys rotate-passphrase"
		path, err := keys.FilePath(ent.uri)
		if err != nil {
			st.Where = redactURI(ent.uri)
			st.Warnings = append(st.Warnings, err.Error())
			return st
		}
		source := "SEALPIPE_KEY_PASSPHRASE"
		if ent.passFile != "" {
			source = ent.passFile
		}
		st.Where = fmt.Sprintf("%s, passphrase from %s", path, source)
		if c, ok := changes[keeper.PassphraseSecret(path)]; ok {
			changed, st.ChangedFrom = c.Changed, "record"
		} else if fi, err := os.Stat(path); err == nil {
			changed, st.ChangedFrom = fi.ModTime(), "key file"
		}
		if n, err := keeper.Encryptions(path); err != nil {
			st.Warnings = append(st.Warnings, err.Error())
		} else if n > 1 {
			st.Unfinished = true
			st.Warnings = append(st.Warnings, fmt.Sprintf("the key file holds %d encryptions: a passphrase change did not finish, and the previous passphrase still opens it: run sealpipe keys rotate-passphrase %s again", n, ent.alias))
		}
	}
	if st.ChangedFrom == "" {
		st.Warnings = append(st.Warnings, fmt.Sprintf("when the %s last changed is unknown: change it with sealpipe %s %s to start its record", st.Kind, how, ent.alias))
		return st
	}
	changed = changed.UTC()
	st.Changed = &changed
	age := now.Sub(changed)
	st.AgeDays = int(age / (24 * time.Hour))
	if limit := time.Duration(e.settings.SecretMaxAge); limit > 0 && age > limit {
		st.Due = true
		st.Warnings = append(st.Warnings, fmt.Sprintf("the %s last changed %d days ago, longer than SEALPIPE_SECRET_MAX_AGE (%s): change it with sealpipe %s %s", st.Kind, st.AgeDays, days(limit), how, ent.alias))
	}
	return st
}

// days renders d in days when it is a whole number of them.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// isPKCS11 reports whether uri is a pkcs11: key URI.
func isPKCS11(uri string) bool {
	u, err := url.Parse(uri)
	return err == nil && u.Scheme == "pkcs11"
}

// token resolves the token a pkcs11: URI selects.
func (e *Engine) token(uri string) (hsmToken, error) {
	hsm, err := e.hsmPool()
	if err != nil {
		return hsmToken{}, err
	}
	return hsm.token(uri)
}

// WarnSecretAges logs, at the start of `run`, a warning for each secret
// older than SEALPIPE_SECRET_MAX_AGE or whose change did not finish, and
// at level info what else `keys list` warns of.
func (e *Engine) WarnSecretAges(ctx context.Context) {
	secrets, err := e.Secrets(ctx)
	if err != nil {
		e.log.WarnContext(ctx, "the ages of the keys' secrets cannot be told", "err", err)
		return
	}
	for _, s := range secrets {
		for _, w := range s.Warnings {
			level := "info"
			if s.Due || s.Unfinished {
				level = "warn"
			}
			if level == "warn" {
				e.log.WarnContext(ctx, "key secret: "+w, "alias", s.Alias, "kind", s.Kind, "age_days", s.AgeDays)
			} else {
				e.log.InfoContext(ctx, "key secret: "+w, "alias", s.Alias, "kind", s.Kind)
			}
		}
	}
}

// PassphraseRotation asks for a key file's passphrase to change.
type PassphraseRotation struct {
	// Alias names the key in the keyring.
	Alias string
	// New is the new passphrase.
	New []byte
	// PassphraseFile is where the key's passphrase is to be kept: needed
	// for a key that has no passphrase file of its own (its keyring line
	// names none, or one that another key file's aliases share), whose
	// keyring lines then name it. Empty keeps the key's own file.
	PassphraseFile string
	// By names who asks, for the record.
	By string
}

// RotatedPassphrase is what RotatePassphrase did.
type RotatedPassphrase struct {
	// Aliases are the keyring aliases of the key file, Alias among them.
	Aliases []string `json:"aliases"`
	// KeyFile is the key file, re-encrypted.
	KeyFile string `json:"key_file"`
	// PassphraseFile holds the new passphrase.
	PassphraseFile string `json:"passphrase_file"`
	// KeyringChanged is set when the keyring lines now name
	// PassphraseFile.
	KeyringChanged bool `json:"keyring_changed"`
	// Resumed is set when an unfinished rotation to the same passphrase
	// was finished.
	Resumed bool `json:"resumed"`
	// Changed is when the new passphrase took over.
	Changed time.Time `json:"changed"`
}

// RotatePassphrase re-encrypts the key file the keyring names r.Alias
// under r.New and puts r.New in the key's passphrase file, atomically
// (keeper.RotatePassphrase), switching the keyring lines of the key file
// to r.PassphraseFile when that is new. It records the change in
// <data>/state/secrets.json, then opens the key through the keyring by
// each of its aliases to check it is the same key.
func (e *Engine) RotatePassphrase(ctx context.Context, r PassphraseRotation) (*RotatedPassphrase, error) {
	ringPath := e.keyringPath()
	ring, err := readKeyring(ringPath)
	if err != nil {
		return nil, err
	}
	ent, ok := ring[r.Alias]
	if !ok {
		return nil, fmt.Errorf("%w: %q (keyring %s holds %s)", ErrUnknownKey, r.Alias, ringPath, strings.Join(slices.Sorted(maps.Keys(ring)), ", "))
	}
	if isPKCS11(ent.uri) {
		return nil, fmt.Errorf("%w: %q is an HSM key (%s): its token's user PIN changes with sealpipe keys change-pin", ErrSecretSource, r.Alias, redactURI(ent.uri))
	}
	keyFile, err := keys.FilePath(ent.uri)
	if err != nil {
		return nil, err
	}
	// The aliases of this key file, and who else uses its passphrase file.
	var group []string
	own := ent.passFile != ""
	for _, alias := range slices.Sorted(maps.Keys(ring)) {
		other := ring[alias]
		p, err := keys.FilePath(other.uri)
		same := err == nil && !isPKCS11(other.uri) && p == keyFile
		if same {
			group = append(group, alias)
			own = own && other.passFile == ent.passFile
		} else if ent.passFile != "" && other.passFile == ent.passFile {
			own = false
		}
	}
	target := r.PassphraseFile
	if target == "" {
		if !own {
			source := "SEALPIPE_KEY_PASSPHRASE"
			if ent.passFile != "" {
				source = ent.passFile + ", which other keys share"
			}
			return nil, fmt.Errorf("%w: %q has no passphrase file of its own (its passphrase comes from %s): name the file to keep its new passphrase in with --passphrase-file /absolute/path (mode 0600, outside the data folder)", ErrSecretSource, r.Alias, source)
		}
		target = ent.passFile
	}
	if !filepath.IsAbs(target) {
		return nil, fmt.Errorf("%w: passphrase file %q is not an absolute path", ErrSecretSource, target)
	}
	target = filepath.Clean(target)
	if target == keyFile || target == filepath.Clean(ringPath) {
		return nil, fmt.Errorf("%w: the passphrase file %s is the key file or the keyring", ErrSecretSource, target)
	}
	for _, alias := range slices.Sorted(maps.Keys(ring)) {
		if other := ring[alias]; other.passFile == target && !slices.Contains(group, alias) {
			return nil, fmt.Errorf("%w: %s is the passphrase file of %q too, another key: give %q one of its own", ErrSecretSource, target, alias, r.Alias)
		}
	}
	var current []byte
	if ent.passFile != "" {
		if current, err = readSecretFile(ent.passFile); err != nil {
			return nil, fmt.Errorf("%w: keyring %s:%d: passphrase-file: %w", ErrSettings, ringPath, ent.line, err)
		}
	} else if current, err = e.keyPassphrase(); err != nil {
		return nil, err
	}
	rot := keeper.Rotation{
		KeyFile:        keyFile,
		Current:        current,
		New:            r.New,
		PassphraseFile: target,
		Record:         keeper.Ages{Path: e.agesPath()}.Recorder(keeper.PassphraseSecret(keyFile), "rotate-passphrase", r.By),
	}
	out := &RotatedPassphrase{Aliases: group, KeyFile: keyFile, PassphraseFile: target}
	if !own || target != ent.passFile {
		rot.Switch = func() error { return setPassphraseFile(ringPath, group, target) }
		out.KeyringChanged = true
	}
	done, err := keeper.RotatePassphrase(ctx, rot)
	if err != nil {
		return nil, err
	}
	out.Resumed, out.Changed = done.Resumed, done.Changed
	for _, alias := range group {
		key, err := e.OpenKey(ctx, alias)
		if err != nil {
			return out, fmt.Errorf("the passphrase changed, but the keyring does not open %q: %w", alias, err)
		}
		if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(done.Public) {
			return out, fmt.Errorf("the passphrase changed, but the keyring opens another key as %q", alias)
		}
	}
	return out, nil
}

// PINChangeSpec asks for a token's user PIN to change: the token of a
// pkcs11: key of the keyring (Alias), or one named by Token, Module and
// PINSource.
type PINChangeSpec struct {
	// Alias names a pkcs11: key whose URI's pin-source file holds the PIN.
	Alias string
	// Token is the token's label, when no Alias is given.
	Token string
	// Module is the token's PKCS#11 module (empty: SEALPIPE_PKCS11_MODULE),
	// when no Alias is given.
	Module string
	// PINSource is the file holding the token's PIN (file:/abs or /abs),
	// when no Alias is given.
	PINSource string
	// New is the new PIN.
	New string
	// By names who asks, for the record.
	By string
}

// ChangedPIN is what ChangePIN did.
type ChangedPIN struct {
	// Token names the token.
	Token string `json:"token"`
	// PINFile holds the new PIN.
	PINFile string `json:"pin_file"`
	// Aliases are the keyring's keys on the token.
	Aliases []string `json:"aliases"`
	// Recovered says what became of an earlier, unfinished change:
	// "finished", "discarded" or "".
	Recovered string `json:"recovered,omitempty"`
	// Resumed is set when finishing an earlier change to the same PIN was
	// all there was to do.
	Resumed bool `json:"resumed"`
	// Changed is when the token took the new PIN.
	Changed time.Time `json:"changed"`
}

// ChangePIN changes a token's user PIN with C_SetPIN, then the PIN file
// the keyring's pin-source names (keeper.ChangePIN: staged first, renamed
// once the token took it). Every pkcs11: key of the keyring on the token
// must take its PIN from that file. It records the change and, when
// asked by alias, opens the key with the new PIN.
func (e *Engine) ChangePIN(ctx context.Context, spec PINChangeSpec) (*ChangedPIN, error) {
	ring, err := readKeyring(e.keyringPath())
	if err != nil {
		return nil, err
	}
	var uri string
	switch {
	case spec.Alias != "":
		ent, ok := ring[spec.Alias]
		if !ok {
			return nil, fmt.Errorf("%w: %q (keyring %s holds %s)", ErrUnknownKey, spec.Alias, e.keyringPath(), strings.Join(slices.Sorted(maps.Keys(ring)), ", "))
		}
		if !isPKCS11(ent.uri) {
			return nil, fmt.Errorf("%w: %q is a key file (%s): its passphrase changes with sealpipe keys rotate-passphrase", ErrSecretSource, spec.Alias, ent.uri)
		}
		uri = ent.uri
	case spec.Token != "" && spec.PINSource != "":
		q := url.Values{"pin-source": {spec.PINSource}}
		if spec.Module != "" {
			q.Set("module-path", spec.Module)
		}
		uri = "pkcs11:token=" + url.PathEscape(spec.Token) + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	default:
		return nil, fmt.Errorf("%w: name the key by its alias, or the token with its PIN file", ErrSecretSource)
	}
	hsm, err := e.hsmPool()
	if err != nil {
		return nil, err
	}
	tok, err := hsm.token(uri)
	if err != nil {
		return nil, err
	}
	if tok.pinFile == "" {
		return nil, fmt.Errorf("%w: the PIN of token %s comes from SEALPIPE_PKCS11_PIN, which sealpipe cannot update: add pin-source=file:/absolute/path to the key URI", ErrSecretSource, tok.name)
	}
	out := &ChangedPIN{Token: tok.name, PINFile: tok.pinFile}
	for _, alias := range slices.Sorted(maps.Keys(ring)) {
		if !isPKCS11(ring[alias].uri) {
			continue
		}
		other, err := hsm.token(ring[alias].uri)
		if err != nil || other.id != tok.id {
			continue
		}
		if other.pinFile != tok.pinFile {
			source := other.pinFile
			if source == "" {
				source = "SEALPIPE_PKCS11_PIN"
			}
			return nil, fmt.Errorf("%w: %q on the same token takes its PIN from %s, not %s: give the keys of token %s one pin-source first", ErrSecretSource, alias, source, tok.pinFile, tok.name)
		}
		out.Aliases = append(out.Aliases, alias)
	}
	minLen, maxLen, err := hsm.pinLength(ctx, uri)
	if err != nil {
		return nil, err
	}
	done, err := keeper.ChangePIN(ctx, keeper.PINChange{
		Token:   tokenPIN{hsm, uri},
		PINFile: tok.pinFile,
		New:     spec.New,
		MinLen:  minLen,
		MaxLen:  maxLen,
		Record:  keeper.Ages{Path: e.agesPath()}.Recorder(keeper.PINSecret(tok.id), "change-pin", spec.By),
	})
	if err != nil {
		return nil, err
	}
	out.Recovered, out.Resumed, out.Changed = done.Recovered, done.Resumed, done.Changed
	for _, alias := range out.Aliases {
		if _, err := e.OpenKey(ctx, alias); err != nil {
			return out, fmt.Errorf("the PIN changed, but %q does not open with it: %w", alias, err)
		}
	}
	return out, nil
}

// tokenPIN is a keeper.Token: the token uri selects, in the HSM pool.
type tokenPIN struct {
	hsm hsmBackend
	uri string
}

func (t tokenPIN) SetPIN(ctx context.Context, old, new string) error {
	return t.hsm.changePIN(ctx, t.uri, old, new)
}

func (t tokenPIN) Login(ctx context.Context, pin string) error { return t.hsm.login(ctx, t.uri, pin) }

// secretCheck is the `config check` line of one secret: OK with its age,
// or WARN with what needs doing.
func secretCheck(s SecretStatus) CheckResult {
	name := "secret " + s.Alias
	if len(s.Warnings) > 0 {
		return CheckResult{name, CheckWarn, s.Kind + ": " + strings.Join(s.Warnings, "; ")}
	}
	return CheckResult{name, CheckOK, fmt.Sprintf("%s last changed %s (%d days ago; %s)", s.Kind, s.Changed.Format(time.DateOnly), s.AgeDays, s.ChangedFrom)}
}
