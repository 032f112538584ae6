package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
)

// TestTamper is the attacker with write access to the bucket: each edit of
// a seal's log — the un-revoke of issue 7 among them — makes the seal
// unusable with a *TamperError naming the object at fault, for a registry
// reading the store afresh as for the one that wrote it, and Verify lists
// the seal.
func TestTamper(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	const id = "33010200000001"
	prefix := storage.PrefixRegistry + "seals/" + id + "/"
	change := func(n string) string { return prefix + "log/" + n + ".json" }
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, st storage.Store, before map[string][]byte)
		object string // the object the error names
		fresh  bool   // only a registry that has not seen the newer head is fooled
	}{
		{name: "a change edited", object: change("000002"), attack: func(t *testing.T, st storage.Store, _ map[string][]byte) {
			edit(t, st, change("000002"), "suspend", "activate")
		}},
		{name: "an approver added to the registration", object: change("000001"), attack: func(t *testing.T, st storage.Store, _ map[string][]byte) {
			edit(t, st, change("000001"), `"departments":["civil-affairs"]`, `"departments":["civil-affairs","county-office"]`)
		}},
		{name: "a change replaced by an unsigned one", object: change("000003"), attack: func(t *testing.T, st storage.Store, _ map[string][]byte) {
			payload, _, err := signed.Open(get(t, st, change("000003")))
			if err != nil {
				t.Fatal(err)
			}
			put(t, st, change("000003"), payload)
		}},
		{name: "the revocation deleted (un-revoke)", object: prefix + "head.json", attack: func(t *testing.T, st storage.Store, _ map[string][]byte) {
			del(t, st, change("000004"))
		}},
		{name: "the revocation deleted and the older head put back", object: prefix + "head.json", fresh: true, attack: func(t *testing.T, st storage.Store, before map[string][]byte) {
			del(t, st, change("000004"))
			put(t, st, prefix+"head.json", before[prefix+"head.json"])
		}},
		{name: "a middle change deleted", object: change("000002"), attack: func(t *testing.T, st storage.Store, _ map[string][]byte) {
			del(t, st, change("000002"))
		}},
		{name: "two changes swapped", object: change("000002"), attack: func(t *testing.T, st storage.Store, _ map[string][]byte) {
			a, b := get(t, st, change("000002")), get(t, st, change("000003"))
			put(t, st, change("000002"), b)
			put(t, st, change("000003"), a)
		}},
		{name: "a change signed by an outsider", object: change("000005"), attack: func(t *testing.T, st storage.Store, _ map[string][]byte) {
			obj, err := p.outsider.Marshal(registry.Change{Seal: id, Seq: 5, Prev: "", Op: registry.OpActivate, At: p.admin.Cert.NotBefore.Add(1)})
			if err != nil {
				t.Fatal(err)
			}
			put(t, st, change("000005"), obj)
		}},
		{name: "the SESeal replaced", object: change("000001"), attack: func(t *testing.T, st storage.Store, _ map[string][]byte) {
			esl := get(t, st, prefix+"seal.esl")
			put(t, st, prefix+"seal.esl", append(esl, 0))
		}},
		{name: "the head deleted", object: prefix + "head.json", attack: func(t *testing.T, st storage.Store, _ map[string][]byte) {
			del(t, st, prefix+"head.json")
		}},
		{name: "the head signed by an outsider", object: prefix + "head.json", attack: func(t *testing.T, st storage.Store, _ map[string][]byte) {
			payload, _, err := signed.Open(get(t, st, prefix+"head.json"))
			if err != nil {
				t.Fatal(err)
			}
			var h map[string]any
			if err := json.Unmarshal(payload, &h); err != nil {
				t.Fatal(err)
			}
			obj, err := p.outsider.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			put(t, st, prefix+"head.json", obj)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := fs.Open(t.TempDir(), "registry-test")
			if err != nil {
				t.Fatal(err)
			}
			reg := registry.New(st, p.pool)
			ctx := context.Background()
			if _, err := reg.Make(ctx, p.request(id), p.admin); err != nil {
				t.Fatal(err)
			}
			before := map[string][]byte{}
			for i, to := range []registry.Status{registry.StatusSuspended, registry.StatusActive, registry.StatusRevoked} {
				if i == 2 {
					before[prefix+"head.json"] = get(t, st, prefix+"head.json")
				}
				if _, err := reg.SetStatus(ctx, id, to, "lifecycle", p.admin); err != nil {
					t.Fatal(err)
				}
			}
			tc.attack(t, st, before)
			// A registry reading the store afresh finds the attack.
			e, err := registry.New(st, p.pool).Get(ctx, id)
			var te *registry.TamperError
			switch {
			case tc.fresh:
				// Without memory of the newer head nothing tells a
				// rolled-back log from an old one: the worker's own record
				// of heads seen catches it (below).
				if err != nil || e.Status != registry.StatusActive {
					t.Fatalf("fresh registry after a rollback: %v %v", e, err)
				}
			case !errors.As(err, &te) || !errors.Is(err, registry.ErrTampered) || te.Object != tc.object:
				t.Fatalf("fresh registry: Get = %v, want a TamperError naming %s", err, tc.object)
			}
			// The registry that wrote the log either finds it too or keeps
			// the state it verified at the head it read: never the
			// attacker's.
			e, err = reg.Get(ctx, id)
			if err == nil && (e.Status != registry.StatusRevoked || e.Head != 4 || len(e.Approvers) != 1 || len(e.Approvers[0].Departments) != 1) {
				t.Fatalf("writer registry after the attack: %+v", e.Record)
			}
			if err != nil && !errors.Is(err, registry.ErrTampered) {
				t.Fatalf("writer registry: Get = %v", err)
			}
			if tc.fresh && err == nil {
				t.Fatal("the writer registry took the rolled-back log")
			}
			if tc.fresh {
				return
			}
			problems, err := registry.New(st, p.pool).Verify(ctx)
			if err != nil || len(problems) != 1 || problems[0].Seal != id || !strings.Contains(problems[0].Err.Error(), tc.object) {
				t.Fatalf("Verify = %v, %v", problems, err)
			}
		})
	}
}

