// Package verify checks sealed documents (验章) and explains the verdict as
// a report.Document: for each signature the GB/T 38540-2020 §6.3 seal
// checks and §7.3 signature checks, in the standard's order, plus the
// seal's status in sealpipe's registry at the signing time.
//
// It is the one verifier behind the pipeline's per-document reports and the
// `sealpipe verify` command, so both always agree.
package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// SealLookup finds a registered seal. *registry.Registry satisfies it.
type SealLookup interface {
	Get(ctx context.Context, id string) (*registry.Entry, error)
}

// Verifier checks documents against a set of trusted roots and, optionally,
// the seal registry.
type Verifier struct {
	// Trust holds the trusted roots, intermediates and CRLs. Nil, or a
	// pool without roots, is a relying party with no trust anchor: every
	// other check still runs, and the certificate checks are INDETERMINATE
	// with NO_CERTIFICATE_CHAIN_FOUND.
	Trust *trust.Pool
	// Seals, if set, is the registry the registry-status check consults
	// (see registryCheck: a seal it does not hold or cannot read is
	// INDETERMINATE, never FAILED). Nil makes the check NOT_APPLICABLE (a
	// relying party outside the issuing authority has no registry).
	Seals SealLookup
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxPDFSize bounds the PDF documents PDFReader reads, which it
	// streams in bounded memory; zero means pdfseal.MaxVerifySize.
	MaxPDFSize int64
	// Pictures keeps each seal's picture in its signature's report
	// (report.Signature.SealPicture), for reports a person reads; off, the
	// reports carry no image.
	Pictures bool

	memo memo
}

// memo remembers the checks whose result depends on nothing but their
// inputs, so that the documents a batch seals with one seal parse it and
// check its maker's signature once, and the certificate chains once for
// each second of signing time (the pipeline's check of every output it
// seals). A chain's revocation status is looked up again for the next
// second.
type memo struct {
	seal  memoTable[string, sealResult] // by the seal's DER as embedded
	chain memoTable[chainKey, report.Check]
}

// sealResult is an embedded seal as read: parsed (or parseErr), and its
// maker's certificate once the maker's signature verified (or makerErr).
// The seal is shared by every report that embeds the same bytes: read,
// never changed.
type sealResult struct {
	seal     *ses.Seal
	parseErr error
	maker    *smx509.Certificate
	makerErr error
}

type chainKey struct {
	name, certs string // the check's name; the DER of the certificate and the extra ones
	at          int64  // signing time, Unix seconds
	usage       trust.Usage
}

// maxMemo bounds a memoTable: past it, the table starts afresh.
const maxMemo = 1024

