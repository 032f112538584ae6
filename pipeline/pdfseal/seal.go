package pdfseal

import (
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"

	"github.com/sealpipe/sealpipe/internal/bytememo"
)

// Placement says where the seal picture goes: a box on a page, in
// millimetres, with the origin at the lower-left corner of the page's
// CropBox (its MediaBox if it has none) as the page is displayed — on a
// page with /Rotate, after rotation, and the picture is drawn upright. A
// page's /UserUnit is honoured. The box must lie inside the page.
//
// Beyond one box on one page (Page, X, Y), a placement may measure from
// another corner, find its place by a keyword, repeat the box on several
// pages, or cut the picture across the pages' edges (see [Placement.Riding]);
// whatever the mode, the seal is one signature with one signature field.
type Placement struct {
	Page          int     // 1-based page number
	X, Y          float64 // lower-left corner of the box, mm (see Corner)
	Width, Height float64 // size of the box, mm; the picture is stretched to fill it
	// Corner is the corner of the displayed page X and Y are measured
	// from, to the box's nearest corner; the zero value, LowerLeft, is the
	// measure above.
	Corner Corner
	// Keyword, if set, places the box centred on the first occurrence of
	// this text on the page — on Page, on each of Pages, on every page
	// with AllPages, or with Page 0 and no Pages on the first page that
	// shows it — moved the least needed to lie inside the page. X and Y
	// must be 0 and Corner LowerLeft. White space is ignored in the keyword and in the page's
	// text. Text is read from the page's content streams and the Form
	// XObjects they paint, through each font's /ToUnicode CMap or else its
	// encoding: simple fonts with WinAnsi, MacRoman or Standard encoding
	// and /Differences, composite fonts with Identity-H/V and the
	// predefined Unicode, GB, Big5, Shift-JIS, EUC-JP and KSC CMaps (ISO
	// 32000-1 §9.10.2). A page that does not show the keyword is an
	// ErrPlacement naming both.
	Keyword string
	// Pages, if set, puts the same box on each of these pages (1-based,
	// each once, Page then 0); AllPages on every page. The seal is still
	// one signature: one signature field whose kids are one widget
	// annotation per page (§12.7.3.1, §12.5.6.19), sharing one appearance.
	Pages    []int
	AllPages bool
	// Riding makes a riding seal (骑缝章): the picture cut into as many
	// vertical strips of equal width as the document has pages, strip i
	// against the right edge of page i as displayed, so that the pages'
	// edges side by side show the whole seal — one signature field with a
	// widget per page. Y is measured as for a box from Corner (its top or
	// bottom edge); Page and X are not used, as with ofdseal's riding
	// seal.
	Riding bool
}

// Options configures [Seal].
type Options struct {
	// Signer is the signing key; it may live in an HSM. SM2 keys give an
	// SM2/SM3 CMS, ECDSA and RSA keys a SHA-256 one, unless Format says
	// otherwise.
	Signer crypto.Signer
	// Chain is the signer's certificate, then any intermediates, all of
	// which go into the CMS.
	Chain []*smx509.Certificate
	// Image is the seal picture, a PNG. Transparency is kept.
	Image []byte
	// SealData, if set, is the DER GB/T 38540 SESeal the picture belongs
	// to. It is stored in the signature dictionary (/SESeal), covered by
	// the signature, and returned by Verify in Result.SealData; with
	// FormatSES it is the SES_Signature's eseal instead, and required.
	SealData []byte
	// Format is the signature's format; the zero value, FormatDefault,
	// follows the key as Seal always has (see Format).
	Format Format
	// TimeStamper, if set, has the signature value stamped (RFC 3161):
	// a PAdES signature-time-stamp for FormatPAdESBT, which requires it, and
	// for the other CMS formats, the timeStamp of an SES_Signature; it is
	// refused with FormatPAdESBB. The token must stamp the signature value
	// and verify (package tsa) or Seal fails with ErrTimeStamp.
	TimeStamper TimeStamper
	// TimeStampSize is the room kept in /Contents for the token; zero
	// means DefaultTimeStampSize.
	TimeStampSize int
	// Placement is where the picture goes.
	Placement Placement
	// Mark, if set, is drawn under the picture as part of the seal's
	// appearance (see Mark).
	Mark *Mark
	// Time is the signing time written to the CMS signingTime attribute
	// and to /M. Zero means now.
	Time time.Time
	// Name, Reason, Location and ContactInfo fill the signature
	// dictionary's entries of those names (ISO 32000-1 table 252); empty
	// ones are left out.
	Name, Reason, Location, ContactInfo string
	// MaxInputSize bounds the input; zero means DefaultMaxInputSize.
	MaxInputSize int64
	// Prefix, if set, is the SM3 state of the input's first bytes, which
	// an SM3 signature's digest then continues instead of hashing them
	// again (see Prefix: the caller vouches for it).
	Prefix *Prefix
	// Certify, 1 to 3, makes the signature a certification signature
	// (ISO 32000-1 §12.8.2.2, §12.8.4) with that DocMDP permission: 1 no
	// changes, 2 form filling and signing, 3 those and annotations. The
	// signature dictionary gets a /Reference to the DocMDP transform
	// (/TransformParams /P n /V /1.2) and the catalog /Perms /DocMDP. A
	// document with a signature already, or certified, is refused
	// (ErrCertify): certification must be the first signature. Zero makes
	// an ordinary approval signature.
	Certify int
}

