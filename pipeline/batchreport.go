package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/storage"
)

// WriteBatchReport writes the batch report once every document has an
// outcome and returns it; if a report exists already it returns that one.
// It fails with ErrNotReady while documents are outstanding; each document
// gets an outcome in the end (SealDocument's wait ends, RecordFailure
// records what fails for good), so waiting on it ends.
func (p *Pipeline) WriteBatchReport(ctx context.Context, ref BatchRef) (*report.Batch, error) {
	var b report.Batch
	if err := p.readJSON(ctx, ref.BatchReportKey(), &b); err == nil {
		return &b, nil
	} else if !errors.Is(err, storage.ErrNotExist) {
		return nil, err
	}
	entries, _, err := p.collect(ctx, ref, false)
	if err != nil {
		return nil, err
	}
	if n := outstanding(entries); n != "" {
		return nil, fmt.Errorf("%w: document %q of batch %s has no outcome yet", ErrNotReady, n, ref)
	}
	entries, hdr, err := p.collect(ctx, ref, true)
	if err != nil {
		return nil, err
	}
	b = *hdr
	for _, e := range entries {
		switch e.Outcome {
		case report.OutcomeSealed:
			b.Sealed++
		case report.OutcomeRejected:
			b.Rejected++
		}
	}
	if b.UsageLog, err = p.commitUses(ctx, ref, entries); err != nil {
		return nil, err
	}
	b.Documents, b.CompletedAt = entries, p.cfg.Now().UTC()
	// The copies for people first: the JSON report's existence marks the
	// batch complete, so a retry after a crash writes what is missing.
	if err := p.writeBatchPages(ctx, ref, &b); err != nil {
		return nil, err
	}
	if err := p.putRecord(ctx, ref.BatchReportKey(), &b); err != nil {
		return nil, err
	}
	p.cfg.Logger.InfoContext(ctx, "batch complete", "batch", ref.String(), "sealed", b.Sealed, "rejected", b.Rejected)
	return &b, nil
}

// commitUses commits the usage records of the batch's sealed documents to
// their seals' logs, one segment per seal, and returns the checkpoints.
func (p *Pipeline) commitUses(ctx context.Context, ref BatchRef, entries []report.BatchEntry) ([]report.LogCheckpoint, error) {
	sealed := map[string]bool{}
	for _, e := range entries {
		if e.Outcome == report.OutcomeSealed {
			sealed[e.Document] = true
		}
	}
	if len(sealed) == 0 {
		return nil, nil
	}
	a, err := p.approval(ctx, ref)
	if err != nil {
		return nil, err
	}
	bySeal := map[string][]string{}
	for _, d := range a.manifest.Documents {
		if !sealed[d.Name] {
			continue
		}
		for _, u := range d.Seals() {
			rec := audit.Record{SealID: u.Seal, Department: ref.Department, Batch: ref.Batch, Document: d.Name}
			bySeal[u.Seal] = append(bySeal[u.Seal], rec.Key())
		}
	}
	var out []report.LogCheckpoint
	for _, seal := range slices.Sorted(maps.Keys(bySeal)) {
		cp, err := p.audit.Commit(ctx, seal, ref.String(), bySeal[seal])
		if err != nil {
			return nil, err
		}
		out = append(out, report.LogCheckpoint{Seal: cp.Seal, Seq: cp.Seq, SM3: cp.SM3})
	}
	return out, nil
}

// outstanding returns the first document without an outcome, or "".
func outstanding(entries []report.BatchEntry) string {
	for _, e := range entries {
		if e.Outcome == "" {
			return e.Document
		}
	}
	return ""
}

