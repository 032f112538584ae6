//go:build !cgo

package engine

import "fmt"

// hsmOptions are the Options that concern the HSM pool: none without cgo.
type hsmOptions struct{}

// PKCS11Available reports whether this build can use PKCS#11 tokens.
const PKCS11Available = false

// hsmPool fails: PKCS#11 libraries are loaded through cgo.
func (e *Engine) hsmPool() (hsmBackend, error) {
	if err := e.settings.PKCS11.check(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w", ErrNoPKCS11)
}
