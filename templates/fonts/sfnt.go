package fonts

import (
	"encoding/binary"
	"slices"
)

// AssembleFont writes an OpenType font file of tables, each keyed by its
// tag: the table directory with each table's checksum, the tables in tag
// order each padded to four bytes, and head's checkSumAdjustment set
// (OpenType, "Table directory" and "head"). The writers that embed a
// subset of a font use it: templates/textpdf and internal/demo/certofd.
func AssembleFont(tables map[string][]byte) []byte {
	be := binary.BigEndian
	tags := make([]string, 0, len(tables))
	for tag := range tables {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	n := len(tags)
	searchRange, selector := 1, 0
	for searchRange*2 <= n {
		searchRange *= 2
		selector++
	}
	out := be.AppendUint32(nil, 0x00010000)
	out = be.AppendUint16(out, uint16(n))
	out = be.AppendUint16(out, uint16(16*searchRange))
	out = be.AppendUint16(out, uint16(selector))
	out = be.AppendUint16(out, uint16(16*(n-searchRange)))
	offset := len(out) + 16*n
	headAt := 0
	for _, tag := range tags {
		t := tables[tag]
		out = append(out, tag...)
		out = be.AppendUint32(out, TableChecksum(t))
		out = be.AppendUint32(out, uint32(offset))
		out = be.AppendUint32(out, uint32(len(t)))
		if tag == "head" {
			headAt = offset
		}
		offset += (len(t) + 3) &^ 3
	}
	for _, tag := range tags {
		out = append(out, tables[tag]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	be.PutUint32(out[headAt+8:], 0xB1B0AFBA-TableChecksum(out))
	return out
}

// TableChecksum is the OpenType table checksum: the sum of big-endian
// uint32s, the data padded with zeros.
func TableChecksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}
