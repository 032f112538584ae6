package adminapi

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/audittrail"
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

// uploads are the actions whose routes carry files, base64 in JSON: their
// bodies are bounded by MaxUploadSize, every other by MaxBodySize.
var uploads = map[Action]bool{ActionMake: true, ActionAppSubmit: true}

// Prefix is the path every route starts with.
const Prefix = "/api/v1"

// routes is the API. TestOpenAPI checks the OpenAPI document against it
// both ways.
var routes = []route{
	{"GET", Prefix + "/whoami", ActionWhoami, "who the client certificate says you are, and what your role may do", (*Server).whoami},
	{"GET", Prefix + "/openapi.json", ActionOpenAPI, "this API's OpenAPI 3 document", (*Server).openAPI},
	{"GET", Prefix + "/seals", ActionList, "the seals you may read", (*Server).list},
	{"POST", Prefix + "/seals", ActionMake, "make and register a seal, drawn or from an imported impression (seals make [--impression])", (*Server).make},
	{"GET", Prefix + "/seals/{id}", ActionShow, "a seal's record and SESeal summary (seals show)", (*Server).show},
	{"GET", Prefix + "/seals/{id}/history", ActionHistory, "a seal's status changes, who signed and who asked for each", (*Server).history},
	{"GET", Prefix + "/seals/{id}/approvers", ActionApprovers, "who may approve uses of a seal, for which departments", (*Server).approvers},
	{"PUT", Prefix + "/seals/{id}/approvers", ActionSetApprovers, "replace a seal's approvers", (*Server).setApprovers},
	{"POST", Prefix + "/seals/{id}/suspend", ActionSuspend, "suspend a seal (seals suspend)", statusHandler(registry.StatusSuspended)},
	{"POST", Prefix + "/seals/{id}/activate", ActionActivate, "reactivate a suspended seal (seals activate)", statusHandler(registry.StatusActive)},
	{"POST", Prefix + "/seals/{id}/revoke", ActionRevoke, "revoke a seal for good (seals revoke)", statusHandler(registry.StatusRevoked)},
	{"POST", Prefix + "/seals/{id}/change", ActionChange, "replace a seal by a new one and revoke it as superseded (seals change; county rules 第十三条)", (*Server).changeSeal},
	{"POST", Prefix + "/seals/{id}/renew", ActionRenew, "renew a seal: a successor with a new validity, the old revoked as superseded (seals renew; county rules 第十条)", (*Server).renewSeal},
	{"GET", Prefix + "/audit", ActionAudit, "the uses of seals and the changes of their registry entries, verified, oldest first (audit query)", (*Server).audit},
	{"POST", Prefix + "/applications", ActionAppSubmit, "submit an application for a seal with the identity materials (county rules 第八条)", (*Server).submitApplication},
	{"GET", Prefix + "/applications", ActionAppList, "the applications for seals and their states", (*Server).listApplications},
	{"GET", Prefix + "/applications/{id}", ActionAppShow, "an application, its materials' SM3 and its history", (*Server).showApplication},
	{"POST", Prefix + "/applications/{id}/review", ActionAppReview, "approve or refuse a submitted application (county rules 第七条)", (*Server).reviewApplication},
	{"POST", Prefix + "/applications/{id}/make", ActionAppMake, "make the seal an approved application asks for, suspended until filed (county rules 第七条)", (*Server).makeFromApplication},
	{"POST", Prefix + "/applications/{id}/file", ActionAppFile, "file (备案) the seal made from an application, which activates it", (*Server).fileApplication},
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
	var req MakeSealRequest
	if err := rq.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.SignerKey != "" {
		return 0, nil, apiError(http.StatusBadRequest, CodeInvalid, "%v: signer_key: a key URI names files and libraries on the server, which the API takes from no client; make HSM seals on the server (seals make --signer-key)", registry.ErrInvalid)
	}
	var e *registry.Entry
	var err error
	if req.Impression != nil {
		e, err = s.makeFromImpression(rq, req)
	} else {
		e, err = s.cfg.Admin.MakeSeal(rq.r.Context(), req.MakeRequest, rq.p.Requester())
	}
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
		rec, err := s.cfg.Admin.SetStatus(rq.r.Context(), rq.r.PathValue("id"), registry.StatusChange{To: to, Reason: req.Reason, Code: req.Code, Requester: rq.p.Requester()})
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

// auditParams are the query parameters GET /api/v1/audit takes; only seal
// may be repeated.
var auditParams = []string{"seal", "unit", "from", "to", "format"}

// audit answers an audit query as `sealpipe audit query` does
// (audittrail.ParseFilter, Trail.Query): JSON, or CSV (audittrail.WriteCSV)
// for format=csv or an Accept header that prefers text/csv. Times are read
// and given in the server's time zone.
func (s *Server) audit(rq *request) (int, any, error) {
	q := rq.r.URL.Query()
	for k, v := range q {
		switch {
		case !slices.Contains(auditParams, k):
			return 0, nil, apiError(http.StatusBadRequest, CodeInvalid, "query parameter %q: want %s", k, strings.Join(auditParams, ", "))
		case k != "seal" && len(v) > 1:
			return 0, nil, apiError(http.StatusBadRequest, CodeInvalid, "query parameter %q given %d times: at most once", k, len(v))
		}
	}
	asCSV, err := wantsCSV(rq.r)
	if err != nil {
		return 0, nil, err
	}
	f, err := audittrail.ParseFilter(q["seal"], q.Get("unit"), q.Get("from"), q.Get("to"), time.Local)
	if err != nil {
		return 0, nil, err
	}
	units := []string{f.Unit}
	if rq.access != All {
		if units, err = auditUnits(rq.p, f.Unit); err != nil {
			return 0, nil, err
		}
	}
	events, err := s.auditQuery(rq.r.Context(), f, units)
	if err != nil {
		return 0, nil, err
	}
	if asCSV {
		var b bytes.Buffer
		if err := audittrail.WriteCSV(&b, events); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, rawBody{contentType: "text/csv; charset=utf-8; header=present", filename: "audit.csv", data: b.Bytes()}, nil
	}
	if events == nil {
		events = []audittrail.Event{}
	}
	return http.StatusOK, AuditList{Events: events}, nil
}

// auditQuery runs f for each of units ("" for any unit) and merges the
// events in the trail's order: time, seal, object. A record that does not
// verify in any of them fails the whole query with every such problem.
func (s *Server) auditQuery(ctx context.Context, f audittrail.Filter, units []string) ([]audittrail.Event, error) {
	var events []audittrail.Event
	var unverified audittrail.UnverifiedError
	for _, u := range units {
		f.Unit = u
		evs, err := s.cfg.Audit.Query(ctx, f)
		var ue *audittrail.UnverifiedError
		switch {
		case errors.As(err, &ue):
			for _, p := range ue.Problems {
				if !slices.Contains(unverified.Problems, p) {
					unverified.Problems = append(unverified.Problems, p)
				}
			}
		case err != nil:
			return nil, err
		}
		events = append(events, evs...)
	}
	if len(unverified.Problems) > 0 {
		return nil, &unverified
	}
	if len(units) > 1 {
		slices.SortFunc(events, func(a, b audittrail.Event) int {
			return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Seal, b.Seal), cmp.Compare(a.Object, b.Object))
		})
	}
	return events, nil
}

// wantsCSV reports whether an audit query asks for CSV: format=csv, or
// no format and an Accept header that ranks text/csv above
// application/json (equal: the first listed).
func wantsCSV(r *http.Request) (bool, error) {
	switch format := r.URL.Query().Get("format"); format {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, apiError(http.StatusBadRequest, CodeInvalid, "format %q: want json or csv", format)
	}
	best, bestQ := "", 0.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(part)
		if err != nil || mt != "text/csv" && mt != "application/json" {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			q, _ = strconv.ParseFloat(v, 64)
		}
		if q > bestQ {
			best, bestQ = mt, q
		}
	}
	return best == "text/csv", nil
}
