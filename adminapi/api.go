package adminapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sealpipe/sealpipe/pipeline/audittrail"
	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// Seal is a seal as the API returns it: its registry record and, from
// GET /api/v1/seals/{id}, a summary of its SESeal.
type Seal struct {
	registry.Record
	SESeal *SESeal `json:"seseal,omitempty"`
}

// SESeal summarises a seal's GB/T 38540 structure.
type SESeal struct {
	Version         int    `json:"version"`
	Vendor          string `json:"vendor"`
	PictureType     string `json:"picture_type"`
	PictureWidthMM  int    `json:"picture_width_mm"`
	PictureHeightMM int    `json:"picture_height_mm"`
	// Certificates is the number of signer certificates it lists.
	Certificates int `json:"certificates"`
}

// SealList is the body of GET /api/v1/seals.
type SealList struct {
	Seals []registry.Record `json:"seals"`
}

// History is the body of GET /api/v1/seals/{id}/history: every change
// of the seal's status, oldest first, with who signed it and who asked
// for it.
type History struct {
	Seal    string           `json:"seal"`
	History []registry.Event `json:"history"`
}

// Approvers is the body of GET /api/v1/seals/{id}/approvers.
type Approvers struct {
	Seal      string              `json:"seal"`
	Approvers []registry.Approver `json:"approvers"`
}

// StatusRequest is the body of POST /api/v1/seals/{id}/suspend,
// /activate and /revoke.
type StatusRequest struct {
	// Reason is recorded in the seal's history; required.
	Reason string `json:"reason"`
	// Code is a suspension's or revocation's reason code (county rules
	// 第十四条, registry.ReasonCodes); empty means registry.CodeOther.
	// An activation takes none; registry.CodeSuperseded is for a change
	// of seal, which names the successor.
	Code registry.ReasonCode `json:"code,omitempty"`
}

// MakeRequest is the body of POST /api/v1/seals: the seal `sealpipe seals
// make` makes, with the same rules (its --help).
type MakeRequest struct {
	// Kind is "unit" (the default) or "personal".
	Kind string `json:"kind,omitempty"`
	// Holder is the person a personal seal belongs to.
	Holder string `json:"holder,omitempty"`
	// Unit is the unit's signer slug in the trust chain, UnitName its name
	// (default: the name in the unit's certificate, which it must match).
	Unit     string `json:"unit"`
	UnitName string `json:"unit_name,omitempty"`
	// Purpose is the text under the star; empty: the official seal (公章).
	Purpose string `json:"purpose,omitempty"`
	// Code is the 14-digit seal code.
	Code string `json:"code"`
	// Approvers are approver slugs; Departments the departments they may
	// approve for (default: the unit's slug).
	Approvers   []string `json:"approvers"`
	Departments []string `json:"departments,omitempty"`
	// ValidityDays is how long the seal is valid (0: two years), capped
	// at the signer certificate's.
	ValidityDays int `json:"validity_days,omitempty"`
	// KeyType is the key a new unit gets — "sm2" (the default), or
	// "p256" or "rsa2048" for PAdES signatures — and, for a unit that
	// exists, must be its key's type if given (`seals make --key-type`).
	// A unit is new, and made, when UnitName names it.
	KeyType string `json:"key_type,omitempty"`
	// SignerKey is refused: a key URI names files and libraries on the
	// server, which no client chooses. HSM seals are made on the server
	// with `sealpipe seals make --signer-key`.
	SignerKey string `json:"signer_key,omitempty"`
}

// ApproversRequest is the body of PUT /api/v1/seals/{id}/approvers: the
// seal's new approvers, replacing the old.
type ApproversRequest struct {
	Approvers []ApproverSpec `json:"approvers"`
	// Reason is recorded in the seal's history; required.
	Reason string `json:"reason"`
}

// ApproverSpec names an approver: Certificate (PEM), or else Name, an
// approver of the development trust chain; and the departments it may
// approve for.
type ApproverSpec struct {
	Name        string   `json:"name,omitempty"`
	Certificate string   `json:"certificate,omitempty"`
	Departments []string `json:"departments"`
}

// AuditList is the JSON body of GET /api/v1/audit: the events the query
// asks for, oldest first, each from a log that verifies (audittrail.Trail.Query).
type AuditList struct {
	Events []audittrail.Event `json:"events"`
}

// Whoami is the body of GET /api/v1/whoami: the principal and what its
// role may do ("all" seals or its "own").
type Whoami struct {
	Principal
	Permissions map[Action]Access `json:"permissions"`
}

