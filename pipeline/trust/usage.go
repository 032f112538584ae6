package trust

import (
	"encoding/asn1"
	"fmt"
	"slices"

	"github.com/emmansun/gmsm/smx509"
)

// Usage is what a certificate is verified for. Each maps to the keyUsage
// bits (RFC 5280 §4.2.1.3) the certificate must carry; devca issues
// certificates that satisfy them. For the purposes GB/T 38540 defines —
// making seals, signing documents — extended key usage is not checked:
// the standard defines none, and Chinese CAs commonly mark signing
// certificates with the TLS client one.
//
// sealpipe's own roles — approving a batch, administering the seal
// registry, signing the pipeline's records — are a different matter: an
// ordinary signing certificate from a trusted CA must not approve a batch
// or change the registry because of its name. A certificate serves such a
// role only if it carries the role's OID (Pool.RoleOID), as an extended key
// usage (RFC 5280 §4.2.1.12) or as a certificate policy (§4.2.1.4), and
// never through anyExtendedKeyUsage or anyPolicy.
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
	// digitalSignature and the approver role OID.
	UsageApprover
	// UsageAny: chain, validity and revocation only, no key usage check.
	UsageAny
	// UsageRegistryAdmin: a seal administrator signing a registry entry;
	// needs digitalSignature and the registry-admin role OID.
	UsageRegistryAdmin
	// UsagePipeline: the pipeline signing its own records (reports,
	// rejections, usage records); needs digitalSignature and the pipeline
	// role OID.
	UsagePipeline
	// UsageProvince: the provincial seal system signing what it sends a
	// county, such as its revocation list (package pipeline/exchange);
	// needs digitalSignature and the province role OID.
	UsageProvince
)

// The default role OIDs, under the arc of RFC 5612's example enterprise
// number (1.3.6.1.4.1.32473), which no real CA uses: the development CA
// issues them, and a deployment whose CA marks roles with OIDs of its own
// sets those (Pool.SetRoleOID; the engine's SEALPIPE_*_OID settings).
var (
	DefaultApproverOID      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 38540, 1}
	DefaultRegistryAdminOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 38540, 2}
	DefaultPipelineOID      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 38540, 3}
	DefaultProvinceOID      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 38540, 4}
)

// defaultRoleOIDs are the role OIDs of a new Pool.
func defaultRoleOIDs() map[Usage]asn1.ObjectIdentifier {
	return map[Usage]asn1.ObjectIdentifier{
		UsageApprover:      DefaultApproverOID,
		UsageRegistryAdmin: DefaultRegistryAdminOID,
		UsagePipeline:      DefaultPipelineOID,
		UsageProvince:      DefaultProvinceOID,
	}
}

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
	case UsageRegistryAdmin:
		return "registry administrator"
	case UsagePipeline:
		return "pipeline"
	case UsageProvince:
		return "province"
	}
	return fmt.Sprintf("Usage(%d)", int(u))
}

// KeyUsage returns the keyUsage bits of which a certificate for u must
// carry at least one; zero for UsageAny.
func (u Usage) KeyUsage() smx509.KeyUsage {
	switch u {
	case UsageSealMaker, UsageApprover, UsageRegistryAdmin, UsagePipeline, UsageProvince:
		return smx509.KeyUsageDigitalSignature
	case UsageDocumentSigner:
		return smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment
	}
	return 0
}

// check tests c's key usage for u, and its role OID if u is a role (oid
// not nil).
func (u Usage) check(c *smx509.Certificate, oid asn1.ObjectIdentifier) error {
	if u < UsageSealMaker || u > UsageProvince {
		return certErr(c, ErrKeyUsage, "invalid usage %v", u)
	}
	if want := u.KeyUsage(); want != 0 {
		if c.KeyUsage == 0 {
			return certErr(c, ErrKeyUsage, "no keyUsage extension; a %s certificate needs %s", u, keyUsageJoin(want, " or "))
		}
		if c.KeyUsage&want == 0 {
			return certErr(c, ErrKeyUsage, "key usage %s; a %s certificate needs %s", keyUsageString(c.KeyUsage), u, keyUsageJoin(want, " or "))
		}
	}
	if oid != nil && !HasRole(c, oid) {
		return certErr(c, ErrKeyUsage, "no %s role: the certificate names %v neither as an extended key usage nor as a policy", u, oid)
	}
	return nil
}

// HasRole reports whether c names oid as an extended key usage or as a
// certificate policy.
func HasRole(c *smx509.Certificate, oid asn1.ObjectIdentifier) bool {
	return slices.ContainsFunc(c.UnknownExtKeyUsage, oid.Equal) || slices.ContainsFunc(c.PolicyIdentifiers, oid.Equal)
}
