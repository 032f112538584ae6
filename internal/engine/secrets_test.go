package engine

import (
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/keys/keeper"
)

const (
	sharedPass = "shared passphrase of the test"
	rotatedTo  = "the rotated passphrase 2026"
)

// secretsDir is a data folder with key files and a keyring of the test's
// own; line is called with the folder and the key files' paths and
// returns the keyring.
type secretsDir struct {
	dir, ring string
	keys      map[string]crypto.PublicKey // by key file name
}

func newSecretsDir(t *testing.T, ring func(dir string) string) *secretsDir {
	t.Helper()
	d := &secretsDir{dir: t.TempDir(), keys: map[string]crypto.PublicKey{}}
	for _, name := range []string{"civil.key", "county.key"} {
		k := testpki.NewKey(t)
		pem, err := keys.MarshalEncryptedPEM(k, []byte(sharedPass))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d.dir, name), pem, 0o600); err != nil {
			t.Fatal(err)
		}
		d.keys[name] = k.Public()
	}
	for _, name := range []string{"civil.pass", "shared.pass"} {
		if err := os.WriteFile(filepath.Join(d.dir, name), []byte(sharedPass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d.ring = filepath.Join(d.dir, "keys.conf")
	if err := os.WriteFile(d.ring, []byte(ring(d.dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *secretsDir) engine(t *testing.T) *Engine {
	e := New(Settings{Data: d.dir, Keys: d.ring, KeyPassphrase: sharedPass})
	t.Cleanup(func() { e.Close() })
	return e
}

// TestRotatePassphraseKeyring rotates a key's passphrase in each way its
// keyring lines can hold it, and checks afterwards that every alias of
// the key file opens it through the keyring, that no other key's source
// changed, and what the keyring lines name.
func TestRotatePassphraseKeyring(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		ring     string // $D stands for the folder
		alias    string
		passFile string // --passphrase-file; $D the folder
		err      error  // nil: rotated
		switched bool   // the keyring lines now name passFile
		aliases  []string
	}{
		{name: "own passphrase file, in place", ring: "civil file://$D/civil.key passphrase-file=$D/civil.pass\ncounty file://$D/county.key\n",
			alias: "civil", aliases: []string{"civil"}},
		{name: "shared passphrase, new file named", ring: "civil file://$D/civil.key\ncounty file://$D/county.key\n",
			alias: "civil", passFile: "$D/new.pass", switched: true, aliases: []string{"civil"}},
		{name: "shared passphrase, no file named", ring: "civil file://$D/civil.key\ncounty file://$D/county.key\n",
			alias: "civil", err: ErrSecretSource},
		{name: "passphrase file shared with another key", ring: "civil file://$D/civil.key passphrase-file=$D/shared.pass\ncounty file://$D/county.key passphrase-file=$D/shared.pass\n",
			alias: "civil", err: ErrSecretSource},
		{name: "passphrase file shared, moved to its own", ring: "civil file://$D/civil.key passphrase-file=$D/shared.pass\ncounty file://$D/county.key passphrase-file=$D/shared.pass\n",
			alias: "civil", passFile: "$D/new.pass", switched: true, aliases: []string{"civil"}},
		{name: "taking another key's passphrase file", ring: "civil file://$D/civil.key\ncounty file://$D/county.key passphrase-file=$D/shared.pass\n",
			alias: "civil", passFile: "$D/shared.pass", err: ErrSecretSource},
		{name: "two aliases of one key file move together", ring: "civil file://$D/civil.key passphrase-file=$D/civil.pass\ncivil-2 file://$D/civil.key\ncounty file://$D/county.key\n",
			alias: "civil-2", passFile: "$D/new.pass", switched: true, aliases: []string{"civil", "civil-2"}},
		{name: "relative passphrase file", ring: "civil file://$D/civil.key\n", alias: "civil", passFile: "new.pass", err: ErrSecretSource},
		{name: "the keyring as passphrase file", ring: "civil file://$D/civil.key\n", alias: "civil", passFile: "$D/keys.conf", err: ErrSecretSource},
		{name: "an HSM key", ring: "hsm pkcs11:token=seals;object=x\n", alias: "hsm", err: ErrSecretSource},
		{name: "unknown alias", ring: "civil file://$D/civil.key\n", alias: "nobody", err: ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := newSecretsDir(t, func(dir string) string { return strings.ReplaceAll(tc.ring, "$D", dir) })
			e := d.engine(t)
			before, _ := os.ReadFile(d.ring)
			res, err := e.RotatePassphrase(t.Context(), PassphraseRotation{
				Alias: tc.alias, New: []byte(rotatedTo), PassphraseFile: strings.ReplaceAll(tc.passFile, "$D", d.dir), By: "test",
			})
			after, _ := os.ReadFile(d.ring)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("RotatePassphrase: %v, want %v", err, tc.err)
				}
				t.Log(err)
				if string(after) != string(before) {
					t.Fatal("a refused rotation changed the keyring")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(res.Aliases, ",") != strings.Join(tc.aliases, ",") || res.KeyringChanged != tc.switched {
				t.Fatalf("rotated %+v", res)
			}
			ring, err := readKeyring(d.ring)
			if err != nil {
				t.Fatal(err)
			}
			for _, alias := range tc.aliases {
				if tc.switched && ring[alias].passFile != res.PassphraseFile {
					t.Errorf("%s: passphrase-file %q, want %q", alias, ring[alias].passFile, res.PassphraseFile)
				}
				key, err := e.OpenKey(t.Context(), alias)
				if err != nil {
					t.Fatalf("%s does not open: %v", alias, err)
				}
				if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(d.keys["civil.key"]) {
					t.Fatalf("%s opens another key", alias)
				}
			}
			// The other key, and its passphrase, are as they were.
			if ent, ok := ring["county"]; ok {
				if _, err := e.OpenKey(t.Context(), "county"); err != nil {
					t.Fatalf("county: %v", err)
				}
				if ent.passFile != "" {
					if b, _ := os.ReadFile(ent.passFile); string(b) != sharedPass+"\n" {
						t.Fatalf("county's passphrase file holds %q", b)
					}
				}
			}
			if !tc.switched && string(after) != string(before) {
				t.Fatalf("the keyring changed:\n%s", after)
			}
			if b, _ := os.ReadFile(res.PassphraseFile); string(b) != rotatedTo+"\n" {
				t.Fatalf("%s holds %q", res.PassphraseFile, b)
			}
			secrets, err := e.Secrets(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if s.Alias == tc.alias && (s.ChangedFrom != "record" || s.AgeDays != 0 || len(s.Warnings) > 0) {
					t.Fatalf("after the rotation: %+v", s)
				}
			}
		})
	}
}

// TestSecrets: each alias's secret, where its age comes from, and when it
// warns.
func TestSecrets(t *testing.T) {
	t.Parallel()
	d := newSecretsDir(t, func(dir string) string {
		return "civil file://" + dir + "/civil.key passphrase-file=" + dir + "/civil.pass\n" +
			"county file://" + dir + "/county.key\n" +
			"ghost file://" + dir + "/no-such.key\n" +
			"hsm pkcs11:token=seals;object=x?module-path=/nonexistent/module.so\n"
	})
	// civil: recorded 100 days ago; county: its key file, written 10 days
	// ago, but holding two encryptions (a rotation that did not finish).
	old := time.Now().Add(-100 * 24 * time.Hour)
	if err := (keeper.Ages{Path: filepath.Join(d.dir, "state", "secrets.json")}).Recorder(keeper.PassphraseSecret(filepath.Join(d.dir, "civil.key")), "rotate-passphrase", "test")(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	county := filepath.Join(d.dir, "county.key")
	b, _ := os.ReadFile(county)
	if err := os.WriteFile(county, append(b, b...), 0o600); err != nil {
		t.Fatal(err)
	}
	tenDays := time.Now().Add(-10 * 24 * time.Hour)
	if err := os.Chtimes(county, tenDays, tenDays); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		maxAge time.Duration
		want   map[string]string // alias → kind, changed from, age, due, unfinished, first warning's start
	}{
		{90 * 24 * time.Hour, map[string]string{
			"civil":  "passphrase record 100 due=true unfinished=false the passphrase last changed 100 days ago, longer than SEALPIPE_SECRET_MAX_AGE (90 days)",
			"county": "passphrase key file 10 due=false unfinished=true the key file holds 2 encryptions",
			"ghost":  "passphrase  -1 due=false unfinished=false keeper: open",
			"hsm":    "pin  -1 due=false unfinished=false its token cannot be resolved",
		}},
		{365 * 24 * time.Hour, map[string]string{
			"civil": "passphrase record 100 due=false unfinished=false ",
		}},
		{time.Duration(RetentionOff), map[string]string{
			"civil": "passphrase record 100 due=false unfinished=false ",
		}},
	} {
		e := New(Settings{Data: d.dir, Keys: d.ring, KeyPassphrase: sharedPass, SecretMaxAge: Retention(tc.maxAge)})
		defer e.Close()
		secrets, err := e.Secrets(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			want, ok := tc.want[s.Alias]
			if !ok {
				continue
			}
			first := ""
			if len(s.Warnings) > 0 {
				first = s.Warnings[0]
			}
			got := strings.Join([]string{s.Kind, s.ChangedFrom, strconv.Itoa(s.AgeDays), "due=" + strconv.FormatBool(s.Due), "unfinished=" + strconv.FormatBool(s.Unfinished), first}, " ")
			if !strings.HasPrefix(got, want) {
				t.Errorf("max age %v, %s:\n got %s\nwant %s…", tc.maxAge, s.Alias, got, want)
			}
		}
		var warn []string
		for _, r := range e.Check(t.Context()) {
			if strings.HasPrefix(r.Check, "secret ") && r.Status == CheckWarn {
				warn = append(warn, strings.TrimPrefix(r.Check, "secret "))
			}
		}
		if tc.maxAge == 90*24*time.Hour && strings.Join(warn, ",") != "civil,county,ghost,hsm" {
			t.Errorf("config check warns of %v", warn)
		}
	}
}
