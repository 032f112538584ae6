// Package demo sets up sealpipe's demonstration environment — the
// development trust chain, two registered unit seals — and makes sample
// batches: rendered service-hall certificates with a signed approval, plus
// optionally the two bad documents every demo shows being refused. The
// `sealpipe demo` and `sealpipe batch make` commands and the end-to-end
// tests all use it, so they exercise the same thing.
package demo

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/demo/certofd"
	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/storage"
)

// The demo's identities.
const (
	// Department is the department whose batches the demo seals.
	Department = "civil-affairs"
	// SealCivil is the civil-affairs bureau's seal; Approver may approve it.
	SealCivil = "33010200000001"
	// SealCounty is the county office's seal; only OtherApprover may approve it.
	SealCounty = "33010200000002"
	// Approver and OtherApprover are approver slugs in the trust chain.
	Approver      = "approver-zhang"
	OtherApprover = "approver-li"
	// Tampered is the bad document changed after its approval was signed,
	// in a PDF batch (see Format.Tampered).
	Tampered = "zz-tampered.pdf"
	// WrongSeal is the bad document naming a seal its approver may not
	// use, in a PDF batch (see Format.WrongSeal).
	WrongSeal = "zz-wrong-seal.pdf"
)

// Format is the file format of a sample batch's documents.
type Format string

// The formats a sample batch may have.
const (
	// FormatPDF: every document a PDF (internal/demo/certpdf), the default.
	FormatPDF Format = "pdf"
	// FormatOFD: every document an OFD package (internal/demo/certofd).
	FormatOFD Format = "ofd"
	// FormatMixed: PDF and OFD alternating, the first good document a PDF;
	// the tampered document an OFD, the one with the wrong seal a PDF.
	FormatMixed Format = "mixed"
)

// ErrUnknownFormat reports a format name that is none of "pdf", "ofd" and
// "mixed".
var ErrUnknownFormat = errors.New("demo: unknown document format")

// ParseFormat reads a format name: "pdf", "ofd" or "mixed"; empty means
// "pdf". Other names are an error wrapping ErrUnknownFormat.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case "":
		return FormatPDF, nil
	case FormatPDF, FormatOFD, FormatMixed:
		return f, nil
	}
	return "", fmt.Errorf("%w %q: want pdf, ofd or mixed", ErrUnknownFormat, s)
}

// Of returns the format of the i-th good sample document (from 1): f
// itself, or for FormatMixed PDF for odd i and OFD for even i.
func (f Format) Of(i int) Format {
	switch f {
	case FormatOFD:
		return FormatOFD
	case FormatMixed:
		if i%2 == 0 {
			return FormatOFD
		}
	}
	return FormatPDF
}

// ext is the file name extension of a document of format f (PDF or OFD).
func (f Format) ext() string {
	if f == FormatOFD {
		return ".ofd"
	}
	return ".pdf"
}

// DocumentName is the file name of the i-th good sample document of a
// batch of format f: DocumentName(i) with the extension of f.Of(i).
func (f Format) DocumentName(i int) string {
	return strings.TrimSuffix(DocumentName(i), ".pdf") + f.Of(i).ext()
}

// Tampered is the name of the bad document changed after approval: an OFD
// in OFD and mixed batches (zz-tampered.ofd), else Tampered.
func (f Format) Tampered() string {
	if f == FormatPDF || f == "" {
		return Tampered
	}
	return strings.TrimSuffix(Tampered, ".pdf") + ".ofd"
}

// WrongSeal is the name of the bad document naming a seal its approver may
// not use: an OFD in OFD batches (zz-wrong-seal.ofd), else WrongSeal.
func (f Format) WrongSeal() string {
	if f == FormatOFD {
		return strings.TrimSuffix(WrongSeal, ".pdf") + ".ofd"
	}
	return WrongSeal
}

// Units and Approvers are the identities of the development trust chain.
var (
	Units = []devca.Unit{
		{Slug: "civil-affairs", Name: "某某县民政局"},
		{Slug: "county-office", Name: "某某县人民政府办公室"},
	}
	Approvers = []devca.Approver{
		{Slug: Approver, Name: "张伟"},
		{Slug: OtherApprover, Name: "李娜"},
	}
)

// Setup makes the development trust chain in pkiDir and registers the two
// demo seals in a registry over store that trusts the chain's root (see
// RegisterSeals), keeping whatever exists already.
func Setup(ctx context.Context, pkiDir string, passphrase []byte, store storage.Store) (*devca.CA, *registry.Registry, error) {
	ca, err := devca.Init(devca.Config{Dir: pkiDir, Passphrase: passphrase, Units: Units, Approvers: Approvers})
	if err != nil {
		return nil, nil, err
	}
	reg := registry.New(store, ca.Pool())
	if err := RegisterSeals(ctx, ca, reg); err != nil {
		return nil, nil, err
	}
	return ca, reg, nil
}

