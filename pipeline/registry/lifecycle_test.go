package registry_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/storage"
)

// TestReasonCodes: a suspension or revocation records a reason code from
// the fixed set (county rules 第十三–十四条), CodeOther when none is given;
// a code outside the set, a code on an activation, and superseded without
// a successor are refused before anything is written.
func TestReasonCodes(t *testing.T) {
	t.Parallel()
	reg, req, p, _ := newRegistry(t)
	ctx := context.Background()
	if _, err := reg.Make(ctx, req, p.admin); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		change   registry.StatusChange
		want     error
		wantCode registry.ReasonCode // of the event written, if any
	}{
		{"suspended, lost", registry.StatusChange{To: registry.StatusSuspended, Code: registry.CodeLost, Reason: "the token is missing"}, nil, registry.CodeLost},
		{"activated with a code", registry.StatusChange{To: registry.StatusActive, Code: registry.CodeOther, Reason: "found"}, registry.ErrInvalid, ""},
		{"activated", registry.StatusChange{To: registry.StatusActive, Reason: "found"}, nil, ""},
		{"suspended without a code", registry.StatusChange{To: registry.StatusSuspended, Reason: "audit"}, nil, registry.CodeOther},
		{"a code outside the set", registry.StatusChange{To: registry.StatusRevoked, Code: "misplaced", Reason: "r"}, registry.ErrReasonCode, ""},
		{"superseded without a successor", registry.StatusChange{To: registry.StatusRevoked, Code: registry.CodeSuperseded, Reason: "r"}, registry.ErrInvalid, ""},
		{"a successor without superseded", registry.StatusChange{To: registry.StatusRevoked, Code: registry.CodeStolen, Successor: "33010200000002", Reason: "r"}, registry.ErrInvalid, ""},
		{"revoked, stolen", registry.StatusChange{To: registry.StatusRevoked, Code: registry.CodeStolen, Reason: "reported to the police"}, nil, registry.CodeStolen},
	} {
		before, err := reg.Get(ctx, req.ID)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := reg.ChangeStatus(ctx, req.ID, tc.change, p.admin)
		if tc.want != nil {
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if after, _ := reg.Get(ctx, req.ID); after.Head != before.Head {
				t.Errorf("%s: refused, but written", tc.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		ev := rec.History[len(rec.History)-1]
		if ev.Code != tc.wantCode || ev.Status != tc.change.To {
			t.Errorf("%s: event %+v, want code %q", tc.name, ev, tc.wantCode)
		}
	}
	rec, err := reg.Get(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	ops := []registry.Op{registry.OpRegister, registry.OpSuspend, registry.OpActivate, registry.OpSuspend, registry.OpRevoke}
	if len(rec.History) != len(ops) {
		t.Fatalf("history %+v", rec.History)
	}
	for i, ev := range rec.History {
		if ev.Op != ops[i] {
			t.Errorf("event %d: op %q, want %q", i+1, ev.Op, ops[i])
		}
	}
}

// TestSupersede: a change of seal (county rules 第十三条) registers the
// new seal naming its predecessor, then revokes the old with
// CodeSuperseded naming its successor. Documents sealed before still find
// the old seal active at their signing time; a change that stopped
// between the two steps leaves both active and Supersede finishes it;
// successors that do not name the old seal, second successors and
// successors of revoked seals are refused.
func TestSupersede(t *testing.T) {
	t.Parallel()
	reg, req, p, st := newRegistry(t)
	ctx := context.Background()
	const oldID, newID = "33010200000001", "33010200000002"
	if _, err := reg.Make(ctx, req, p.admin); err != nil {
		t.Fatal(err)
	}
	signedAt := time.Now().Truncate(time.Second) // a signature recorded now, before the change

	// Refused before the successor is registered, or for a seal that
	// does not name the old one.
	if _, err := reg.Supersede(ctx, oldID, newID, "", nil, p.admin); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Supersede before the successor = %v, want ErrNotFound", err)
	}
	if _, err := reg.Make(ctx, p.request("33010200000009"), p.admin); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Supersede(ctx, oldID, "33010200000009", "", nil, p.admin); !errors.Is(err, registry.ErrSuccessor) {
		t.Fatalf("Supersede by a seal that is no successor = %v, want ErrSuccessor", err)
	}
	unknown := p.request("33010200000008")
	unknown.Predecessor = "33010200000077"
	if _, err := reg.Make(ctx, unknown, p.admin); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("Make with an unregistered predecessor = %v, want ErrInvalid", err)
	}

	// The successor first: both are active (a crash here leaves this).
	succ := p.request(newID)
	succ.Predecessor = oldID
	made, err := reg.Make(ctx, succ, p.admin)
	if err != nil {
		t.Fatal(err)
	}
	if made.Predecessor != oldID || made.History[0].Predecessor != oldID || made.History[0].Op != registry.OpRegister {
		t.Fatalf("successor %+v", made.Record)
	}
	if old, _ := reg.Get(ctx, oldID); old.Status != registry.StatusActive {
		t.Fatalf("old seal %s before Supersede", old.Status)
	}

	// Then the old revoked, naming it; again is a no-op.
	old, err := reg.Supersede(ctx, oldID, newID, "", nil, p.admin)
	if err != nil {
		t.Fatal(err)
	}
	ev := old.History[len(old.History)-1]
	if old.Status != registry.StatusRevoked || old.Successor != newID || ev.Code != registry.CodeSuperseded || ev.Successor != newID || ev.Op != registry.OpRevoke {
		t.Fatalf("old seal after Supersede %+v, event %+v", old, ev)
	}
	again, err := reg.Supersede(ctx, oldID, newID, "", nil, p.admin)
	if err != nil || again.Head != old.Head {
		t.Fatalf("Supersede again = head %d, %v; want head %d, nil", again.Head, err, old.Head)
	}
	if st := old.StatusAt(signedAt); st != registry.StatusActive {
		t.Errorf("old seal at a signing time before the change: %s, want active", st)
	}

	// One successor only; none for a seal revoked otherwise.
	second := p.request("33010200000003")
	second.Predecessor = oldID
	if _, err := reg.Make(ctx, second, p.admin); !errors.Is(err, registry.ErrSuccessor) {
		t.Fatalf("second successor = %v, want ErrSuccessor", err)
	}
	if _, err := reg.ChangeStatus(ctx, "33010200000009", registry.StatusChange{To: registry.StatusRevoked, Code: registry.CodeUnitDissolved, Reason: "merged"}, p.admin); err != nil {
		t.Fatal(err)
	}
	second.Predecessor = "33010200000009"
	if _, err := reg.Make(ctx, second, p.admin); !errors.Is(err, registry.ErrSuccessor) {
		t.Fatalf("successor of a revoked seal = %v, want ErrSuccessor", err)
	}

	// The references are under the administrator's signature.
	if problems, err := reg.Verify(ctx); err != nil || problems != nil {
		t.Fatalf("Verify = %v, %v", problems, err)
	}
	edit(t, st, storage.PrefixRegistry+"seals/"+oldID+"/log/000002.json", `"successor":"`+newID+`"`, `"successor":"33010200000009"`)
	if _, err := registry.New(st, p.pool).Get(ctx, oldID); !errors.Is(err, registry.ErrTampered) {
		t.Fatalf("Get after editing the successor = %v, want ErrTampered", err)
	}
}

// TestLifecycleFieldsReplayed: replay checks the lifecycle fields of
// every signed change, not only the registry's own writes — a change an
// administrator signed with a code on an approvers change, or superseded with
// no successor, does not verify — and a suspension written before codes
// were recorded verifies with none.
func TestLifecycleFieldsReplayed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change registry.Change
		ok     bool
	}{
		{"a suspension of before codes", registry.Change{Op: registry.OpSuspend, Reason: "audit"}, true},
		{"a suspension, stolen", registry.Change{Op: registry.OpSuspend, Code: registry.CodeStolen, Reason: "stolen"}, true},
		{"a code outside the set", registry.Change{Op: registry.OpSuspend, Code: "misplaced", Reason: "r"}, false},
		{"approvers with a code", registry.Change{Op: registry.OpApprovers, Code: registry.CodeOther, Reason: "r"}, false},
		{"superseded without a successor", registry.Change{Op: registry.OpRevoke, Code: registry.CodeSuperseded, Reason: "r"}, false},
		{"a successor, stolen", registry.Change{Op: registry.OpRevoke, Code: registry.CodeStolen, Successor: "33010200000002", Reason: "r"}, false},
		{"superseded by itself", registry.Change{Op: registry.OpRevoke, Code: registry.CodeSuperseded, Successor: "33010200000001", Reason: "r"}, false},
		{"a predecessor after registration", registry.Change{Op: registry.OpSuspend, Predecessor: "33010200000002", Reason: "r"}, false},
		{"an application after registration", registry.Change{Op: registry.OpSuspend, Code: registry.CodeLost, Application: "app-1", Reason: "r"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg, req, p, st := newRegistry(t)
			made, err := reg.Make(ctx, req, p.admin)
			if err != nil {
				t.Fatal(err)
			}
			c := tc.change
			if c.Op == registry.OpApprovers {
				c.Approvers = made.Approvers
			}
			c.Seal, c.Seq, c.Prev, c.At = req.ID, 2, sm3hex(get(t, st, registry.ChangeKey(req.ID, 1))), time.Now().UTC()
			obj, err := p.admin.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			put(t, st, registry.ChangeKey(req.ID, 2), obj)
			e, err := registry.New(st, p.pool).Get(ctx, req.ID)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("Get = %v", err)
			case tc.ok && (e.Head != 2 || e.History[1].Code != c.Code):
				t.Fatalf("history %+v", e.History)
			case !tc.ok && !errors.Is(err, registry.ErrTampered):
				t.Fatalf("Get = %v, want ErrTampered", err)
			}
		})
	}
}

