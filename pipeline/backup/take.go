package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/storage"
)

// File is a file of the data folder, as a backup holds it.
type File struct {
	// Name is the file's path in the data folder, slash-separated, such
	// as pki/root.key or keys.conf.
	Name string
	// Mode holds its permission bits.
	Mode iofs.FileMode
	// Body is its content, as stored: key files stay encrypted.
	Body []byte
}

// Options are what Take needs besides the store and the location.
type Options struct {
	// Signer signs the manifest: the pipeline's service identity.
	Signer signed.Signer
	// Version names the sealpipe taking the backup, for the manifest.
	Version string
	// Files are the data folder's files to hold (data/<Name>), and Data
	// the folder's absolute path, recorded in the manifest.
	Files []File
	Data  string
	// MaxRounds bounds the looks at the store's heads and checkpoints
	// (see the package documentation); 0 means 10.
	MaxRounds int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// headRead, set by tests, runs after each registry head is read in a
	// look at the store.
	headRead func(key string)
}

// Result is what Take wrote.
type Result struct {
	// Manifest is the manifest written.
	Manifest *Manifest
	// Rounds counts the looks at the heads and checkpoints that found
	// something moved, plus the last that found nothing had.
	Rounds int
	// Bytes is the size of every object but the manifest.
	Bytes int64
	// Warnings name what the store holds that the backup does not: what
	// the rules above leave out as a write in progress, or could not copy
	// because it vanished or makes no sense (a store that does not verify).
	Warnings []string
}

// Size bounds of the objects Take reads whole to know what else to copy.
const (
	maxLogObject  = 64 << 20 // a registry object or usage-log segment
	maxRecordSize = 16 << 20 // a usage record or batch report
)

