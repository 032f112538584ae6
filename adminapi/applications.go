package adminapi

import (
	"net/http"

	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// ApplicationRequest is the body of POST /api/v1/applications: an
// application for a seal (county rules 第八条; registry.ApplicationRequest),
// its identity materials inline. The whole body is at most MaxUploadSize.
type ApplicationRequest struct {
	ID      string            `json:"id"`
	Unit    string            `json:"unit"`
	Kind    registry.SealKind `json:"kind"`
	Purpose string            `json:"purpose,omitempty"`
	Holder  string            `json:"holder,omitempty"`
	Clerk   string            `json:"clerk"`
	// Materials are the identity materials of the unit, the holder and
	// the clerk: at least one.
	Materials []MaterialUpload `json:"materials"`
	Reason    string           `json:"reason,omitempty"`
}

// MaterialUpload is one identity material: its file name and its bytes
// (base64 in JSON).
type MaterialUpload struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// ReviewRequest is the body of POST /api/v1/applications/{id}/review
// (county rules 第七条: the city reviews what the county collected).
type ReviewRequest struct {
	// Approve approves the application; false refuses it, which needs a
	// Reason.
	Approve bool   `json:"approve"`
	Reason  string `json:"reason,omitempty"`
}

// ApplicationList is the body of GET /api/v1/applications.
type ApplicationList struct {
	Applications []registry.Application `json:"applications"`
}

func (s *Server) submitApplication(rq *request) (int, any, error) {
	var req ApplicationRequest
	if err := rq.decode(&req); err != nil {
		return 0, nil, err
	}
	a, err := s.cfg.Admin.SubmitApplication(rq.r.Context(), req, rq.p.Requester())
	if err != nil {
		return 0, nil, err
	}
	rq.w.Header().Set("Location", Prefix+"/applications/"+a.ID)
	return http.StatusCreated, a, nil
}

func (s *Server) listApplications(rq *request) (int, any, error) {
	apps, err := s.cfg.Registry.Applications(rq.r.Context())
	if err != nil {
		return 0, nil, err
	}
	if apps == nil {
		apps = []registry.Application{}
	}
	return http.StatusOK, ApplicationList{Applications: apps}, nil
}

func (s *Server) showApplication(rq *request) (int, any, error) {
	a, err := s.cfg.Registry.Application(rq.r.Context(), rq.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a, nil
}

func (s *Server) reviewApplication(rq *request) (int, any, error) {
	var req ReviewRequest
	if err := rq.decode(&req); err != nil {
		return 0, nil, err
	}
	a, err := s.cfg.Admin.ReviewApplication(rq.r.Context(), rq.r.PathValue("id"), req, rq.p.Requester())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a, nil
}

// ApplicationMakeRequest is the body of POST
// /api/v1/applications/{id}/make: what the application leaves to the
// city (the kind, purpose and holder are the application's).
type ApplicationMakeRequest struct {
	// Unit is the unit's slug in the trust chain: its certificate must
	// name the application's unit.
	Unit         string   `json:"unit"`
	Code         string   `json:"code"`
	Approvers    []string `json:"approvers"`
	Departments  []string `json:"departments,omitempty"`
	ValidityDays int      `json:"validity_days,omitempty"`
}

// FileRequest is the body of POST /api/v1/applications/{id}/file.
type FileRequest struct {
	Reason string `json:"reason,omitempty"`
}

func (s *Server) makeFromApplication(rq *request) (int, any, error) {
	var req ApplicationMakeRequest
	if err := rq.decode(&req); err != nil {
		return 0, nil, err
	}
	a, err := s.cfg.Admin.MakeFromApplication(rq.r.Context(), rq.r.PathValue("id"), req, rq.p.Requester())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a, nil
}

func (s *Server) fileApplication(rq *request) (int, any, error) {
	var req FileRequest
	if err := rq.decode(&req); err != nil {
		return 0, nil, err
	}
	a, err := s.cfg.Admin.FileApplication(rq.r.Context(), rq.r.PathValue("id"), req, rq.p.Requester())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a, nil
}
