package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/templates/sealpic"
)

// SealPicture draws a unit seal's picture (templates/sealpic): the unit's
// name along the upper arc, the star, the purpose under it and the seal
// code along the lower arc, DefaultDiameterMM across, as a PNG.
func SealPicture(unit, purpose, code string) (ses.Picture, error) {
	png, err := sealpic.Render(sealpic.Spec{UnitName: unit, Purpose: purpose, Code: code, DiameterMM: sealpic.DefaultDiameterMM})
	if err != nil {
		return ses.Picture{}, fmt.Errorf("%w: seal picture: %w", registry.ErrInvalid, err)
	}
	return ses.Picture{Type: "PNG", Data: png, WidthMM: sealpic.DefaultDiameterMM, HeightMM: sealpic.DefaultDiameterMM}, nil
}

// NameSealPicture draws a personal name seal's picture
// (templates/sealpic.RenderName): a red square, DefaultNameSideMM a side,
// holding sealpic.NameText(holder), as a PNG.
func NameSealPicture(holder string) (ses.Picture, error) {
	png, err := sealpic.RenderName(sealpic.NameSpec{Holder: holder, SideMM: sealpic.DefaultNameSideMM})
	if err != nil {
		return ses.Picture{}, fmt.Errorf("%w: seal picture: %w", registry.ErrInvalid, err)
	}
	return ses.Picture{Type: "PNG", Data: png, WidthMM: sealpic.DefaultNameSideMM, HeightMM: sealpic.DefaultNameSideMM}, nil
}

// The kinds of seal a SealSpec makes.
const (
	// SealKindUnit is a unit seal (单位印章, GB/T 38540 type 1): a round
	// picture with the unit's name, the star, the purpose and the code.
	SealKindUnit = "unit"
	// SealKindPersonal is a personal name seal (个人印章/电子名章, GB/T
	// 38540 type 2): a square picture with the holder's name.
	SealKindPersonal = "personal"
)

// SealSpec describes a seal to make with the development CA.
type SealSpec struct {
	// Kind is SealKindUnit or SealKindPersonal; empty means SealKindUnit.
	Kind string
	// Holder is the person a personal seal belongs to: their name, 2 to 8
	// characters, engraved as sealpic.NameText(Holder). Required for a
	// personal seal, which the unit's key signs with (a legal
	// representative's or a clerk's name seal); unused for a unit seal.
	Holder string
	// Unit is the unit's signer slug in the development trust chain; it is
	// also the alias of the seal's key in the keyring.
	Unit string
	// UnitName is the unit's name, needed when SignerKey makes a new unit.
	// Empty means the name in the unit's certificate; a unit that has a
	// certificate already must not be given another name.
	UnitName string
	// Purpose is the purpose text under the star of a unit seal, such as
	// 业务专用章 or 合同专用章 (a special-purpose seal). Empty makes the
	// unit's official seal (公章): the unit's name, the star and the code.
	Purpose string
	// Code is the 14-digit seal code, the seal's esID.
	Code string
	// Approvers are the approver slugs allowed to approve uses.
	Approvers []string
	// Departments are the departments (inbox/<dept>/) whose batches the
	// approvers may approve. Empty means the unit's slug.
	Departments []string
	// Validity is how long the seal is valid. Zero means two years; it is
	// capped at the signer certificate's.
	Validity time.Duration
	// SignerKey is the URI of a key held elsewhere (a pkcs11: HSM key) to
	// sign with: the development CA issues the unit a signer certificate
	// for it, and the keyring gets the unit's alias for it. Empty means
	// the unit's key file.
	SignerKey string
	// KeyType is the type of key a new unit gets (devca.AddUnit): SM2, or
	// an ECDSA P-256 or RSA-2048 key for PAdES signatures, whose signer
	// certificate the development PAdES CA issues. A unit not in the
	// trust chain is made, with this key type (empty: devca.KeySM2), when
	// UnitName names it and SignerKey is empty. For a unit that exists,
	// or a SignerKey, empty means the key it has, and another type than
	// that key's is refused: a unit has one key.
	KeyType devca.KeyType
	// Requester, if set, is recorded in the registration as who asked
	// for the seal (the admin API's client, registry.Principal).
	Requester *registry.Principal
	// Predecessor, if set, is the seal the new one replaces (county rules
	// 第十三条; registry.RegisterRequest.Predecessor): ChangeSeal and
	// RenewSeal set it.
	Predecessor string
	// Picture, if it has data, is the seal's picture as it stands (the
	// predecessor's, kept by a renewal of a personal seal), and Name its
	// name; else the picture is drawn from the spec.
	Picture ses.Picture
	Name    string
	// Impression, if set, is an imported PNG of the seal's registered
	// physical impression (county rules 第九条), its picture in place of a
	// drawn one once sealpic.CheckImpression accepts its size and colour
	// (round for a unit seal, square for a personal one) at ImpressionDPI
	// (0: the resolution the PNG records).
	Impression    []byte
	ImpressionDPI float64
	// Application, if set, is the approved application the seal is made
	// from (MakeFromApplication): it is registered suspended until filed.
	Application string
	// grants, if set, are the approvers as pinned already (a successor
	// keeps its predecessor's), in place of Approvers and Departments.
	grants []registry.ApproverGrant
}

