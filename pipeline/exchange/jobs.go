package exchange

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Job is an exchange run on a schedule: the scheduled filing export or
// the import of the province's revocation list.
type Job struct {
	// Name names the job in logs, such as "filing export".
	Name string
	// Interval is the time between two runs; it must be above zero.
	Interval time.Duration
	// Do runs the job once. A failure is logged and tried again at the
	// next run.
	Do func(ctx context.Context) error
	// Logger receives the failures; nil means slog.Default().
	Logger *slog.Logger
}

// Run runs the job at once and then every Interval until ctx is done,
// and returns ctx's error.
func (j Job) Run(ctx context.Context) error {
	log := j.Logger
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(j.Interval)
	defer t.Stop()
	for {
		if err := j.Do(ctx); err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "exchange: "+j.Name+" failed; trying again at the next run", "err", err, "next", time.Now().Add(j.Interval).Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RunJobs runs every job (Run) until ctx is done, and then returns nil.
func RunJobs(ctx context.Context, jobs []Job) error {
	errc := make(chan error, len(jobs))
	for _, j := range jobs {
		go func() { errc <- j.Run(ctx) }()
	}
	var first error
	for range jobs {
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) && first == nil {
			first = err
		}
	}
	return first
}
