package verifyapi

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sealpipe/sealpipe/docs"
	"github.com/sealpipe/sealpipe/internal/httpserve"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/templates/reportview"
)

// The codes of error responses ({"code", "message"}).
const (
	CodeBadRequest    = "BAD_REQUEST"    // 400: a malformed request, such as a multipart body without a document
	CodeEmpty         = "EMPTY_DOCUMENT" // 400: no document, or an empty one
	CodeNotFound      = "NOT_FOUND"      // 404: no such route
	CodeUnknownCode   = "UNKNOWN_CODE"   // 404: no sealed document has the verification code
	CodeMethod        = "METHOD_NOT_ALLOWED"
	CodeTooLarge      = "TOO_LARGE"      // 413: the document exceeds Config.MaxDocumentSize
	CodeNotADocument  = "NOT_A_DOCUMENT" // 422: neither a PDF nor an OFD document
	CodeUnreadable    = "UNREADABLE"     // 422: a PDF or OFD document that cannot be read
	CodeBusy          = "BUSY"           // 503: the client left while waiting for its turn
	CodeNotReady      = "NOT_READY"      // 503: a readiness probe failed
	CodeInternal      = "INTERNAL"       // 500: see the server's log
	documentField     = "document"       // the multipart field of the document
	defaultName       = "document"       // a document's name when the request gives none
	maxNameBytes      = 255              // a document name longer is cut
	multipartOverhead = 64 << 10         // a multipart body's parts, headers and other fields besides the document
)

// Error is an error response: its HTTP status, a stable code and a
// message for people.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

func apiError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// routes returns the server's routes.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("POST /api/v1/verify", s.verify)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		exchangeOf(r).route = r.Pattern
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /v", func(w http.ResponseWriter, r *http.Request) {
		// The page's look-up form: on to /v/<code>.
		exchangeOf(r).route = r.Pattern
		code := strings.TrimSpace(r.URL.Query().Get("code"))
		http.Redirect(w, r, "/v/"+url.PathEscape(code)+"?lang="+langOf(r).Query(), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /v/{code}", s.lookup)
	mux.HandleFunc("POST /v/{code}", s.lookup)
	mux.HandleFunc("GET /api/v1/report.schema.json", func(w http.ResponseWriter, r *http.Request) {
		exchangeOf(r).route = r.Pattern
		w.Header().Set("Content-Type", docs.ReportSchemaMediaType)
		w.Write(docs.ReportSchema())
	})
	if s.cfg.Metrics != nil {
		h := promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{})
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			exchangeOf(r).route = r.Pattern
			h.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			// The mux's own 404 and 405 are text; ours are JSON.
			s.notFound(w, r, mux)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// notFound answers a request no route serves: 405 if the path has a route
// for another method, else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && m != r.Method {
			w.Header().Set("Allow", m)
			s.writeError(w, r, false, reportview.Chinese, apiError(http.StatusMethodNotAllowed, CodeMethod, "%s %s: use %s", r.Method, r.URL.Path, m))
			return
		}
	}
	s.writeError(w, r, false, reportview.Chinese, apiError(http.StatusNotFound, CodeNotFound, "no such page: %s", r.URL.Path))
}

// langOf is the language a request asks for: ?lang=, else the first of
// Accept-Language, else Chinese.
func langOf(r *http.Request) reportview.Lang {
	if l := r.URL.Query().Get("lang"); l != "" {
		return reportview.ParseLang(l)
	}
	return reportview.ParseLang(r.Header.Get("Accept-Language"))
}

// indexPage is what the "index" template renders.
type indexPage struct {
	Lang  reportview.Lang
	Style template.HTML
	Error string // the code of why the last upload was refused, if it was
}

// index serves the verification page.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	exchangeOf(r).route = r.Pattern
	s.writeIndex(w, http.StatusOK, indexPage{Lang: langOf(r)})
}

