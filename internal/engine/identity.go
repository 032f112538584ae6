package engine

import (
	"context"
	"crypto"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// Service returns the pipeline's own identity: the key the keyring names
// SEALPIPE_SERVICE_KEY and the certificate SEALPIPE_SERVICE_CERT (or the
// development one). It signs reports, rejection records and usage records.
func (e *Engine) Service(ctx context.Context) (signed.Signer, error) {
	return e.identity(ctx, "SEALPIPE_SERVICE", e.settings.ServiceKey, e.settings.ServiceCert, "pipeline", trust.UsagePipeline)
}

// Admin returns the seal administrator's identity that signs the registry
// changes of this process: the key the keyring names SEALPIPE_ADMIN_KEY
// and the certificate SEALPIPE_ADMIN_CERT (or the development registrar's).
func (e *Engine) Admin(ctx context.Context) (signed.Signer, error) {
	return e.identity(ctx, "SEALPIPE_ADMIN", e.settings.AdminKey, e.settings.AdminCert, "registrar", trust.UsageRegistryAdmin)
}

// identity opens the key alias and its certificate (certPath, or the
// development one <data>/pki/<dev>.crt) and checks that they belong
// together and that the certificate serves usage now.
func (e *Engine) identity(ctx context.Context, setting, alias, certPath, dev string, usage trust.Usage) (signed.Signer, error) {
	if certPath == "" {
		certPath = filepath.Join(e.PKIDir(), dev+".crt")
	}
	certs, err := trust.LoadCertificates(certPath)
	if err != nil || len(certs) != 1 {
		return signed.Signer{}, fmt.Errorf("%w: %s_CERT %s: want one certificate (%v); `sealpipe ca init` makes a development one", ErrSettings, setting, certPath, err)
	}
	key, err := e.Signers().Signer(ctx, alias)
	if err != nil {
		return signed.Signer{}, fmt.Errorf("%s_KEY %q: %w", setting, alias, err)
	}
	if pub, ok := certs[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(key.Public()) {
		return signed.Signer{}, fmt.Errorf("%w: %s_KEY %q is not the key of %s", ErrSettings, setting, alias, certPath)
	}
	pool, err := e.Trust()
	if err != nil {
		return signed.Signer{}, err
	}
	if _, err := pool.Verify(certs[0], time.Now(), usage); err != nil {
		return signed.Signer{}, fmt.Errorf("%w: %s_CERT %s: %w", ErrSettings, setting, certPath, err)
	}
	return signed.Signer{Key: key, Cert: certs[0]}, nil
}
