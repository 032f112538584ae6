package pipeline

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/storage"
)

// usableSeal loads a seal and checks that it may be applied now and, when
// approver is not nil, that the registry pins approver's key as an
// approver of the seal for department dept.
func (p *Pipeline) usableSeal(ctx context.Context, id string, approver *smx509.Certificate, dept string) (*registry.Entry, error) {
	e, err := p.seals.Get(ctx, id)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return nil, reject(CodeSealUnknown, err, "seal %q is not registered", id)
	case errors.Is(err, registry.ErrTampered):
		return nil, reject(CodeRegistryInvalid, err, "seal %q cannot be used: %v", id, err)
	case errors.Is(err, registry.ErrInvalid):
		return nil, reject(CodeSealUnusable, err, "seal %q: %v", id, err)
	case err != nil:
		return nil, err
	}
	now := p.cfg.Now()
	switch {
	case approver != nil && !e.MayApprove(approver, dept):
		if _, ok := e.ApproverFor(approver); ok {
			return nil, reject(CodeSealNotPermitted, nil, "approver %q may not approve use of seal %s (%s) for department %s", approver.Subject.CommonName, e.ID, e.Name, dept)
		}
		return nil, reject(CodeSealNotPermitted, nil, "approver %q (key %.16s…) may not approve use of seal %s (%s)", approver.Subject.CommonName, registry.Fingerprint(approver), e.ID, e.Name)
	case e.Status != registry.StatusActive:
		return nil, reject(CodeSealNotActive, nil, "seal %s (%s) is %s", e.ID, e.Name, e.Status)
	case !e.Seal.ValidAt(now):
		return nil, reject(CodeSealExpired, nil, "seal %s (%s) is valid %s – %s, not now", e.ID, e.Name,
			e.Seal.ValidStart.Format(time.DateOnly), e.Seal.ValidEnd.Format(time.DateOnly))
	case !strings.EqualFold(e.Seal.Picture.Type, "png"):
		return nil, reject(CodeSealUnusable, nil, "seal %s has a %q picture; sealing needs PNG", e.ID, e.Seal.Picture.Type)
	}
	return e, nil
}

// source is a document to seal as read: its bytes, through r, and their
// SM3, hashed once for the approval's digest, the signature and the
// output's digests (pdfseal.Prefix). data holds the bytes when they are
// in memory; a document in a file (a local one, or one spooled from the
// store) has none, and close releases the file.
type source struct {
	r      io.ReaderAt
	size   int64
	data   []byte
	head   []byte // the first bytes, which tell the format (verify.DetectFormat)
	sm3    string // hex
	prefix *pdfseal.Prefix
	close  func() error
}

// Close releases the file a source spooled to, if any.
func (s source) Close() error {
	if s.close == nil {
		return nil
	}
	return s.close()
}

// spoolSize is the size above which a document read from the store is
// spooled to a temporary file, hashed on the way, rather than held in
// memory: it is sealed over the file and its output uploaded from it
// (storage.PutOnceFrom), so memory does not grow with it.
const spoolSize = 16 << 20

// memSource is the source of data without its digest: an output, which
// nothing signs again.
func memSource(data []byte) source {
	return source{r: bytes.NewReader(data), size: int64(len(data)), data: data, head: data[:min(len(data), headSize)]}
}

// readSource hashes the size bytes of r, reading them once, streaming.
func readSource(r io.ReaderAt, size int64) (source, error) {
	h := sm3.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return source{}, fmt.Errorf("pipeline: reading the document: %w", err)
	}
	return hashedSource(r, nil, size, h)
}

// hashedSource is the source of the size bytes of r (data, if they are in
// memory), which h, an SM3 hash, has been fed. It reads their first bytes
// if they are not in memory.
func hashedSource(r io.ReaderAt, data []byte, size int64, h hash.Hash) (source, error) {
	s := source{r: r, size: size, data: data, sm3: hex.EncodeToString(h.Sum(nil))}
	s.prefix, _ = pdfseal.NewPrefix(h, size) // an SM3 state always makes one
	if data != nil {
		s.head = data[:min(len(data), headSize)]
		return s, nil
	}
	s.head = make([]byte, min(size, headSize))
	if _, err := r.ReadAt(s.head, 0); err != nil && err != io.EOF {
		return source{}, fmt.Errorf("pipeline: reading the document: %w", err)
	}
	return s, nil
}

