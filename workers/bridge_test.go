package workers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"
	"github.com/redis/go-redis/v9"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/storage/s3"
	"github.com/sealpipe/sealpipe/workers"
)

// TestEventBridgeWithMinIO uploads a batch into a real MinIO bucket whose
// events go to Redis through notify_redis; with no poller running, the
// bridge alone must get the batch sealed, through Asynq on real Redis.
func TestEventBridgeWithMinIO(t *testing.T) {
	cfg := testenv.MinIO(t)
	redisAddr := testenv.Redis(t)
	testenv.ExclusiveEvents(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	bucket := testenv.BucketName(t, cfg)
	st, err := s3.New(ctx, s3.Config{Endpoint: cfg.Endpoint, AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Region: cfg.Region, Bucket: bucket, CreateBucket: true})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := minio.New(cfg.Host(), &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: cfg.Secure(), Region: cfg.Region})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := notification.NewArnFromString(cfg.EventsARN)
	if err != nil {
		t.Fatal(err)
	}
	qc := notification.NewConfig(arn)
	qc.AddEvents(notification.ObjectCreatedAll)
	qc.AddFilterPrefix("inbox/")
	var nc notification.Configuration
	nc.AddQueue(qc)
	if err := mc.SetBucketNotification(ctx, bucket, nc); err != nil {
		t.Fatal(err)
	}

	// Registry, seals and a batch, in the MinIO bucket.
	p, b := sealing(t, st, "evt-1", 3)
	ref := b.Ref
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	queueName := fmt.Sprintf("bridge-%d", time.Now().UnixNano()) // keep away from other tests' tasks
	client := newRedisClient(t, redisAddr)
	h := workers.NewHandlers(p, client, workers.Config{Bucket: bucket, Queue: queueName})
	srv, mux := workers.NewServer(redisOpt(redisAddr), h, workers.ServerConfig{Concurrency: 4, TaskCheckInterval: 50 * time.Millisecond})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	bridge := &workers.EventBridge{Redis: rdb, ListKey: cfg.EventsKey, Store: st, Handlers: h}
	done := make(chan error, 1)
	go func() { done <- bridge.Run(ctx) }()

	if err := b.Upload(ctx, st); err != nil {
		t.Fatal(err)
	}
	waitReport(t, st, ref)
	rep, err := p.WriteBatchReport(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sealed != 3 || rep.Rejected != 2 {
		t.Fatalf("sealed %d rejected %d, want 3 and 2", rep.Sealed, rep.Rejected)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("bridge stopped with %v", err)
	}
	// Every event of the bucket was acknowledged: none is left in the
	// processing list. That list is shared by every bucket configured with
	// the events ARN, and an event of another one that arrives while the
	// bridge stops (BLMove waits out its block time whatever the context)
	// may stay there until a bridge starts again: only ours count.
	left, err := rdb.LRange(context.Background(), cfg.EventsKey+":processing", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range left {
		evs, _ := workers.ParseBucketEvents([]byte(msg))
		for _, ev := range evs {
			if ev.Bucket == bucket {
				t.Errorf("processing list still holds the event of %s", ev.Key)
			}
		}
	}
}
