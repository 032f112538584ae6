package pdfseal

import (
	"bytes"
	"context"
	"fmt"
	"slices"
)

// This file judges what the revisions after a signature changed. An
// incremental update (ISO 32000-1 §7.5.6) may redefine any object, so the
// bytes a signature covers say nothing about the document shown once
// updates follow. For each signature that does not cover the whole file,
// the document as signed — the bytes up to the end of its ByteRange, read
// as the PDF revision it was — is compared with each later revision, one
// revision with the next. Every object a revision adds, changes or deletes
// must be cleared by a rule; a change no rule clears is an OtherChange,
// which no signature permits. What the rules clear, and at which level:
//
//   - ValidationData: the document security store (/DSS, with its VRI and
//     certificate, CRL and OCSP streams) and document timestamp signatures.
//   - Signing: a new signature field whose signature closes the revision
//     that adds it (the field and widget, the signature dictionary, the
//     appearance streams and what they use), the form's /Fields gaining it,
//     /SigFlags, the page's /Annots gaining its widget; an empty signature
//     field existing when signed being signed.
//   - FormFilling (DocMDP P=2, §12.8.2.2): new values and appearances of
//     existing form fields.
//   - Annotating (DocMDP P=3): annotations other than widgets added,
//     changed or removed.
//
// Page content, resources, the page tree, the catalog beyond /AcroForm and
// /DSS, the document information dictionary, new form fields other than
// signatures: anything else is an OtherChange. Objects nothing reachable
// from the trailer refers to (cross-reference and object streams, orphans)
// change nothing a reader shows and are ignored; an added object that an
// object of the signed revision already referred to — a dangling reference
// made live — is an OtherChange.

// ChangeLevel classifies what a revision after a signature changed, from
// least to most. A signature permits changes up to a level: Signing by
// default, or what the DocMDP permission of the document's certification
// signature allows (ISO 32000-1 §12.8.2.2, table 254).
type ChangeLevel int

// Change levels.
const (
	// NoChange: nothing a reader shows changed (objects rewritten
	// unchanged, cross-reference and object streams, unreferenced objects).
	NoChange ChangeLevel = iota
	// ValidationData: a document security store (ETSI EN 319 142-1 §5.4)
	// or a document timestamp was added. DocMDP P=1 permits these.
	ValidationData
	// Signing: further signatures, with their fields and appearances.
	Signing
	// FormFilling: form field values and their appearances (DocMDP P=2).
	FormFilling
	// Annotating: annotations added, changed or removed (DocMDP P=3).
	Annotating
	// OtherChange: anything else, page content first. Never permitted.
	OtherChange
)

var changeLevelNames = [...]string{"NO_CHANGE", "VALIDATION_DATA", "SIGNING", "FORM_FILLING", "ANNOTATING", "OTHER_CHANGE"}

// String returns the level's name, e.g. "SIGNING".
func (l ChangeLevel) String() string {
	if l >= 0 && int(l) < len(changeLevelNames) {
		return changeLevelNames[l]
	}
	return fmt.Sprintf("ChangeLevel(%d)", int(l))
}

// MarshalText encodes the level as its String.
func (l ChangeLevel) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// permitted says in words what a signature permitting l allows.
func (l ChangeLevel) permitted() string {
	switch l {
	case NoChange:
		return "no change"
	case ValidationData:
		return "only validation data (DocMDP P=1): a security store, document timestamps"
	case Signing:
		return "only further signatures and their appearances"
	case FormFilling:
		return "form filling and further signatures (DocMDP P=2)"
	case Annotating:
		return "annotations, form filling and further signatures (DocMDP P=3)"
	}
	return l.String()
}

// permitsFor maps the DocMDP permission P of a certification signature (0:
// none) to the most a signature after it permits.
func permitsFor(p int) ChangeLevel {
	switch p {
	case 0:
		return Signing
	case 2:
		return FormFilling
	case 3:
		return Annotating
	}
	return ValidationData
}

// Bounds on judging later revisions, each of which costs a parse of the
// file up to its end: the revisions compared after the first signature
// that does not cover the whole file, and the bytes parsed for them (a
// variable for the tests).
const maxLaterRevisions = 64

var maxRevisionBytes int64 = 1 << 30

// whitespace is PDF white space (§7.2.2).
const whitespace = " \t\r\n\f\x00"

