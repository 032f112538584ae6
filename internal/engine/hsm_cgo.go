//go:build cgo

package engine

import (
	"cmp"
	"context"

	"github.com/sealpipe/sealpipe/pipeline/keys/pkcs11"
)

// hsmOptions are the Options that concern the HSM pool.
type hsmOptions struct {
	dialer pkcs11.Dialer
}

// WithPKCS11Dialer makes the HSM pool reach its tokens through d rather
// than by loading PKCS#11 libraries: tests use it to put an in-process
// token (internal/fakehsm) where a real HSM would be.
func WithPKCS11Dialer(d pkcs11.Dialer) Option { return func(e *Engine) { e.hsmOpts.dialer = d } }

// PKCS11Available reports whether this build can use PKCS#11 tokens.
const PKCS11Available = true

// pkcs11Config returns the HSM pool configuration s describes.
func pkcs11Config(s PKCS11Settings) (pkcs11.Config, error) {
	if err := s.check(); err != nil {
		return pkcs11.Config{}, err
	}
	param, _ := s.sm2Parameter()
	cfg := pkcs11.Config{
		MaxSessions:    s.MaxSessions,
		WaitTimeout:    s.WaitTimeout,
		HealthInterval: s.HealthInterval,
		Module:         s.Module,
		SM2: pkcs11.SM2Mechanism{
			Mechanism: s.SM2Mechanism,
			Parameter: param,
			KeyType:   s.SM2KeyType,
		},
	}
	if s.SM2Input == sm2InputMessage {
		cfg.SM2.Input = pkcs11.SM2Message
	}
	if s.SM2Output == sm2OutputDER {
		cfg.SM2.Output = pkcs11.SM2DER
	}
	return cfg, nil
}

// hsmPool returns the HSM pool, made from the PKCS11 settings on first use
// and closed by Close.
func (e *Engine) hsmPool() (hsmBackend, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hsm != nil {
		return e.hsm, nil
	}
	cfg, err := pkcs11Config(e.settings.PKCS11)
	if err != nil {
		return nil, err
	}
	cfg.Registerer = e.metrics
	cfg.Dialer = e.hsmOpts.dialer
	cfg.AllowedModules = []string{}
	if s := e.settings.PKCS11; s.Module != "" {
		cfg.AllowedModules = append(cfg.AllowedModules, s.Module)
	}
	cfg.AllowedModules = append(cfg.AllowedModules, e.settings.PKCS11.Modules...)
	b, err := pkcs11.New(cfg)
	if err != nil {
		return nil, err
	}
	e.log.Info("HSM pool ready", "module", cfg.Module, "max_sessions", cmp.Or(cfg.MaxSessions, pkcs11.DefaultMaxSessions), "sm2_mechanism", e.settings.PKCS11.sm2String())
	e.hsm = tokenPool{b}
	e.onClose(func() { b.Close() })
	return e.hsm, nil
}

// tokenPool is the HSM pool as the engine uses it.
type tokenPool struct{ *pkcs11.Backend }

func (p tokenPool) token(uri string) (hsmToken, error) {
	t, err := p.Token(uri)
	return hsmToken{id: t.ID, name: t.Name, module: t.Module, pinFile: t.PINFile}, err
}

func (p tokenPool) pinLength(ctx context.Context, uri string) (int, int, error) {
	return p.PINLength(ctx, uri)
}

func (p tokenPool) login(ctx context.Context, uri, pin string) error { return p.Login(ctx, uri, pin) }

func (p tokenPool) changePIN(ctx context.Context, uri, oldPIN, newPIN string) error {
	return p.ChangePIN(ctx, uri, oldPIN, newPIN)
}
