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

	"github.com/sealpipe/sealpipe/deploy/testenv"
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

	bucket := fmt.Sprintf("bridge-%d", time.Now().UnixNano())
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
	// Every event was acknowledged: nothing left in the processing list.
	if n, err := rdb.LLen(context.Background(), cfg.EventsKey+":processing").Result(); err != nil || n != 0 {
		t.Fatalf("processing list holds %d events (%v)", n, err)
	}
}
