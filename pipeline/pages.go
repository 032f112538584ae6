package pipeline

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/templates/reportview"
)

// page is a report for people, to be written under key.
type page struct {
	key, contentType string
	body             []byte
}

// putPages writes pages create-only: copies written by an earlier attempt
// stand.
func (p *Pipeline) putPages(ctx context.Context, pages ...page) error {
	for _, f := range pages {
		if _, err := storage.PutOnce(ctx, p.store, f.key, f.body, storage.PutOptions{ContentType: f.contentType}); err != nil {
			return fmt.Errorf("pipeline: write %s: %w", f.key, err)
		}
	}
	return nil
}

// writeDocumentPages writes rep, the report of the sealed document name,
// for people (package reportview), with the pictures of the seals that
// sealed it.
func (p *Pipeline) writeDocumentPages(ctx context.Context, ref BatchRef, name string, rep *report.Document, seals []*registry.Entry) error {
	shown := *rep
	shown.Signatures = make([]report.Signature, len(rep.Signatures))
	for i, s := range rep.Signatures {
		for _, e := range seals {
			if e.Seal != nil && e.ID == s.SealID {
				pic := e.Seal.Picture
				s.SealPicture = &report.Picture{Type: pic.Type, Data: pic.Data, WidthMM: pic.WidthMM, HeightMM: pic.HeightMM}
			}
		}
		shown.Signatures[i] = s
	}
	var html bytes.Buffer
	if err := reportview.HTML(&html, &shown, reportview.Options{}); err != nil {
		return fmt.Errorf("pipeline: report page of %s: %w", name, err)
	}
	pdf, err := reportview.PDF(&shown, reportview.Options{})
	if err != nil {
		return err
	}
	htmlKey, pdfKey := ref.DocumentPageKeys(name)
	return p.putPages(ctx, page{htmlKey, "text/html; charset=utf-8", html.Bytes()}, page{pdfKey, "application/pdf", pdf})
}

// writeBatchPages writes the batch report b for people to read, as an
// HTML page and a PDF file (package reportview) beside the JSON report,
// create-only: copies written by an earlier attempt stand.
func (p *Pipeline) writeBatchPages(ctx context.Context, ref BatchRef, b *report.Batch) error {
	var html bytes.Buffer
	if err := reportview.BatchHTML(&html, b, reportview.Options{}); err != nil {
		return fmt.Errorf("pipeline: batch report page: %w", err)
	}
	pdf, err := reportview.BatchPDF(b, reportview.Options{})
	if err != nil {
		return err
	}
	return p.putPages(ctx, page{ref.BatchPageKey(), "text/html; charset=utf-8", html.Bytes()}, page{ref.BatchPDFKey(), "application/pdf", pdf})
}
