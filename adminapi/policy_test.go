package adminapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/audittrail"
	"github.com/sealpipe/sealpipe/pipeline/registry"
)

const (
	all  = adminapi.All
	own  = adminapi.Own
	none = adminapi.Denied
)

// wantPolicy is the authorisation table as the county rules give it,
// written out once more: TestPolicy holds the code's table and the
// server's answers to it. Columns: admin, registrar, keeper, approver,
// auditor, uploader.
var wantPolicy = map[adminapi.Action][6]adminapi.Access{
	adminapi.ActionWhoami:       {all, all, all, all, all, all},
	adminapi.ActionOpenAPI:      {all, all, all, all, all, all},
	adminapi.ActionList:         {all, all, own, own, all, own},
	adminapi.ActionShow:         {all, all, own, own, all, own},
	adminapi.ActionHistory:      {all, all, own, own, all, own},
	adminapi.ActionApprovers:    {all, all, own, own, all, own},
	adminapi.ActionMake:         {all, none, none, none, none, none},
	adminapi.ActionSuspend:      {all, all, own, none, none, none},
	adminapi.ActionActivate:     {all, none, none, none, none, none},
	adminapi.ActionRevoke:       {all, none, none, none, none, none},
	adminapi.ActionSetApprovers: {all, none, none, none, none, none},
	adminapi.ActionChange:       {all, none, none, none, none, none},
	adminapi.ActionRenew:        {all, none, none, none, none, none},
	adminapi.ActionAudit:        {all, all, own, none, all, none},
	adminapi.ActionAppSubmit:    {all, all, none, none, none, none},
	adminapi.ActionAppList:      {all, all, none, none, all, none},
	adminapi.ActionAppShow:      {all, all, none, none, all, none},
	adminapi.ActionAppReview:    {all, none, none, none, none, none},
	adminapi.ActionAppMake:      {all, none, none, none, none, none},
	adminapi.ActionAppFile:      {all, all, none, none, none, none},
}

// TestPolicy sends every route as every role, on a seal of the role's own
// unit (seal A: its keeper's unit, its uploader's department, its
// approver's) and on another's (seal B) — for the audit query, on seal A's
// unit and on B's — and checks the answer against
// wantPolicy: 403 FORBIDDEN where the role may not, 403 OTHER_UNIT where it
// may on its own seals only, success otherwise — and that each change
// made is in the registry's signed log with the client as requester.
func TestPolicy(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	for _, rt := range adminapi.Routes() {
		want, ok := wantPolicy[rt.Action]
		if !ok {
			t.Fatalf("route %s %s: action %s is not in wantPolicy", rt.Method, rt.Pattern, rt.Action)
		}
		for i, role := range adminapi.Roles() {
			if got := adminapi.Allowed(rt.Action, role); got != want[i] {
				t.Errorf("Allowed(%s, %s) = %q, want %q", rt.Action, role, got, want[i])
			}
			for _, mine := range []bool{true, false} {
				name := rt.Method + " " + rt.Pattern + " as " + string(role)
				if mine {
					name += " (own seal)"
				} else {
					name += " (other unit's seal)"
				}
				t.Run(name, func(t *testing.T) { f.try(t, ctx, rt, role, mine, want[i]) })
			}
		}
	}
}

