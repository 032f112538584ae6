// Package audit keeps the usage log (用章记录): a record of every use of a
// seal, which the pipeline signs and no one else can add to, change,
// reorder or cut short unnoticed.
//
// Each sealing writes one usage record, signed by the pipeline (package
// signed; trust.UsagePipeline), create-only under a key derived from what
// was sealed, so that a retried sealing can neither lose its record nor
// write a second one:
//
//	audit/<seal id>/<dept>/<batch>/<document>.json   a use by the pipeline
//	audit/<seal id>/local/<time>-<sm3 prefix>.json    a use by `sealpipe seal`
//
// When a batch completes (or a local sealing is done), its records are
// committed to the seal's log: a hash-linked sequence of signed segments,
// each listing records by key and SM3, and a signed checkpoint of each
// segment, kept apart so that cutting the log short means deleting in two
// places — and batch reports name the checkpoint of their segment:
//
//	usagelog/<seal id>/<seq>.json     segment seq (000001, …): the records of one batch
//	checkpoints/<seal id>/<seq>.json  the SM3 of segment seq
//
// Each lives under its own prefix, so no department, batch or document name
// can make a record's key collide with a segment's.
//
// Verify walks it all: every segment signed, numbered, linked to the one
// before and matching its checkpoint; every record it lists there, signed,
// with the SM3 listed, and the sealed output it names still the one
// recorded; every record of a completed batch listed. The first problem
// is named.
package audit

import (
	"context"
	"encoding/hex"

	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
)

// Prefixes of the usage log, beside the records under storage.PrefixAudit.
const (
	// PrefixLog holds the seals' logs: their signed segments.
	PrefixLog = "usagelog/"
	// PrefixCheckpoints holds the checkpoints of the segments, apart.
	PrefixCheckpoints = "checkpoints/"
)

// Record is one use of a seal.
type Record struct {
	// SealID and SealName identify the seal applied.
	SealID   string `json:"seal_id"`
	SealName string `json:"seal_name"`
	// Department, Batch and Document identify the document within a
	// pipeline batch; all three are empty for a local single-file sealing.
	Department string `json:"department,omitempty"`
	Batch      string `json:"batch,omitempty"`
	Document   string `json:"document"`
	// InputSM3 and OutputSM3 are hex SM3 digests of the document before and
	// after sealing.
	InputSM3  string `json:"input_sm3"`
	OutputSM3 string `json:"output_sm3"`
	// Output is the object key or file name of the sealed document.
	Output string `json:"output"`
	// Signer is the signing certificate's subject and SignerSerial its serial number (hex).
	Signer       string `json:"signer"`
	SignerSerial string `json:"signer_serial"`
	// Approver is the approver's certificate subject; ApprovedAt the approval time.
	Approver   string    `json:"approver,omitempty"`
	ApprovedAt time.Time `json:"approved_at,omitzero"`
	// SignedAt is the signing time recorded in the signature.
	SignedAt time.Time `json:"signed_at"`
	// Operator names who or what applied the seal: "pipeline" or a local user.
	Operator string `json:"operator"`
}

// Key returns the object key the record is stored under.
func (r *Record) Key() string {
	if r.Batch != "" {
		return fmt.Sprintf("%s%s/%s/%s/%s.json", storage.PrefixAudit, r.SealID, r.Department, r.Batch, r.Document)
	}
	return fmt.Sprintf("%s%s/local/%s-%.16s.json", storage.PrefixAudit, r.SealID, r.SignedAt.UTC().Format("20060102T150405Z"), r.OutputSM3)
}

// Segment is one signed entry of a seal's log: the records of one batch.
type Segment struct {
	Seal string `json:"seal"`
	Seq  int    `json:"seq"`
	// Prev is the hex SM3 of the stored segment Seq-1; empty for the first.
	Prev string `json:"prev,omitempty"`
	// Label names what the records are of: "<dept>/<batch>", or
	// "local:<record key>" for a local sealing.
	Label   string    `json:"label"`
	At      time.Time `json:"at"`
	Records []Entry   `json:"records"`
}

