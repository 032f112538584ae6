// Package demo sets up sealpipe's demonstration environment — the
// development trust chain, two registered unit seals — and makes sample
// batches: rendered service-hall certificates with a signed approval, plus
// optionally the two bad documents every demo shows being refused. The
// `sealpipe demo` and `sealpipe batch make` commands and the end-to-end
// tests all use it, so they exercise the same thing.
package demo

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

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
	// Tampered is the bad document changed after its approval was signed.
	Tampered = "zz-tampered.pdf"
	// WrongSeal is the bad document naming a seal its approver may not use.
	WrongSeal = "zz-wrong-seal.pdf"
)

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

// MakeBatch renders and approves a sample batch.
func MakeBatch(opts BatchOptions) (*Batch, error) {
	if opts.Docs < 0 || (opts.Docs == 0 && !opts.Bad) {
		return nil, fmt.Errorf("demo: a batch needs documents, got %d", opts.Docs)
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
	page, x, y, _, _ := certpdf.SealArea()
	m := &approval.Manifest{
		Version: approval.Version, Batch: opts.Ref.Batch, Department: opts.Ref.Department,
		Approver: opts.ApproverCert.Subject.CommonName, ApprovedAt: opts.Date.UTC().Truncate(time.Second),
	}
	add := func(name string, i int, seal string) error {
		c := certpdf.Sample(i, opts.Date)
		c.Department = opts.Issuer
		pdf, err := certpdf.Render(c)
		if err != nil {
			return fmt.Errorf("demo: render %s: %w", name, err)
		}
		b.Files[name] = pdf
		m.Documents = append(m.Documents, approval.NewDocument(name, pdf, seal, approval.Placement{Page: page, X: x, Y: y}))
		return nil
	}
	for i := 1; i <= opts.Docs; i++ {
		if err := add(DocumentName(i), i, opts.Seal); err != nil {
			return nil, err
		}
	}
	if opts.Bad {
		if err := add(Tampered, opts.Docs+1, opts.Seal); err != nil {
			return nil, err
		}
		if err := add(WrongSeal, opts.Docs+2, SealCounty); err != nil {
			return nil, err
		}
	}
	body, sig, err := approval.MarshalSigned(m, opts.ApproverKey, opts.ApproverCert)
	if err != nil {
		return nil, err
	}
	b.Files[approval.ManifestName], b.Files[approval.SignatureName] = body, sig
	if opts.Bad {
		// Changed after approval: trailing bytes after %%EOF keep it a PDF.
		b.Files[Tampered] = append(b.Files[Tampered], "% changed after approval\n"...)
	}
	return b, nil
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
	}
	return "application/octet-stream"
}
