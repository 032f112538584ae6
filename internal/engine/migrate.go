package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/storage"
)

// MigrateOptions adjust Migrate.
type MigrateOptions struct {
	// Departments are the departments each approver (by certificate
	// common name) may approve for. An approver not listed gets the
	// department named like the seal's key alias (the unit's slug), as
	// the demo's seals have.
	Departments map[string][]string
	// Keys are key aliases by seal ID, for seals whose old key URI gives
	// none (a file key's alias is its file name, a pkcs11: key's its
	// object=).
	Keys map[string]string
}

// Migration says what Migrate did.
type Migration struct {
	Seals   []string `json:"seals"`   // seals moved into signed logs
	Records int      `json:"records"` // records signed: reports, rejections, usage records
	Batches int      `json:"batches"` // completed batches whose uses were committed to the usage log
}

// Migrate brings a store written before the registry and the records were
// signed up to date, the one command for it: every seal kept as a
// record.json gets a signed log (its registration, then its history as
// status changes), signed by the seal administrator (Admin), with its key
// URI moved to the keyring under an alias; every report, rejection and
// usage record not yet signed is signed by the pipeline (Service), and
// the uses of every completed batch are committed to the usage log.
//
// Migration vouches for what the store holds now: run it once, on a store
// no one else could write.
func (e *Engine) Migrate(ctx context.Context, opts MigrateOptions) (*Migration, error) {
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	reg, err := e.Registry(ctx)
	if err != nil {
		return nil, err
	}
	ca, err := e.DevCA()
	if err != nil {
		return nil, err
	}
	admin, err := e.Admin(ctx)
	if err != nil {
		return nil, err
	}
	service, err := e.Service(ctx)
	if err != nil {
		return nil, err
	}
	out := &Migration{Seals: []string{}}

	// The registry.
	var legacy []string
	err = st.List(ctx, storage.PrefixRegistry+"seals/", func(o storage.ObjectInfo) error {
		if strings.HasSuffix(o.Key, "/record.json") {
			legacy = append(legacy, o.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, key := range legacy {
		id, err := e.migrateSeal(ctx, st, reg, key, opts, admin, func(cn string) (registry.ApproverGrant, bool) {
			a, err := ca.Approver(cn)
			return registry.ApproverGrant{Cert: a.Cert}, err == nil
		})
		if err != nil {
			return out, fmt.Errorf("migrate %s: %w", key, err)
		}
		if id != "" {
			out.Seals = append(out.Seals, id)
		}
	}

	// The records: usage records first, then batch reports (which name
	// the usage log), then the rest.
	pool, err := e.Trust()
	if err != nil {
		return nil, err
	}
	// read decodes the record at key into v: signed already (true), or
	// written before records were signed (false, and its ETag).
	read := func(key string, v any) (bool, string, error) {
		b, info, err := storage.ReadAll(ctx, st, key, 64<<20)
		if err != nil {
			return false, "", err
		}
		if audit.OpenRecord(b, v, pool) == nil {
			return true, info.ETag, nil
		}
		if err := json.Unmarshal(b, v); err != nil {
			return false, "", fmt.Errorf("%s is no record: %w", key, err)
		}
		return false, info.ETag, nil
	}
	sign := func(key, etag string, v any) error {
		obj, err := service.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := st.Put(ctx, key, strings.NewReader(string(obj)), int64(len(obj)), storage.PutOptions{IfMatch: etag, ContentType: "application/json"}); err != nil {
			return fmt.Errorf("sign %s: %w", key, err)
		}
		out.Records++
		return nil
	}
	resign := func(key string, v any) error {
		done, etag, err := read(key, v)
		if err != nil || done {
			return err
		}
		return sign(key, etag, v)
	}
	uses := map[string]map[string][]string{} // label → seal → record keys
	err = eachKey(ctx, st, storage.PrefixAudit, func(key string) error {
		var rec audit.Record
		if err := resign(key, &rec); err != nil {
			return err
		}
		label := "local:" + key
		if rec.Batch != "" {
			label = rec.Department + "/" + rec.Batch
		}
		if uses[label] == nil {
			uses[label] = map[string][]string{}
		}
		uses[label][rec.SealID] = append(uses[label][rec.SealID], key)
		return nil
	})
	if err != nil {
		return out, err
	}
	log := audit.New(st, service, pool)
	err = eachKey(ctx, st, storage.PrefixReports, func(key string) error {
		if !strings.HasSuffix(key, ".json") {
			return nil // batch.html and batch.pdf, the copies for people
		}
		if path.Base(key) != "batch.json" {
			return resign(key, new(report.Document))
		}
		var b report.Batch
		done, etag, err := read(key, &b)
		if err != nil || done {
			delete(uses, pipeline.BatchRef{Department: b.Department, Batch: b.Batch}.String())
			return err
		}
		label := pipeline.BatchRef{Department: b.Department, Batch: b.Batch}.String()
		for _, seal := range slices.Sorted(maps.Keys(uses[label])) {
			cp, err := log.Commit(ctx, seal, label, uses[label][seal])
			if err != nil {
				return err
			}
			b.UsageLog = append(b.UsageLog, report.LogCheckpoint{Seal: cp.Seal, Seq: cp.Seq, SM3: cp.SM3})
		}
		delete(uses, label)
		out.Batches++
		return sign(key, etag, &b)
	})
	if err != nil {
		return out, err
	}
	for label, bySeal := range uses {
		if !strings.HasPrefix(label, "local:") {
			continue // a batch still in progress commits its own uses
		}
		for seal, keys := range bySeal {
			if _, err := log.Commit(ctx, seal, label, keys); err != nil {
				return out, err
			}
		}
	}
	err = eachKey(ctx, st, storage.PrefixRejected, func(key string) error {
		return resign(key, new(report.Rejection))
	})
	return out, err
}

// legacyRecord is a seal's record.json before the registry was signed.
type legacyRecord struct {
	ID        string   `json:"id"`
	Unit      string   `json:"unit"`
	Purpose   string   `json:"purpose"`
	Approvers []string `json:"approvers"`
	SignerKey string   `json:"signer_key"`
	History   []struct {
		At     time.Time       `json:"at"`
		Status registry.Status `json:"status"`
		Actor  string          `json:"actor"`
		Reason string          `json:"reason"`
	} `json:"history"`
}

// migrateSeal gives the seal kept as the record.json at key a signed log,
// unless it has one; it returns the seal's ID if it migrated it.
func (e *Engine) migrateSeal(ctx context.Context, st storage.Store, reg *registry.Registry, key string, opts MigrateOptions,
	admin signed.Signer, approver func(cn string) (registry.ApproverGrant, bool)) (string, error) {
	b, _, err := storage.ReadAll(ctx, st, key, 1<<20)
	if err != nil {
		return "", err
	}
	var old legacyRecord
	if err := json.Unmarshal(b, &old); err != nil {
		return "", err
	}
	if _, err := reg.Get(ctx, old.ID); err == nil {
		return "", nil // migrated already
	} else if !errors.Is(err, registry.ErrNotFound) {
		return "", err
	}
	esl, _, err := storage.ReadAll(ctx, st, storage.PrefixRegistry+"seals/"+old.ID+"/seal.esl", 16<<20)
	if err != nil {
		return "", err
	}
	alias := opts.Keys[old.ID]
	if alias == "" {
		alias = aliasOf(old.SignerKey)
	}
	if err := registry.CheckKeyAlias(alias); err != nil {
		return "", fmt.Errorf("no key alias for seal %s (key %s): give one: %w", old.ID, redactURI(old.SignerKey), err)
	}
	if err := e.AddKey(alias, old.SignerKey); err != nil {
		return "", err
	}
	var grants []registry.ApproverGrant
	for _, cn := range old.Approvers {
		g, ok := approver(cn)
		if !ok {
			return "", fmt.Errorf("approver %q is not in the development trust chain", cn)
		}
		g.Departments = opts.Departments[cn]
		if len(g.Departments) == 0 {
			g.Departments = []string{alias}
		}
		grants = append(grants, g)
	}
	if _, err := reg.Register(ctx, esl, registry.RegisterRequest{
		Unit: old.Unit, Purpose: old.Purpose, Approvers: grants, Key: alias, Reason: "migrated from record.json",
	}, admin); err != nil {
		return "", err
	}
	status := registry.StatusActive
	for _, ev := range old.History[min(1, len(old.History)):] {
		if ev.Status == status {
			continue
		}
		reason := fmt.Sprintf("migrated: %s (%s by %s)", ev.Reason, ev.At.UTC().Format(time.RFC3339), ev.Actor)
		if _, err := reg.SetStatus(ctx, old.ID, ev.Status, reason, admin); err != nil {
			return "", err
		}
		status = ev.Status
	}
	return old.ID, nil
}

// aliasOf derives a key alias from an old key URI: a key file's base name,
// a pkcs11: key's object label.
func aliasOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	if u.Scheme == "pkcs11" {
		for _, attr := range strings.Split(u.Opaque, ";") {
			if v, ok := strings.CutPrefix(attr, "object="); ok {
				return v
			}
		}
		return ""
	}
	p := u.Path
	if p == "" {
		p = uri
	}
	return strings.TrimSuffix(path.Base(p), path.Ext(p))
}

// eachKey calls fn with every key under prefix.
func eachKey(ctx context.Context, st storage.Store, prefix string, fn func(key string) error) error {
	var keys []string
	if err := st.List(ctx, prefix, func(o storage.ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil {
		return err
	}
	for _, k := range keys {
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}
