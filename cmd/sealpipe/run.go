package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/hibiken/asynq"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/s3"
	"github.com/sealpipe/sealpipe/workers"
)

// engine is a running pipeline: workers on a queue, plus what feeds them.
type engine struct {
	p        *pipeline.Pipeline
	h        *workers.Handlers
	st       storage.Store
	srv      *asynq.Server
	client   *asynq.Client
	redisOpt asynq.RedisClientOpt
	closers  []func()
}

// close stops the workers and releases what the engine holds.
func (e *engine) close() {
	if e.srv != nil {
		e.srv.Shutdown()
	}
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// startEngine starts Asynq workers for the pipeline over st. An empty
// redisAddr runs an in-process Redis (miniredis), for one process only.
func startEngine(ctx context.Context, g *globals, st storage.Store, reg *registry.Registry, ca *devca.CA, redisOpt asynq.RedisClientOpt, concurrency int, metrics prometheus.Registerer) (*engine, error) {
	e := &engine{st: st, redisOpt: redisOpt}
	if redisOpt.Addr == "" {
		mr, err := startMiniredis(ctx)
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, mr.Close)
		e.redisOpt.Addr = mr.Addr()
	}
	pool, err := g.trustPool(ca)
	if err != nil {
		e.close()
		return nil, err
	}
	open, err := g.keyOpener()
	if err != nil {
		e.close()
		return nil, err
	}
	e.closers = append(e.closers, func() { open.Close() })
	e.client = asynq.NewClient(e.redisOpt)
	e.closers = append(e.closers, func() { e.client.Close() })
	e.p = pipeline.New(st, reg, pool, open, pipeline.Config{Logger: g.log})
	var m *workers.Metrics
	if metrics != nil {
		m = workers.NewMetrics(metrics)
	}
	e.h = workers.NewHandlers(e.p, e.client, workers.Config{Bucket: st.Bucket(), Logger: g.log, Metrics: m})
	sc := workers.ServerConfig{Concurrency: concurrency, Logger: g.log}
	if redisOpt.Addr == "" {
		// Polling an in-process Redis costs next to nothing.
		sc.TaskCheckInterval, sc.DelayedTaskCheckInterval = 20*time.Millisecond, 100*time.Millisecond
	}
	srv, mux := workers.NewServer(e.redisOpt, e.h, sc)
	if err := srv.Start(mux); err != nil {
		e.close()
		return nil, fmt.Errorf("start workers: %w", err)
	}
	e.srv = srv
	return e, nil
}

func newRunCmd(g *globals) *cobra.Command {
	var once bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the sealing pipeline against the configured store, queue and keys",
		Long: `Run the pipeline — the same as the demo — against configured services: an
S3/MinIO bucket (or the local store), Redis-backed Asynq queues (or an
in-process Redis) and the signing keys the registered seals name (SM4-encrypted
key files or pkcs11: HSM keys).

Batches are found by the inbox poller and, when SEALPIPE_S3_EVENTS_KEY is set,
by MinIO bucket events pushed into Redis (notify_redis). With --once it seals
every approved batch waiting in the inbox and exits: the form for scheduled
nightly jobs. Otherwise it runs until interrupted.

Settings (environment variables, or KEY=value lines in --config FILE):
` + settingsHelp(),
		Example: `  SEALPIPE_S3_ENDPOINT=127.0.0.1:9000 SEALPIPE_REDIS_ADDR=127.0.0.1:6379 sealpipe run
  sealpipe run --once --config /etc/sealpipe.env`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPipeline(cmd.Context(), g, once, timeout)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "seal what is waiting, then exit")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Hour, "with --once: give up after this long")
	return cmd
}

