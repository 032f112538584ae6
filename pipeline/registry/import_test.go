package registry_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
)

// TestImport: a seal imported from another registry starts in the status
// it had there — revoked from its first change on, never active — with
// one change of this registry's administrator giving the reason; its
// SESeal, names, key and pinned approvers are as given. Importing it
// again, or with approvers that pin nothing, or without a reason, fails.
func TestImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, req, p, _ := newRegistry(t)
	made, err := src.Make(ctx, req, p.admin)
	if err != nil {
		t.Fatal(err)
	}
	dstStore, err := fs.Open(t.TempDir(), "import-test")
	if err != nil {
		t.Fatal(err)
	}
	dst := registry.New(dstStore, p.pool)
	ir := registry.ImportRequest{Name: made.Name, Unit: made.Unit, Purpose: made.Purpose, Approvers: made.Approvers, Key: made.Key, Status: registry.StatusRevoked, Reason: "imported from export X"}
	for name, bad := range map[string]func(*registry.ImportRequest){
		"no reason":    func(r *registry.ImportRequest) { r.Reason = " " },
		"no status":    func(r *registry.ImportRequest) { r.Status = "" },
		"no approvers": func(r *registry.ImportRequest) { r.Approvers = nil },
		"bad pin": func(r *registry.ImportRequest) {
			r.Approvers = []registry.Approver{{Name: "x", Fingerprint: "00", Departments: []string{"civil-affairs"}}}
		},
		"key is a URI":   func(r *registry.ImportRequest) { r.Key = "file:/etc/key.pem" },
		"outsider signs": nil,
	} {
		r, signer := ir, p.admin
		if bad != nil {
			bad(&r)
		} else {
			signer = p.outsider
		}
		if _, err := dst.Import(ctx, made.Seal.Raw, r, signer); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	e, err := dst.Import(ctx, made.Seal.Raw, ir, p.admin)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != registry.StatusRevoked || e.Head != 1 || len(e.History) != 1 || e.History[0].Status != registry.StatusRevoked ||
		e.History[0].Reason != ir.Reason || !bytes.Equal(e.Seal.Raw, made.Seal.Raw) || e.Key != made.Key || !e.MayApprove(p.zhang, "civil-affairs") {
		t.Fatalf("imported %+v", e.Record)
	}
	if st := e.StatusAt(time.Now()); st != registry.StatusRevoked {
		t.Errorf("imported revoked seal is %s now", st)
	}
	if _, err := dst.Import(ctx, made.Seal.Raw, ir, p.admin); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("second import: %v, want ErrExists", err)
	}
	if problems, err := dst.Verify(ctx); err != nil || problems != nil {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

// TestRegistrationWithStatusRefused: only an import sets the status a seal
// starts in; a registration that says one, even signed by an
// administrator, makes the log fail to verify, as does an import naming
// no status.
func TestRegistrationWithStatusRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		op     registry.Op
		status registry.Status
		says   string
	}{
		{registry.OpRegister, registry.StatusRevoked, "a registration setting the status"},
		{registry.OpImport, "", "an import starting the seal"},
		{registry.OpImport, "lost", "an import starting the seal"},
	} {
		reg, req, p, st := newRegistry(t)
		made, err := reg.Make(ctx, req, p.admin)
		if err != nil {
			t.Fatal(err)
		}
		// The seal's first change and head rewritten as the administrator
		// would sign them.
		c := registry.Change{Seal: made.ID, Seq: 1, At: time.Now(), Op: tc.op, Status: tc.status, Reason: "x",
			Name: made.Name, Unit: made.Unit, Key: made.Key, Approvers: made.Approvers, SealSM3: sum(made.Seal.Raw)}
		obj, err := p.admin.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		head, err := p.admin.Marshal(map[string]any{"seal": made.ID, "seq": 1, "sm3": sum(obj), "at": c.At})
		if err != nil {
			t.Fatal(err)
		}
		for key, b := range map[string][]byte{registry.ChangeKey(made.ID, 1): obj, registry.SealsPrefix + made.ID + "/" + registry.HeadName: head} {
			if _, err := st.Put(ctx, key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		_, err = registry.New(st, p.pool).Get(ctx, made.ID)
		if !errors.Is(err, registry.ErrTampered) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s with status %q: %v, want ErrTampered saying %q", tc.op, tc.status, err, tc.says)
		}
	}
}

func sum(b []byte) string {
	s := sm3.Sum(b)
	return hex.EncodeToString(s[:])
}
