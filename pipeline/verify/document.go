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
	// FormatPDF: a file starting with the "%PDF-" header (ISO 32000-1
	// §7.5.2).
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

// Sentinel errors of Document.
var (
	// ErrUnknownFormat: the content is neither a PDF nor an OFD package.
	ErrUnknownFormat = errors.New("verify: not a PDF (%PDF- header) or an OFD package (ZIP)")
	// ErrOFDUnavailable: the content is an OFD package, which this build
	// cannot verify yet.
	ErrOFDUnavailable = errors.New("verify: OFD verification not available")
)

// DetectFormat recognises a document's format from its first bytes, never
// from its name. It is the one place formats are told apart: a new format
// is a new case here and in Document.
func DetectFormat(data []byte) Format {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return FormatPDF
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return FormatOFD
	}
	return FormatUnknown
}

// Document verifies every signature of a document of any format this
// package reads, recognised by DetectFormat; name only labels the result.
// Like PDF, it returns an error only when the document cannot be read at
// all: ErrUnknownFormat, ErrOFDUnavailable, or the format's own (pdfseal's
// sentinels for a PDF).
func (v *Verifier) Document(ctx context.Context, name string, data []byte) (*report.Document, error) {
	switch f := DetectFormat(data); f {
	case FormatPDF:
		return v.PDF(ctx, name, data)
	case FormatOFD:
		return nil, fmt.Errorf("%w: %s is an OFD package", ErrOFDUnavailable, name)
	}
	return nil, fmt.Errorf("%w: %s starts with %q", ErrUnknownFormat, name, head(data))
}

// head returns the first bytes of data, for messages.
func head(data []byte) []byte {
	if len(data) > 8 {
		return data[:8]
	}
	return data
}
