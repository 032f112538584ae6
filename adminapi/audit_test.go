package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/pipeline/audittrail"
	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// unitNames are the names of the fixture's units A and B, as the
// registry records them and a keeper's certificate (O) names them.
var unitNames = map[string]string{"A": "某某县民政局", "B": "某某县人民政府办公室"}

// audit queries GET /api/v1/audit as role and decodes a 200's events.
func (f *fixture) audit(t *testing.T, role adminapi.Role, query string) (int, []audittrail.Event, adminapi.Error) {
	t.Helper()
	code, b := f.call(t, f.client[role], "GET", adminapi.Prefix+"/audit"+query, nil)
	var l adminapi.AuditList
	var e adminapi.Error
	if code == http.StatusOK {
		if err := json.Unmarshal(b, &l); err != nil || l.Events == nil {
			t.Fatalf("audit%s: %v: %s", query, err, b)
		}
	} else {
		json.Unmarshal(b, &e)
	}
	return code, l.Events, e
}

// apiClient is an adminapi.Client with role's certificate.
func (f *fixture) apiClient(t *testing.T, role adminapi.Role) *adminapi.Client {
	t.Helper()
	c, err := adminapi.NewClient(f.url, f.certs[role], f.pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func units(events []audittrail.Event) []string {
	var out []string
	for _, ev := range events {
		if !slices.Contains(out, ev.Unit) {
			out = append(out, ev.Unit)
		}
	}
	slices.Sort(out)
	return out
}

func registered(events []audittrail.Event, id string) bool {
	return slices.ContainsFunc(events, func(ev audittrail.Event) bool { return ev.Seal == id && ev.Op == string(registry.OpRegister) })
}

// TestAudit: GET /api/v1/audit answers as `sealpipe audit query` does —
// every seal for an auditor, oldest first; a keeper's units' seals only,
// whatever it asks; CSV on request; bad parameters 400; a record that
// does not verify 409 AUDIT_UNVERIFIED naming it, never a shorter list.
func TestAudit(t *testing.T) {
	f := setup(t)
	both := []string{unitNames["B"], unitNames["A"]}
	slices.Sort(both)

	code, events, e := f.audit(t, adminapi.RoleAuditor, "")
	if code != http.StatusOK || !registered(events, f.sealA) || !registered(events, f.sealB) || !slices.Equal(units(events), both) {
		t.Fatalf("auditor: %d %s, units %v, want both units' seals", code, e.Code, units(events))
	}
	if !slices.IsSortedFunc(events, func(a, b audittrail.Event) int { return a.Time.Compare(b.Time) }) {
		t.Errorf("auditor: events not oldest first")
	}

	// A keeper asking for nothing in particular gets its own unit's
	// seals' events only; asking for another unit's seal, nothing.
	code, events, e = f.audit(t, adminapi.RoleKeeper, "")
	if code != http.StatusOK || !registered(events, f.sealA) || !slices.Equal(units(events), []string{unitNames["A"]}) {
		t.Fatalf("keeper, no unit: %d %s, units %v, want only %s", code, e.Code, units(events), unitNames["A"])
	}
	code, events, e = f.audit(t, adminapi.RoleKeeper, "?seal="+f.sealB)
	if code != http.StatusOK || len(events) != 0 {
		t.Fatalf("keeper, another unit's seal: %d %s, %d events, want none", code, e.Code, len(events))
	}
	code, _, e = f.audit(t, adminapi.RoleKeeper, "?seal="+f.sealA+"&unit="+url.QueryEscape(unitNames["B"]))
	if code != http.StatusForbidden || e.Code != adminapi.CodeOtherUnit {
		t.Fatalf("keeper, another unit: %d %s, want 403 %s", code, e.Code, adminapi.CodeOtherUnit)
	}
	for _, r := range []adminapi.Role{adminapi.RoleApprover, adminapi.RoleUploader} {
		if code, _, e := f.audit(t, r, ""); code != http.StatusForbidden || e.Code != adminapi.CodeForbidden {
			t.Errorf("%s: %d %s, want 403 %s", r, code, e.Code, adminapi.CodeForbidden)
		}
	}

	// Narrowed by seal (repeatable) and time.
	code, events, _ = f.audit(t, adminapi.RoleAuditor, "?seal="+f.sealA+"&seal="+f.sealB+"&from=2000-01-01&to=2999-12-31T23:59:59%2B08:00")
	if code != http.StatusOK || !registered(events, f.sealA) || !registered(events, f.sealB) || slices.ContainsFunc(events, func(ev audittrail.Event) bool { return ev.Seal != f.sealA && ev.Seal != f.sealB }) {
		t.Fatalf("two seals: %d, %+v", code, events)
	}
	if code, events, _ = f.audit(t, adminapi.RoleAuditor, "?to=2000-01-01"); code != http.StatusOK || len(events) != 0 {
		t.Fatalf("before 2000: %d, %d events, want none", code, len(events))
	}

	// CSV: the same as `audit query --csv` writes for the same events,
	// by Accept or by format=csv; JSON preferred stays JSON.
	_, events, _ = f.audit(t, adminapi.RoleAuditor, "?unit="+url.QueryEscape(unitNames["A"]))
	var want bytes.Buffer
	if err := audittrail.WriteCSV(&want, events); err != nil {
		t.Fatal(err)
	}
	q := "?unit=" + url.QueryEscape(unitNames["A"])
	for name, tc := range map[string]struct {
		query  string
		accept string
		csv    bool
	}{
		"Accept text/csv":      {q, "text/csv", true},
		"format=csv":           {q + "&format=csv", "application/json", true},
		"JSON preferred":       {q, "application/json, text/csv;q=0.5", false},
		"CSV preferred":        {q, "application/json;q=0.4, text/csv;q=0.9", true},
		"format=json wins":     {q + "&format=json", "text/csv", false},
		"no preference stated": {q, "*/*", false},
	} {
		resp, b := f.send(t, f.client[adminapi.RoleAuditor], "GET", adminapi.Prefix+"/audit"+tc.query, nil, http.Header{"Accept": {tc.accept}})
		ct := resp.Header.Get("Content-Type")
		switch {
		case resp.StatusCode != http.StatusOK:
			t.Errorf("%s: %d: %s", name, resp.StatusCode, b)
		case tc.csv && (!strings.HasPrefix(ct, "text/csv") || !bytes.Equal(b, want.Bytes())):
			t.Errorf("%s: %s\n%s\nwant\n%s", name, ct, b, want.Bytes())
		case !tc.csv && !strings.HasPrefix(ct, "application/json"):
			t.Errorf("%s: %s, want JSON", name, ct)
		}
	}
	if !strings.HasPrefix(want.String(), strings.Join(audittrail.Columns, ",")+"\r\n") || strings.Count(want.String(), "\r\n") != len(events)+1 {
		t.Errorf("CSV: %q", want.String())
	}

	// The client asks the same, its bounds as instants, and gets the same
	// events in the zone it asks for; a keeper through it its own unit's.
	from, _ := time.Parse(time.DateOnly, "2000-01-01")
	got, err := f.apiClient(t, adminapi.RoleAuditor).Audit(context.Background(), audittrail.Filter{Unit: unitNames["A"], From: from, Location: time.UTC})
	if err != nil || len(got) != len(events) {
		t.Fatalf("client: %d events, %v; want %d", len(got), err, len(events))
	}
	for i := range got {
		if !got[i].Time.Equal(events[i].Time) || got[i].Time.Location() != time.UTC || got[i].Object != events[i].Object {
			t.Fatalf("client: event %d: %+v, want %+v in UTC", i, got[i], events[i])
		}
	}
	if got, err = f.apiClient(t, adminapi.RoleKeeper).Audit(context.Background(), audittrail.Filter{}); err != nil || !slices.Equal(units(got), []string{unitNames["A"]}) {
		t.Fatalf("client as keeper: units %v, %v", units(got), err)
	}

	// Bad parameters: 400 INVALID_REQUEST.
	for _, query := range []string{
		"?from=yesterday", "?from=2026-12-01&to=2026-11-30", "?seal=..%2Fregistry", "?seal=",
		"?sael=" + f.sealA, "?unit=a&unit=b", "?format=xml",
	} {
		if code, _, e := f.audit(t, adminapi.RoleAuditor, query); code != http.StatusBadRequest || e.Code != adminapi.CodeInvalid {
			t.Errorf("%s: %d %s, want 400 %s", query, code, e.Code, adminapi.CodeInvalid)
		}
	}
}

// TestAuditUnverified: a seal whose registry log does not verify fails
// the query with 409 AUDIT_UNVERIFIED naming the object, listing no
// event; once it verifies again, the query answers.
func TestAuditUnverified(t *testing.T) {
	f := setup(t)
	id, err := f.makeSeal(context.Background(), "B")
	if err != nil {
		t.Fatal(err)
	}
	head := filepath.Join(f.dir, "data", "store", "sealpipe", "registry", "seals", id, "head.json")
	orig, err := os.ReadFile(head)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(head, orig, 0o644) })
	var h map[string]any
	if err := json.Unmarshal(orig, &h); err != nil {
		t.Fatal(err)
	}
	h["sm3"] = strings.Repeat("0", 64)
	forged, _ := json.Marshal(h)
	time.Sleep(10 * time.Millisecond) // a new modification time, whatever the file system's resolution
	if err := os.WriteFile(head, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	// The client (audit query with SEALPIPE_ADMIN_URL) gets the problems
	// as Trail.Query gives them.
	_, err = f.apiClient(t, adminapi.RoleAuditor).Audit(context.Background(), audittrail.Filter{Seals: []string{id}})
	var unverified *audittrail.UnverifiedError
	if !errors.As(err, &unverified) || len(unverified.Problems) != 1 || unverified.Problems[0].Seal != id {
		t.Fatalf("client: %v, want an *audittrail.UnverifiedError naming seal %s", err, id)
	}
	for _, r := range []adminapi.Role{adminapi.RoleAuditor, adminapi.RoleAdmin} {
		code, events, e := f.audit(t, r, "?seal="+id)
		if code != http.StatusConflict || e.Code != adminapi.CodeAuditUnverified || len(events) != 0 ||
			len(e.Problems) != 1 || e.Problems[0].Seal != id || !strings.HasPrefix(e.Problems[0].Object, "registry/seals/"+id+"/") || e.Problems[0].Reason == "" {
			t.Fatalf("%s: %d %s %+v, want 409 %s naming seal %s's log", r, code, e.Code, e.Problems, adminapi.CodeAuditUnverified, id)
		}
	}
	// Seal A's own query does not look at seal B's unit's logs.
	if code, events, e := f.audit(t, adminapi.RoleKeeper, "?seal="+f.sealA); code != http.StatusOK || !registered(events, f.sealA) {
		t.Fatalf("keeper, seal A: %d %s", code, e.Code)
	}
	if err := os.WriteFile(head, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, events, e := f.audit(t, adminapi.RoleAuditor, "?seal="+id); code != http.StatusOK || !registered(events, id) {
		t.Fatalf("restored: %d %s", code, e.Code)
	}
}
