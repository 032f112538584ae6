package exchange_test

import (
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/exchange"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/storage/fs"
)

// FuzzReadFiling: no filing export, signed or not, makes the reader
// panic, and what it accepts is a filing export of this version that
// agrees with itself. The input is tried both as a whole document and
// as a payload already verified, so that the decoder's checks are
// reached without a signature.
func FuzzReadFiling(f *testing.F) {
	p := newPKI(f)
	st, err := fs.Open(f.TempDir(), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	c := newCounty(f, p, st)
	c.makeSeal(f, p, "33010200000001", false, registry.StatusSuspended)
	c.makeFromApplication(f, p, "33010200000102", "411728-2026-0001")
	doc, _ := c.export(f, p.registrar, exchange.ExportOptions{})
	f.Add(doc)
	payload := resign(f, doc, p.registrar, nil)
	f.Add(payload)
	f.Add([]byte(`{"format":"sealpipe-filing-export","version":1,"id":"x","registry":"r","created_at":"2026-01-01T00:00:00Z","seals":[]}`))
	f.Add([]byte(`{"format":"sealpipe-signed/1","payload":{},"signature":"MA=="}`))
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		if fl, _, err := exchange.ReadFiling(data, p.pool, now); err == nil && (fl.Format != exchange.FilingFormat || fl.Version != exchange.FilingVersion) {
			t.Fatalf("accepted %q version %d", fl.Format, fl.Version)
		}
		if fl, err := exchange.DecodeFiling(data, now); err == nil {
			for _, s := range fl.Seals {
				if len(s.History) != s.Head || s.History[len(s.History)-1].Status != s.Status {
					t.Fatalf("accepted seal %s whose history disagrees with it", s.ID)
				}
			}
		}
	})
}

// FuzzReadRevocationList: no revocation list makes the reader panic, and
// what it accepts names each seal once, with a known reason code.
func FuzzReadRevocationList(f *testing.F) {
	p := newPKI(f)
	issued := time.Now().Add(-time.Minute)
	f.Add(revocationList(f, p.province, 1, issued, "33010200000001", "33010200000002"))
	f.Add(revocationList(f, p.province, 2, issued))
	f.Add([]byte(`{"format":"sealpipe-revocation-list","version":1,"issuer":"p","number":1,"issued_at":"2026-01-01T00:00:00Z","revocations":[{"seal":"1","revoked_at":"2025-01-01T00:00:00Z","reason":"lost"}]}`))
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		if l, _, err := exchange.ReadRevocationList(data, p.pool, now); err == nil && l.Number < 1 {
			t.Fatalf("accepted list number %d", l.Number)
		}
		if l, err := exchange.DecodeRevocationList(data, now); err == nil {
			seen := map[string]bool{}
			for _, r := range l.Revocations {
				if seen[r.Seal] || r.Reason == "" {
					t.Fatalf("accepted %+v", r)
				}
				seen[r.Seal] = true
			}
		}
	})
}
