package exchange_test

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/exchange"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/storage/s3"
)

// pki is the trust chain of an exchange test: one root vouching for the
// county's registrar (both registries' administrator), the province, the
// seal maker, the unit's signer and an approver; an outsider with an
// ordinary certificate of that root; and a stranger province under a root
// nobody trusts.
type pki struct {
	registrar, province, outsider, stranger, maker signed.Signer
	signer, approver                               *smx509.Certificate
	pool                                           *trust.Pool
}

func newPKI(tb testing.TB) *pki {
	tb.Helper()
	root := testpki.CA(tb, "Exchange Test Root")
	leaf := func(parent *testpki.Identity, cn string, oids ...asn1.ObjectIdentifier) signed.Signer {
		key := testpki.NewKey(tb)
		cert := testpki.Issue(tb, &smx509.Certificate{
			Subject:   pkix.Name{CommonName: cn, Organization: []string{"遂平县"}},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
			KeyUsage: smx509.KeyUsageDigitalSignature, UnknownExtKeyUsage: oids,
		}, key, parent)
		return signed.Signer{Key: key, Cert: cert}
	}
	return &pki{
		registrar: leaf(root, "registrar", trust.DefaultRegistryAdminOID),
		province:  leaf(root, "province", trust.DefaultProvinceOID),
		outsider:  leaf(root, "outsider"),
		stranger:  leaf(testpki.CA(tb, "Untrusted Root"), "province", trust.DefaultProvinceOID),
		maker:     leaf(root, "sealmaker"),
		signer:    leaf(root, "civil-affairs").Cert,
		approver:  leaf(root, "approver-zhang", trust.DefaultApproverOID).Cert,
		pool:      trust.NewPool([]*smx509.Certificate{root.Cert}),
	}
}