// MakeSeal makes a seal for a unit of the development trust chain — a
// unit seal, or a personal name seal the unit's key signs with — draws
// its picture, signs it with the development seal maker's key and
// registers it, the change signed by the seal administrator (Admin).
// Requests naming unknown units or approvers fail with an error wrapping
// registry.ErrInvalid.
func (e *Engine) MakeSeal(ctx context.Context, spec SealSpec) (*registry.Entry, error) {
	switch spec.Kind {
	case "", SealKindUnit:
		if spec.Holder != "" {
			return nil, fmt.Errorf("%w: a unit seal has no holder (%q); make a %s seal for a person", registry.ErrInvalid, spec.Holder, SealKindPersonal)
		}
	case SealKindPersonal:
		if spec.Holder == "" && len(spec.Picture.Data) == 0 {
			return nil, fmt.Errorf("%w: a personal seal needs the holder's name", registry.ErrInvalid)
		}
		if spec.Purpose != "" {
			return nil, fmt.Errorf("%w: a personal seal has no purpose text (%q)", registry.ErrInvalid, spec.Purpose)
		}
	default:
		return nil, fmt.Errorf("%w: seal kind %q, want %q or %q", registry.ErrInvalid, spec.Kind, SealKindUnit, SealKindPersonal)
	}
	if spec.KeyType != "" {
		if _, err := devca.ParseKeyType(string(spec.KeyType)); err != nil {
			return nil, fmt.Errorf("%w: %w", registry.ErrInvalid, err)
		}
	}
	ca, err := e.DevCA()
	if err != nil {
		return nil, err
	}
	reg, err := e.Registry(ctx)
	if err != nil {
		return nil, err
	}
	if spec.SignerKey != "" {
		if err := e.issueSigner(ctx, ca, spec); err != nil {
			return nil, err
		}
	} else if err := addUnit(ctx, ca, spec); err != nil {
		return nil, err
	}
	signer, err := ca.Unit(spec.Unit)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", registry.ErrInvalid, err)
	}
	if have := devca.KeyTypeOf(signer.Cert.PublicKey); spec.KeyType != "" && have != spec.KeyType {
		return nil, fmt.Errorf("%w: key type %q: unit %q's key is %s; a unit has one key, so make a %s seal for a new unit slug",
			registry.ErrInvalid, spec.KeyType, spec.Unit, have, spec.KeyType)
	}
	if err := e.AddKey(spec.Unit, signer.KeyURI); err != nil {
		return nil, err
	}
	depts := spec.Departments
	if len(depts) == 0 {
		depts = []string{spec.Unit}
	}
	grants := make([]registry.ApproverGrant, len(spec.Approvers))
	if spec.grants != nil {
		grants = spec.grants
	}
	for i, slug := range spec.Approvers {
		a, err := ca.Approver(slug)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", registry.ErrInvalid, err)
		}
		grants[i] = registry.ApproverGrant{Cert: a.Cert, Departments: depts}
	}
	unit := signer.Cert.Subject.Organization[0]
	if spec.UnitName != "" && spec.UnitName != unit {
		return nil, fmt.Errorf("%w: unit name %q: unit %q's certificate names it %q, and its seals show that name", registry.ErrInvalid, spec.UnitName, spec.Unit, unit)
	}
	req := registry.MakeRequest{ID: spec.Code, Unit: unit, Purpose: spec.Purpose, Type: ses.TypeUnit, Predecessor: spec.Predecessor, Application: spec.Application}
	if spec.Kind == SealKindPersonal {
		req.Type = ses.TypePersonal
	}
	switch {
	case len(spec.Impression) > 0:
		imp, ierr := sealpic.CheckImpression(spec.Impression, sealpic.ImpressionSpec{Round: spec.Kind != SealKindPersonal, DPI: spec.ImpressionDPI})
		if ierr != nil {
			return nil, fmt.Errorf("%w: %w", registry.ErrInvalid, ierr)
		}
		req.Picture = ses.Picture{Type: "PNG", Data: spec.Impression, WidthMM: imp.WidthMM, HeightMM: imp.HeightMM}
		if spec.Kind == SealKindPersonal {
			req.Name = sealpic.NameText(spec.Holder)
		}
	case len(spec.Picture.Data) > 0:
		req.Picture, req.Name = spec.Picture, spec.Name
	case spec.Kind == SealKindPersonal:
		req.Name = sealpic.NameText(spec.Holder)
		req.Picture, err = NameSealPicture(spec.Holder)
	default:
		req.Picture, err = SealPicture(unit, spec.Purpose, spec.Code)
	}
	if err != nil {
		return nil, err
	}
	maker, err := ca.Signer(ctx, ca.SealMaker)
	if err != nil {
		return nil, err
	}
	admin, err := e.Admin(ctx)
	if err != nil {
		return nil, err
	}
	req.SignerCert, req.Key, req.Approvers = signer.Cert, spec.Unit, grants
	req.Validity, req.Maker, req.Requester = spec.Validity, signed.Signer{Key: maker, Cert: ca.SealMaker.Cert}, spec.Requester
	return reg.Make(ctx, req, admin)
}

