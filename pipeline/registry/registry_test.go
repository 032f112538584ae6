package registry_test

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
)

// pki is the trust chain of a registry test: a root, a seal
// administrator, an outsider with an ordinary signing certificate, two
// approvers, the seal maker and the unit's document signer.
type pki struct {
	root            *testpki.Identity
	admin, outsider signed.Signer
	zhang, li       *smx509.Certificate
	maker           signed.Signer
	signer          *smx509.Certificate
	pool            *trust.Pool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	rootKey := testpki.NewKey(t)
	root := &testpki.Identity{Key: rootKey, Cert: testpki.Issue(t, &smx509.Certificate{
		Subject: pkix.Name{CommonName: "Registry Test Root"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}, rootKey, nil)}
	leaf := func(cn string, role asn1.ObjectIdentifier) signed.Signer {
		key := testpki.NewKey(t)
		tmpl := &smx509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: []string{"某某县民政局"}},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), KeyUsage: smx509.KeyUsageDigitalSignature}
		if role != nil {
			tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{role}
		}
		return signed.Signer{Key: key, Cert: testpki.Issue(t, tmpl, key, root)}
	}
	return &pki{
		root: root, admin: leaf("registrar", trust.DefaultRegistryAdminOID), outsider: leaf("intruder", nil),
		zhang: leaf("approver-zhang", trust.DefaultApproverOID).Cert, li: leaf("approver-li", trust.DefaultApproverOID).Cert,
		maker: leaf("sealmaker", nil), signer: leaf("civil-affairs", nil).Cert,
		pool: trust.NewPool([]*smx509.Certificate{root.Cert}),
	}
}

// newRegistry returns a registry over a fresh store and a request to make
// seal 33010200000001 approved by approver-zhang for civil-affairs.
func newRegistry(t *testing.T) (*registry.Registry, registry.MakeRequest, *pki, storage.Store) {
	t.Helper()
	st, err := fs.Open(t.TempDir(), "registry-test")
	if err != nil {
		t.Fatal(err)
	}
	p := newPKI(t)
	return registry.New(st, p.pool), p.request("33010200000001"), p, st
}

func (p *pki) request(id string) registry.MakeRequest {
	pic, err := engine.SealPicture("某某县民政局", "业务专用章", id)
	if err != nil {
		panic(err)
	}
	return registry.MakeRequest{
		ID: id, Unit: "某某县民政局", Purpose: "业务专用章", Picture: pic,
		SignerCert: p.signer, Key: "civil-affairs",
		Approvers: []registry.ApproverGrant{{Cert: p.zhang, Departments: []string{"civil-affairs"}}},
		Maker:     p.maker,
	}
}

