package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/redis/go-redis/v9"
)

// TestPrivateRedis: a private Redis answers, loses its keys when killed,
// and comes back empty on the same address.
func TestPrivateRedis(t *testing.T) {
	r := StartRedis(t)
	ctx := t.Context()
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Kill()
	if err := pingRedis(ctx, r.Addr); err == nil {
		t.Fatal("a killed Redis answers PING")
	}
	addr := r.Addr
	r.Restart()
	if r.Addr != addr {
		t.Fatalf("restarted on %s, was %s", r.Addr, addr)
	}
	if n, err := rdb.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("after the restart: EXISTS k = %d, %v; want an empty Redis", n, err)
	}
}

// TestPrivateMinIO: a private MinIO serves S3, hangs while stopped, and
// keeps its data across a kill and restart on the same endpoint.
func TestPrivateMinIO(t *testing.T) {
	m := StartMinIO(t)
	ctx := t.Context()
	mc, err := minio.New(m.S3.Host(), &minio.Options{Creds: credentials.NewStaticV4(m.S3.AccessKey, m.S3.SecretKey, ""), Region: m.S3.Region})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, "private", minio.MakeBucketOptions{Region: m.S3.Region}); err != nil {
		t.Fatal(err)
	}

	m.Stop()
	probe, cancel := context.WithTimeout(ctx, time.Second)
	err = checkMinIOLive(probe, m.S3.Endpoint)
	cancel()
	if err == nil {
		t.Fatal("a stopped MinIO answers")
	}
	m.Continue()
	if err := checkMinIOLive(ctx, m.S3.Endpoint); err != nil {
		t.Fatalf("after SIGCONT: %v", err)
	}

	m.Kill()
	if err := checkMinIOLive(ctx, m.S3.Endpoint); err == nil {
		t.Fatal("a killed MinIO answers")
	}
	m.Restart()
	if ok, err := mc.BucketExists(ctx, "private"); err != nil || !ok {
		t.Fatalf("after the restart: bucket exists %v, %v", ok, err)
	}
}
