package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/pipeline/audittrail"
)

func newAuditQueryCmd(g *globals) *cobra.Command {
	var (
		seals          []string
		unit, from, to string
		csvOut         bool
		columns        = strings.Join(audittrail.Columns, ",")
	)
	c := &cobra.Command{
		Use:   "query [--seal ID]… [--unit UNIT] [--from T] [--to T] [--csv]",
		Short: "List the uses of seals and the changes of their registry entries, verified, in time order",
		Long: `List, oldest first, every use of a seal from the usage log (time signed, seal,
unit, department, batch, document, SM3 of the sealed output, approver, the
record's object key) and every change of the seal registry (time, seal, op —
register, suspend, activate, revoke, approvers — the administrator who signed
it, who asked for it through the admin API, the reason, the change's object
key), narrowed by seal (repeatable, or comma-separated), by unit (the unit's
name as the registry records it, such as 某某县民政局) and by time. T is RFC 3339
(2026-11-24T09:30:00+08:00) or a date (2026-11-24) in the local time zone
(TZ); both bounds are inclusive: --from a date counts from its first instant,
--to a date up to its last.

Only what verifies is listed: each seal asked about has its registry log and
its usage log checked as 'registry verify' and 'audit verify' check them, and
a record that does not verify makes the query exit 1 naming it, listing
nothing. Uses in a batch still in progress are signed but not yet in the
log: their segment is empty (the table says "[batch in progress]").

Output: an aligned table; --csv: CSV (RFC 4180, CRLF, a header row) with the
columns
  ` + columns + `
in this order (new columns only ever come last; a cell starting with = + - @
gets a leading apostrophe, so spreadsheets show it as text); --json: a list
of events with the same fields. Times are in the local time zone.

With SEALPIPE_ADMIN_URL set, the query runs on that server (GET
/api/v1/audit), as the role and units of SEALPIPE_ADMIN_CLIENT_CERT allow: a
keeper's own units' seals only.

Exit 0 when the query ran, even with no events ("no events"); 1 when a record
does not verify; 2 on usage errors (a malformed time, --from after --to).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if csvOut && g.jsonOut {
				return usageErr("--csv and --json: choose one")
			}
			f, err := audittrail.ParseFilter(seals, unit, from, to, time.Local)
			if err != nil {
				return usageErr("%v", err)
			}
			events, err := auditQuery(cmd.Context(), g, f)
			var unverified *audittrail.UnverifiedError
			switch {
			case errors.As(err, &unverified):
				for _, p := range unverified.Problems {
					fmt.Fprintf(g.stderr, "sealpipe: %v\n", p)
				}
				return &exitError{exitFailed, errSilent}
			case errors.Is(err, audittrail.ErrFilter):
				return usageErr("%v", err)
			case err != nil:
				return err
			}
			switch {
			case g.jsonOut:
				if events == nil {
					events = []audittrail.Event{}
				}
				return printJSON(g, events)
			case csvOut:
				if len(events) == 0 {
					fmt.Fprintln(g.stderr, "sealpipe: no events")
				}
				return audittrail.WriteCSV(g.stdout, events)
			case len(events) == 0:
				_, err := fmt.Fprintln(g.stdout, "no events")
				return err
			}
			return printEvents(g.stdout, events)
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&seals, "seal", nil, "only this seal (repeatable, or comma-separated)")
	fl.StringVar(&unit, "unit", "", "only the seals of this unit, named as the registry records it")
	fl.StringVar(&from, "from", "", "only events at or after T: RFC 3339, or a date (from its first instant)")
	fl.StringVar(&to, "to", "", "only events at or before T: RFC 3339, or a date (up to its last instant)")
	fl.BoolVar(&csvOut, "csv", false, "print CSV (RFC 4180) instead of a table")
	return c
}

// auditQuery runs f on the admin API at SEALPIPE_ADMIN_URL if it is set,
// else on the store.
func auditQuery(ctx context.Context, g *globals, f audittrail.Filter) ([]audittrail.Event, error) {
	client, err := g.engine().AdminClient()
	if err != nil {
		return nil, err
	}
	if client != nil {
		defer client.Close()
		return client.Audit(ctx, f)
	}
	trail, err := g.engine().AuditTrail(ctx)
	if err != nil {
		return nil, err
	}
	return trail.Query(ctx, f)
}

// printEvents prints events as a table whose columns line up on a
// terminal, wide (CJK) characters counted twice.
func printEvents(w io.Writer, events []audittrail.Event) error {
	rows := [][]string{{"TIME", "SEAL", "UNIT", "OP", "BATCH", "DOCUMENT", "OUTPUT SM3", "BY", "REASON", "OBJECT"}}
	for _, e := range events {
		batch, by, sum := e.Department+"/"+e.Batch, e.Approver, e.OutputSM3
		if e.Batch == "" {
			batch = ""
			if e.Op == audittrail.OpUse {
				batch = "(local)"
			}
		}
		if len(sum) > 16 {
			sum = sum[:16] + "…"
		}
		if e.Op != audittrail.OpUse {
			by = e.Actor
			if e.Requester != nil {
				by += " for " + e.Requester.Name + " (" + e.Requester.Role + ")"
			}
		}
		if e.Op == audittrail.OpUse && e.Segment == "" {
			by += " [batch in progress]"
		}
		op := e.Op
		if e.Application != "" {
			op = "application " + e.Op // the object names the application
		}
		rows = append(rows, []string{e.Time.Format(time.RFC3339), e.Seal, e.Unit, op, batch, e.Document, sum, by, e.Reason, e.Object})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			row[i] = strings.Map(func(r rune) rune {
				if unicode.IsControl(r) {
					return ' '
				}
				return r
			}, cell)
			if row[i] == "" {
				row[i] = "-"
			}
			widths[i] = max(widths[i], displayWidth(row[i]))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// displayWidth is how many terminal columns s takes: two for each wide
// character (CJK ideographs, kana, hangul, full-width forms), one for the
// others.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x1100 && (r <= 0x115f || r >= 0x2e80 && r <= 0xa4cf && r != 0x303f || r >= 0xac00 && r <= 0xd7a3 ||
			r >= 0xf900 && r <= 0xfaff || r >= 0xfe30 && r <= 0xfe4f || r >= 0xff00 && r <= 0xff60 || r >= 0xffe0 && r <= 0xffe6 ||
			r >= 0x20000 && r <= 0x3fffd) {
			n++
		}
	}
	return n
}
