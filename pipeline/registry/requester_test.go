package registry_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// TestRequesterRecorded: who asked for a change through the admin API is
// written inside the signed change and replayed into the seal's history;
// an edit of it breaks the log, and changes without one (the command
// line's, and every log from before) verify as before.
func TestRequesterRecorded(t *testing.T) {
	t.Parallel()
	reg, req, p, st := newRegistry(t)
	ctx := context.Background()
	admin := &registry.Principal{Name: "admin-wang", Role: "admin", Fingerprint: strings.Repeat("ab", 32)}
	keeper := &registry.Principal{Name: "keeper-zhao", Role: "keeper", Fingerprint: strings.Repeat("cd", 32)}
	req.Requester = admin
	if _, err := reg.Make(ctx, req, p.admin); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.ChangeStatus(ctx, req.ID, registry.StatusChange{To: registry.StatusSuspended, Reason: "lost", Requester: keeper}, p.admin); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.SetStatus(ctx, req.ID, registry.StatusActive, "found", p.admin); err != nil {
		t.Fatal(err)
	}
	grants := []registry.ApproverGrant{{Cert: p.li, Departments: []string{"civil-affairs"}}}
	if _, err := reg.ChangeApprovers(ctx, req.ID, registry.ApproversChange{Grants: grants, Reason: "li approves", Requester: admin}, p.admin); err != nil {
		t.Fatal(err)
	}
	e, err := registry.New(st, p.pool).Get(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []*registry.Principal{admin, keeper, nil, admin}
	if len(e.History) != len(want) {
		t.Fatalf("history %+v", e.History)
	}
	for i, ev := range e.History {
		if ev.Actor != "registrar" || (ev.Requester == nil) != (want[i] == nil) || ev.Requester != nil && *ev.Requester != *want[i] {
			t.Errorf("event %d: actor %q requester %+v, want registrar and %+v", i+1, ev.Actor, ev.Requester, want[i])
		}
	}
	if !bytes.Contains(get(t, st, "registry/seals/"+req.ID+"/log/000002.json"), []byte(`"requester"`)) {
		t.Error("change 2 does not name its requester")
	}
	if problems, err := reg.Verify(ctx); err != nil || problems != nil {
		t.Fatalf("Verify = %v, %v", problems, err)
	}

	// A requester that names nobody is refused before anything is written.
	for _, bad := range []*registry.Principal{{Role: "keeper", Fingerprint: keeper.Fingerprint}, {Name: "x", Role: "keeper"}} {
		if _, err := reg.ChangeStatus(ctx, req.ID, registry.StatusChange{To: registry.StatusSuspended, Reason: "r", Requester: bad}, p.admin); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("requester %+v: %v, want ErrInvalid", bad, err)
		}
	}

	// The requester is under the administrator's signature.
	edit(t, st, "registry/seals/"+req.ID+"/log/000002.json", "keeper-zhao", "keeper-qian")
	fresh := registry.New(st, p.pool)
	if _, err := fresh.Get(ctx, req.ID); !errors.Is(err, registry.ErrTampered) {
		t.Fatalf("Get after editing the requester = %v, want ErrTampered", err)
	}
}