// Seal writes in followed by one incremental update that adds a visible
// seal and a signature over the whole result. The input is an exact prefix
// of the output. The update is built in memory and the output written only
// when complete (the input, then the update): on error nothing is written.
func Seal(ctx context.Context, w io.Writer, in []byte, opts Options) error {
	doc, err := sealDoc(ctx, bytesSource(in), opts)
	if err != nil {
		return err
	}
	return doc.writeTo(w)
}

// Update returns the incremental update that Seal appends to in, and not
// in itself: the sealed document is in followed by Sealed.Update. It is
// for callers that hold the input already and assemble or stream the
// output themselves; Sealed.Check checks the result without reading the
// document again.
func Update(ctx context.Context, in []byte, opts Options) (*Sealed, error) {
	return sealedFrom(ctx, bytesSource(in), opts)
}

// UpdateReader is Update over a document of size bytes read through r,
// which is never held whole: the header, the tail, the cross-reference
// sections (ISO 32000-1 §7.5.4–§7.5.8) and the objects the seal needs
// are read as windows of it, and the signature's digest streams the
// ByteRange (§12.8.1) through a fixed-size buffer — or continues
// opts.Prefix over the bytes it covers, without reading them. Memory is
// then bounded by the document's structure, not its length: a document
// of a gigabyte whose pages hold its bulk seals in a few megabytes.
// opts.MaxInputSize still bounds size. The sealed document is r's size
// bytes followed by Sealed.Update, which the caller writes (see
// Sealed.CheckReader); r must not change until it has.
func UpdateReader(ctx context.Context, r io.ReaderAt, size int64, opts Options) (*Sealed, error) {
	return sealedFrom(ctx, newSource(r, size), opts)
}

// sealedFrom is Update and UpdateReader.
func sealedFrom(ctx context.Context, in *source, opts Options) (*Sealed, error) {
	doc, err := sealDoc(ctx, in, opts)
	if err != nil {
		return nil, err
	}
	return &Sealed{Update: doc.upd, SM3: doc.sm3, doc: doc}, nil
}

