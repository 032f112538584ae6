package ofdseal

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/ofd"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// Status is the integrity verdict on one signature, in the terms of ETSI EN
// 319 102-1: it covers the signed files and the signature value only, not
// trust in the signer.
type Status int

const (
	// Indeterminate means integrity could not be established: an
	// unsupported algorithm, an unknown signer. It is the zero value.
	Indeterminate Status = iota
	// Valid means every reference and the signature value verify.
	Valid
	// Invalid means a structural or cryptographic failure.
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

// Check names a verification step of a [Result].
type Check string

// The steps, in the order they run.
const (
	// CheckFormat: Signature.xml, its SignedValue and the structure in it
	// can be read (GB/T 33190 §18.2.2; GB/T 38540 §7.3 a).
	CheckFormat Check = "format"
	// CheckSignatureValue: the signature value over Signature.xml, and for
	// a seal its dataHash (GB/T 38540 §7.3 b, g).
	CheckSignatureValue Check = "signature-value"
	// CheckReferences: each Reference's CheckValue against its file
	// (GB/T 33190 §18.2.2, Table 69).
	CheckReferences Check = "references"
	// CheckSealFile: a seal's Seal/BaseLoc file, if named, is the SESeal
	// its SES_Signature signs (GB/T 33190 §18.2.2 Seal; GB/T 38540 §7.3 a,
	// §7.1 TBS_Sign.eseal). See [ErrSealMismatch]. It comes after the
	// references: a seal file changed after signing fails those first.
	CheckSealFile Check = "seal-file"
	// CheckModifications: no file of the signature's document is left
	// unprotected by this signature and every later one of that document.
	CheckModifications Check = "modifications"
	// CheckTimeStamp: a seal's timestamp token, if present, stamps the
	// signature value, verifies with the TSA certificate it carries and is
	// not earlier than the claimed signing time (GB/T 38540 §7.3 h). Trust
	// in the TSA is the caller's to judge.
	CheckTimeStamp Check = "timestamp"
)

// Result is the outcome of checking one Signature of an OFD document.
type Result struct {
	// Document is the index of the DocBody in OFD.xml; ID and Type are
	// the Signatures.xml entry's (Type is ofd.TypeSeal or ofd.TypeSign,
	// or what was written).
	Document int
	ID, Type string
	// Part is the Signature.xml's part name.
	Part string
	// Format describes the signature value, e.g. "GB/T 38540
	// SES_Signature v4", "GB/T 35275 SignedData", "SM2 signature value".
	Format string

	// Status is the verdict on the format, the signature value, the seal
	// file and the references; the coverage verdict is ModifiedErr, the
	// timestamp's TimeStampErr. Failed names the first check that did not
	// pass, Err says why (ModifiedErr, then TimeStampErr, when only they
	// failed); both are empty when everything passed.
	Status Status
	Failed Check
	Err    error
	// ValueErr is nil when the signature value (and a seal's dataHash)
	// verify; SealFileErr is nil unless a seal's Seal/BaseLoc file is not
	// the seal signed ([ErrSealMismatch]); ReferencesErr is nil when every
	// reference matches; ModifiedErr is nil when no file of the document
	// escapes protection (see [ErrModified]).
	ValueErr, SealFileErr, ReferencesErr, ModifiedErr error

	// TimeStamp is the seal's timestamp token (SES_Signature timeStamp),
	// nil when absent or not a token. TimeStampErr is nil when there is
	// none or it checks out; otherwise it wraps ses.ErrTimeStamp (not a
	// token), ses.ErrTimeStampMismatch, ses.ErrSignature,
	// ses.ErrTimeStampSigner, ses.ErrUnsupportedAlgorithm or
	// [ErrTimeStampTime].
	TimeStamp    *ses.TimeStampToken
	TimeStampErr error

	// References lists each reference's outcome.
	References []ReferenceResult
	// WholeProtected is true when Signatures.xml is among the references:
	// no further signature may be added without breaking this one.
	WholeProtected bool
	// CoveredLater lists the files this signature does not protect that a
	// later signature does; Modified those no signature from this one on
	// protects.
	CoveredLater, Modified []string

	// Signature is the parsed Signature.xml (nil if unreadable).
	Signature *ofd.Signature
	// SES is the GB/T 38540 / GM/T 0031 signature of a Seal, nil for a
	// Sign; Seal is the seal it embeds.
	SES  *ses.Signature
	Seal *ses.Seal
	// Signer is the signer's certificate, nil when unknown; Certificates
	// are all those the signature carries, for chain building.
	Signer       *smx509.Certificate
	Certificates []*smx509.Certificate
	// SigningTime is the time the signature claims: a seal's timeInfo, a
	// SignedData's signingTime, else SignatureDateTime. Zero if none.
	SigningTime time.Time
	// Stamps are where the seal appears (Signature.xml StampAnnot).
	Stamps []ofd.StampAnnot

	covered map[string]bool // parts the references name
}

// ReferenceResult is the outcome of one Reference.
type ReferenceResult struct {
	FileRef string // as written
	Part    string // the part it names, "" when there is none
	Err     error  // nil when the CheckValue matches
}

// Option adjusts [Verify].
type Option func(*options)

type options struct {
	certs  []*smx509.Certificate
	limits ofd.Limits
}

// WithCertificates supplies candidate signer certificates for Type="Sign"
// signatures that carry none (a bare SM2 value).
func WithCertificates(certs ...*smx509.Certificate) Option {
	return func(o *options) { o.certs = append(o.certs, certs...) }
}

// WithLimits sets the limits the package is opened under (see ofd.Limits).
func WithLimits(l ofd.Limits) Option {
	return func(o *options) { o.limits = l }
}

// Verify checks every signature of every document in an OFD package. It
// returns an error only when the package, or a Signatures.xml it names,
// cannot be read (wrapping package ofd's sentinels) or ctx ends; every
// problem with a signature is reported in its Result. Results are in
// document order, then in Signatures.xml order, which is signing order. A
// package without signatures gives an empty slice.
func Verify(ctx context.Context, in []byte, opts ...Option) ([]Result, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	p, err := ofd.Open(in, o.limits)
	if err != nil {
		return nil, err
	}
	var all []Result
	for bi, body := range p.Bodies {
		list, err := p.SignatureList(body)
		if err != nil {
			return nil, err
		}
		if list == nil {
			continue
		}
		results := make([]Result, len(list.Signatures))
		for i, e := range list.Signatures {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r := &results[i]
			r.Document, r.ID, r.Type, r.Part = bi, e.ID, e.Type, e.BaseLoc
			if err := verifyOne(ctx, p, &o, r); err != nil {
				return nil, err
			}
			r.WholeProtected = r.covered[list.Name]
		}
		judgeCoverage(p, docFiles(p, bi), list, results)
		for i := range results {
			results[i].conclude()
		}
		all = append(all, results...)
	}
	return all, nil
}

// statusOf maps an error onto the verdict it implies.
func statusOf(err error) Status {
	switch {
	case err == nil:
		return Valid
	case errors.Is(err, ErrUnsupported), errors.Is(err, ErrNoSignerCertificate), errors.Is(err, ErrSigningTime):
		return Indeterminate
	}
	return Invalid
}

// conclude sets Status, Failed and Err from the per-check errors: Invalid
// beats Indeterminate beats Valid.
func (r *Result) conclude() {
	r.Status = Valid
	for _, c := range []struct {
		check Check
		err   error
	}{{CheckSignatureValue, r.ValueErr}, {CheckReferences, r.ReferencesErr}, {CheckSealFile, r.SealFileErr}} {
		if s := statusOf(c.err); (s == Invalid && r.Status != Invalid) || (s == Indeterminate && r.Status == Valid) {
			r.Status, r.Failed, r.Err = s, c.check, c.err
		}
	}
	if errors.Is(r.ValueErr, ErrFormat) {
		r.Failed = CheckFormat
	}
	if r.Failed == "" && r.ModifiedErr != nil {
		r.Failed, r.Err = CheckModifications, r.ModifiedErr
	}
	if r.Failed == "" && r.TimeStampErr != nil {
		r.Failed, r.Err = CheckTimeStamp, r.TimeStampErr
	}
}

// verifyOne checks one signature: its value, then its references. It
// returns an error only when ctx ends.
func verifyOne(ctx context.Context, p *ofd.Package, o *options, r *Result) error {
	sig, xmlBytes, err := p.ReadSignature(r.Part)
	if err != nil {
		r.ValueErr = fmt.Errorf("%w: %w", ErrFormat, err)
		return nil
	}
	r.Signature, r.Stamps = sig, sig.StampAnnots
	r.SigningTime, _ = sig.Time()
	if err := r.verifyValue(p, o, sig, xmlBytes); err != nil {
		r.ValueErr = err
	}
	if r.SES != nil {
		r.SealFileErr = r.checkSealFile(p, sig)
		r.checkTimeStamp()
	}
	return r.verifyReferences(ctx, p, sig)
}

// checkSealFile compares a seal's Seal/BaseLoc file, if the Signature.xml
// names one, with the SESeal its SES_Signature embeds. GB/T 33190 §18.2.2
// has Seal/BaseLoc point at the electronic seal the signature uses, and
// viewers show the seal (its name, its picture) from that file; GB/T 38540
// §7.1 has the signer sign TBS_Sign.eseal. A file that differs, even one
// the references protect, presents a seal nobody signed: the signature is
// Invalid, as for any other inconsistency the signer's own data proves
// (GB/T 38540 §7.3 a, the format check with the seal), not Indeterminate,
// for nothing is missing to decide it. Bytes are compared as found: the
// seal is signed over its original encoding.
func (r *Result) checkSealFile(p *ofd.Package, sig *ofd.Signature) error {
	if sig.Seal == "" || r.Seal == nil {
		return nil
	}
	name, err := p.Locate(r.Part, sig.Seal)
	switch {
	case errors.Is(err, ofd.ErrNotFound):
		resolved, _ := ofd.Resolve(r.Part, sig.Seal)
		return &SealFileError{Part: resolved, Missing: true, SignedID: r.Seal.ID}
	case err != nil:
		return fmt.Errorf("%w: Seal/BaseLoc: %w", ErrFormat, err)
	}
	if f, _ := p.Entry(name); f.UncompressedSize64 > ses.MaxSize {
		return &SealFileError{Part: name, SignedID: r.Seal.ID}
	}
	data, err := p.Read(name)
	if err != nil {
		return fmt.Errorf("%w: Seal/BaseLoc: %w", ErrFormat, err)
	}
	if bytes.Equal(data, r.Seal.Raw) {
		return nil
	}
	e := &SealFileError{Part: name, SignedID: r.Seal.ID}
	if s, err := ses.ParseSeal(data); err == nil {
		e.FileID = s.ID
	}
	return e
}

// TimeStampTolerance is how much earlier than the claimed signing time a
// timestamp's genTime may be (GB/T 38540 §7.3 h): the signer's and the
// TSA's clocks differ, and RFC 3161 §2.4.2 accuracy is often a second or
// more.
const TimeStampTolerance = 5 * time.Minute

// checkTimeStamp checks a seal's SES_Signature timeStamp, if any (GB/T
// 38540 §7.1: an RFC 3161 token over the signature value; §7.3 h): that it
// is a token, that its messageImprint is the hash of the signature BIT
// STRING's value, that it verifies with the TSA certificate it carries,
// and that genTime is not earlier than the claimed signing time less
// TimeStampTolerance. Whether the TSA is trusted is left to the caller.
func (r *Result) checkTimeStamp() {
	if len(r.SES.TimeStamp) == 0 {
		return
	}
	tok, err := ses.ParseTimeStampToken(r.SES.TimeStamp)
	if err != nil {
		r.TimeStampErr = err
		return
	}
	r.TimeStamp = tok
	if err := tok.Verify(r.SES.SignatureValue); err != nil {
		r.TimeStampErr = err
		return
	}
	if !r.SigningTime.IsZero() && tok.GenTime.Before(r.SigningTime.Add(-TimeStampTolerance)) {
		r.TimeStampErr = &TimeStampTimeError{GenTime: tok.GenTime, SigningTime: r.SigningTime}
	}
}

// verifyValue checks the signature value in SignedValue over xmlBytes.
func (r *Result) verifyValue(p *ofd.Package, o *options, sig *ofd.Signature, xmlBytes []byte) error {
	name, err := p.Locate(r.Part, sig.SignedValue)
	if err != nil {
		return fmt.Errorf("%w: SignedValue: %w", ErrFormat, err)
	}
	if f, _ := p.Entry(name); f.UncompressedSize64 > ses.MaxSize {
		return fmt.Errorf("%w: SignedValue %q of %d bytes exceeds %d", ErrFormat, name, f.UncompressedSize64, ses.MaxSize)
	}
	value, err := p.Read(name)
	if err != nil {
		return fmt.Errorf("%w: SignedValue: %w", ErrFormat, err)
	}
	switch r.Type {
	case ofd.TypeSeal:
		return r.verifySeal(value, xmlBytes)
	case ofd.TypeSign:
		if p7, err := pkcs7.Parse(value); err == nil {
			return r.verifySignedData(p7, xmlBytes)
		}
		return r.verifyBare(o.certs, value, xmlBytes)
	}
	return fmt.Errorf("%w: signature type %q", ErrUnsupported, r.Type)
}

// verifySeal checks a GB/T 38540 / GM/T 0031 SES_Signature: the signature
// over TBS_Sign (§7.3 b) and dataHash = SM3(Signature.xml) (§7.3 g; SHA-256
// for an ECDSA P-256 signature).
func (r *Result) verifySeal(value, xmlBytes []byte) error {
	s, err := ses.ParseSignature(value)
	if err != nil {
		return fmt.Errorf("%w: SignedValue of %q: %w", ErrFormat, r.Part, err)
	}
	r.SES, r.Seal = s, s.Seal
	r.Format = fmt.Sprintf("GB/T 38540 SES_Signature v%d", s.Version)
	if s.Version < 4 {
		r.Format = fmt.Sprintf("GM/T 0031-2014 SES_Signature v%d", s.Version)
	}
	if !s.TimeInfo.IsZero() {
		r.SigningTime = s.TimeInfo
	}
	cert, err := s.Verify()
	if cert == nil {
		cert, _ = ses.ParseCertificate(s.Cert)
	}
	r.Signer = cert
	if cert != nil {
		r.Certificates = []*smx509.Certificate{cert}
	}
	switch {
	case errors.Is(err, ses.ErrSignature):
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	case errors.Is(err, ses.ErrUnsupportedAlgorithm):
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	alg, sum := "SM3", sm3.Sum(xmlBytes)
	want := sum[:]
	if s.SignatureAlgorithm.Equal(ses.OIDECDSAWithSHA256) {
		h := sha256.Sum256(xmlBytes)
		alg, want = "SHA-256", h[:]
	}
	if !bytes.Equal(s.DataHash, want) {
		return &DigestMismatchError{What: "dataHash", Part: r.Part, Algorithm: alg, Signed: s.DataHash, Computed: want}
	}
	return nil
}

// verifySignedData checks a GB/T 35275 SignedData over Signature.xml:
// detached, or carrying Signature.xml or its SM3 digest as content.
func (r *Result) verifySignedData(p7 *pkcs7.PKCS7, xmlBytes []byte) error {
	r.Format = "GB/T 35275 SignedData"
	r.Certificates = p7.Certificates
	r.Signer = p7.GetOnlySigner()
	var t time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &t); err == nil {
		r.SigningTime = t.UTC()
	}
	switch sum := sm3.Sum(xmlBytes); {
	case len(p7.Signers) != 1:
		return fmt.Errorf("%w: SignedData with %d signers, want one", ErrUnsupported, len(p7.Signers))
	case r.Signer == nil:
		return fmt.Errorf("%w: SignedData carries no certificate for its signer", ErrNoSignerCertificate)
	case len(p7.Content) == 0:
		p7.Content = xmlBytes
	case bytes.Equal(p7.Content, xmlBytes):
		r.Format += " (Signature.xml as content)"
	case bytes.Equal(p7.Content, sum[:]):
		r.Format += " (SM3 of Signature.xml as content)"
	default:
		return &DigestMismatchError{What: "SignedData content", Part: r.Part, Algorithm: "SM3", Signed: p7.Content, Computed: sum[:]}
	}
	err := p7.Verify()
	var mm *pkcs7.MessageDigestMismatchError
	var st *pkcs7.InvalidSigningTimeError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &mm) && !errors.As(err, &st) && asWritten(p7, r.Signer):
		return nil
	case errors.As(err, &mm):
		return &DigestMismatchError{What: "messageDigest", Part: r.Part, Algorithm: "SignedData digest", Signed: mm.ExpectedDigest, Computed: mm.ActualDigest}
	case errors.As(err, &st):
		return fmt.Errorf("%w: %w", ErrSigningTime, err)
	case strings.Contains(err.Error(), "unsupported"):
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return fmt.Errorf("%w: %w", ErrBadSignature, err)
}

