// Package report is the model of sealpipe's verification reports, batch
// reports and rejection records, and their JSON form.
//
// Verification follows the idea of ETSI EN 319 102-1: each signature ends in
// one of three indications — TOTAL_PASSED, TOTAL_FAILED or INDETERMINATE —
// derived from a list of checks, each with its own result and, where it did
// not pass, a sub-indication saying why. The checks are the GB/T 38540 §6.3
// and §7.3 verification steps plus the seal's status in the registry.
package report

import (
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Indication is the overall verdict on a signature or a document.
type Indication string

// The three verdicts of ETSI EN 319 102-1.
const (
	// Passed: every check passed.
	Passed Indication = "TOTAL_PASSED"
	// Failed: a check proved the signature or the seal invalid.
	Failed Indication = "TOTAL_FAILED"
	// Indeterminate: nothing failed, but something could not be established,
	// such as a certificate chain to a trusted root.
	Indeterminate Indication = "INDETERMINATE"
)

// Result is the outcome of one check.
type Result string

// Check outcomes.
const (
	OK      Result = "PASSED"
	NotOK   Result = "FAILED"
	Unknown Result = "INDETERMINATE"
	Skipped Result = "NOT_APPLICABLE"
)

// Sub-indications explaining a check that did not pass (ETSI EN 319 102-1 §5.1.3 names where one fits).
const (
	SubFormatFailure    = "FORMAT_FAILURE"
	SubHashFailure      = "HASH_FAILURE"
	SubSigCryptoFailure = "SIG_CRYPTO_FAILURE"
	SubRevoked          = "REVOKED"
	SubExpired          = "EXPIRED"
	SubNotYetValid      = "NOT_YET_VALID"
	SubNoChain          = "NO_CERTIFICATE_CHAIN_FOUND"
	SubChainConstraints = "CHAIN_CONSTRAINTS_FAILURE"
	SubSignerNotInSeal  = "SIGNER_NOT_IN_SEAL"
	SubSealNotActive    = "SEAL_NOT_ACTIVE"
	// SubSealNotRegistered: the configured seal registry does not hold
	// this seal (no entry for its code, or a different seal under that
	// code). ETSI EN 319 102-1 has no sub-indication for it; the check is
	// INDETERMINATE, never FAILED, since a registry only speaks for the
	// seals it registered — the seal's authenticity is the seal-maker
	// checks' to establish.
	SubSealNotRegistered    = "SEAL_NOT_REGISTERED"
	SubUnsignedChanges      = "UNSIGNED_CHANGES"
	SubAlgorithmUnsupported = "CRYPTO_CONSTRAINTS_FAILURE"
	// SubTryLater: the revocation status of a certificate could not be
	// established now (a CRL unreachable or stale); a later verification
	// may conclude.
	SubTryLater = "TRY_LATER"
)

// Check is one verification step and its outcome.
type Check struct {
	// Name identifies the step, e.g. "seal-maker-signature".
	Name string `json:"name"`
	// Clause cites the standard clause the step implements.
	Clause string `json:"clause,omitempty"`
	// Result is the step's outcome.
	Result Result `json:"result"`
	// SubIndication says why a step did not pass.
	SubIndication string `json:"sub_indication,omitempty"`
	// Detail is a human-readable explanation.
	Detail string `json:"detail,omitempty"`
}

// Signature is the verification of one signature in a document.
type Signature struct {
	// Field is the PDF signature field's name.
	Field string `json:"field"`
	// Format is the signature's format, e.g. "adbe.pkcs7.detached (SM2/SM3)".
	Format string `json:"format"`
	// Signer is the signing certificate's subject.
	Signer string `json:"signer,omitempty"`
	// SignerSerial is the signing certificate's serial number, hex.
	SignerSerial string `json:"signer_serial,omitempty"`
	// SigningTime is the time the signature claims.
	SigningTime time.Time `json:"signing_time,omitzero"`
	// SealID and SealName identify the GB/T 38540 seal the signature applies.
	SealID   string `json:"seal_id,omitempty"`
	SealName string `json:"seal_name,omitempty"`
	// SealPicture is the seal's picture as the seal embeds it, kept only
	// by a verifier asked to (verify.Verifier.Pictures): a report for a
	// person to read; the pipeline's stored reports leave it out.
	SealPicture *Picture `json:"seal_picture,omitempty"`
	// CoversWholeDocument reports whether the signature covers every byte of the file.
	CoversWholeDocument bool `json:"covers_whole_document"`
	// Indication is the verdict derived from Checks.
	Indication Indication `json:"indication"`
	// Checks lists the steps in the order they ran.
	Checks []Check `json:"checks"`
}

// Picture is a seal's picture, SES_ESPictrueInfo (GB/T 38540 §6.1).
type Picture struct {
	// Type is the image format as the seal names it: "PNG", "JPG",
	// "GIF", "BMP", "SVG", "OFD"…
	Type string `json:"type"`
	// Data is the image file (base64 in JSON).
	Data []byte `json:"data"`
	// WidthMM and HeightMM are the seal's printed size in millimetres.
	WidthMM  int `json:"width_mm"`
	HeightMM int `json:"height_mm"`
}

// Conclude sets Indication from the checks: failed if any failed, else
// indeterminate if any was indeterminate, else passed.
func (s *Signature) Conclude() {
	s.Indication = Combine(resultsOf(s.Checks)...)
}

func resultsOf(cs []Check) []Indication {
	out := make([]Indication, 0, len(cs))
	for _, c := range cs {
		switch c.Result {
		case NotOK:
			out = append(out, Failed)
		case Unknown:
			out = append(out, Indeterminate)
		}
	}
	return out
}

// Combine merges verdicts: Failed beats Indeterminate beats Passed. No
// verdicts at all combine to Passed.
func Combine(in ...Indication) Indication {
	out := Passed
	for _, i := range in {
		switch {
		case i == Failed:
			return Failed
		case i == Indeterminate:
			out = Indeterminate
		}
	}
	return out
}

// Document is the verification report of one document.
type Document struct {
	// Document is the document's name or object key.
	Document string `json:"document"`
	// SM3 is the hex SM3 digest of the verified bytes.
	SM3 string `json:"sm3"`
	// Size is the document's length in bytes.
	Size int64 `json:"size"`
	// VerificationCode is the code the document is looked up by (GET
	// /v/<code>), in a report of a document the pipeline sealed
	// (pipeline.DocumentCode); empty in other reports.
	VerificationCode string `json:"verification_code,omitempty"`
	// VerifiedAt is when the verification ran.
	VerifiedAt time.Time `json:"verified_at"`
	// Indication is the verdict over all signatures. A document with no
	// signature is INDETERMINATE. `sealpipe verify` leaves it empty (and
	// omitted) for a file it could not read, which has no verdict but an
	// Error.
	Indication Indication `json:"indication,omitempty"`
	// Signatures lists each signature, in file order.
	Signatures []Signature `json:"signatures"`
	// Error explains why the document could not be read, if so.
	Error string `json:"error,omitempty"`
}

// Conclude sets the document's Indication from its signatures.
func (d *Document) Conclude() {
	if len(d.Signatures) == 0 || d.Error != "" {
		d.Indication = Indeterminate
		return
	}
	in := make([]Indication, len(d.Signatures))
	for i := range d.Signatures {
		in[i] = d.Signatures[i].Indication
	}
	d.Indication = Combine(in...)
}

// Code is a stable, machine-readable reason a document or a batch was
// refused, such as "DIGEST_MISMATCH". Package pipeline defines the codes it
// records (pipeline.CodeDigestMismatch and its siblings).
type Code string

// Rejection records why a document, or a whole batch, was refused.
type Rejection struct {
	// Department and Batch identify the batch.
	Department string `json:"department"`
	Batch      string `json:"batch"`
	// Document is the refused document's name; empty when the whole batch is refused.
	Document string `json:"document,omitempty"`
	// Code is a stable machine-readable reason, e.g. "DIGEST_MISMATCH".
	Code Code `json:"code"`
	// Reason explains the refusal to a person.
	Reason string `json:"reason"`
	// At is when the refusal was recorded.
	At time.Time `json:"at"`
}

// Outcome is what became of one document of a batch.
type Outcome string

// Document outcomes.
const (
	OutcomeSealed   Outcome = "sealed"
	OutcomeRejected Outcome = "rejected"
)

// BatchEntry is one document's line in a batch report.
type BatchEntry struct {
	Document   string     `json:"document"`
	Outcome    Outcome    `json:"outcome"`
	Indication Indication `json:"indication,omitempty"`
	// VerificationCode is a sealed document's verification code, as its
	// report gives it (Document.VerificationCode).
	VerificationCode string `json:"verification_code,omitempty"`
	// Code and Reason explain a rejection.
	Code   Code   `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Sealed, Report and Rejection are the object keys of the outputs.
	Sealed    string `json:"sealed,omitempty"`
	Report    string `json:"report,omitempty"`
	Rejection string `json:"rejection,omitempty"`
}

// Batch is the report of a whole batch, written once every document has an outcome.
type Batch struct {
	Department string    `json:"department"`
	Batch      string    `json:"batch"`
	Approver   string    `json:"approver,omitempty"`
	ApprovedAt time.Time `json:"approved_at,omitzero"`
	// Rejection is set when the whole batch was refused.
	Rejection *Rejection `json:"rejection,omitempty"`
	Sealed    int        `json:"sealed"`
	Rejected  int        `json:"rejected"`
	// Documents lists every document, in name order.
	Documents []BatchEntry `json:"documents"`
	// UsageLog names, per seal used, the checkpoint of the usage-log
	// segment that lists the batch's usage records (package audit): a log
	// cut short before it no longer shows them.
	UsageLog []LogCheckpoint `json:"usage_log,omitempty"`
	// CompletedAt is when the report was written.
	CompletedAt time.Time `json:"completed_at"`
}

// LogCheckpoint identifies a segment of a seal's usage log.
type LogCheckpoint struct {
	Seal string `json:"seal"`
	Seq  int    `json:"seq"`
	SM3  string `json:"sm3"`
}

// Marshal encodes any report value as indented JSON with a trailing newline.
func Marshal(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// codeEncoding is Crockford's base32: digits and capitals without I, L, O
// and U, so that a code read aloud or typed from paper is unambiguous.
var codeEncoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// ErrBadCode means a verification code is not one VerificationCode makes.
var ErrBadCode = errors.New("report: not a verification code")

// VerificationCode is the short code a person types to look up a sealed
// document (GET /v/<code>): the first 80 bits of an SM3 digest, sm3 in
// hex, in Crockford's base32 — 16 characters in groups of four, like
// "7KQ3-M0ZC-5TW8-1HXA". It returns ErrBadCode if sm3 is not a hex SM3
// digest.
func VerificationCode(sm3 string) (string, error) {
	d, err := hex.DecodeString(sm3)
	if err != nil || len(d) != 32 {
		return "", fmt.Errorf("%w: %q is not an SM3 digest in hex", ErrBadCode, sm3)
	}
	c := codeEncoding.EncodeToString(d[:10])
	return c[:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:], nil
}

// ParseVerificationCode returns code in VerificationCode's form, as people
// type it: in any case, with or without the dashes or with spaces, and
// with I or L for 1 and O for 0 as Crockford's base32 reads them. It
// returns ErrBadCode for anything else.
func ParseVerificationCode(code string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch r {
		case '-', ' ':
			continue
		case 'I', 'L':
			r = '1'
		case 'O':
			r = '0'
		}
		b.WriteRune(r)
	}
	c := b.String()
	if len(c) != 16 {
		return "", fmt.Errorf("%w: %q has %d of the 16 characters", ErrBadCode, code, len(c))
	}
	if _, err := codeEncoding.DecodeString(c); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadCode, code, err)
	}
	return c[:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:], nil
}