// sealDoc builds and signs the update of Seal and Update. A failure to
// read in is its error, whatever the parse made of the bytes it lacked.
func sealDoc(ctx context.Context, in *source, opts Options) (doc *sealedDoc, err error) {
	defer func() {
		if rerr := in.failed(); rerr != nil {
			doc, err = nil, rerr
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := opts.MaxInputSize
	if limit <= 0 {
		limit = DefaultMaxInputSize
	}
	signer, err := newSigner(&opts)
	if err != nil {
		return nil, err
	}
	if err := opts.Placement.check(); err != nil {
		return nil, err
	}
	img, err := loadImage(opts.Image)
	if err != nil {
		return nil, err
	}
	if err := checkInput(in, limit); err != nil {
		return nil, err
	}
	// The update chains to the input's cross-reference sections (§7.5.6):
	// each must be where startxref and /Prev say, and their chain must end.
	if err := checkRevisionChain(in); err != nil {
		if !errors.Is(err, ErrMalformed) {
			err = fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return nil, err
	}
	f, err := openFile(ctx, in, limit)
	if err != nil {
		return nil, err
	}
	t, err := sealTarget(in, f, opts.Placement.firstPage(), opts.Placement.lastPage())
	if err != nil {
		return nil, err
	}
	geo, err := planSeal(ctx, in, f, t, &opts)
	if err != nil {
		return nil, err
	}
	at := opts.Time
	if at.IsZero() {
		at = time.Now()
	}
	at = at.Truncate(time.Second)
	cmsSize, err := signer.maxSize(at)
	if err != nil {
		return nil, err
	}
	doc, err = buildUpdate(in, t, img, geo, &opts, at, cmsSize, signer.subFilter())
	if err != nil {
		return nil, err
	}
	if err := doc.sign(ctx, signer, opts.Prefix, at); err != nil {
		return nil, err
	}
	return doc, nil
}

// check validates the numbers of a placement; whether the box fits the
// page is checked once the page is known.
func (p Placement) check() error {
	for _, v := range []float64{p.X, p.Y, p.Width, p.Height} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: %+v has a non-finite coordinate", ErrPlacement, p)
		}
	}
	if p.Width <= 0 || p.Height <= 0 || p.X < 0 || p.Y < 0 {
		return fmt.Errorf("%w: %+v: the box needs a positive size and a corner at X, Y ≥ 0", ErrPlacement, p)
	}
	return p.checkModes()
}

// geometry is the placement in the page's default user space.
type geometry struct {
	rect   box        // the widget's /Rect
	width  float64    // picture width as displayed, points
	height float64    // picture height as displayed, points
	matrix [6]float64 // the appearance form's /Matrix: undoes the page's /Rotate
}

const pointsPerMM = 72 / 25.4

// place maps a placement, given in displayed millimetres, to user space,
// whose unit is userUnit points.
func place(page box, rotate int, userUnit float64, p Placement) (geometry, error) {
	w, h := page.width(), page.height()
	dispW, dispH := w, h
	if rotate == 90 || rotate == 270 {
		dispW, dispH = h, w
	}
	perMM := pointsPerMM / userUnit
	slack := 0.01 * perMM // rounding in callers' mm arithmetic
	u0, v0 := p.X*perMM, p.Y*perMM
	u1, v1 := u0+p.Width*perMM, v0+p.Height*perMM
	if u1 > dispW+slack || v1 > dispH+slack {
		return geometry{}, fmt.Errorf("%w: box at (%g, %g) mm of %g×%g mm does not fit page %d, %.1f×%.1f mm as displayed",
			ErrPlacement, p.X, p.Y, p.Width, p.Height, p.Page, dispW/perMM, dispH/perMM)
	}
	// toUser maps a displayed point (from the displayed lower-left corner)
	// to default user space. /Rotate turns the page clockwise for display.
	toUser := func(u, v float64) (float64, float64) {
		switch rotate {
		case 90:
			return page.llx + w - v, page.lly + u
		case 180:
			return page.llx + w - u, page.lly + h - v
		case 270:
			return page.llx + v, page.lly + h - u
		default:
			return page.llx + u, page.lly + v
		}
	}
	ax, ay := toUser(u0, v0)
	bx, by := toUser(u1, v1)
	g := geometry{
		rect:   box{min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)},
		width:  u1 - u0,
		height: v1 - v0,
	}
	// Counter-rotate the appearance anticlockwise by /Rotate so the picture
	// reads upright (§8.3.3 rotation matrix; §12.5.5 maps the transformed
	// BBox onto /Rect).
	switch rotate {
	case 90:
		g.matrix = [6]float64{0, 1, -1, 0, 0, 0}
	case 180:
		g.matrix = [6]float64{-1, 0, 0, -1, 0, 0}
	case 270:
		g.matrix = [6]float64{0, -1, 1, 0, 0, 0}
	default:
		g.matrix = [6]float64{1, 0, 0, 1, 0, 0}
	}
	return g, nil
}