// asWritten checks the signature value of a SignedData's only signer over
// its signed attributes in the order they are written. RFC 5652 §5.4 wants
// them DER-sorted as a SET OF, and gmsm's pkcs7 re-sorts them before
// verifying; some producers (testImageNotFound.ofd: contentType,
// messageDigest, signingTime) sign them unsorted. pkcs7 checks the
// messageDigest before the value, so by the time the value failed the
// digest has matched; only an SM2 value is retried.
func asWritten(p7 *pkcs7.PKCS7, cert *smx509.Certificate) bool {
	si := p7.Signers[0]
	if len(si.AuthenticatedAttributes) == 0 || cert == nil || !sm2.IsSM2PublicKey(cert.PublicKey) {
		return false
	}
	var attrs []byte
	for _, a := range si.AuthenticatedAttributes {
		der, err := asn1.Marshal(a)
		if err != nil {
			return false
		}
		attrs = append(attrs, der...)
	}
	set, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: attrs})
	if err != nil {
		return false
	}
	return cert.CheckSignature(smx509.SM2WithSM3, set, si.EncryptedDigest) == nil
}

// verifyBare checks a bare SM2 signature value (DER SEQUENCE{r, s} or raw
// r||s) over Signature.xml with the default signer ID, trying each
// candidate certificate.
func (r *Result) verifyBare(certs []*smx509.Certificate, value, xmlBytes []byte) error {
	r.Format = "SM2 signature value"
	forms := sm2Forms(value)
	if len(forms) == 0 {
		return fmt.Errorf("%w: SignedValue of %q is neither SignedData nor an SM2 signature value (%d bytes)", ErrFormat, r.Part, len(value))
	}
	tried := 0
	for _, c := range certs {
		pub, ok := c.PublicKey.(*ecdsa.PublicKey)
		if !ok || !sm2.IsSM2PublicKey(pub) {
			continue
		}
		tried++
		for _, f := range forms {
			if sm2.VerifyASN1WithSM2(pub, nil, xmlBytes, f) {
				r.Signer, r.Certificates = c, []*smx509.Certificate{c}
				return nil
			}
		}
	}
	if tried == 0 {
		return fmt.Errorf("%w: a bare SM2 signature names no signer; supply its certificate", ErrNoSignerCertificate)
	}
	return fmt.Errorf("%w: the SM2 signature over %q verifies with none of %d candidate certificate(s)", ErrBadSignature, r.Part, tried)
}

