package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
)

func application(id string) registry.ApplicationRequest {
	return registry.ApplicationRequest{
		ID: id, Unit: "某某县民政局", Kind: registry.KindSpecial, Purpose: "业务专用章", Clerk: "王芳",
		Materials: []registry.MaterialFile{{Name: "unit-licence.pdf", Data: []byte("%PDF licence")}, {Name: "clerk-id.png", Data: []byte("PNG id card")}},
		Requester: &registry.Principal{Name: "registrar-liu", Role: "registrar", Fingerprint: strings.Repeat("ab", 32)},
	}
}

// TestApplicationLifecycle: an application (county rules 第七–八条) is
// submitted with its materials' SM3 in the signed first change, reviewed,
// marked made and filed, in that order only; what it asks for must be
// complete, and a refusal needs a reason.
func TestApplicationLifecycle(t *testing.T) {
	t.Parallel()
	reg, _, p, st := newRegistry(t)
	ctx := context.Background()
	a, err := reg.Submit(ctx, application("411728-2026-0001"), p.admin)
	if err != nil {
		t.Fatal(err)
	}
	if a.State != registry.AppSubmitted || len(a.Materials) != 2 || a.Materials[0].SM3 != sm3hex([]byte("%PDF licence")) || a.History[0].Requester.Name != "registrar-liu" {
		t.Fatalf("submitted %+v", a)
	}
	if got := get(t, st, storage.PrefixRegistry+"applications/411728-2026-0001/materials/clerk-id.png"); string(got) != "PNG id card" {
		t.Fatalf("material stored as %q", got)
	}
	if _, err := reg.Submit(ctx, application("411728-2026-0001"), p.admin); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("a second submission = %v, want ErrExists", err)
	}
	steps := []struct {
		name string
		do   func() (*registry.Application, error)
		want error
		st   registry.AppState
	}{
		{"filed before made", func() (*registry.Application, error) { return reg.File(ctx, a.ID, "", nil, p.admin) }, registry.ErrTransition, ""},
		{"refused without a reason", func() (*registry.Application, error) { return reg.Review(ctx, a.ID, false, " ", nil, p.admin) }, registry.ErrInvalid, ""},
		{"approved", func() (*registry.Application, error) {
			return reg.Review(ctx, a.ID, true, "materials complete", nil, p.admin)
		}, nil, registry.AppApproved},
		{"approved again", func() (*registry.Application, error) { return reg.Review(ctx, a.ID, true, "", nil, p.admin) }, registry.ErrTransition, ""},
		{"made", func() (*registry.Application, error) { return reg.MarkMade(ctx, a.ID, "33010200000001", nil, p.admin) }, nil, registry.AppMade},
		{"filed", func() (*registry.Application, error) {
			return reg.File(ctx, a.ID, "filed with the public security bureau", nil, p.admin)
		}, nil, registry.AppFiled},
	}
	for _, s := range steps {
		got, err := s.do()
		switch {
		case s.want != nil && !errors.Is(err, s.want):
			t.Errorf("%s: %v, want %v", s.name, err, s.want)
		case s.want == nil && (err != nil || got.State != s.st):
			t.Errorf("%s: %+v, %v; want %s", s.name, got, err, s.st)
		}
	}
	if a, err = reg.Application(ctx, a.ID); err != nil || a.Seal != "33010200000001" || len(a.History) != 4 {
		t.Fatalf("application %+v, %v", a, err)
	}

	for _, tc := range []struct {
		name string
		edit func(*registry.ApplicationRequest)
	}{
		{"no clerk", func(r *registry.ApplicationRequest) { r.Clerk = "" }},
		{"no materials", func(r *registry.ApplicationRequest) { r.Materials = nil }},
		{"a name seal without a holder", func(r *registry.ApplicationRequest) { r.Kind, r.Purpose = registry.KindName, "" }},
		{"an official seal with a holder", func(r *registry.ApplicationRequest) {
			r.Kind, r.Purpose, r.Holder = registry.KindOfficial, "", "张三"
		}},
		{"a special seal without a purpose", func(r *registry.ApplicationRequest) { r.Purpose = "" }},
		{"an unknown kind", func(r *registry.ApplicationRequest) { r.Kind = "round" }},
		{"a material's name a path", func(r *registry.ApplicationRequest) { r.Materials[0].Name = "../x" }},
	} {
		req := application("411728-2026-0002")
		tc.edit(&req)
		if _, err := reg.Submit(ctx, req, p.admin); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
	if apps, err := reg.Applications(ctx); err != nil || len(apps) != 1 {
		t.Fatalf("Applications = %d, %v", len(apps), err)
	}

	// The materials and the review are under the administrator's signature.
	put(t, st, storage.PrefixRegistry+"applications/411728-2026-0001/materials/clerk-id.png", []byte("PNG another card"))
	if _, err := reg.Application(ctx, a.ID); !errors.Is(err, registry.ErrTampered) {
		t.Fatalf("after replacing a material: %v, want ErrTampered", err)
	}
	put(t, st, storage.PrefixRegistry+"applications/411728-2026-0001/materials/clerk-id.png", []byte("PNG id card"))
	edit(t, st, storage.PrefixRegistry+"applications/411728-2026-0001/log/000002.json", `"op":"approve"`, `"op":"refuse"`)
	if _, err := reg.Application(ctx, a.ID); !errors.Is(err, registry.ErrTampered) {
		t.Fatalf("after editing the review: %v, want ErrTampered", err)
	}
}