// sealedDoc is the sealed file before the CMS is filled in: the input
// followed by the update, and what Sealed.Check needs to check it.
type sealedDoc struct {
	in                         *source
	upd                        []byte
	contentsStart, contentsEnd int // the /Contents hex string in upd, brackets included
	byteRange                  [4]int64

	field     string        // the signature field's name
	subFilter string        // the signature dictionary's /SubFilter
	sigNr     int           // the signature dictionary's object number
	offsets   map[int]int64 // the update's objects, file offsets
	gens      map[int]int
	xref      int64  // the update's cross-reference section
	sealData  []byte // /SESeal, if written
	docMDP    int    // the certification level, 0 for none
	at        time.Time
	alone     bool // the input has no form fields, so no signature

	digestAlg digestAlgorithm
	digest    []byte // the ByteRange digest signed
	sm3       []byte // SM3 of the sealed file, when sign had a prefix
}

// sign fills in the CMS (or SES_Signature) over every byte of d but its
// /Contents. An SM3 digest continues prefix, if it is not nil, over the
// input's first bytes, and then the SM3 of the whole sealed file costs
// no more than the bytes from /Contents on.
func (d *sealedDoc) sign(ctx context.Context, signer contentsSigner, prefix *Prefix, at time.Time) error {
	// ISO 32000-1 §12.8.1: the digest covers the whole file except the
	// /Contents hex string, angle brackets included.
	d.digestAlg = signer.digestAlgorithm()
	in := d.in.span(0, d.in.size)
	var atContents *Prefix // SM3 state up to /Contents
	if d.digestAlg.hash == 0 || prefix != nil {
		atContents = stateOver(prefix, in, span{b: d.upd[:d.contentsStart]})
	}
	if d.digestAlg.hash == 0 {
		d.digest = atContents.Sum(d.upd[d.contentsEnd:])
	} else {
		d.digest = digestOf(d.digestAlg, nil, in, span{b: d.upd[:d.contentsStart]}, span{b: d.upd[d.contentsEnd:]})
	}
	if err := d.in.failed(); err != nil {
		return err // a digest of bytes that could not be read is not signed
	}
	cms, err := signer.sign(ctx, d.digest, at)
	if err != nil {
		return err
	}
	if 2*len(cms) > d.contentsEnd-d.contentsStart-2 {
		return fmt.Errorf("%w: the %d-byte CMS exceeds the %d bytes reserved", ErrSigner, len(cms), (d.contentsEnd-d.contentsStart-2)/2)
	}
	hex.Encode(d.upd[d.contentsStart+1:], cms)
	if prefix != nil {
		d.sm3 = atContents.Sum(d.upd[d.contentsStart:])
	}
	return nil
}

// writeTo writes the sealed file to w: the input, then the update.
func (d *sealedDoc) writeTo(w io.Writer) error {
	if _, err := io.Copy(w, io.NewSectionReader(d.in.r, 0, d.in.size)); err != nil {
		return fmt.Errorf("pdfseal: writing the sealed document: %w", err)
	}
	if _, err := w.Write(d.upd); err != nil {
		return fmt.Errorf("pdfseal: writing the sealed document: %w", err)
	}
	return nil
}

// byteRangeWidth is the room reserved for the ByteRange numbers, patched
// once the file is complete.
const byteRangeWidth = 48

// sigSlots locates the placeholders of a signature dictionary in an update.
type sigSlots struct {
	byteRange                  int // the ByteRange numbers
	contentsStart, contentsEnd int // the /Contents hex string, brackets included
}

// signatureDict writes the signature dictionary nr (§12.8.1, table 252)
// by hand, for its two placeholders: a ByteRange and a zeroed /Contents of
// contentsLen hex digits. extra holds its other entries. Its /SubFilter
// is adbe.pkcs7.detached.
func (u *update) signatureDict(nr, contentsLen int, extra types.Dict) (sigSlots, error) {
	return u.signatureDictOf(nr, contentsLen, SubFilterPKCS7, extra, nil)
}

// sealStrings keeps recent seals (/SESeal) written as literal strings.
var sealStrings bytememo.Memo[[]byte]

