package keeper

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Token is the HSM token whose user PIN ChangePIN changes.
type Token interface {
	// SetPIN changes the user PIN from old to new (C_SetPIN). An error
	// means the token did not change it.
	SetPIN(ctx context.Context, old, new string) error
	// Login checks pin: nil if the token accepts it as the user PIN, an
	// error if it refuses it or cannot be asked.
	Login(ctx context.Context, pin string) error
}

// PINChange says which token's PIN to change, and which file holds it.
type PINChange struct {
	// Token is the token.
	Token Token
	// PINFile holds the current user PIN (the keyring's pin-source) and
	// gets the new one.
	PINFile string
	// New is the new PIN; CheckPIN must accept it with MinLen and MaxLen.
	New string
	// MinLen and MaxLen are the token's PIN length bounds (0: unknown).
	MinLen, MaxLen int
	// Record, if not nil, records when the PIN changed, once the PIN file
	// holds the new PIN (Ages.Recorder).
	Record func(context.Context, time.Time) error

	hook hook // tests: crash points
}

// PINChanged is what ChangePIN did.
type PINChanged struct {
	// PINFile is PINChange's.
	PINFile string
	// Changed is when the token took the new PIN.
	Changed time.Time
	// Recovered is set when an earlier change had left its staged PIN:
	// "finished" if the token had taken it (the PIN file now holds it),
	// "discarded" if it had not.
	Recovered string
	// Resumed is set when that earlier change was to New: finishing it
	// was all there was to do.
	Resumed bool
}

// The crash points of a PIN change.
const (
	pointStaged  point = "new PIN staged"
	pointSetPIN  point = "token took the new PIN"
	pointPINFile point = "PIN file holds the new PIN"
)

// PendingPINFile is the staging file of a PIN change of the PIN file at
// path: it holds the new PIN from before the token is asked to take it
// until the PIN file holds it. Its presence means a change did not
// finish; ChangePIN run again finishes it.
func PendingPINFile(path string) string { return path + ".pending" }

// ChangePIN changes c.Token's user PIN from the one c.PINFile holds to
// c.New, then c.PINFile: the new PIN is staged durably in
// PendingPINFile(c.PINFile) first, the token asked to change, and the
// staging file renamed over the PIN file once it has. An earlier change
// that left a staging file is finished (or discarded, if the token never
// took its PIN) first. It refuses a PIN that CheckPIN refuses or that is
// the current one (ErrWeakSecret), changing nothing; a token that refuses
// the change leaves the PIN file and the token as they were. Changes of
// PIN files in one folder run one at a time, across processes.
func ChangePIN(ctx context.Context, c PINChange) (*PINChanged, error) {
	if !filepath.IsAbs(c.PINFile) {
		return nil, fmt.Errorf("keeper: PIN file %q is not an absolute path", c.PINFile)
	}
	unlock, err := lockDir(ctx, filepath.Dir(c.PINFile))
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := &PINChanged{PINFile: c.PINFile}
	current, err := readSecret(c.PINFile)
	if err != nil {
		return nil, err
	}
	pending := PendingPINFile(c.PINFile)
	if staged, err := readSecret(pending); err == nil {
		if current, err = c.recover(ctx, current, staged, out); err != nil {
			return nil, err
		}
		if out.Recovered == "finished" && c.New == current {
			out.Resumed = true
			return out, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}

	if c.New == current {
		return nil, fmt.Errorf("%w: the new PIN is the current one", ErrWeakSecret)
	}
	if err := CheckPIN(c.New, c.MinLen, c.MaxLen); err != nil {
		return nil, err
	}
	if err := writeAtomic(pending, []byte(c.New+"\n"), 0o600, c.hook); err != nil {
		return nil, err
	}
	if err := c.hook.at(pointStaged); err != nil {
		return nil, err
	}
	if err := c.Token.SetPIN(ctx, current, c.New); err != nil {
		os.Remove(pending)
		return nil, fmt.Errorf("keeper: the token did not change the PIN (the PIN file is unchanged): %w", err)
	}
	if err := c.hook.at(pointSetPIN); err != nil {
		return nil, err
	}
	if err := c.finish(ctx, pending, out); err != nil {
		return nil, err
	}
	return out, nil
}

// recover settles the staging file an earlier change left: if the token
// still accepts current, that change never reached it and the staging
// file goes; if it accepts staged instead, the change is finished. It
// returns the PIN the token has.
func (c PINChange) recover(ctx context.Context, current, staged string, out *PINChanged) (string, error) {
	pending := PendingPINFile(c.PINFile)
	if err := c.Token.Login(ctx, current); err == nil {
		if err := os.Remove(pending); err != nil {
			return "", fmt.Errorf("keeper: %w", err)
		}
		out.Recovered = "discarded"
		return current, nil
	} else if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if err := c.Token.Login(ctx, staged); err != nil {
		return "", fmt.Errorf("%w (%s, %s): %w", ErrPINUnknown, c.PINFile, pending, err)
	}
	if err := c.finish(ctx, pending, out); err != nil {
		return "", err
	}
	out.Recovered = "finished"
	return staged, nil
}

// finish renames the staging file over the PIN file and records the
// change.
func (c PINChange) finish(ctx context.Context, pending string, out *PINChanged) error {
	if err := sameOwnerAs(pending, c.PINFile); err != nil {
		return err
	}
	if err := renameDurably(pending, c.PINFile); err != nil {
		return err
	}
	if err := c.hook.at(pointPINFile); err != nil {
		return err
	}
	out.Changed = time.Now().UTC()
	if c.Record != nil {
		if err := c.Record(ctx, out.Changed); err != nil {
			return fmt.Errorf("keeper: the PIN changed, but the change was not recorded: %w", err)
		}
	}
	return nil
}

// sameOwnerAs gives the file at path the mode and owner of the file at
// like, if that exists.
func sameOwnerAs(path, like string) error {
	old, err := os.Stat(like)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("keeper: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("keeper: %w", err)
	}
	defer f.Close()
	if err := f.Chmod(old.Mode().Perm()); err != nil {
		return fmt.Errorf("keeper: %w", err)
	}
	if err := sameOwner(f, old); err != nil {
		return fmt.Errorf("keeper: %s: %w", path, err)
	}
	return nil
}
