package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/templates/sealpic"
	"github.com/sealpipe/sealpipe/templates/sealpic/sealpictest"
)

const year = 365 * 24 * time.Hour

// checkSuccession checks the answer to a change or renewal of seal old
// asked by role: the new seal names old as its predecessor, old is
// revoked with reason code superseded naming it, and both changes, read
// afresh from the store, record role's client as the requester.
func (f *fixture) checkSuccession(t *testing.T, ctx context.Context, old string, s *adminapi.Succession, role adminapi.Role) {
	t.Helper()
	if s.Seal.ID == "" || s.Seal.Predecessor != old || s.Seal.Status != registry.StatusActive || s.Seal.SESeal == nil {
		t.Fatalf("new seal %s: predecessor %q, %s, SESeal %v; want an active successor of %s", s.Seal.ID, s.Seal.Predecessor, s.Seal.Status, s.Seal.SESeal, old)
	}
	if s.Superseded.ID != old || s.Superseded.Status != registry.StatusRevoked || s.Superseded.Successor != s.Seal.ID {
		t.Fatalf("old seal %s: %s, successor %q; want %s revoked, superseded by %s", s.Superseded.ID, s.Superseded.Status, s.Superseded.Successor, old, s.Seal.ID)
	}
	f.checkLogged(t, ctx, s.Seal.ID, role)
	f.checkLogged(t, ctx, old, role)
	e := f.entry(t, ctx, old)
	last := e.History[len(e.History)-1]
	if last.Op != registry.OpRevoke || last.Code != registry.CodeSuperseded || last.Successor != s.Seal.ID {
		t.Fatalf("old seal %s's last change: %s %s successor %q; want revoke superseded %s", old, last.Op, last.Code, last.Successor, s.Seal.ID)
	}
	if first := f.entry(t, ctx, s.Seal.ID).History[0]; first.Op != registry.OpRegister || first.Predecessor != old {
		t.Fatalf("new seal %s's registration: %s, predecessor %q; want register naming %s", s.Seal.ID, first.Op, first.Predecessor, old)
	}
}

