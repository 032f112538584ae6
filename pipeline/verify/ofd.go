package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline/ofd"
	"github.com/sealpipe/sealpipe/pipeline/ofdseal"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// newReport starts the report on a document of size bytes whose SM3 is
// sum.
func (v *Verifier) newReport(name string, size int64, sum []byte) *report.Document {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	return &report.Document{
		Document:   name,
		SM3:        fmt.Sprintf("%x", sum),
		Size:       size,
		VerifiedAt: now().UTC(),
		Signatures: []report.Signature{},
	}
}

// documentSM3 returns the SM3 of the size bytes of r, continuing prefix,
// if not nil, over their first bytes; the rest is streamed.
func documentSM3(r io.ReaderAt, size int64, prefix *pdfseal.Prefix) ([]byte, error) {
	h, from := sm3.New(), int64(0)
	if prefix != nil && prefix.Len() <= size {
		h, from = prefix.Hash(), prefix.Len()
	}
	if _, err := io.Copy(h, io.NewSectionReader(r, from, size-from)); err != nil {
		return nil, fmt.Errorf("verify: hashing the document: %w", err)
	}
	return h.Sum(nil), nil
}

// OFD verifies every signature of an OFD document (GB/T 33190 §18),
// Type="Seal" and Type="Sign", with the checks and indications of the PDF
// path. opts reach ofdseal.Verify, e.g. ofdseal.WithCertificates for bare
// SM2 signatures that name no signer. It returns an error, wrapping package
// ofd's sentinels, only when the package cannot be read.
func (v *Verifier) OFD(ctx context.Context, name string, data []byte, opts ...ofdseal.Option) (*report.Document, error) {
	sum := sm3.Sum(data)
	doc := v.newReport(name, int64(len(data)), sum[:])
	results, err := ofdseal.Verify(ctx, data, opts...)
	if err != nil {
		return nil, err
	}
	for i := range results {
		doc.Signatures = append(doc.Signatures, v.ofdSignature(ctx, &results[i]))
	}
	doc.Conclude()
	return doc, nil
}