// Entry lists one record in a segment.
type Entry struct {
	Key string `json:"key"`
	SM3 string `json:"sm3"` // of the stored record object
}

// Checkpoint is the signed SM3 of a segment, kept apart from the log and
// named in batch reports.
type Checkpoint struct {
	Seal string    `json:"seal"`
	Seq  int       `json:"seq"`
	SM3  string    `json:"sm3"`
	At   time.Time `json:"at"`
}

var (
	// ErrTampered reports a usage record, segment or checkpoint that does
	// not verify: unsigned, signed by someone else, changed, missing or
	// out of place. Errors wrapping it name the object.
	ErrTampered = errors.New("audit: usage log does not verify")
)

// Log appends to and verifies the usage log in an object store.
type Log struct {
	store storage.Store
	sign  signed.Signer
	trust *trust.Pool
	now   func() time.Time
}

// New returns the usage log kept in store, written with the pipeline's
// identity service and read back trusting pipeline certificates of pool.
// A Log with a zero service can verify, not write.
func New(store storage.Store, service signed.Signer, pool *trust.Pool) *Log {
	return &Log{store: store, sign: service, trust: pool, now: time.Now}
}

// Size bounds of the objects the log reads.
const (
	maxRecordSize  = 1 << 20
	maxSegmentSize = 64 << 20
	// maxSearch is how many segments back Commit looks for a label
	// committed before (a retried batch report).
	maxSearch = 256
)

// Append stores rec, signed. If a record already exists under its key — a
// retried sealing of the same document — it must be a valid record of the
// same output, and it stands; anything else there fails with ErrTampered.
func (l *Log) Append(ctx context.Context, rec Record) error {
	if rec.SealID == "" || rec.Document == "" || rec.OutputSM3 == "" {
		return fmt.Errorf("audit: incomplete usage record %+v", rec)
	}
	body, err := l.sign.Marshal(rec)
	if err != nil {
		return err
	}
	key := rec.Key()
	created, err := storage.PutOnce(ctx, l.store, key, body, storage.PutOptions{ContentType: "application/json"})
	if err != nil {
		return fmt.Errorf("audit: append %s: %w", key, err)
	}
	if created {
		return nil
	}
	var old Record
	if _, err := l.read(ctx, key, &old); err != nil {
		return err
	}
	if old.OutputSM3 != rec.OutputSM3 || old.SealID != rec.SealID {
		return fmt.Errorf("%w: %s records output %.16s…, this sealing made %.16s…", ErrTampered, key, old.OutputSM3, rec.OutputSM3)
	}
	return nil
}

// Commit adds a segment listing the records under keys (all of seal) to
// the seal's log, and its checkpoint, and returns the checkpoint. A label
// committed before — a retried commit, or a concurrent one by another
// worker — returns that segment's checkpoint: each label is in the log
// once.
func (l *Log) Commit(ctx context.Context, seal, label string, keys []string) (Checkpoint, error) {
	if cp, ok, err := l.committed(ctx, seal, label); err != nil || ok {
		return cp, err
	}
	keys = slices.Sorted(slices.Values(keys))
	entries := make([]Entry, len(keys))
	err := storage.ReadEach(ctx, l.store, keys, maxRecordSize, func(i int, b []byte) error {
		entries[i] = Entry{Key: keys[i], SM3: sm3hex(b)}
		return nil
	})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: commit to %s: %w", seal, err)
	}
	for attempt := 0; attempt < 100; attempt++ {
		head, prev, err := l.tail(ctx, seal)
		if err != nil {
			return Checkpoint{}, err
		}
		// Looked for again after the tail was read: a concurrent commit
		// of label either shows up here or takes number head+1 first,
		// and then the next attempt finds it.
		if cp, ok, err := l.committed(ctx, seal, label); err != nil || ok {
			return cp, err
		}
		seg := Segment{Seal: seal, Seq: head + 1, Prev: prev, Label: label, At: l.now().UTC(), Records: entries}
		obj, err := l.sign.Marshal(seg)
		if err != nil {
			return Checkpoint{}, err
		}
		created, err := storage.PutOnce(ctx, l.store, segmentKey(seal, seg.Seq), obj, storage.PutOptions{ContentType: "application/json"})
		if err != nil {
			return Checkpoint{}, fmt.Errorf("audit: commit to %s: %w", seal, err)
		}
		if !created {
			continue // a concurrent commit took the number
		}
		cp := Checkpoint{Seal: seal, Seq: seg.Seq, SM3: sm3hex(obj), At: seg.At}
		if err := l.checkpoint(ctx, cp); err != nil {
			return Checkpoint{}, err
		}
		return cp, nil
	}
	return Checkpoint{}, fmt.Errorf("audit: commit to %s: the log kept growing under 100 attempts", seal)
}