// headSize is how many of a document's first bytes a source keeps.
const headSize = 1024

// documentBuffers holds the buffers documents were fetched into, for the
// next documents to be read into: allocating and zeroing a buffer for
// each document cost the seal stage about as much as hashing it. A
// source returns its buffer when it is closed, once nothing reads the
// document any more; what the pipeline keeps of a document beyond that
// (reports, records, memoised seals) is copied out of it or decoded from
// it, never a slice of it.
var documentBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// fetch reads the object under key, of at most limit bytes
// (storage.ErrTooLarge, as from storage.ReadAll), hashing it as it reads
// it once: into memory, or one of more than spoolSize bytes into a
// temporary file. The caller closes the source, after which its bytes
// must not be read.
func (p *Pipeline) fetch(ctx context.Context, key string, limit int64) (source, error) {
	return p.fetchWith(ctx, key, limit, &admission{charged: -1})
}

// fetchAdmitted is fetch charging the document against the memory budget
// (admission) once the store's answer says its size, and waiting for room
// if there is none: the source holds the charge until it is closed.
func (p *Pipeline) fetchAdmitted(ctx context.Context, key string, limit int64) (source, error) {
	a := &admission{b: p.budget, charged: -1}
	for {
		s, err := p.fetchWith(ctx, key, limit, a)
		if !errors.Is(err, errNoRoom) {
			return s, err
		}
		p.cfg.Logger.DebugContext(ctx, "waiting for memory budget", "key", key, "bytes", a.want)
		if err := a.wait(ctx); err != nil {
			return source{}, err
		}
	}
}

// fetchWith is fetch under admission a.
func (p *Pipeline) fetchWith(ctx context.Context, key string, limit int64, a *admission) (source, error) {
	buf := documentBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	var f *os.File
	h := sm3.New()
	n, _, err := storage.CopyObject(ctx, p.store, key, limit, func(info storage.ObjectInfo) (io.Writer, error) {
		if err := a.try(info.Size, limit); err != nil {
			return nil, err
		}
		if info.Size >= 0 && info.Size <= spoolSize {
			buf.Grow(int(info.Size) + bytes.MinRead)
			return io.MultiWriter(buf, h), nil
		}
		var err error
		if f, err = os.CreateTemp("", "sealpipe-document-*"); err != nil {
			return nil, fmt.Errorf("pipeline: spooling %s: %w", key, err)
		}
		return io.MultiWriter(f, h), nil
	})
	released := false
	release := func() error { // once: a buffer in the pool twice would be shared
		if released {
			return nil
		}
		released = true
		a.release()
		if f == nil {
			documentBuffers.Put(buf)
			return nil
		}
		f.Close()
		return os.Remove(f.Name())
	}
	var s source
	if err == nil && f == nil {
		s, err = hashedSource(bytes.NewReader(buf.Bytes()), buf.Bytes(), n, h)
	} else if err == nil {
		s, err = hashedSource(f, nil, n, h)
	}
	if err != nil {
		release()
		return source{}, err
	}
	s.close = release
	return s, nil
}

// bytes returns the document's bytes, reading them if they are not in
// memory, up to limit.
func (s source) bytes(limit int64) ([]byte, error) {
	if s.data != nil || s.size == 0 {
		return s.data, nil
	}
	if s.size > limit {
		return nil, reject(CodeDocumentTooLarge, storage.ErrTooLarge, "the document has %d bytes, the limit is %d", s.size, limit)
	}
	b := make([]byte, s.size)
	if _, err := s.r.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("pipeline: reading the document: %w", err)
	}
	return b, nil
}