// RegisterSeals makes and registers the two demo seals, SealCivil (its
// uses approved by Approver for civil-affairs batches) and SealCounty (by
// OtherApprover for county-office batches), for the units of ca, unless
// reg has them already. The changes are signed by ca's registrar, and each
// seal's key is named by its unit's slug: the keyring must map those.
func RegisterSeals(ctx context.Context, ca *devca.CA, reg *registry.Registry) error {
	maker, err := ca.Signer(ctx, ca.SealMaker)
	if err != nil {
		return err
	}
	adminKey, err := ca.Signer(ctx, ca.Registrar)
	if err != nil {
		return err
	}
	admin := signed.Signer{Key: adminKey, Cert: ca.Registrar.Cert}
	for _, s := range []struct{ id, unit, purpose, approver string }{
		{SealCivil, "civil-affairs", "业务专用章", Approver},
		{SealCounty, "county-office", "", OtherApprover},
	} {
		_, err := reg.Get(ctx, s.id)
		if err == nil {
			continue
		}
		if !errors.Is(err, registry.ErrNotFound) {
			return err
		}
		signer := ca.Signers[s.unit]
		unit := signer.Cert.Subject.Organization[0]
		pic, err := engine.SealPicture(unit, s.purpose, s.id)
		if err != nil {
			return err
		}
		if _, err := reg.Make(ctx, registry.MakeRequest{
			ID: s.id, Unit: unit, Purpose: s.purpose, Picture: pic,
			SignerCert: signer.Cert, Key: s.unit,
			Approvers: []registry.ApproverGrant{{Cert: ca.Approvers[s.approver].Cert, Departments: []string{s.unit}}},
			Maker:     signed.Signer{Key: maker, Cert: ca.SealMaker.Cert},
		}, admin); err != nil {
			return fmt.Errorf("demo: make seal %s: %w", s.id, err)
		}
	}
	return nil
}

// BatchOptions describes a sample batch.
type BatchOptions struct {
	// Ref names the batch.
	Ref pipeline.BatchRef
	// Docs is the number of good sample certificates.
	Docs int
	// Bad adds the two bad documents, Tampered and WrongSeal.
	Bad bool
	// Seal is the seal every good document names. Empty means SealCivil.
	Seal string
	// Issuer is the department printed on the certificates. Empty means the
	// civil-affairs unit, whose seal the documents get by default.
	Issuer string
	// Date is the certificates' issue date and the approval time. Zero means now.
	Date time.Time
	// Format is the documents' format. Empty means FormatPDF.
	Format Format
	// Certify, 1 to 3, has each PDF document's seal certify it with that
	// DocMDP permission (approval.Placement.Certify); OFD documents do
	// not take it. Zero: ordinary seals.
	Certify int
	// Approver signs the approval.
	ApproverKey  crypto.Signer
	ApproverCert *smx509.Certificate
}

// Batch is a sample batch held in memory: its files by name.
type Batch struct {
	Ref   pipeline.BatchRef
	Files map[string][]byte
}

// Names lists the batch's files in upload order: documents by name, then
// the approval manifest, then its signature, which closes the batch.
func (b *Batch) Names() []string {
	var docs []string
	for n := range b.Files {
		if !pipeline.IsCommitKey(n) {
			docs = append(docs, n)
		}
	}
	slices.Sort(docs)
	return append(docs, approval.ManifestName, approval.SignatureName)
}

// DocumentName is the file name of the i-th good sample document.
func DocumentName(i int) string { return fmt.Sprintf("cert-%05d.pdf", i) }

// MakeBatch renders and approves a sample batch. Each document is a
// certificate rendered in its format (see Format): PDFs by certpdf with the
// seal's placement from the page's lower-left corner, OFDs by certofd with
// the placement as OFD measures it, from the page's top-left corner, so
// that the seal lands on the same spot of the same certificate either way.
// The tampered document is changed after approval: a PDF gets bytes
// appended after %%EOF; an OFD gets one digit of its certificate number
// changed inside its page content and is zipped again, so it still opens.
func MakeBatch(opts BatchOptions) (*Batch, error) {
	if opts.Docs < 0 || (opts.Docs == 0 && !opts.Bad) {
		return nil, fmt.Errorf("demo: a batch needs documents, got %d", opts.Docs)
	}
	format, err := ParseFormat(string(opts.Format))
	if err != nil {
		return nil, err
	}
	if opts.Seal == "" {
		opts.Seal = SealCivil
	}
	if opts.Date.IsZero() {
		opts.Date = time.Now()
	}
	if opts.Issuer == "" {
		opts.Issuer = Units[0].Name
	}
	b := &Batch{Ref: opts.Ref, Files: map[string][]byte{}}
	m := &approval.Manifest{
		Version: approval.Version, Batch: opts.Ref.Batch, Department: opts.Ref.Department,
		Approver: opts.ApproverCert.Subject.CommonName, ApprovedAt: opts.Date.UTC().Truncate(time.Second),
	}
	add := func(name string, i int, seal string, f Format) error {
		c := certpdf.Sample(i, opts.Date)
		c.Department = opts.Issuer
		doc, pl, err := render(c, f)
		if err != nil {
			return fmt.Errorf("demo: render %s: %w", name, err)
		}
		if f != FormatOFD {
			pl.Certify = opts.Certify
		}
		b.Files[name] = doc
		m.Documents = append(m.Documents, approval.NewDocument(name, doc, seal, pl))
		return nil
	}
	for i := 1; i <= opts.Docs; i++ {
		if err := add(format.DocumentName(i), i, opts.Seal, format.Of(i)); err != nil {
			return nil, err
		}
	}
	tampered := format.Tampered()
	if opts.Bad {
		if err := add(tampered, opts.Docs+1, opts.Seal, formatOfName(tampered)); err != nil {
			return nil, err
		}
		if err := add(format.WrongSeal(), opts.Docs+2, SealCounty, formatOfName(format.WrongSeal())); err != nil {
			return nil, err
		}
	}
	body, sig, err := approval.MarshalSigned(m, opts.ApproverKey, opts.ApproverCert)
	if err != nil {
		return nil, err
	}
	b.Files[approval.ManifestName], b.Files[approval.SignatureName] = body, sig
	if opts.Bad {
		if formatOfName(tampered) == FormatOFD {
			if b.Files[tampered], err = tamperOFD(b.Files[tampered]); err != nil {
				return nil, err
			}
		} else {
			// Changed after approval: trailing bytes after %%EOF keep it a PDF.
			b.Files[tampered] = append(b.Files[tampered], "% changed after approval\n"...)
		}
	}
	return b, nil
}