// checkpoint writes cp, signed, create-only; an equal one there stands.
func (l *Log) checkpoint(ctx context.Context, cp Checkpoint) error {
	obj, err := l.sign.Marshal(cp)
	if err != nil {
		return err
	}
	key := checkpointKey(cp.Seal, cp.Seq)
	created, err := storage.PutOnce(ctx, l.store, key, obj, storage.PutOptions{ContentType: "application/json"})
	if err != nil || created {
		return err
	}
	var old Checkpoint
	if _, err := l.read(ctx, key, &old); err != nil {
		return err
	}
	if old.SM3 != cp.SM3 {
		return fmt.Errorf("%w: %s names another segment", ErrTampered, key)
	}
	return nil
}

// committed finds a segment of seal labelled label among the latest ones
// and returns its checkpoint, writing it if a crash left it unwritten.
func (l *Log) committed(ctx context.Context, seal, label string) (Checkpoint, bool, error) {
	keys, err := l.segmentKeys(ctx, seal)
	if err != nil {
		return Checkpoint{}, false, err
	}
	for i := len(keys) - 1; i >= 0 && i >= len(keys)-maxSearch; i-- {
		var seg Segment
		obj, err := l.read(ctx, keys[i], &seg)
		if err != nil {
			return Checkpoint{}, false, err
		}
		if seg.Label == label {
			cp := Checkpoint{Seal: seal, Seq: seg.Seq, SM3: sm3hex(obj), At: seg.At}
			return cp, true, l.checkpoint(ctx, cp)
		}
	}
	return Checkpoint{}, false, nil
}

// tail returns the number and SM3 of a seal's last segment (0, "" if none).
func (l *Log) tail(ctx context.Context, seal string) (int, string, error) {
	keys, err := l.segmentKeys(ctx, seal)
	if err != nil || len(keys) == 0 {
		return 0, "", err
	}
	obj, _, err := storage.ReadAll(ctx, l.store, keys[len(keys)-1], maxSegmentSize)
	if err != nil {
		return 0, "", fmt.Errorf("audit: %w", err)
	}
	return len(keys), sm3hex(obj), nil
}

// segmentKeys lists the keys of a seal's segments in order.
func (l *Log) segmentKeys(ctx context.Context, seal string) ([]string, error) {
	var keys []string
	err := l.store.List(ctx, segmentPrefix(seal), func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: list %s: %w", segmentPrefix(seal), err)
	}
	return keys, nil
}

// read reads the signed object at key into v and checks that the pipeline
// signed it. It returns the object's bytes.
func (l *Log) read(ctx context.Context, key string, v any) ([]byte, error) {
	obj, _, err := storage.ReadAll(ctx, l.store, key, maxSegmentSize)
	if err != nil {
		return nil, fmt.Errorf("audit: read %s: %w", key, err)
	}
	if err := OpenRecord(obj, v, l.trust); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTampered, key, err)
	}
	return obj, nil
}

// OpenRecord checks that obj is a record the pipeline signed — signed by a
// certificate pool trusts for trust.UsagePipeline — and decodes it into v.
// A certificate that has expired since still vouches for what it signed
// while it was valid; a revoked one does not.
func OpenRecord(obj []byte, v any, pool *trust.Pool) error {
	cert, err := signed.Unmarshal(obj, v)
	if err != nil {
		return err
	}
	at := time.Now()
	if at.After(cert.NotAfter) {
		at = cert.NotAfter
	}
	if _, err := pool.Verify(cert, at, trust.UsagePipeline); err != nil {
		return fmt.Errorf("not signed by the pipeline: %w", err)
	}
	return nil
}

