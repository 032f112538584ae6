package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/retention"
)

func newBatchStatusCmd(g *globals) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "status [DEPT/BATCH]",
		Short: "Show a batch's progress and outcome, or list recent batches",
		Long: `Show the progress and outcome of batch DEPT/BATCH from the store — documents
uploaded and approved, sealed, rejected (with the count per rejection code) and
pending — and, when SEALPIPE_REDIS_ADDR is set, its tasks in the queue
(pending, active, scheduled, retrying, archived) and the documents those
still to run hold (one sealing task seals a chunk of documents). A
batch report waiting for its documents shows as a scheduled task.

Without DEPT/BATCH it lists the batches whose inbox was written last, newest
first (--limit, default 20).

States: uploading (the approval signature has not arrived), in progress,
complete (every document has an outcome; the batch is final), rejected (the
whole batch was refused). It only reads: it creates no file or folder.
Exit 0, or 1 for a batch the store holds nothing of.`,
		Example: `  sealpipe status
  sealpipe status civil-affairs/2026-11-24-001
  sealpipe status civil-affairs/2026-11-24-001 --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErr("%s takes at most 1 argument, got %d; see --help", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			e := g.engine()
			if len(args) == 0 {
				list, err := e.RecentBatches(cmd.Context(), limit)
				if err != nil {
					return err
				}
				if g.jsonOut {
					return printJSON(g, list)
				}
				printBatchList(g, e, list)
				return nil
			}
			ref, err := pipeline.ParseBatchLabel(args[0])
			if err != nil {
				return usageErr("%q: want DEPT/BATCH: %v", args[0], err)
			}
			s, err := e.BatchStatus(cmd.Context(), ref)
			if errors.Is(err, engine.ErrNoBatch) {
				return &exitError{exitFailed, err}
			}
			if err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(g, s)
			}
			printBatchStatus(g, s)
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "without DEPT/BATCH: how many recent batches to list")
	return cmd
}

// codeList formats rejection counts as "CODE n, CODE n", by code.
func codeList[C ~string](codes map[C]int) string {
	var out []string
	for c, n := range codes {
		out = append(out, fmt.Sprintf("%s %d", c, n))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func printBatchStatus(g *globals, s *engine.BatchStatus) {
	w := g.stdout
	fmt.Fprintf(w, "%s: %s\n", s.Batch, s.State)
	fmt.Fprintf(w, "  uploaded:  %d document(s)\n  approved:  %d\n", s.Uploaded, s.Approved)
	fmt.Fprintf(w, "  sealed:    %d\n  rejected:  %d\n", s.Sealed, s.Rejected)
	if len(s.Codes) > 0 {
		fmt.Fprintf(w, "  by code:   %s\n", codeList(s.Codes))
	}
	if s.Rejection != nil {
		fmt.Fprintf(w, "  batch refused: %s: %s\n", s.Rejection.Code, s.Rejection.Reason)
	}
	fmt.Fprintf(w, "  pending:   %d\n", s.Pending)
	switch {
	case s.Queue != nil:
		q := s.Queue
		fmt.Fprintf(w, "  queue:     %d pending, %d active, %d scheduled, %d retrying, %d archived task(s); %d document(s) to seal\n",
			q.Pending, q.Active, q.Scheduled, q.Retry, q.Archived, q.Documents)
	case s.QueueError != "":
		fmt.Fprintf(w, "  queue:     unknown: %s\n", s.QueueError)
	default:
		fmt.Fprintln(w, "  queue:     not configured (SEALPIPE_REDIS_ADDR unset)")
	}
	if !s.LastUpload.IsZero() {
		fmt.Fprintf(w, "  uploaded at:  %s\n", s.LastUpload.UTC().Format(time.RFC3339))
	}
	if s.Report != "" {
		fmt.Fprintf(w, "  completed at: %s\n  report:       %s\n", s.CompletedAt.UTC().Format(time.RFC3339), s.Report)
	}
	switch s.InboxPruned {
	case retention.Archived:
		fmt.Fprintf(w, "  inbox:        archived to %s (inbox retention)\n", s.Archive)
	case retention.Deleted:
		fmt.Fprintln(w, "  inbox:        deleted (inbox retention)")
	}
	if s.Unverified {
		fmt.Fprintln(w, "  (records read without checking their signatures: no trusted root configured)")
	}
}

func printBatchList(g *globals, e *engine.Engine, list []*engine.BatchStatus) {
	if len(list) == 0 {
		fmt.Fprintf(g.stdout, "no batches in %s\n", e.StoreLocation())
		return
	}
	fmt.Fprintf(g.stdout, "%-40s %-12s %6s %6s %8s %7s  %s\n", "BATCH", "STATE", "DOCS", "SEALED", "REJECTED", "PENDING", "LAST UPLOAD")
	for _, s := range list {
		fmt.Fprintf(g.stdout, "%-40s %-12s %6d %6d %8d %7d  %s\n", s.Batch, s.State, max(s.Approved, s.Uploaded),
			s.Sealed, s.Rejected, s.Pending, s.LastUpload.UTC().Format(time.RFC3339))
	}
}
