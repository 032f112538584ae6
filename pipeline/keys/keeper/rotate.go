package keeper

import (
	"bytes"
	"context"
	"crypto"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// maxKeyFile bounds a key file read here, as package keys bounds it.
const maxKeyFile = 1 << 20

// Rotation says which key file to re-encrypt, from which passphrase to
// which, and where the new passphrase goes.
type Rotation struct {
	// KeyFile is the path of the SM4-encrypted key file.
	KeyFile string
	// Current is the passphrase that opens it now.
	Current []byte
	// New is the passphrase to encrypt it under. CheckPassphrase must
	// accept it, and it must differ from Current (but see Rotated.Resumed).
	New []byte
	// PassphraseFile is the file that holds New once the rotation is
	// done: the key's passphrase source. It is replaced atomically (or
	// created, mode 0600).
	PassphraseFile string
	// Switch, if not nil, makes PassphraseFile the key's passphrase
	// source (the keyring line), in one atomic step, once PassphraseFile
	// holds New. Nil when PassphraseFile already is the source.
	Switch func() error
	// Record, if not nil, records when the passphrase changed, once the
	// old one opens the key file no more (Ages.Recorder).
	Record func(context.Context, time.Time) error

	hook    hook                                        // tests: crash points
	encrypt func(crypto.Signer, []byte) ([]byte, error) // tests: a cheaper KDF; nil: keys.MarshalEncryptedPEM
}

// Rotated is what RotatePassphrase did.
type Rotated struct {
	// KeyFile and PassphraseFile are Rotation's.
	KeyFile, PassphraseFile string
	// Public is the key's public key: the key did not change.
	Public crypto.PublicKey
	// Changed is when the new passphrase took over.
	Changed time.Time
	// Resumed is set when the key file still held two encryptions of an
	// earlier rotation to New, and the passphrase source already held
	// New: the rotation just dropped the older encryption.
	Resumed bool
}

// The crash points of a rotation, after each durable step.
const (
	pointBoth     point = "key file holds both encryptions"
	pointSource   point = "passphrase file holds the new passphrase"
	pointSwitched point = "keyring switched to the passphrase file"
	pointNewOnly  point = "key file holds the new encryption only"
)

// RotatePassphrase re-encrypts r.KeyFile under r.New and puts r.New in
// r.PassphraseFile, in the steps the package comment lists, so that a
// crash at any point leaves a key file that opens with the passphrase its
// source then holds. It refuses, changing nothing, a new passphrase that
// CheckPassphrase refuses or that equals the current one (ErrWeakSecret),
// a key file that is not encrypted (keys.ErrUnencryptedKey) and a current
// passphrase that opens none of its encryptions (keys.ErrBadPassphrase).
// Rotations of keys in one folder run one at a time, across processes.
func RotatePassphrase(ctx context.Context, r Rotation) (*Rotated, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(r.PassphraseFile) {
		return nil, fmt.Errorf("keeper: passphrase file %q is not an absolute path", r.PassphraseFile)
	}
	unlock, err := lockDir(ctx, filepath.Dir(r.KeyFile))
	if err != nil {
		return nil, err
	}
	defer unlock()

	raw, err := readBounded(r.KeyFile, maxKeyFile)
	if err != nil {
		return nil, err
	}
	key, current, err := openCurrent(r.KeyFile, raw, r.Current)
	if err != nil {
		return nil, err
	}
	others := otherBlocks(raw)
	out := &Rotated{KeyFile: r.KeyFile, PassphraseFile: r.PassphraseFile, Public: key.Public()}
	finish := func() (*Rotated, error) {
		if err := writeAtomic(r.KeyFile, pemFile(others, current), 0o600, r.hook); err != nil {
			return nil, err
		}
		if err := r.hook.at(pointNewOnly); err != nil {
			return nil, err
		}
		out.Changed = time.Now().UTC()
		if r.Record != nil {
			if err := r.Record(ctx, out.Changed); err != nil {
				return out, fmt.Errorf("keeper: the passphrase of %s changed, but the change was not recorded: %w", r.KeyFile, err)
			}
		}
		return out, nil
	}

	if bytes.Equal(r.New, r.Current) {
		// Run again after a crash between steps 2 and 3, the same
		// command finishes the rotation; otherwise there is nothing to do.
		if len(keys.EncryptedBlocks(raw)) > 1 && r.Switch == nil {
			out.Resumed = true
			return finish()
		}
		return nil, fmt.Errorf("%w: the new passphrase is the current one", ErrWeakSecret)
	}
	if err := CheckPassphrase(r.New); err != nil {
		return nil, err
	}
	encrypt := r.encrypt
	if encrypt == nil {
		encrypt = keys.MarshalEncryptedPEM
	}
	encrypted, err := encrypt(key, r.New)
	if err != nil {
		return nil, err
	}
	next := keys.EncryptedBlocks(encrypted)[0]
	// Check what is about to be written: the new encryption opens with
	// the new passphrase, to the same key.
	if again, err := keys.ParseEncryptedPEM(encrypted, r.New); err != nil || !samePublic(again.Public(), key.Public()) {
		return nil, fmt.Errorf("keeper: the key re-encrypted does not open to the same key (%v): nothing changed", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// 1. Both encryptions: the key file opens with either passphrase.
	if err := writeAtomic(r.KeyFile, pemFile(others, next, current), 0o600, r.hook); err != nil {
		return nil, err
	}
	if err := r.hook.at(pointBoth); err != nil {
		return nil, err
	}
	// 2. The new passphrase in its file, and that file made the source.
	if err := writeAtomic(r.PassphraseFile, append(bytes.Clone(r.New), '\n'), 0o600, r.hook); err != nil {
		return nil, err
	}
	if err := r.hook.at(pointSource); err != nil {
		return nil, err
	}
	if r.Switch != nil {
		if err := r.Switch(); err != nil {
			return nil, fmt.Errorf("keeper: the key file %s opens with the current passphrase and the new one (in %s), but the passphrase source was not switched: %w", r.KeyFile, r.PassphraseFile, err)
		}
		if err := r.hook.at(pointSwitched); err != nil {
			return nil, err
		}
	}
	// 3. The new encryption alone: the old passphrase opens it no more.
	current = next
	return finish()
}

// openCurrent decrypts the key file's encryption that pass opens and
// returns the key and that encryption.
func openCurrent(path string, raw, pass []byte) (crypto.Signer, *pem.Block, error) {
	blocks := keys.EncryptedBlocks(raw)
	if len(blocks) == 0 {
		return nil, nil, fmt.Errorf("keeper: %s: %w: only an encrypted key file has a passphrase to change", path, keys.ErrUnencryptedKey)
	}
	if len(blocks) > keys.MaxEncryptions {
		return nil, nil, fmt.Errorf("keeper: %s: %w: %d encryptions", path, keys.ErrMalformedKey, len(blocks))
	}
	var first error
	for _, b := range blocks {
		key, err := keys.ParseEncryptedPEM(pem.EncodeToMemory(b), pass)
		if err == nil {
			return key, b, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, nil, fmt.Errorf("keeper: the current passphrase does not open %s: %w", path, first)
}

// otherBlocks returns the PEM blocks of a key file that are no private
// key (a certificate kept beside it), which a rotation keeps.
func otherBlocks(raw []byte) []*pem.Block {
	var out []*pem.Block
	for rest := raw; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return out
		}
		if !bytes.Contains([]byte(b.Type), []byte("PRIVATE KEY")) {
			out = append(out, b)
		}
	}
}

// pemFile encodes the key blocks, then the others.
func pemFile(others []*pem.Block, keyBlocks ...*pem.Block) []byte {
	var buf bytes.Buffer
	for _, b := range append(keyBlocks, others...) {
		buf.Write(pem.EncodeToMemory(b))
	}
	return buf.Bytes()
}

// samePublic reports whether a and b are the same public key.
func samePublic(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// Encryptions returns how many encryptions of its key the key file at
// path holds: 1, or 2 after a rotation that did not finish (the previous
// passphrase still opens it; run the rotation again).
func Encryptions(path string) (int, error) {
	raw, err := readBounded(path, maxKeyFile)
	if err != nil {
		return 0, err
	}
	return len(keys.EncryptedBlocks(raw)), nil
}

// readBounded reads at most limit bytes of path.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keeper: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("keeper: read %s: %w", path, err)
	case int64(len(b)) > limit:
		return nil, fmt.Errorf("keeper: %s is over %d bytes", path, limit)
	}
	return b, nil
}

// readSecret reads a passphrase or PIN file: one trailing newline dropped,
// an empty file refused.
func readSecret(path string) (string, error) {
	b, err := ReadNew(path)
	if err != nil {
		return "", err
	}
	if len(b) == 0 {
		return "", fmt.Errorf("keeper: %s is empty", path)
	}
	return string(b), nil
}

// ReadNew reads a new passphrase or PIN from the file at path, one
// trailing newline dropped: what CheckPassphrase or CheckPIN then judges
// (an empty file too).
func ReadNew(path string) ([]byte, error) {
	b, err := readBounded(path, 4<<10)
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r")), nil
}