// Problem is the first thing wrong with a seal's usage log.
type Problem struct {
	Seal   string
	Object string
	Reason string
}

func (p Problem) Error() string { return fmt.Sprintf("seal %s: %s: %s", p.Seal, p.Object, p.Reason) }

// Seals lists the seals that have usage records or a log.
func (l *Log) Seals(ctx context.Context) ([]string, error) {
	var seals []string
	add := func(prefix string) error {
		return l.store.List(ctx, prefix, func(o storage.ObjectInfo) error {
			id, _, _ := strings.Cut(strings.TrimPrefix(o.Key, prefix), "/")
			if !slices.Contains(seals, id) {
				seals = append(seals, id)
			}
			return nil
		})
	}
	for _, prefix := range []string{storage.PrefixAudit, PrefixLog, PrefixCheckpoints} {
		if err := add(prefix); err != nil {
			return nil, err
		}
	}
	slices.Sort(seals)
	return seals, nil
}

// Verify walks seal's usage log and returns its first problem, nil if it
// verifies. complete reports whether a batch (by label "<dept>/<batch>") is
// complete, so that its records must be in the log; records of batches in
// progress are not yet. Errors are failures to read, not findings.
func (l *Log) Verify(ctx context.Context, seal string, complete func(label string) (bool, error)) (*Problem, error) {
	return l.walk(ctx, seal, complete, func(Use) {})
}