func sm3hex(b []byte) string {
	sum := sm3.Sum(b)
	return hex.EncodeToString(sum[:])
}

// TestApplicationRegistrationReplayed: a registration naming the
// application the seal was made from must start the seal suspended (it
// is activated when filed), and one that does not name one must not set
// a status; replay holds both, whatever an administrator signed.
func TestApplicationRegistrationReplayed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		application string
		status      registry.Status
		ok          bool
	}{
		{"made from an application, suspended", "app-1", registry.StatusSuspended, true},
		{"made from an application, active", "app-1", "", false},
		{"made from an application, revoked", "app-1", registry.StatusRevoked, false},
		{"no application, suspended", "", registry.StatusSuspended, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg, req, p, st := newRegistry(t)
			if _, err := reg.Make(ctx, req, p.admin); err != nil {
				t.Fatal(err)
			}
			payload, _, err := signed.Open(get(t, st, registry.ChangeKey(req.ID, 1)))
			if err != nil {
				t.Fatal(err)
			}
			var c registry.Change
			if err := json.Unmarshal(payload, &c); err != nil {
				t.Fatal(err)
			}
			c.Application, c.Status = tc.application, tc.status
			obj, err := p.admin.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			put(t, st, registry.ChangeKey(req.ID, 1), obj)
			head, err := p.admin.Marshal(map[string]any{"seal": req.ID, "seq": 1, "sm3": sm3hex(obj), "at": c.At})
			if err != nil {
				t.Fatal(err)
			}
			put(t, st, storage.PrefixRegistry+"seals/"+req.ID+"/head.json", head)
			e, err := registry.New(st, p.pool).Get(ctx, req.ID)
			switch {
			case tc.ok && (err != nil || e.Status != registry.StatusSuspended || e.Application != tc.application):
				t.Fatalf("Get = %+v, %v; want suspended, made from %s", e, err, tc.application)
			case !tc.ok && !errors.Is(err, registry.ErrTampered):
				t.Fatalf("Get = %v, want ErrTampered", err)
			}
		})
	}
}