// TestApplicationLogTruncated: an application's log has a signed head and
// high-water marks as a seal's has, so the last change deleted, the head
// put back to an older signed one, or the head deleted, is noticed; and a
// submission cut short before its head is named by Verify.
func TestApplicationLogTruncated(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	const id = "411728-2026-0001"
	prefix := storage.PrefixRegistry + "applications/" + id + "/"
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, st storage.Store, older []byte)
		marks  bool   // whether only a registry with marks notices
		says   string // what the TamperError says
	}{
		{"the last change deleted", func(t *testing.T, st storage.Store, _ []byte) {
			del(t, st, prefix+"log/000002.json")
		}, false, "names change 2, but the log has 1"},
		{"the refusal deleted and the older head put back", func(t *testing.T, st storage.Store, older []byte) {
			del(t, st, prefix+"log/000002.json")
			put(t, st, prefix+"head.json", older)
		}, true, "rolled back"},
		{"the head deleted", func(t *testing.T, st storage.Store, _ []byte) {
			del(t, st, prefix+"head.json")
		}, false, "registry: application 411728-2026-0001: registry/applications/411728-2026-0001/head.json: the head is gone"},
		{"the whole log deleted", func(t *testing.T, st storage.Store, _ []byte) {
			for _, k := range []string{"log/000001.json", "log/000002.json", "head.json"} {
				del(t, st, prefix+k)
			}
		}, true, "the head is gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, marks := marked(t)
			if _, err := registry.New(st, p.pool).Submit(ctx, application(id), p.admin); err != nil {
				t.Fatal(err)
			}
			older := get(t, st, prefix+"head.json")
			if _, err := registry.New(st, p.pool).Review(ctx, id, false, "materials incomplete", nil, p.admin); err != nil {
				t.Fatal(err)
			}
			reader := remembering(t, st, p, marks)
			if a, err := reader.Application(ctx, id); err != nil || a.State != registry.AppRefused {
				t.Fatalf("Application = %+v, %v", a, err)
			}
			tc.attack(t, st, older)

			restarted := remembering(t, st, p, marks)
			var te *registry.TamperError
			if a, err := restarted.Application(ctx, id); !errors.As(err, &te) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Application = %+v, %v; want a TamperError saying %q", a, err, tc.says)
			}
			a, err := registry.New(st, p.pool).Application(ctx, id)
			if tc.marks != (err == nil || !errors.Is(err, registry.ErrTampered)) {
				t.Fatalf("a registry without marks: Application = %+v, %v (only one with marks should notice: %v)", a, err, tc.marks)
			}
		})
	}

	t.Run("a submission cut short", func(t *testing.T) {
		t.Parallel()
		st, err := fs.Open(t.TempDir(), "registry-test")
		if err != nil {
			t.Fatal(err)
		}
		reg := registry.New(st, p.pool)
		if _, err := reg.Submit(ctx, application(id), p.admin); err != nil {
			t.Fatal(err)
		}
		del(t, st, prefix+"head.json")
		problems, err := registry.New(st, p.pool).Verify(ctx)
		if err != nil || len(problems) != 1 || problems[0].Application != id || !errors.Is(problems[0].Err, registry.ErrUnfinished) {
			t.Fatalf("Verify = %+v, %v; want application %s unfinished", problems, err, id)
		}
	})
}
