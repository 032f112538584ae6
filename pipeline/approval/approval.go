// Package approval holds the approval manifest that closes a batch: the
// list of documents a registered approver allows to be sealed, each with its
// SM3 digest, the seal to apply and where to place it, plus the manifest's
// detached signature.
//
// A department uploads its documents under inbox/<dept>/<batch>/ and last
// the manifest (ManifestName) and its signature (SignatureName). The pair's
// arrival is the batch's commit point: until both are there, nothing of
// the batch is sealed.
//
// The signature is a detached CMS SignedData in the SM2 form of GM/T 0010 /
// GB/T 35275: SM3 digest, SM2 signature over the signed attributes, the
// approver's certificate included. This package checks the manifest's shape
// and its signature; whether the approver may use a seal is the registry's
// policy and is checked by the pipeline.
package approval

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/storage"
)

// Object names of an approval inside a batch prefix.
const (
	ManifestName  = "approval.json"
	SignatureName = "approval.json.p7s"
)

// Limits on what Parse accepts.
const (
	// MaxManifestSize bounds the manifest file, in bytes.
	MaxManifestSize = 4 << 20
	// MaxSignatureSize bounds the detached signature file, in bytes.
	MaxSignatureSize = 64 << 10
	// MaxDocuments bounds the documents of one batch.
	MaxDocuments = 10000
	// Version is the manifest format this package writes and reads.
	Version = 1
)

var (
	// ErrMalformed reports a manifest that is not valid JSON of the expected
	// shape or breaks one of its rules.
	ErrMalformed = errors.New("approval: malformed manifest")
	// ErrSignature reports a missing, unparsable or invalid manifest signature.
	ErrSignature = errors.New("approval: invalid manifest signature")
)

// Manifest is the content of approval.json.
type Manifest struct {
	// Version is the manifest format version; must be 1.
	Version int `json:"version"`
	// Batch is the batch identifier; it must equal the <batch> segment of the
	// prefix the manifest was uploaded under.
	Batch string `json:"batch"`
	// Department is the uploading department; it must equal the <dept> segment.
	Department string `json:"department"`
	// Approver names the approver (their certificate's common name). It is
	// informational: the signing certificate decides who approved.
	Approver string `json:"approver"`
	// ApprovedAt is when the approver signed the manifest.
	ApprovedAt time.Time `json:"approved_at"`
	// Documents lists every document of the batch.
	Documents []Document `json:"documents"`
}

// Document is one approved document.
type Document struct {
	// Name is the document's file name inside the batch prefix (no slashes).
	Name string `json:"name"`
	// SM3 is the lower-case hex SM3 digest of the document's bytes.
	SM3 string `json:"sm3"`
	// Seal is the identifier (esID) of the registered seal to apply.
	Seal string `json:"seal"`
	// Placement says where the seal picture goes.
	Placement Placement `json:"placement"`
	// Also lists further seals to apply after Seal, each in turn over the
	// output of the one before and as a signature of its own (a PDF: an
	// incremental update each; an OFD: one more signature): a co-issuing
	// unit's seal (联合发文), or a PAdES signature beside an SM2 seal for
	// relying parties that cannot check SM2 (each seal's PDF signature
	// format is its own, SEALPIPE_PDF_SIGNATURE_FORMATS). Each needs the
	// approver's permission as Seal does and gets a usage record of its
	// own; the document is sealed with all of them or rejected. At most
	// MaxAlsoSeals, none twice, and none after a certification that
	// permits no changes (Certify 1).
	Also []SealUse `json:"also,omitempty"`
}

// SealUse is one more seal to apply to a document, and where.
type SealUse struct {
	// Seal is the identifier (esID) of the registered seal to apply.
	Seal string `json:"seal"`
	// Placement says where its picture goes.
	Placement Placement `json:"placement"`
}

// MaxAlsoSeals is the most further seals (Document.Also) one document may
// list.
const MaxAlsoSeals = 4

// Seals returns the seals to apply to the document, in order: Seal, then
// Also's.
func (d Document) Seals() []SealUse {
	return append([]SealUse{{Seal: d.Seal, Placement: d.Placement}}, d.Also...)
}