// Take copies a consistent backup (see the package documentation) of
// src's registry and usage log, and of opts.Files, to dst, which must be
// empty, and writes its manifest, signed by opts.Signer, last. If it
// fails, it removes what it wrote, so that dst can be used again.
func Take(ctx context.Context, src storage.Store, dst Location, opts Options) (res *Result, err error) {
	if opts.Signer.Key == nil || opts.Signer.Cert == nil {
		return nil, errors.New("backup: no key to sign the manifest with")
	}
	if opts.MaxRounds <= 0 {
		opts.MaxRounds = 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := CheckEmpty(ctx, dst.Store, dst.key("")); err != nil {
		return nil, fmt.Errorf("backup to %s: %w", dst, err)
	}
	t := &taker{src: src, dst: dst, now: opts.Now, headRead: opts.headRead, copied: map[string]Object{}, segments: map[string]map[int]segment{}, submissions: map[string]bool{}}
	defer func() {
		if err != nil {
			err = t.discard(ctx, err)
		}
	}()
	obs, err := t.observe(ctx)
	if err != nil {
		return nil, err
	}
	rounds := 1
	for ; ; rounds++ {
		if err := t.copyLogs(ctx, obs); err != nil {
			return nil, err
		}
		again, err := t.observe(ctx)
		if err != nil {
			return nil, err
		}
		if again.same(obs) {
			obs.start = again.start // nothing moved since obs: the state at again's start
			break
		}
		if rounds >= opts.MaxRounds {
			return nil, fmt.Errorf("%w: registry heads or usage-log checkpoints moved in each of %d looks; try again when the pipeline is quieter", ErrUnsettled, rounds)
		}
		obs = again
	}
	if err := t.copyRecords(ctx, obs); err != nil {
		return nil, err
	}
	for _, id := range slices.Sorted(maps.Keys(obs.heads)) {
		if err := t.put(ctx, StorePrefix+registry.SealsPrefix+id+"/"+registry.HeadName, obs.heads[id].body, "", storage.ObjectInfo{ContentType: "application/json"}); err != nil {
			return nil, err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(obs.apps)) {
		if err := t.put(ctx, StorePrefix+registry.ApplicationsPrefix+id+"/"+registry.HeadName, obs.apps[id].body, "", storage.ObjectInfo{ContentType: "application/json"}); err != nil {
			return nil, err
		}
	}
	for _, f := range opts.Files {
		if err := t.put(ctx, DataPrefix+f.Name, f.Body, fmt.Sprintf("%04o", f.Mode.Perm()), storage.ObjectInfo{}); err != nil {
			return nil, err
		}
	}
	m := &Manifest{
		Format: Format, Version: opts.Version, Created: opts.Now().UTC(), AsOf: obs.start.UTC(),
		Bucket: src.Bucket(), Data: opts.Data, Seals: obs.cut(), Applications: obs.cutApplications(), Objects: slices.Collect(maps.Values(t.copied)),
	}
	slices.SortFunc(m.Objects, func(a, b Object) int { return strings.Compare(a.Name, b.Name) })
	obj, err := opts.Signer.Marshal(m)
	if err != nil {
		return nil, err
	}
	if _, err := dst.Store.Put(ctx, dst.key(ManifestName), bytes.NewReader(obj), int64(len(obj)), storage.PutOptions{IfNoneMatch: true, ContentType: "application/json"}); err != nil {
		return nil, fmt.Errorf("backup: write %s: %w", dst.key(ManifestName), err)
	}
	res = &Result{Manifest: m, Rounds: rounds, Warnings: t.warnings}
	for _, o := range m.Objects {
		res.Bytes += o.Size
	}
	return res, nil
}

// taker is one Take in progress.
type taker struct {
	src      storage.Store
	dst      Location
	now      func() time.Time
	headRead func(key string)
	copied   map[string]Object          // by name in the backup
	segments map[string]map[int]segment // copied usage-log segments, by seal and number
	// submissions names the applications whose first change, and the
	// materials it pins, are copied.
	submissions map[string]bool
	warnings    []string
	warned      map[string]bool
}

// segment is what Take needs of a copied usage-log segment.
type segment struct {
	sm3     string
	label   string
	records []string
}

// head is a registry head as observed.
type head struct {
	body []byte
	seq  int
}

// observation is one look at the heads and checkpoints of the store.
type observation struct {
	start time.Time
	heads map[string]head // registry heads, by seal
	// changes lists the change numbers in each seal's log folder.
	changes map[string]map[int]bool
	// esl and legacy name the seals with a seal.esl, a record.json.
	esl, legacy map[string]bool
	// logs is each seal's last usage-log segment with a checkpoint;
	// segs and cps the numbers of the segments and checkpoints there.
	logs      map[string]int
	segs, cps map[string]map[int]bool
	// apps are the applications' heads, by application.
	apps map[string]head
}

// same reports whether o and p found the same heads and checkpoints.
func (o *observation) same(p *observation) bool {
	sameHead := func(a, b head) bool { return bytes.Equal(a.body, b.body) }
	return maps.EqualFunc(o.heads, p.heads, sameHead) && maps.EqualFunc(o.apps, p.apps, sameHead) &&
		maps.Equal(o.logs, p.logs)
}

// cut returns the Seal lines of the manifest.
func (o *observation) cut() []Seal {
	ids := map[string]bool{}
	for id := range o.heads {
		ids[id] = true
	}
	for id := range o.logs {
		ids[id] = true
	}
	for id := range o.legacy {
		ids[id] = true
	}
	var seals []Seal
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		seals = append(seals, Seal{ID: id, Registry: o.heads[id].seq, UsageLog: o.logs[id]})
	}
	return seals
}

// cutApplications returns the Application lines of the manifest.
func (o *observation) cutApplications() []Application {
	var apps []Application
	for _, id := range slices.Sorted(maps.Keys(o.apps)) {
		apps = append(apps, Application{ID: id, Registry: o.apps[id].seq})
	}
	return apps
}

// warn records a warning once.
func (t *taker) warn(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if t.warned == nil {
		t.warned = map[string]bool{}
	}
	if !t.warned[w] {
		t.warned[w] = true
		t.warnings = append(t.warnings, w)
	}
}

// observe looks at every seal's registry head and usage-log checkpoints.
func (t *taker) observe(ctx context.Context) (*observation, error) {
	o := &observation{
		start: t.now(), heads: map[string]head{}, changes: map[string]map[int]bool{},
		esl: map[string]bool{}, legacy: map[string]bool{}, logs: map[string]int{}, apps: map[string]head{},
	}
	withHead, appHeads, appChanges := map[string]bool{}, map[string]bool{}, map[string]int{}
	err := t.src.List(ctx, storage.PrefixRegistry, func(info storage.ObjectInfo) error {
		if rest, ok := strings.CutPrefix(info.Key, registry.ApplicationsPrefix); ok {
			id, name, _ := strings.Cut(rest, "/")
			_, isChange := numbered(name, registry.LogDir)
			switch {
			case name == registry.HeadName:
				appHeads[id] = true
			case isChange:
				appChanges[id]++
			case strings.HasPrefix(name, registry.MaterialsDir):
				// Copied with the submission that pins it.
			default:
				t.warn("%s: not part of an application's log: left out", info.Key)
			}
			return nil
		}
		rest, ok := strings.CutPrefix(info.Key, registry.SealsPrefix)
		id, name, _ := strings.Cut(rest, "/")
		seq, isChange := numbered(name, registry.LogDir)
		switch {
		case ok && name == registry.HeadName:
			withHead[id] = true
		case ok && name == registry.SealName:
			o.esl[id] = true
		case ok && name == registry.LegacyName:
			o.legacy[id] = true
		case ok && isChange:
			if o.changes[id] == nil {
				o.changes[id] = map[int]bool{}
			}
			o.changes[id][seq] = true
		default:
			t.warn("%s: not part of a seal's log: left out", info.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", storage.PrefixRegistry, err)
	}
	for _, id := range slices.Sorted(maps.Keys(withHead)) {
		h, ok, err := t.readHead(ctx, registry.SealsPrefix+id+"/"+registry.HeadName, "seal", id, len(o.changes[id]))
		if err != nil {
			return nil, err
		}
		if ok {
			o.heads[id] = h
		}
	}
	for id, changes := range o.changes {
		if _, ok := o.heads[id]; !ok && !o.legacy[id] {
			t.warn("seal %s: %d change(s) but no head (a registration in progress, or a head deleted): left out", id, len(changes))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(appHeads)) {
		h, ok, err := t.readHead(ctx, registry.ApplicationsPrefix+id+"/"+registry.HeadName, "application", id, appChanges[id])
		if err != nil {
			return nil, err
		}
		if ok {
			o.apps[id] = h
		}
	}
	for id, changes := range appChanges {
		if _, ok := o.apps[id]; !ok {
			t.warn("application %s: %d change(s) but no head (a submission in progress, or a head deleted): left out", id, changes)
		}
	}
	if o.segs, err = t.numbered(ctx, audit.PrefixLog); err != nil {
		return nil, err
	}
	if o.cps, err = t.numbered(ctx, audit.PrefixCheckpoints); err != nil {
		return nil, err
	}
	for seal, cps := range o.cps {
		for seq := range cps {
			if o.segs[seal][seq] && seq > o.logs[seal] {
				o.logs[seal] = seq
			}
		}
	}
	return o, nil
}

// readHead reads the head at key of the log of what (a "seal" or an
// "application") id, which has changes changes listed, and reports
// whether it is there: heads are replaced, never removed, so one gone
// meanwhile is as one never there.
func (t *taker) readHead(ctx context.Context, key, what, id string, changes int) (head, bool, error) {
	b, _, err := storage.ReadAll(ctx, t.src, key, maxLogObject)
	if errors.Is(err, storage.ErrNotExist) {
		return head{}, false, nil
	}
	if err != nil {
		return head{}, false, fmt.Errorf("backup: %w", err)
	}
	if t.headRead != nil {
		t.headRead(key)
	}
	var h map[string]any
	seq, ok := 0, false
	if peek(b, &h) == nil && h[what] == id {
		n, isNum := h["seq"].(float64)
		seq, ok = int(n), isNum && n >= 1 && n == float64(int(n))
	}
	if !ok {
		// Not a head registry verify accepts: held as it is, with every
		// change there, to show the same fault.
		t.warn("%s: not a head of %s %s: held as it is", key, what, id)
		seq = changes
	}
	return head{body: b, seq: seq}, true, nil
}

// numbered lists the objects <prefix><seal>/<seq>.json and returns their
// numbers by seal.
func (t *taker) numbered(ctx context.Context, prefix string) (map[string]map[int]bool, error) {
	out := map[string]map[int]bool{}
	err := t.src.List(ctx, prefix, func(info storage.ObjectInfo) error {
		seal, name, _ := strings.Cut(strings.TrimPrefix(info.Key, prefix), "/")
		seq, ok := numbered(name, "")
		if !ok {
			t.warn("%s: not part of a seal's usage log: left out", info.Key)
			return nil
		}
		if out[seal] == nil {
			out[seal] = map[int]bool{}
		}
		out[seal][seq] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", prefix, err)
	}
	return out, nil
}

// numbered parses <dir><six or more digits>.json, the name of a registry
// change or a usage-log segment or checkpoint, and returns the number.
func numbered(name, dir string) (int, bool) {
	digits, ok := strings.CutPrefix(name, dir)
	digits, suffix := strings.CutSuffix(digits, ".json")
	if !ok || !suffix || len(digits) < 6 || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n > 0 && fmt.Sprintf("%06d", n) == digits
}

// copyLogs copies what obs says the registry and usage logs hold and the
// backup does not yet: the registry's changes up to each head (the heads
// themselves are written last) and the usage logs' segments and
// checkpoints up to each seal's last checkpoint.
func (t *taker) copyLogs(ctx context.Context, obs *observation) error {
	for id, h := range obs.heads {
		keys := []string{}
		if obs.esl[id] {
			keys = append(keys, registry.SealsPrefix+id+"/"+registry.SealName)
		}
		if obs.legacy[id] {
			keys = append(keys, registry.SealsPrefix+id+"/"+registry.LegacyName)
		}
		// By key, not from the listing, which may be older than the head.
		for seq := 1; seq <= h.seq; seq++ {
			keys = append(keys, registry.ChangeKey(id, seq))
		}
		if err := t.copyAll(ctx, keys); err != nil {
			return err
		}
	}
	for id := range obs.legacy {
		if _, ok := obs.heads[id]; !ok {
			// A seal of the unsigned layout: sealpipe migrate needs both.
			if err := t.copyAll(ctx, []string{registry.SealsPrefix + id + "/" + registry.SealName, registry.SealsPrefix + id + "/" + registry.LegacyName}); err != nil {
				return err
			}
		}
	}
	for id, h := range obs.apps {
		if err := t.copyApplication(ctx, id, h.seq); err != nil {
			return err
		}
	}
	for seal, last := range obs.logs {
		for seq := 1; seq <= last; seq++ {
			if err := t.copySegment(ctx, seal, seq); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyApplication copies the changes of application id up to seq (the
// head is written last), and with its first change the materials that
// change pins.
func (t *taker) copyApplication(ctx context.Context, id string, seq int) error {
	if !t.submissions[id] && seq >= 1 {
		key := registry.ApplicationChangeKey(id, 1)
		body, err := t.copy(ctx, key, maxLogObject)
		if err != nil {
			return err
		}
		var c registry.ApplicationChange
		if err := peek(body, &c); body != nil && err != nil {
			t.warn("%s: not an application's submission (%v): its materials are not looked for", key, err)
		}
		var materials []string
		for _, m := range c.Materials {
			if m.Name == "" || strings.Contains(m.Name, "/") || storage.CheckKey(registry.MaterialKey(id, m.Name)) != nil {
				t.warn("%s: names material %q, not a material's name: not looked for", key, m.Name)
				continue
			}
			materials = append(materials, registry.MaterialKey(id, m.Name))
		}
		if err := t.copyAll(ctx, materials); err != nil {
			return err
		}
		t.submissions[id] = true
	}
	var keys []string
	for n := 2; n <= seq; n++ {
		keys = append(keys, registry.ApplicationChangeKey(id, n))
	}
	return t.copyAll(ctx, keys)
}

// copyAll copies the store objects keys not copied yet, as they are.
func (t *taker) copyAll(ctx context.Context, keys []string) error {
	for _, key := range keys {
		if _, done := t.copied[StorePrefix+key]; done {
			continue
		}
		if _, err := t.copy(ctx, key, -1); err != nil {
			return err
		}
	}
	return nil
}

// copySegment copies segment seq of seal's usage log and its checkpoint,
// unless copied already, and keeps what copyRecords needs of it.
func (t *taker) copySegment(ctx context.Context, seal string, seq int) error {
	if _, done := t.segments[seal][seq]; done {
		return nil
	}
	if err := t.copyAll(ctx, []string{audit.CheckpointKey(seal, seq)}); err != nil {
		return err
	}
	key := audit.SegmentKey(seal, seq)
	body, err := t.copy(ctx, key, maxLogObject)
	if err != nil || body == nil {
		return err
	}
	seg := segment{sm3: sm3hex(body)}
	var s audit.Segment
	if err := peek(body, &s); err != nil {
		t.warn("%s: not a usage-log segment (%v): its records and outputs are not looked for", key, err)
	} else {
		seg.label = s.Label
		for _, e := range s.Records {
			seg.records = append(seg.records, e.Key)
		}
	}
	if t.segments[seal] == nil {
		t.segments[seal] = map[int]segment{}
	}
	t.segments[seal][seq] = seg
	return nil
}

// copyRecords copies, once the logs are settled, the usage records the
// segments in the backup list and the sealed output each names, every
// other usage record (of batches in progress), and each batch report
// whose checkpoints are all in the backup.
func (t *taker) copyRecords(ctx context.Context, obs *observation) error {
	labels := map[string]bool{}
	for seal, segs := range t.segments {
		for seq, seg := range segs {
			if seq > obs.logs[seal] {
				continue
			}
			if seg.label != "" && !strings.HasPrefix(seg.label, "local:") {
				labels[seg.label] = true
			}
			for _, key := range seg.records {
				if err := t.copyRecord(ctx, key); err != nil {
					return err
				}
			}
		}
	}
	var records []string
	err := t.src.List(ctx, storage.PrefixAudit, func(info storage.ObjectInfo) error {
		records = append(records, info.Key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("backup: list %s: %w", storage.PrefixAudit, err)
	}
	if err := t.copyAll(ctx, records); err != nil {
		return err
	}
	for _, label := range slices.Sorted(maps.Keys(labels)) {
		if err := t.copyReport(ctx, obs, label); err != nil {
			return err
		}
	}
	return nil
}

// copyRecord copies the usage record at key, which the log lists, and
// the sealed output it names.
func (t *taker) copyRecord(ctx context.Context, key string) error {
	if storage.CheckKey(key) != nil || !strings.HasPrefix(key, storage.PrefixAudit) {
		t.warn("usage record %q listed in the log: not a record key, not looked for", key)
		return nil
	}
	if _, done := t.copied[StorePrefix+key]; done {
		return nil
	}
	body, err := t.copy(ctx, key, maxRecordSize)
	if err != nil || body == nil {
		return err
	}
	var rec audit.Record
	if err := peek(body, &rec); err != nil || rec.Batch == "" {
		return nil // a local sealing's output is a file elsewhere
	}
	if !strings.HasPrefix(rec.Output, storage.PrefixSealed) || storage.CheckKey(rec.Output) != nil {
		t.warn("%s: names output %q, not under %s: not copied", key, rec.Output, storage.PrefixSealed)
		return nil
	}
	return t.copyAll(ctx, []string{rec.Output})
}

// copyReport copies the batch report of label when every checkpoint it
// names is the one in the backup: a report written after the cut would
// make the batch complete without its uses in the log.
func (t *taker) copyReport(ctx context.Context, obs *observation, label string) error {
	ref, err := pipeline.ParseBatchLabel(label)
	if err != nil {
		return nil
	}
	key := ref.BatchReportKey()
	body, info, err := storage.ReadAll(ctx, t.src, key, maxRecordSize)
	if errors.Is(err, storage.ErrNotExist) {
		return nil // the batch is still in progress
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	var rep report.Batch
	if err := peek(body, &rep); err != nil {
		t.warn("%s: not a batch report: left out", key)
		return nil
	}
	for _, cp := range rep.UsageLog {
		if cp.Seq > obs.logs[cp.Seal] || t.segments[cp.Seal][cp.Seq].sm3 != cp.SM3 {
			t.warn("%s: names checkpoint %d of seal %s, past the backup's: left out (the batch shows as in progress)", key, cp.Seq, cp.Seal)
			return nil
		}
	}
	return t.put(ctx, StorePrefix+key, body, "", info)
}

// copy copies the store object key into the backup, streaming it unless
// limit >= 0, when it reads it whole (up to limit bytes) and returns it.
// An object gone meanwhile is a warning, and nil bytes.
func (t *taker) copy(ctx context.Context, key string, limit int64) ([]byte, error) {
	name := StorePrefix + key
	if limit >= 0 {
		body, info, err := storage.ReadAll(ctx, t.src, key, limit)
		if errors.Is(err, storage.ErrNotExist) {
			t.warn("%s: not in the store (gone meanwhile, or never there): not copied", key)
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		return body, t.put(ctx, name, body, "", info)
	}
	rc, info, err := t.src.Get(ctx, key)
	if errors.Is(err, storage.ErrNotExist) {
		t.warn("%s: not in the store (gone meanwhile, or never there): not copied", key)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: read %s: %w", key, err)
	}
	defer rc.Close()
	return nil, t.write(ctx, name, rc, info.Size, "", info)
}

// discard removes what t wrote, after err stopped it.
func (t *taker) discard(ctx context.Context, err error) error {
	for name := range t.copied {
		if derr := t.dst.Store.Delete(context.WithoutCancel(ctx), t.dst.key(name)); derr != nil {
			return fmt.Errorf("%w (and removing the unfinished backup failed: %v)", err, derr)
		}
	}
	return err
}

// put writes body under name in the backup.
func (t *taker) put(ctx context.Context, name string, body []byte, mode string, info storage.ObjectInfo) error {
	return t.write(ctx, name, bytes.NewReader(body), int64(len(body)), mode, info)
}

// write writes size bytes of r under name in the backup, create-only,
// with info's content type and metadata, and lists it in the manifest.
func (t *taker) write(ctx context.Context, name string, r io.Reader, size int64, mode string, info storage.ObjectInfo) error {
	hr := newHashingReader(r)
	opts := storage.PutOptions{IfNoneMatch: true, ContentType: info.ContentType, Metadata: info.Metadata}
	_, err := t.dst.Store.Put(ctx, t.dst.key(name), hr, size, opts)
	switch {
	case errors.Is(err, storage.ErrPreconditionFailed):
		return fmt.Errorf("%w: %s was written by someone else meanwhile", ErrNotEmpty, t.dst.key(name))
	case err != nil:
		return fmt.Errorf("backup: write %s: %w", t.dst.key(name), err)
	case hr.n != size:
		return fmt.Errorf("backup: %s: read %d bytes, the store said %d", name, hr.n, size)
	}
	t.copied[name] = Object{Name: name, Size: size, SM3: hr.sum(), Mode: mode}
	return nil
}

// peek decodes the payload of a signed envelope (package signed) into v
// without checking the signature: to know what else to copy, never to
// trust anything.
func peek(obj []byte, v any) error {
	var env struct {
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(obj, &env); err != nil {
		return err
	}
	if len(env.Payload) == 0 {
		return fmt.Errorf("not a signed object")
	}
	return json.Unmarshal(env.Payload, v)
}
