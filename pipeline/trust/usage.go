package trust

import (
	"fmt"

	"github.com/emmansun/gmsm/smx509"
)

// Usage is what a certificate is verified for. Each maps to the keyUsage
// bits (RFC 5280 §4.2.1.3) the certificate must carry; devca issues
// certificates that satisfy them. Extended key usage is not checked:
// GB/T 38540 defines none, and Chinese CAs commonly mark signing
// certificates with the TLS client one.
//
// The zero Usage is invalid, so that a forgotten argument fails closed.
type Usage int

// Usages.
const (
	// UsageSealMaker: the seal maker signing SESeal (GB/T 38540 §6.3 (3));
	// needs digitalSignature.
	UsageSealMaker Usage = iota + 1
	// UsageDocumentSigner: a unit signing documents with a seal (GB/T 38540
	// §7.3 (e)); needs digitalSignature or contentCommitment
	// (nonRepudiation).
	UsageDocumentSigner
	// UsageApprover: a person signing an approval manifest; needs
	// digitalSignature.
	UsageApprover
	// UsageAny: chain, validity and revocation only, no key usage check.
	UsageAny
)

// String returns the usage's name.
func (u Usage) String() string {
	switch u {
	case UsageSealMaker:
		return "seal maker"
	case UsageDocumentSigner:
		return "document signer"
	case UsageApprover:
		return "approver"
	case UsageAny:
		return "any"
	}
	return fmt.Sprintf("Usage(%d)", int(u))
}

// KeyUsage returns the keyUsage bits of which a certificate for u must
// carry at least one; zero for UsageAny.
func (u Usage) KeyUsage() smx509.KeyUsage {
	switch u {
	case UsageSealMaker, UsageApprover:
		return smx509.KeyUsageDigitalSignature
	case UsageDocumentSigner:
		return smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment
	}
	return 0
}

// check tests c's key usage for u.
func (u Usage) check(c *smx509.Certificate) error {
	if u < UsageSealMaker || u > UsageAny {
		return certErr(c, ErrKeyUsage, "invalid usage %v", u)
	}
	want := u.KeyUsage()
	if want == 0 {
		return nil
	}
	if c.KeyUsage == 0 {
		return certErr(c, ErrKeyUsage, "no keyUsage extension; a %s certificate needs %s", u, keyUsageJoin(want, " or "))
	}
	if c.KeyUsage&want == 0 {
		return certErr(c, ErrKeyUsage, "key usage %s; a %s certificate needs %s", keyUsageString(c.KeyUsage), u, keyUsageJoin(want, " or "))
	}
	return nil
}
