package certofd

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"sync"
	"time"
)

// part is one file of the package.
type part struct {
	name string
	data []byte
}

// deflaters reuses flate writers: each holds about a megabyte of state.
var deflaters = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.BestSpeed) // a valid constant level cannot fail
	return fw
}}

// writeZip stores the parts, in order, deflated, each dated modified (as an
// MS-DOS time, in modified's own zone). Sizes and CRC go into the local
// headers, so the package has no data descriptors and readers that stream
// it need not look ahead.
func writeZip(parts []part, modified time.Time) ([]byte, error) {
	date, clock := msDOSTime(modified)
	var out, z bytes.Buffer
	zw := zip.NewWriter(&out)
	fw := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(fw)
	for _, p := range parts {
		z.Reset()
		fw.Reset(&z)
		if _, err := fw.Write(p.data); err != nil {
			return nil, fmt.Errorf("certofd: compress %s: %w", p.name, err)
		}
		if err := fw.Close(); err != nil {
			return nil, fmt.Errorf("certofd: compress %s: %w", p.name, err)
		}
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name:           p.name,
			Method:         zip.Deflate,
			CreatorVersion: 20, // 2.0: deflate
			ReaderVersion:  20,
			// Plain MS-DOS times: Modified would add an extended
			// timestamp field (0x5455) that OFD readers do not need.
			//lint:ignore SA1019 the MS-DOS fields are what is wanted here
			ModifiedDate: date,
			//lint:ignore SA1019 the MS-DOS fields are what is wanted here
			ModifiedTime:       clock,
			CRC32:              crc32.ChecksumIEEE(p.data),
			CompressedSize64:   uint64(z.Len()),
			UncompressedSize64: uint64(len(p.data)),
		})
		if err != nil {
			return nil, fmt.Errorf("certofd: zip %s: %w", p.name, err)
		}
		if _, err := w.Write(z.Bytes()); err != nil {
			return nil, fmt.Errorf("certofd: zip %s: %w", p.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("certofd: zip: %w", err)
	}
	return out.Bytes(), nil
}

// msDOSTime returns t as an MS-DOS date and time, which count from 1980 to
// 2107 in steps of two seconds; earlier and later times are clamped.
func msDOSTime(t time.Time) (date, clock uint16) {
	switch {
	case t.Year() < 1980:
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, t.Location())
	case t.Year() > 2107:
		t = time.Date(2107, 12, 31, 23, 59, 58, 0, t.Location())
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	clock = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, clock
}