// readDocument reads an approved document and checks its size and digest:
// into memory, or one of more than spoolSize bytes into a temporary file
// (the caller closes the source).
func (p *Pipeline) readDocument(ctx context.Context, ref BatchRef, doc approval.Document, a *approved) (source, error) {
	key := ref.Inbox() + doc.Name
	in, err := p.fetchAdmitted(ctx, key, p.cfg.MaxDocumentSize)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		if p.cfg.Now().Before(a.manifest.ApprovedAt.Add(p.cfg.UploadWindow)) {
			return source{}, fmt.Errorf("%w: document %q not uploaded yet", ErrNotReady, key)
		}
		return source{}, reject(CodeDocumentMissing, err, "document %q was approved but not uploaded within %s of the approval", doc.Name, p.cfg.UploadWindow)
	case errors.Is(err, storage.ErrTooLarge):
		return source{}, reject(CodeDocumentTooLarge, err, "document %q: %v", doc.Name, err)
	case err != nil:
		return source{}, err
	}
	if in.sm3 != doc.SM3 {
		in.Close()
		return source{}, reject(CodeDigestMismatch, nil, "document %q: SM3 %s does not match the approved %s", doc.Name, in.sm3, doc.SM3)
	}
	return in, nil
}

// seal applies the seal to input in memory, in the input's format as its
// content tells (verify.DetectFormat): a PDF gets one incremental update
// (sealPDF), with mark, if not nil, under the seal; an OFD package a new
// package with one more Seal signature (sealOFD), and no mark. Content of
// neither format is DOCUMENT_MALFORMED.
func (p *Pipeline) seal(ctx context.Context, in source, seal *registry.Entry, pl approval.Placement, mark *pdfseal.Mark) (*sealed, error) {
	format := verify.DetectFormat(in.head)
	if format == verify.FormatUnknown {
		return nil, reject(CodeDocumentMalformed, verify.ErrUnknownFormat, "%v: the document starts % x", verify.ErrUnknownFormat, in.head[:min(len(in.head), 8)])
	}
	signer, cert, err := p.signer(ctx, seal)
	if err != nil {
		return nil, err
	}
	if format == verify.FormatOFD {
		input, err := in.bytes(p.cfg.MaxDocumentSize)
		if err != nil {
			return nil, err
		}
		out, err := p.sealOFD(ctx, input, seal, signer, cert, pl)
		return &sealed{out: memSource(out)}, err
	}
	return p.sealPDF(ctx, in, seal, signer, cert, pl, mark)
}