func TestMakeGetList(t *testing.T) {
	t.Parallel()
	reg, req, p, st := newRegistry(t)
	ctx := context.Background()
	e, err := reg.Make(ctx, req, p.admin)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != registry.StatusActive || e.Seal.ID != req.ID || e.Seal.Version != 4 || e.Name != "某某县民政局业务专用章" || e.Key != "civil-affairs" || e.Head != 1 {
		t.Fatalf("made %+v", e.Record)
	}
	if e.History[0].Actor != "registrar" {
		t.Errorf("registration actor %q, want the administrator's certificate", e.History[0].Actor)
	}
	if _, err := e.Seal.VerifyMaker(); err != nil {
		t.Fatalf("maker signature: %v", err)
	}
	if !e.Seal.HasSigner(req.SignerCert.Raw) || e.Seal.Picture.Type != "PNG" || len(e.Seal.Picture.Data) == 0 {
		t.Fatal("seal lacks its signer certificate or picture")
	}
	if e.ValidEnd.After(req.SignerCert.NotAfter) {
		t.Fatalf("seal valid until %s, beyond the certificate's %s", e.ValidEnd, req.SignerCert.NotAfter)
	}
	for _, tc := range []struct {
		cert *smx509.Certificate
		dept string
		want bool
	}{
		{p.zhang, "civil-affairs", true},
		{p.zhang, "county-office", false}, // not her department
		{p.li, "civil-affairs", false},    // not an approver of this seal
		{nil, "civil-affairs", false},
	} {
		if got := e.MayApprove(tc.cert, tc.dept); got != tc.want {
			t.Errorf("MayApprove(%v, %s) = %v", tc.cert != nil, tc.dept, got)
		}
	}
	if _, err := reg.Make(ctx, req, p.admin); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("second Make = %v, want ErrExists", err)
	}
	if _, err := reg.Get(ctx, "33010200000099"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get unknown = %v", err)
	}
	recs, err := reg.List(ctx)
	if err != nil || len(recs) != 1 || recs[0].ID != req.ID {
		t.Fatalf("List = %v, %v", recs, err)
	}
	// A second registry over the same store sees the same verified state.
	other, err := registry.New(st, p.pool).Get(ctx, req.ID)
	if err != nil || other.Status != registry.StatusActive || other.Head != 1 {
		t.Fatalf("Get from another registry: %+v, %v", other, err)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	reg, req, p, _ := newRegistry(t)
	ctx := context.Background()
	if _, err := reg.Make(ctx, req, p.admin); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to   registry.Status
		ok   bool
		want registry.Status
	}{
		{registry.StatusActive, false, registry.StatusActive}, // already active
		{registry.StatusSuspended, true, registry.StatusSuspended},
		{registry.StatusActive, true, registry.StatusActive},
		{"bogus", false, registry.StatusActive},
		{registry.StatusRevoked, true, registry.StatusRevoked},
		{registry.StatusActive, false, registry.StatusRevoked}, // revocation is final
	}
	var times []time.Time
	for i, s := range steps {
		times = append(times, time.Now())
		time.Sleep(2 * time.Millisecond)
		_, err := reg.SetStatus(ctx, req.ID, s.to, "step", p.admin)
		if (err == nil) != s.ok || (err != nil && !errors.Is(err, registry.ErrTransition)) {
			t.Fatalf("step %d → %s: %v", i, s.to, err)
		}
		e, err := reg.Get(ctx, req.ID)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status != s.want {
			t.Fatalf("step %d: status %s, want %s", i, e.Status, s.want)
		}
	}
	e, _ := reg.Get(ctx, req.ID)
	if len(e.History) != 4 || e.Head != 4 {
		t.Fatalf("history has %d events, head %d; want 4, 4", len(e.History), e.Head)
	}
	if st := e.StatusAt(times[1].Add(-time.Millisecond)); st != registry.StatusActive {
		t.Errorf("status before suspension: %s", st)
	}
	if st := e.StatusAt(e.History[3].At); st != registry.StatusRevoked {
		t.Errorf("status at revocation: %s", st)
	}
	if st := e.StatusAt(e.History[0].At.Add(-time.Hour)); st != registry.StatusRevoked {
		t.Errorf("status before registration: %s, want revoked (did not exist)", st)
	}
}

// TestChangesNeedAnAdministrator: only a certificate with the registry
// administrator role changes the registry, and every change needs a reason.
func TestChangesNeedAnAdministrator(t *testing.T) {
	t.Parallel()
	reg, req, p, _ := newRegistry(t)
	ctx := context.Background()
	if _, err := reg.Make(ctx, req, p.outsider); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("Make signed by an outsider = %v, want ErrInvalid", err)
	}
	if _, err := reg.Make(ctx, req, p.admin); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.SetStatus(ctx, req.ID, registry.StatusRevoked, "intruder", p.outsider); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("SetStatus by an outsider = %v, want ErrInvalid", err)
	}
	if _, err := reg.SetStatus(ctx, req.ID, registry.StatusSuspended, " ", p.admin); !errors.Is(err, registry.ErrTransition) {
		t.Fatalf("SetStatus without a reason = %v, want ErrTransition", err)
	}
	rec, err := reg.SetApprovers(ctx, req.ID, []registry.ApproverGrant{{Cert: p.li, Departments: []string{"county-office"}}}, "handover", p.admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Approvers) != 1 || rec.Approvers[0].Name != "approver-li" || rec.Approvers[0].Fingerprint != registry.Fingerprint(p.li) {
		t.Fatalf("approvers %+v", rec.Approvers)
	}
}