// TestLegacyRecordIgnored: a record.json planted in the old layout, active
// and listing the intruder as approver, changes nothing.
func TestLegacyRecordIgnored(t *testing.T) {
	t.Parallel()
	reg, req, p, st := newRegistry(t)
	ctx := context.Background()
	if _, err := reg.Make(ctx, req, p.admin); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.SetStatus(ctx, req.ID, registry.StatusRevoked, "compromised", p.admin); err != nil {
		t.Fatal(err)
	}
	put(t, st, storage.PrefixRegistry+"seals/"+req.ID+"/record.json", []byte(`{"id":"`+req.ID+`","status":"active","approvers":["intruder"]}`))
	e, err := registry.New(st, p.pool).Get(ctx, req.ID)
	if err != nil || e.Status != registry.StatusRevoked || e.MayApprove(p.outsider.Cert, "civil-affairs") {
		t.Fatalf("after a planted record.json: %+v, %v", e, err)
	}
}

// TestVerifyUnmigrated: a seal kept only as a record.json of the unsigned
// layout is reported by Verify, and cannot be used.
func TestVerifyUnmigrated(t *testing.T) {
	t.Parallel()
	reg, req, p, st := newRegistry(t)
	ctx := context.Background()
	if _, err := reg.Make(ctx, req, p.admin); err != nil {
		t.Fatal(err)
	}
	const old = "33010200000099"
	put(t, st, storage.PrefixRegistry+"seals/"+old+"/record.json", []byte(`{"id":"`+old+`","status":"active"}`))
	problems, err := reg.Verify(ctx)
	if err != nil || len(problems) != 1 || problems[0].Seal != old || !errors.Is(problems[0].Err, registry.ErrUnmigrated) {
		t.Fatalf("Verify = %v, %v; want %s unmigrated only", problems, err, old)
	}
	if _, err := reg.Get(ctx, old); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get(unmigrated) = %v, want ErrNotFound", err)
	}
}

