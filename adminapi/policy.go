package adminapi

import (
	"net/http"
	"slices"

	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// Action is what a route does, as the authorisation table names it.
type Action string

// The actions of the API. Each route does one (see Routes).
const (
	ActionWhoami       Action = "whoami"
	ActionOpenAPI      Action = "openapi"
	ActionList         Action = "seals.list"
	ActionShow         Action = "seals.show"
	ActionHistory      Action = "seals.history"
	ActionApprovers    Action = "seals.approvers"
	ActionMake         Action = "seals.make"
	ActionSuspend      Action = "seals.suspend"
	ActionActivate     Action = "seals.activate"
	ActionRevoke       Action = "seals.revoke"
	ActionSetApprovers Action = "seals.set-approvers"
	ActionChange       Action = "seals.change"
	ActionRenew        Action = "seals.renew"
	ActionAudit        Action = "audit.query"
	ActionAppSubmit    Action = "applications.submit"
	ActionAppList      Action = "applications.list"
	ActionAppShow      Action = "applications.show"
	ActionAppReview    Action = "applications.review"
	ActionAppMake      Action = "applications.make"
	ActionAppFile      Action = "applications.file"
)

// Access is how far a role may take an action.
type Access string

// Accesses, from none to every seal.
const (
	// Denied: the role may not take the action at all (403 FORBIDDEN).
	Denied Access = ""
	// Own: only on the seals of the principal's own units, departments
	// or approvals (see InScope); another seal is 403 OTHER_UNIT, and a
	// list holds only its own.
	Own Access = "own"
	// All: on every seal.
	All Access = "all"
)

// policy is the authorisation table, the one place that says who may do
// what: action → role → access. A role not listed for an action is
// Denied. TestPolicy goes through every route × role × own/other seal.
var policy = map[Action]map[Role]Access{
	ActionWhoami:  everyone(All),
	ActionOpenAPI: everyone(All),
	// Reading: the city, the county and auditors see every seal; a unit
	// keeper its unit's, an approver those it approves, a department's
	// uploader those its batches may be sealed with.
	ActionList:      everyone(Own, RoleAdmin, RoleRegistrar, RoleAuditor),
	ActionShow:      everyone(Own, RoleAdmin, RoleRegistrar, RoleAuditor),
	ActionHistory:   everyone(Own, RoleAdmin, RoleRegistrar, RoleAuditor),
	ActionApprovers: everyone(Own, RoleAdmin, RoleRegistrar, RoleAuditor),
	// Changing: the city makes, reactivates and revokes (第七条, 第十四条);
	// a lost or stolen seal is suspended at once by its unit's keeper or
	// by the county that hears of it, and only the city brings it back.
	// A change of seal (第十三条) and a renewal (第十条) make a seal and
	// revoke one, so they are the city's as making and revoking are.
	ActionMake:         {RoleAdmin: All},
	ActionSuspend:      {RoleAdmin: All, RoleRegistrar: All, RoleKeeper: Own},
	ActionActivate:     {RoleAdmin: All},
	ActionRevoke:       {RoleAdmin: All},
	ActionSetApprovers: {RoleAdmin: All},
	ActionChange:       {RoleAdmin: All},
	ActionRenew:        {RoleAdmin: All},
	// Auditing (第十七条): the city, the county and auditors query every
	// seal's uses and changes; a unit keeper its units' seals' (see
	// auditUnits). An approver or an uploader may not: the uses of a seal
	// it approves for, or its department's batches are sealed with,
	// include other departments' batches, which are not its own.
	ActionAudit: {RoleAdmin: All, RoleRegistrar: All, RoleAuditor: All, RoleKeeper: Own},
	// Applications (第七–八条): the county's registrar takes them (the
	// city may too), the city reviews them; both and auditors read them.
	ActionAppSubmit: {RoleAdmin: All, RoleRegistrar: All},
	ActionAppList:   {RoleAdmin: All, RoleRegistrar: All, RoleAuditor: All},
	ActionAppShow:   {RoleAdmin: All, RoleRegistrar: All, RoleAuditor: All},
	ActionAppReview: {RoleAdmin: All},
	// The city makes the seal; the county, which takes filings, or the
	// city files it.
	ActionAppMake: {RoleAdmin: All},
	ActionAppFile: {RoleAdmin: All, RoleRegistrar: All},
}

// everyone gives every role access a, except the roles in all, which get
// All.
func everyone(a Access, all ...Role) map[Role]Access {
	m := make(map[Role]Access, len(Roles()))
	for _, r := range Roles() {
		m[r] = a
		if slices.Contains(all, r) {
			m[r] = All
		}
	}
	return m
}

// Allowed returns how far role r may take action a.
func Allowed(a Action, r Role) Access { return policy[a][r] }

// InScope reports whether rec is one of p's own seals: for a keeper, a
// seal of one of its units (the record's unit is one of the certificate's
// O values); for an uploader, a seal that may be approved for one of its
// departments (the certificate's OU values); for an approver, a seal that
// names it (its certificate's CN) as an approver. Other roles are bound to
// no unit, and own no seal.
func InScope(p *Principal, rec *registry.Record) bool {
	switch p.Role {
	case RoleKeeper:
		return slices.Contains(p.Units, rec.Unit)
	case RoleUploader:
		return slices.ContainsFunc(rec.Approvers, func(a registry.Approver) bool {
			return slices.ContainsFunc(a.Departments, func(d string) bool { return slices.Contains(p.Departments, d) })
		})
	case RoleApprover:
		return slices.ContainsFunc(rec.Approvers, func(a registry.Approver) bool { return a.Name == p.Name })
	}
	return false
}

// auditUnits returns the units whose seals an audit query by p covers
// when p has Own access, asked for unit (empty: every unit of p's): the
// units p keeps, a keeper's certificate's O values as for InScope; other
// roles keep none. A unit p does not keep is 403 OTHER_UNIT. No unit
// means no events, never every unit's.
func auditUnits(p *Principal, unit string) ([]string, error) {
	var mine []string
	if p.Role == RoleKeeper {
		mine = p.Units
	}
	if unit == "" {
		return mine, nil
	}
	if !slices.Contains(mine, unit) {
		return nil, apiError(http.StatusForbidden, CodeOtherUnit, "%v: unit %q is not one of %s %q's own (%q)", ErrForbidden, unit, p.Role, p.Name, mine)
	}
	return []string{unit}, nil
}
