package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"

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
	switch DetectFormat(data) {
	case FormatPDF:
		return v.PDF(ctx, name, data)
	case FormatOFD:
		return v.OFD(ctx, name, data)
	}
	return nil, fmt.Errorf("%w: %q starts % x", ErrUnknownFormat, name, data[:min(len(data), 8)])
}
