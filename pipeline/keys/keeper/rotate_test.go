package keeper

import (
	"bytes"
	"context"
	"crypto"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/pkcs8"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

var errCrash = errors.New("keeper test: crash")

// cheapEncrypt is keys.MarshalEncryptedPEM with 1,000 PBKDF2 iterations
// instead of 250,000, so that the crash tests, which open and encrypt
// keys dozens of times, take milliseconds: the format is the same.
func cheapEncrypt(key crypto.Signer, pass []byte) ([]byte, error) {
	der, err := pkcs8.MarshalPrivateKey(key, pass, pkcs.NewPBESEncrypter(pkcs.SM4CBC, pkcs.NewPBKDF2Opts(pkcs.SM3, 16, 1000)))
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), nil
}

const (
	oldPass = "the old passphrase 2025"
	newPass = "a new passphrase for 2026"
)

// keyDir is a key file with its passphrase source, as the engine's
// keyring gives it: a passphrase file of the key's own ("own" mode), or a
// source file naming the passphrase file in force, which the rotation
// switches to a new one ("switch" mode, a keyring line in small).
type keyDir struct {
	t          *testing.T
	dir        string
	key        string // the key file
	pub        crypto.PublicKey
	source     string // switch mode: the file naming the passphrase file in force
	moveSource bool
}

