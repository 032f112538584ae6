package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// newLocalEngine returns an engine over a fresh data folder (local store)
// with a development CA of one unit and one approver.
func newLocalEngine(t *testing.T) *Engine {
	t.Helper()
	data := t.TempDir()
	s, err := Load("", func(k string) (string, bool) {
		return map[string]string{"SEALPIPE_DATA": data}[k], k == "SEALPIPE_DATA"
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e := New(s, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if _, err := e.InitDevCA([]devca.Unit{{Slug: "civil-affairs", Name: "某某县民政局"}}, []devca.Approver{{Slug: "approver-zhang", Name: "张伟"}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestChangeSealResumes: a change of seal that stopped after registering
// the successor (both active) is finished by the same change again — the
// successor is not made twice — and a code registered otherwise, or a
// renewal that would not outlast the old seal, is refused.
func TestChangeSealResumes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLocalEngine(t)
	const oldID, newID = "33010200000001", "33010200000002"
	spec := func(code string) SealSpec {
		return SealSpec{Unit: "civil-affairs", Code: code, Purpose: "业务专用章", Approvers: []string{"approver-zhang"}, Validity: 365 * 24 * time.Hour}
	}
	if _, err := e.MakeSeal(ctx, spec(oldID)); err != nil {
		t.Fatal(err)
	}
	// The first step of a change, and then a crash.
	first := spec(newID)
	first.Predecessor = oldID
	if _, err := e.MakeSeal(ctx, first); err != nil {
		t.Fatal(err)
	}
	reg, err := e.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if old, _ := reg.Get(ctx, oldID); old.Status != registry.StatusActive {
		t.Fatalf("old seal %s after the first step", old.Status)
	}

	succ, old, err := e.ChangeSeal(ctx, SealChange{Old: oldID, New: SealSpec{Code: newID}, KeepPurpose: true, Reason: "unit renamed"})
	if err != nil {
		t.Fatal(err)
	}
	if succ.ID != newID || succ.Head != 1 || old.Status != registry.StatusRevoked || old.Successor != newID || old.History[len(old.History)-1].Reason != "unit renamed" {
		t.Fatalf("after the rerun: successor %+v, old %+v", succ.Record, old)
	}

	for _, tc := range []struct {
		name string
		c    SealChange
		want error
	}{
		{"a code registered otherwise", SealChange{Old: newID, New: SealSpec{Code: "33010200000003"}}, registry.ErrExists},
		{"no code", SealChange{Old: newID}, registry.ErrInvalid},
		{"a renewal changing the purpose", SealChange{Old: newID, New: SealSpec{Code: "33010200000004", Purpose: "合同专用章"}, Renew: true}, ErrRenewal},
		{"a renewal ending no later", SealChange{Old: newID, New: SealSpec{Code: "33010200000004", Validity: 24 * time.Hour}, KeepPurpose: true, Renew: true}, ErrRenewal},
	} {
		if tc.want == registry.ErrExists {
			if _, err := e.MakeSeal(ctx, spec("33010200000003")); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := e.ChangeSeal(ctx, tc.c); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := reg.Get(ctx, "33010200000004"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("a refused renewal registered its seal: %v", err)
	}
}

// TestExpiringSeals: active seals ending within SEALPIPE_SEAL_EXPIRY_WARNING
// are listed soonest first; others, inactive ones and all with the
// setting off are not.
func TestExpiringSeals(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	recs := []registry.Record{
		{ID: "a", Status: registry.StatusActive, ValidEnd: now.AddDate(0, 0, 20)},
		{ID: "b", Status: registry.StatusActive, ValidEnd: now.AddDate(0, 0, 40)},
		{ID: "c", Status: registry.StatusRevoked, ValidEnd: now.AddDate(0, 0, 5)},
		{ID: "d", Status: registry.StatusActive, ValidEnd: now.AddDate(0, 0, -1)},
	}
	for _, tc := range []struct {
		window Retention
		want   []string
	}{
		{Retention(30 * 24 * time.Hour), []string{"d", "a"}},
		{Retention(60 * 24 * time.Hour), []string{"d", "a", "b"}},
		{RetentionOff, nil},
	} {
		e := New(Settings{SealExpiryWarning: tc.window})
		var got []string
		for _, r := range e.ExpiringSeals(recs, now) {
			got = append(got, r.ID)
		}
		if len(got) != len(tc.want) || len(got) > 0 && (got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1]) {
			t.Errorf("window %v: %v, want %v", time.Duration(tc.window), got, tc.want)
		}
	}
	if w := ExpiryWarning(recs[0], now); w != "seal a () expires 2026-12-17, in 20 days (SEALPIPE_SEAL_EXPIRY_WARNING): sealpipe seals renew a --code NEWCODE makes its successor" {
		t.Errorf("warning %q", w)
	}
}

// TestApplicationToActiveSeal: a seal is made only from an approved
// application, of the unit it names, registered suspended and activated
// only when filed (county rules 第六–八条); making and filing again
// finish or change nothing.
func TestApplicationToActiveSeal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newLocalEngine(t)
	reg, err := e.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := e.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	submit := func(id, unit string) {
		t.Helper()
		if _, err := reg.Submit(ctx, registry.ApplicationRequest{ID: id, Unit: unit, Kind: registry.KindName, Holder: "张三", Clerk: "王芳",
			Materials: []registry.MaterialFile{{Name: "holder-id.png", Data: []byte("id card")}}}, admin); err != nil {
			t.Fatal(err)
		}
	}
	spec := SealSpec{Unit: "civil-affairs", Code: "33010200000101", Approvers: []string{"approver-zhang"}}
	submit("app-1", "某某县民政局")
	if _, _, err := e.MakeFromApplication(ctx, "app-1", spec); !errors.Is(err, registry.ErrTransition) {
		t.Fatalf("made before the review: %v, want ErrTransition", err)
	}
	if _, err := reg.Get(ctx, spec.Code); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("a seal made before the review was registered: %v", err)
	}
	if _, err := reg.Review(ctx, "app-1", true, "", nil, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.FileSeal(ctx, "app-1", "", nil); !errors.Is(err, registry.ErrTransition) {
		t.Fatalf("filed before made: %v, want ErrTransition", err)
	}
	seal, app, err := e.MakeFromApplication(ctx, "app-1", spec)
	if err != nil {
		t.Fatal(err)
	}
	if seal.Status != registry.StatusSuspended || seal.Application != "app-1" || seal.Name != "张三之印" || app.State != registry.AppMade || app.Seal != spec.Code {
		t.Fatalf("made: seal %+v, application %+v", seal.Record, app)
	}
	if st := seal.StatusAt(time.Now()); st == registry.StatusActive {
		t.Fatal("a seal not filed is active")
	}
	if again, _, err := e.MakeFromApplication(ctx, "app-1", spec); err != nil || again.Head != 1 {
		t.Fatalf("made again: %v, head %d", err, again.Head)
	}
	if _, err := reg.ChangeStatus(ctx, spec.Code, registry.StatusChange{To: registry.StatusActive, Reason: "in a hurry"}, admin); !errors.Is(err, registry.ErrTransition) || !strings.Contains(err.Error(), "not filed yet") {
		t.Fatalf("activated before it was filed: %v, want ErrTransition", err)
	}
	app, err = e.FileSeal(ctx, "app-1", "", nil)
	if err != nil || app.State != registry.AppFiled {
		t.Fatalf("filed: %+v, %v", app, err)
	}
	filed, err := reg.Get(ctx, spec.Code)
	if err != nil || filed.Status != registry.StatusActive || filed.History[1].Reason != "filed (application app-1)" {
		t.Fatalf("after filing: %+v, %v", filed, err)
	}
	if _, err := e.FileSeal(ctx, "app-1", "", nil); err != nil {
		t.Fatalf("filed again: %v", err)
	}
	for _, to := range []registry.Status{registry.StatusSuspended, registry.StatusActive} {
		if _, err := reg.ChangeStatus(ctx, spec.Code, registry.StatusChange{To: to, Reason: "inspection", Code: ""}, admin); err != nil {
			t.Fatalf("a filed seal %s: %v", to, err)
		}
	}

	// The unit's certificate must name the application's unit.
	submit("app-2", "另一个单位")
	if _, err := reg.Review(ctx, "app-2", true, "", nil, admin); err != nil {
		t.Fatal(err)
	}
	spec.Code = "33010200000102"
	if _, _, err := e.MakeFromApplication(ctx, "app-2", spec); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("made for another unit: %v, want ErrInvalid", err)
	}
}
