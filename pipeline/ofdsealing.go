package pipeline

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/ofd"
	"github.com/sealpipe/sealpipe/pipeline/ofdseal"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/verify"
)

// contentType returns the media type of a document, told from its content
// (verify.DetectFormat): "application/pdf", "application/ofd" (the type
// OFD readers register) or "application/octet-stream".
func contentType(doc []byte) string {
	switch verify.DetectFormat(doc) {
	case verify.FormatPDF:
		return "application/pdf"
	case verify.FormatOFD:
		return "application/ofd"
	}
	return "application/octet-stream"
}

// sealOFD seals an OFD package (pipeline/ofdseal) with one more Seal
// signature. pl is read as OFD measures it: the stamp's top-left corner in
// mm from the page's top-left corner (see approval.Placement); its
// PDF-only fields are refused (ofdPlacementErr). ofdseal's
// refusals, and those of the package reader it wraps, become rejection
// codes as pdfseal's do for a PDF.
func (p *Pipeline) sealOFD(ctx context.Context, input []byte, seal *registry.Entry, signer crypto.Signer, cert *smx509.Certificate, pl approval.Placement) ([]byte, error) {
	if err := ofdPlacementErr(pl); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err := ofdseal.Seal(ctx, &out, input, ofdseal.Options{
		Signer:   signer,
		Cert:     cert,
		SealData: seal.Seal.Raw,
		Placement: ofdseal.Placement{
			Page: pl.Page, X: pl.X, Y: pl.Y, Riding: pl.Riding,
			Width: float64(seal.Seal.Picture.WidthMM), Height: float64(seal.Seal.Picture.HeightMM),
		},
		Time:         p.cfg.Now(),
		MaxInputSize: p.cfg.MaxDocumentSize,
	})
	if err != nil {
		if code, ok := ofdRejection(err); ok {
			return nil, reject(code, err, "%v", err)
		}
		return nil, fmt.Errorf("pipeline: seal with %s: %w", seal.ID, err)
	}
	return out.Bytes(), nil
}

// ofdRejections maps the sentinels OFD sealing returns for a document that
// can never be sealed as submitted to rejection codes, most specific
// first; ofdseal wraps package ofd's sentinels where the reader refused the
// package, and they are listed too. ofdseal.ErrSigner is not among them: a
// signing failure (an HSM away) is worth a retry, like any other error.
var ofdRejections = []struct {
	err  error
	code report.Code
}{
	{ofdseal.ErrNoPage, CodePlacementInvalid},
	{ofdseal.ErrPlacement, CodePlacementInvalid},
	{ofdseal.ErrNoChangesPermitted, CodeDocumentLocked},
	{ofdseal.ErrSeal, CodeSealUnusable},
	{ofdseal.ErrTooLarge, CodeDocumentTooLarge},
	{ofd.ErrTooLarge, CodeDocumentTooLarge},
	{ofdseal.ErrMalformed, CodeDocumentMalformed},
	{ofdseal.ErrFormat, CodeDocumentMalformed}, // an existing signature that cannot be read
	{ofd.ErrMalformed, CodeDocumentMalformed},
	{ofd.ErrUnsafePath, CodeDocumentMalformed},
	{ofd.ErrDuplicate, CodeDocumentMalformed},
	{ofd.ErrDTD, CodeDocumentMalformed},
	{ofd.ErrNotFound, CodeDocumentMalformed},
	{ofd.ErrUnsupported, CodeDocumentMalformed},
}

// ofdRejection returns the rejection code of an OFD sealing error, if it
// is a refusal.
func ofdRejection(err error) (report.Code, bool) {
	for _, r := range ofdRejections {
		if errors.Is(err, r.err) {
			return r.code, true
		}
	}
	return "", false
}

// ofdCarriedOver is the pipeline's own check of a sealed OFD, in place of
// the PDF's prefix check (an OFD seal writes a new package, not an
// update): every part of the approved package is in the output under the
// same name with the same bytes, except OFD.xml and Signatures.xml, which
// sealing rewrites (GB/T 33190 §18.1). A part whose stored (compressed)
// bytes are equal is equal; otherwise both are decompressed and compared.
// What sealing adds — the new Signs folder — is for the verifier's coverage
// check to judge.
func ofdCarriedOver(input, output []byte) report.Check {
	c := report.Check{Name: checkApprovedContent, Clause: "sealpipe: every part of the approved OFD carried over unchanged (OFD.xml and Signatures.xml aside)", Result: report.OK}
	fail := func(format string, args ...any) report.Check {
		c.Result, c.SubIndication, c.Detail = report.NotOK, report.SubHashFailure, fmt.Sprintf(format, args...)
		return c
	}
	in, err := ofd.Open(input, ofd.Limits{})
	if err != nil {
		return fail("the approved package cannot be read: %v", err)
	}
	out, err := ofd.Open(output, ofd.Limits{})
	if err != nil {
		return fail("the output is not an OFD package: %v", err)
	}
	rewritten := map[string]bool{}
	for _, pkg := range []*ofd.Package{in, out} {
		if n, ok := pkg.Lookup("OFD.xml"); ok {
			rewritten[n] = true
		}
		for _, b := range pkg.Bodies {
			if b.Signatures != "" {
				rewritten[b.Signatures] = true
			}
		}
	}
	n := 0
	for _, e := range in.Entries() {
		if rewritten[e.Name] {
			continue
		}
		name, ok := out.Lookup(e.Name)
		if !ok || name != e.Name {
			return fail("part %q of the approved package is missing from the output", e.Name)
		}
		f, _ := out.Entry(name)
		same, err := samePart(in, out, e.Name, e.File, f, input, output)
		if err != nil {
			return fail("part %q cannot be compared: %v", e.Name, err)
		}
		if !same {
			return fail("part %q differs from the approved package's", e.Name)
		}
		n++
	}
	c.Detail = fmt.Sprintf("%d part(s) of the approved package carried over unchanged", n)
	return c
}

// samePart reports whether entry a of package pa (held in da) and entry b
// of pb (held in db), both named name, hold the same bytes.
func samePart(pa, pb *ofd.Package, name string, a, b *zip.File, da, db []byte) (bool, error) {
	if a.CRC32 != b.CRC32 || a.UncompressedSize64 != b.UncompressedSize64 {
		return false, nil
	}
	if a.Method == b.Method && a.CompressedSize64 == b.CompressedSize64 {
		ra, errA := stored(a, da)
		rb, errB := stored(b, db)
		if errA == nil && errB == nil && bytes.Equal(ra, rb) {
			return true, nil
		}
	}
	x, err := pa.Read(name)
	if err != nil {
		return false, err
	}
	y, err := pb.Read(name)
	if err != nil {
		return false, err
	}
	return bytes.Equal(x, y), nil
}

// stored returns an entry's stored (compressed) bytes, a slice of the
// package's data.
func stored(f *zip.File, data []byte) ([]byte, error) {
	off, err := f.DataOffset()
	if err != nil {
		return nil, err
	}
	end := off + int64(f.CompressedSize64)
	if off < 0 || end < off || end > int64(len(data)) {
		return nil, fmt.Errorf("%w: entry data out of the archive", ofd.ErrMalformed)
	}
	return data[off:end], nil
}