func (s *Server) writeIndex(w http.ResponseWriter, status int, p indexPage) {
	p.Style = reportview.Style()
	var b bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&b, "index", p); err != nil {
		panic(err) // the template is embedded: tests render it
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// verify verifies the document of the request and answers its report.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	ex := exchangeOf(r)
	ex.route = r.Pattern
	lang := langOf(r)
	format := r.URL.Query().Get("format")
	asHTML := format == "html"
	switch format {
	case "", "json", "html", "pdf":
	default:
		s.writeError(w, r, false, lang, apiError(http.StatusBadRequest, CodeBadRequest, "format %q: want json, html or pdf", format))
		return
	}
	name, data, release, err := s.upload(w, r)
	if err != nil {
		s.writeError(w, r, asHTML, lang, err)
		return
	}
	defer release()
	doc, err := s.cfg.Verifier.DocumentReader(r.Context(), name, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		code := CodeUnreadable
		if errors.Is(err, verify.ErrUnknownFormat) {
			code = CodeNotADocument
			err = errors.New("the file is neither a PDF nor an OFD document")
		}
		s.writeError(w, r, asHTML, lang, apiError(http.StatusUnprocessableEntity, code, "%s: %v", name, err))
		return
	}
	ex.indication = doc.Indication
	switch format {
	case "html":
		// The page offers the PDF report from itself: nothing is kept
		// for a later download.
		pdf, err := reportview.PDF(doc, reportview.Options{Lang: lang})
		if err != nil {
			s.writeError(w, r, asHTML, lang, err)
			return
		}
		var b bytes.Buffer
		opts := reportview.Options{Lang: lang, Home: "/?lang=" + lang.Query(), PDF: pdf, PDFName: reportName(name)}
		if err := reportview.HTML(&b, doc, opts); err != nil {
			s.writeError(w, r, asHTML, lang, err)
			return
		}
		writeBody(w, "text/html; charset=utf-8", "", b.Bytes())
	case "pdf":
		pdf, err := reportview.PDF(doc, reportview.Options{Lang: lang})
		if err != nil {
			s.writeError(w, r, asHTML, lang, err)
			return
		}
		writeBody(w, "application/pdf", reportName(name), pdf)
	default:
		httpserve.WriteJSON(w, http.StatusOK, doc)
	}
}

// lookup serves /v/<code>: the report of the sealed document with that
// verification code, as a page with a form to compare a document with it
// (POST: the outcome of that comparison), or with ?format=json as JSON.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	ex := exchangeOf(r)
	ex.route = r.Pattern
	lang := langOf(r)
	asHTML := r.URL.Query().Get("format") != "json"
	doc, err := s.reportByCode(r)
	if err != nil {
		s.writeError(w, r, asHTML, lang, err)
		return
	}
	if !asHTML {
		httpserve.WriteJSON(w, http.StatusOK, doc)
		return
	}
	here := "/v/" + url.PathEscape(r.PathValue("code")) + "?lang=" + lang.Query()
	opts := reportview.Options{Lang: lang, Home: "/?lang=" + lang.Query(), Compare: here}
	if r.Method == http.MethodPost {
		_, data, release, err := s.upload(w, r)
		if err != nil {
			s.writeError(w, r, asHTML, lang, err)
			return
		}
		defer release()
		sum := sm3.Sum(data)
		match := hex.EncodeToString(sum[:]) == doc.SM3
		opts.Match = &match
	}
	var b bytes.Buffer
	if err := reportview.HTML(&b, doc, opts); err != nil {
		s.writeError(w, r, asHTML, lang, err)
		return
	}
	writeBody(w, "text/html; charset=utf-8", "", b.Bytes())
}

// reportByCode looks up the report of the request's code.
func (s *Server) reportByCode(r *http.Request) (*report.Document, error) {
	code := r.PathValue("code")
	if s.cfg.Codes == nil {
		return nil, apiError(http.StatusNotFound, CodeUnknownCode, "no sealed document has the verification code %q", code)
	}
	doc, err := s.cfg.Codes.ReportByCode(r.Context(), code)
	if errors.Is(err, ErrUnknownCode) {
		return nil, apiError(http.StatusNotFound, CodeUnknownCode, "no sealed document has the verification code %q", code)
	}
	return doc, err
}

// reportName is the file name a report of the document name is offered
// under.
func reportName(name string) string {
	return strings.TrimSuffix(name, path.Ext(name)) + ".report.pdf"
}