// walk is Verify handing each use it verified to visit (see Uses).
func (l *Log) walk(ctx context.Context, seal string, complete func(label string) (bool, error), visit func(Use)) (*Problem, error) {
	bad := func(object, format string, args ...any) (*Problem, error) {
		return &Problem{Seal: seal, Object: object, Reason: fmt.Sprintf(format, args...)}, nil
	}
	keys, err := l.segmentKeys(ctx, seal)
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	prev := ""
	for i, key := range keys {
		seq := i + 1
		if key != segmentKey(seal, seq) {
			return bad(segmentKey(seal, seq), "segment %d is missing, or a stray object sits in the log", seq)
		}
		var seg Segment
		obj, err := l.read(ctx, key, &seg)
		if errors.Is(err, ErrTampered) {
			return bad(key, "%v", err)
		}
		if err != nil {
			return nil, err
		}
		switch {
		case seg.Seal != seal || seg.Seq != seq:
			return bad(key, "names seal %q segment %d", seg.Seal, seg.Seq)
		case seg.Prev != prev:
			return bad(key, "does not follow segment %d", seq-1)
		}
		var cp Checkpoint
		if _, err := l.read(ctx, checkpointKey(seal, seq), &cp); err != nil {
			if errors.Is(err, ErrTampered) || errors.Is(err, storage.ErrNotExist) {
				return bad(checkpointKey(seal, seq), "%v", err)
			}
			return nil, err
		}
		prev = sm3hex(obj)
		if cp.Seal != seal || cp.Seq != seq || cp.SM3 != prev {
			return bad(checkpointKey(seal, seq), "does not name segment %d as it is", seq)
		}
		for _, ent := range seg.Records {
			var rec Record
			if p, err := l.verifyRecord(ctx, seal, ent, &rec); p != nil || err != nil {
				return p, err
			}
			if !listed[ent.Key] { // a commit retried past maxSearch lists a use again
				visit(Use{Record: rec, Key: ent.Key, Segment: key})
			}
			listed[ent.Key] = true
		}
	}
	// Checkpoints past the log: segments cut off its end.
	var cps int
	if err := l.store.List(ctx, checkpointPrefix(seal), func(storage.ObjectInfo) error { cps++; return nil }); err != nil {
		return nil, err
	}
	if cps > len(keys) {
		return bad(checkpointKey(seal, len(keys)+1), "checkpoint of segment %d, but the log ends at %d: cut short", len(keys)+1, len(keys))
	}
	// Records of completed batches must be in the log; those of batches
	// in progress must at least be the pipeline's, each under its own key.
	var unlisted []string
	err = l.store.List(ctx, storage.PrefixAudit+seal+"/", func(o storage.ObjectInfo) error {
		if !listed[o.Key] {
			unlisted = append(unlisted, o.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, key := range unlisted {
		// Every record is signed when written, in the log or not yet.
		var rec Record
		_, err := l.read(ctx, key, &rec)
		switch {
		case errors.Is(err, ErrTampered):
			return bad(key, "%v (a store from before records were signed needs sealpipe migrate)", err)
		case err == nil && (rec.SealID != seal || rec.Key() != key):
			return bad(key, "holds the record of %s: a copy", rec.Key())
		case err != nil && !errors.Is(err, storage.ErrNotExist):
			return nil, err
		}
		label, local := recordLabel(seal, key)
		if local {
			return bad(key, "a local use not in the log")
		}
		done, err := complete(label)
		if err != nil {
			return nil, err
		}
		if done {
			return bad(key, "a use in completed batch %s, not in the log", label)
		}
		if err == nil {
			visit(Use{Record: rec, Key: key})
		}
	}
	return nil, nil
}

// verifyRecord checks one record a segment lists, read into rec, and the
// output it names.
func (l *Log) verifyRecord(ctx context.Context, seal string, ent Entry, rec *Record) (*Problem, error) {
	bad := func(object, format string, args ...any) (*Problem, error) {
		return &Problem{Seal: seal, Object: object, Reason: fmt.Sprintf(format, args...)}, nil
	}
	obj, err := l.read(ctx, ent.Key, rec)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		return bad(ent.Key, "listed in the log, but gone")
	case errors.Is(err, ErrTampered):
		return bad(ent.Key, "%v", err)
	case err != nil:
		return nil, err
	case sm3hex(obj) != ent.SM3 || rec.SealID != seal || rec.Key() != ent.Key:
		return bad(ent.Key, "not the record the log lists")
	case rec.Batch == "":
		return nil, nil // a local sealing's output is a file elsewhere
	}
	out, _, err := storage.ReadAll(ctx, l.store, rec.Output, 1<<31)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		return bad(rec.Output, "the sealed output of %s is gone", ent.Key)
	case err != nil:
		return nil, err
	case sm3hex(out) != rec.OutputSM3:
		return bad(rec.Output, "replaced since it was sealed (SM3 %.16s…, recorded %.16s…)", sm3hex(out), rec.OutputSM3)
	}
	return nil, nil
}

// recordLabel returns the label of a usage record key, or local.
func recordLabel(seal, key string) (label string, local bool) {
	rest := strings.TrimPrefix(key, storage.PrefixAudit+seal+"/")
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 || parts[0] == "local" {
		return "", true
	}
	return parts[0] + "/" + parts[1], false
}

// ReadRecord reads the usage record at key, checking its signature.
func (l *Log) ReadRecord(ctx context.Context, key string) (Record, error) {
	var rec Record
	_, err := l.read(ctx, key, &rec)
	return rec, err
}

func segmentPrefix(seal string) string    { return PrefixLog + seal + "/" }
func checkpointPrefix(seal string) string { return PrefixCheckpoints + seal + "/" }
func segmentKey(seal string, seq int) string {
	return fmt.Sprintf("%s%06d.json", segmentPrefix(seal), seq)
}
func checkpointKey(seal string, seq int) string {
	return fmt.Sprintf("%s%06d.json", checkpointPrefix(seal), seq)
}

// SegmentKey and CheckpointKey return the object keys of segment seq of
// seal's usage log and of its checkpoint, for tools that copy the log as
// stored (package backup).
func SegmentKey(seal string, seq int) string { return segmentKey(seal, seq) }

// CheckpointKey: see SegmentKey.
func CheckpointKey(seal string, seq int) string { return checkpointKey(seal, seq) }

func sm3hex(b []byte) string {
	sum := sm3.Sum(b)
	return hex.EncodeToString(sum[:])
}
