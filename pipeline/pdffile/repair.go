package pdffile

import "fmt"

// RepairKind says what was wrong with a file and how it was read anyway.
type RepairKind int

// Kinds of repair.
const (
	// RepairXRefOffset: startxref or /Prev did not give the offset of a
	// cross-reference section (§7.5.5), which was found within
	// Options.RepairWindow bytes of it.
	RepairXRefOffset RepairKind = iota + 1
	// RepairObjectOffset: a cross-reference entry did not give the offset
	// of its object's header (§7.5.4), which was found within
	// Options.RepairWindow bytes of it.
	RepairObjectOffset
	// RepairObjectNumber: the object at an entry's offset has another
	// object number than the entry, and none with the right number is near;
	// the object there was used (as pdfcpu and other readers do).
	RepairObjectNumber
	// RepairMissingEndobj: an object's endobj keyword (§7.3.10) is
	// missing; the object ends at the next object's header or at a keyword
	// that cannot belong to it.
	RepairMissingEndobj
	// RepairStreamLength: a stream's /Length (§7.3.8.2) does not lead to
	// the endstream keyword; its data was taken up to endstream.
	RepairStreamLength
	// RepairReconstructed: the cross-reference data could not be used; the
	// objects were indexed by scanning the file for their headers, and the
	// trailer is the last one found. An update appended to such a file must
	// have a complete cross-reference section.
	RepairReconstructed
)

var repairNames = [...]string{"", "xref-offset", "object-offset", "object-number", "missing-endobj", "stream-length", "reconstructed"}

// String names the kind, e.g. "object-offset".
func (k RepairKind) String() string {
	if k > 0 && int(k) < len(repairNames) {
		return repairNames[k]
	}
	return fmt.Sprintf("RepairKind(%d)", int(k))
}

// Repair is one repair made while reading a file.
type Repair struct {
	Kind   RepairKind // what was repaired
	Object int        // the object concerned, 0 for none
	Offset int64      // where in the file: the offset given for it
	// Found is where the object (RepairObjectOffset) or the
	// cross-reference section (RepairXRefOffset) was found instead of at
	// Offset; 0 for the other kinds. A writer of a complete
	// cross-reference section for a repaired file takes offsets from it.
	Found  int64
	Detail string // what was found, in words
}

// String describes the repair in one line.
func (r Repair) String() string {
	s := r.Kind.String()
	if r.Object > 0 {
		s += fmt.Sprintf(" object %d", r.Object)
	}
	return fmt.Sprintf("%s at %d: %s", s, r.Offset, r.Detail)
}

type repairKey struct {
	kind   RepairKind
	object int
	offset int64
}

// repaired records a repair once.
func (f *File) repaired(kind RepairKind, object int, offset int64, format string, args ...any) {
	f.repairedAt(kind, object, offset, 0, format, args...)
}

// repairedAt records, once, a repair that found the object or section at
// found rather than at offset.
func (f *File) repairedAt(kind RepairKind, object int, offset, found int64, format string, args ...any) {
	k := repairKey{kind, object, offset}
	if f.repairSeen[k] || len(f.repairs) >= 10_000 {
		return
	}
	f.repairSeen[k] = true
	f.repairs = append(f.repairs, Repair{Kind: kind, Object: object, Offset: offset, Found: found, Detail: fmt.Sprintf(format, args...)})
}

// Repairs returns the repairs made so far: those Open made to read the
// cross-reference data, and those made since while reading objects (an
// object's repairs are found when it is first read). Sealing a repaired
// file calls for a complete cross-reference section in the update.
func (f *File) Repairs() []Repair {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Repair(nil), f.repairs...)
}
