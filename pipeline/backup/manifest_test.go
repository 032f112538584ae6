package backup_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/backup"
)

const digest = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"

func validManifest() backup.Manifest {
	at := time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC)
	return backup.Manifest{
		Format: backup.Format, Version: "v1.2.3", Created: at.Add(time.Second), AsOf: at, Bucket: "sealpipe", Data: "/srv/sealpipe",
		Seals: []backup.Seal{{ID: "33010200000001", Registry: 2, UsageLog: 1}, {ID: "33010200000002", Registry: 1}},
		Objects: []backup.Object{
			{Name: "data/keys.conf", Size: 10, SM3: digest, Mode: "0600"},
			{Name: "data/pki/root.key", Size: 0, SM3: digest, Mode: "0600"},
			{Name: "store/registry/seals/33010200000001/head.json", Size: 300, SM3: digest},
		},
	}
}

func TestParseManifest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		edit  func(m *backup.Manifest)
		raw   string // instead of the edited manifest
		wrong string // in the error; "" for a manifest that parses
	}{
		{name: "valid", edit: func(*backup.Manifest) {}},
		{name: "no objects", edit: func(m *backup.Manifest) { m.Objects, m.Seals = nil, nil }},
		{name: "another format", edit: func(m *backup.Manifest) { m.Format = "sealpipe-backup/2" }, wrong: "format"},
		{name: "unknown field", raw: `{"format":"sealpipe-backup/1","extra":1}`, wrong: "unknown field"},
		{name: "two documents", raw: `{"format":"sealpipe-backup/1"} {}`, wrong: "after the manifest"},
		{name: "not JSON", raw: `<xml/>`, wrong: "invalid character"},
		{name: "no time", edit: func(m *backup.Manifest) { m.Created = time.Time{} }, wrong: "not a time"},
		{name: "as of after taken", edit: func(m *backup.Manifest) { m.AsOf = m.Created.Add(time.Second) }, wrong: "not a time"},
		{name: "name outside store and data", edit: func(m *backup.Manifest) { m.Objects[2].Name = "other/x" }, wrong: "not under"},
		{name: "name climbing out", edit: func(m *backup.Manifest) { m.Objects[1].Name = "data/../../etc/passwd" }, wrong: `".." segment`},
		{name: "absolute data path", edit: func(m *backup.Manifest) { m.Objects[1].Name = "data//etc/passwd" }, wrong: `begins with "/"`},
		{name: "bare prefix", edit: func(m *backup.Manifest) { m.Objects[2].Name = "store/" }, wrong: "empty"},
		{name: "backslash", edit: func(m *backup.Manifest) { m.Objects[1].Name = `data/pki\root.key` }, wrong: "backslash"},
		{name: "out of order", edit: func(m *backup.Manifest) { m.Objects[0], m.Objects[1] = m.Objects[1], m.Objects[0] }, wrong: "out of order"},
		{name: "listed twice", edit: func(m *backup.Manifest) { m.Objects[1] = m.Objects[0] }, wrong: "out of order or listed twice"},
		{name: "negative size", edit: func(m *backup.Manifest) { m.Objects[2].Size = -1 }, wrong: "size -1"},
		{name: "short digest", edit: func(m *backup.Manifest) { m.Objects[2].SM3 = digest[:63] }, wrong: "64 lower-case hex"},
		{name: "upper-case digest", edit: func(m *backup.Manifest) { m.Objects[2].SM3 = strings.ToUpper(digest) }, wrong: "64 lower-case hex"},
		{name: "store object with a mode", edit: func(m *backup.Manifest) { m.Objects[2].Mode = "0644" }, wrong: "file mode"},
		{name: "data file without a mode", edit: func(m *backup.Manifest) { m.Objects[0].Mode = "" }, wrong: "mode"},
		{name: "setuid mode", edit: func(m *backup.Manifest) { m.Objects[0].Mode = "4755" }, wrong: "mode"},
		{name: "seal with a slash", edit: func(m *backup.Manifest) { m.Seals[0].ID = "a/b" }, wrong: "not a seal identifier"},
		{name: "seals out of order", edit: func(m *backup.Manifest) { m.Seals[0], m.Seals[1] = m.Seals[1], m.Seals[0] }, wrong: "out of order"},
		{name: "negative count", edit: func(m *backup.Manifest) { m.Seals[0].UsageLog = -1 }, wrong: "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.raw)
			if tc.edit != nil {
				m := validManifest()
				tc.edit(&m)
				var err error
				if raw, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
			}
			m, err := backup.ParseManifest(raw)
			switch {
			case tc.wrong == "" && err != nil:
				t.Fatalf("ParseManifest = %v", err)
			case tc.wrong == "":
				if again, _ := json.Marshal(m); string(again) != string(raw) {
					t.Fatalf("parsed %s\nfrom %s", again, raw)
				}
			case !errors.Is(err, backup.ErrVerify) || !strings.Contains(err.Error(), tc.wrong):
				t.Fatalf("ParseManifest = %v, want ErrVerify saying %q", err, tc.wrong)
			}
		})
	}
}

// FuzzParseManifest: whatever a backup's manifest holds, ParseManifest
// returns a manifest whose every name is a store or data path that stays
// inside its folder, or an error wrapping ErrVerify; it never panics.
func FuzzParseManifest(f *testing.F) {
	good, err := json.Marshal(validManifest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"sealpipe-backup/1","created":"2026-01-01T00:00:00Z","as_of":"2026-01-01T00:00:00Z","objects":[{"name":"data/a","size":1,"sm3":"` + digest + `","mode":"0600"}]}`))
	f.Add([]byte(`{"objects":[{"name":"store/../x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := backup.ParseManifest(data)
		if err != nil {
			if !errors.Is(err, backup.ErrVerify) {
				t.Fatalf("error %v does not wrap ErrVerify", err)
			}
			return
		}
		for _, o := range m.Objects {
			rest, ok := strings.CutPrefix(o.Name, backup.DataPrefix)
			if !ok {
				rest, ok = strings.CutPrefix(o.Name, backup.StorePrefix)
			}
			if !ok || rest == "" || strings.HasPrefix(rest, "/") || strings.Contains("/"+rest+"/", "/../") || strings.Contains(rest, `\`) || o.Size < 0 {
				t.Fatalf("accepted object %+v", o)
			}
		}
	})
}