func edit(t *testing.T, st storage.Store, key, from, to string) {
	t.Helper()
	b := get(t, st, key)
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(compact.Bytes(), []byte(from)) {
		t.Fatalf("%s lacks %q: %s", key, from, compact)
	}
	put(t, st, key, bytes.Replace(compact.Bytes(), []byte(from), []byte(to), 1))
}

func del(t *testing.T, st storage.Store, key string) {
	t.Helper()
	if err := st.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	b, _, err := storage.ReadAll(context.Background(), st, key, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMarksAcrossRestarts: a registry given high-water marks kept outside
// the registry's store notices, after a restart, a log rolled back to an
// older signed head, and a seal whose log was deleted; one without marks
// is fooled by the rollback.
func TestMarksAcrossRestarts(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	const id = "33010200000001"
	prefix := storage.PrefixRegistry + "seals/" + id + "/"
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, st storage.Store, older []byte)
		says   string
	}{
		{"the revocation deleted and the older head put back", func(t *testing.T, st storage.Store, older []byte) {
			del(t, st, prefix+"log/000002.json")
			put(t, st, prefix+"head.json", older)
		}, "rolled back"},
		{"the whole log deleted", func(t *testing.T, st storage.Store, _ []byte) {
			for _, k := range []string{"log/000001.json", "log/000002.json", "head.json", "seal.esl"} {
				del(t, st, prefix+k)
			}
		}, "the head is gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, marks := marked(t)
			if _, err := registry.New(st, p.pool).Make(ctx, p.request(id), p.admin); err != nil {
				t.Fatal(err)
			}
			older := get(t, st, prefix+"head.json")
			if _, err := registry.New(st, p.pool).SetStatus(ctx, id, registry.StatusRevoked, "compromised", p.admin); err != nil {
				t.Fatal(err)
			}
			// A worker reads the revoked seal, then stops.
			worker := remembering(t, st, p, marks)
			if e, err := worker.Get(ctx, id); err != nil || e.Status != registry.StatusRevoked {
				t.Fatalf("Get = %v, %v", e, err)
			}
			tc.attack(t, st, older)

			restarted := remembering(t, st, p, marks)
			var te *registry.TamperError
			if e, err := restarted.Get(ctx, id); !errors.As(err, &te) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("restarted worker: Get = %v, %v; want a TamperError saying %q", e, err, tc.says)
			}
			if e, err := registry.New(st, p.pool).Get(ctx, id); err == nil && e.Status == registry.StatusRevoked {
				t.Fatal("a registry without marks saw the revocation: the attack did nothing")
			}
		})
	}
}

// marked returns a store for a registry, and marks kept in a store of
// their own, as a worker keeps them.
func marked(t *testing.T) (storage.Store, registry.Marks) {
	t.Helper()
	st, err := fs.Open(t.TempDir(), "registry-test")
	if err != nil {
		t.Fatal(err)
	}
	local, err := fs.Open(t.TempDir(), "state")
	if err != nil {
		t.Fatal(err)
	}
	return st, registry.StoredMarks(local, "registry-marks.json")
}

// remembering returns a registry over st that keeps its high-water marks
// in marks, as a process starting up does.
func remembering(t *testing.T, st storage.Store, p *pki, marks registry.Marks) *registry.Registry {
	t.Helper()
	g := registry.New(st, p.pool)
	if err := g.Remember(t.Context(), marks); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestStoredMarks: raises by many processes at once all stick, and a mark
// never goes down.
func TestStoredMarks(t *testing.T) {
	t.Parallel()
	local, err := fs.Open(t.TempDir(), "state")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			m := registry.StoredMarks(local, "marks.json") // one per process
			if err := m.Raise(ctx, fmt.Sprintf("seal-%02d", i), i+1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	m := registry.StoredMarks(local, "marks.json")
	if err := m.Raise(ctx, "seal-15", 3); err != nil {
		t.Fatal(err)
	}
	got, err := m.Load(ctx)
	if err != nil || len(got) != 16 || got["seal-00"] != 1 || got["seal-15"] != 16 {
		t.Fatalf("Load = %v, %v; want 16 marks, seal-15 still at 16", got, err)
	}
}