// sm2Forms returns the DER encodings an SM2 signature value may stand for:
// itself if it is a SEQUENCE of two INTEGERs, and its halves if it is a raw
// 64-byte r||s.
func sm2Forms(v []byte) [][]byte {
	var forms [][]byte
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(v, &rs); err == nil && len(rest) == 0 {
		forms = append(forms, v)
	}
	if len(v) == 64 {
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(v[:32]), new(big.Int).SetBytes(v[32:])})
		if err == nil {
			forms = append(forms, der)
		}
	}
	return forms
}

// checkMethod maps References/@CheckMethod onto a digest.
func checkMethod(m string) (string, func() hash.Hash, error) {
	switch l := strings.ToLower(strings.TrimSpace(m)); {
	case l == "", l == "sm3", l == "1.2.156.10197.1.401", strings.HasPrefix(l, "1.2.156.10197.1.401."):
		return "SM3", sm3.New, nil
	case l == "sha256", l == "sha-256", l == "2.16.840.1.101.3.4.2.1":
		return "SHA-256", sha256.New, nil
	case l == "md5", l == "sha1", l == "sha-1", l == "1.2.840.113549.2.5", l == "1.3.14.3.2.26":
		return "", nil, fmt.Errorf("%w: CheckMethod %q is a broken digest", ErrUnsupported, m)
	}
	return "", nil, fmt.Errorf("%w: CheckMethod %q", ErrUnsupported, m)
}

