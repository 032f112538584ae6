package pdffile

import (
	"errors"
	"fmt"
)

// Options bounds what reading a file may cost. A zero field takes the
// default named beside it.
type Options struct {
	// MaxObjectSize bounds the text of one object — a dictionary, array or
	// string, or a stream's dictionary, not its data — and of one trailer.
	// Default 8 MiB.
	MaxObjectSize int64
	// MaxDecodedSize bounds the decoded data of one stream, including
	// object streams and cross-reference streams (flate bombs). Default
	// 256 MiB.
	MaxDecodedSize int64
	// MaxSections bounds the cross-reference sections of the /Prev chain,
	// hybrid streams included. Default 4096.
	MaxSections int
	// MaxObjects bounds object numbers: a file whose cross-reference data
	// or scan names an object numbered MaxObjects or more is refused.
	// Default 8,388,608 (the limit of ISO 32000-1 Annex C.2).
	MaxObjects int
	// MaxDepth bounds the nesting of arrays and dictionaries in one object
	// and the references Resolve follows in a row. Default 64.
	MaxDepth int
	// MaxPageNodes bounds the page tree nodes read to find one page or
	// count the pages. Default 1,000,000.
	MaxPageNodes int
	// CacheObjects is how many parsed objects are kept for the next
	// request. Default 1024.
	CacheObjects int
	// RepairWindow is how far, in bytes, from the offset its
	// cross-reference entry gives an object or a cross-reference section
	// is looked for when it is not there (a negative value turns the repair
	// off). Default 1024.
	RepairWindow int
	// NoReconstruct turns the reconstruction of unusable cross-reference
	// data by scanning the file off: Open then fails instead.
	NoReconstruct bool
}

// Defaults of Options.
const (
	DefaultMaxObjectSize  = 8 << 20   // Options.MaxObjectSize
	DefaultMaxDecodedSize = 256 << 20 // Options.MaxDecodedSize
	DefaultMaxSections    = 4096      // Options.MaxSections
	DefaultMaxObjects     = 8_388_608 // Options.MaxObjects
	DefaultMaxDepth       = 64        // Options.MaxDepth
	DefaultMaxPageNodes   = 1_000_000 // Options.MaxPageNodes
	DefaultCacheObjects   = 1024      // Options.CacheObjects
	DefaultRepairWindow   = 1024      // Options.RepairWindow
)

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.MaxObjectSize <= 0 {
		o.MaxObjectSize = DefaultMaxObjectSize
	}
	if o.MaxDecodedSize <= 0 {
		o.MaxDecodedSize = DefaultMaxDecodedSize
	}
	if o.MaxSections <= 0 {
		o.MaxSections = DefaultMaxSections
	}
	if o.MaxObjects <= 0 {
		o.MaxObjects = DefaultMaxObjects
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxPageNodes <= 0 {
		o.MaxPageNodes = DefaultMaxPageNodes
	}
	if o.CacheObjects <= 0 {
		o.CacheObjects = DefaultCacheObjects
	}
	switch {
	case o.RepairWindow == 0:
		o.RepairWindow = DefaultRepairWindow
	case o.RepairWindow < 0:
		o.RepairWindow = 0
	}
	return o
}

// Errors. Every error of this package wraps one of them.
var (
	// ErrMalformed: the file is not a PDF this package can read, or an
	// object asked for is damaged beyond the repairs it makes.
	ErrMalformed = errors.New("pdffile: malformed PDF")
	// ErrLimit: reading would pass one of the bounds of Options.
	ErrLimit = errors.New("pdffile: limit exceeded")
	// ErrUnsupportedFilter: a stream is encoded with a filter this package
	// does not decode (the image filters DCTDecode, JPXDecode,
	// JBIG2Decode and CCITTFaxDecode, or an unknown one, §7.4).
	ErrUnsupportedFilter = errors.New("pdffile: unsupported stream filter")
	// ErrNoPage: the page asked for is not in the document.
	ErrNoPage = errors.New("pdffile: no such page")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

func limit(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrLimit, fmt.Sprintf(format, args...))
}