// formatOfName is the format a sample document's name says: OFD for
// ".ofd", else PDF.
func formatOfName(name string) Format {
	if strings.HasSuffix(name, ".ofd") {
		return FormatOFD
	}
	return FormatPDF
}

// render writes certificate c as a PDF or, for FormatOFD, an OFD package,
// and returns it with the seal's placement as that format measures it: the
// seal picture on the seal area's square, over the department and the date
// (骑年盖月), the same place on the page in both formats.
func render(c certpdf.Certificate, f Format) ([]byte, approval.Placement, error) {
	if f == FormatOFD {
		page, x, y, _, _ := certofd.SealBoundary()
		doc, err := certofd.Render(c)
		return doc, approval.Placement{Page: page, X: x, Y: y}, err
	}
	page, x, y, _, _ := certpdf.SealArea()
	doc, err := certpdf.Render(c)
	return doc, approval.Placement{Page: page, X: x, Y: y}, err
}

// tamperOFD changes one byte inside a part of an OFD package — the last
// digit of the first text on the page (the certificate's number) — and
// zips the package again, every other entry copied as stored, so that it
// still opens and reads as a certificate but its digest is no longer the
// approved one.
func tamperOFD(pkg []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return nil, fmt.Errorf("demo: tamper: %w", err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	changed := false
	for _, f := range zr.File {
		if changed || !strings.HasSuffix(f.Name, "/Content.xml") {
			if err := zw.Copy(f); err != nil {
				return nil, fmt.Errorf("demo: tamper: %w", err)
			}
			continue
		}
		data, err := readEntry(f)
		if err != nil {
			return nil, err
		}
		end := bytes.Index(data, []byte("</ofd:TextCode>"))
		at := bytes.LastIndexAny(data[:max(end, 0)], "0123456789")
		if at < 0 {
			return nil, fmt.Errorf("demo: tamper: no digit in the first text of %s", f.Name)
		}
		data[at] = '0' + (data[at]-'0'+1)%10
		fh := f.FileHeader
		w, err := zw.CreateHeader(&fh)
		if err != nil {
			return nil, fmt.Errorf("demo: tamper: %w", err)
		}
		if _, err := w.Write(data); err != nil {
			return nil, fmt.Errorf("demo: tamper: %w", err)
		}
		changed = true
	}
	if !changed {
		return nil, errors.New("demo: tamper: the package has no page content")
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("demo: tamper: %w", err)
	}
	return out.Bytes(), nil
}

// readEntry reads a zip entry of the demo's own making.
func readEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("demo: tamper: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("demo: tamper: %w", err)
	}
	return data, nil
}

// WriteDir writes the batch's files into dir, creating it.
func (b *Batch) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, n := range b.Names() {
		if err := os.WriteFile(filepath.Join(dir, n), b.Files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Upload puts the batch into its inbox prefix, documents first and the
// approval last, create-only: objects already there are kept, so uploading
// the same batch twice changes nothing.
func (b *Batch) Upload(ctx context.Context, st storage.Store) error {
	for _, n := range b.Names() {
		data := b.Files[n]
		_, err := st.Put(ctx, b.Ref.Inbox()+n, bytes.NewReader(data), int64(len(data)),
			storage.PutOptions{IfNoneMatch: true, ContentType: ContentType(n)})
		if err != nil && !errors.Is(err, storage.ErrPreconditionFailed) {
			return fmt.Errorf("demo: upload %s: %w", n, err)
		}
	}
	return nil
}

// ContentType returns the media type sealpipe gives a batch file.
func ContentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	case strings.HasSuffix(name, ".p7s"):
		return "application/pkcs7-signature"
	case strings.HasSuffix(strings.ToLower(name), ".pdf"):
		return "application/pdf"
	case strings.HasSuffix(strings.ToLower(name), ".ofd"):
		return "application/ofd"
	}
	return "application/octet-stream"
}
