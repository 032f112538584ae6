package engine

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSampleConfig keeps deploy/sealpipe.conf.sample the file SampleConfig
// derives from Settings (-update rewrites it).
func TestSampleConfig(t *testing.T) {
	path := filepath.Join("..", "..", SampleConfigPath)
	want := SampleConfig()
	got, err := os.ReadFile(path)
	if err == nil && bytes.Equal(got, want) {
		return
	}
	if !*update {
		t.Fatalf("%s is stale (%v); run go test ./internal/engine -run SampleConfig -update", SampleConfigPath, err)
	}
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSampleConfigLoads loads the sample as --config does: no warning, and
// the settings are the defaults; every setting is in it.
func TestSampleConfigLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sealpipe.conf")
	sample := SampleConfig()
	if err := os.WriteFile(path, sample, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Load(path, func(string) (string, bool) { return "", false }, log)
	if err != nil {
		t.Fatal(err)
	}
	if logs.Len() > 0 {
		t.Errorf("loading the sample logged:\n%s", logs.String())
	}
	if want := (Settings{}).WithDefaults(); !reflect.DeepEqual(s, want) {
		t.Errorf("sample loads as\n%+v\nwant the defaults\n%+v", s, want)
	}

	// Uncommented, each line still loads: the defaults parse.
	uncommented := filepath.Join(t.TempDir(), "uncommented.conf")
	var b strings.Builder
	for _, line := range strings.Split(string(sample), "\n") {
		if strings.HasPrefix(line, "#SEALPIPE_") {
			line = line[1:]
		}
		b.WriteString(line + "\n")
	}
	if err := os.WriteFile(uncommented, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Load(uncommented, func(string) (string, bool) { return "", false }, log); err != nil {
		t.Errorf("uncommented sample: %v", err)
	} else if want := (Settings{}).WithDefaults(); !reflect.DeepEqual(s, want) {
		t.Errorf("uncommented sample loads as\n%+v\nwant the defaults\n%+v", s, want)
	}
	if logs.Len() > 0 {
		t.Errorf("loading the uncommented sample logged:\n%s", logs.String())
	}
	for _, st := range Table() {
		if !strings.Contains(string(sample), "\n#"+st.Key+"=") {
			t.Errorf("sample lacks %s", st.Key)
		}
	}
}
