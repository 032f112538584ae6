package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/keys/keeper"
	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// The keyring is the worker's own configuration of its signing keys: the
// registry, kept in the bucket, names a seal's key by an alias, and only
// the keyring — a local file — says where that key is. So nothing read
// from the bucket chooses a file path, a PKCS#11 module, a PIN source or a
// URL the worker opens. One key a line:
//
//	# alias        key URI                                         options
//	civil-affairs  file:///etc/sealpipe/keys/civil-affairs.key    passphrase-file=/run/secrets/civil-affairs
//	county-office  pkcs11:token=seals;object=county-office
//	pipeline       pkcs11:token=seals;object=pipeline
//
// A key file's passphrase comes from its passphrase-file, else from
// SEALPIPE_KEY_PASSPHRASE (or the development passphrase); a pkcs11: key's
// PIN from its URI's pin-source, else SEALPIPE_PKCS11_PIN. pkcs11: keys are
// opened only through modules SEALPIPE_PKCS11_MODULE(S) allow.

// keyringEntry is one line of the keyring.
type keyringEntry struct {
	alias, uri string
	passFile   string // passphrase-file=
	line       int
}

// ErrUnknownKey reports a key alias the keyring does not hold.
var ErrUnknownKey = errors.New("key alias not in the keyring")

// keyringPath is the keyring file in force.
func (e *Engine) keyringPath() string {
	if e.settings.Keys != "" {
		return e.settings.Keys
	}
	return filepath.Join(e.settings.Data, "keys.conf")
}

// readKeyring reads the keyring at path; a missing file is an empty one.
func readKeyring(path string) (map[string]keyringEntry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]keyringEntry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: keyring: %w", ErrSettings, err)
	}
	defer f.Close()
	out := map[string]keyringEntry{}
	sc := bufio.NewScanner(io.LimitReader(f, 4<<20))
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: keyring %s:%d: %s", ErrSettings, path, n, fmt.Sprintf(format, args...))
		}
		if len(fields) < 2 {
			return nil, bad("want ALIAS KEY-URI [passphrase-file=PATH]")
		}
		ent := keyringEntry{alias: fields[0], uri: fields[1], line: n}
		if err := registry.CheckKeyAlias(ent.alias); err != nil {
			return nil, bad("%v", err)
		}
		if _, dup := out[ent.alias]; dup {
			return nil, bad("alias %q appears twice", ent.alias)
		}
		for _, opt := range fields[2:] {
			k, v, _ := strings.Cut(opt, "=")
			switch {
			case k == "passphrase-file" && filepath.IsAbs(v):
				ent.passFile = v
			default:
				return nil, bad("unknown option %q (want passphrase-file=/absolute/path)", opt)
			}
		}
		out[ent.alias] = ent
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: keyring %s: %w", ErrSettings, path, err)
	}
	return out, nil
}

// AddKey records in the keyring that alias names the key at uri, for the
// commands that make development material. An alias already naming uri is
// left alone; one naming another key is an error.
func (e *Engine) AddKey(alias, uri string) error {
	if err := registry.CheckKeyAlias(alias); err != nil {
		return err
	}
	if strings.ContainsAny(uri, " \t\r\n") {
		return fmt.Errorf("%w: key URI %q holds white space", ErrSettings, uri)
	}
	path := e.keyringPath()
	ring, err := readKeyring(path)
	if err != nil {
		return err
	}
	if old, ok := ring[alias]; ok {
		if old.uri == uri {
			return nil
		}
		return fmt.Errorf("%w: keyring %s:%d: alias %q already names %s", ErrSettings, path, old.line, alias, redactURI(old.uri))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		fmt.Fprintf(f, "# sealpipe keyring: ALIAS KEY-URI [passphrase-file=PATH] (see `sealpipe --help`)\n")
	}
	_, err = fmt.Fprintf(f, "%-16s %s\n", alias, uri)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// OpenKey opens the signing key the keyring names alias: a pkcs11: key in
// the HSM pool the PKCS11 settings configure, a key file with its
// passphrase. Use Signers to share opened keys.
func (e *Engine) OpenKey(ctx context.Context, alias string) (crypto.Signer, error) {
	ring, err := readKeyring(e.keyringPath())
	if err != nil {
		return nil, err
	}
	ent, ok := ring[alias]
	if !ok {
		return nil, fmt.Errorf("%w: %q (keyring %s holds %s)", ErrUnknownKey, alias, e.keyringPath(), strings.Join(slices.Sorted(maps.Keys(ring)), ", "))
	}
	var pass []byte
	if ent.passFile != "" {
		if pass, err = readSecretFile(ent.passFile); err != nil {
			return nil, fmt.Errorf("%w: keyring %s:%d: passphrase-file: %w", ErrSettings, e.keyringPath(), ent.line, err)
		}
	}
	return e.openURI(ctx, ent.uri, pass)
}

// openURI opens the key at uri: in the HSM pool for pkcs11:, else with
// pass or, if nil, the configured key passphrase.
func (e *Engine) openURI(ctx context.Context, uri string, pass []byte) (crypto.Signer, error) {
	if u, err := url.Parse(uri); err == nil && u.Scheme == "pkcs11" {
		hsm, err := e.hsmPool()
		if err != nil {
			return nil, err
		}
		return hsm.Open(ctx, u, keys.Options{Passphrase: []byte(e.settings.PKCS11.PIN)})
	}
	if pass == nil {
		var err error
		if pass, err = e.keyPassphrase(); err != nil {
			return nil, err
		}
	}
	return keys.Open(ctx, uri, keys.Options{Passphrase: pass})
}

// readSecretFile reads a passphrase file: one trailing newline dropped,
// empty or oversized files refused.
func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	switch {
	case err != nil:
		return nil, err
	case len(b) > maxSecretFile:
		return nil, fmt.Errorf("%s is over %d bytes: not a secret", path, maxSecretFile)
	}
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	if len(b) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return b, nil
}

// redactURI drops what a URI may carry that is secret, for messages.
func redactURI(uri string) string {
	if i := strings.IndexAny(uri, "?"); i >= 0 {
		return uri[:i] + "?…"
	}
	return uri
}

// setPassphraseFile rewrites the keyring at path so that the lines of
// aliases name passFile as their passphrase-file, keeping every other
// line as it is, in one atomic replacement of the file: the commit point
// of a passphrase rotation that gives a key a passphrase file of its own.
func setPassphraseFile(path string, aliases []string, passFile string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: keyring: %w", ErrSettings, err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	done := 0
	for i, line := range lines {
		fields := strings.Fields(line)
		if len(fields) < 2 || !slices.Contains(aliases, fields[0]) {
			continue
		}
		lines[i] = fmt.Sprintf("%-16s %s passphrase-file=%s\n", fields[0], fields[1], passFile)
		done++
	}
	if done != len(aliases) {
		return fmt.Errorf("%w: keyring %s changed meanwhile: %d of the lines of %s found", ErrSettings, path, done, strings.Join(aliases, ", "))
	}
	return keeper.WriteFileAtomic(path, []byte(strings.Join(lines, "")), 0o600)
}