// TestConcurrentStatusChanges: of concurrent changes from the same state,
// exactly one wins.
func TestConcurrentStatusChanges(t *testing.T) {
	t.Parallel()
	reg, req, p, _ := newRegistry(t)
	ctx := context.Background()
	if _, err := reg.Make(ctx, req, p.admin); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = reg.SetStatus(ctx, req.ID, registry.StatusSuspended, "race", p.admin) })
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, registry.ErrConflict), errors.Is(err, registry.ErrTransition):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	e, err := reg.Get(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if wins != 1 || len(e.History) != 2 {
		t.Fatalf("%d winners, %d history events; want exactly one change", wins, len(e.History))
	}
}

func TestRequestsRefused(t *testing.T) {
	t.Parallel()
	reg, req, p, _ := newRegistry(t)
	ctx := context.Background()
	e, err := reg.Make(ctx, req, p.admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Register(ctx, []byte("not a seal"), registry.RegisterRequest{Key: "k", Approvers: req.Approvers}, p.admin); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("Register garbage = %v", err)
	}
	if _, err := reg.Register(ctx, e.Seal.Raw, registry.RegisterRequest{Key: "civil-affairs", Approvers: req.Approvers}, p.admin); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("Register the same seal again = %v, want ErrExists", err)
	}
	for i, tc := range []struct {
		name string
		edit func(*registry.MakeRequest)
	}{
		// Nothing in the bucket may say where a key lives.
		{"key URI", func(r *registry.MakeRequest) { r.Key = "pkcs11:token=t;object=k?module-path=/tmp/evil.so" }},
		{"key path", func(r *registry.MakeRequest) { r.Key = "/etc/sealpipe/keys/a.key" }},
		{"file URI", func(r *registry.MakeRequest) { r.Key = "file:///inbox/x.key" }},
		{"no key", func(r *registry.MakeRequest) { r.Key = "" }},
		{"no picture", func(r *registry.MakeRequest) { r.Picture.Data = nil }},
		{"no approver", func(r *registry.MakeRequest) { r.Approvers = nil }},
		{"approver without department", func(r *registry.MakeRequest) { r.Approvers[0].Departments = nil }},
		{"bad department", func(r *registry.MakeRequest) { r.Approvers[0].Departments = []string{"../x"} }},
		{"approver twice", func(r *registry.MakeRequest) { r.Approvers = append(r.Approvers, r.Approvers[0]) }},
	} {
		r := p.request(fmt.Sprintf("330102000001%02d", i))
		tc.edit(&r)
		if _, err := reg.Make(ctx, r, p.admin); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("%s: Make = %v, want ErrInvalid", tc.name, err)
		}
	}
}

func TestStatusAtSameSecond(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	r := registry.Record{History: []registry.Event{
		{At: at(600), Status: registry.StatusActive},
		{At: at(5600), Status: registry.StatusSuspended},
		{At: at(9000), Status: registry.StatusActive},
		{At: at(12400), Status: registry.StatusRevoked},
	}}
	tests := []struct {
		signed time.Time // whole seconds, as signatures record them
		want   registry.Status
	}{
		{base.Add(-time.Second), registry.StatusRevoked}, // before registration: did not exist
		{base, registry.StatusActive},                    // registered within that second
		{base.Add(5 * time.Second), registry.StatusActive},
		{base.Add(6 * time.Second), registry.StatusSuspended},
		{base.Add(8 * time.Second), registry.StatusSuspended},
		{base.Add(9 * time.Second), registry.StatusActive}, // reactivated exactly then
		{base.Add(12 * time.Second), registry.StatusActive},
		{base.Add(13 * time.Second), registry.StatusRevoked},
	}
	for _, tt := range tests {
		if got := r.StatusAt(tt.signed); got != tt.want {
			t.Errorf("StatusAt(%s) = %s, want %s", tt.signed.Format("15:04:05"), got, tt.want)
		}
	}
}