// Placement locates a seal picture on a page. The picture's size is the
// seal's own (GB/T 38540 SES_ESPictrueInfo width and height). X and Y are
// read as the document's format measures (the format is told from the
// document's content, not its name):
//
//   - PDF: the picture's lower-left corner, in millimetres from the page's
//     lower-left corner (ISO 32000-1 default user space, y up), or with
//     Corner from another corner of the page as displayed, to the
//     picture's nearest corner;
//   - OFD: the picture's top-left corner, in millimetres from the top-left
//     corner of the page's physical box (GB/T 33190 §7.3, y down), as the
//     stamp annotation's Boundary states it.
//
// A PDF placement may instead find its place by a keyword, put the picture
// on several pages, or make a riding seal, and may certify the document
// (package pdfseal, Placement and Options.Certify); whatever the mode, the
// seal is one signature. Corner, Keyword, Pages and Certify are PDF's: an
// OFD document with them is refused (PLACEMENT_INVALID).
type Placement struct {
	// Page is the 1-based page number. It is 0 (left out) with Pages, and
	// may be with a Keyword (then looked for on every page) or Riding.
	Page int `json:"page"`
	// X is the picture's left edge in millimetres from the page's left
	// edge; Y its bottom edge from the page's bottom edge (PDF) or its top
	// edge from the page's top edge (OFD).
	X float64 `json:"x"`
	Y float64 `json:"y"`
	// Corner (PDF) is the corner of the page X and Y are measured from:
	// "lower-left" (the default), "upper-left", "upper-right" or
	// "lower-right".
	Corner string `json:"corner,omitempty"`
	// Keyword (PDF) centres the picture on the first occurrence of this
	// text on the page — on Page, on each of Pages, or with neither on the
	// first page that shows it — such as the issuing unit's name or
	// "（盖章）"; x and y must be 0 and corner left out. A page without it is refused
	// (PLACEMENT_INVALID).
	Keyword string `json:"keyword,omitempty"`
	// Pages (PDF) puts the picture on each of these pages, "all" or a list
	// such as [1, 3], at X, Y (or on the keyword), as one signature.
	Pages Pages `json:"pages,omitempty"`
	// Riding asks for a riding seal (骑缝章): the picture split across the
	// right edge of every page, Y measured as for a stamp (for a PDF from
	// Corner's top or bottom edge, for an OFD from the top), as one
	// signature; Page and X are then not used.
	Riding bool `json:"riding,omitempty"`
	// Certify (PDF), 1 to 3, makes the seal a certification signature with
	// that DocMDP permission (ISO 32000-1 §12.8.2.2): 1 no changes, 2 form
	// filling and signing, 3 those and annotations. A document signed
	// already cannot be certified (PLACEMENT_INVALID).
	Certify int `json:"certify,omitempty"`
}

// DefaultPlacement is where a seal goes when nobody says otherwise: page 1,
// 20 mm in from the left and bottom edges, a spot that exists on every page
// size. Documents with a place reserved for the seal (a signature block, a
// date line) name it in their approval.
var DefaultPlacement = Placement{Page: 1, X: 20, Y: 20}

// Digest returns the document's expected SM3 digest as bytes.
func (d Document) Digest() []byte {
	b, _ := hex.DecodeString(d.SM3) // validated by Parse
	return b
}

// Find returns the document named name.
func (m *Manifest) Find(name string) (Document, bool) {
	for _, d := range m.Documents {
		if d.Name == name {
			return d, true
		}
	}
	return Document{}, false
}

