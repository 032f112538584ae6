package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// fakeSeals is a SealLookup answering from a map, or with err.
type fakeSeals struct {
	entries map[string]*registry.Entry
	err     error
}

func (f fakeSeals) Get(_ context.Context, id string) (*registry.Entry, error) {
	if f.err != nil {
		return nil, f.err
	}
	if e, ok := f.entries[id]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("seal %s: %w", id, registry.ErrNotFound)
}

// TestRegistryCheck: the registry judges only the seals it registered. A
// seal it does not hold, or cannot read, is INDETERMINATE, never FAILED;
// with no registry the check is NOT_APPLICABLE; a seal it holds that was
// not active at the signing time is FAILED.
func TestRegistryCheck(t *testing.T) {
	const id = "33010200000009"
	registered := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := &ses.Seal{ID: id, Raw: []byte("the seal's DER")}
	entry := func(raw string, history ...registry.Event) *registry.Entry {
		e := &registry.Entry{Record: registry.Record{ID: id, History: history}, Seal: &ses.Seal{ID: id, Raw: []byte(raw)}}
		e.Status = history[len(history)-1].Status
		return e
	}
	active := registry.Event{At: registered, Status: registry.StatusActive}
	day := func(n int) time.Time { return registered.Add(time.Duration(n) * 24 * time.Hour) }
	for _, tc := range []struct {
		name   string
		seals  SealLookup
		at     time.Time
		result report.Result
		sub    string
		detail string
	}{
		{"no registry configured", nil, day(1), report.Skipped, "", "no seal registry configured"},
		{"not registered", fakeSeals{}, day(1), report.Unknown, report.SubSealNotRegistered, "not in the configured registry"},
		{"another seal under the code", fakeSeals{entries: map[string]*registry.Entry{id: entry("another seal", active)}}, day(1),
			report.Unknown, report.SubSealNotRegistered, "holds a different seal under code " + id},
		{"registry unreadable", fakeSeals{err: errors.New("read store/registry: input/output error")}, day(1),
			report.Unknown, report.SubTryLater, "cannot be read: read store/registry: input/output error"},
		{"registry log tampered", fakeSeals{err: &registry.TamperError{Seal: id, Object: "log/000001.json", Reason: "bad signature"}}, day(1),
			report.Unknown, report.SubTryLater, "bad signature"},
		{"active", fakeSeals{entries: map[string]*registry.Entry{id: entry("the seal's DER", active)}}, day(1),
			report.OK, "", "active at signing time; active now"},
		{"revoked after signing", fakeSeals{entries: map[string]*registry.Entry{id: entry("the seal's DER", active,
			registry.Event{At: day(2), Status: registry.StatusRevoked})}}, day(1),
			report.OK, "", "active at signing time; revoked now"},
		{"revoked at signing time", fakeSeals{entries: map[string]*registry.Entry{id: entry("the seal's DER", active,
			registry.Event{At: day(2), Status: registry.StatusRevoked})}}, day(3),
			report.NotOK, report.SubSealNotActive, "revoked at signing time"},
		{"suspended at signing time", fakeSeals{entries: map[string]*registry.Entry{id: entry("the seal's DER", active,
			registry.Event{At: day(2), Status: registry.StatusSuspended}, registry.Event{At: day(4), Status: registry.StatusActive})}}, day(3),
			report.NotOK, report.SubSealNotActive, "suspended at signing time; active now"},
		{"signed before registration", fakeSeals{entries: map[string]*registry.Entry{id: entry("the seal's DER", active)}}, day(-1),
			report.NotOK, report.SubSealNotActive, "revoked at signing time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &Verifier{Seals: tc.seals}
			c := v.registryCheck(context.Background(), seal, tc.at)
			if c.Name != "registry-status" || c.Result != tc.result || c.SubIndication != tc.sub || !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("got %+v, want %s (%s) with %q", c, tc.result, tc.sub, tc.detail)
			}
		})
	}
}