// TestRegisterCrashLeftovers: an identical seal left by a crashed
// registration is taken over; a different one keeps the identifier taken.
func TestRegisterCrashLeftovers(t *testing.T) {
	t.Parallel()
	_, req, p, _ := newRegistry(t)
	scratch, err := fs.Open(t.TempDir(), "scratch")
	if err != nil {
		t.Fatal(err)
	}
	e, err := registry.New(scratch, p.pool).Make(t.Context(), req, p.admin)
	if err != nil {
		t.Fatal(err)
	}
	esl := e.Seal.Raw
	for _, tc := range []struct {
		name     string
		leftover []byte
		want     error
	}{
		{"identical seal left by a crash", esl, nil},
		{"another seal under the identifier", append(bytes.Clone(esl), 0), registry.ErrExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := fs.Open(t.TempDir(), "registry-test")
			if err != nil {
				t.Fatal(err)
			}
			put(t, st, storage.PrefixRegistry+"seals/"+req.ID+"/seal.esl", tc.leftover)
			_, err = registry.New(st, p.pool).Register(t.Context(), esl, registry.RegisterRequest{Unit: req.Unit, Key: req.Key, Approvers: req.Approvers}, p.admin)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Register = %v, want %v", err, tc.want)
			}
		})
	}
}

func put(t *testing.T, st storage.Store, key string, body []byte) {
	t.Helper()
	if _, err := st.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestMakeSealTypes: Make writes the seal type and name asked for, unit by
// default, and refuses types GB/T 38540 does not define for sealpipe.
func TestMakeSealTypes(t *testing.T) {
	t.Parallel()
	reg, _, p, _ := newRegistry(t)
	ctx := context.Background()
	tests := []struct {
		id, name    string
		typ         int
		wantType    int
		wantName    string
		wantInvalid bool
	}{
		{"33010200000071", "", 0, ses.TypeUnit, "某某县民政局业务专用章", false},
		{"33010200000072", "", ses.TypeUnit, ses.TypeUnit, "某某县民政局业务专用章", false},
		{"33010200000073", "张三之印", ses.TypePersonal, ses.TypePersonal, "张三之印", false},
		{"33010200000074", "", 7, 0, "", true},
	}
	for _, tt := range tests {
		req := p.request(tt.id)
		req.Type, req.Name = tt.typ, tt.name
		e, err := reg.Make(ctx, req, p.admin)
		if tt.wantInvalid {
			if !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("%s: Make = %v, want ErrInvalid", tt.id, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.id, err)
		}
		if e.Seal.Type != tt.wantType || e.Seal.Name != tt.wantName || e.Name != tt.wantName {
			t.Errorf("%s: seal type %d name %q (record %q), want %d %q", tt.id, e.Seal.Type, e.Seal.Name, e.Name, tt.wantType, tt.wantName)
		}
	}
}

// TestWithEntries: a context carrying a seal as one operation resolved it
// gets it back from Get as it was, unread, while Get without it sees a
// change made since; an entry carried for another seal does not stand in.
func TestWithEntries(t *testing.T) {
	t.Parallel()
	reg, req, p, _ := newRegistry(t)
	ctx := context.Background()
	if _, err := reg.Make(ctx, req, p.admin); err != nil {
		t.Fatal(err)
	}
	resolved, err := reg.Get(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.SetStatus(ctx, req.ID, registry.StatusSuspended, "audit", p.admin); err != nil {
		t.Fatal(err)
	}
	op := registry.WithEntries(ctx, resolved)
	if e, err := reg.Get(op, req.ID); err != nil || e != resolved {
		t.Errorf("Get with the entry carried: %v, %v; want the entry as resolved", e, err)
	}
	if e, err := reg.Get(ctx, req.ID); err != nil || e.Status != registry.StatusSuspended {
		t.Errorf("Get without it: %v, %v; want the seal suspended", e, err)
	}
	other := registry.WithEntries(ctx, &registry.Entry{Record: registry.Record{ID: "33010200009999"}})
	if e, err := reg.Get(other, req.ID); err != nil || e.Status != registry.StatusSuspended {
		t.Errorf("Get with another seal carried: %v, %v; want the seal as stored", e, err)
	}
}
