package registry_test

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/storage/fs"
)

// cert returns a new SM2 key and a self-signed certificate for it naming
// cn, valid from an hour ago for a year.
func cert(t *testing.T, cn string) (*sm2.PrivateKey, *smx509.Certificate) {
	t.Helper()
	key := testpki.NewKey(t)
	return key, testpki.Issue(t, &smx509.Certificate{
		Subject:   pkix.Name{CommonName: cn, Organization: []string{"某某县民政局"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: smx509.KeyUsageDigitalSignature,
	}, key, nil)
}

func newRegistry(t *testing.T) (*registry.Registry, registry.MakeRequest) {
	t.Helper()
	st, err := fs.Open(t.TempDir(), "registry-test")
	if err != nil {
		t.Fatal(err)
	}
	makerKey, makerCert := cert(t, "sealmaker")
	_, signerCert := cert(t, "civil-affairs")
	pic, err := engine.SealPicture("某某县民政局", "业务专用章", "33010200000001")
	if err != nil {
		t.Fatal(err)
	}
	return registry.New(st), registry.MakeRequest{
		ID: "33010200000001", Unit: "某某县民政局", Purpose: "业务专用章", Picture: pic,
		SignerCert: signerCert, SignerKey: "file:/nowhere", Approvers: []string{"approver-zhang"},
		Maker: makerKey, MakerCert: makerCert, Actor: "test",
	}
}

func TestMakeGetList(t *testing.T) {
	t.Parallel()
	reg, req := newRegistry(t)
	ctx := context.Background()
	e, err := reg.Make(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != registry.StatusActive || e.Seal.ID != req.ID || e.Seal.Version != 4 || e.Name != "某某县民政局业务专用章" {
		t.Fatalf("made %+v", e.Record)
	}
	if _, err := e.Seal.VerifyMaker(); err != nil {
		t.Fatalf("maker signature: %v", err)
	}
	if !e.Seal.HasSigner(req.SignerCert.Raw) || e.Seal.Picture.Type != "PNG" || len(e.Seal.Picture.Data) == 0 {
		t.Fatal("seal lacks its signer certificate or picture")
	}
	// The seal may not outlive its signing certificate.
	if e.ValidEnd.After(req.SignerCert.NotAfter) {
		t.Fatalf("seal valid until %s, beyond the certificate's %s", e.ValidEnd, req.SignerCert.NotAfter)
	}
	if !e.MayApprove("approver-zhang") || e.MayApprove("approver-li") || e.MayApprove("") {
		t.Fatal("approver policy wrong")
	}
	if _, err := reg.Make(ctx, req); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("second Make = %v, want ErrExists", err)
	}
	if _, err := reg.Get(ctx, "00000000000000"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get unknown = %v", err)
	}
	if _, err := reg.Get(ctx, "../etc"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get hostile id = %v", err)
	}
	recs, err := reg.List(ctx)
	if err != nil || len(recs) != 1 || recs[0].ID != req.ID {
		t.Fatalf("List = %v, %v", recs, err)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	reg, req := newRegistry(t)
	ctx := context.Background()
	if _, err := reg.Make(ctx, req); err != nil {
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
		_, err := reg.SetStatus(ctx, req.ID, s.to, "admin", "step")
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
	if len(e.History) != 4 {
		t.Fatalf("history has %d events, want 4", len(e.History))
	}
	// Status at past instants follows the history.
	if st := e.StatusAt(times[1].Add(-time.Millisecond)); st != registry.StatusActive {
		t.Errorf("status before suspension: %s", st)
	}
	if st := e.StatusAt(e.History[3].At); st != registry.StatusRevoked {
		t.Errorf("status at revocation: %s", st)
	}
	if st := e.StatusAt(e.History[0].At.Add(-time.Hour)); st != registry.StatusRevoked {
		t.Errorf("status before registration: %s, want revoked (did not exist)", st)
	}
	if _, err := reg.SetStatus(ctx, req.ID, registry.StatusSuspended, "", "x"); err == nil {
		t.Error("a status change without an actor was accepted")
	}
}

// TestConcurrentStatusChanges checks compare-and-swap: of concurrent
// changes from the same state, exactly one wins.
func TestConcurrentStatusChanges(t *testing.T) {
	t.Parallel()
	reg, req := newRegistry(t)
	ctx := context.Background()
	if _, err := reg.Make(ctx, req); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = reg.SetStatus(ctx, req.ID, registry.StatusSuspended, "admin", "race")
		}()
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
	e, _ := reg.Get(ctx, req.ID)
	if wins != 1 || len(e.History) != 2 {
		t.Fatalf("%d winners, %d history events; want exactly one change", wins, len(e.History))
	}
}

func TestRegisterRejectsMismatch(t *testing.T) {
	t.Parallel()
	reg, req := newRegistry(t)
	ctx := context.Background()
	e, err := reg.Make(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	err = reg.Register(ctx, e.Seal.Raw, registry.Record{ID: "33010200000099"}, "test")
	if !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("Register with a mismatched id = %v", err)
	}
	if err := reg.Register(ctx, []byte("not a seal"), registry.Record{}, "test"); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("Register garbage = %v", err)
	}
	for _, uri := range []string{
		"pkcs11:token=t;object=k?pin-value=123456",
		"pkcs11:token=t;object=k?module-path=/m.so&pin-value=1",
	} {
		req.ID, req.SignerKey = "33010200000098", uri
		if _, err := reg.Make(ctx, req); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("Make with a PIN in %q = %v, want ErrInvalid", uri, err)
		}
	}
	req.ID, req.SignerKey = "33010200000097", "pkcs11:token=t;object=k?pin-source=file:/run/pin"
	if _, err := reg.Make(ctx, req); err != nil {
		t.Errorf("Make with pin-source: %v", err)
	}
	// The registry draws no picture: a seal comes with its own.
	req.ID, req.Picture.Data = "33010200000096", nil
	if _, err := reg.Make(ctx, req); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("Make without a picture = %v, want ErrInvalid", err)
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
