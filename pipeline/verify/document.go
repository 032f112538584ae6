package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sealpipe/sealpipe/pipeline/report"
)

// Format is a document format, as recognised from a document's content.
type Format int

// Formats DetectFormat recognises.
const (
	// FormatUnknown is neither of the others.
	FormatUnknown Format = iota
	// FormatPDF: a file with the "%PDF-" header (ISO 32000-1 §7.5.2)
	// within its first KiB, where readers look for it (Annex H).
	FormatPDF
	// FormatOFD: an OFD package, a ZIP file (GB/T 33190 §7.1) starting with
	// a local file header, "PK\x03\x04".
	FormatOFD
)

// String names the format: "PDF", "OFD" or "unknown".
func (f Format) String() string {
	switch f {
	case FormatPDF:
		return "PDF"
	case FormatOFD:
		return "OFD"
	}
	return "unknown"
}

// ErrUnknownFormat reports, from Document, content that is neither a PDF
// nor an OFD package.
var ErrUnknownFormat = errors.New("verify: neither a PDF nor an OFD document")

// DetectFormat recognises a document's format from its first bytes, never
// from its name. It is the one place formats are told apart: a new format
// is a new case here and in Document.
func DetectFormat(data []byte) Format {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return FormatOFD
	case bytes.Contains(data[:min(len(data), 1024)], []byte("%PDF-")):
		return FormatPDF
	}
	return FormatUnknown
}

// Document verifies every signature of a document of any format this
// package reads, recognised by DetectFormat; name only labels the result.
// Like PDF and OFD, it returns an error only when the document cannot be
// read at all: ErrUnknownFormat, or the format's own (the sentinels of
// pdfseal for a PDF, of ofd for an OFD package).
func (v *Verifier) Document(ctx context.Context, name string, data []byte) (*report.Document, error) {
	return v.DocumentReader(ctx, name, bytes.NewReader(data), int64(len(data)))
}

// DocumentReader is Document for a document of size bytes read through r:
// a PDF is streamed (PDFReader), an OFD package read whole.
func (v *Verifier) DocumentReader(ctx context.Context, name string, r io.ReaderAt, size int64) (*report.Document, error) {
	head := make([]byte, min(size, 1024))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("verify: reading %q: %w", name, err)
	}
	switch DetectFormat(head) {
	case FormatPDF:
		return v.PDFReader(ctx, name, r, size, nil)
	case FormatOFD:
		data, err := io.ReadAll(io.NewSectionReader(r, 0, size))
		if err != nil {
			return nil, fmt.Errorf("verify: reading %q: %w", name, err)
		}
		return v.OFD(ctx, name, data)
	}
	return nil, fmt.Errorf("%w: %q starts % x", ErrUnknownFormat, name, head[:min(len(head), 8)])
}