// ofdSignature checks one OFD signature.
func (v *Verifier) ofdSignature(ctx context.Context, r *ofdseal.Result) report.Signature {
	s := report.Signature{
		Field:               fmt.Sprintf("%s (ID %s)", r.Part, r.ID),
		Format:              "OFD " + r.Type,
		SigningTime:         r.SigningTime,
		CoversWholeDocument: r.Signature != nil && len(r.CoveredLater) == 0 && len(r.Modified) == 0,
	}
	if r.Format != "" {
		s.Format += ": " + r.Format
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

	// GB/T 38540 §7.3 (b), (g); GB/T 33190 §18.2.2.
	add(ofdCheck("signature-value", "GB/T 38540 §7.3 b, g; GB/T 33190 §18.2.2", r.ValueErr, "the signature value verifies over Signature.xml"))
	add(ofdCheck("references", "GB/T 33190 §18.2.2 (References); GB/T 38540 §7.3 g", r.ReferencesErr,
		fmt.Sprintf("%d file(s) match their CheckValue (%s)", len(r.References), checkMethodName(r))))
	add(ofdSealFileCheck(r))
	add(ofdCoverageCheck(r))
	add(ofdModificationCheck(r))

	// §7.3 (a) with §6.3 (1)-(4), then (c), (e), (f).
	var seal *ses.Seal
	switch {
	case r.Seal != nil:
		seal = v.sealChecks(ctx, r.Seal.Raw, at, &s, add)
	case r.Type == ofd.TypeSeal:
		add(report.Check{Name: "seal-format", Clause: "GB/T 38540 §6.3 (1)", Result: report.NotOK, SubIndication: report.SubFormatFailure,
			Detail: "a Seal signature without a readable SES_Signature"})
	default:
		v.sealChecks(ctx, nil, at, &s, add) // not applicable
	}
	v.signerChecks(seal, r.Signer, r.Certificates, at, add)

	// §7.3 (h): the SES_Signature's timeStamp, checked by ofdseal, its TSA
	// judged here.
	add(v.timestampCheck(r.SES != nil && len(r.SES.TimeStamp) > 0, r.TimeStamp, r.TimeStampErr))
	s.Conclude()
	return s
}

// ofdCheck maps an ofdseal error onto a check.
func ofdCheck(name, clause string, err error, passed string) report.Check {
	c := report.Check{Name: name, Clause: clause, Result: report.OK, Detail: passed}
	if err == nil {
		return c
	}
	c.Detail = err.Error()
	switch {
	case errors.Is(err, ofdseal.ErrDigestMismatch):
		c.Result, c.SubIndication = report.NotOK, report.SubHashFailure
	case errors.Is(err, ofdseal.ErrFormat), errors.Is(err, ofdseal.ErrSealMismatch):
		c.Result, c.SubIndication = report.NotOK, report.SubFormatFailure
	case errors.Is(err, ofdseal.ErrBadSignature):
		c.Result, c.SubIndication = report.NotOK, report.SubSigCryptoFailure
	case errors.Is(err, ofdseal.ErrNoSignerCertificate):
		c.Result, c.SubIndication = report.Unknown, report.SubNoChain
	case errors.Is(err, ofdseal.ErrSigningTime):
		c.Result, c.SubIndication = report.Unknown, report.SubExpired
	default:
		c.Result, c.SubIndication = report.Unknown, report.SubAlgorithmUnsupported
	}
	return c
}

// ofdSealFileCheck reports whether a seal's Seal/BaseLoc file is the seal
// its SES_Signature signs. A different file fails the signature (FAILED,
// FORMAT_FAILURE): the package shows a seal nobody signed (see
// ofdseal.ErrSealMismatch for the clauses).
func ofdSealFileCheck(r *ofdseal.Result) report.Check {
	const clause = "GB/T 33190 §18.2.2 (Seal); GB/T 38540 §7.1, §7.3 a"
	switch {
	case r.SES == nil:
		return report.Check{Name: "seal-file", Clause: clause, Result: report.Skipped, Detail: "no SES_Signature"}
	case r.SealFileErr == nil && (r.Signature == nil || r.Signature.Seal == ""):
		return report.Check{Name: "seal-file", Clause: clause, Result: report.Skipped, Detail: "Signature.xml names no seal file"}
	}
	return ofdCheck("seal-file", clause, r.SealFileErr, "the seal file is the seal signed")
}

func checkMethodName(r *ofdseal.Result) string {
	if r.Signature == nil || r.Signature.CheckMethod == "" {
		return "no CheckMethod: SM3 assumed"
	}
	return "CheckMethod " + r.Signature.CheckMethod
}

// ofdCoverageCheck describes what the signature protects.
func ofdCoverageCheck(r *ofdseal.Result) report.Check {
	c := report.Check{Name: "coverage", Clause: "GB/T 33190 §18.2.2", Result: report.OK}
	switch {
	case r.Signature == nil:
		c.Result, c.Detail = report.Skipped, "Signature.xml unreadable"
		return c
	case r.WholeProtected:
		c.Detail = "whole-protected: Signatures.xml is among the references, no later signature may be added"
	default:
		c.Detail = "every file but the signatures' own"
	}
	if len(r.CoveredLater) > 0 {
		c.Detail += fmt.Sprintf("; not protected by this signature but by a later one: %s", strings.Join(r.CoveredLater, ", "))
	}
	return c
}

// ofdModificationCheck judges the files no signature from this one on
// protects: they were added or changed after signing.
func ofdModificationCheck(r *ofdseal.Result) report.Check {
	c := report.Check{Name: "modifications", Clause: "GB/T 33190 §18.2.2; GB/T 38540 §7.3 g", Result: report.OK, Detail: "no file escapes protection"}
	switch {
	case r.Status == ofdseal.Invalid:
		c.Result, c.Detail = report.Skipped, "the signature itself is invalid"
	case r.ModifiedErr != nil:
		c.Result, c.SubIndication, c.Detail = report.NotOK, SubModifiedAfterSigning, r.ModifiedErr.Error()
	}
	return c
}
