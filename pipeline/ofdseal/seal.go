package ofdseal

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/ofd"
)

// DefaultMaxInputSize bounds the OFD packages Seal reads when
// Options.MaxInputSize is zero.
const DefaultMaxInputSize = 256 << 20

// Placement is where a seal's stamp annotation goes, as OFD measures
// (GB/T 33190 §7.3, §18.2.2 StampAnnot Boundary): millimetres from the
// top-left corner of the page's physical box, y growing downwards.
type Placement struct {
	// Page is the page number, from 1.
	Page int
	// X and Y are the stamp's top-left corner in mm from the page's
	// top-left corner.
	X, Y float64
	// Width and Height are the stamp's size in mm; zero means the seal
	// picture's size as the SESeal states it.
	Width, Height float64
	// Riding makes a riding seal (骑缝章): the picture split into as many
	// vertical slices as the document has pages, one slice on the right
	// edge of every page at Y, as one signature with one StampAnnot per
	// page. Page and X are ignored.
	Riding bool
}

// Options configure Seal.
type Options struct {
	// Signer is the signing key; it may live in an HSM. SM2 keys sign the
	// SES_Signature with SM2/SM3 (GB/T 38540 §7.2); ECDSA keys, where the
	// seal's certificate holds one, with ECDSA over SHA-256.
	Signer crypto.Signer
	// Cert is the signer's certificate; it must be in the seal's certList.
	Cert *smx509.Certificate
	// SealData is the DER GB/T 38540 SESeal (its .esl), embedded in the
	// SES_Signature and stored alongside as Seal.esl.
	SealData []byte
	// Placement is where the stamp goes.
	Placement Placement
	// ProtectAll puts Signatures.xml among the references too (the
	// whole-document protection mode of GB/T 33190 §18.2.2): no signature
	// may follow without breaking this one. Otherwise later signatures
	// (continue-sign) leave it valid.
	ProtectAll bool
	// Time is the signing time (SignatureDateTime, TBS_Sign timeInfo).
	// Zero means now.
	Time time.Time
	// Provider names the software in SignedInfo/Provider; empty means
	// "sealpipe".
	Provider string
	// ProviderVersion and Company fill Provider's Version and Company
	// attributes (GB/T 33190 §18.2.2, Table 68); empty means this build's
	// module version and "sealpipe".
	ProviderVersion, Company string
	// MaxInputSize bounds the input; zero means DefaultMaxInputSize.
	MaxInputSize int64
}

// Sentinel errors of sealing. Errors returned by [Seal] wrap one of them
// with %w and quote the input at fault; where package ofd refused the
// package, its error (wrapping its own sentinel, such as ofd.ErrDuplicate)
// is wrapped too. Test with errors.Is.
var (
	// ErrMalformed reports an input that is not a readable OFD package:
	// not a ZIP archive, no OFD.xml or Document.xml, XML that is not well
	// formed or holds a DOCTYPE, unsafe or duplicate entry names, a
	// signature description that cannot be read.
	ErrMalformed = errors.New("ofdseal: malformed OFD package")
	// ErrTooLarge reports an input above Options.MaxInputSize (or
	// [DefaultMaxInputSize]), or a package beyond package ofd's limits;
	// either way ofd.ErrTooLarge is wrapped too.
	ErrTooLarge = errors.New("ofdseal: input too large")
	// ErrNoPage reports a Placement.Page the document does not have.
	ErrNoPage = errors.New("ofdseal: no such page")
	// ErrPlacement reports a stamp box that is empty, not finite or not
	// inside the page.
	ErrPlacement = errors.New("ofdseal: invalid placement")
	// ErrSigner reports a missing or unusable signer: no key, no
	// certificate, a certificate that does not hold the key, a key that is
	// neither SM2 nor ECDSA P-256, or a signing failure.
	ErrSigner = errors.New("ofdseal: signer")
	// ErrSeal reports SealData that is not a GB/T 38540 version 4 SESeal
	// listing the signer's certificate.
	ErrSeal = errors.New("ofdseal: unusable seal")
	// ErrNoChangesPermitted reports a document with a signature that
	// protects the parts a new signature must change — Signatures.xml (the
	// whole-document protection mode of GB/T 33190 §18.2.2) or OFD.xml:
	// sealing it would break that signature, so it is refused. It is the
	// OFD counterpart of pdfseal.ErrNoChangesPermitted.
	ErrNoChangesPermitted = errors.New("ofdseal: an existing signature protects the whole document")
)

// Seal writes a new OFD package: every part of in carried over byte for
// byte (its compressed bytes and headers unchanged) except OFD.xml, whose
// DocBody gains a Signatures entry on the first signature, and
// Signatures.xml; plus the new Signs/Sign_N/ folder with Signature.xml,
// SignedValue.dat (the DER SES_Signature over SM3(Signature.xml), its
// propertyInfo that file's path) and Seal.esl (GB/T 33190 §18, GB/T 38540
// §7.2). The output is built in memory and written with a single Write
// only when complete: on error nothing is written.
//
// The seal goes on the first document (DocBody) of the package. Its
// Signature.xml protects (References, §18.2.2 Table 69, SM3 CheckValues)
// every file of the package — earlier signatures' files and OFD.xml
// included — and its own Seal.esl, as ofdrw does
// (../shared/conformance/ofd/SESV4SignDoc.ofd, h.ofd); it leaves out
// Signatures.xml unless Options.ProtectAll, so a later seal leaves this
// one valid. A document an existing signature protects that way is
// refused with [ErrNoChangesPermitted].
func Seal(ctx context.Context, w io.Writer, in []byte, opts Options) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	limit := opts.MaxInputSize
	if limit <= 0 {
		limit = DefaultMaxInputSize
	}
	if int64(len(in)) > limit {
		return fmt.Errorf("%w: %w: %d bytes, the limit is %d", ErrTooLarge, ofd.ErrTooLarge, len(in), limit)
	}
	s, err := newSealer(&opts)
	if err != nil {
		return err
	}
	p, err := ofd.Open(in, ofd.Limits{})
	if err != nil {
		return readerErr(err)
	}
	if err := s.plan(p); err != nil {
		return err
	}
	out, err := s.build(ctx, in, p)
	if err != nil {
		return err
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("ofdseal: writing the sealed document: %w", err)
	}
	return nil
}

// readerErr maps an error of package ofd onto Seal's sentinels, keeping it
// wrapped.
func readerErr(err error) error {
	switch {
	case errors.Is(err, ofd.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}
