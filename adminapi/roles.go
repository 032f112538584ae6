package adminapi

import (
	"encoding/asn1"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Role is what a client certificate lets its holder do, as `sealpipe ca
// issue-client --role` names it.
type Role string

// The roles of the county rules (遂平县电子印章管理暂行办法): the city makes
// and revokes seals, the county takes applications and filings, each unit
// keeps its own seals, approvers approve their uses, auditors read, and
// departments upload batches.
const (
	// RoleAdmin is the seal administrator (city): makes, suspends,
	// reactivates and revokes seals and names their approvers.
	RoleAdmin Role = "admin"
	// RoleRegistrar is the county registrar: takes applications and
	// filings (issue 10 item 2); for now reads every seal and suspends one
	// whose loss a unit reports.
	RoleRegistrar Role = "registrar"
	// RoleKeeper is a unit's seal keeper: reads its own unit's seals and
	// suspends one that is lost.
	RoleKeeper Role = "keeper"
	// RoleApprover reads the seals it may approve uses of.
	RoleApprover Role = "approver"
	// RoleAuditor reads everything and changes nothing.
	RoleAuditor Role = "auditor"
	// RoleUploader is a department's uploader: reads the seals its
	// department's batches may be sealed with.
	RoleUploader Role = "uploader"
)

// Roles lists every role, in the order of the documentation.
func Roles() []Role {
	return []Role{RoleAdmin, RoleRegistrar, RoleKeeper, RoleApprover, RoleAuditor, RoleUploader}
}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	if r := Role(s); slices.Contains(Roles(), r) {
		return r, nil
	}
	names := make([]string, 0, len(Roles()))
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return "", fmt.Errorf("role %q: want one of %s", s, strings.Join(names, ", "))
}

// Bound reports whether the role acts for certain units only, which its
// certificate names: a keeper for its units (the subject's O, the unit's
// name as its seals' records give it), an uploader for its departments
// (the subject's OU, as in inbox/<dept>/). An approver is bound too, to
// the seals that name it (its common name) as an approver.
func (r Role) Bound() bool { return r == RoleKeeper || r == RoleUploader || r == RoleApprover }

// roleArc is the arc of the default role OIDs, under RFC 5612's example
// enterprise number like sealpipe's other role OIDs (package trust).
var roleArc = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 38540, 10}

// DefaultRoleOIDs returns the OID each role's client certificates carry
// by default, as an extended key usage or a certificate policy:
// 1.3.6.1.4.1.32473.38540.10.1 (admin) to .10.6 (uploader), in the order
// of Roles. A deployment whose CA marks roles with OIDs of its own
// configures those (the engine's SEALPIPE_API_*_OID settings).
func DefaultRoleOIDs() map[Role]asn1.ObjectIdentifier {
	m := make(map[Role]asn1.ObjectIdentifier, len(Roles()))
	for i, r := range Roles() {
		m[r] = append(slices.Clip(roleArc), i+1)
	}
	return m
}

// checkRoleOIDs refuses a table that lacks a role or gives two roles one
// OID: a certificate would then prove the wrong role.
func checkRoleOIDs(m map[Role]asn1.ObjectIdentifier) error {
	seen := map[string]Role{}
	for _, r := range Roles() {
		oid, ok := m[r]
		if !ok || len(oid) == 0 {
			return fmt.Errorf("adminapi: no OID for role %s", r)
		}
		if other, dup := seen[oid.String()]; dup {
			return fmt.Errorf("adminapi: roles %s and %s share the OID %s", other, r, oid)
		}
		seen[oid.String()] = r
	}
	if extra := len(m) - len(seen); extra > 0 {
		return fmt.Errorf("adminapi: %d OID(s) for no role (%v)", extra, slices.Sorted(maps.Keys(m)))
	}
	return nil
}