// judgeChanges fills the Permits, Changes and ChangesErr of results, which
// are in signing order, for the file in. It returns only the context's
// error. Each revision compared, the whole file included, is read whole
// (readSnapshot), under the size limit limit; a file whose signatures all
// cover it whole is not.
func judgeChanges(ctx context.Context, in *source, limit int64, results []Result) error {
	cert := 0 // DocMDP P of the certification signatures so far; the strictest wins
	var judged []*Result
	for i := range results {
		r := &results[i]
		if r.DocMDP > 0 && (cert == 0 || r.DocMDP < cert) {
			cert = r.DocMDP
		}
		r.Permits = permitsFor(cert)
		if r.SignedSize > 0 && !r.CoversWholeFile && r.Status != Invalid {
			judged = append(judged, r)
		}
	}
	if len(judged) == 0 {
		return nil
	}
	// The states to compare: where each judged signature's revision ends,
	// where each later revision ends, and the whole file; white space
	// after an end belongs to it.
	norm := in.skipWhite
	first := in.size
	for _, r := range judged {
		first = min(first, norm(r.SignedSize))
	}
	set := map[int64]bool{first: true, in.size: true}
	for _, r := range judged {
		set[norm(r.SignedSize)] = true
	}
	ends := revisionEnds(in)
	for _, e := range ends {
		if e = norm(e); e > first && e < in.size {
			set[e] = true
		}
	}
	points := make([]int64, 0, len(set))
	for p := range set {
		points = append(points, p)
	}
	slices.Sort(points)
	parsed := int64(0) // of the revisions before the whole file
	for _, p := range points[:len(points)-1] {
		parsed += p
	}
	if len(points)-1 > maxLaterRevisions || parsed > maxRevisionBytes {
		for _, r := range judged {
			r.ChangesErr = fmt.Errorf("%w: %d revisions of %d bytes in all follow the first signature not covering the whole file, more than the %d revisions or %d bytes this verifier compares",
				ErrUnsupported, len(points)-1, parsed, maxLaterRevisions, maxRevisionBytes)
		}
		return nil
	}

	diffs := make([]revisionChanges, len(points)) // diffs[i]: from the state before points[i] to it
	stateErr := make([]error, len(points))
	var prev *snapshot
	for i, p := range points {
		if err := ctx.Err(); err != nil {
			return err
		}
		rev, found := slices.BinarySearch(ends, p) // revisions ending at or before p
		if found {
			rev++
		}
		var cur *snapshot
		var err error
		if i > 0 {
			// A later revision must be one every reader reads alike.
			err = checkRevisionChain(in.prefix(p))
		}
		if err == nil {
			cur, err = readSnapshot(ctx, in.prefix(p), limit)
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case i == 0:
		case err != nil:
			diffs[i] = unreadable(rev, err)
		case prev == nil:
			diffs[i] = unreadable(rev, fmt.Errorf("the revision before it cannot be read"))
		default:
			diffs[i] = judgeRevision(in, prev, cur, rev)
		}
		stateErr[i] = err
		if err == nil {
			prev = cur
		}
	}

	for _, r := range judged {
		k, _ := slices.BinarySearch(points, norm(r.SignedSize))
		if stateErr[k] != nil {
			r.Changes = OtherChange
			r.ChangesErr = &ModificationError{Revision: r.Revision, Level: OtherChange, Permits: r.Permits,
				Change: fmt.Sprintf("cannot be compared: the signed revision does not read as a PDF (%v)", stateErr[k])}
			continue
		}
		for _, d := range diffs[k+1:] {
			r.Changes = max(r.Changes, d.level)
			if r.ChangesErr == nil {
				if e := d.violation(r.Permits); e != nil {
					r.ChangesErr = e
				}
			}
		}
	}
	return nil
}

// checkRevisionChain checks the cross-reference chain of a revision.
func checkRevisionChain(b *source) error {
	off, err := startXRef(b)
	if err != nil {
		return err
	}
	return checkXRefChain(b, off)
}

// revisionChanges is what one revision changed.
type revisionChanges struct {
	rev   int
	level ChangeLevel
	first [OtherChange + 1]string // the first change seen at each level
}

// violation returns the most significant change beyond permits, or nil.
func (c *revisionChanges) violation(permits ChangeLevel) *ModificationError {
	for l := OtherChange; l > permits; l-- {
		if c.first[l] != "" {
			return &ModificationError{Revision: c.rev, Level: l, Permits: permits, Change: c.first[l]}
		}
	}
	return nil
}

func unreadable(rev int, err error) revisionChanges {
	c := revisionChanges{rev: rev, level: OtherChange}
	c.first[OtherChange] = fmt.Sprintf("cannot be read as a PDF revision: %v", err)
	return c
}

// revisionEnds returns where each revision of b ends: after the %%EOF of
// each "startxref N %%EOF" (§7.5.5), less the first-page trailer of a
// linearized file, whose startxref is 0 (Annex F.3.4).
//
// It streams b: the 32 bytes before each %%EOF are all it looks at.
func revisionEnds(b *source) []int64 {
	var ends []int64
	b.each(0, b.size, []byte("%%EOF"), 32, func(i int64, before []byte) bool {
		tail := bytes.TrimRight(before, whitespace)
		digits := len(tail) - len(bytes.TrimRight(tail, "0123456789"))
		if digits > 0 && !bytes.Equal(tail[len(tail)-digits:], []byte("0")) &&
			bytes.HasSuffix(bytes.TrimRight(tail[:len(tail)-digits], whitespace), []byte("startxref")) {
			ends = append(ends, i+int64(len("%%EOF")))
		}
		return true
	})
	return ends
}