// verifyReferences checks each Reference's CheckValue against its file.
func (r *Result) verifyReferences(ctx context.Context, p *ofd.Package, sig *ofd.Signature) error {
	r.covered = make(map[string]bool, len(sig.References))
	alg, newHash, err := checkMethod(sig.CheckMethod)
	if err != nil {
		r.ReferencesErr = err
	}
	if len(sig.References) == 0 {
		r.ReferencesErr = fmt.Errorf("%w: %q protects no file", ErrFormat, r.Part)
		return nil
	}
	bad := 0
	for _, ref := range sig.References {
		if err := ctx.Err(); err != nil {
			return err
		}
		rr := ReferenceResult{FileRef: ref.FileRef}
		part, lerr := p.Locate(r.Part, ref.FileRef)
		switch {
		case errors.Is(lerr, ofd.ErrNotFound):
			rr.Err = &DigestMismatchError{What: "reference", FileRef: ref.FileRef}
		case lerr != nil:
			rr.Err = fmt.Errorf("%w: reference %q: %w", ErrFormat, ref.FileRef, lerr)
		default:
			rr.Part, r.covered[part] = part, true
			if newHash != nil {
				rr.Err = digestPart(p, part, alg, newHash(), ref)
			}
		}
		if rr.Err != nil {
			if bad++; bad == 1 && r.ReferencesErr == nil {
				r.ReferencesErr = rr.Err
			}
		}
		r.References = append(r.References, rr)
	}
	if bad > 1 && statusOf(r.ReferencesErr) == Invalid {
		r.ReferencesErr = fmt.Errorf("%d of %d references fail; first: %w", bad, len(sig.References), r.ReferencesErr)
	}
	return nil
}

