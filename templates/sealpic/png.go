package sealpic

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
)

// pngHeader is the PNG signature followed by the start of the IHDR chunk,
// which the PNG specification (ISO/IEC 15948 §5.6) requires to come first.
var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")

// ihdrEnd is the offset just past the IHDR chunk: signature, length, type,
// 13 bytes of data and the CRC.
const ihdrEnd = 8 + 4 + 4 + 13 + 4

// withPhysicalSize inserts a pHYs chunk (ISO/IEC 15948 §11.3.5.3) right
// after IHDR stating the resolution in pixels per metre, so viewers and
// printers show the seal at its true size.
func withPhysicalSize(p []byte, dotsPerMM float64) ([]byte, error) {
	if len(p) < ihdrEnd || !bytes.HasPrefix(p, pngHeader) {
		return nil, errors.New("sealpic: PNG encoder output does not start with IHDR")
	}
	perMetre := uint32(math.Round(dotsPerMM * 1000))
	chunk := make([]byte, 0, 4+4+9+4)
	chunk = binary.BigEndian.AppendUint32(chunk, 9)
	chunk = append(chunk, "pHYs"...)
	chunk = binary.BigEndian.AppendUint32(chunk, perMetre)
	chunk = binary.BigEndian.AppendUint32(chunk, perMetre)
	chunk = append(chunk, 1) // unit: metre
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))

	out := make([]byte, 0, len(p)+len(chunk))
	out = append(out, p[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, p[ihdrEnd:]...), nil
}