// stores are the object stores an exchange runs between: local folders,
// and buckets of the shared MinIO.
var stores = []struct {
	name string
	open func(t *testing.T) storage.Store
}{
	{"fs", func(t *testing.T) storage.Store {
		st, err := fs.Open(t.TempDir(), "exchange-test")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"minio", func(t *testing.T) storage.Store {
		m := testenv.MinIO(t)
		st, err := s3.New(context.Background(), s3.Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Region: m.Region, Bucket: testenv.Bucket(t, m)})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// county is a registry with its marks: one side of an exchange.
type county struct {
	st    storage.Store
	reg   *registry.Registry
	marks exchange.Marks
}

func newCounty(t testing.TB, p *pki, st storage.Store) *county {
	t.Helper()
	state, err := fs.Open(t.TempDir(), "state")
	if err != nil {
		t.Fatal(err)
	}
	return &county{st: st, reg: registry.New(st, p.pool), marks: exchange.StoredMarks(state, "marks.json")}
}

// makeSeal makes seal id in c, then moves it through the statuses given.
func (c *county) makeSeal(t testing.TB, p *pki, id string, personal bool, statuses ...registry.Status) {
	t.Helper()
	ctx := context.Background()
	req := registry.MakeRequest{
		ID: id, Unit: "某某县民政局", Purpose: "业务专用章", SignerCert: p.signer, Key: "civil-affairs", Maker: p.maker,
		Approvers: []registry.ApproverGrant{{Cert: p.approver, Departments: []string{"civil-affairs"}}},
	}
	var err error
	if personal {
		req.Type, req.Purpose, req.Name = 2, "", "张三之印"
		req.Picture, err = engine.NameSealPicture("张三")
	} else {
		req.Picture, err = engine.SealPicture(req.Unit, req.Purpose, id)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.reg.Make(ctx, req, p.registrar); err != nil {
		t.Fatal(err)
	}
	for _, st := range statuses {
		if _, err := c.reg.SetStatus(ctx, id, st, "test: "+string(st), p.registrar); err != nil {
			t.Fatal(err)
		}
	}
}

// makeFromApplication makes personal seal id in c from an application
// (county rules 第七–八条) submitted, approved, made and filed.
func (c *county) makeFromApplication(t testing.TB, p *pki, id, app string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.reg.Submit(ctx, registry.ApplicationRequest{ID: app, Unit: "某某县民政局", Kind: registry.KindName, Holder: "李四", Clerk: "王芳",
		Materials: []registry.MaterialFile{{Name: "holder-id.png", Data: []byte("id card of 李四")}}}, p.registrar); err != nil {
		t.Fatal(err)
	}
	if _, err := c.reg.Review(ctx, app, true, "materials complete", nil, p.registrar); err != nil {
		t.Fatal(err)
	}
	pic, err := engine.NameSealPicture("李四")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.reg.Make(ctx, registry.MakeRequest{
		ID: id, Type: 2, Name: "李四之印", Unit: "某某县民政局", SignerCert: p.signer, Key: "civil-affairs", Maker: p.maker, Picture: pic,
		Approvers: []registry.ApproverGrant{{Cert: p.approver, Departments: []string{"civil-affairs"}}}, Application: app,
	}, p.registrar); err != nil {
		t.Fatal(err)
	}
	if _, err := c.reg.MarkMade(ctx, app, id, nil, p.registrar); err != nil {
		t.Fatal(err)
	}
	if _, err := c.reg.FileSeal(ctx, app, "", nil, p.registrar); err != nil {
		t.Fatal(err)
	}
}

// export exports every seal of c, signed by signer, and returns the
// document and what it holds.
func (c *county) export(t testing.TB, signer signed.Signer, opts exchange.ExportOptions) ([]byte, *exchange.Filing) {
	t.Helper()
	if opts.Registry == "" {
		opts.Registry = "411728 遂平县"
	}
	doc, f, err := exchange.Export(context.Background(), c.reg, opts, signer)
	if err != nil {
		t.Fatal(err)
	}
	return doc, f
}

// importDoc reads doc as a filing export and imports it into c.
func (c *county) importDoc(p *pki, doc []byte) (*exchange.ImportReport, error) {
	f, sig, err := exchange.ReadFiling(doc, p.pool, time.Now())
	if err != nil {
		return nil, err
	}
	return exchange.Import(context.Background(), f, sig, c.reg, c.marks, p.registrar)
}

// TestExportImport: a filing export imported into a second store — local
// folders and MinIO buckets — reproduces each seal's identifier, status,
// validity, SESeal and names, and the second store's own log says where
// each came from and since when it had its status there; importing it
// again changes nothing; a newer export's status changes are followed,
// except that a seal revoked stays revoked; an older export is refused.
func TestExportImport(t *testing.T) {
	t.Parallel()
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			p := newPKI(t)
			ctx := context.Background()
			a, b := newCounty(t, p, sc.open(t)), newCounty(t, p, sc.open(t))
			a.makeSeal(t, p, "33010200000001", false)
			a.makeSeal(t, p, "33010200000002", false, registry.StatusSuspended)
			a.makeSeal(t, p, "33010200000003", false, registry.StatusSuspended, registry.StatusActive, registry.StatusRevoked)
			a.makeSeal(t, p, "33010200000101", true)
			a.makeFromApplication(t, p, "33010200000102", "411728-2026-0001")

			doc, f := a.export(t, p.registrar, exchange.ExportOptions{})
			if len(f.Seals) != 5 {
				t.Fatalf("exported %d seals, want 5", len(f.Seals))
			}
			rep, err := b.importDoc(p, doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rep.Seals {
				if r.Action != exchange.ActionImported {
					t.Errorf("seal %s: %s (%s), want imported", r.Seal, r.Action, r.Detail)
				}
			}
			wantStatus := map[string]registry.Status{
				"33010200000001": registry.StatusActive, "33010200000002": registry.StatusSuspended,
				"33010200000003": registry.StatusRevoked, "33010200000101": registry.StatusActive,
				"33010200000102": registry.StatusActive,
			}
			for _, fs := range f.Seals {
				src, err := a.reg.Get(ctx, fs.ID)
				if err != nil {
					t.Fatal(err)
				}
				got, err := b.reg.Get(ctx, fs.ID)
				if err != nil {
					t.Fatalf("seal %s in the second store: %v", fs.ID, err)
				}
				switch {
				case got.Status != wantStatus[fs.ID] || got.Status != src.Status:
					t.Errorf("seal %s: %s in the second store, %s in the first, want %s", fs.ID, got.Status, src.Status, wantStatus[fs.ID])
				case !got.ValidStart.Equal(src.ValidStart) || !got.ValidEnd.Equal(src.ValidEnd):
					t.Errorf("seal %s: valid %s–%s, was %s–%s", fs.ID, got.ValidStart, got.ValidEnd, src.ValidStart, src.ValidEnd)
				case !bytes.Equal(got.Seal.Raw, src.Seal.Raw) || got.Name != src.Name || got.Unit != src.Unit || got.Purpose != src.Purpose || got.Key != src.Key:
					t.Errorf("seal %s: %+v, was %+v", fs.ID, got.Record, src.Record)
				case len(got.Approvers) != 1 || got.Approvers[0].Fingerprint != registry.Fingerprint(p.approver) || !got.MayApprove(p.approver, "civil-affairs"):
					t.Errorf("seal %s: approvers %+v", fs.ID, got.Approvers)
				}
				// One change of the second store's own, by its administrator,
				// saying where the seal comes from; the first store's history
				// is in the export, with each change's SM3.
				want := fmt.Sprintf("imported from filing export %s of 411728 遂平县 (SM3 %s), made %s: originally %s since %s",
					f.ID, rep.SM3, f.CreatedAt.Format(time.RFC3339), src.Status, fs.Since.Format(time.RFC3339))
				if len(got.History) != 1 || got.History[0].Reason != want || got.History[0].Status != src.Status || got.History[0].Actor != "registrar" {
					t.Errorf("seal %s: history %+v, want one import: %q", fs.ID, got.History, want)
				}
				if len(fs.History) != len(src.History) || fs.History[len(fs.History)-1].Status != src.Status || fs.History[0].Op != registry.OpRegister {
					t.Errorf("seal %s: exported history %+v, the registry's %+v", fs.ID, fs.History, src.History)
				}
				for i, c := range fs.History {
					obj, _, err := storage.ReadAll(ctx, a.st, c.Change, 1<<20)
					if err != nil || !strings.EqualFold(sm3Hex(obj), c.ChangeSM3) || c.Seq != i+1 || !c.At.Equal(src.History[i].At) {
						t.Errorf("seal %s change %d: SM3 %s of %s (%v), at %s", fs.ID, c.Seq, c.ChangeSM3, c.Change, err, c.At)
					}
				}
				// The application it was made from, its materials pinned by
				// SM3 and each change's SM3 the stored object's.
				if fa := fs.Application; (fa != nil) != (src.Application != "") {
					t.Errorf("seal %s made from application %q: exported application %+v", fs.ID, src.Application, fa)
				} else if fa != nil {
					if fa.ID != src.Application || fa.State != registry.AppFiled || fa.Holder != "李四" || len(fa.History) != 4 ||
						len(fa.Materials) != 1 || fa.Materials[0].SM3 != sm3Hex([]byte("id card of 李四")) {
						t.Errorf("seal %s: exported application %+v", fs.ID, fa)
					}
					for _, c := range fa.History {
						obj, _, err := storage.ReadAll(ctx, a.st, c.Change, 1<<20)
						if err != nil || sm3Hex(obj) != c.ChangeSM3 {
							t.Errorf("application change %d: SM3 %s of %s (%v)", c.Seq, c.ChangeSM3, c.Change, err)
						}
					}
				}
			}
			if problems, err := b.reg.Verify(ctx); err != nil || problems != nil {
				t.Fatalf("second store's registry verify: %v %v", problems, err)
			}

			// The same export again changes nothing.
			rep, err = b.importDoc(p, doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rep.Seals {
				if r.Action != exchange.ActionUnchanged {
					t.Errorf("re-import: seal %s: %s, want unchanged", r.Seal, r.Action)
				}
			}
			assertHeads(t, b, map[string]int{"33010200000001": 1, "33010200000002": 1, "33010200000003": 1, "33010200000101": 1, "33010200000102": 1})

			// A newer export: seal 1 suspended there, seal 2 activated. Seal
			// 3 is revoked in both; the second store revokes the personal
			// seal on its own, which no export undoes.
			if _, err := a.reg.ChangeStatus(ctx, "33010200000001", registry.StatusChange{To: registry.StatusSuspended, Reason: "test", Code: registry.CodeLost}, p.registrar); err != nil {
				t.Fatal(err)
			}
			if _, err := a.reg.SetStatus(ctx, "33010200000002", registry.StatusActive, "test", p.registrar); err != nil {
				t.Fatal(err)
			}
			if _, err := b.reg.SetStatus(ctx, "33010200000101", registry.StatusRevoked, "test", p.registrar); err != nil {
				t.Fatal(err)
			}
			newer, _ := a.export(t, p.registrar, exchange.ExportOptions{})
			rep, err = b.importDoc(p, newer)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"33010200000001": exchange.ActionUpdated, "33010200000002": exchange.ActionUpdated, "33010200000003": exchange.ActionUnchanged, "33010200000101": exchange.ActionKept, "33010200000102": exchange.ActionUnchanged}
			for _, r := range rep.Seals {
				if r.Action != want[r.Seal] {
					t.Errorf("newer export: seal %s: %s, want %s", r.Seal, r.Action, want[r.Seal])
				}
			}
			if e, err := b.reg.Get(ctx, "33010200000001"); err != nil || e.History[len(e.History)-1].Code != registry.CodeLost {
				t.Errorf("the suspension imported: %+v %v, want code lost", e.History, err)
			}
			for id, st := range map[string]registry.Status{"33010200000001": registry.StatusSuspended, "33010200000002": registry.StatusActive, "33010200000101": registry.StatusRevoked} {
				if e, err := b.reg.Get(ctx, id); err != nil || e.Status != st {
					t.Errorf("after the newer export, seal %s: %v %v, want %s", id, e.Status, err, st)
				}
			}

			// The older export is refused now, before anything changes.
			if _, err := b.importDoc(p, doc); !errors.Is(err, exchange.ErrStale) {
				t.Fatalf("older export after a newer one: %v, want ErrStale", err)
			}
		})
	}
}

// sm3Hex returns the hex SM3 of b.
func sm3Hex(b []byte) string {
	sum := sm3.Sum(b)
	return hex.EncodeToString(sum[:])
}

func assertHeads(t *testing.T, c *county, heads map[string]int) {
	t.Helper()
	for id, h := range heads {
		e, err := c.reg.Get(context.Background(), id)
		if err != nil || e.Head != h {
			t.Errorf("seal %s: head %v (%v), want %d", id, e, err, h)
		}
	}
}

// resign returns doc's payload changed by edit and signed again by
// signer: a document whose signature verifies, made by someone else.
func resign(t testing.TB, doc []byte, signer signed.Signer, edit func(map[string]any)) []byte {
	t.Helper()
	payload, _, err := signed.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(v)
	}
	out, err := signer.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// firstSeal returns the first seal of a decoded payload.
func firstSeal(v map[string]any) map[string]any { return v["seals"].([]any)[0].(map[string]any) }

// TestFilingRefused: an export changed after signing, signed by a
// certificate without the registrar's role or under a root not trusted,
// or signed by the registrar but saying of a seal what its SESeal
// contradicts, or of another format or version, is refused naming why,
// and nothing is imported.
func TestFilingRefused(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a := newCounty(t, p, stores[0].open(t))
	a.makeSeal(t, p, "33010200000001", false, registry.StatusSuspended)
	a.makeFromApplication(t, p, "33010200000102", "411728-2026-0001")
	doc, _ := a.export(t, p.registrar, exchange.ExportOptions{})
	application := func(v map[string]any) map[string]any {
		return v["seals"].([]any)[1].(map[string]any)["application"].(map[string]any)
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		want error
		says string
	}{
		{"status edited", bytes.Replace(doc, []byte(`"status": "suspended"`), []byte(`"status": "active"`), 1), exchange.ErrSignature, "signature"},
		{"seal removed", bytes.Replace(doc, []byte(`"id": "33010200000001"`), []byte(`"id": "33010200000009"`), 1), exchange.ErrSignature, "signature"},
		{"not signed", []byte(`{"format":"sealpipe-filing-export","version":1}`), exchange.ErrFormat, "not a signed object"},
		{"signed by an outsider", resign(t, doc, p.outsider, nil), exchange.ErrUntrusted, `signed by "outsider", not a registry administrator`},
		{"signed by the province", resign(t, doc, p.province, nil), exchange.ErrUntrusted, "not a registry administrator"},
		{"signed under an untrusted root", resign(t, doc, p.stranger, nil), exchange.ErrUntrusted, "not a registry administrator"},
		{"SESeal SM3 wrong", resign(t, doc, p.registrar, func(v map[string]any) { firstSeal(v)["seseal_sm3"] = strings.Repeat("0", 64) }), exchange.ErrFormat, "the SESeal's SM3"},
		{"status contradicts history", resign(t, doc, p.registrar, func(v map[string]any) { firstSeal(v)["status"] = "active" }), exchange.ErrFormat, "the history ends suspended"},
		{"validity contradicts SESeal", resign(t, doc, p.registrar, func(v map[string]any) { firstSeal(v)["valid_end"] = "2099-01-01T00:00:00Z" }), exchange.ErrFormat, "validity"},
		{"unknown field", resign(t, doc, p.registrar, func(v map[string]any) { v["extra"] = 1 }), exchange.ErrFormat, "unknown field"},
		{"an application's kind contradicts the SESeal", resign(t, doc, p.registrar, func(v map[string]any) { application(v)["kind"] = "official" }), exchange.ErrFormat, "a official seal made as an SESeal of type 2"},
		{"an application's material without its SM3", resign(t, doc, p.registrar, func(v map[string]any) {
			application(v)["materials"].([]any)[0].(map[string]any)["sm3"] = "none"
		}), exchange.ErrFormat, `material "holder-id.png"`},
		{"an application's state contradicts its history", resign(t, doc, p.registrar, func(v map[string]any) { application(v)["state"] = "approved" }), exchange.ErrFormat, "state approved"},
		{"version 2", resign(t, doc, p.registrar, func(v map[string]any) { v["version"] = 2 }), exchange.ErrFormat, "version 2"},
		{"revocation list", resign(t, doc, p.registrar, func(v map[string]any) { v["format"] = exchange.RevocationListFormat }), exchange.ErrFormat, "want \"sealpipe-filing-export\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Equal(tc.doc, doc) {
				t.Fatal("the export is unchanged")
			}
			b := newCounty(t, p, stores[0].open(t))
			_, err := b.importDoc(p, tc.doc)
			if !errors.Is(err, tc.want) || !errors.Is(err, exchange.ErrRefused) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("import: %v, want %v saying %q", err, tc.want, tc.says)
			}
			if recs, err := b.reg.List(context.Background()); err != nil || len(recs) != 0 {
				t.Fatalf("the refused export registered %v (%v)", recs, err)
			}
		})
	}
}

