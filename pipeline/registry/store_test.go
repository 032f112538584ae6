package registry_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
)

// sealObjects makes a seal in a scratch registry and returns its SESeal
// bytes and record, to register or plant in other stores.
func sealObjects(t *testing.T) ([]byte, registry.Record) {
	t.Helper()
	st, err := fs.Open(t.TempDir(), "scratch")
	if err != nil {
		t.Fatal(err)
	}
	makerKey, makerCert := testpki.SelfSigned(t, "sealmaker")
	_, signerCert := testpki.SelfSigned(t, "civil-affairs")
	pic, err := engine.SealPicture("某某县民政局", "", "33010200000009")
	if err != nil {
		t.Fatal(err)
	}
	e, err := registry.New(st).Make(t.Context(), registry.MakeRequest{
		ID: "33010200000009", Unit: "某某县民政局", Picture: pic, SignerCert: signerCert, SignerKey: "file:/nowhere",
		Approvers: []string{"approver-zhang"}, Maker: makerKey, MakerCert: makerCert, Actor: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := e.Record
	rec.History, rec.Status = nil, ""
	return e.Seal.Raw, rec
}

// TestRegisterWritesOnce checks that registration never overwrites: an
// identical seal left by a crashed registration is taken over, a different
// one keeps the identifier taken, and a complete registration is final.
func TestRegisterWritesOnce(t *testing.T) {
	t.Parallel()
	esl, rec := sealObjects(t)
	sealKey := storage.PrefixRegistry + "seals/" + rec.ID + "/seal.esl"
	recordKey := storage.PrefixRegistry + "seals/" + rec.ID + "/record.json"
	for _, tc := range []struct {
		name     string
		leftover []byte // planted under sealKey before registering
		want     error
	}{
		{"fresh", nil, nil},
		{"identical seal left by a crash", esl, nil},
		{"another seal under the identifier", append(bytes.Clone(esl), 0), registry.ErrExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := fs.Open(t.TempDir(), "registry-test")
			if err != nil {
				t.Fatal(err)
			}
			if tc.leftover != nil {
				put(t, st, sealKey, tc.leftover)
			}
			reg := registry.New(st)
			err = reg.Register(t.Context(), esl, rec, "test")
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Register = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				if _, err := st.Stat(t.Context(), recordKey); !errors.Is(err, storage.ErrNotExist) {
					t.Fatalf("a refused registration wrote its record (Stat: %v)", err)
				}
				return
			}
			if _, err := reg.Get(t.Context(), rec.ID); err != nil {
				t.Fatalf("Get after Register: %v", err)
			}
			if err := reg.Register(t.Context(), esl, rec, "test"); !errors.Is(err, registry.ErrExists) {
				t.Fatalf("second Register = %v, want ErrExists", err)
			}
		})
	}
}

// TestGetOversized checks that a record or seal too large to read is an
// invalid entry, not a truncated one.
func TestGetOversized(t *testing.T) {
	t.Parallel()
	esl, rec := sealObjects(t)
	prefix := storage.PrefixRegistry + "seals/" + rec.ID + "/"
	for _, tc := range []struct {
		name string
		key  string
		body []byte
	}{
		{"record", prefix + "record.json", append([]byte(`{"id":"`+rec.ID+`"}`), bytes.Repeat([]byte(" "), 1<<20)...)},
		{"seal", prefix + "seal.esl", append(bytes.Clone(esl), make([]byte, 16<<20)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := fs.Open(t.TempDir(), "registry-test")
			if err != nil {
				t.Fatal(err)
			}
			reg := registry.New(st)
			if err := reg.Register(t.Context(), esl, rec, "test"); err != nil {
				t.Fatal(err)
			}
			put(t, st, tc.key, tc.body)
			if _, err := reg.Get(t.Context(), rec.ID); !errors.Is(err, registry.ErrInvalid) || !errors.Is(err, storage.ErrTooLarge) {
				t.Fatalf("Get with an oversized %s = %v, want ErrInvalid and ErrTooLarge", tc.name, err)
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
