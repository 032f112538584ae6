package pdfseal

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by [Seal] and [Verify], and the Err of a
// [Result], wrap one of them with %w and quote the input at fault; test with
// errors.Is.
var (
	// ErrMalformed reports input that is not a readable PDF: empty, no
	// header, a broken cross-reference chain, a parser failure.
	ErrMalformed = errors.New("pdfseal: malformed PDF")
	// ErrEncrypted reports an encrypted PDF. Sealing one would need its
	// keys to encrypt the appended objects; it is refused.
	ErrEncrypted = errors.New("pdfseal: encrypted PDF")
	// ErrTooLarge reports input above Options.MaxInputSize (or the default
	// limit of [DefaultMaxInputSize]).
	ErrTooLarge = errors.New("pdfseal: input too large")
	// ErrNoPage reports a Placement.Page the document does not have.
	ErrNoPage = errors.New("pdfseal: no such page")
	// ErrPlacement reports a placement box that is empty, not finite or
	// not inside the page, placement fields that do not combine, or a
	// keyword the page does not show.
	ErrPlacement = errors.New("pdfseal: invalid placement")
	// ErrImage reports a seal picture that is not a usable PNG.
	ErrImage = errors.New("pdfseal: invalid seal image")
	// ErrSigner reports a missing or unusable signer: no key, no
	// certificate, a certificate that does not match the key, a key type
	// with no PDF signature format, or a signing failure.
	ErrSigner = errors.New("pdfseal: signer")
	// ErrNoChangesPermitted reports a document certified with DocMDP
	// permission P=1 (ISO 32000-1 §12.8.2.2): its author permits no change,
	// so sealing it would break the certification. It is refused.
	ErrNoChangesPermitted = errors.New("pdfseal: the document's certification permits no changes")
	// ErrCertify reports a certification (Options.Certify) that cannot be
	// made: a DocMDP permission other than 1–3, or a document that is
	// signed or certified already, as a certification signature must be
	// the first (ISO 32000-1 §12.8.1).
	ErrCertify = errors.New("pdfseal: cannot certify")

	// ErrSignatureFormat reports a signature whose dictionary, ByteRange or
	// CMS structure is broken. The signature is Invalid.
	ErrSignatureFormat = errors.New("pdfseal: malformed signature")
	// ErrDigestMismatch reports that the bytes a signature covers do not
	// hash to the digest it signed. The signature is Invalid; the error is a
	// [*DigestMismatchError].
	ErrDigestMismatch = errors.New("pdfseal: document digest mismatch")
	// ErrBadSignature reports a signature value that does not verify with
	// the signer's public key. The signature is Invalid.
	ErrBadSignature = errors.New("pdfseal: signature value does not verify")
	// ErrUnsupported reports a signature this package cannot check: an
	// unknown SubFilter, digest or signature algorithm, several signers.
	// The signature is Indeterminate.
	ErrUnsupported = errors.New("pdfseal: unsupported signature")
	// ErrNoSignerCertificate reports a CMS that does not carry its signer's
	// certificate. The signature is Indeterminate.
	ErrNoSignerCertificate = errors.New("pdfseal: signer certificate not found")
	// ErrModified reports that a revision after a signature changed the
	// document in a way the signature does not permit (Result.ChangesErr):
	// page content, resources, pages, annotations or anything else but
	// further signatures and what the document's DocMDP level allows. The
	// signature's document is no longer the one shown; the error is a
	// [*ModificationError].
	ErrModified = errors.New("pdfseal: document changed after signing")
	// ErrTimeStamp reports a signature timestamp (RFC 3161) that failed:
	// when sealing, the timestamp authority's error or a token that does
	// not stamp the signature; in a Result, a token that does not stamp the
	// signature value or whose TSA signature does not verify (Invalid), or
	// that cannot be checked (Indeterminate). It wraps the cause (package
	// tsa's or ses's error).
	ErrTimeStamp = errors.New("pdfseal: signature timestamp")
	// ErrWeakAlgorithm reports a signature that verifies but relies on a
	// broken digest (SHA-1, MD5). The signature is Indeterminate, as ETSI EN
	// 319 102-1 rules for a cryptographic-constraints failure.
	ErrWeakAlgorithm = errors.New("pdfseal: weak algorithm")
)

// DigestMismatchError details an [ErrDigestMismatch]: the digest the signer
// signed and the digest of the bytes the ByteRange covers now.
type DigestMismatchError struct {
	Algorithm string // digest algorithm, e.g. "SM3"
	Signed    []byte // messageDigest attribute (or the digest implied by the signature)
	Computed  []byte // digest of the ByteRange bytes
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("%v: %s of the signed byte ranges is %x, the signature says %x", ErrDigestMismatch, e.Algorithm, e.Computed, e.Signed)
}

// Unwrap makes errors.Is(err, ErrDigestMismatch) hold.
func (e *DigestMismatchError) Unwrap() error { return ErrDigestMismatch }

// ModificationError details an [ErrModified]: the first change, in the
// first revision that made one, beyond what the signature permits.
type ModificationError struct {
	Revision int         // the revision that made the change, numbered as Result.Revision
	Level    ChangeLevel // the kind of change
	Permits  ChangeLevel // the most the signature permits
	Change   string      // what changed, e.g. "changes page 1 (object 4): /Contents"
}

func (e *ModificationError) Error() string {
	return fmt.Sprintf("%v: revision %d %s; the signature permits %s", ErrModified, e.Revision, e.Change, e.Permits.permitted())
}

// Unwrap makes errors.Is(err, ErrModified) hold.
func (e *ModificationError) Unwrap() error { return ErrModified }