// memoTable is a bounded map of results, safe for concurrent use.
type memoTable[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

// get returns the result remembered for k, or makes it with f and
// remembers it.
func (t *memoTable[K, V]) get(k K, f func() V) V {
	t.mu.Lock()
	v, ok := t.m[k]
	t.mu.Unlock()
	if ok {
		return v
	}
	v = f()
	t.put(k, v)
	return v
}

// put remembers v for k.
func (t *memoTable[K, V]) put(k K, v V) {
	t.mu.Lock()
	if t.m == nil || len(t.m) >= maxMemo {
		t.m = make(map[K]V)
	}
	t.m[k] = v
	t.mu.Unlock()
}

// getBytes is get for a table keyed by bytes held as a string: a key
// found is not copied, so that a seal's tens of kilobytes are copied
// only when first seen.
func getBytes[V any](t *memoTable[string, V], k []byte, f func() V) V {
	t.mu.Lock()
	v, ok := t.m[string(k)]
	t.mu.Unlock()
	if ok {
		return v
	}
	v = f()
	t.put(string(k), v)
	return v
}

// PDF verifies every signature in a PDF document. It returns an error,
// wrapping the pdfseal sentinel, only when the file cannot be read as a PDF
// at all; every per-signature problem is reported in the result.
func (v *Verifier) PDF(ctx context.Context, name string, data []byte) (*report.Document, error) {
	return v.PrefixedPDF(ctx, name, data, nil)
}

// PrefixedPDF is PDF for a document whose first bytes the caller has just
// hashed with SM3 and vouches for (pdfseal.Prefix; nil for none): the
// document's digest in the report and the SM3 digests of its signatures
// continue that state instead of reading those bytes again. The
// pipeline's check of an output it sealed passes the state of the
// approved input, which the output begins with.
func (v *Verifier) PrefixedPDF(ctx context.Context, name string, data []byte, prefix *pdfseal.Prefix) (*report.Document, error) {
	return v.pdf(ctx, name, bytes.NewReader(data), int64(len(data)), data, prefix)
}

// PDFReader is PrefixedPDF for a document of size bytes read through r,
// which is never held whole (pdfseal.VerifyReader): the document's SM3,
// when no signature's digest gave it, is computed streaming. `sealpipe
// verify` reads files with it, up to MaxPDFSize.
func (v *Verifier) PDFReader(ctx context.Context, name string, r io.ReaderAt, size int64, prefix *pdfseal.Prefix) (*report.Document, error) {
	return v.pdf(ctx, name, r, size, nil, prefix)
}

// pdf is PDFReader for a document that, when mem is not nil, is held in
// memory as mem: pdfseal then reads it in place instead of copying each
// window out of r.
func (v *Verifier) pdf(ctx context.Context, name string, r io.ReaderAt, size int64, mem []byte, prefix *pdfseal.Prefix) (*report.Document, error) {
	var sum []byte
	opts := pdfseal.VerifyOptions{Prefix: prefix, SM3: &sum, MaxSize: v.MaxPDFSize}
	var results []pdfseal.Result
	var err error
	if mem != nil {
		results, err = pdfseal.VerifyWith(ctx, mem, opts)
	} else {
		results, err = pdfseal.VerifyReader(ctx, r, size, opts)
	}
	if err != nil {
		return nil, err
	}
	if sum == nil {
		if sum, err = documentSM3(r, size, prefix); err != nil {
			return nil, err
		}
	}
	doc := v.newReport(name, size, sum)
	for i := range results {
		doc.Signatures = append(doc.Signatures, v.signature(ctx, &results[i]))
	}
	doc.Conclude()
	return doc, nil
}

// SealedPDF reports on the document that in followed by s.Update makes,
// which pdfseal.Update just sealed from an input without signatures
// (s.Alone): its one signature is checked by s.Check, without reading the
// document again, and the document's SM3 is the one computed while it was
// signed. The pipeline's check of its own output uses it; anything else
// verifies documents with PDF. It fails with pdfseal.ErrNotAlone for an
// input that was not alone, and when Update was not given a prefix.
func (v *Verifier) SealedPDF(ctx context.Context, name string, in []byte, s *pdfseal.Sealed) (*report.Document, error) {
	r, err := s.Check(in)
	if err != nil {
		return nil, err
	}
	return v.sealedPDF(ctx, name, r, s)
}

// SealedPDFReader is SealedPDF for an input of size bytes read through
// in (pdfseal.Sealed.CheckReader).
func (v *Verifier) SealedPDFReader(ctx context.Context, name string, in io.ReaderAt, size int64, s *pdfseal.Sealed) (*report.Document, error) {
	r, err := s.CheckReader(in, size)
	if err != nil {
		return nil, err
	}
	return v.sealedPDF(ctx, name, r, s)
}

// sealedPDF reports on a freshly sealed document that s.Check found r.
func (v *Verifier) sealedPDF(ctx context.Context, name string, r pdfseal.Result, s *pdfseal.Sealed) (*report.Document, error) {
	if s.SM3 == nil {
		return nil, fmt.Errorf("verify: %s: sealed without the SM3 state of its input", name)
	}
	doc := v.newReport(name, r.FileSize, s.SM3)
	doc.Signatures = append(doc.Signatures, v.signature(ctx, &r))
	doc.Conclude()
	return doc, nil
}

// signature checks one PDF signature.
func (v *Verifier) signature(ctx context.Context, r *pdfseal.Result) report.Signature {
	s := report.Signature{
		Field:               r.Field,
		Format:              r.SubFilter,
		SigningTime:         r.SigningTime,
		CoversWholeDocument: r.CoversWholeFile,
	}
	if r.DigestAlgorithm != "" {
		s.Format += " (" + r.DigestAlgorithm + ")"
	}
	if r.Signer != nil {
		s.Signer = r.Signer.Subject.String()
		s.SignerSerial = r.Signer.SerialNumber.Text(16)
	}
	at := r.SigningTime
	if at.IsZero() {
		at = time.Now()
	}
	add := func(c report.Check) { s.Checks = append(s.Checks, c) }

	// GB/T 38540 §7.3 (b) and (g): the signature value and the document hash.
	add(integrityCheck(r))
	add(coverageCheck(r))
	add(modificationCheck(r))

	// §7.3 (a) with §6.3 (1)-(4): the seal the signature applies, if any.
	seal := v.sealChecks(ctx, r.SealData, at, &s, add)
	v.signerChecks(seal, r.Signer, r.Certificates, at, add)

	// §7.3 (h): the signature's RFC 3161 timestamp token, which a PAdES
	// B-T signature carries; pdfseal checked its imprint and signature
	// (an error wrapping pdfseal.ErrTimeStamp when they fail).
	var tsErr error
	if errors.Is(r.Err, pdfseal.ErrTimeStamp) {
		tsErr = r.Err
	}
	add(v.timestampCheck(r.TimeStamp != nil || tsErr != nil, r.TimeStamp, tsErr))
	s.Conclude()
	return s
}

// signerChecks adds §7.3 (c), the signer's certificate is one the seal
// lists, and §7.3 (e), (f), the signer's certificate chain at the signing
// time.
func (v *Verifier) signerChecks(seal *ses.Seal, signer *smx509.Certificate, certs []*smx509.Certificate, at time.Time, add func(report.Check)) {
	switch {
	case seal == nil:
		add(report.Check{Name: "signer-in-seal", Clause: "GB/T 38540 §7.3 c", Result: report.Skipped, Detail: "no seal embedded"})
	case signer == nil:
		add(report.Check{Name: "signer-in-seal", Clause: "GB/T 38540 §7.3 c", Result: report.NotOK, SubIndication: report.SubFormatFailure, Detail: "no signer certificate"})
	case seal.HasSigner(signer.Raw):
		add(report.Check{Name: "signer-in-seal", Clause: "GB/T 38540 §7.3 c", Result: report.OK})
	default:
		add(report.Check{Name: "signer-in-seal", Clause: "GB/T 38540 §7.3 c", Result: report.NotOK, SubIndication: report.SubSignerNotInSeal,
			Detail: fmt.Sprintf("signer %q is not in the seal's certificate list", signer.Subject.CommonName)})
	}
	if signer == nil {
		add(report.Check{Name: "signer-certificate", Clause: "GB/T 38540 §7.3 e-f", Result: report.Unknown, SubIndication: report.SubNoChain, Detail: "no signer certificate"})
	} else {
		add(v.chainCheck("signer-certificate", "GB/T 38540 §7.3 e-f", signer, certs, at, trust.UsageDocumentSigner))
	}
}

func integrityCheck(r *pdfseal.Result) report.Check {
	c := report.Check{Name: "signature-value", Clause: "GB/T 38540 §7.3 b, g", Result: report.OK}
	switch r.Status {
	case pdfseal.Valid:
	case pdfseal.Invalid:
		c.Result, c.SubIndication = report.NotOK, report.SubSigCryptoFailure
		var mm *pdfseal.DigestMismatchError
		if errors.As(r.Err, &mm) {
			c.SubIndication = report.SubHashFailure
		}
	default:
		c.Result, c.SubIndication = report.Unknown, report.SubAlgorithmUnsupported
	}
	if r.Err != nil {
		c.Detail = r.Err.Error()
	}
	return c
}

func coverageCheck(r *pdfseal.Result) report.Check {
	c := report.Check{Name: "coverage", Clause: "ISO 32000-1 §12.8.1", Result: report.OK}
	if r.CoversWholeFile {
		c.Detail = "the signature covers the whole file"
	} else {
		c.Detail = fmt.Sprintf("the signature covers revision %d, the first %d bytes; %d bytes follow it", r.Revision, r.SignedSize, r.FileSize-r.SignedSize)
	}
	return c
}

// SubModifiedAfterSigning is the sub-indication of the "modifications"
// check when a revision after a signature changed its document beyond
// what the signature permits (pdfseal.ErrModified).
const SubModifiedAfterSigning = "MODIFIED_AFTER_SIGNING"

// modificationCheck judges the revisions after the signed one (ISO 32000-1
// §7.5.6 incremental updates; §12.8.2.2 DocMDP): they may add signatures
// with their appearances, validation data, and what a certification
// signature's DocMDP level permits, nothing else. A later signature, by
// whoever it is, does not vouch for the changes it covers.
func modificationCheck(r *pdfseal.Result) report.Check {
	c := report.Check{Name: "modifications", Clause: "ISO 32000-1 §7.5.6, §12.8.2.2", Result: report.OK}
	if r.DocMDP > 0 {
		c.Detail = fmt.Sprintf("certification signature, DocMDP P=%d; ", r.DocMDP)
	}
	switch {
	case r.Status == pdfseal.Invalid:
		c.Result = report.Skipped
		c.Detail += "the signature itself is invalid"
	case r.CoversWholeFile:
		c.Detail += "nothing follows the signed revision"
	case errors.Is(r.ChangesErr, pdfseal.ErrModified):
		c.Result, c.SubIndication = report.NotOK, SubModifiedAfterSigning
		c.Detail += r.ChangesErr.Error()
	case r.ChangesErr != nil:
		c.Result, c.SubIndication = report.Unknown, report.SubUnsignedChanges
		c.Detail += r.ChangesErr.Error()
	default:
		c.Detail += fmt.Sprintf("the later revisions change no more than %s; the signature permits %s", r.Changes, r.Permits)
	}
	return c
}

// sealChecks runs the seal checks on the SESeal sealData, if any, and
// returns the seal.
func (v *Verifier) sealChecks(ctx context.Context, sealData []byte, at time.Time, s *report.Signature, add func(report.Check)) *ses.Seal {
	const fmtClause = "GB/T 38540 §6.3 (1)"
	if len(sealData) == 0 {
		add(report.Check{Name: "seal-format", Clause: fmtClause, Result: report.Skipped, Detail: "plain digital signature: no GB/T 38540 seal embedded"})
		return nil
	}
	sr := getBytes(&v.memo.seal, sealData, func() sealResult {
		seal, err := ses.ParseSeal(sealData)
		if err != nil {
			return sealResult{parseErr: err}
		}
		maker, err := seal.VerifyMaker()
		return sealResult{seal: seal, maker: maker, makerErr: err}
	})
	if sr.parseErr != nil {
		add(report.Check{Name: "seal-format", Clause: fmtClause, Result: report.NotOK, SubIndication: report.SubFormatFailure, Detail: sr.parseErr.Error()})
		return nil
	}
	seal, maker, err := sr.seal, sr.maker, sr.makerErr
	s.SealID, s.SealName = seal.ID, seal.Name
	if v.Pictures {
		p := seal.Picture
		s.SealPicture = &report.Picture{Type: p.Type, Data: p.Data, WidthMM: p.WidthMM, HeightMM: p.HeightMM}
	}
	add(report.Check{Name: "seal-format", Clause: fmtClause, Result: report.OK, Detail: fmt.Sprintf("SESeal version %d, esID %s", seal.Version, seal.ID)})

	if err != nil {
		add(report.Check{Name: "seal-maker-signature", Clause: "GB/T 38540 §6.3 (2)", Result: report.NotOK, SubIndication: report.SubSigCryptoFailure, Detail: err.Error()})
	} else {
		add(report.Check{Name: "seal-maker-signature", Clause: "GB/T 38540 §6.3 (2)", Result: report.OK})
		add(v.chainCheck("seal-maker-certificate", "GB/T 38540 §6.3 (3)", maker, nil, at, trust.UsageSealMaker))
	}

	// A signing time outside the seal's window is a time problem, not a
	// forgery: the time is the signer's claim, with no proof of existence
	// (ETSI EN 319 102-1), so the verdict is INDETERMINATE, like an expired
	// certificate's.
	switch {
	case seal.ValidAt(at):
		add(report.Check{Name: "seal-validity", Clause: "GB/T 38540 §6.3 (4), §7.3 d", Result: report.OK})
	default:
		sub := report.SubExpired
		if at.Before(seal.ValidStart) {
			sub = report.SubNotYetValid
		}
		add(report.Check{Name: "seal-validity", Clause: "GB/T 38540 §6.3 (4), §7.3 d", Result: report.Unknown, SubIndication: sub,
			Detail: fmt.Sprintf("signed at %s, outside the seal's validity %s – %s", at.Format(time.RFC3339), seal.ValidStart.Format(time.RFC3339), seal.ValidEnd.Format(time.RFC3339))})
	}
	add(v.registryCheck(ctx, seal, at))
	return seal
}

// registryCheck reports the seal's status in the configured registry at
// the signing time. The registry judges only the seals it registered:
//
//   - no registry configured (Seals nil): NOT_APPLICABLE;
//   - the registry cannot be read (I/O error, a log that does not verify):
//     INDETERMINATE (TRY_LATER) with the reason;
//   - a seal it does not hold — no entry for the code, or another seal
//     registered under the same code, as two data folders easily have —
//     INDETERMINATE (SEAL_NOT_REGISTERED): the seal may come from another
//     registry, and whether it is genuine is the seal-maker checks' to say;
//   - a seal it holds that was not active at the signing time (suspended,
//     revoked, or not yet registered): FAILED (SEAL_NOT_ACTIVE);
//   - else PASSED.
func (v *Verifier) registryCheck(ctx context.Context, seal *ses.Seal, at time.Time) report.Check {
	c := report.Check{Name: "registry-status", Clause: "GB/T 33481 (seal status)", Result: report.OK}
	if v.Seals == nil {
		c.Result, c.Detail = report.Skipped, "no seal registry configured"
		return c
	}
	e, err := v.Seals.Get(ctx, seal.ID)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		c.Result, c.SubIndication = report.Unknown, report.SubSealNotRegistered
		c.Detail = fmt.Sprintf("seal %s is not in the configured registry (it may be registered elsewhere)", seal.ID)
	case err != nil:
		c.Result, c.SubIndication = report.Unknown, report.SubTryLater
		c.Detail = fmt.Sprintf("the seal registry cannot be read: %v", err)
	case e == nil || e.Seal == nil || string(e.Seal.Raw) != string(seal.Raw):
		c.Result, c.SubIndication = report.Unknown, report.SubSealNotRegistered
		c.Detail = fmt.Sprintf("the configured registry holds a different seal under code %s (this one may be registered elsewhere)", seal.ID)
	default:
		st := e.StatusAt(at)
		c.Detail = fmt.Sprintf("%s at signing time; %s now", st, e.Status)
		if st != registry.StatusActive {
			c.Result, c.SubIndication = report.NotOK, report.SubSealNotActive
		}
	}
	return c
}