// sealAll applies seals in turn, each at its use's placement
// (approval.Document.Seals), each over the output of the one before
// (sealed.resealable): a PDF gets an incremental update per seal, an OFD
// package one more signature per seal. The verification mark, if not nil,
// goes under the first seal that is not a riding seal.
func (p *Pipeline) sealAll(ctx context.Context, in source, seals []*registry.Entry, uses []approval.SealUse, mark *pdfseal.Mark) (*sealed, error) {
	var s *sealed
	var err error
	for i := 0; err == nil && i < len(seals); i++ {
		if i > 0 {
			if in, err = s.resealable(); err != nil {
				break
			}
		}
		var m *pdfseal.Mark
		if !uses[i].Placement.Riding {
			m, mark = mark, nil
		}
		s, err = p.seal(ctx, in, seals[i], uses[i].Placement, m)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// resealable returns the output as a source to seal again: an OFD
// package in memory, or a PDF's input followed by its update, read where
// they lie, with the SM3 state over both (its prefix), so that the next
// seal does not hash the document again.
func (s *sealed) resealable() (source, error) {
	if s.pdf == nil {
		return memSource(s.out.data), nil
	}
	h := s.in.prefix.Hash()
	h.Write(s.pdf.Update)
	prefix, err := pdfseal.NewPrefix(h, s.size())
	if err != nil {
		return source{}, err
	}
	return source{r: s.reader(), size: s.size(), head: s.in.head, prefix: prefix}, nil
}

// sealed is a sealed output: a PDF's input followed by the update
// pdfseal.UpdateReader made (pdf), or an output whole (out): an OFD
// package sealed here, or an output found in the store (fetched, and
// spooled to a file if large).
type sealed struct {
	out source // an output whole
	in  source // a PDF's input
	pdf *pdfseal.Sealed
}

// release hands a PDF's update back for reuse (pdfseal.Sealed.Release);
// s must not be used after it.
func (s *sealed) release() {
	if s.pdf != nil {
		s.pdf.Release()
	}
}

// size is the length of the output.
func (s *sealed) size() int64 {
	if s.pdf == nil {
		return s.out.size
	}
	return s.in.size + int64(len(s.pdf.Update))
}

// reader returns the output as an io.ReaderAt, which reads a PDF's input
// where it lies.
func (s *sealed) reader() io.ReaderAt {
	if s.pdf == nil {
		return s.out.r
	}
	return joined{s.in.r, s.in.size, s.pdf.Update}
}

// stream returns a reader of the output.
func (s *sealed) stream() io.Reader { return io.NewSectionReader(s.reader(), 0, s.size()) }

// joined reads the n bytes of a followed by b.
type joined struct {
	a io.ReaderAt
	n int64
	b []byte
}

func (j joined) ReadAt(p []byte, off int64) (int, error) {
	k := 0
	if off < j.n {
		m, err := j.a.ReadAt(p[:min(int64(len(p)), j.n-off)], off)
		if k = m; err != nil && (err != io.EOF || off+int64(m) < j.n) {
			return k, err
		}
	}
	if k < len(p) {
		at := max(off+int64(k)-j.n, 0)
		if at >= int64(len(j.b)) {
			return k, io.EOF
		}
		k += copy(p[k:], j.b[at:])
	}
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

// SignatureFormats is what a pipeline's Signers may also do: choose the
// PDF signature format of a seal (pdfseal.Options.Format) and, for a
// format that timestamps, the timestamp authority (Options.TimeStamper).
// internal/engine's follow SEALPIPE_PDF_SIGNATURE_FORMATS and
// SEALPIPE_TSA_URL. Without it every seal gets pdfseal's default format.
type SignatureFormats interface {
	SignatureFormat(sealID string) (pdfseal.Format, pdfseal.TimeStamper)
}

// sealPDF seals a PDF (pipeline/pdfseal) with pl measured from the page's
// lower-left corner or pl.Corner (pdfPlacement), mapping pdfseal's
// refusals to rejection codes.
func (p *Pipeline) sealPDF(ctx context.Context, in source, seal *registry.Entry, signer crypto.Signer, cert *smx509.Certificate, pl approval.Placement, mark *pdfseal.Mark) (*sealed, error) {
	place, err := pdfPlacement(pl, float64(seal.Seal.Picture.WidthMM), float64(seal.Seal.Picture.HeightMM))
	if err != nil {
		return nil, err
	}
	var format pdfseal.Format
	var stamper pdfseal.TimeStamper
	if sf, ok := p.signers.(SignatureFormats); ok {
		format, stamper = sf.SignatureFormat(seal.ID)
	}
	opts := pdfseal.Options{
		Signer:       signer,
		Chain:        []*smx509.Certificate{cert},
		Image:        seal.Seal.Picture.Data,
		SealData:     seal.Seal.Raw,
		Placement:    place,
		Mark:         mark,
		Certify:      pl.Certify,
		Time:         p.cfg.Now(),
		Name:         seal.Name,
		Reason:       "电子印章 " + seal.ID,
		MaxInputSize: p.cfg.MaxDocumentSize,
		Format:       format,
		TimeStamper:  stamper,
		Prefix:       in.prefix,
	}
	var s *pdfseal.Sealed
	if in.data != nil {
		s, err = pdfseal.Update(ctx, in.data, opts) // read in place
	} else {
		opts.MaxInputSize = p.cfg.MaxFileSize // streamed, not held in memory
		s, err = pdfseal.UpdateReader(ctx, in.r, in.size, opts)
	}
	switch {
	case errors.Is(err, pdfseal.ErrEncrypted):
		return nil, reject(CodeDocumentEncrypted, err, "%v", err)
	case errors.Is(err, pdfseal.ErrNoChangesPermitted):
		return nil, reject(CodeDocumentLocked, err, "%v", err)
	case errors.Is(err, pdfseal.ErrNoPage), errors.Is(err, pdfseal.ErrPlacement), errors.Is(err, pdfseal.ErrCertify):
		return nil, reject(CodePlacementInvalid, err, "%v", err)
	case errors.Is(err, pdfseal.ErrTooLarge):
		return nil, reject(CodeDocumentTooLarge, err, "%v", err)
	case errors.Is(err, pdfseal.ErrMalformed):
		return nil, reject(CodeDocumentMalformed, err, "%v", err)
	case err != nil:
		return nil, fmt.Errorf("pipeline: seal with %s: %w", seal.ID, err)
	}
	return &sealed{in: in, pdf: s}, nil
}

// signer returns the seal's signing key and the certificate of it that the
// seal lists.
func (p *Pipeline) signer(ctx context.Context, seal *registry.Entry) (crypto.Signer, *smx509.Certificate, error) {
	s, err := p.signers.Signer(ctx, seal.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: open signing key of seal %s: %w", seal.ID, err)
	}
	for _, der := range seal.Seal.Certs {
		cert, err := smx509.ParseCertificate(der)
		if err == nil && publicKeysEqual(cert.PublicKey, s.Public()) {
			return s, cert, nil
		}
	}
	return nil, nil, reject(CodeSealUnusable, nil, "seal %s lists no certificate for its signing key %q", seal.ID, seal.Key)
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// check verifies a sealed output, whatever its format
// (verify.Verifier.Document), and adds the pipeline's own check that the
// approved input is intact in it: a PDF output is an incremental update of
// exactly the approved input (it begins with it); an OFD output carries
// every part of the approved package over unchanged (ofdCarriedOver). A
// PDF output that begins with the input is verified with the input's SM3
// state (verify.Verifier.PDFReader, reading the input where it lies): its
// bytes are not hashed again;
// one that pdfseal.Update just made from an input without signatures
// (s.pdf.Alone) is not even parsed again (verify.Verifier.SealedPDF).
func (p *Pipeline) check(ctx context.Context, name string, in source, s *sealed) (*report.Document, error) {
	var c report.Check
	var rep *report.Document
	var err error
	if verify.DetectFormat(in.head) == verify.FormatOFD {
		input, ierr := in.bytes(p.cfg.MaxDocumentSize)
		if ierr != nil {
			return nil, ierr
		}
		output, oerr := s.out.bytes(2 * p.cfg.MaxDocumentSize)
		if oerr != nil {
			return nil, oerr
		}
		c = ofdCarriedOver(input, output)
		rep, err = p.verifier.Document(ctx, name, output)
	} else {
		c = report.Check{Name: checkApprovedContent, Clause: "sealpipe: output = approved input + an incremental update per seal", Result: report.OK,
			Detail: fmt.Sprintf("the first %d bytes are the approved document", in.size)}
		// An output sealed here is the input where it lies followed by
		// the update (sealed.reader): it begins with the input by
		// construction. One found in the store is checked.
		begins := true
		if s.pdf == nil {
			if begins, err = beginsWith(s.out, in); err != nil {
				return nil, err
			}
		}
		switch {
		case !begins:
			c.Result, c.SubIndication, c.Detail = report.NotOK, report.SubHashFailure, "the output does not begin with the approved document"
			rep, err = p.verifier.DocumentReader(ctx, name, s.out.r, s.out.size)
		case s.pdf != nil && s.pdf.Alone() && s.in.data != nil:
			rep, err = p.verifier.SealedPDF(ctx, name, s.in.data, s.pdf) // read in place
		case s.pdf != nil && s.pdf.Alone():
			rep, err = p.verifier.SealedPDFReader(ctx, name, s.in.r, s.in.size, s.pdf)
		default:
			rep, err = p.verifier.PDFReader(ctx, name, s.reader(), s.size(), in.prefix)
		}
	}
	if err != nil {
		return nil, reject(CodeSelfCheckFailed, err, "the sealed output cannot be read back: %v", err)
	}
	for i := range rep.Signatures {
		rep.Signatures[i].Checks = append(rep.Signatures[i].Checks, c)
		rep.Signatures[i].Conclude()
	}
	rep.Conclude()
	return rep, nil
}

// beginsWith reports whether out begins with the document in: whether its
// first bytes have in's SM3.
func beginsWith(out, in source) (bool, error) {
	if out.size < in.size {
		return false, nil
	}
	sum, err := approval.Digest(io.NewSectionReader(out.r, 0, in.size))
	if err != nil {
		return false, fmt.Errorf("pipeline: reading the output: %w", err)
	}
	return sum == in.sm3, nil
}

// checkApprovedContent names the pipeline's own check of a sealed output.
const checkApprovedContent = "approved-content"

// sealedBy accepts the report of a sealed output only if it passed its
// verification and its last signatures are seals', in order: an output
// that does not verify, carries too few signatures or another seal's is a
// SELF_CHECK_FAILED refusal, never a sealed document.
func sealedBy(rep *report.Document, seals ...*registry.Entry) error {
	n := len(rep.Signatures)
	switch {
	case n == 0:
		return reject(CodeSelfCheckFailed, nil, "the sealed output carries no signature")
	case n < len(seals):
		return reject(CodeSelfCheckFailed, nil, "the sealed output carries %d signatures, not the %d of its seals", n, len(seals))
	case rep.Indication != report.Passed:
		return reject(CodeSelfCheckFailed, nil, "the sealed output failed its own verification (%s): %s", rep.Indication, failedChecks(rep))
	}
	for i, seal := range seals {
		if got := rep.Signatures[n-len(seals)+i].SealID; got != seal.ID {
			return reject(CodeSelfCheckFailed, nil, "the sealed output's signature %d is seal %q's, not %s's", n-len(seals)+i+1, got, seal.ID)
		}
	}
	return nil
}

// failedChecks lists the checks of rep that failed or could not be
// decided, with their details.
func failedChecks(rep *report.Document) string {
	var out []string
	for _, s := range rep.Signatures {
		for _, c := range s.Checks {
			switch c.Result {
			case report.NotOK:
				out = append(out, c.Name+": "+c.Detail)
			case report.Unknown:
				out = append(out, c.Name+" ("+string(c.Result)+"): "+c.Detail)
			}
		}
	}
	return strings.Join(out, "; ")
}

// SealLocalFile seals one document outside any batch, for `sealpipe
// seal`: the operator running it stands in for the approver. The seal must
// be active and valid now. It verifies the output and records the use
// (with output as its name) before returning the sealed document and its
// report. Refusals are *RejectError.
//
// The document, of size bytes read through r (a file), is never held
// whole: r is read once, streaming, for its SM3, and a PDF sealed over r
// (pdfseal.UpdateReader), verified without hashing its bytes again, up to
// Config.MaxFileSize; an OFD package is read whole, up to
// Config.MaxDocumentSize. The caller writes the output (Output.WriteTo),
// which reads r again: r must not change until it has.
func (p *Pipeline) SealLocalFile(ctx context.Context, r io.ReaderAt, size int64, sealID string, pl approval.Placement, output string) (*Output, *report.Document, error) {
	in, err := readSource(r, size)
	if err != nil {
		return nil, nil, err
	}
	e, err := p.usableSeal(ctx, sealID, nil, "")
	if err != nil {
		return nil, nil, err
	}
	ctx = registry.WithEntries(ctx, e) // checked just now
	s, err := p.seal(ctx, in, e, pl, nil)
	if err != nil {
		return nil, nil, err
	}
	rep, err := p.check(ctx, output, in, s)
	if err != nil {
		return nil, nil, err
	}
	if err := sealedBy(rep, e); err != nil {
		return nil, nil, err
	}
	rec := p.usageRecord(e, output, output, in, rep)
	if err := p.audit.Append(ctx, rec); err != nil {
		return nil, nil, err
	}
	if _, err := p.audit.Commit(ctx, e.ID, "local:"+rec.Key(), []string{rec.Key()}); err != nil {
		return nil, nil, err
	}
	return &Output{s}, rep, nil
}

// Output is a document SealLocalFile sealed.
type Output struct{ s *sealed }

// Size is the length of the output, in bytes.
func (o *Output) Size() int64 { return o.s.size() }

// WriteTo writes the output to w: a PDF's input, read again where it
// lies, then its incremental update.
func (o *Output) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, o.s.stream()) }