// Parse decodes and validates a manifest. Unknown fields are refused so a
// typo cannot silently drop an instruction.
func Parse(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds the %d byte limit", ErrMalformed, len(data), MaxManifestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrMalformed)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks the manifest's rules: version, identifiers, approval time,
// and for each document a safe unique name, a 32-byte hex digest, a seal and
// a placement whose fields combine (a page or what stands for one, x and y
// from 0 to 5000 mm, a known corner, a keyword of at most MaxKeywordLength
// bytes without control characters, pages "all" or up to
// MaxPlacementPages distinct numbers, a DocMDP level of 0 to 3).
func (m *Manifest) Validate() error {
	if m.Version != Version {
		return fmt.Errorf("%w: version %d, want %d", ErrMalformed, m.Version, Version)
	}
	if err := CheckSegment("batch", m.Batch); err != nil {
		return err
	}
	if err := CheckSegment("department", m.Department); err != nil {
		return err
	}
	if m.ApprovedAt.IsZero() {
		return fmt.Errorf("%w: approved_at is missing", ErrMalformed)
	}
	if len(m.Documents) == 0 {
		return fmt.Errorf("%w: no documents", ErrMalformed)
	}
	if len(m.Documents) > MaxDocuments {
		return fmt.Errorf("%w: %d documents exceeds the limit of %d", ErrMalformed, len(m.Documents), MaxDocuments)
	}
	seen := make(map[string]bool, len(m.Documents))
	for i, d := range m.Documents {
		if err := CheckDocumentName(d.Name); err != nil {
			return fmt.Errorf("document %d: %w", i, err)
		}
		if seen[d.Name] {
			return fmt.Errorf("%w: document %q listed twice", ErrMalformed, d.Name)
		}
		seen[d.Name] = true
		if b, err := hex.DecodeString(d.SM3); err != nil || len(b) != 32 || strings.ToLower(d.SM3) != d.SM3 {
			return fmt.Errorf("%w: document %q: sm3 %q is not 64 lower-case hex digits", ErrMalformed, d.Name, d.SM3)
		}
		if err := d.validateSeals(); err != nil {
			return err
		}
	}
	return nil
}

// validateSeals checks the seals d lists (Seals): ids, placements, none
// twice, and no seal after a certification that permits no changes.
func (d Document) validateSeals() error {
	if len(d.Also) > MaxAlsoSeals {
		return fmt.Errorf("%w: document %q lists %d further seals, more than %d", ErrMalformed, d.Name, len(d.Also), MaxAlsoSeals)
	}
	seen := map[string]bool{}
	for i, u := range d.Seals() {
		what := "placement"
		if i > 0 {
			what = fmt.Sprintf("also[%d]", i-1)
		}
		switch {
		case u.Seal == "" || len(u.Seal) > 64 || !printableASCII(u.Seal):
			return fmt.Errorf("%w: document %q: %s: seal id %q is empty or not printable ASCII", ErrMalformed, d.Name, what, u.Seal)
		case seen[u.Seal]:
			return fmt.Errorf("%w: document %q: %s: seal %s is listed twice", ErrMalformed, d.Name, what, u.Seal)
		case i > 0 && u.Placement.Certify != 0:
			return fmt.Errorf("%w: document %q: %s: only the first seal may certify the document", ErrMalformed, d.Name, what)
		case i == 0 && u.Placement.Certify == 1 && len(d.Also) > 0:
			return fmt.Errorf("%w: document %q: certify 1 permits no changes, so no further seal may follow", ErrMalformed, d.Name)
		}
		seen[u.Seal] = true
		if err := u.Placement.Validate(); err != nil {
			if i == 0 {
				return fmt.Errorf("document %q: placement: %w", d.Name, err)
			}
			return fmt.Errorf("document %q: %s: placement: %w", d.Name, what, err)
		}
	}
	return nil
}

// CheckSegment validates a department or batch identifier: 1-64 characters
// from [A-Za-z0-9._-], not starting with a dot.
func CheckSegment(what, s string) error {
	if s == "" || len(s) > 64 || s[0] == '.' {
		return fmt.Errorf("%w: %s %q must be 1-64 characters and not start with '.'", ErrMalformed, what, s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%w: %s %q may hold only letters, digits, '.', '_' and '-'", ErrMalformed, what, s)
		}
	}
	return nil
}

// CheckDocumentName validates a document's file name: a name every store
// keeps as given and every person reads as shown (storage.CheckName: no
// control, bidi or zero-width characters, short enough for the records
// derived from it), ending in ".pdf" or ".ofd" (IsDocumentName), and
// not one of the approval's own file names. A manifest listing another
// name is malformed: the document could never get a record. The extension
// only keeps names recognisable: a document's format is told from its
// content.
func CheckDocumentName(name string) error {
	if err := storage.CheckName(name); err != nil {
		return fmt.Errorf("%w: document %w", ErrMalformed, err)
	}
	if !IsDocumentName(name) {
		return fmt.Errorf("%w: document name %q: only .pdf and .ofd documents are supported", ErrMalformed, name)
	}
	return nil
}

// documentExtensions are the file name extensions of documents: PDF and
// OFD (GB/T 33190).
var documentExtensions = []string{".pdf", ".ofd"}

// IsDocumentName reports whether name ends in ".pdf" or ".ofd", in any
// case: the names a batch's documents may have.
func IsDocumentName(name string) bool {
	ext := path.Ext(name)
	for _, e := range documentExtensions {
		if strings.EqualFold(ext, e) {
			return true
		}
	}
	return false
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Marshal encodes a manifest as indented JSON after validating it.
func Marshal(m *Manifest) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Sign makes the detached signature of manifest bytes (see package
// signed): SM3 and SM2 (GM/T 0010 OIDs) when the key is SM2, the
// approver's certificate included. The signer may be any crypto.Signer,
// such as an HSM key.
func Sign(manifest []byte, signer crypto.Signer, cert *smx509.Certificate) ([]byte, error) {
	sig, err := signed.Signer{Key: signer, Cert: cert}.Sign(manifest)
	if err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	return sig, nil
}

// VerifySignature checks sig as the detached signature of manifest and
// returns the approver's certificate. It checks the mathematics only; the
// caller decides whether the certificate is trusted (trust.Pool) and what it
// may approve. Failures wrap ErrSignature.
func VerifySignature(manifest, sig []byte) (*smx509.Certificate, error) {
	if len(sig) > MaxSignatureSize {
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrSignature, len(sig))
	}
	cert, err := signed.Verify(manifest, sig)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return cert, nil
}

// NewDocument lists a document's bytes: its name, their SM3 digest, the
// seal to apply and where.
func NewDocument(name string, data []byte, seal string, pl Placement) Document {
	sum := sm3.Sum(data)
	return Document{Name: name, SM3: hex.EncodeToString(sum[:]), Seal: seal, Placement: pl}
}

// Digest returns the SM3 digest of what r reads, in lower-case hex as
// Document.SM3 records it, reading it once, streaming: a document of any
// size is hashed in constant memory.
func Digest(r io.Reader) (string, error) {
	h := sm3.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// MarshalSigned encodes m (see Marshal) and signs the encoding (see Sign),
// returning the contents of ManifestName and SignatureName.
func MarshalSigned(m *Manifest, signer crypto.Signer, cert *smx509.Certificate) (manifest, sig []byte, err error) {
	if manifest, err = Marshal(m); err != nil {
		return nil, nil, err
	}
	if sig, err = Sign(manifest, signer, cert); err != nil {
		return nil, nil, err
	}
	return manifest, sig, nil
}