// digestPart hashes a part, streaming, and compares with the reference.
func digestPart(p *ofd.Package, part, alg string, h hash.Hash, ref ofd.Reference) error {
	rc, err := p.OpenPart(part)
	if err != nil {
		return fmt.Errorf("%w: reference %q: %w", ErrFormat, ref.FileRef, err)
	}
	defer rc.Close()
	if _, err := io.Copy(h, rc); err != nil {
		return fmt.Errorf("%w: reference %q: %w", ErrFormat, ref.FileRef, err)
	}
	sum := h.Sum(nil)
	if ref.CheckValue == nil || !bytes.Equal(sum, ref.CheckValue) {
		return &DigestMismatchError{What: "reference", Part: part, FileRef: ref.FileRef, Algorithm: alg, Signed: ref.CheckValue, Computed: sum}
	}
	return nil
}

// docFiles returns the files of the package that belong to document bi of
// a package with several (GB/T 33190 §7.4: one DocBody per document, each
// with its own Signatures): those under the folder of its DocRoot, and
// those under no other document's folder (OFD.xml, shared resources). A
// file under another document's folder is that document's to protect: its
// signatures, not this one's, judge it. A file lies under the document
// whose folder is the longest prefix of its name; a DocRoot at the package
// root claims no folder.
func docFiles(p *ofd.Package, bi int) []ofd.Entry {
	if len(p.Bodies) < 2 {
		return p.Entries()
	}
	folders := make([]string, len(p.Bodies))
	for i, b := range p.Bodies {
		if j := strings.LastIndex(b.DocRoot, "/"); j >= 0 {
			folders[i] = b.DocRoot[:j+1]
		}
	}
	var out []ofd.Entry
	for _, e := range p.Entries() {
		owner := ""
		for _, f := range folders {
			if f != "" && len(f) > len(owner) && strings.HasPrefix(e.Name, f) {
				owner = f
			}
		}
		if owner == "" || owner == folders[bi] {
			out = append(out, e)
		}
	}
	return out
}