// TestExportSince: --since keeps the seals changed at or after the time,
// and --seal the seals named; a seal whose log does not verify stops the
// export.
func TestExportSince(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a := newCounty(t, p, stores[0].open(t))
	a.makeSeal(t, p, "33010200000001", false)
	a.makeSeal(t, p, "33010200000002", false)
	mid := time.Now()
	if _, err := a.reg.SetStatus(context.Background(), "33010200000002", registry.StatusSuspended, "test", p.registrar); err != nil {
		t.Fatal(err)
	}
	_, f := a.export(t, p.registrar, exchange.ExportOptions{Since: mid})
	if len(f.Seals) != 1 || f.Seals[0].ID != "33010200000002" || f.Since == nil {
		t.Fatalf("export since %s: %+v", mid, f.Seals)
	}
	_, f = a.export(t, p.registrar, exchange.ExportOptions{Seals: []string{"33010200000001"}})
	if len(f.Seals) != 1 || f.Seals[0].ID != "33010200000001" {
		t.Fatalf("export of one seal: %+v", f.Seals)
	}
	// A change planted in the first seal's log.
	bad, err := p.outsider.Marshal(registry.Change{Seal: "33010200000001", Seq: 2, At: time.Now(), Op: registry.OpRevoke, Reason: "planted"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storage.PutOnce(context.Background(), a.st, registry.ChangeKey("33010200000001", 2), bad, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := exchange.Export(context.Background(), registry.New(a.st, p.pool), exchange.ExportOptions{Registry: "x"}, p.registrar); !errors.Is(err, registry.ErrTampered) {
		t.Fatalf("export over a tampered log: %v, want ErrTampered", err)
	}
}

// TestImportConflict: a seal registered in the second store under the
// same code but with another SESeal is a conflict, reported and left
// alone, while the export's other seals are imported.
func TestImportConflict(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a, b := newCounty(t, p, stores[0].open(t)), newCounty(t, p, stores[0].open(t))
	a.makeSeal(t, p, "33010200000001", false, registry.StatusRevoked)
	a.makeSeal(t, p, "33010200000002", false)
	b.makeSeal(t, p, "33010200000001", false) // another SESeal (another making time and signature)
	doc, _ := a.export(t, p.registrar, exchange.ExportOptions{})
	rep, err := b.importDoc(p, doc)
	if err != nil {
		t.Fatal(err)
	}
	if failed := rep.Failed(); len(failed) != 1 || failed[0].Seal != "33010200000001" || failed[0].Action != exchange.ActionConflict || !strings.Contains(failed[0].Detail, "another SESeal") {
		t.Fatalf("import over a seal with another SESeal: %+v", rep.Seals)
	}
	if e, err := b.reg.Get(context.Background(), "33010200000001"); err != nil || e.Status != registry.StatusActive || e.Head != 1 {
		t.Fatalf("the conflicting seal changed: %+v %v", e, err)
	}
	if e, err := b.reg.Get(context.Background(), "33010200000002"); err != nil || e.Status != registry.StatusActive {
		t.Fatalf("the other seal: %v %v", e, err)
	}
}