// try sends rt as role on its own seal or another's and checks the
// answer for access.
func (f *fixture) try(t *testing.T, ctx context.Context, rt adminapi.Route, role adminapi.Role, mine bool, access adminapi.Access) {
	unit, id := "A", f.sealA
	if !mine {
		unit, id = "B", f.sealB
	}
	var body any
	switch rt.Action {
	case adminapi.ActionSuspend:
		f.ensure(t, id, registry.StatusActive)
		body = adminapi.StatusRequest{Reason: "lost at the service hall"}
	case adminapi.ActionActivate:
		f.ensure(t, id, registry.StatusSuspended)
		body = adminapi.StatusRequest{Reason: "found again"}
	case adminapi.ActionRevoke:
		if access != none {
			var err error
			if id, err = f.makeSeal(ctx, unit); err != nil {
				t.Fatal(err)
			}
		}
		body = adminapi.StatusRequest{Reason: "unit dissolved"}
	case adminapi.ActionChange, adminapi.ActionRenew:
		// A seal of a year, which a renewal of two extends.
		if access != none {
			var err error
			if id, err = f.makeSealValid(ctx, unit, 365*24*time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		code := fmt.Sprintf("330102970%05d", f.next)
		f.next++
		body = adminapi.ChangeRequest{Code: code, Reason: "unit renamed (county decision 12)"}
		if rt.Action == adminapi.ActionRenew {
			body = adminapi.RenewRequest{Code: code}
		}
	case adminapi.ActionMake:
		req := adminapi.MakeRequest{Unit: "civil-affairs", Approvers: []string{"approver-zhang"}, Code: "33010299" + strings.Repeat("0", 5) + string(rune('0'+f.next%10))}
		f.next++
		if !mine {
			req.Unit, req.Approvers = "county-office", []string{"approver-li"}
		}
		body = req
	case adminapi.ActionAppSubmit:
		body = f.application(fmt.Sprintf("app-%d", f.next))
		f.next++
	case adminapi.ActionAppMake, adminapi.ActionAppFile:
		id = f.submitApplication(t, ctx)
		code := fmt.Sprintf("330102980%05d", f.next)
		f.next++
		if access != none {
			if _, err := f.e.ReviewApplication(ctx, id, true, ""); err != nil {
				t.Fatal(err)
			}
		}
		body = adminapi.ApplicationMakeRequest{Unit: "civil-affairs", Code: code, Approvers: []string{"approver-zhang"}}
		if rt.Action == adminapi.ActionAppFile {
			if access != none {
				if _, _, err := f.e.MakeFromApplication(ctx, id, engine.SealSpec{Unit: "civil-affairs", Code: code, Approvers: []string{"approver-zhang"}}); err != nil {
					t.Fatal(err)
				}
			}
			body = adminapi.FileRequest{}
		}
	case adminapi.ActionAppShow, adminapi.ActionAppReview:
		id = f.submitApplication(t, ctx)
		body = adminapi.ReviewRequest{Approve: true, Reason: "materials complete"}
		if rt.Action == adminapi.ActionAppShow {
			body = nil
		}
	case adminapi.ActionSetApprovers:
		req := adminapi.ApproversRequest{Reason: "confirmed", Approvers: []adminapi.ApproverSpec{{Name: "approver-zhang", Departments: []string{"civil-affairs"}}}}
		if !mine {
			req.Approvers = []adminapi.ApproverSpec{{Name: "approver-li", Departments: []string{"county-office"}}}
		}
		body = req
	}
	path := strings.Replace(rt.Pattern, "{id}", id, 1)
	if rt.Action == adminapi.ActionAudit {
		path += "?unit=" + url.QueryEscape(unitNames[unit])
	}
	code, b := f.call(t, f.client[role], rt.Method, path, body)
	var e adminapi.Error
	json.Unmarshal(b, &e)
	bound := strings.Contains(rt.Pattern, "{id}") || rt.Action == adminapi.ActionAudit
	switch {
	case access == none:
		if code != http.StatusForbidden || e.Code != adminapi.CodeForbidden {
			t.Fatalf("%d %s, want 403 %s: %s", code, e.Code, adminapi.CodeForbidden, b)
		}
		return
	case access == own && !mine && bound:
		if code != http.StatusForbidden || e.Code != adminapi.CodeOtherUnit {
			t.Fatalf("%d %s, want 403 %s: %s", code, e.Code, adminapi.CodeOtherUnit, b)
		}
		return
	case code != http.StatusOK && code != http.StatusCreated:
		t.Fatalf("%d, want success: %s", code, b)
	}
	switch rt.Action {
	case adminapi.ActionList:
		var l adminapi.SealList
		json.Unmarshal(b, &l)
		has := func(id string) bool {
			return slices.ContainsFunc(l.Seals, func(r registry.Record) bool { return r.ID == id })
		}
		if !has(f.sealA) || has(f.sealB) != (access == all) {
			t.Fatalf("listed A %v, B %v; want A, and B only with access all", has(f.sealA), has(f.sealB))
		}
	case adminapi.ActionAudit:
		var l adminapi.AuditList
		json.Unmarshal(b, &l)
		if !slices.ContainsFunc(l.Events, func(ev audittrail.Event) bool { return ev.Seal == id && ev.Op == string(registry.OpRegister) }) {
			t.Fatalf("unit %s: seal %s's registration is not among the events: %s", unit, id, b)
		}
		for _, ev := range l.Events {
			if ev.Unit != unitNames[unit] {
				t.Fatalf("asked for unit %s, got an event of %s: %+v", unitNames[unit], ev.Unit, ev)
			}
		}
	case adminapi.ActionMake, adminapi.ActionSuspend, adminapi.ActionActivate, adminapi.ActionRevoke, adminapi.ActionSetApprovers:
		var rec registry.Record
		json.Unmarshal(b, &rec)
		f.checkLogged(t, ctx, rec.ID, role)
	case adminapi.ActionChange, adminapi.ActionRenew:
		var s adminapi.Succession
		json.Unmarshal(b, &s)
		f.checkSuccession(t, ctx, id, &s, role)
	case adminapi.ActionAppSubmit, adminapi.ActionAppReview, adminapi.ActionAppMake, adminapi.ActionAppFile:
		var a registry.Application
		json.Unmarshal(b, &a)
		reg, err := f.e.Registry(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := reg.Application(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := got.History[len(got.History)-1]
		if want := map[adminapi.Action]registry.AppState{adminapi.ActionAppSubmit: registry.AppSubmitted, adminapi.ActionAppReview: registry.AppApproved, adminapi.ActionAppMake: registry.AppMade, adminapi.ActionAppFile: registry.AppFiled}[rt.Action]; got.State != want || last.Requester == nil || last.Requester.Name != names[role] {
			t.Fatalf("application %s: %s, requester %+v; want %s asked by %s", a.ID, got.State, last.Requester, want, names[role])
		}
	}
}

// application is an application for a special-purpose seal of unit A
// with two identity materials.
func (f *fixture) application(id string) adminapi.ApplicationRequest {
	return adminapi.ApplicationRequest{
		ID: id, Unit: unitNames["A"], Kind: registry.KindSpecial, Purpose: "业务专用章", Clerk: "王芳",
		Materials: []adminapi.MaterialUpload{{Name: "unit-licence.pdf", Data: []byte("%PDF licence")}, {Name: "clerk-id.png", Data: []byte("PNG id card")}},
	}
}

// submitApplication submits a fresh application through the engine, as
// a registrar's client would, and returns its identifier.
func (f *fixture) submitApplication(t *testing.T, ctx context.Context) string {
	t.Helper()
	id := fmt.Sprintf("app-%d", f.next)
	f.next++
	reg, err := f.e.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := f.e.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := f.application(id)
	if _, err := reg.Submit(ctx, registry.ApplicationRequest{ID: id, Unit: req.Unit, Kind: req.Kind, Purpose: req.Purpose, Clerk: req.Clerk,
		Materials: []registry.MaterialFile{{Name: "unit-licence.pdf", Data: []byte("%PDF licence")}}}, admin); err != nil {
		t.Fatal(err)
	}
	return id
}

// ensure brings seal id to status st through the engine (as the command
// line would), so that the route under test has something to change.
func (f *fixture) ensure(t *testing.T, id string, st registry.Status) {
	t.Helper()
	reg, err := f.e.Registry(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e, err := reg.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != st {
		if _, err := f.e.SetSealStatus(context.Background(), id, st, "test set-up"); err != nil {
			t.Fatal(err)
		}
	}
}

// checkLogged reads seal id's log afresh from the store and checks that
// its latest change records role's client as the requester, signed by
// the seal administrator, and that every log still verifies.
func (f *fixture) checkLogged(t *testing.T, ctx context.Context, id string, role adminapi.Role) {
	t.Helper()
	st, err := f.e.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := f.e.Trust()
	if err != nil {
		t.Fatal(err)
	}
	fresh := registry.New(st, pool)
	e, err := fresh.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	last := e.History[len(e.History)-1]
	cert, err := smx509.ParseCertificate(f.certs[role].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	want := registry.Principal{Name: names[role], Role: string(role), Fingerprint: registry.Fingerprint(cert)}
	if last.Requester == nil || *last.Requester != want || last.Actor != "registrar" {
		t.Fatalf("seal %s change %d: actor %q requester %+v, want registrar for %+v", id, last.Seq, last.Actor, last.Requester, want)
	}
	if problems, err := fresh.Verify(ctx); err != nil || problems != nil {
		t.Fatalf("registry verify: %v %v", problems, err)
	}
}