func runPipeline(ctx context.Context, g *globals, once bool, timeout time.Duration) error {
	concurrency, err := g.set.int("SEALPIPE_CONCURRENCY")
	if err != nil {
		return err
	}
	interval, err := g.set.duration("SEALPIPE_POLL_INTERVAL")
	if err != nil {
		return err
	}
	db, err := g.set.int("SEALPIPE_REDIS_DB")
	if err != nil {
		return err
	}
	ca, err := g.openCA()
	if err != nil {
		return err
	}
	reg, st, err := g.openRegistry(ctx)
	if err != nil {
		return err
	}
	if arn := g.set.get("SEALPIPE_S3_EVENTS_ARN"); arn != "" {
		if err := g.subscribeInbox(ctx, arn); err != nil {
			return err
		}
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	redisOpt := asynq.RedisClientOpt{Addr: g.set.get("SEALPIPE_REDIS_ADDR"), Password: g.set.get("SEALPIPE_REDIS_PASSWORD"), DB: db}
	e, err := startEngine(ctx, g, st, reg, ca, redisOpt, concurrency, metrics)
	if err != nil {
		return err
	}
	defer e.close()
	if addr := g.set.get("SEALPIPE_METRICS_ADDR"); addr != "" {
		stop, err := serveMetrics(addr, metrics)
		if err != nil {
			return err
		}
		defer stop()
	}
	poller := &workers.Poller{Store: st, Handlers: e.h, Interval: interval, Logger: g.log}
	g.log.Info("sealpipe running", "store", g.storeLocation(st), "redis", e.redisOpt.Addr, "concurrency", cmp.Or(concurrency, workers.DefaultConcurrency()))

	if once {
		return runOnce(ctx, g, e, poller, timeout)
	}
	errc := make(chan error, 2)
	go func() { errc <- poller.Run(ctx) }()
	if key := g.set.get("SEALPIPE_S3_EVENTS_KEY"); key != "" {
		rdb := redis.NewClient(&redis.Options{Addr: e.redisOpt.Addr, Password: e.redisOpt.Password, DB: e.redisOpt.DB})
		defer rdb.Close()
		bridge := &workers.EventBridge{Redis: rdb, ListKey: key, Store: st, Handlers: e.h, Logger: g.log}
		go func() { errc <- bridge.Run(ctx) }()
	}
	err = <-errc
	if errors.Is(err, context.Canceled) {
		g.log.Info("sealpipe stopping")
		return nil
	}
	return err
}

// runOnce seals every batch waiting in the inbox and prints what became of
// each, for scheduled jobs.
func runOnce(ctx context.Context, g *globals, e *engine, poller *workers.Poller, timeout time.Duration) error {
	refs, err := poller.Scan(ctx)
	if err != nil {
		return err
	}
	type line struct {
		Batch    string `json:"batch"`
		Sealed   int    `json:"sealed"`
		Rejected int    `json:"rejected"`
		Report   string `json:"report"`
	}
	out := []line{}
	for _, ref := range refs {
		b, err := waitBatch(ctx, e.p, e.st, ref, timeout)
		if err != nil {
			return err
		}
		out = append(out, line{ref.String(), b.Sealed, b.Rejected, ref.BatchReportKey()})
	}
	if g.jsonOut {
		return printJSON(g, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(g.stdout, "no approved batches waiting")
	}
	for _, l := range out {
		fmt.Fprintf(g.stdout, "%s: sealed %d, rejected %d (%s)\n", l.Batch, l.Sealed, l.Rejected, l.Report)
	}
	return nil
}

// subscribeInbox points the bucket's object-created events under inbox/ at
// the MinIO notification target arn (a notify_redis target).
func (g *globals) subscribeInbox(ctx context.Context, arnText string) error {
	secure, err := g.set.bool("SEALPIPE_S3_SECURE")
	if err != nil {
		return err
	}
	cfg := g.s3Config(secure)
	mc, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: cfg.Secure, Region: cfg.Region})
	if err != nil {
		return usageErr("SEALPIPE_S3_ENDPOINT: %v", err)
	}
	arn, err := notification.NewArnFromString(arnText)
	if err != nil {
		return usageErr("SEALPIPE_S3_EVENTS_ARN %q: %v", arnText, err)
	}
	qc := notification.NewConfig(arn)
	qc.AddEvents(notification.ObjectCreatedAll)
	qc.AddFilterPrefix(storage.PrefixInbox)
	var nc notification.Configuration
	nc.AddQueue(qc)
	if err := mc.SetBucketNotification(ctx, g.bucket, nc); err != nil {
		return fmt.Errorf("subscribe bucket %q to %s: %w", g.bucket, arnText, err)
	}
	return nil
}

// s3Config returns the S3 settings. The endpoint may be host:port or a
// URL; an https:// URL implies SEALPIPE_S3_SECURE.
func (g *globals) s3Config(secure bool) s3.Config {
	endpoint := g.set.get("SEALPIPE_S3_ENDPOINT")
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		endpoint, secure = u.Host, secure || u.Scheme == "https"
	}
	return s3.Config{
		Endpoint:  endpoint,
		AccessKey: g.set.get("SEALPIPE_S3_ACCESS_KEY"),
		SecretKey: g.set.get("SEALPIPE_S3_SECRET_KEY"),
		Region:    g.set.get("SEALPIPE_S3_REGION"),
		Bucket:    g.bucket,
		Secure:    secure,
		// A missing bucket is created: the first command run against a
		// fresh MinIO (seals make, run) sets it up.
		CreateBucket: true,
	}
}

// serveMetrics serves /metrics on addr until stop is called.
func serveMetrics(addr string, reg *prometheus.Registry) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageErr("SEALPIPE_METRICS_ADDR: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}
