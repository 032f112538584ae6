package engine

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// hsmBackend is what the engine needs of the HSM pool: keys.Backend for
// pkcs11: URIs, and what `keys change-pin` and the secrets' ages need of
// tokens. The pool lives in hsm_cgo.go; without cgo there is none.
type hsmBackend interface {
	keys.Backend
	// token resolves the token a pkcs11: URI selects, loading nothing.
	token(uri string) (hsmToken, error)
	// pinLength returns the token's shortest and longest user PIN.
	pinLength(ctx context.Context, uri string) (minLen, maxLen int, err error)
	// login checks that the token takes pin as its user PIN.
	login(ctx context.Context, uri, pin string) error
	// changePIN changes the token's user PIN (C_SetPIN).
	changePIN(ctx context.Context, uri, oldPIN, newPIN string) error
}

// hsmToken is a token as a pkcs11: URI selects it (pkcs11.Token).
type hsmToken struct {
	id, name, module string
	pinFile          string // the pin-source file; empty if none
}

// ErrNoPKCS11 reports a pkcs11: key URI in a build without PKCS#11.
var ErrNoPKCS11 = errors.New("PKCS#11 is unavailable: this sealpipe was built without cgo (CGO_ENABLED=0); build it with cgo to use HSM keys")

// The values SEALPIPE_PKCS11_SM2_INPUT and SEALPIPE_PKCS11_SM2_OUTPUT take.
const (
	sm2InputDigest  = "digest"
	sm2InputMessage = "message"
	sm2OutputRaw    = "raw"
	sm2OutputDER    = "der"
)

// check validates the settings whose values are words or encodings, so
// that a mistake shows when the settings are loaded, not at the first
// signature.
func (s PKCS11Settings) check() error {
	switch s.SM2Input {
	case "", sm2InputDigest, sm2InputMessage:
	default:
		return settingError("SEALPIPE_PKCS11_SM2_INPUT", s.SM2Input, "want %s or %s", sm2InputDigest, sm2InputMessage)
	}
	switch s.SM2Output {
	case "", sm2OutputRaw, sm2OutputDER:
	default:
		return settingError("SEALPIPE_PKCS11_SM2_OUTPUT", s.SM2Output, "want %s or %s", sm2OutputRaw, sm2OutputDER)
	}
	if _, err := s.sm2Parameter(); err != nil {
		return err
	}
	return nil
}

// sm2Parameter decodes SM2Parameter.
func (s PKCS11Settings) sm2Parameter() ([]byte, error) {
	if s.SM2Parameter == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(s.SM2Parameter)
	if err != nil {
		return nil, settingError("SEALPIPE_PKCS11_SM2_PARAMETER", s.SM2Parameter, "want hexadecimal bytes: %v", err)
	}
	return b, nil
}

// String describes the SM2 mechanism settings for logs.
func (s PKCS11Settings) sm2String() string {
	if s.SM2Mechanism == 0 {
		return "none"
	}
	return fmt.Sprintf("0x%x (%s in, %s out)", s.SM2Mechanism, s.SM2Input, s.SM2Output)
}