func newKeyDir(t *testing.T, switchSource bool) *keyDir {
	t.Helper()
	d := &keyDir{t: t, dir: t.TempDir(), moveSource: switchSource}
	d.key = filepath.Join(d.dir, "unit.key")
	k, err := keys.GenerateSM2()
	if err != nil {
		t.Fatal(err)
	}
	d.pub = k.Public()
	pemBytes, err := cheapEncrypt(k, []byte(oldPass))
	if err != nil {
		t.Fatal(err)
	}
	// A certificate kept in the key file stays there.
	pemBytes = append(pemBytes, []byte("-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n")...)
	write(t, d.key, string(pemBytes))
	write(t, filepath.Join(d.dir, "old.pass"), oldPass+"\n")
	if switchSource {
		d.source = filepath.Join(d.dir, "keyring")
		write(t, d.source, filepath.Join(d.dir, "old.pass"))
	}
	return d
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// passFile is the passphrase file in force.
func (d *keyDir) passFile() string {
	if d.moveSource {
		return read(d.t, d.source)
	}
	return filepath.Join(d.dir, "old.pass")
}

// rotation is the rotation to newPass the engine would make from what is
// on disk now: from the passphrase in force, switching the source to
// new.pass unless it names it already.
func (d *keyDir) rotation(h hook) Rotation {
	current := strings.TrimSuffix(read(d.t, d.passFile()), "\n")
	r := Rotation{KeyFile: d.key, Current: []byte(current), New: []byte(newPass), PassphraseFile: d.passFile(), hook: h, encrypt: cheapEncrypt}
	if d.moveSource && d.passFile() != filepath.Join(d.dir, "new.pass") {
		r.PassphraseFile = filepath.Join(d.dir, "new.pass")
		r.Switch = func() error { return WriteFileAtomic(d.source, []byte(r.PassphraseFile), 0o600) }
	}
	return r
}

// opens checks that the key file opens, to the same key, with the
// passphrase its source holds, and returns that passphrase.
func (d *keyDir) opens() string {
	d.t.Helper()
	pass := strings.TrimSuffix(read(d.t, d.passFile()), "\n")
	if pass != oldPass && pass != newPass {
		d.t.Fatalf("the passphrase in force is %q: neither the old nor the new one", pass)
	}
	uri, _ := keys.FileURI(d.key)
	k, err := keys.Open(context.Background(), uri, keys.Options{Passphrase: []byte(pass)})
	if err != nil {
		d.t.Fatalf("the key file does not open with the passphrase in force (%s): %v", pass, err)
	}
	if !samePublic(k.Public(), d.pub) {
		d.t.Fatal("the key file opens to another key")
	}
	if !strings.Contains(read(d.t, d.key), "BEGIN CERTIFICATE") {
		d.t.Fatal("the certificate kept in the key file is gone")
	}
	return pass
}

// done checks the end state: the new passphrase in force, one encryption,
// the old passphrase refused.
func (d *keyDir) done() {
	d.t.Helper()
	if pass := d.opens(); pass != newPass {
		d.t.Fatalf("passphrase in force %q, want the new one", pass)
	}
	if n, err := Encryptions(d.key); err != nil || n != 1 {
		d.t.Fatalf("Encryptions = %d, %v; want 1", n, err)
	}
	if _, err := keys.ParseEncryptedPEM([]byte(read(d.t, d.key)), []byte(oldPass)); !errors.Is(err, keys.ErrBadPassphrase) {
		d.t.Fatalf("the old passphrase: %v, want ErrBadPassphrase", err)
	}
}

// TestRotatePassphraseCrash crashes a rotation at every point where it
// writes or switches something — half-way through writing each file, and
// after each durable step — and checks that the key file then opens with
// the passphrase its source holds, old or new, to the same key, and that
// running the rotation again finishes it.
func TestRotatePassphraseCrash(t *testing.T) {
	for _, mode := range []struct {
		name       string
		moveSource bool
	}{{"own passphrase file", false}, {"switch to a new passphrase file", true}} {
		t.Run(mode.name, func(t *testing.T) {
			// The points a whole rotation passes.
			var points []point
			d := newKeyDir(t, mode.moveSource)
			recorded := 0
			r := d.rotation(func(p point) error { points = append(points, p); return nil })
			r.Record = func(context.Context, time.Time) error { recorded++; return nil }
			if _, err := RotatePassphrase(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			d.done()
			if recorded != 1 {
				t.Fatalf("recorded %d times", recorded)
			}
			want := []point{pointBoth, pointSource, pointNewOnly}
			for _, p := range want {
				if !containsPoint(points, p) {
					t.Fatalf("points %q lack %q", points, p)
				}
			}
			if mode.moveSource != containsPoint(points, pointSwitched) {
				t.Fatalf("points %q: switched %v", points, !mode.moveSource)
			}
			t.Logf("%d crash points: %q", len(points), points)

			for i, crashAt := range points {
				t.Run(fmt.Sprintf("%d %s", i+1, crashAt), func(t *testing.T) {
					d := newKeyDir(t, mode.moveSource)
					passed := 0
					r := d.rotation(func(point) error {
						if passed++; passed == i+1 {
							return errCrash
						}
						return nil
					})
					if _, err := RotatePassphrase(context.Background(), r); !errors.Is(err, errCrash) {
						t.Fatalf("RotatePassphrase: %v, want the crash", err)
					}
					inForce := d.opens()
					n, _ := Encryptions(d.key) // 1 or 2
					// The same command run again finishes the rotation, or
					// says there is nothing left to do.
					got, err := RotatePassphrase(context.Background(), d.rotation(nil))
					switch {
					case errors.Is(err, ErrWeakSecret) && inForce == newPass && n == 1:
						t.Logf("run again: %v", err)
					case err != nil:
						t.Fatalf("run again: %v", err)
					default:
						t.Logf("run again: resumed %v", got.Resumed)
					}
					d.done()
				})
			}
		})
	}
}

func containsPoint(ps []point, p point) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// TestRotatePassphraseRefuses: what a rotation refuses changes nothing.
func TestRotatePassphraseRefuses(t *testing.T) {
	for _, c := range []struct {
		name    string
		current string
		new     string
		plain   bool // an unencrypted key file
		want    error
	}{
		{"empty", oldPass, "", false, ErrWeakSecret},
		{"short", oldPass, "Sh0rt!", false, ErrWeakSecret},
		{"repetitive", oldPass, "abababababababab", false, ErrWeakSecret},
		{"consecutive", oldPass, "abcdefghijklmnop", false, ErrWeakSecret},
		{"the current one", oldPass, oldPass, false, ErrWeakSecret},
		{"wrong current passphrase", "not the passphrase", newPass, false, keys.ErrBadPassphrase},
		{"unencrypted key file", oldPass, newPass, true, keys.ErrUnencryptedKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newKeyDir(t, false)
			if c.plain {
				write(t, d.key, "-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----\n")
			}
			before := read(t, d.key)
			r := d.rotation(nil)
			r.Current, r.New = []byte(c.current), []byte(c.new)
			_, err := RotatePassphrase(context.Background(), r)
			if !errors.Is(err, c.want) {
				t.Fatalf("RotatePassphrase: %v, want %v", err, c.want)
			}
			t.Log(err)
			if read(t, d.key) != before || read(t, d.passFile()) != oldPass+"\n" {
				t.Fatal("a refused rotation changed a file")
			}
			if _, err := os.Stat(tempName(d.key)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("temporary file left: %v", err)
			}
		})
	}
}

// TestWriteFileAtomicKeepsMode: a file replaced keeps its mode; a new one
// gets the mode asked for.
func TestWriteFileAtomicKeepsMode(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old")
	write(t, old, "before")
	if err := os.Chmod(old, 0o640); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{old, 0o640}, {filepath.Join(dir, "new"), 0o600}} {
		if err := WriteFileAtomic(c.path, []byte("after"), 0o600); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(c.path)
		if err != nil || fi.Mode().Perm() != c.mode || !bytes.Equal([]byte(read(t, c.path)), []byte("after")) {
			t.Fatalf("%s: %v %v, want mode %v", c.path, fi.Mode(), err, c.mode)
		}
	}
}