// Error codes, stable: clients may rely on them.
const (
	CodeBadRequest       = "BAD_REQUEST"            // 400: the body is not what the route takes
	CodeInvalid          = "INVALID_REQUEST"        // 400: it breaks the registry's rules (registry.ErrInvalid)
	CodeUnauthenticated  = "UNAUTHENTICATED"        // 401: no verified client certificate
	CodeNoRole           = "NO_ROLE"                // 403: the certificate carries no admin API role
	CodeForbidden        = "FORBIDDEN"              // 403: the role may not take this action
	CodeOtherUnit        = "OTHER_UNIT"             // 403: the role may, on its own unit's seals only
	CodeNotFound         = "NOT_FOUND"              // 404: no such route
	CodeSealNotFound     = "SEAL_NOT_FOUND"         // 404: no such seal (registry.ErrNotFound)
	CodeAppNotFound      = "APPLICATION_NOT_FOUND"  // 404: no such application (registry.ErrAppNotFound)
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"     // 405
	CodeSealExists       = "SEAL_EXISTS"            // 409: registry.ErrExists
	CodeTransition       = "TRANSITION_NOT_ALLOWED" // 409: registry.ErrTransition
	CodeConflict         = "CONFLICT"               // 409: a concurrent change won (registry.ErrConflict); retry
	CodeRegistryInvalid  = "REGISTRY_INVALID"       // 409: the seal's log does not verify (registry.ErrTampered, ErrUnmigrated)
	CodeAuditUnverified  = "AUDIT_UNVERIFIED"       // 409: records an audit query covers do not verify (audittrail.ErrUnverified); Error.Problems lists them
	CodeTooLarge         = "TOO_LARGE"              // 413: the body exceeds MaxBodySize (MaxUploadSize for a route carrying files)
	CodeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE" // 415: a body that is not application/json
	CodeInternal         = "INTERNAL"               // 500: see the server's log
)

// Error is an error response of the API: its HTTP status, a stable code
// and a message for people. Client methods return it, unwrapping to the
// registry's or this package's sentinel error for the code, so that
// errors.Is works as it does on the registry itself.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Problems are, with AUDIT_UNVERIFIED, the records that do not
	// verify: the first of each seal's registry log and usage log.
	Problems []audittrail.Problem `json:"problems,omitempty"`
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// codeErrors are the sentinel errors the codes stand for.
var codeErrors = map[string]error{
	CodeBadRequest:      registry.ErrInvalid,
	CodeInvalid:         registry.ErrInvalid,
	CodeUnauthenticated: ErrUnauthenticated,
	CodeNoRole:          ErrNoRole,
	CodeForbidden:       ErrForbidden,
	CodeOtherUnit:       ErrForbidden,
	CodeSealNotFound:    registry.ErrNotFound,
	CodeAppNotFound:     registry.ErrAppNotFound,
	CodeSealExists:      registry.ErrExists,
	CodeTransition:      registry.ErrTransition,
	CodeConflict:        registry.ErrConflict,
	CodeRegistryInvalid: registry.ErrTampered,
	CodeAuditUnverified: audittrail.ErrUnverified,
}

// Unwrap returns the sentinel error of the code, if any.
func (e *Error) Unwrap() error { return codeErrors[e.Code] }

// apiError makes an *Error.
func apiError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// errorFor maps an error of the registry or the backend to its response;
// an error that maps to none is a 500 whose message says no more.
func errorFor(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var unverified *audittrail.UnverifiedError
	if errors.As(err, &unverified) {
		return &Error{Status: http.StatusConflict, Code: CodeAuditUnverified, Message: err.Error(), Problems: unverified.Problems}
	}
	for _, m := range []struct {
		err    error
		status int
		code   string
	}{
		{registry.ErrNotFound, http.StatusNotFound, CodeSealNotFound},
		{registry.ErrAppNotFound, http.StatusNotFound, CodeAppNotFound},
		{registry.ErrExists, http.StatusConflict, CodeSealExists},
		{registry.ErrTransition, http.StatusConflict, CodeTransition},
		{registry.ErrConflict, http.StatusConflict, CodeConflict},
		{registry.ErrTampered, http.StatusConflict, CodeRegistryInvalid},
		{registry.ErrUnmigrated, http.StatusConflict, CodeRegistryInvalid},
		{registry.ErrInvalid, http.StatusBadRequest, CodeInvalid},
		{audittrail.ErrFilter, http.StatusBadRequest, CodeInvalid},
		{ErrForbidden, http.StatusForbidden, CodeForbidden},
	} {
		if errors.Is(err, m.err) {
			return &Error{Status: m.status, Code: m.code, Message: err.Error()}
		}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error: the server's log has the reason"}
}