// signatureDictOf is signatureDict with the /SubFilter subFilter, a name of
// this package's (no character needs escaping), and, if sealData is not
// empty, the entry /SESeal holding it as a literal string
// (appendBinaryString: half the bytes of a hex string, and so half the
// hashing, for a seal of tens of kilobytes; written once per seal, see
// sealStrings). Every other entry
// precedes /Contents, which ends the dictionary: what follows the
// signature is then short, and the SM3 of the sealed file continues the
// signature's digest at /Contents (sealedDoc.sign).
func (u *update) signatureDictOf(nr, contentsLen int, subFilter string, extra types.Dict, sealData []byte) (sigSlots, error) {
	rest, err := appendObject(nil, extra, 0)
	if err != nil {
		return sigSlots{}, err
	}
	var s sigSlots
	u.begin(nr, 0)
	u.buf.WriteString("<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/" + subFilter)
	u.buf.Write(rest[2 : len(rest)-2]) // the entries, without "<<" and ">>"
	if len(sealData) > 0 {
		u.buf.WriteString("/SESeal")
		str, _ := sealStrings.Get(sealData, func(b []byte) ([]byte, error) { return appendBinaryString(nil, b), nil })
		u.buf.Write(str)
	}
	u.buf.WriteString("/ByteRange[")
	s.byteRange = u.buf.Len()
	u.buf.WriteString(strings.Repeat(" ", byteRangeWidth))
	u.buf.WriteString("]/Contents")
	s.contentsStart = u.buf.Len()
	u.buf.WriteByte('<')
	u.buf.WriteString(strings.Repeat("0", contentsLen))
	u.buf.WriteByte('>')
	s.contentsEnd = u.buf.Len()
	u.buf.WriteString(">>")
	u.end()
	return s, nil
}

// signable returns the finished update with the ByteRange of the signature
// whose placeholders s locates filled in: everything but its /Contents.
func (u *update) signable(in *source, s sigSlots) (*sealedDoc, error) {
	buf := u.buf.Bytes()
	br := fmt.Sprintf("0 %d %d %d", u.base+int64(s.contentsStart), u.base+int64(s.contentsEnd), len(buf)-s.contentsEnd)
	if len(br) > byteRangeWidth {
		return nil, fmt.Errorf("%w: ByteRange %q does not fit its placeholder", ErrTooLarge, br)
	}
	copy(buf[s.byteRange:], br)
	return &sealedDoc{
		in: in, upd: buf, contentsStart: s.contentsStart, contentsEnd: s.contentsEnd,
		byteRange: [4]int64{0, u.base + int64(s.contentsStart), u.base + int64(s.contentsEnd), int64(len(buf) - s.contentsEnd)},
		offsets:   u.offsets, gens: u.gens, xref: u.xref,
	}, nil
}

