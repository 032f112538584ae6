package pdffile

import (
	"maps"
	"slices"
)

// SectionEntries returns the entries of the cross-reference section at
// offset (a Section.Offset from Revisions; -1 for a reconstructed index),
// by object number: what that section defines, which is what the update
// that wrote it added, changed or freed (§7.5.6). A hybrid table's entries
// include those of its /XRefStm stream, the table's own winning as in
// lookups. It reads the whole section.
func (f *File) SectionEntries(offset int64) (map[int]Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sections {
		if s.Offset == offset {
			return f.sectionEntries(s)
		}
	}
	return nil, malformed("no cross-reference section at %d", offset)
}

func (f *File) sectionEntries(s *xsection) (map[int]Entry, error) {
	out := map[int]Entry{}
	if s.stream != nil {
		for _, r := range s.stream.ranges {
			for nr := r.first; nr < r.first+r.count; nr++ {
				if e, ok := s.stream.lookup(nr); ok {
					out[nr] = e.export()
				}
			}
		}
	}
	for nr, e := range s.scan {
		out[nr] = e.export()
	}
	for _, sub := range s.subs {
		for nr := sub.first; nr < sub.first+sub.count; nr++ {
			e, ok, err := f.lookup(s, nr)
			if err != nil {
				return nil, err
			}
			if ok {
				out[nr] = e.export()
			}
		}
	}
	delete(out, 0)
	return out, nil
}

// ObjectNumbers returns, in order, the numbers of the objects the file
// defines: those whose newest cross-reference entry is in use or
// compressed. It reads every section whole.
func (f *File) ObjectNumbers() ([]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	newest := map[int]Entry{}
	for _, s := range f.sections {
		es, err := f.sectionEntries(s)
		if err != nil {
			return nil, err
		}
		for nr, e := range es {
			if _, seen := newest[nr]; !seen {
				newest[nr] = e
			}
		}
	}
	nrs := slices.Sorted(maps.Keys(newest))
	return slices.DeleteFunc(nrs, func(nr int) bool { return newest[nr].Kind == EntryFree }), nil
}
