package pdfseal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Sealed is what Update made: the incremental update, and what Check
// needs to check the sealed document without reading it again.
type Sealed struct {
	// Update is the update; the sealed document is the input followed by it.
	Update []byte
	// SM3 is the SM3 digest of the sealed document, computed while it was
	// signed, when Options.Prefix was given; nil otherwise.
	SM3 []byte

	doc *sealedDoc
}

// Release hands the memory of s.Update back for a later Update to reuse:
// a pipeline seals document after document, and a fresh buffer for each
// costs more to clear than to fill. Neither s nor s.Update may be used
// after it (Check then fails). Calling it is optional.
func (s *Sealed) Release() {
	if s.doc == nil {
		return
	}
	if b := s.Update[:0]; cap(b) <= maxPooledUpdate {
		updateBuffers.Put(&b)
	}
	s.Update, s.SM3, s.doc = nil, nil, nil
}

// errReleased is Check's error for a released Sealed.
var errReleased = errors.New("pdfseal: the sealed update was released")

// ErrNotAlone is returned by Sealed.Check for an input with form fields,
// which may hold signatures of their own: the sealed document then needs
// Verify, which judges every signature.
var ErrNotAlone = errors.New("pdfseal: the input has form fields: verify the sealed document")

// Alone reports whether the input had no form fields, so no signature:
// the new signature is then the sealed document's only one, and Check
// says all that Verify would.
func (s *Sealed) Alone() bool { return s.doc != nil && s.doc.alone }

// Check checks the document that in followed by s.Update makes, as
// Verify would check its signature, without parsing or hashing the
// document again: the update's structure as written — each object's
// header where its cross-reference entry says, the cross-reference section
// where startxref says, the ByteRange as written, /Contents holding the
// signature — and the signature value over the digest Update signed
// (its certificates, signing time and timestamp as Verify reads them). in
// must be the input Update sealed. For an input that was not Alone it
// returns ErrNotAlone.
func (s *Sealed) Check(in []byte) (Result, error) { return s.check(bytesSource(in)) }

// CheckReader is Check of the input of size bytes read through in, which
// it reads once, streaming, to count its revisions (Result.Revision).
func (s *Sealed) CheckReader(in io.ReaderAt, size int64) (Result, error) {
	return s.check(newSource(in, size))
}

// check is Check and CheckReader.
func (s *Sealed) check(in *source) (Result, error) {
	d := s.doc
	switch {
	case d == nil:
		return Result{}, errReleased
	case !d.alone:
		return Result{}, ErrNotAlone
	}
	rev := revisions(in)
	if err := in.failed(); err != nil {
		return Result{}, err
	}
	size := in.size
	total := size + int64(len(d.upd))
	r := Result{
		Field: d.field, SubFilter: d.subFilter, ByteRange: d.byteRange,
		CoversWholeFile: true, SignedSize: total, FileSize: total,
		Revision: rev + 1, SealData: d.sealData, DocMDP: d.docMDP,
	}
	err := guard("the sealed update", func() error {
		if err := d.checkStructure(size); err != nil {
			r.Status, r.Err = Invalid, err
			return nil
		}
		gap, err := decodeHex(d.upd[d.contentsStart+1 : d.contentsEnd-1])
		if err != nil {
			r.Status, r.Err = Invalid, fmt.Errorf("%w: /Contents: %v", ErrSignatureFormat, err)
			return nil
		}
		c := covered{sum: d.digest, sumAlg: d.digestAlg}
		if d.subFilter == SubFilterSES {
			verifySES(&r, gap, c)
		} else {
			verifyCMS(&r, gap, c)
		}
		return nil
	})
	if err != nil {
		r.Status, r.Err = Invalid, err
	}
	if r.SigningTime.IsZero() {
		r.SigningTime = d.at
	}
	r.Permits = permitsFor(r.DocMDP)
	return r, nil
}

// checkStructure checks the update as written (see Sealed.Check).
func (d *sealedDoc) checkStructure(base int64) error {
	at := func(off int64) []byte {
		if off < base || off >= base+int64(len(d.upd)) {
			return nil
		}
		return d.upd[off-base:]
	}
	for nr, off := range d.offsets {
		got, _, ok := objectHeader(at(off))
		if !ok || got != nr {
			return fmt.Errorf("%w: object %d is not at %d, where the update's cross-reference section puts it", ErrMalformed, nr, off)
		}
	}
	if x := at(d.xref); !bytes.HasPrefix(x, []byte("xref")) {
		if nr, _, ok := objectHeader(x); !ok || d.offsets[nr] != d.xref {
			return fmt.Errorf("%w: no cross-reference section at %d", ErrMalformed, d.xref)
		}
	}
	tail := "startxref\n" + strconv.FormatInt(d.xref, 10) + "\n%%EOF\n"
	if !bytes.HasSuffix(d.upd, []byte(tail)) {
		return fmt.Errorf("%w: the update does not end with %q", ErrMalformed, tail)
	}
	sig := at(d.offsets[d.sigNr])
	i := bytes.Index(sig, []byte("/ByteRange["))
	j := bytes.IndexByte(sig[max(i, 0):], ']')
	if i < 0 || j < 0 {
		return fmt.Errorf("%w: signature dictionary %d has no /ByteRange", ErrSignatureFormat, d.sigNr)
	}
	want := fmt.Sprintf("0 %d %d %d", d.byteRange[1], d.byteRange[2], d.byteRange[3])
	if got := string(bytes.TrimSpace(sig[i+len("/ByteRange[") : i+j])); got != want {
		return fmt.Errorf("%w: /ByteRange [%s] as written, [%s] signed", ErrSignatureFormat, got, want)
	}
	if d.byteRange[1] != base+int64(d.contentsStart) || d.byteRange[2] != base+int64(d.contentsEnd) ||
		d.byteRange[2]+d.byteRange[3] != base+int64(len(d.upd)) ||
		d.upd[d.contentsStart] != '<' || d.upd[d.contentsEnd-1] != '>' {
		return fmt.Errorf("%w: the ByteRange gap is not the /Contents string", ErrSignatureFormat)
	}
	return nil
}