// buildUpdate writes the incremental update with a zeroed /Contents of room
// for cmsSize bytes, the /SubFilter subFilter and the final ByteRange.
func buildUpdate(in *source, t *target, img *sealImage, l *layout, opts *Options, at time.Time, cmsSize int, subFilter string) (*sealedDoc, error) {
	contentsLen := 2 * (cmsSize + 32) // hex digits; a little slack over the computed bound
	u := newUpdate(in, len(img.rgb)+max(len(img.alpha), len(img.stencil))+contentsLen+len(opts.SealData)*2+8192)

	nr := t.nextObj
	alloc := func() int { nr++; return nr - 1 }
	imageNr := alloc()
	smaskNr := 0 // the soft mask or, in PDF/A-1, the stencil mask
	if img.alpha != nil {
		smaskNr = alloc()
	}
	formNr, fieldNr, sigNr := alloc(), alloc(), alloc()
	ref := func(n int) types.IndirectRef { return *types.NewIndirectRef(n, 0) }

	// The picture (§8.9.5) and its soft mask (§11.6.5.3).
	imageDict := types.Dict{
		"Type": types.Name("XObject"), "Subtype": types.Name("Image"),
		"Width": types.Integer(img.width), "Height": types.Integer(img.height),
		"ColorSpace": types.Name("DeviceRGB"), "BitsPerComponent": types.Integer(8),
		"Filter": types.Name("FlateDecode"),
	}
	switch {
	case smaskNr != 0 && t.pdfaPart == 1:
		// PDF/A-1 forbids soft masks (ISO 19005-1 §6.4): an explicit
		// stencil mask (§8.9.6.3) keeps the document conformant.
		maskDict := types.Dict{
			"Type": types.Name("XObject"), "Subtype": types.Name("Image"),
			"Width": types.Integer(img.width), "Height": types.Integer(img.height),
			"ImageMask": types.Boolean(true), "Decode": types.Array{types.Integer(1), types.Integer(0)},
			"Filter": types.Name("FlateDecode"),
		}
		if err := u.streamObject(smaskNr, maskDict, img.stencil); err != nil {
			return nil, err
		}
		imageDict["Mask"] = ref(smaskNr)
	case smaskNr != 0:
		maskDict := types.Dict{
			"Type": types.Name("XObject"), "Subtype": types.Name("Image"),
			"Width": types.Integer(img.width), "Height": types.Integer(img.height),
			"ColorSpace": types.Name("DeviceGray"), "BitsPerComponent": types.Integer(8),
			"Filter": types.Name("FlateDecode"),
		}
		if err := u.streamObject(smaskNr, maskDict, img.alpha); err != nil {
			return nil, err
		}
		imageDict["SMask"] = ref(smaskNr)
	}
	if err := u.streamObject(imageNr, imageDict, img.rgb); err != nil {
		return nil, err
	}

	// The appearances, the signature field and its widgets.
	name := fieldName(t.fieldNames)
	widgets, err := u.writeWidgets(l, name, imageNr, formNr, fieldNr, sigNr, alloc)
	if err != nil {
		return nil, err
	}

	// The signature dictionary (§12.8.1, table 252).
	extra := types.Dict{"M": pdfDate(at)}
	for key, v := range map[string]string{"Name": opts.Name, "Reason": opts.Reason, "Location": opts.Location, "ContactInfo": opts.ContactInfo} {
		if v != "" {
			extra[key] = textString(v)
		}
	}
	var sealData []byte
	if subFilter != SubFilterSES { // an SES_Signature embeds its seal
		sealData = opts.SealData
	}
	if l.certify > 0 {
		extra["Reference"] = docMDPReference(l.certify)
	}
	slots, err := u.signatureDictOf(sigNr, contentsLen, subFilter, extra, sealData)
	if err != nil {
		return nil, err
	}

	// The pages gain the widgets (§12.5.2 /Annots).
	if err := u.pagesGain(l, widgets); err != nil {
		return nil, err
	}

	// The interactive form gains the field (§12.7.2); SigFlags 3 =
	// SignaturesExist | AppendOnly (table 219).
	acroForm := t.acroForm
	acroForm["Fields"] = append(t.fields, ref(fieldNr))
	flags := types.Integer(3)
	if f, ok := acroForm["SigFlags"].(types.Integer); ok {
		flags |= f
	}
	acroForm["SigFlags"] = flags
	catalog := t.catalog
	if l.certify > 0 {
		// A certification signature is named in the catalog (§12.8.4).
		l.perms["DocMDP"] = ref(sigNr)
		catalog["Perms"] = l.perms
	}
	if t.acroFormRef != nil {
		if err := u.dictObject(int(t.acroFormRef.ObjectNumber), int(t.acroFormRef.GenerationNumber), acroForm); err != nil {
			return nil, err
		}
	} else {
		catalog["AcroForm"] = acroForm
	}
	if t.acroFormRef == nil || l.certify > 0 {
		if err := u.dictObject(int(t.root.ObjectNumber), int(t.root.GenerationNumber), catalog); err != nil {
			return nil, err
		}
	}

	// A file read with repaired offsets gets a complete section, chained
	// to nothing: readers then never meet the wrong offsets (xrefRepairs).
	tr := trailerInfo{root: t.root, info: t.info, id: t.id, prev: t.prevXRef}
	stream := t.xrefStream
	if t.complete != nil {
		tr.prev = 0
		stream = stream || slices.ContainsFunc(t.complete, func(e xrefEntry) bool { return e.kind == pdffile.EntryCompressed })
	}
	if stream {
		err = u.finishStream(alloc(), tr, t.complete)
	} else {
		err = u.finishTable(tr, t.complete)
	}
	if err != nil {
		return nil, err
	}
	doc, err := u.signable(in, slots)
	if err != nil {
		return nil, err
	}
	doc.field, doc.subFilter, doc.sigNr, doc.at, doc.docMDP = name, subFilter, sigNr, at, l.certify
	doc.alone = len(t.fields) == 0 && t.complete == nil
	doc.sealData = sealData
	return doc, nil
}

// fieldName picks a signature field name no top-level field uses.
func fieldName(taken map[string]bool) string {
	for i := 1; ; i++ {
		if name := fmt.Sprintf("Seal%d", i); !taken[name] {
			return name
		}
	}
}