// entry reads seal id from the registry.
func (f *fixture) entry(t *testing.T, ctx context.Context, id string) *registry.Entry {
	t.Helper()
	reg, err := f.e.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, err := reg.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// code returns a fresh seal code for a successor.
func (f *fixture) code() string {
	c := fmt.Sprintf("330102960%05d", f.next)
	f.next++
	return c
}

func ptr[T any](v T) *T { return &v }

// TestChangeRenew: POST /api/v1/seals/{id}/change and /renew do what
// seals change and seals renew do, for the seal administrator only, with
// the registry's rules as errors of stable codes; the same request again
// finishes or repeats a change.
func TestChangeRenew(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	// A special-purpose seal of unit A, valid a year (renewable).
	special := func(t *testing.T) string {
		code := fmt.Sprintf("330102000%05d", f.next)
		f.next++
		if _, err := f.e.MakeSeal(ctx, engine.SealSpec{Unit: "civil-affairs", Code: code, Purpose: "业务专用章", Approvers: []string{"approver-zhang"}, Validity: year}); err != nil {
			t.Fatal(err)
		}
		return code
	}
	twoYears := func(t *testing.T) string {
		id, err := f.makeSealValid(ctx, "A", 0)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// changed is a seal changed already (to its successor, returned too).
	changed := func(t *testing.T) (string, string) {
		old, succ := special(t), f.code()
		if _, _, err := f.e.ChangeSeal(ctx, engine.SealChange{Old: old, New: engine.SealSpec{Code: succ}, KeepPurpose: true, Reason: "set-up"}); err != nil {
			t.Fatal(err)
		}
		return old, succ
	}
	for _, tc := range []struct {
		name   string
		role   adminapi.Role
		verb   string // change or renew
		seal   func(t *testing.T) (old string, body any)
		status int
		code   string
		check  func(t *testing.T, old string, s *adminapi.Succession)
	}{
		{"change keeps the purpose", adminapi.RoleAdmin, "change", func(t *testing.T) (string, any) {
			return special(t), adminapi.ChangeRequest{Code: f.code(), Reason: "unit renamed (county decision 12)"}
		}, 200, "", func(t *testing.T, old string, s *adminapi.Succession) {
			if s.Seal.Purpose != "业务专用章" || s.Superseded.History[len(s.Superseded.History)-1].Reason != "unit renamed (county decision 12)" {
				t.Fatalf("purpose %q, reason %q", s.Seal.Purpose, s.Superseded.History[len(s.Superseded.History)-1].Reason)
			}
		}},
		{"change to an official seal, a year, other approvers", adminapi.RoleAdmin, "change", func(t *testing.T) (string, any) {
			return special(t), adminapi.ChangeRequest{Code: f.code(), Reason: "purpose dropped", Purpose: ptr(""), Approvers: []string{"approver-li"}, Departments: []string{"county-office"}, ValidityDays: 365}
		}, 200, "", func(t *testing.T, old string, s *adminapi.Succession) {
			if s.Seal.Purpose != "" || len(s.Seal.Approvers) != 1 || s.Seal.Approvers[0].Name != "approver-li" || s.Seal.ValidEnd.After(time.Now().Add(year+time.Hour)) {
				t.Fatalf("purpose %q, approvers %+v, valid until %s", s.Seal.Purpose, s.Seal.Approvers, s.Seal.ValidEnd)
			}
		}},
		{"change again: answered as it is", adminapi.RoleAdmin, "change", func(t *testing.T) (string, any) {
			old, succ := changed(t)
			return old, adminapi.ChangeRequest{Code: succ, Reason: "set-up"}
		}, 200, "", nil},
		{"change of a seal superseded already", adminapi.RoleAdmin, "change", func(t *testing.T) (string, any) {
			old, _ := changed(t)
			return old, adminapi.ChangeRequest{Code: f.code(), Reason: "again"}
		}, 409, adminapi.CodeTransition, nil},
		{"change to a code registered otherwise", adminapi.RoleAdmin, "change", func(t *testing.T) (string, any) {
			return special(t), adminapi.ChangeRequest{Code: f.sealB, Reason: "taken"}
		}, 409, adminapi.CodeSealExists, nil},
		{"change of no seal", adminapi.RoleAdmin, "change", func(t *testing.T) (string, any) {
			return "33010299999999", adminapi.ChangeRequest{Code: f.code(), Reason: "none"}
		}, 404, adminapi.CodeSealNotFound, nil},
		{"change without a reason", adminapi.RoleAdmin, "change", func(t *testing.T) (string, any) {
			return special(t), adminapi.ChangeRequest{Code: f.code(), Reason: " "}
		}, 400, adminapi.CodeBadRequest, nil},
		{"change without a code", adminapi.RoleAdmin, "change", func(t *testing.T) (string, any) {
			return special(t), adminapi.ChangeRequest{Reason: "no code"}
		}, 400, adminapi.CodeBadRequest, nil},
		{"change with a negative validity", adminapi.RoleAdmin, "change", func(t *testing.T) (string, any) {
			return special(t), adminapi.ChangeRequest{Code: f.code(), Reason: "x", ValidityDays: -1}
		}, 400, adminapi.CodeBadRequest, nil},
		{"change with an unknown approver", adminapi.RoleAdmin, "change", func(t *testing.T) (string, any) {
			return special(t), adminapi.ChangeRequest{Code: f.code(), Reason: "x", Approvers: []string{"approver-nobody"}}
		}, 400, adminapi.CodeInvalid, nil},
		{"change asked by a keeper of the seal's unit", adminapi.RoleKeeper, "change", func(t *testing.T) (string, any) {
			return special(t), adminapi.ChangeRequest{Code: f.code(), Reason: "unit renamed"}
		}, 403, adminapi.CodeForbidden, nil},
		{"change asked by the registrar", adminapi.RoleRegistrar, "change", func(t *testing.T) (string, any) {
			return special(t), adminapi.ChangeRequest{Code: f.code(), Reason: "unit renamed"}
		}, 403, adminapi.CodeForbidden, nil},
		{"renew keeps all but code and validity", adminapi.RoleAdmin, "renew", func(t *testing.T) (string, any) {
			return special(t), adminapi.RenewRequest{Code: f.code()}
		}, 200, "", func(t *testing.T, old string, s *adminapi.Succession) {
			if s.Seal.Purpose != "业务专用章" || !s.Seal.ValidEnd.After(s.Superseded.ValidEnd) || s.Superseded.History[len(s.Superseded.History)-1].Reason != "renewed by "+s.Seal.ID {
				t.Fatalf("purpose %q, valid until %s (old %s), reason %q", s.Seal.Purpose, s.Seal.ValidEnd, s.Superseded.ValidEnd, s.Superseded.History[len(s.Superseded.History)-1].Reason)
			}
		}},
		{"renew beyond the certificate", adminapi.RoleAdmin, "renew", func(t *testing.T) (string, any) {
			return twoYears(t), adminapi.RenewRequest{Code: f.code()}
		}, 400, adminapi.CodeInvalid, func(t *testing.T, old string, _ *adminapi.Succession) {
			if e := f.entry(t, ctx, old); e.Status != registry.StatusActive || e.Successor != "" {
				t.Fatalf("seal %s: %s, successor %q after a refused renewal", old, e.Status, e.Successor)
			}
		}},
		{"renew with an unknown field", adminapi.RoleAdmin, "renew", func(t *testing.T) (string, any) {
			return special(t), map[string]any{"code": f.code(), "purpose": "合同专用章"}
		}, 400, adminapi.CodeBadRequest, nil},
		{"renew asked by a keeper of the seal's unit", adminapi.RoleKeeper, "renew", func(t *testing.T) (string, any) {
			return special(t), adminapi.RenewRequest{Code: f.code()}
		}, 403, adminapi.CodeForbidden, nil},
		{"renew asked by an auditor", adminapi.RoleAuditor, "renew", func(t *testing.T) (string, any) {
			return special(t), adminapi.RenewRequest{Code: f.code()}
		}, 403, adminapi.CodeForbidden, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, body := tc.seal(t)
			var before int
			if tc.status != 200 && tc.status != 404 {
				before = f.entry(t, ctx, old).Head
			}
			code, b := f.call(t, f.client[tc.role], "POST", adminapi.Prefix+"/seals/"+old+"/"+tc.verb, body)
			if code != tc.status {
				t.Fatalf("%d, want %d: %s", code, tc.status, b)
			}
			if code != 200 {
				var e adminapi.Error
				if err := json.Unmarshal(b, &e); err != nil || e.Code != tc.code {
					t.Fatalf("%d %s, want %s: %s", code, e.Code, tc.code, b)
				}
				if tc.status != 404 {
					if head := f.entry(t, ctx, old).Head; head != before {
						t.Fatalf("seal %s changed (head %d → %d) by a refused request", old, before, head)
					}
				}
				if tc.check != nil {
					tc.check(t, old, nil)
				}
				return
			}
			var s adminapi.Succession
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			// A change finished before was asked by no client: only
			// the answer is checked.
			if tc.role == adminapi.RoleAdmin && !strings.Contains(tc.name, "again") {
				f.checkSuccession(t, ctx, old, &s, tc.role)
			} else if s.Superseded.ID != old || s.Superseded.Successor != s.Seal.ID || s.Seal.Predecessor != old {
				t.Fatalf("answer %+v", s)
			}
			if tc.check != nil {
				tc.check(t, old, &s)
			}
		})
	}
}

// TestChangeRenewClient: the client's Change and Renew return the
// successor and the superseded seal, and the errors of the registry's
// sentinels, as seals change and renew need them for their output and
// exit codes.
func TestChangeRenewClient(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	admin := f.apiClient(t, adminapi.RoleAdmin)
	old, err := f.makeSealValid(ctx, "A", year)
	if err != nil {
		t.Fatal(err)
	}
	s, err := admin.Change(ctx, old, adminapi.ChangeRequest{Code: f.code(), Reason: "representative changed", ValidityDays: 365})
	if err != nil {
		t.Fatal(err)
	}
	f.checkSuccession(t, ctx, old, s, adminapi.RoleAdmin)
	r, err := admin.Renew(ctx, s.Seal.ID, adminapi.RenewRequest{Code: f.code(), ValidityDays: 2 * 365})
	if err != nil {
		t.Fatal(err)
	}
	f.checkSuccession(t, ctx, s.Seal.ID, r, adminapi.RoleAdmin)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"renew again beyond the certificate", func() error {
			_, err := admin.Renew(ctx, r.Seal.ID, adminapi.RenewRequest{Code: f.code()})
			return err
		}(), registry.ErrInvalid},
		{"change to a registered code", func() error {
			_, err := admin.Change(ctx, r.Seal.ID, adminapi.ChangeRequest{Code: f.sealA, Reason: "x"})
			return err
		}(), registry.ErrExists},
		{"change of a superseded seal", func() error {
			_, err := admin.Change(ctx, old, adminapi.ChangeRequest{Code: f.code(), Reason: "x"})
			return err
		}(), registry.ErrTransition},
		{"change by a keeper", func() error {
			_, err := f.apiClient(t, adminapi.RoleKeeper).Change(ctx, r.Seal.ID, adminapi.ChangeRequest{Code: f.code(), Reason: "x"})
			return err
		}(), adminapi.ErrForbidden},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}

