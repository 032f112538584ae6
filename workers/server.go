package workers

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/hibiken/asynq"
)

// DefaultConcurrency is the number of tasks a server processes at once when
// ServerConfig.Concurrency is zero: 16 × GOMAXPROCS. A document waits on
// the queue, the store and the keys far longer than it computes, and the
// more wait together the more share a store's fsync round (storage/fs
// group commit): `sealpipe demo --docs 2000` on 2 cores sealed 121
// documents/s with 4 × GOMAXPROCS and 175 with 16 ×. Config.MemoryBudget
// still bounds the documents in memory.
func DefaultConcurrency() int { return 16 * runtime.GOMAXPROCS(0) }

// ServerConfig tunes NewServer. The zero value of every field means its default.
type ServerConfig struct {
	// Concurrency is the number of tasks processed at once. Zero means
	// DefaultConcurrency().
	Concurrency int
	// TaskCheckInterval is how long an idle worker waits before looking for
	// new tasks again. Zero means asynq's default of one second; an
	// in-process Redis can afford a much shorter one.
	TaskCheckInterval time.Duration
	// DelayedTaskCheckInterval is how often scheduled and retried tasks are
	// moved to their queue: the latency of a batch report's next check, or
	// of a retry. Zero means one second (asynq's default is five).
	DelayedTaskCheckInterval time.Duration
	// Logger receives the server's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// NewServer returns an Asynq server wired with sealpipe's retry policy and
// final-failure handling, and a mux with the handlers registered. Start it
// with srv.Start(mux) or srv.Run(mux).
func NewServer(redis asynq.RedisConnOpt, h *Handlers, cfg ServerConfig) (*asynq.Server, *asynq.ServeMux) {
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DelayedTaskCheckInterval == 0 {
		cfg.DelayedTaskCheckInterval = time.Second
	}
	srv := asynq.NewServer(redis, asynq.Config{
		Concurrency:              cfg.Concurrency,
		TaskCheckInterval:        cfg.TaskCheckInterval,
		DelayedTaskCheckInterval: cfg.DelayedTaskCheckInterval,
		Queues:                   map[string]int{h.cfg.Queue: 1},
		RetryDelayFunc:           h.RetryDelay,
		IsFailure:                isFailure,
		ErrorHandler:             asynq.ErrorHandlerFunc(h.HandleError),
		Logger:                   slogAdapter{cfg.Logger},
		LogLevel:                 asynq.WarnLevel,
	})
	mux := asynq.NewServeMux()
	h.Register(mux)
	return srv, mux
}

// slogAdapter gives asynq's logger interface a log/slog backend.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }

// Fatal logs and exits, as asynq's Logger contract requires.
func (a slogAdapter) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
	os.Exit(1)
}
