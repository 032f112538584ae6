package ofdseal

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors of verification. The Err fields of a [Result] wrap one of
// them with %w and quote the part at fault; test with errors.Is. Errors
// returned by [Verify] itself wrap package ofd's sentinels (the package
// could not be read) or the context's error.
var (
	// ErrFormat reports a signature whose Signature.xml, SignedValue or
	// seal structure is missing or malformed. The signature is Invalid.
	ErrFormat = errors.New("ofdseal: malformed signature")
	// ErrDigestMismatch reports a protected file, or the Signature.xml
	// under a seal's dataHash or a SignedData's messageDigest, that does
	// not hash to the signed value; the error is a [*DigestMismatchError].
	// The signature is Invalid.
	ErrDigestMismatch = errors.New("ofdseal: digest mismatch")
	// ErrBadSignature reports a signature value that does not verify with
	// the signer's key. The signature is Invalid.
	ErrBadSignature = errors.New("ofdseal: signature value does not verify")
	// ErrUnsupported reports what cannot be checked: an unknown signature
	// type or algorithm, a weak or unknown CheckMethod. The signature is
	// Indeterminate.
	ErrUnsupported = errors.New("ofdseal: unsupported signature")
	// ErrNoSignerCertificate reports a signature whose signer's
	// certificate is neither inside it nor among those supplied with
	// [WithCertificates]. The signature is Indeterminate.
	ErrNoSignerCertificate = errors.New("ofdseal: signer certificate not found")
	// ErrSigningTime reports a SignedData whose signing time falls outside
	// its signer certificate's validity: gmsm's pkcs7 then stops before
	// checking the value. The signature is Indeterminate.
	ErrSigningTime = errors.New("ofdseal: signing time outside the signer certificate's validity")
	// ErrModified reports files of the package that neither the signature
	// nor any later one protects: they were changed or added after
	// signing. The error is a [*ModificationError].
	ErrModified = errors.New("ofdseal: document changed after signing")
	// ErrSealMismatch reports a Type="Seal" signature whose seal file
	// (Signature.xml Seal/BaseLoc, GB/T 33190 §18.2.2) is missing or is not
	// byte for byte the SESeal its SES_Signature embeds and signs
	// (GB/T 38540 §7.1 TBS_Sign.eseal): the seal the package shows is not
	// the seal signed. The error is a [*SealFileError]; the signature is
	// Invalid.
	ErrSealMismatch = errors.New("ofdseal: seal file is not the seal signed")
	// ErrTimeStampTime reports a timestamp token whose genTime is earlier
	// than the signing time the signature claims, beyond
	// [TimeStampTolerance] (GB/T 38540 §7.3 h): the signature value existed
	// before the time it claims. The error is a [*TimeStampTimeError].
	ErrTimeStampTime = errors.New("ofdseal: timestamp earlier than the claimed signing time")
)

// SealFileError details an [ErrSealMismatch].
type SealFileError struct {
	// Part is the seal file's part name (as resolved when missing).
	Part string
	// Missing is true when the package holds no such part.
	Missing bool
	// File and Signed are the seal file's SESeal ID and name, and the
	// embedded seal's ("" when the file does not parse).
	FileID, SignedID string
}

func (e *SealFileError) Error() string {
	if e.Missing {
		return fmt.Sprintf("%v: Seal/BaseLoc names %q, which the package does not hold", ErrSealMismatch, e.Part)
	}
	file := "does not parse as a SESeal"
	if e.FileID != "" {
		file = fmt.Sprintf("holds seal %s", e.FileID)
	}
	return fmt.Sprintf("%v: %q %s, but the SES_Signature signs seal %s (different bytes)", ErrSealMismatch, e.Part, file, e.SignedID)
}

// Unwrap makes errors.Is(err, ErrSealMismatch) hold.
func (e *SealFileError) Unwrap() error { return ErrSealMismatch }

// TimeStampTimeError details an [ErrTimeStampTime].
type TimeStampTimeError struct {
	GenTime, SigningTime time.Time
}

func (e *TimeStampTimeError) Error() string {
	return fmt.Sprintf("%v: the token's genTime %s is %s before the claimed signing time %s", ErrTimeStampTime,
		e.GenTime.Format(time.RFC3339), e.SigningTime.Sub(e.GenTime).Round(time.Second), e.SigningTime.Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrTimeStampTime) hold.
func (e *TimeStampTimeError) Unwrap() error { return ErrTimeStampTime }

// DigestMismatchError details an [ErrDigestMismatch].
type DigestMismatchError struct {
	// What was compared: "reference", "dataHash" or "messageDigest".
	What string
	// Part is the file hashed; FileRef the location as the signature wrote
	// it (references only).
	Part, FileRef string
	// Algorithm names the digest, e.g. "SM3".
	Algorithm string
	// Signed is the digest the signature holds; Computed that of the file
	// now (nil when the file is missing).
	Signed, Computed []byte
}

func (e *DigestMismatchError) Error() string {
	if e.Computed == nil {
		return fmt.Sprintf("%v: %s %q names a file the package does not hold", ErrDigestMismatch, e.What, e.FileRef)
	}
	return fmt.Sprintf("%v: %s: %s of %q is %x, the signature says %x", ErrDigestMismatch, e.What, e.Algorithm, e.Part, e.Computed, e.Signed)
}

// Unwrap makes errors.Is(err, ErrDigestMismatch) hold.
func (e *DigestMismatchError) Unwrap() error { return ErrDigestMismatch }

// ModificationError details an [ErrModified]: the files no signature from
// this one on protects.
type ModificationError struct {
	Files []string
}

func (e *ModificationError) Error() string {
	const most = 5
	list := e.Files
	more := ""
	if len(list) > most {
		list, more = list[:most], fmt.Sprintf(" and %d more", len(e.Files)-most)
	}
	return fmt.Sprintf("%v: %d file(s) protected neither by this signature nor by a later one: %s%s", ErrModified, len(e.Files), strings.Join(list, ", "), more)
}

// Unwrap makes errors.Is(err, ErrModified) hold.
func (e *ModificationError) Unwrap() error { return ErrModified }