// SetSealStatus suspends, reactivates or revokes a seal, the change signed
// by the seal administrator (Admin).
func (e *Engine) SetSealStatus(ctx context.Context, id string, to registry.Status, reason string) (*registry.Record, error) {
	reg, admin, err := e.registryAdmin(ctx)
	if err != nil {
		return nil, err
	}
	return reg.SetStatus(ctx, id, to, reason, admin)
}

// addUnit gives spec's unit a key file of spec.KeyType and its signer
// certificate (devca.AddUnit) if it is not in the trust chain and
// spec.UnitName names it; a unit there already is left to MakeSeal.
func addUnit(ctx context.Context, ca *devca.CA, spec SealSpec) error {
	if _, ok := ca.Signers[spec.Unit]; ok || spec.UnitName == "" {
		return nil
	}
	kt := spec.KeyType
	if kt == "" {
		kt = devca.KeySM2
	}
	if _, err := ca.AddUnit(ctx, devca.Unit{Slug: spec.Unit, Name: spec.UnitName}, kt); err != nil {
		return fmt.Errorf("%w: %w", registry.ErrInvalid, err)
	}
	return nil
}

// issueSigner makes sure the unit has a signer certificate for the key
// spec.SignerKey names, issuing one from the development CA if needed,
// and that the keyring names that key by the unit's slug.
func (e *Engine) issueSigner(ctx context.Context, ca *devca.CA, spec SealSpec) error {
	key, err := e.openURI(ctx, spec.SignerKey, nil)
	if err != nil {
		return fmt.Errorf("signer key %s: %w", redactURI(spec.SignerKey), err)
	}
	name := spec.UnitName
	if id, ok := ca.Signers[spec.Unit]; ok && name == "" {
		name = id.Cert.Subject.Organization[0]
	}
	if name == "" {
		return fmt.Errorf("%w: a unit name is required to issue a signer certificate for %q", registry.ErrInvalid, spec.Unit)
	}
	if _, err := ca.IssueSigner(ctx, spec.Unit, name, key.Public(), spec.SignerKey); err != nil {
		return fmt.Errorf("%w: %w", registry.ErrInvalid, err)
	}
	return nil
}
