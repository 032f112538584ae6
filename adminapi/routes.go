package adminapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/sealpipe/sealpipe/pipeline/registry"
)

// route is one route of the API: the action it takes, which the
// authorisation table rules on, and its handler, which returns the
// status and body of a success.
type route struct {
	method, pattern string
	action          Action
	summary         string
	handle          func(s *Server, rq *request) (int, any, error)
}

// Prefix is the path every route starts with.
const Prefix = "/api/v1"

// routes is the API. TestOpenAPI checks the OpenAPI document against it
// both ways.
var routes = []route{
	{"GET", Prefix + "/whoami", ActionWhoami, "who the client certificate says you are, and what your role may do", (*Server).whoami},
	{"GET", Prefix + "/openapi.json", ActionOpenAPI, "this API's OpenAPI 3 document", (*Server).openAPI},
	{"GET", Prefix + "/seals", ActionList, "the seals you may read", (*Server).list},
	{"POST", Prefix + "/seals", ActionMake, "make and register a seal (seals make)", (*Server).make},
	{"GET", Prefix + "/seals/{id}", ActionShow, "a seal's record and SESeal summary (seals show)", (*Server).show},
	{"GET", Prefix + "/seals/{id}/history", ActionHistory, "a seal's status changes, who signed and who asked for each", (*Server).history},
	{"GET", Prefix + "/seals/{id}/approvers", ActionApprovers, "who may approve uses of a seal, for which departments", (*Server).approvers},
	{"PUT", Prefix + "/seals/{id}/approvers", ActionSetApprovers, "replace a seal's approvers", (*Server).setApprovers},
	{"POST", Prefix + "/seals/{id}/suspend", ActionSuspend, "suspend a seal (seals suspend)", statusHandler(registry.StatusSuspended)},
	{"POST", Prefix + "/seals/{id}/activate", ActionActivate, "reactivate a suspended seal (seals activate)", statusHandler(registry.StatusActive)},
	{"POST", Prefix + "/seals/{id}/revoke", ActionRevoke, "revoke a seal for good (seals revoke)", statusHandler(registry.StatusRevoked)},
}

// Route describes a route of the API.
type Route struct {
	// Method and Pattern are as net/http.ServeMux takes them, such as
	// "POST" and "/api/v1/seals/{id}/suspend".
	Method, Pattern string
	// Action is what the authorisation table (Allowed) rules on.
	Action  Action
	Summary string
}

// Routes lists the API's routes.
func Routes() []Route {
	out := make([]Route, len(routes))
	for i, rt := range routes {
		out[i] = Route{Method: rt.method, Pattern: rt.pattern, Action: rt.action, Summary: rt.summary}
	}
	return out
}

func (s *Server) whoami(rq *request) (int, any, error) {
	perms := map[Action]Access{}
	for action, byRole := range policy {
		if a := byRole[rq.p.Role]; a != Denied {
			perms[action] = a
		}
	}
	return http.StatusOK, Whoami{Principal: *rq.p, Permissions: perms}, nil
}

func (s *Server) openAPI(rq *request) (int, any, error) {
	return http.StatusOK, openAPIDocument(), nil
}

func (s *Server) list(rq *request) (int, any, error) {
	recs, err := s.cfg.Registry.List(rq.r.Context())
	if err != nil {
		return 0, nil, err
	}
	if rq.access != All {
		recs = slices.DeleteFunc(recs, func(rec registry.Record) bool { return !InScope(rq.p, &rec) })
	}
	if recs == nil {
		recs = []registry.Record{}
	}
	return http.StatusOK, SealList{Seals: recs}, nil
}

func (s *Server) show(rq *request) (int, any, error) {
	e, err := rq.seal(s)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, Seal{Record: e.Record, SESeal: sesealOf(e)}, nil
}

func (s *Server) history(rq *request) (int, any, error) {
	e, err := rq.seal(s)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, History{Seal: e.ID, History: e.History}, nil
}

func (s *Server) approvers(rq *request) (int, any, error) {
	e, err := rq.seal(s)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, Approvers{Seal: e.ID, Approvers: e.Approvers}, nil
}

func (s *Server) make(rq *request) (int, any, error) {
	if rq.access != All {
		// Making a seal of one's own unit comes with applications
		// (issue 10 item 2), which say whose unit it is.
		return 0, nil, apiError(http.StatusForbidden, CodeForbidden, "%v: the %s role may not %s", ErrForbidden, rq.p.Role, ActionMake)
	}
	var req MakeRequest
	if err := rq.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.SignerKey != "" {
		return 0, nil, apiError(http.StatusBadRequest, CodeInvalid, "%v: signer_key: a key URI names files and libraries on the server, which the API takes from no client; make HSM seals on the server (seals make --signer-key)", registry.ErrInvalid)
	}
	e, err := s.cfg.Admin.MakeSeal(rq.r.Context(), req, rq.p.Requester())
	if err != nil {
		return 0, nil, err
	}
	rq.w.Header().Set("Location", Prefix+"/seals/"+e.ID)
	return http.StatusCreated, Seal{Record: e.Record, SESeal: sesealOf(e)}, nil
}

// statusHandler changes a seal's status to to.
func statusHandler(to registry.Status) func(*Server, *request) (int, any, error) {
	return func(s *Server, rq *request) (int, any, error) {
		var req StatusRequest
		if err := rq.decode(&req); err != nil {
			return 0, nil, err
		}
		if strings.TrimSpace(req.Reason) == "" {
			return 0, nil, apiError(http.StatusBadRequest, CodeBadRequest, "reason is required: the registry records why")
		}
		rec, err := s.cfg.Admin.SetStatus(rq.r.Context(), rq.r.PathValue("id"), registry.StatusChange{To: to, Reason: req.Reason, Requester: rq.p.Requester()})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, rec, nil
	}
}

func (s *Server) setApprovers(rq *request) (int, any, error) {
	var req ApproversRequest
	if err := rq.decode(&req); err != nil {
		return 0, nil, err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return 0, nil, apiError(http.StatusBadRequest, CodeBadRequest, "reason is required: the registry records why")
	}
	rec, err := s.cfg.Admin.SetApprovers(rq.r.Context(), rq.r.PathValue("id"), req, rq.p.Requester())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rec, nil
}