// writeBody answers 200 with body of type contentType, offered for saving
// as filename if that is set.
func writeBody(w http.ResponseWriter, contentType, filename string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	if filename != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// upload waits for a turn among Config.MaxConcurrent, then reads the
// request's document (readDocument) into memory; release ends the turn,
// which the caller holds while it works on the document.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) (name string, data []byte, release func(), err error) {
	select {
	case s.slots <- struct{}{}:
	case <-r.Context().Done():
		return "", nil, nil, apiError(http.StatusServiceUnavailable, CodeBusy, "the server is busy: try again")
	}
	release = func() { <-s.slots }
	if name, data, err = s.readDocument(w, r); err != nil {
		release()
		return "", nil, nil, err
	}
	return name, data, release, nil
}

// readDocument reads the request's document: the multipart field
// "document" of a form, or else the whole body. It returns an *Error for
// a request without one, or with one over the limit.
func (s *Server) readDocument(w http.ResponseWriter, r *http.Request) (name string, data []byte, err error) {
	limit := s.cfg.MaxDocumentSize
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return "", nil, bodyError(err, limit)
		}
		if len(data) == 0 {
			return "", nil, apiError(http.StatusBadRequest, CodeEmpty, "the request has no document: send it as the body, or as the multipart field %q", documentField)
		}
		return cleanName(r.URL.Query().Get("name")), data, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartOverhead)
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return "", nil, apiError(http.StatusBadRequest, CodeEmpty, "the form has no field %q with a document", documentField)
		}
		if err != nil {
			return "", nil, bodyError(err, limit)
		}
		if part.FormName() != documentField {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, limit+1))
		switch {
		case err != nil:
			return "", nil, bodyError(err, limit)
		case int64(len(data)) > limit:
			return "", nil, tooLarge(limit)
		case len(data) == 0:
			return "", nil, apiError(http.StatusBadRequest, CodeEmpty, "the document is empty: choose a PDF or OFD file")
		}
		return cleanName(part.FileName()), data, nil
	}
}

// bodyError is the response to a body that could not be read.
func bodyError(err error, limit int64) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tooLarge(limit)
	}
	return apiError(http.StatusBadRequest, CodeBadRequest, "the request body cannot be read: %v", err)
}

func tooLarge(limit int64) *Error {
	return apiError(http.StatusRequestEntityTooLarge, CodeTooLarge, "the document is larger than the %d MiB this service verifies", limit>>20)
}

// cleanName is a document's name as the report shows it: its base name,
// valid UTF-8, no control characters, at most maxNameBytes.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	for len(name) > maxNameBytes {
		_, n := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-n]
	}
	if name == "" || name == "." || name == "/" {
		return defaultName
	}
	return name
}

// readyz answers whether every probe passes. It names the parts but not
// why one failed, which the server's log says.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ex := exchangeOf(r)
	ex.route = r.Pattern
	type probe struct {
		Name string `json:"name"`
		OK   bool   `json:"ok"`
	}
	body := struct {
		Ready  bool    `json:"ready"`
		Probes []probe `json:"probes"`
	}{Ready: true, Probes: []probe{}}
	results := s.ready(r.Context())
	for _, p := range s.cfg.Probes {
		err := results[p.Name]
		if err != nil {
			body.Ready = false
			s.cfg.Logger.WarnContext(r.Context(), "not ready", "probe", p.Name, "err", err)
		}
		body.Probes = append(body.Probes, probe{p.Name, err == nil})
	}
	status := http.StatusOK
	if !body.Ready {
		status, ex.code = http.StatusServiceUnavailable, CodeNotReady
	}
	httpserve.WriteJSON(w, status, body)
}

// writeError answers err: as JSON, or as the page with the message when
// asHTML. An error that is not an *Error is a 500 whose message says no
// more.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, asHTML bool, lang reportview.Lang, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = apiError(http.StatusInternalServerError, CodeInternal, "internal error: see the server's log")
		exchangeOf(r).err = err
	}
	exchangeOf(r).code = e.Code
	if asHTML {
		s.writeIndex(w, e.Status, indexPage{Lang: lang, Error: e.Code})
		return
	}
	httpserve.WriteJSON(w, e.Status, e)
}