// chainCheck maps trust.Pool.Verify onto a report check. Revocation before
// the signing time fails; every other chain problem — unknown root, expiry,
// constraints, a revocation status that cannot be established — leaves the
// verdict indeterminate, as the corpus expects. With no trusted root at all
// the check is INDETERMINATE with NO_CERTIFICATE_CHAIN_FOUND, whatever else
// is wrong with the certificate.
func (v *Verifier) chainCheck(name, clause string, cert *smx509.Certificate, extra []*smx509.Certificate, at time.Time, usage trust.Usage) report.Check {
	k := chainKey{name: name + "\x00" + clause, certs: string(cert.Raw), at: at.Unix(), usage: usage}
	for _, c := range extra {
		k.certs += "\x00" + string(c.Raw)
	}
	return v.memo.chain.get(k, func() report.Check { return v.verifyChain(name, clause, cert, extra, at, usage) })
}

// verifyChain makes chainCheck's check.
func (v *Verifier) verifyChain(name, clause string, cert *smx509.Certificate, extra []*smx509.Certificate, at time.Time, usage trust.Usage) report.Check {
	c := report.Check{Name: name, Clause: clause, Result: report.OK}
	if v.Trust == nil || !v.Trust.HasRoots() {
		c.Result, c.SubIndication = report.Unknown, report.SubNoChain
		c.Detail = fmt.Sprintf("no trusted root is configured (SEALPIPE_ROOTS, --roots): the chain of %s cannot be established", trust.Name(cert))
		return c
	}
	chain, err := v.Trust.VerifyWith(cert, extra, at, usage)
	if err == nil {
		c.Detail = fmt.Sprintf("chains to %q", chain[len(chain)-1].Subject.CommonName)
		return c
	}
	c.Detail = err.Error()
	var rev *trust.RevokedError
	switch {
	case errors.As(err, &rev) && !rev.At.After(at):
		c.Result, c.SubIndication = report.NotOK, report.SubRevoked
	case errors.Is(err, trust.ErrRevocationUnknown):
		c.Result, c.SubIndication = report.Unknown, report.SubTryLater
	case errors.As(err, &rev):
		c.Result, c.SubIndication = report.OK, ""
		c.Detail = fmt.Sprintf("revoked at %s, after the signing time", rev.At.Format(time.RFC3339))
	case errors.Is(err, trust.ErrNotValidAt):
		c.Result, c.SubIndication = report.Unknown, report.SubExpired
	case errors.Is(err, trust.ErrKeyUsage), errors.Is(err, trust.ErrInvalidCA):
		c.Result, c.SubIndication = report.Unknown, report.SubChainConstraints
	default:
		c.Result, c.SubIndication = report.Unknown, report.SubNoChain
	}
	return c
}
