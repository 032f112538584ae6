package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/approval"
)

// ApprovalSpec describes the approval of a folder of documents.
type ApprovalSpec struct {
	// Department and Batch name the batch: inbox/<dept>/<batch>/.
	Department, Batch string
	// Approver is the approver's slug in the development trust chain,
	// whose key signs.
	Approver string
	// Seal is the seal ID every document names.
	Seal string
	// Placement is where the seal goes on each document.
	Placement approval.Placement
	// Also are further seals for each document (approval.Document.Also).
	Also []approval.SealUse
	// At is the approval time. Zero means now.
	At time.Time
}

// ApproveDir lists every .pdf and .ofd file in dir (approval.IsDocumentName)
// with its SM3 digest in an approval manifest, signs it with the
// approver's key from the development trust chain and writes
// dir/approval.json and its detached signature dir/approval.json.p7s. A
// folder without documents, or an approver or batch the chain or the
// rules do not know, is an error wrapping approval.ErrMalformed.
func (e *Engine) ApproveDir(ctx context.Context, dir string, spec ApprovalSpec) (*approval.Manifest, error) {
	ca, err := e.DevCA()
	if err != nil {
		return nil, err
	}
	id, err := ca.Approver(spec.Approver)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", approval.ErrMalformed, err)
	}
	at := spec.At
	if at.IsZero() {
		at = time.Now()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	m := &approval.Manifest{Version: approval.Version, Batch: spec.Batch, Department: spec.Department,
		Approver: id.Cert.Subject.CommonName, ApprovedAt: at.UTC().Truncate(time.Second)}
	for _, d := range entries {
		if !d.Type().IsRegular() || !approval.IsDocumentName(d.Name()) {
			continue
		}
		sum, err := fileDigest(filepath.Join(dir, d.Name()))
		if err != nil {
			return nil, err
		}
		m.Documents = append(m.Documents, approval.Document{Name: d.Name(), SM3: sum, Seal: spec.Seal, Placement: spec.Placement, Also: spec.Also})
	}
	if len(m.Documents) == 0 {
		return nil, fmt.Errorf("%w: no .pdf or .ofd documents in %s", approval.ErrMalformed, dir)
	}
	slices.SortFunc(m.Documents, func(a, b approval.Document) int { return strings.Compare(a.Name, b.Name) })
	key, err := ca.Signer(ctx, id)
	if err != nil {
		return nil, err
	}
	body, sig, err := approval.MarshalSigned(m, key, id.Cert)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, approval.ManifestName), body, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, approval.SignatureName), sig, 0o644); err != nil {
		return nil, err
	}
	return m, nil
}

// fileDigest returns the SM3 of the file path, in hex (approval.Digest),
// read streaming: a document of any size is approved, checked and
// uploaded in constant memory.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum, err := approval.Digest(f)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return sum, nil
}
