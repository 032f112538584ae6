package audittrail_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/audittrail"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The world's seals: two of the civil-affairs bureau, one of the county
// office.
const (
	sealCivil  = demo.SealCivil
	sealCounty = demo.SealCounty
	sealPermit = "33010200000003" // the bureau's, revoked in phase 4
	unitCivil  = "某某县民政局"
	unitCounty = "某某县人民政府办公室"
	sealName   = "33010200000004" // 张三's name seal, made from appID in phase 6
	appID      = "411728-2026-0001"
	bucket     = "sealpipe"
)

// world is a data folder — the development PKI and a local store — in
// which the real pipeline sealed batches for three seals of two units
// between registry changes, in phases that each start on a whole second
// and hold either registry changes or uses (a use's time has one-second
// resolution), so that the order of events is the same on every run:
//
//	0  register sealCivil, sealCounty, sealPermit
//	1  civil-affairs/b1: two uses of sealCivil
//	2  sealCivil's approvers replaced, at a keeper's request
//	3  county-office/c1: a use of sealCounty; civil-affairs/b2: a use of sealPermit
//	4  sealCounty suspended at a keeper's request, sealPermit revoked
//	5  civil-affairs/b3: a use of sealCivil in a batch still in progress
//	6  appID submitted at a registrar's request, approved, sealName made
//	   from it (registered suspended, the application marked made), filed
//	   at the registrar's request (sealName activated, the application
//	   marked filed)
var world struct {
	once   sync.Once
	dir    string
	phases []time.Time // the start of each phase
	err    error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if world.dir != "" {
		os.RemoveAll(world.dir)
	}
	os.Exit(code)
}

var registrar = &registry.Principal{Name: "registrar-liu", Role: "registrar", Fingerprint: strings.Repeat("cd", 32)}

var keeper = &registry.Principal{Name: "keeper-wang", Role: "keeper", Fingerprint: strings.Repeat("ab", 32)}

// makeWorld makes the world, on first use.
func makeWorld(t *testing.T) {
	t.Helper()
	world.once.Do(func() {
		if world.dir, world.err = os.MkdirTemp("", "sealpipe-audittrail-test-*"); world.err == nil {
			world.err = build(world.dir)
		}
	})
	if world.err != nil {
		t.Fatal(world.err)
	}
}