// judgeCoverage sets CoveredLater, Modified and ModifiedErr of each result
// of one document, given the document's files (docFiles): a file protected
// neither by a signature nor by any later one, and no part of any
// signature, was changed or added after it.
func judgeCoverage(p *ofd.Package, files []ofd.Entry, list *ofd.SignatureList, results []Result) {
	machinery := map[string]bool{list.Name: true}
	for _, r := range results {
		machinery[r.Part] = true
		if r.Signature == nil {
			continue
		}
		for _, loc := range []string{r.Signature.SignedValue, r.Signature.Seal} {
			if loc == "" {
				continue
			}
			if name, err := p.Locate(r.Part, loc); err == nil {
				machinery[name] = true
			}
		}
	}
	for i := range results {
		r := &results[i]
		if r.Signature == nil {
			continue
		}
		for _, e := range files {
			if r.covered[e.Name] || machinery[e.Name] {
				continue
			}
			if slices.ContainsFunc(results[i+1:], func(l Result) bool { return l.covered[e.Name] }) {
				r.CoveredLater = append(r.CoveredLater, e.Name)
			} else {
				r.Modified = append(r.Modified, e.Name)
			}
		}
		if len(r.Modified) > 0 {
			r.ModifiedErr = &ModificationError{Files: r.Modified}
		}
	}
}
