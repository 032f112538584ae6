package keeper

import (
	"path/filepath"
	"testing"
	"time"
)

// TestAges: changes recorded survive a new Ages on the same file (a
// restart), and a later change of one secret leaves the others.
func TestAges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "secrets.json")
	if got, err := (Ages{path}).Load(); err != nil || len(got) != 0 {
		t.Fatalf("Load of no file = %v, %v", got, err)
	}
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t2 := t1.Add(90 * 24 * time.Hour)
	key, pin := PassphraseSecret("/etc/sealpipe/keys/../keys/unit.key"), PINSecret("/usr/lib/softhsm/libsofthsm2.so token=\"seals\"")
	for _, step := range []struct {
		secret string
		at     time.Time
		how    string
	}{{key, t1, "rotate-passphrase"}, {pin, t1, "change-pin"}, {key, t2, "rotate-passphrase"}} {
		if err := (Ages{path}).Recorder(step.secret, step.how, "local:keeper")(t.Context(), step.at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := (Ages{path}).Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[key].Changed.Equal(t2) || !got[pin].Changed.Equal(t1) || got[pin].How != "change-pin" || got[key].By != "local:keeper" {
		t.Fatalf("Load = %+v", got)
	}
	if key != "passphrase:/etc/sealpipe/keys/unit.key" {
		t.Fatalf("PassphraseSecret = %q", key)
	}
}