// worldDir returns a copy of the world's data folder.
func worldDir(t *testing.T) string {
	t.Helper()
	makeWorld(t)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(world.dir)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func build(dir string) error {
	ctx := context.Background()
	phase := func() {
		next := time.Now().Truncate(time.Second).Add(time.Second)
		time.Sleep(time.Until(next))
		world.phases = append(world.phases, next)
	}
	e := engine.New(engine.Settings{Data: dir, Bucket: bucket}, engine.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer e.Close()
	ca, err := e.InitDevCA(demo.Units, demo.Approvers)
	if err != nil {
		return err
	}
	phase()
	for _, s := range []engine.SealSpec{
		{Unit: demo.Department, Code: sealCivil, Purpose: "业务专用章", Approvers: []string{demo.Approver}},
		{Unit: "county-office", Code: sealCounty, Approvers: []string{demo.OtherApprover}},
		{Unit: demo.Department, Code: sealPermit, Purpose: "准予许可专用章", Approvers: []string{demo.Approver}},
	} {
		if _, err := e.MakeSeal(ctx, s); err != nil {
			return err
		}
	}
	st, err := e.Store(ctx)
	if err != nil {
		return err
	}
	reg, err := e.Registry(ctx)
	if err != nil {
		return err
	}
	admin, err := e.Admin(ctx)
	if err != nil {
		return err
	}
	p, err := e.Pipeline(ctx)
	if err != nil {
		return err
	}
	seal := func(dept, batch, sealID, approver string, docs int, finish bool) error {
		ref := pipeline.BatchRef{Department: dept, Batch: batch}
		id := ca.Approvers[approver]
		key, err := ca.Signer(ctx, id)
		if err != nil {
			return err
		}
		b, err := demo.MakeBatch(demo.BatchOptions{Ref: ref, Docs: docs, Seal: sealID, ApproverKey: key, ApproverCert: id.Cert})
		if err != nil {
			return err
		}
		if err := b.Upload(ctx, st); err != nil {
			return err
		}
		plan, err := p.Intake(ctx, ref)
		if err != nil {
			return err
		}
		for _, n := range plan.Documents {
			if out, err := p.SealDocument(ctx, ref, n); err != nil || out != report.OutcomeSealed {
				return fmt.Errorf("seal %s/%s: %v, %v", ref, n, out, err)
			}
		}
		if finish {
			_, err = p.WriteBatchReport(ctx, ref)
		}
		return err
	}

	phase()
	if err := seal(demo.Department, "b1", sealCivil, demo.Approver, 2, true); err != nil {
		return err
	}
	phase()
	if _, err := reg.ChangeApprovers(ctx, sealCivil, registry.ApproversChange{
		Grants: []registry.ApproverGrant{
			{Cert: ca.Approvers[demo.Approver].Cert, Departments: []string{demo.Department}},
			{Cert: ca.Approvers[demo.OtherApprover].Cert, Departments: []string{demo.Department}},
		},
		Reason: "李娜 approves too", Requester: keeper,
	}, admin); err != nil {
		return err
	}
	phase()
	if err := seal("county-office", "c1", sealCounty, demo.OtherApprover, 1, true); err != nil {
		return err
	}
	if err := seal(demo.Department, "b2", sealPermit, demo.Approver, 1, true); err != nil {
		return err
	}
	phase()
	if _, err := reg.ChangeStatus(ctx, sealCounty, registry.StatusChange{
		To: registry.StatusSuspended, Reason: `=lost, "reported" by the keeper`, Requester: keeper,
	}, admin); err != nil {
		return err
	}
	if _, err := e.SetSealStatus(ctx, sealPermit, registry.StatusRevoked, "unit dissolved"); err != nil {
		return err
	}
	phase()
	if err := seal(demo.Department, "b3", sealCivil, demo.Approver, 1, false); err != nil {
		return err
	}
	phase()
	if _, err := reg.Submit(ctx, registry.ApplicationRequest{ID: appID, Unit: unitCivil, Kind: registry.KindName, Holder: "张三", Clerk: "王芳",
		Materials: []registry.MaterialFile{{Name: "holder-id.png", Data: []byte("id card")}}, Requester: registrar}, admin); err != nil {
		return err
	}
	if _, err := reg.Review(ctx, appID, true, "materials complete", nil, admin); err != nil {
		return err
	}
	if _, _, err := e.MakeFromApplication(ctx, appID, engine.SealSpec{Unit: demo.Department, Code: sealName, Approvers: []string{demo.Approver}}); err != nil {
		return err
	}
	_, err = e.FileSeal(ctx, appID, "", registrar)
	return err
}

// trail is the audit trail of the data folder dir as sealpipe opens it.
func trail(t *testing.T, dir string) *audittrail.Trail {
	t.Helper()
	e := engine.New(engine.Settings{Data: dir, Bucket: bucket})
	t.Cleanup(func() { e.Close() })
	tr, err := e.AuditTrail(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// objects lists the events' object keys.
func objects(events []audittrail.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Object
	}
	return out
}

func use(seal, dept, batch, doc string) string {
	return fmt.Sprintf("audit/%s/%s/%s/%s.json", seal, dept, batch, doc)
}

func change(seal string, seq int) string { return registry.ChangeKey(seal, seq) }

func appChange(seq int) string { return registry.ApplicationChangeKey(appID, seq) }

// The world's events, in the order Query must list them.
var (
	registered = []string{change(sealCivil, 1), change(sealCounty, 1), change(sealPermit, 1)}
	b1         = []string{use(sealCivil, demo.Department, "b1", "cert-00001.pdf"), use(sealCivil, demo.Department, "b1", "cert-00002.pdf")}
	approvers  = change(sealCivil, 2)
	c1         = use(sealCounty, "county-office", "c1", "cert-00001.pdf")
	b2         = use(sealPermit, demo.Department, "b2", "cert-00001.pdf")
	suspended  = change(sealCounty, 2)
	revoked    = change(sealPermit, 2)
	b3         = use(sealCivil, demo.Department, "b3", "cert-00001.pdf")
	applied    = []string{appChange(1), appChange(2), change(sealName, 1), appChange(3), change(sealName, 2), appChange(4)}
	everything = slices.Concat(registered, b1, []string{approvers, c1, b2, suspended, revoked, b3}, applied)
)

// TestQuery narrows the world's events by seal, unit and time, and checks
// the bounds: each inclusive, to the nanosecond for a registry change, a
// date from its first instant to its last.
func TestQuery(t *testing.T) {
	dir := worldDir(t)
	tr := trail(t, dir)
	ctx := context.Background()
	all, err := tr.Query(ctx, audittrail.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := objects(all); !slices.Equal(got, everything) {
		t.Fatalf("every event:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(everything, "\n"))
	}
	at := func(object string) time.Time {
		i := slices.Index(everything, object)
		return all[i].Time
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	day := at(c1).In(shanghai).Format(time.DateOnly)
	dayBefore := at(c1).In(shanghai).AddDate(0, 0, -1).Format(time.DateOnly)
	onDay := func(obj ...string) []string { // those of obj on day, in Shanghai
		return slices.DeleteFunc(slices.Clone(obj), func(o string) bool { return at(o).In(shanghai).Format(time.DateOnly) != day })
	}
	p := world.phases
	for _, tc := range []struct {
		name string
		f    audittrail.Filter
		want []string
	}{
		{"everything", audittrail.Filter{}, everything},
		{"one seal", audittrail.Filter{Seals: []string{sealCounty}}, []string{change(sealCounty, 1), c1, suspended}},
		{"two seals, named twice", audittrail.Filter{Seals: []string{sealPermit, sealCounty, sealPermit}},
			[]string{change(sealCounty, 1), change(sealPermit, 1), c1, b2, suspended, revoked}},
		{"a seal no one knows", audittrail.Filter{Seals: []string{"33010200000099"}}, nil},
		{"a unit with three seals and an application", audittrail.Filter{Unit: unitCivil},
			slices.Concat([]string{change(sealCivil, 1), change(sealPermit, 1)}, b1, []string{approvers, b2, revoked, b3}, applied)},
		{"a seal made from an application", audittrail.Filter{Seals: []string{sealName}}, applied},
		{"the other unit", audittrail.Filter{Unit: unitCounty}, []string{change(sealCounty, 1), c1, suspended}},
		{"a unit no one knows", audittrail.Filter{Unit: "某某县公安局"}, nil},
		{"a seal of another unit", audittrail.Filter{Seals: []string{sealCounty}, Unit: unitCivil}, nil},
		{"a seal and its unit", audittrail.Filter{Seals: []string{sealPermit}, Unit: unitCivil}, []string{change(sealPermit, 1), b2, revoked}},
		{"from a phase", audittrail.Filter{From: p[3]}, slices.Concat([]string{c1, b2, suspended, revoked, b3}, applied)},
		{"the application's phase", audittrail.Filter{From: p[6]}, applied},
		{"to just before a phase", audittrail.Filter{To: p[3].Add(-time.Nanosecond)}, slices.Concat(registered, b1, []string{approvers})},
		{"one phase", audittrail.Filter{From: p[1], To: p[2].Add(-time.Nanosecond)}, b1},
		{"from a change's instant", audittrail.Filter{From: at(approvers)}, slices.Concat([]string{approvers, c1, b2, suspended, revoked, b3}, applied)},
		{"from just after it", audittrail.Filter{From: at(approvers).Add(time.Nanosecond)}, slices.Concat([]string{c1, b2, suspended, revoked, b3}, applied)},
		{"to a change's instant", audittrail.Filter{To: at(approvers)}, slices.Concat(registered, b1, []string{approvers})},
		{"to just before it", audittrail.Filter{To: at(approvers).Add(-time.Nanosecond)}, slices.Concat(registered, b1)},
		{"from a use's second", audittrail.Filter{From: at(c1)}, slices.Concat([]string{c1, b2, suspended, revoked, b3}, applied)},
		{"to a use's second", audittrail.Filter{Seals: []string{sealCounty}, To: at(c1)}, []string{change(sealCounty, 1), c1}},
		{"to just before it", audittrail.Filter{Seals: []string{sealCounty}, To: at(c1).Add(-time.Nanosecond)}, []string{change(sealCounty, 1)}},
		{"an instant between events", audittrail.Filter{From: p[5].Add(-time.Nanosecond), To: p[5].Add(-time.Nanosecond)}, nil},
		{"an application's change to its instant", audittrail.Filter{From: at(appChange(2)), To: at(appChange(2))}, []string{appChange(2)}},
		{"one day, by date", must(audittrail.ParseFilter(nil, "", day, day, shanghai)), onDay(everything...)},
		{"up to the day before", must(audittrail.ParseFilter(nil, "", "", dayBefore, shanghai)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tr.Query(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(objects(got), tc.want) {
				t.Fatalf("Query(%+v):\n%s\nwant\n%s", tc.f, strings.Join(objects(got), "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func must(f audittrail.Filter, err error) audittrail.Filter {
	if err != nil {
		panic(err)
	}
	return f
}

// TestEvents checks what an event says, against the store.
func TestEvents(t *testing.T) {
	dir := worldDir(t)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	events, err := trail(t, dir).Query(context.Background(), audittrail.Filter{Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	byObject := map[string]audittrail.Event{}
	for _, e := range events {
		if e.Time.Location() != shanghai {
			t.Errorf("%s: time %s, not in Asia/Shanghai", e.Object, e.Time)
		}
		byObject[e.Object] = e
	}
	st, err := fs.Open(filepath.Join(dir, "store"), bucket)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _, err := storage.ReadAll(context.Background(), st, "sealed/county-office/c1/cert-00001.pdf", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	sum := sm3.Sum(sealed)
	u := byObject[c1]
	u.Time = time.Time{}
	want := audittrail.Event{Seal: sealCounty, Unit: unitCounty, Op: audittrail.OpUse,
		Department: "county-office", Batch: "c1", Document: "cert-00001.pdf", OutputSM3: hex.EncodeToString(sum[:]),
		Approver: u.Approver, Operator: "pipeline", Segment: "usagelog/" + sealCounty + "/000001.json", Object: c1}
	if u != want || !strings.HasPrefix(u.Approver, "CN="+demo.OtherApprover+",") {
		t.Errorf("use:\n%+v\nwant\n%+v", u, want)
	}
	if e := byObject[b3]; e.Segment != "" || e.Batch != "b3" {
		t.Errorf("use in a batch in progress: %+v, want no segment", e)
	}
	c := byObject[suspended]
	c.Time = time.Time{}
	if want := (audittrail.Event{Seal: sealCounty, Unit: unitCounty, Op: "suspend", Actor: c.Actor, Requester: keeper,
		Reason: `=lost, "reported" by the keeper`, Status: registry.StatusSuspended, Code: registry.CodeOther, Object: suspended}); !reflect.DeepEqual(c, want) || c.Actor == "" {
		t.Errorf("change:\n%+v\nwant\n%+v", c, want)
	}
	filed := byObject[appChange(4)]
	filed.Time = time.Time{}
	if want := (audittrail.Event{Seal: sealName, Unit: unitCivil, Op: "file", Actor: filed.Actor, Requester: registrar,
		Reason: "filed (application " + appID + ")", Application: appID, State: registry.AppFiled, Object: appChange(4)}); !reflect.DeepEqual(filed, want) || filed.Actor == "" {
		t.Errorf("application change:\n%+v\nwant\n%+v", filed, want)
	}
	for obj, op := range map[string]string{change(sealPermit, 1): "register", approvers: "approvers", revoked: "revoke", appChange(1): "submit", appChange(3): "make"} {
		if byObject[obj].Op != op {
			t.Errorf("%s: op %q, want %q", obj, byObject[obj].Op, op)
		}
	}
}

// TestCSV compares the world's CSV with testdata/world.csv (go test
// -update rewrites it), times shown as the phase they fall in and SM3
// digests as <sm3>, which differ from run to run.
func TestCSV(t *testing.T) {
	events, err := trail(t, worldDir(t)).Query(context.Background(), audittrail.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	sm3hex := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for i := range events {
		e := &events[i]
		if e.OutputSM3 != "" && !sm3hex.MatchString(e.OutputSM3) {
			t.Fatalf("%s: output SM3 %q", e.Object, e.OutputSM3)
		}
		if e.OutputSM3 != "" {
			e.OutputSM3 = "<sm3>"
		}
	}
	var b bytes.Buffer
	if err := audittrail.WriteCSV(&b, events); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	lines := strings.SplitAfter(got, "\r\n")
	for i, e := range events { // the time column, first: the phase's number
		n := len(world.phases) - 1
		for n > 0 && e.Time.Before(world.phases[n]) {
			n--
		}
		ts := e.Time.Format(time.RFC3339)
		if !strings.HasPrefix(lines[i+1], ts+",") {
			t.Fatalf("line %d: %q does not start with the time %s", i+2, lines[i+1], ts)
		}
		lines[i+1] = fmt.Sprintf("phase %d", n) + strings.TrimPrefix(lines[i+1], ts)
	}
	got = strings.Join(lines, "")
	golden := filepath.Join("testdata", "world.csv")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("CSV differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

// TestUnverified: a record in the query's scope that does not verify fails
// the query naming it, and nothing is listed — even when the record lies
// outside the query's time, since the log is verified as a whole; a seal
// outside the query's scope is not read.
func TestUnverified(t *testing.T) {
	makeWorld(t)
	rewrite := func(key, old, new string) func(t *testing.T, store string) {
		return func(t *testing.T, store string) {
			name := filepath.Join(store, filepath.FromSlash(key))
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(old)) {
				t.Fatalf("%s holds no %q", key, old)
			}
			if err := os.WriteFile(name, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	usesRewritten := rewrite(b1[1], "cert-00002", "cert-00009")
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, store string)
		f      audittrail.Filter
		object string // the object named; "": the query succeeds
	}{
		{"untouched", func(*testing.T, string) {}, audittrail.Filter{}, ""},
		{"a use rewritten", usesRewritten, audittrail.Filter{}, b1[1]},
		{"a use rewritten, its seal asked about", usesRewritten, audittrail.Filter{Seals: []string{sealCivil}}, b1[1]},
		{"a use rewritten, its unit asked about", usesRewritten, audittrail.Filter{Unit: unitCivil}, b1[1]},
		{"a use rewritten, a later time asked about", usesRewritten, audittrail.Filter{From: world.phases[4]}, b1[1]},
		{"a use rewritten, another seal asked about", usesRewritten, audittrail.Filter{Seals: []string{sealCounty}}, ""},
		{"a use rewritten, another unit asked about", usesRewritten, audittrail.Filter{Unit: unitCounty}, ""},
		{"a use deleted", func(t *testing.T, store string) {
			if err := os.Remove(filepath.Join(store, filepath.FromSlash(c1))); err != nil {
				t.Fatal(err)
			}
		}, audittrail.Filter{}, c1},
		{"a sealed output replaced", func(t *testing.T, store string) {
			rewrite("sealed/civil-affairs/b2/cert-00001.pdf", "%PDF", "%PDX")(t, store)
		}, audittrail.Filter{Seals: []string{sealPermit}}, "sealed/civil-affairs/b2/cert-00001.pdf"},
		{"a registry change rewritten", rewrite(suspended, "reported", "REPORTED"), audittrail.Filter{Seals: []string{sealCounty}}, suspended},
		{"a registry change rewritten, every seal asked about", rewrite(suspended, "reported", "REPORTED"), audittrail.Filter{}, suspended},
		{"a registry change rewritten, another unit asked about", rewrite(suspended, "reported", "REPORTED"), audittrail.Filter{Unit: unitCivil}, suspended},
		{"a used seal's registry entry deleted", func(t *testing.T, store string) {
			if err := os.RemoveAll(filepath.Join(store, "registry", "seals", sealCounty)); err != nil {
				t.Fatal(err)
			}
		}, audittrail.Filter{Unit: unitCivil}, c1},
		{"an application's review rewritten", rewrite(appChange(2), "materials complete", "materials forged"), audittrail.Filter{Seals: []string{sealCounty}}, appChange(2)},
		{"an application's filing deleted", func(t *testing.T, store string) {
			if err := os.Remove(filepath.Join(store, filepath.FromSlash(appChange(4)))); err != nil {
				t.Fatal(err)
			}
		}, audittrail.Filter{Unit: unitCounty}, registry.ApplicationsPrefix + appID + "/head.json"},
		{"a signed use copied into another batch in progress", func(t *testing.T, store string) {
			b, err := os.ReadFile(filepath.Join(store, filepath.FromSlash(b3)))
			if err != nil {
				t.Fatal(err)
			}
			copied := filepath.Join(store, "audit", sealCivil, demo.Department, "b4", "cert-00001.pdf.json")
			if err := os.MkdirAll(filepath.Dir(copied), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(copied, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, audittrail.Filter{}, use(sealCivil, demo.Department, "b4", "cert-00001.pdf")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := worldDir(t)
			tc.attack(t, filepath.Join(dir, "store", bucket))
			events, err := trail(t, dir).Query(context.Background(), tc.f)
			var ue *audittrail.UnverifiedError
			switch {
			case tc.object == "" && err != nil:
				t.Fatalf("Query: %v", err)
			case tc.object == "":
				return
			case !errors.As(err, &ue) || !errors.Is(err, audittrail.ErrUnverified):
				t.Fatalf("Query = %d events, %v; want an *UnverifiedError", len(events), err)
			case events != nil:
				t.Fatalf("Query failed, yet listed %d events", len(events))
			case !slices.ContainsFunc(ue.Problems, func(p audittrail.Problem) bool { return p.Object == tc.object }):
				t.Fatalf("Query: %v; want a problem with %s", err, tc.object)
			}
		})
	}
}

func TestParseFilter(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	date := func(d, h, m, s, ns int) time.Time { return time.Date(2026, 11, d, h, m, s, ns, shanghai) }
	for _, tc := range []struct {
		seals    []string
		from, to string
		want     audittrail.Filter // Seals, From and To
		err      bool
	}{
		{nil, "", "", audittrail.Filter{}, false},
		{nil, "2026-11-24", "2026-11-24", audittrail.Filter{From: date(24, 0, 0, 0, 0), To: date(24, 23, 59, 59, 999999999)}, false},
		{nil, "2026-11-24T09:30:00+08:00", "2026-11-25T01:30:00Z", audittrail.Filter{From: date(24, 9, 30, 0, 0), To: date(25, 9, 30, 0, 0)}, false},
		{nil, "2026-11-24T09:30:00.5Z", "", audittrail.Filter{From: date(24, 17, 30, 0, 5e8)}, false},
		{[]string{sealCivil}, "", "2026-11-30", audittrail.Filter{Seals: []string{sealCivil}, To: date(30, 23, 59, 59, 999999999)}, false},
		{nil, "2026-11-25", "2026-11-24", audittrail.Filter{}, true},
		{nil, "2026-11-24T00:00:01+08:00", "2026-11-24T00:00:00+08:00", audittrail.Filter{}, true},
		{nil, "2026-11-24T00:00:00+08:00", "2026-11-24T00:00:00+08:00", audittrail.Filter{From: date(24, 0, 0, 0, 0), To: date(24, 0, 0, 0, 0)}, false},
		{nil, "24.11.2026", "", audittrail.Filter{}, true},
		{nil, "", "2026-11-31", audittrail.Filter{}, true},
		{nil, "", "2026-11-24 09:30", audittrail.Filter{}, true},
		{[]string{"../registry"}, "", "", audittrail.Filter{}, true},
	} {
		f, err := audittrail.ParseFilter(tc.seals, "", tc.from, tc.to, shanghai)
		if tc.err {
			if !errors.Is(err, audittrail.ErrFilter) {
				t.Errorf("ParseFilter(%q, %q, %q) = %+v, %v; want ErrFilter", tc.seals, tc.from, tc.to, f, err)
			}
			continue
		}
		if err != nil || !slices.Equal(f.Seals, tc.want.Seals) || !f.From.Equal(tc.want.From) || !f.To.Equal(tc.want.To) || f.Location != shanghai {
			t.Errorf("ParseFilter(%q, %q, %q) = %+v, %v; want %+v", tc.seals, tc.from, tc.to, f, err, tc.want)
		}
	}
}
