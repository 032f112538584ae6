package registry_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/storage/fs"
)

// TestResetMarks: a restore lowers marks on purpose; raising goes on from
// there, and marks of seals the restore does not name go.
func TestResetMarks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := fs.Open(t.TempDir(), "state")
	if err != nil {
		t.Fatal(err)
	}
	m := registry.StoredMarks(st, "marks.json")
	for _, step := range []struct {
		do   func() (map[string]int, error)
		old  string // marks replaced, if the step replaces them
		want string // marks after it
	}{
		{func() (map[string]int, error) { return nil, m.Raise(ctx, "a", 3) }, "", "map[a:3]"},
		{func() (map[string]int, error) { return nil, m.Raise(ctx, "b", 2) }, "", "map[a:3 b:2]"},
		{func() (map[string]int, error) {
			return registry.ResetMarks(ctx, st, "marks.json", map[string]int{"a": 1})
		}, "map[a:3 b:2]", "map[a:1]"},
		{func() (map[string]int, error) { return nil, m.Raise(ctx, "a", 2) }, "", "map[a:2]"},
		{func() (map[string]int, error) { return registry.ResetMarks(ctx, st, "marks.json", nil) }, "map[a:2]", "map[]"},
	} {
		old, err := step.do()
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Load(ctx)
		if err != nil || fmt.Sprint(got) != step.want || step.old != "" && fmt.Sprint(old) != step.old {
			t.Fatalf("marks %v %v (replaced %v), want %s (replaced %s)", got, err, old, step.want, step.old)
		}
	}
}
