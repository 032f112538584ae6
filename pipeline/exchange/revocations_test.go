package exchange_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/exchange"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/signed"
)

// revocationList returns list number n revoking seals, signed by signer.
func revocationList(t testing.TB, signer signed.Signer, n int64, issued time.Time, seals ...string) []byte {
	t.Helper()
	l := exchange.RevocationList{Format: exchange.RevocationListFormat, Version: exchange.RevocationListVersion, Issuer: "某某省电子印章管理系统", Number: n, IssuedAt: issued.UTC(), Revocations: []exchange.Revocation{}}
	for _, s := range seals {
		l.Revocations = append(l.Revocations, exchange.Revocation{Seal: s, RevokedAt: issued.Add(-time.Hour).UTC(), Reason: exchange.ReasonKeyCompromised, Note: "密钥泄露"})
	}
	doc, err := signer.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// applyList reads doc as a revocation list and applies it to c.
func (c *county) applyList(p *pki, doc []byte) (*exchange.RevocationReport, error) {
	l, sig, err := exchange.ReadRevocationList(doc, p.pool, time.Now())
	if err != nil {
		return nil, err
	}
	return exchange.ApplyRevocations(context.Background(), l, sig, c.reg, c.marks, p.registrar)
}

// TestRevocations: the province's list revokes the seals it names that
// this registry has, each change recording the list and naming the
// province's signer; seals revoked already are left, unknown ones
// reported; the same list again changes nothing; a newer list applies; an
// older list, or another list under the same number, is refused.
func TestRevocations(t *testing.T) {
	t.Parallel()
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			p := newPKI(t)
			ctx := context.Background()
			c := newCounty(t, p, sc.open(t))
			c.makeSeal(t, p, "33010200000001", false)
			c.makeSeal(t, p, "33010200000002", false, registry.StatusSuspended)
			c.makeSeal(t, p, "33010200000003", false, registry.StatusRevoked)
			c.makeSeal(t, p, "33010200000004", false)
			issued := time.Now().Add(-time.Minute)
			doc := revocationList(t, p.province, 7, issued, "33010200000001", "33010200000002", "33010200000003", "44010200000009")

			rep, err := c.applyList(p, doc)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"33010200000001": exchange.ActionRevoked, "33010200000002": exchange.ActionRevoked, "33010200000003": exchange.ActionAlreadyRevoked, "44010200000009": exchange.ActionUnknown}
			for _, r := range rep.Seals {
				if r.Action != want[r.Seal] || r.Err != nil {
					t.Errorf("seal %s: %s (%v), want %s", r.Seal, r.Action, r.Err, want[r.Seal])
				}
			}
			for _, id := range []string{"33010200000001", "33010200000002"} {
				e, err := c.reg.Get(ctx, id)
				if err != nil || e.Status != registry.StatusRevoked {
					t.Fatalf("seal %s: %v %v, want revoked", id, e, err)
				}
				last := e.History[len(e.History)-1]
				if !strings.Contains(last.Reason, "revocation list 7 of 某某省电子印章管理系统 (SM3 "+rep.SM3+")") || !strings.Contains(last.Reason, "key-compromised (密钥泄露)") ||
					last.Code != registry.CodeKeyCompromised || last.Requester == nil || last.Requester.Role != exchange.RoleProvince || last.Requester.Name != "province" || last.Actor != "registrar" {
					t.Errorf("seal %s: revocation %+v (requester %+v)", id, last, last.Requester)
				}
			}
			if e, _ := c.reg.Get(ctx, "33010200000004"); e.Status != registry.StatusActive {
				t.Errorf("an unlisted seal is %s", e.Status)
			}
			heads := map[string]int{"33010200000001": 2, "33010200000002": 3, "33010200000003": 2, "33010200000004": 1}
			assertHeads(t, c, heads)

			// The same list again, also indented otherwise: nothing changes.
			again := bytes.ReplaceAll(doc, []byte("\n  "), []byte("\n    "))
			rep, err = c.applyList(p, again)
			if err != nil {
				t.Fatal(err)
			}
			if n := rep.Count(exchange.ActionAlreadyRevoked); n != 3 || rep.Count(exchange.ActionUnknown) != 1 {
				t.Errorf("second import: %+v", rep.Seals)
			}
			assertHeads(t, c, heads)

			// Another list under the same number, and an older list, are
			// refused before anything changes; a newer one applies.
			for _, old := range [][]byte{
				revocationList(t, p.province, 7, issued, "33010200000004"),
				revocationList(t, p.province, 7, issued.Add(time.Second), "33010200000004"),
				revocationList(t, p.province, 6, issued.Add(-time.Hour), "33010200000004"),
				revocationList(t, p.province, 8, issued.Add(-time.Second), "33010200000004"),
			} {
				if _, err := c.applyList(p, old); !errors.Is(err, exchange.ErrStale) {
					t.Errorf("older list: %v, want ErrStale", err)
				}
			}
			assertHeads(t, c, heads)
			if _, err := c.applyList(p, revocationList(t, p.province, 8, issued.Add(time.Second), "33010200000004")); err != nil {
				t.Fatal(err)
			}
			if e, _ := c.reg.Get(ctx, "33010200000004"); e.Status != registry.StatusRevoked {
				t.Errorf("list 8: seal 4 is %s", e.Status)
			}
		})
	}
}