// collect gathers one entry per document of the batch — every document
// listed in the approval or present in the inbox — with its outcome so far,
// found by listing the batch's reports and rejections. With details it also
// reads each outcome's record for the indication or the reason; callers ask
// for that only once the batch is complete, so that checking an unfinished
// batch costs a few listings, not a read per document.
func (p *Pipeline) collect(ctx context.Context, ref BatchRef, details bool) ([]report.BatchEntry, *report.Batch, error) {
	hdr := &report.Batch{Department: ref.Department, Batch: ref.Batch}
	names, err := p.inboxDocuments(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	rej, err := p.readBatchRejection(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if rej == nil {
		a, err := p.approval(ctx, ref)
		if err != nil {
			return nil, nil, err
		}
		hdr.Approver, hdr.ApprovedAt = a.approver.Subject.CommonName, a.manifest.ApprovedAt
		for _, d := range a.manifest.Documents {
			names = append(names, d.Name)
		}
	}
	hdr.Rejection = rej
	slices.Sort(names)
	names = slices.Compact(names)
	sealed, err := p.recordNames(ctx, ref.prefix(storage.PrefixReports))
	if err != nil {
		return nil, nil, err
	}
	rejected, err := p.recordNames(ctx, ref.prefix(storage.PrefixRejected))
	if err != nil {
		return nil, nil, err
	}
	entries := make([]report.BatchEntry, 0, len(names))
	for _, n := range names {
		e := report.BatchEntry{Document: n}
		switch {
		case approval.CheckDocumentName(n) != nil:
			// No record can be made of such a name: refused here only.
			e.Outcome, e.Code = report.OutcomeRejected, CodeNotApproved
			e.Reason = fmt.Sprintf("file %q is in the batch but is no document: %v", n, approval.CheckDocumentName(n))
		case rej != nil:
			e.Outcome, e.Code, e.Reason, e.Rejection = report.OutcomeRejected, rej.Code, rej.Reason, ref.BatchRejectionKey()
		case sealed[n]:
			e.Outcome, e.Sealed, e.Report = report.OutcomeSealed, ref.SealedKey(n), ref.ReportKey(n)
		case rejected[n]:
			e.Outcome, e.Rejection = report.OutcomeRejected, ref.RejectionKey(n)
		}
		entries = append(entries, e)
	}
	if details {
		if err := p.readDetails(ctx, entries); err != nil {
			return nil, nil, err
		}
	}
	return entries, hdr, nil
}

// readDetails reads the record of each entry's outcome, its report or its
// rejection, for the indication or the reason, several at once
// (storage.ReadEach): a batch of ten thousand documents has as many
// records to read and check.
func (p *Pipeline) readDetails(ctx context.Context, entries []report.BatchEntry) error {
	var keys []string
	var at []int // the entry of each key
	for i, e := range entries {
		switch {
		case e.Report != "":
			keys, at = append(keys, e.Report), append(at, i)
		case e.Rejection != "" && e.Code == "":
			keys, at = append(keys, e.Rejection), append(at, i)
		}
	}
	return storage.ReadEach(ctx, p.store, keys, maxRecordSize, func(k int, b []byte) error {
		e := &entries[at[k]]
		if e.Report != "" {
			var doc report.Document
			if err := p.openJSON(ctx, keys[k], b, &doc); err != nil {
				return err
			}
			e.Indication, e.VerificationCode = doc.Indication, doc.VerificationCode
			return nil
		}
		var r report.Rejection
		if err := p.openJSON(ctx, keys[k], b, &r); err != nil {
			return err
		}
		e.Code, e.Reason = r.Code, r.Reason
		return nil
	})
}

// recordNames lists the documents that have a record (<name>.json) under
// prefix, leaving out the batch-level record.
func (p *Pipeline) recordNames(ctx context.Context, prefix string) (map[string]bool, error) {
	names := map[string]bool{}
	err := p.store.List(ctx, prefix, func(o storage.ObjectInfo) error {
		rest := strings.TrimPrefix(o.Key, prefix)
		if n, ok := strings.CutSuffix(rest, ".json"); ok && rest != batchFile && !strings.Contains(n, "/") {
			names[n] = true
		}
		return nil
	})
	return names, err
}
