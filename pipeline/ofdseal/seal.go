package ofdseal

import (
	"context"
	"crypto"
	"errors"
	"io"
	"time"

	"github.com/emmansun/gmsm/smx509"
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
	// MaxInputSize bounds the input; zero means DefaultMaxInputSize.
	MaxInputSize int64
}

// ErrNotImplemented is returned by Seal until OFD sealing lands.
var ErrNotImplemented = errors.New("ofdseal: sealing not implemented yet")

// Seal writes a new OFD package: every part of in carried over byte for
// byte (its compressed bytes and headers unchanged) except OFD.xml, whose
// DocBody gains a Signatures entry on the first signature, and
// Signatures.xml; plus the new Signs/Sign_N/ folder with Signature.xml,
// SignedValue.dat (the DER SES_Signature over SM3(Signature.xml), its
// propertyInfo that file's path) and Seal.esl (GB/T 33190 §18, GB/T 38540
// §7.2). The output is built in memory and written with a single Write
// only when complete: on error nothing is written.
func Seal(ctx context.Context, w io.Writer, in []byte, opts Options) error {
	return ErrNotImplemented
}
