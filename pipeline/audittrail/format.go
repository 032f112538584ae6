package audittrail

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// TimeFormats says how ParseFilter takes a time, for help texts.
const TimeFormats = "RFC 3339 (2026-11-24T09:30:00+08:00) or a date (2026-11-24: from its first instant, to its last)"

// ParseFilter reads a filter as `sealpipe audit query` and GET
// /api/v1/audit take it: seal identifiers, a unit, and the bounds from and
// to (either may be empty), each a time in RFC 3339 or a date YYYY-MM-DD
// in loc — from a date means from its first instant, to a date up to its
// last, so that from and to the same date is that whole day. Events' times
// are given in loc too. A malformed time, or from after to, is an error
// wrapping ErrFilter.
func ParseFilter(seals []string, unit, from, to string, loc *time.Location) (Filter, error) {
	loc = location(loc)
	f := Filter{Seals: seals, Unit: unit, Location: loc}
	var err error
	if f.From, err = parseTime("from", from, false, loc); err != nil {
		return Filter{}, err
	}
	if f.To, err = parseTime("to", to, true, loc); err != nil {
		return Filter{}, err
	}
	return f, f.check()
}

// parseTime reads s (empty: the zero time) as RFC 3339, or as a date in
// loc: its first instant, or with end its last.
func parseTime(what, s string, end bool, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %q: want %s", ErrFilter, what, s, TimeFormats)
	}
	if end {
		d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc).Add(-time.Nanosecond)
	}
	return d, nil
}

// Columns are the CSV columns WriteCSV writes, in this order, which stays
// stable: new columns are only ever added at the end.
var Columns = []string{
	"time", "seal", "unit", "op",
	"department", "batch", "document", "output_sm3", "approver", "operator", "segment",
	"actor", "requester", "reason", "status",
	"object",
	"code", "successor", "predecessor",
	"application", "state",
}

// Row returns e's cells, one for each of Columns: times in RFC 3339 (whole
// seconds), the requester as "NAME (ROLE)".
func (e Event) Row() []string {
	var requester string
	if e.Requester != nil {
		requester = e.Requester.Name + " (" + e.Requester.Role + ")"
	}
	return []string{
		e.Time.Format(time.RFC3339), e.Seal, e.Unit, e.Op,
		e.Department, e.Batch, e.Document, e.OutputSM3, e.Approver, e.Operator, e.Segment,
		e.Actor, requester, e.Reason, string(e.Status),
		e.Object,
		string(e.Code), e.Successor, e.Predecessor,
		e.Application, string(e.State),
	}
}

// WriteCSV writes events as CSV (RFC 4180: CRLF line ends, fields quoted
// where they must be), a header row of Columns first. A cell a
// spreadsheet would take for a formula — one starting with =, +, -, @, a
// tab or a carriage return, such as a reason or a document name someone
// chose — is written after an apostrophe, as spreadsheets show text.
func WriteCSV(w io.Writer, events []Event) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for _, e := range events {
		row := e.Row()
		for i, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				row[i] = "'" + cell
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
