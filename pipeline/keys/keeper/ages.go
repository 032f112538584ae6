package keeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Change is the record of a secret's last change.
type Change struct {
	// Changed is when it changed.
	Changed time.Time `json:"changed"`
	// How names the command that changed it, such as "rotate-passphrase".
	How string `json:"how"`
	// By names who ran it, such as "local:root".
	By string `json:"by,omitempty"`
}

// Ages is the record of when each secret last changed, kept in the JSON
// file at Path (the engine's is <data>/state/secrets.json), by secret: a
// key file's passphrase as PassphraseSecret names it, a token's user PIN
// as PINSecret does. A missing file is an empty record.
type Ages struct {
	// Path is the record's file.
	Path string
}

// agesFile is the record's JSON form.
type agesFile struct {
	Version int               `json:"version"`
	Secrets map[string]Change `json:"secrets"`
}

// PassphraseSecret names the passphrase of the key file at path in Ages.
func PassphraseSecret(path string) string { return "passphrase:" + filepath.Clean(path) }

// PINSecret names the user PIN of a token in Ages, by the token's
// identity (its module and the attributes that select it).
func PINSecret(token string) string { return "pin:" + token }

// Load returns every recorded change, by secret.
func (a Ages) Load() (map[string]Change, error) {
	b, err := readBounded(a.Path, 4<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Change{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f agesFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("keeper: %s: %w", a.Path, err)
	}
	if f.Secrets == nil {
		f.Secrets = map[string]Change{}
	}
	return f.Secrets, nil
}

// Record records c as the last change of secret: the file is read,
// updated and replaced atomically, one writer at a time (waiting for the
// others as long as ctx allows).
func (a Ages) Record(ctx context.Context, secret string, c Change) error {
	dir := filepath.Dir(a.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keeper: %w", err)
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	all, err := a.Load()
	if err != nil {
		return err
	}
	all[secret] = c
	b, err := json.MarshalIndent(agesFile{Version: 1, Secrets: all}, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(a.Path, append(b, '\n'), 0o600)
}

// Recorder returns a Rotation.Record or PINChange.Record function that
// records the change of secret, made with how by by.
func (a Ages) Recorder(secret, how, by string) func(context.Context, time.Time) error {
	return func(ctx context.Context, t time.Time) error {
		return a.Record(ctx, secret, Change{Changed: t, How: how, By: by})
	}
}
