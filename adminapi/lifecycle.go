package adminapi

import (
	"net/http"
	"strings"

	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// The lifecycle of a seal through the API (county rules 第九条, 第十条,
// 第十三条): a seal made from an imported impression of the registered
// physical seal (POST /api/v1/seals with an impression), a change of seal
// (POST /api/v1/seals/{id}/change) and a renewal (…/renew), each as the
// `sealpipe seals make --impression`, `seals change` and `seals renew`
// commands do it on the seal administrator's machine.

// ImpressionUpload is a scan of the seal's impression registered with the
// police (county rules 第九条): a PNG, base64 in JSON as an application's
// materials are, made the seal's picture in place of a drawn one.
type ImpressionUpload struct {
	// Data is the PNG: as wide as high, 38 to 45 mm across for a unit
	// seal's round impression or 10 to 30 mm for a personal seal's square
	// one at DPI, mostly red on a white or transparent ground.
	Data []byte `json:"data"`
	// DPI is the resolution it was scanned at; 0: the one its pHYs chunk
	// records.
	DPI float64 `json:"dpi,omitempty"`
}

// MakeSealRequest is the body of POST /api/v1/seals: a MakeRequest and,
// to make the seal from an imported impression, the impression.
type MakeSealRequest struct {
	MakeRequest
	Impression *ImpressionUpload `json:"impression,omitempty"`
}

// ChangeRequest is the body of POST /api/v1/seals/{id}/change: the new
// seal, whose code is required, and why the old one goes. What it leaves
// out is the old seal's: unit, kind, approvers with their departments,
// purpose, and for a personal seal with no new holder its picture and
// name (engine.SealChange; seals change --help).
type ChangeRequest struct {
	// Code is the new seal's 14-digit code; required.
	Code string `json:"code"`
	// Reason is recorded with the old seal's revocation; required.
	Reason string `json:"reason"`
	// Purpose is the new seal's purpose text: absent, the old seal's;
	// empty, an official seal (公章).
	Purpose *string `json:"purpose,omitempty"`
	// Holder is a personal name seal's new holder.
	Holder string `json:"holder,omitempty"`
	// Approvers are the new seal's approver slugs (default: the old
	// seal's approvers for their departments), for Departments (default:
	// the unit's slug).
	Approvers   []string `json:"approvers,omitempty"`
	Departments []string `json:"departments,omitempty"`
	// ValidityDays is how long the new seal is valid (0: two years),
	// capped at the unit's signer certificate's.
	ValidityDays int `json:"validity_days,omitempty"`
}

// RenewRequest is the body of POST /api/v1/seals/{id}/renew: the new
// seal's code, required, and validity. Everything else is the old seal's.
// A renewal that would not end later than the old seal is refused (400
// INVALID_REQUEST): renew the unit's certificate first.
type RenewRequest struct {
	Code         string `json:"code"`
	ValidityDays int    `json:"validity_days,omitempty"`
}

// Succession is the body of a change's or a renewal's answer: the new
// seal, registered naming its predecessor, and the old seal's record,
// revoked with reason code superseded naming its successor.
type Succession struct {
	Seal       Seal            `json:"seal"`
	Superseded registry.Record `json:"superseded"`
}

// makeFromImpression makes the seal req asks for from its impression.
func (s *Server) makeFromImpression(rq *request, req MakeSealRequest) (*registry.Entry, error) {
	imp := *req.Impression
	if len(imp.Data) == 0 {
		return nil, apiError(http.StatusBadRequest, CodeBadRequest, "impression.data is empty: the PNG, base64")
	}
	// The Administrator checks the PNG as seals make --impression does
	// (sealpic.CheckImpression), its size before it is decoded.
	return s.cfg.Admin.MakeSealFromImpression(rq.r.Context(), req.MakeRequest, imp, rq.p.Requester())
}

func (s *Server) changeSeal(rq *request) (int, any, error) {
	var req ChangeRequest
	if err := rq.decode(&req); err != nil {
		return 0, nil, err
	}
	if strings.TrimSpace(req.Code) == "" {
		return 0, nil, apiError(http.StatusBadRequest, CodeBadRequest, "code is required: the new seal's code")
	}
	if strings.TrimSpace(req.Reason) == "" {
		return 0, nil, apiError(http.StatusBadRequest, CodeBadRequest, "reason is required: the old seal's revocation records why")
	}
	if req.ValidityDays < 0 {
		return 0, nil, apiError(http.StatusBadRequest, CodeBadRequest, "validity_days %d: 0 (two years) or more", req.ValidityDays)
	}
	return succession(s.cfg.Admin.ChangeSeal(rq.r.Context(), rq.r.PathValue("id"), req, rq.p.Requester()))
}

func (s *Server) renewSeal(rq *request) (int, any, error) {
	var req RenewRequest
	if err := rq.decode(&req); err != nil {
		return 0, nil, err
	}
	if strings.TrimSpace(req.Code) == "" {
		return 0, nil, apiError(http.StatusBadRequest, CodeBadRequest, "code is required: the new seal's code")
	}
	if req.ValidityDays < 0 {
		return 0, nil, apiError(http.StatusBadRequest, CodeBadRequest, "validity_days %d: 0 (two years) or more", req.ValidityDays)
	}
	return succession(s.cfg.Admin.RenewSeal(rq.r.Context(), rq.r.PathValue("id"), req, rq.p.Requester()))
}

// succession answers a change or a renewal: 200 whether this request made
// the successor or found it made by one that stopped before the
// revocation (the answer is the same).
func succession(succ *registry.Entry, old *registry.Record, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, Succession{Seal: Seal{Record: succ.Record, SESeal: sesealOf(succ)}, Superseded: *old}, nil
}
