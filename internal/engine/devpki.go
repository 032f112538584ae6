package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sealpipe/sealpipe/internal/devca"
)

// devPassphraseName is the file under <data>/pki where `sealpipe ca init`
// keeps a generated passphrase when none is configured. It is for
// development only and says so.
const devPassphraseName = "DEV-ONLY-passphrase"

func devPassphrasePath(pkiDir string) string { return filepath.Join(pkiDir, devPassphraseName) }

// readDevPassphrase reads the development passphrase under pkiDir.
func readDevPassphrase(pkiDir string) ([]byte, error) {
	b, err := os.ReadFile(devPassphrasePath(pkiDir))
	if err != nil {
		return nil, err
	}
	if b = bytes.TrimSpace(b); len(b) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrSettings, devPassphrasePath(pkiDir))
	}
	return b, nil
}

// DevPassphrase returns the passphrase that protects the development PKI's
// keys: SEALPIPE_KEY_PASSPHRASE if set, else the development passphrase
// file, which is generated (with a warning) if create is set and there is
// none yet.
func (e *Engine) DevPassphrase(create bool) ([]byte, error) {
	p, err := e.keyPassphrase()
	if err == nil || !create || !errors.Is(err, ErrSettings) {
		return p, err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	p = []byte(hex.EncodeToString(raw))
	if err := os.MkdirAll(e.PKIDir(), 0o700); err != nil {
		return nil, err
	}
	path := devPassphrasePath(e.PKIDir())
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return e.keyPassphrase() // made by a concurrent command
	}
	if err != nil {
		return nil, err
	}
	_, err = f.Write(append(p, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	e.log.Warn("no key passphrase configured: generated a DEVELOPMENT passphrase stored beside the keys; set SEALPIPE_KEY_PASSPHRASE in production", "file", path)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.devPass = p
	return p, nil
}

// InitDevCA makes whatever part of the development trust chain under
// <data>/pki is missing (see devca.Init), generating the development
// passphrase if none is configured.
func (e *Engine) InitDevCA(units []devca.Unit, approvers []devca.Approver) (*devca.CA, error) {
	pass, err := e.DevPassphrase(true)
	if err != nil {
		return nil, err
	}
	ca, err := devca.Init(devca.Config{Dir: e.PKIDir(), Passphrase: pass, Units: units, Approvers: approvers})
	if err != nil {
		return nil, err
	}
	// The admin listener's development TLS certificate (sealpipe serve).
	if _, _, err := ca.EnsureTLSServer(context.Background()); err != nil {
		return nil, err
	}
	// The keyring names the development keys the pipeline and the
	// command line use by alias: the units' (their slugs), the seal
	// administrator's and the pipeline's.
	ids := map[string]devca.Identity{e.settings.AdminKey: ca.Registrar, e.settings.ServiceKey: ca.Pipeline}
	for slug, id := range ca.Signers {
		ids[slug] = id
	}
	for alias, id := range ids {
		if err := e.AddKey(alias, id.KeyURI); err != nil {
			return nil, err
		}
	}
	return ca, nil
}

// DevCA loads the development trust chain under <data>/pki, for the
// commands that make development material: seals, approvals, sample
// batches. Running the pipeline never needs it.
func (e *Engine) DevCA() (*devca.CA, error) {
	pass, err := e.DevPassphrase(false)
	if err != nil {
		return nil, err
	}
	ca, err := devca.Load(e.PKIDir(), pass)
	if err != nil {
		return nil, fmt.Errorf("%w: load the development trust chain from %s (run `sealpipe ca init` first): %w", ErrSettings, e.PKIDir(), err)
	}
	return ca, nil
}