// impression returns a scanned unit seal impression mm across
// (sealpictest.Impression); blue swaps its red for blue.
func impression(t *testing.T, mm float64, blue bool) []byte {
	t.Helper()
	b, err := sealpictest.Impression(mm, blue)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMakeImpression: POST /api/v1/seals with an impression makes the
// seal with that PNG as its picture, as seals make --impression does,
// for the seal administrator only; an impression the county rules refuse
// is 400 saying why, and makes nothing.
func TestMakeImpression(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	scan := impression(t, 42, false)
	var huge bytes.Buffer
	if err := png.Encode(&huge, image.NewGray(image.Rect(0, 0, sealpic.MaxImpressionSide+1, 1))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		role    adminapi.Role
		imp     *adminapi.ImpressionUpload
		kind    string
		key     string
		status  int
		code    string
		message string // in the error's message
		mm      int    // the picture's size made
	}{
		{"42 mm at the recorded 305 dpi", adminapi.RoleAdmin, &adminapi.ImpressionUpload{Data: scan}, "", "", 201, "", "", 42},
		{"scanned at 300 dpi", adminapi.RoleAdmin, &adminapi.ImpressionUpload{Data: scan, DPI: 300}, "", "", 201, "", "", 43},
		{"blue", adminapi.RoleAdmin, &adminapi.ImpressionUpload{Data: impression(t, 42, true)}, "", "", 400, adminapi.CodeInvalid, "impression refused: ", 0},
		{"30 mm", adminapi.RoleAdmin, &adminapi.ImpressionUpload{Data: impression(t, 30, false)}, "", "", 400, adminapi.CodeInvalid, "30.0 mm across at 305 dpi", 0},
		{"round for a personal seal", adminapi.RoleAdmin, &adminapi.ImpressionUpload{Data: scan}, engine.SealKindPersonal, "", 400, adminapi.CodeInvalid, "square impression is 10 to 30 mm", 0},
		{"not a PNG", adminapi.RoleAdmin, &adminapi.ImpressionUpload{Data: []byte("GIF89a")}, "", "", 400, adminapi.CodeInvalid, "not a PNG", 0},
		{"more pixels than any impression", adminapi.RoleAdmin, &adminapi.ImpressionUpload{Data: huge.Bytes()}, "", "", 400, adminapi.CodeInvalid, "no seal's impression is more than 9500 a side", 0},
		{"no data", adminapi.RoleAdmin, &adminapi.ImpressionUpload{}, "", "", 400, adminapi.CodeBadRequest, "impression.data is empty", 0},
		{"with an HSM key", adminapi.RoleAdmin, &adminapi.ImpressionUpload{Data: scan}, "", "pkcs11:object=x", 400, adminapi.CodeInvalid, "signer_key", 0},
		{"by the registrar", adminapi.RoleRegistrar, &adminapi.ImpressionUpload{Data: scan}, "", "", 403, adminapi.CodeForbidden, "", 0},
		{"by a keeper of the unit", adminapi.RoleKeeper, &adminapi.ImpressionUpload{Data: scan}, "", "", 403, adminapi.CodeForbidden, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := adminapi.MakeSealRequest{MakeRequest: adminapi.MakeRequest{Kind: tc.kind, Unit: "civil-affairs", Purpose: "业务专用章", Code: f.code(), Approvers: []string{"approver-zhang"}, SignerKey: tc.key}, Impression: tc.imp}
			if tc.kind == engine.SealKindPersonal {
				req.Purpose, req.Holder = "", "张三"
			}
			code, b := f.call(t, f.client[tc.role], "POST", adminapi.Prefix+"/seals", req)
			if code != tc.status {
				t.Fatalf("%d, want %d: %s", code, tc.status, b)
			}
			reg, err := f.e.Registry(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if code != http.StatusCreated {
				var e adminapi.Error
				if err := json.Unmarshal(b, &e); err != nil || e.Code != tc.code || !strings.Contains(e.Message, tc.message) {
					t.Fatalf("%d %s %q, want %s with %q", code, e.Code, e.Message, tc.code, tc.message)
				}
				if _, err := reg.Get(ctx, req.Code); !errors.Is(err, registry.ErrNotFound) {
					t.Fatalf("seal %s made by a refused request (%v)", req.Code, err)
				}
				return
			}
			var s adminapi.Seal
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			if s.SESeal == nil || s.SESeal.PictureType != "PNG" || s.SESeal.PictureWidthMM != tc.mm || s.SESeal.PictureHeightMM != tc.mm {
				t.Fatalf("SESeal %+v, want a %d mm PNG", s.SESeal, tc.mm)
			}
			e, err := reg.Get(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(e.Seal.Picture.Data, scan) {
				t.Fatal("the seal's picture is not the impression sent")
			}
			f.checkLogged(t, ctx, s.ID, tc.role)
		})
	}
	// The client sends it the same way.
	s, err := f.apiClient(t, adminapi.RoleAdmin).MakeFromImpression(ctx, adminapi.MakeRequest{Unit: "civil-affairs", Purpose: "业务专用章", Code: f.code(), Approvers: []string{"approver-zhang"}}, adminapi.ImpressionUpload{Data: scan})
	if err != nil || s.SESeal == nil || s.SESeal.PictureWidthMM != 42 {
		t.Fatalf("client: %+v, %v", s, err)
	}
	_, err = f.apiClient(t, adminapi.RoleAdmin).MakeFromImpression(ctx, adminapi.MakeRequest{Unit: "civil-affairs", Purpose: "业务专用章", Code: f.code(), Approvers: []string{"approver-zhang"}}, adminapi.ImpressionUpload{Data: impression(t, 30, false)})
	if !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("client, a 30 mm impression: %v, want registry.ErrInvalid", err)
	}
}

// TestApplicationClient: the client's MakeFromApplication and
// FileApplication, which seals application make and file use with
// SEALPIPE_ADMIN_URL: the seal made suspended, filed active, each change
// recording its requester; the routes' roles as the policy says.
func TestApplicationClient(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	id := f.submitApplication(t, ctx)
	if _, err := f.e.ReviewApplication(ctx, id, true, ""); err != nil {
		t.Fatal(err)
	}
	code := f.code()
	req := adminapi.ApplicationMakeRequest{Unit: "civil-affairs", Code: code, Approvers: []string{"approver-zhang"}}
	if _, err := f.apiClient(t, adminapi.RoleRegistrar).MakeFromApplication(ctx, id, req); !errors.Is(err, adminapi.ErrForbidden) {
		t.Fatalf("registrar makes: %v, want forbidden", err)
	}
	if _, err := f.apiClient(t, adminapi.RoleAdmin).FileApplication(ctx, id, adminapi.FileRequest{}); !errors.Is(err, registry.ErrTransition) {
		t.Fatalf("filed before made: %v, want registry.ErrTransition", err)
	}
	a, err := f.apiClient(t, adminapi.RoleAdmin).MakeFromApplication(ctx, id, req)
	if err != nil || a.State != registry.AppMade || a.Seal != code {
		t.Fatalf("make: %+v, %v", a, err)
	}
	if e := f.entry(t, ctx, code); e.Status != registry.StatusSuspended || e.Application != id {
		t.Fatalf("seal %s: %s, application %q; want suspended, made from %s", code, e.Status, e.Application, id)
	}
	if _, err := f.apiClient(t, adminapi.RoleKeeper).FileApplication(ctx, id, adminapi.FileRequest{}); !errors.Is(err, adminapi.ErrForbidden) {
		t.Fatalf("keeper files: %v, want forbidden", err)
	}
	a, err = f.apiClient(t, adminapi.RoleRegistrar).FileApplication(ctx, id, adminapi.FileRequest{Reason: "filed with the county"})
	if err != nil || a.State != registry.AppFiled {
		t.Fatalf("file: %+v, %v", a, err)
	}
	f.checkLogged(t, ctx, code, adminapi.RoleRegistrar)
	if e := f.entry(t, ctx, code); e.Status != registry.StatusActive {
		t.Fatalf("seal %s: %s after filing", code, e.Status)
	}
	// Its last two events, make and file, name who asked for each.
	for i, role := range []adminapi.Role{adminapi.RoleAdmin, adminapi.RoleRegistrar} {
		ev := a.History[len(a.History)-2+i]
		if ev.Requester == nil || ev.Requester.Name != names[role] {
			t.Errorf("application %s event %d (%s): requester %+v, want %s", id, ev.Seq, ev.Op, ev.Requester, names[role])
		}
	}
	if _, err := f.apiClient(t, adminapi.RoleAdmin).MakeFromApplication(ctx, "no-such-application", req); !errors.Is(err, registry.ErrAppNotFound) {
		t.Fatalf("no such application: %v", err)
	}
}
