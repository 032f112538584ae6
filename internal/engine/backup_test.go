package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestRekey(t *testing.T) {
	t.Parallel()
	const ring = `# sealpipe keyring
registrar        file:///srv/old/pki/registrar.key
pipeline  file:///srv/old/pki/pipeline.key   passphrase-file=/srv/old/pki/pass
civil-hsm pkcs11:token=seals;object=civil
other     file:///srv/old-2/pki/x.key
#commented file:///srv/old/pki/y.key
last      file:///srv/old/pki/last.key`
	for _, tc := range []struct {
		name, old, now string
		want           string
		changed        int
	}{
		{"same folder", "/srv/old", "/srv/old", ring, 0},
		{"no folder recorded", "", "/srv/new", ring, 0},
		{"moved", "/srv/old", "/data/new", `# sealpipe keyring
registrar file:///data/new/pki/registrar.key
pipeline file:///data/new/pki/pipeline.key passphrase-file=/data/new/pki/pass
civil-hsm pkcs11:token=seals;object=civil
other     file:///srv/old-2/pki/x.key
#commented file:///srv/old/pki/y.key
last file:///data/new/pki/last.key
`, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n := rekey([]byte(ring), tc.old, tc.now)
			if string(got) != tc.want || n != tc.changed {
				t.Fatalf("rekey = %d lines\n%s\nwant %d\n%s", n, got, tc.changed, tc.want)
			}
		})
	}
}

func TestBackupLocationRefused(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	local := New(Settings{Data: data})
	remote := New(Settings{Data: data, Bucket: "sealpipe", S3: S3Settings{Endpoint: "http://127.0.0.1:1"}})
	for _, tc := range []struct {
		e    *Engine
		to   string
		want string
	}{
		{local, "", "want a folder or s3://"},
		{local, "https://example/x", "want a folder or s3://"},
		{local, "s3://b/p", "s3:// needs the S3 settings"},
		{remote, "s3:///p", "want s3://bucket/prefix"},
		{remote, "s3://b/a//c", "empty segment"},
		{remote, "s3://sealpipe/backups", "the store's own bucket"},
		{local, filepath.Join(data, "store", "x"), "inside the local store"},
		{local, filepath.Join(data, "pki"), "inside the local store or the PKI folder"},
		{local, data, "holding them"},
	} {
		_, err := tc.e.backupLocation(context.Background(), tc.to, true)
		if !errors.Is(err, ErrBackupLocation) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("backupLocation(%q) = %v, want ErrBackupLocation saying %q", tc.to, err, tc.want)
		}
	}
}
