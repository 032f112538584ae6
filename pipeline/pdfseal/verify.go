package pdfseal

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// Status is the integrity verdict on one signature, in the terms of ETSI EN
// 319 102-1: it covers the signed bytes and the signature value only, not
// trust in the signer.
type Status int

const (
	// Indeterminate means integrity could not be established: an
	// unsupported algorithm or format, a missing signer certificate, a weak
	// digest. It is the zero value.
	Indeterminate Status = iota
	// Valid means the covered bytes hash to the signed digest and the
	// signature value verifies with the signer certificate's key.
	Valid
	// Invalid means a cryptographic or structural failure: digest
	// mismatch, a signature value that does not verify, a broken
	// ByteRange or CMS.
	Invalid
)

// String returns "VALID", "INVALID" or "INDETERMINATE".
func (s Status) String() string {
	switch s {
	case Valid:
		return "VALID"
	case Invalid:
		return "INVALID"
	case Indeterminate:
		return "INDETERMINATE"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText encodes the status as its String.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Result is the outcome of checking one signature.
type Result struct {
	Field     string   // fully qualified field name (§12.7.3.2)
	SubFilter string   // e.g. "adbe.pkcs7.detached"
	ByteRange [4]int64 // as written in the signature dictionary
	// CoversWholeFile is true when the signature covers every byte of the
	// file except its own /Contents: nothing was appended after it.
	CoversWholeFile bool
	// Revision is the 1-based revision of the file the signature closes:
	// the number of "startxref … %%EOF" section ends in the bytes it covers
	// (a linearized file's first-page trailer not counted).
	Revision int
	// SignedSize is the length of that revision, the bytes covered
	// (/Contents included).
	SignedSize int64
	// FileSize is the length of the whole file.
	FileSize int64
	// Signer is the certificate the CMS names as its signer; nil if absent.
	Signer *smx509.Certificate
	// Certificates are all certificates the CMS carries, signer included,
	// for the caller's chain building.
	Certificates []*smx509.Certificate
	// SigningTime is the CMS signingTime attribute, or the dictionary's /M
	// when the CMS has none; zero if neither.
	SigningTime time.Time
	// DigestAlgorithm names the digest, e.g. "SM3", "SHA-256".
	DigestAlgorithm string
	// Format is the signature's format as read, when its signature value
	// could be checked: FormatGMT0010 (GM/T 0010 content types),
	// FormatPKCS7 (any other adbe.pkcs7.detached CMS), FormatPAdESBB or
	// FormatPAdESBT (ETSI.CAdES.detached, without or with a
	// signature-time-stamp), FormatSES (a GB/T 38540 SES_Signature).
	Format Format
	// TimeStamp is the signature's RFC 3161 timestamp token (a PAdES
	// signature-time-stamp, or an SES_Signature's timeStamp), decoded, if
	// it has one: its imprint, over the signature value, and its TSA
	// signature are checked and a failure is the signature's Err
	// (ErrTimeStamp). Trust in the TSA at GenTime is the caller's.
	TimeStamp *ses.TimeStampToken
	// SealData is the GB/T 38540 SESeal stored with the signature
	// (/SESeal), if any, read from the signature dictionary as the
	// signature covers it: a later update cannot substitute it. For an
	// SES_Signature it is the seal the signature embeds (eseal).
	SealData []byte
	// Status is the verdict on the signed bytes and the signature value;
	// Err says why it is not Valid. What revisions after the signed one
	// changed is judged apart, in ChangesErr: a caller must check both.
	Status Status
	Err    error

	// DocMDP is the permission P (1, 2 or 3) of a certification signature,
	// read from its signature dictionary as signed (ISO 32000-1
	// §12.8.2.2); 0 for an approval signature.
	DocMDP int
	// Permits is the most the revisions after this signature may change:
	// Signing, or what the DocMDP permission of a certification signature
	// at or before it allows.
	Permits ChangeLevel
	// Changes is the most significant change the revisions after the
	// signed one make: NoChange when nothing follows it.
	Changes ChangeLevel
	// ChangesErr is nil when no revision follows the signed one or every
	// change they make is one Permits allows. Otherwise it wraps
	// ErrModified — a [*ModificationError] naming the first change beyond
	// Permits: the document shown is not the one signed, whoever signed
	// the later revisions — or ErrUnsupported when the later revisions
	// could not be compared. It is not judged for an Invalid signature.
	ChangesErr error
}

// MaxVerifySize is the largest input Verify reads. It is well above
// DefaultMaxInputSize, so that what Seal makes under the default limit can
// always be verified.
const MaxVerifySize = 256 << 20

// Verify checks every signature in a PDF's interactive form. It returns an
// error (wrapping ErrMalformed, ErrEncrypted or ErrTooLarge, or the
// context's error) only when the file cannot be read; problems with a
// signature are reported in its Result. The file is read lazily
// (pipeline/pdffile): its cross-reference data, the form's field tree and
// each signature's dictionary as signed; each signature is checked over
// the bytes of its ByteRange. Cross-reference damage a reader can repair
// (an offset a few bytes off, data to be reconstructed by scanning) does
// not stop verification, as signatures are checked over bytes, not
// objects, although Seal refuses such a file; a cross-reference table
// that the last startxref names and that does not parse does. A file
// whose newest cross-reference data cannot be read at all (a /Prev chain
// that loops) is verified as its newest readable revision left it. For
// each signature that does not cover the whole file, the revisions after
// it are compared with the document as signed (ISO 32000-1 §7.5.6) and
// judged against what the signature permits (Result.ChangesErr); this
// costs a read of every object of each of those revisions, at most 64,
// and of the whole file. Results are in signing order: by the length of
// the revision each one covers. A document without signatures gives an
// empty slice.
func Verify(ctx context.Context, in []byte) ([]Result, error) {
	return VerifyWith(ctx, in, VerifyOptions{})
}

// VerifyOptions tunes VerifyWith and VerifyReader.
type VerifyOptions struct {
	// MaxSize bounds the input; zero means MaxVerifySize. VerifyReader
	// reads a document of any size in bounded memory, so a caller that
	// sealed larger documents (Options.MaxInputSize) raises it to match.
	MaxSize int64
	// Prefix, if set, is the SM3 state of in's first bytes, which the SM3
	// digests of the signatures' ByteRanges then continue (see Prefix: the
	// caller vouches for it). The pipeline's check of its own output
	// passes the state of the input it hashed.
	Prefix *Prefix
	// SM3, if set, receives the SM3 digest of the whole file when the
	// SM3 digest of a signature covering it could compute it along the
	// way, hashing the bytes before the signature once for both; it is
	// left alone otherwise (no such signature, a SHA-2 one, a failure
	// before the digest).
	SM3 *[]byte
}

// VerifyWith is Verify with options.
func VerifyWith(ctx context.Context, in []byte, opts VerifyOptions) ([]Result, error) {
	return verifyDoc(ctx, bytesSource(in), opts)
}

// VerifyReader is VerifyWith over a document of size bytes read through
// r, which is never held whole: the cross-reference data and the objects
// the form's field tree needs are read as windows of it (pipeline/pdffile),
// each signature's dictionary and CMS where its ByteRange puts them, and
// the bytes each ByteRange covers (ISO 32000-1 §12.8.1) are hashed as
// they stream through a fixed-size buffer; a count of the revisions
// (§7.5.6) scans the file the same way. Memory is then bounded by the
// document's structure, not its length. A failure to read r is the
// error, whatever the parse made of the bytes it lacked.
func VerifyReader(ctx context.Context, r io.ReaderAt, size int64, opts VerifyOptions) ([]Result, error) {
	return verifyDoc(ctx, newSource(r, size), opts)
}

// verifyDoc is VerifyWith and VerifyReader.
func verifyDoc(ctx context.Context, in *source, opts VerifyOptions) (results []Result, err error) {
	defer func() {
		if rerr := in.failed(); rerr != nil {
			results, err = nil, rerr
		}
	}()
	limit := opts.MaxSize
	if limit <= 0 {
		limit = MaxVerifySize
	}
	f, err := openFile(ctx, in, limit)
	if errors.Is(err, ErrMalformed) {
		f, err = openReadableRevision(ctx, in, limit, err)
	}
	if err != nil {
		return nil, err
	}
	if err := checkLastTable(in); err != nil {
		return nil, err
	}
	var fields []sigField
	if err := guard("form lookup", func() error {
		fields, err = signatureFields(f)
		return err
	}); err != nil {
		return nil, err
	}
	results = make([]Result, 0, len(fields))
	for _, fd := range fields {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		results = append(results, verifyField(in, f, fd, opts))
	}
	slices.SortStableFunc(results, func(a, b Result) int { return cmp.Compare(a.SignedSize, b.SignedSize) })
	if err := judgeChanges(ctx, in, limit, results); err != nil {
		return nil, err
	}
	return results, nil
}

// openReadableRevision opens the newest earlier revision of in that can
// be read on its own (§7.5.6: the file as an update left it, up to its
// %%EOF), trying at most maxLaterRevisions of them, for a file whose
// newest cross-reference data cannot be read (a /Prev chain that loops,
// say). The signatures found there are checked over the bytes of the
// whole file, and the revisions after them are judged unreadable changes.
// Without such a revision, the error is err, why the whole file could not
// be read.
func openReadableRevision(ctx context.Context, in *source, limit int64, err error) (*pdffile.File, error) {
	ends := revisionEnds(in)
	whole := in.trimWhite(in.size)
	for i, tried := len(ends)-1, 0; i >= 0 && tried < maxLaterRevisions; i-- {
		if ends[i] >= whole {
			continue // the whole file, which does not read
		}
		tried++
		f, rerr := openFile(ctx, in.prefix(ends[i]), limit)
		if rerr == nil || !errors.Is(rerr, ErrMalformed) {
			return f, rerr
		}
	}
	return nil, err
}

// checkLastTable checks the cross-reference table the last startxref
// names, if it names one (§7.5.4): a table there that does not parse is
// damage no reader repairs alike, where a startxref that names no section
// at all is repaired by scanning the file.
func checkLastTable(in *source) error {
	off, err := startXRef(in)
	if err != nil {
		return nil
	}
	at := in.skipWhite(off)
	if !bytes.Equal(in.read(at, at+4), []byte("xref")) {
		return nil
	}
	if _, err := readXRefTable(in, at+int64(len("xref"))); err != nil {
		return fmt.Errorf("%w: the cross-reference table at %d: %v", ErrMalformed, off, err)
	}
	return nil
}

// sigField is a signature field with a value.
type sigField struct {
	name   string
	sig    types.Dict // the signature dictionary, /V
	holder int        // object number of the indirect object holding sig
}

// signatureFields walks the field tree (§12.7.3.1) for signature fields
// (/FT /Sig, inheritable) that have a value. Broken nodes are skipped;
// the walk is bounded in depth and size and visits each object once. Only
// a missing catalog is an error.
func signatureFields(f *pdffile.File) ([]sigField, error) {
	cat, err := f.Catalog()
	if err != nil || cat == nil {
		return nil, fmt.Errorf("%w: no document catalog (trailer /Root %s): %v", ErrMalformed, pdfString(f.Trailer()["Root"]), err)
	}
	form, err := resolveDict(f, cat["AcroForm"])
	if err != nil || form == nil {
		return nil, nil
	}
	roots, err := resolveArray(f, form["Fields"])
	if err != nil {
		return nil, nil
	}
	var out []sigField
	visited := make(map[int]bool)
	var walk func(o types.Object, parent, ft string, depth int)
	walk = func(o types.Object, parent, ft string, depth int) {
		ref, isRef := o.(types.IndirectRef)
		if !isRef || depth > maxTreeDepth || len(visited) >= maxFieldNodes || visited[int(ref.ObjectNumber)] {
			return
		}
		visited[int(ref.ObjectNumber)] = true
		d, err := resolveDict(f, ref)
		if err != nil || d == nil {
			return
		}
		name := parent
		if t, err := resolveText(f, d["T"]); err == nil && t != "" {
			if name != "" {
				name += "."
			}
			name += t
		}
		if n, ok := d["FT"].(types.Name); ok {
			ft = string(n)
		}
		if ft == "Sig" {
			if v, ok := d["V"]; ok && v != nil {
				holder := int(ref.ObjectNumber)
				if vr, ok := v.(types.IndirectRef); ok {
					holder = int(vr.ObjectNumber)
				}
				if sig, err := resolveDict(f, v); err == nil && sig != nil {
					out = append(out, sigField{name: name, sig: sig, holder: holder})
				}
			}
		}
		kids, err := resolveArray(f, d["Kids"])
		if err != nil {
			return
		}
		for _, k := range kids {
			// Kids without /T are widget annotations, not fields: they
			// would only repeat the inherited value.
			if kd, err := resolveDict(f, k); err == nil && kd != nil && kd["T"] != nil {
				walk(k, name, ft, depth+1)
			}
		}
	}
	for _, o := range roots {
		walk(o, "", "", 0)
	}
	return out, nil
}

// verifyField checks one signature.
func verifyField(in *source, f *pdffile.File, fd sigField, opts VerifyOptions) Result {
	r := Result{Field: fd.name, FileSize: in.size}
	err := guard("signature "+fd.name, func() error {
		checkSignature(&r, in, f, fd, opts)
		return nil
	})
	if err != nil {
		r.Status, r.Err = Invalid, fmt.Errorf("%w: %v", ErrSignatureFormat, err)
	}
	return r
}

func checkSignature(r *Result, in *source, file *pdffile.File, f sigField, opts VerifyOptions) {
	fail := func(status Status, err error) { r.Status, r.Err = status, err }

	// ByteRange (§12.8.1): [0 a b c] — from the start to the /Contents
	// string, and from after it to the end of the signed revision. The
	// current dictionary's ByteRange locates the gap; everything else is
	// then read from the dictionary as signed.
	br, err := byteRange(file, f.sig["ByteRange"], in.size)
	if err != nil {
		fail(Invalid, err)
		return
	}
	r.ByteRange = br
	r.SignedSize = br[2] + br[3]
	r.CoversWholeFile = r.SignedSize == in.size
	r.Revision = revisions(in.prefix(r.SignedSize))

	sig, err := signedDictionary(in, file, br, f.holder)
	if err != nil {
		fail(Invalid, err)
		return
	}
	if signedBR, err := byteRange(file, sig["ByteRange"], in.size); err != nil || signedBR != br {
		fail(Invalid, fmt.Errorf("%w: the signed dictionary's /ByteRange %v differs from the current %v", ErrSignatureFormat, sig["ByteRange"], br))
		return
	}
	if sf, ok := sig["SubFilter"].(types.Name); ok {
		r.SubFilter = string(sf)
	}
	if n := br[2] - br[1]; n > MaxContentsBytes {
		fail(Invalid, fmt.Errorf("%w: %w: the ByteRange gap at %d is %d bytes, more than the %d a signature's /Contents may take", ErrSignatureFormat, ErrTooLarge, br[1], n, MaxContentsBytes))
		return
	}
	gap := in.read(br[1], br[2])
	if len(gap) < 2 || gap[0] != '<' || gap[len(gap)-1] != '>' {
		fail(Invalid, fmt.Errorf("%w: the ByteRange gap at %d starts %q, not a hex string", ErrSignatureFormat, br[1], snippet(gap, 0)))
		return
	}
	cms, err := decodeHex(gap[1 : len(gap)-1])
	if err != nil {
		fail(Invalid, fmt.Errorf("%w: the ByteRange gap at %d: %v", ErrSignatureFormat, br[1], err))
		return
	}
	if c, ok := sig["Contents"].(types.HexLiteral); !ok {
		fail(Invalid, fmt.Errorf("%w: /Contents is %T, not a hex string", ErrSignatureFormat, sig["Contents"]))
		return
	} else if b, err := decodeHex([]byte(c)); err != nil || !bytes.Equal(b, cms) {
		fail(Invalid, fmt.Errorf("%w: /Contents is not the ByteRange gap", ErrSignatureFormat))
		return
	}
	// Entries of the signed dictionary are covered by the signature. Those
	// it refers to are judged with the later revisions.
	r.DocMDP = docMDP(file, sig)
	switch v := sig["SESeal"].(type) {
	case types.StringLiteral: // as written since issue 11
		r.SealData = unescapeLiteral(string(v))
	case types.HexLiteral: // as written before
		r.SealData, _ = v.Bytes()
	}
	var mTime time.Time
	if m, err := model.Text(sig["M"]); err == nil {
		mTime, _ = types.DateTime(m, true)
	}

	if len(bytes.TrimRight(cms, "\x00")) == 0 {
		fail(Invalid, fmt.Errorf("%w: /Contents holds no signature", ErrSignatureFormat))
		return
	}
	c := covered{parts: []span{in.span(0, br[1]), in.span(br[2], r.SignedSize)}, prefix: opts.Prefix}
	if r.CoversWholeFile {
		c.gap, c.docSM3 = span{b: gap}, opts.SM3
	}
	switch {
	case r.SubFilter == SubFilterSES || r.SubFilter == SubFilterPKCS7 && isSESSignature(cms):
		verifySES(r, cms, c)
	case r.SubFilter == SubFilterPKCS7 || r.SubFilter == SubFilterCAdES:
		verifyCMS(r, cms, c)
	default:
		fail(Indeterminate, fmt.Errorf("%w: /SubFilter %q", ErrUnsupported, r.SubFilter))
	}
	if r.SigningTime.IsZero() {
		r.SigningTime = mTime
	}
}

// revisions counts the file revisions in b (see revisionEnds).
func revisions(b *source) int { return len(revisionEnds(b)) }

// byteRange reads and checks a /ByteRange: four non-negative integers
// [0 a b c], a gap of at least "<>", all within a file of size bytes.
func byteRange(f *pdffile.File, o types.Object, size int64) ([4]int64, error) {
	var br [4]int64
	a, err := resolveArray(f, o)
	if err != nil || len(a) != 4 {
		return br, fmt.Errorf("%w: /ByteRange %s is not an array of four integers", ErrSignatureFormat, pdfString(o))
	}
	for i, e := range a {
		v, ok := resolveInteger(f, e)
		if !ok || v < 0 {
			return br, fmt.Errorf("%w: /ByteRange %s is not an array of four non-negative integers", ErrSignatureFormat, pdfString(a))
		}
		br[i] = int64(v)
	}
	if br[0] != 0 || br[1] < 1 || br[2] < br[1]+2 || br[2] > size || br[3] > size-br[2] {
		return br, fmt.Errorf("%w: /ByteRange %v does not fit a %d-byte file as [0 a b c] with a gap", ErrSignatureFormat, br, size)
	}
	return br, nil
}

// lastObjectHeader finds the last "nr gen obj" in b (nr of 1 to 10
// digits after a non-digit or the start of b, gen of 1 to 5, white space
// between, a word boundary after "obj") and returns where nr starts and
// ends. It reads backwards from the end: a signature dictionary holds tens
// of kilobytes of hex strings before its /Contents.
func lastObjectHeader(b []byte) (start, end int, ok bool) {
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	word := func(c byte) bool { return digit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
	back := func(k int, in func(byte) bool) int {
		for k > 0 && in(b[k-1]) {
			k--
		}
		return k
	}
	for at := len(b); ; {
		i := lastIndexOf(b[:at], []byte("obj"))
		if i < 0 {
			return 0, 0, false
		}
		at = i
		if i+3 < len(b) && word(b[i+3]) {
			continue
		}
		genEnd := back(i, isWhite)
		genStart := back(genEnd, digit)
		nrEnd := back(genStart, isWhite)
		nrStart := back(nrEnd, digit)
		if genEnd == i || genEnd-genStart < 1 || genEnd-genStart > 5 || nrEnd == genStart || nrEnd-nrStart < 1 || nrEnd-nrStart > 10 {
			continue
		}
		return nrStart, nrEnd, true
	}
}

// MaxContentsBytes bounds a signature's ByteRange gap, its /Contents, as
// Verify reads it into memory: no larger /Contents fits in a signature
// dictionary pdffile reads (pdffile.DefaultMaxObjectSize), so a larger gap
// spans more than the dictionary's /Contents. Such a signature is invalid
// (ErrTooLarge), its gap not read.
const MaxContentsBytes = pdffile.DefaultMaxObjectSize

// maxSignedText bounds the text read before a ByteRange gap for the
// header of the object around it: a signature dictionary's entries before
// its /Contents, a seal's data among them.
const maxSignedText = 16 << 20

// signedDictionary returns the signature dictionary as the signature covers
// it (§12.8.1): the indirect object whose text surrounds the ByteRange gap,
// read where the signed bytes hold it (pdffile's ObjectAt), whatever the
// cross-reference data now says. That object must be the field's value
// (object holder), or the field itself when it holds its value inline, and
// must end within the signed bytes. A later update may have replaced the
// object; the replacement is not signed and is not read.
func signedDictionary(in *source, f *pdffile.File, br [4]int64, holder int) (types.Dict, error) {
	from := in.lastIndex(br[1], []byte("endobj")) + 1 // 0 when there is none
	from = max(from, br[1]-maxSignedText)
	text := in.read(from, br[1])
	hStart, hEnd, ok := lastObjectHeader(text)
	if !ok {
		return nil, fmt.Errorf("%w: no object header before the ByteRange gap at %d", ErrSignatureFormat, br[1])
	}
	nr, _ := strconv.Atoi(string(text[hStart:hEnd]))
	if nr != holder {
		return nil, fmt.Errorf("%w: the ByteRange gap at %d lies in object %d, but the signature field's value is object %d", ErrSignatureFormat, br[1], nr, holder)
	}
	if in.index(br[2], br[2]+br[3], []byte("endobj")) < 0 {
		return nil, fmt.Errorf("%w: object %d around the ByteRange gap does not end within the signed bytes", ErrSignatureFormat, nr)
	}
	// The newest revision's object is often the one signed: then it is
	// parsed (and cached) once.
	var o types.Object
	var err error
	if e, ok, _ := f.Entry(nr); ok && e.Kind == pdffile.EntryInUse && e.Offset == from+int64(hStart) {
		o, err = f.Object(nr)
	} else {
		_, _, o, err = f.ObjectAt(from + int64(hStart))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: object %d as signed: %v", ErrSignatureFormat, nr, err)
	}
	d, ok := o.(types.Dict)
	if !ok {
		return nil, fmt.Errorf("%w: object %d as signed is %T, not a dictionary", ErrSignatureFormat, nr, o)
	}
	if _, isSig := d["ByteRange"]; !isSig {
		if v, ok := d["V"].(types.Dict); ok {
			return v, nil // a field holding its signature dictionary inline
		}
	}
	return d, nil
}

// decodeHex decodes a PDF hex string's contents (§7.3.4.3): white space is
// ignored and an odd final digit is followed by 0.
func decodeHex(b []byte) ([]byte, error) {
	digits := make([]byte, 0, len(b)+1)
	for i, c := range b {
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == 0:
		case (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
			digits = append(digits, c)
		default:
			return nil, fmt.Errorf("byte %q at %d is not a hex digit", c, i)
		}
	}
	if len(digits)%2 == 1 {
		digits = append(digits, '0')
	}
	out := make([]byte, len(digits)/2)
	_, err := hex.Decode(out, digits)
	return out, err
}
