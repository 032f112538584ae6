package engine

import (
	"errors"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline"
)

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"0": 0, "268435456": 256 << 20, "256MiB": 256 << 20, "256mib": 256 << 20, "256Mi": 256 << 20,
		"1 GiB": 1 << 30, "2TiB": 2 << 40, "64KiB": 64 << 10, "512B": 512,
		"500MB": 500e6, "1kB": 1000, "3GB": 3e9, " 7 ": 7,
	} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "+1", "1.5GiB", "12 parsecs", "1 M", "9223372036854775807KiB", "99999999999999999999"} {
		if got, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
	for _, b := range []ByteSize{0, 1, 1000, 1 << 10, 256 << 20, 3 << 30, 5 << 40, 1<<20 + 1} {
		if got, err := ParseByteSize(b.String()); err != nil || got != b {
			t.Errorf("%d → %q → %d, %v", int64(b), b.String(), got, err)
		}
	}
}

// TestMemoryBudgetSetting: SEALPIPE_MEMORY_BUDGET takes units, refuses
// what it cannot read, and defaults to the pipeline's default.
func TestMemoryBudgetSetting(t *testing.T) {
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, k == "SEALPIPE_MEMORY_BUDGET" }
	}
	s, err := Load("", env("1GiB"), nil)
	if err != nil || s.MemoryBudget != 1<<30 {
		t.Fatalf("1GiB: %d, %v", s.MemoryBudget, err)
	}
	var se *SettingError
	if _, err := Load("", env("a lot"), nil); !errors.As(err, &se) || se.Key != "SEALPIPE_MEMORY_BUDGET" || !errors.Is(err, ErrSettings) {
		t.Fatalf("a lot: %v", err)
	}
	if d := (Settings{}).WithDefaults().MemoryBudget; d != pipeline.DefaultMemoryBudget {
		t.Fatalf("default %s, the pipeline's is %d", d, pipeline.DefaultMemoryBudget)
	}
	found := false
	for _, v := range s.Values() {
		found = found || v == "SEALPIPE_MEMORY_BUDGET=1GiB"
	}
	if !found {
		t.Fatalf("Values() lacks SEALPIPE_MEMORY_BUDGET=1GiB: %q", s.Values())
	}
}
