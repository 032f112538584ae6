package engine

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/retention"
)

// Retention is how long something is kept (SEALPIPE_INBOX_RETENTION): a
// duration above zero, as Go writes it (720h, 36h30m) or in whole days
// (30d), or RetentionOff, written "off" or "never", for forever.
type Retention time.Duration

// RetentionOff keeps forever.
const RetentionOff = Retention(retention.Forever)

// errRetention is the complaint about a value ParseRetention cannot read.
var errRetention = errors.New("want a duration above zero such as 720h or 30d, or off (also never) to keep forever")

// ParseRetention reads a Retention such as "720h", "30d" or "off".
func ParseRetention(s string) (Retention, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "off", "never":
		return RetentionOff, nil
	}
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int64
		if days, err = strconv.ParseInt(n, 10, 64); err == nil && days > math.MaxInt64/int64(24*time.Hour) {
			err = errRetention
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, errRetention
	}
	return Retention(d), nil
}

// String writes the retention as ParseRetention reads it back: "off", or
// a duration without trailing zero units ("720h", "1h30m").
func (r Retention) String() string {
	if r < 0 {
		return "off"
	}
	s := time.Duration(r).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// retentionAction returns the inbox retention action, or an error
// wrapping ErrSettings naming the setting.
func (s Settings) retentionAction() (retention.Action, error) {
	a, err := retention.ParseAction(s.InboxRetentionAction)
	if err != nil {
		return "", settingError("SEALPIPE_INBOX_RETENTION_ACTION", s.InboxRetentionAction, "want %s or %s", retention.Archive, retention.Delete)
	}
	return a, nil
}

// Pruner returns the inbox retention rule over the store
// (SEALPIPE_INBOX_RETENTION, SEALPIPE_INBOX_RETENTION_ACTION): it believes
// a batch report only if it verifies against the trusted roots as the
// pipeline's, and counts what it prunes in the engine's metrics. It opens
// no key. It is made once.
func (e *Engine) Pruner(ctx context.Context) (*retention.Pruner, error) {
	st, pool, err := e.storeAndTrust(ctx)
	if err != nil {
		return nil, err
	}
	action, err := e.settings.retentionAction()
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pruner == nil {
		e.pruner, err = retention.New(st, pool, retention.Config{
			Retention: time.Duration(e.settings.InboxRetention), Action: action,
			Metrics: retention.NewMetrics(e.metrics), Logger: e.log,
		})
	}
	return e.pruner, err
}

// PruneReport is what one application of the inbox retention rule did
// (PruneInboxes).
type PruneReport struct {
	// Retention and Action are the rule: SEALPIPE_INBOX_RETENTION and
	// SEALPIPE_INBOX_RETENTION_ACTION.
	Retention string `json:"retention"`
	Action    string `json:"action"`
	// DryRun is set when nothing was changed.
	DryRun bool `json:"dry_run"`
	// Batches says what became of each batch in the inbox, in key order:
	// none when the rule is off or the store does not exist.
	Batches []retention.Result `json:"batches"`
}

// PruneInboxes applies the inbox retention rule once, or with dryRun
// tells what it would do. A local store that does not exist has nothing
// to prune and is not created. The error joins the failures of the
// batches it kept for an error (each marked retention.Failed).
func (e *Engine) PruneInboxes(ctx context.Context, dryRun bool) (*PruneReport, error) {
	s := e.settings
	rep := &PruneReport{Retention: s.InboxRetention.String(), Action: s.InboxRetentionAction, DryRun: dryRun, Batches: []retention.Result{}}
	if st, err := e.readStore(ctx); err != nil || st == nil {
		return rep, err
	}
	p, err := e.Pruner(ctx)
	if err != nil {
		return rep, err
	}
	results, err := p.Prune(ctx, retention.Options{DryRun: dryRun})
	if results != nil {
		rep.Batches = results
	}
	return rep, err
}