// TestRevocationListRefused: a list changed after signing, signed by a key
// under a root nobody trusts, by a certificate without the province's
// role (the registrar's too), or malformed, is refused naming why, and
// revokes nothing.
func TestRevocationListRefused(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	c := newCounty(t, p, stores[0].open(t))
	c.makeSeal(t, p, "33010200000001", false)
	issued := time.Now().Add(-time.Minute)
	doc := revocationList(t, p.province, 1, issued, "33010200000001")
	edit := func(f func(map[string]any)) []byte { return resign(t, doc, p.province, f) }
	entry := func(v map[string]any) map[string]any { return v["revocations"].([]any)[0].(map[string]any) }
	for _, tc := range []struct {
		name string
		doc  []byte
		want error
		says string
	}{
		{"seal edited", bytes.Replace(doc, []byte("33010200000001"), []byte("33010200000002"), 1), exchange.ErrSignature, "signature"},
		{"signed under an untrusted root", revocationList(t, p.stranger, 1, issued, "33010200000001"), exchange.ErrUntrusted, `signed by "province", not a province`},
		{"signed by the registrar", revocationList(t, p.registrar, 1, issued, "33010200000001"), exchange.ErrUntrusted, "not a province"},
		{"signed by an outsider", revocationList(t, p.outsider, 1, issued, "33010200000001"), exchange.ErrUntrusted, "not a province"},
		{"unknown reason", edit(func(v map[string]any) { entry(v)["reason"] = "bored" }), exchange.ErrFormat, `reason "bored"`},
		{"revoked after issue", edit(func(v map[string]any) { entry(v)["revoked_at"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339) }), exchange.ErrFormat, "not before the list was issued"},
		{"issued in the future", edit(func(v map[string]any) { v["issued_at"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339) }), exchange.ErrFormat, "not a time it could have been issued"},
		{"number 0", edit(func(v map[string]any) { v["number"] = 0 }), exchange.ErrFormat, "number 0"},
		{"seal twice", edit(func(v map[string]any) { v["revocations"] = append(v["revocations"].([]any), entry(v)) }), exchange.ErrFormat, "listed twice"},
		{"filing export", edit(func(v map[string]any) { v["format"] = exchange.FilingFormat }), exchange.ErrFormat, "want \"sealpipe-revocation-list\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Equal(tc.doc, doc) {
				t.Fatal("the list is unchanged")
			}
			_, err := c.applyList(p, tc.doc)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("apply: %v, want %v saying %q", err, tc.want, tc.says)
			}
			if e, err := c.reg.Get(context.Background(), "33010200000001"); err != nil || e.Status != registry.StatusActive {
				t.Fatalf("the refused list changed the seal: %v %v", e, err)
			}
		})
	}
}
