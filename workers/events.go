package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/storage"
)

// ObjectEvent is one object notification from the object store.
type ObjectEvent struct {
	// Name is the S3 event name, e.g. "s3:ObjectCreated:Put".
	Name string
	// Bucket and Key locate the object; Key is already URL-decoded.
	Bucket string
	Key    string
	// ETag is the object's ETag without quotes.
	ETag string
	Size int64
}

// maxEventSize bounds one notification message.
const maxEventSize = 1 << 20

// ErrBadEvent reports a notification message that cannot be understood.
var ErrBadEvent = errors.New("workers: malformed bucket event")

// ParseBucketEvents decodes one message MinIO's notify_redis target pushes
// in its "access" format — a JSON array of {"Event": [S3 event records],
// "EventTime": ...} — and also accepts the plain S3 form {"Records": [...]}.
// Object keys arrive URL-encoded (S3 event convention: '+' is a space) and
// are decoded here.
func ParseBucketEvents(data []byte) ([]ObjectEvent, error) {
	if len(data) > maxEventSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadEvent, len(data))
	}
	type record struct {
		EventName string `json:"eventName"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				ETag string `json:"eTag"`
				Size int64  `json:"size"`
			} `json:"object"`
		} `json:"s3"`
	}
	var records []record
	var access []struct {
		Event []record `json:"Event"`
	}
	var plain struct {
		Records []record `json:"Records"`
	}
	switch t := strings.TrimLeft(string(data), " \t\r\n"); {
	case strings.HasPrefix(t, "["):
		if err := json.Unmarshal(data, &access); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
		}
		for _, a := range access {
			records = append(records, a.Event...)
		}
	case strings.HasPrefix(t, "{"):
		if err := json.Unmarshal(data, &plain); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
		}
		records = plain.Records
	default:
		return nil, fmt.Errorf("%w: not JSON", ErrBadEvent)
	}
	out := make([]ObjectEvent, 0, len(records))
	for _, r := range records {
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: object key %q: %v", ErrBadEvent, r.S3.Object.Key, err)
		}
		if r.S3.Bucket.Name == "" || key == "" || r.EventName == "" {
			return nil, fmt.Errorf("%w: record without event name, bucket or key", ErrBadEvent)
		}
		out = append(out, ObjectEvent{Name: r.EventName, Bucket: r.S3.Bucket.Name, Key: key,
			ETag: strings.Trim(r.S3.Object.ETag, `"`), Size: r.S3.Object.Size})
	}
	return out, nil
}

// EventBridge turns bucket events, pushed by MinIO's notify_redis target
// into a Redis list, into intake tasks. (MinIO's ListenBucketNotification
// stream stalled in tests; a Redis list survives restarts.) It moves each
// message to a processing list while it works on it, so a crash loses no
// event; messages left there are requeued when the bridge starts.
type EventBridge struct {
	// Redis holds the event list.
	Redis redis.UniversalClient
	// ListKey is the list MinIO pushes to (its notify_redis "key").
	ListKey string
	// Store is the bucket whose events are handled; others are logged and dropped.
	Store storage.Store
	// Handlers enqueues the tasks.
	Handlers *Handlers
	// Logger receives structured logs. Nil means slog.Default().
	Logger *slog.Logger
}

func (b *EventBridge) processingKey() string { return b.ListKey + ":processing" }

func (b *EventBridge) log() *slog.Logger {
	if b.Logger == nil {
		return slog.Default()
	}
	return b.Logger
}

// Run handles events until ctx is done.
func (b *EventBridge) Run(ctx context.Context) error {
	// Requeue what a previous run was working on when it stopped.
	for {
		err := b.Redis.LMove(ctx, b.processingKey(), b.ListKey, "RIGHT", "LEFT").Err()
		if errors.Is(err, redis.Nil) {
			break
		}
		if err != nil {
			return fmt.Errorf("workers: requeue bucket events: %w", err)
		}
	}
	for ctx.Err() == nil {
		msg, err := b.Redis.BLMove(ctx, b.ListKey, b.processingKey(), "LEFT", "RIGHT", 5*time.Second).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			b.log().WarnContext(ctx, "bucket events: read failed", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if err := b.Handle(ctx, []byte(msg)); err != nil {
			// Leave it in the processing list; it is requeued on restart and
			// the poller covers the batch meanwhile.
			b.log().WarnContext(ctx, "bucket event not handled", "err", err)
			continue
		}
		if err := b.Redis.LRem(ctx, b.processingKey(), 1, msg).Err(); err != nil {
			b.log().WarnContext(ctx, "bucket events: acknowledge failed", "err", err)
		}
	}
	return ctx.Err()
}

// Handle processes one event message. Malformed messages and events that
// do not concern a batch's approval are dropped (logged); an error means
// the message should be kept and retried.
func (b *EventBridge) Handle(ctx context.Context, msg []byte) error {
	events, err := ParseBucketEvents(msg)
	if err != nil {
		b.log().WarnContext(ctx, "bucket event dropped", "err", err)
		return nil
	}
	for _, ev := range events {
		if !strings.HasPrefix(ev.Name, "s3:ObjectCreated:") {
			continue
		}
		if ev.Bucket != b.Store.Bucket() {
			b.log().WarnContext(ctx, "bucket event for another bucket dropped", "bucket", ev.Bucket, "key", ev.Key)
			continue
		}
		ref, name, err := pipeline.ParseInboxKey(ev.Key)
		if err != nil || !pipeline.IsCommitKey(name) {
			continue // a document, or not an inbox key: the approval's arrival triggers the batch
		}
		if err := enqueueIntake(ctx, b.Store, b.Handlers, ref); err != nil {
			return err
		}
	}
	return nil
}

// enqueueIntake enqueues the intake of a batch whose approval signature is
// present. Its task ID derives from the bucket, the batch and the
// signature's ETag, so the bridge and the poller enqueue the same task.
func enqueueIntake(ctx context.Context, st storage.Store, h *Handlers, ref pipeline.BatchRef) error {
	info, err := st.Stat(ctx, ref.Inbox()+approval.SignatureName)
	if errors.Is(err, storage.ErrNotExist) {
		return nil // the signature's own arrival will trigger the batch
	}
	if err != nil {
		return err
	}
	t, err := NewBatchIntakeTask(st.Bucket(), ref, info.ETag)
	if err != nil {
		return err
	}
	return h.Enqueue(ctx, t)
}
