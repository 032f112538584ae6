package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/retention"
)

func newBatchPruneCmd(g *globals) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune [--dry-run]",
		Short: "Archive or delete the inboxes of batches final for longer than the retention",
		Long: `Apply the inbox retention rule once: the inbox of a finished batch,
inbox/<dept>/<batch>/, is archived (SEALPIPE_INBOX_RETENTION_ACTION=archive, the
default: moved to archive/<dept>/<batch>/ in the same bucket, each object copied
create-only and verified before the inbox loses it) or deleted (delete) once
SEALPIPE_INBOX_RETENTION (default 720h, 30 days; off keeps every inbox) has
passed since the batch became final. The age counts from the completion time in
the batch's report, reports/<dept>/<batch>/batch.json, believed only if the
pipeline signed it for that batch; an inbox without such a report is never
touched. run does the same every hour, and run --once at its end.

It prints a line for each inbox archived or deleted (with --dry-run: that
would be), and for each kept after an error, then how many were kept and
why (--json: every batch with its outcome: archived, deleted, would-archive,
would-delete, not-final, not-due or failed). A run cut short is finished by
the next. Exit 0, or 1 when an inbox was kept after an error (such as a batch
report the pipeline did not sign, or an archive object with other bytes).`,
		Example: `  sealpipe batch prune --dry-run
  SEALPIPE_INBOX_RETENTION=90d sealpipe batch prune --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := g.engine().PruneInboxes(cmd.Context(), dryRun)
			if rep == nil || (err != nil && len(rep.Batches) == 0) {
				return err
			}
			if g.jsonOut {
				if err := printJSON(g, rep); err != nil {
					return err
				}
			} else {
				printPrune(g, rep)
			}
			if err != nil {
				return &exitError{exitFailed, err}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "change nothing: print what would be archived or deleted")
	return cmd
}

// printPrune prints what batch prune did: a line per inbox pruned (or
// that would be) or kept after an error, then the count of those kept.
func printPrune(g *globals, rep *engine.PruneReport) {
	w := g.stdout
	if rep.Retention == engine.RetentionOff.String() {
		fmt.Fprintln(w, "inbox retention is off (SEALPIPE_INBOX_RETENTION=off): every inbox is kept")
		return
	}
	kept := map[retention.Outcome]int{}
	pruned := 0
	for _, r := range rep.Batches {
		times := fmt.Sprintf("final %s, due %s", r.CompletedAt.UTC().Format(time.RFC3339), r.DueAt.UTC().Format(time.RFC3339))
		what := fmt.Sprintf("%d object(s), %d bytes", r.Objects, r.Bytes)
		switch r.Outcome {
		case retention.Archived, retention.WouldArchive:
			pruned++
			fmt.Fprintf(w, "%s: %s %s to %s (%s)\n", r.Batch, verb(r.Outcome), what, r.Archive, times)
		case retention.Deleted, retention.WouldDelete:
			pruned++
			fmt.Fprintf(w, "%s: %s %s (%s)\n", r.Batch, verb(r.Outcome), what, times)
		case retention.Failed:
			kept[r.Outcome]++
			fmt.Fprintf(w, "%s: kept: %s\n", r.Batch, r.Error)
		default:
			kept[r.Outcome]++
		}
	}
	done := map[bool]string{false: "pruned", true: "would prune"}[rep.DryRun]
	why := []string{}
	for _, k := range []struct {
		o    retention.Outcome
		text string
	}{{retention.NotFinal, "not final"}, {retention.NotDue, "not due yet"}, {retention.Failed, "failed"}} {
		if n := kept[k.o]; n > 0 {
			why = append(why, fmt.Sprintf("%d %s", n, k.text))
		}
	}
	fmt.Fprintf(w, "%s %d inbox(es) (retention %s, then %s); kept %d", done, pruned, rep.Retention, rep.Action, len(rep.Batches)-pruned)
	if len(why) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(why, ", "))
	}
	fmt.Fprintln(w)
}

// verb says what became of a pruned inbox, as the line for it reads.
func verb(o retention.Outcome) string {
	return strings.ReplaceAll(string(o), "-", " ")
}
