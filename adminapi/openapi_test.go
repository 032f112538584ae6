package adminapi_test

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/adminapi"
)

// openAPI is the document, decoded.
type openAPI struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas   map[string]any `json:"schemas"`
		Responses map[string]struct {
			Content map[string]struct {
				Schema any `json:"schema"`
			} `json:"content"`
		} `json:"responses"`
	} `json:"components"`
}

type operation struct {
	Responses map[string]struct {
		Ref     string `json:"$ref"`
		Content map[string]struct {
			Schema any `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	var doc openAPI
	if err := json.Unmarshal(adminapi.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &doc
}

// TestOpenAPI: every route is documented with its method, every
// documented operation is a route, and the document served is the one
// in the package.
func TestOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	served := map[string]bool{}
	for _, rt := range adminapi.Routes() {
		key := rt.Method + " " + rt.Pattern
		served[key] = true
		if _, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("route %s is not in openapi.json", key)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if key := strings.ToUpper(method) + " " + path; !served[key] {
				t.Errorf("openapi.json documents %s, which no route serves", key)
			}
		}
	}
	f := setup(t)
	code, b := f.call(t, f.client[adminapi.RoleAuditor], "GET", adminapi.Prefix+"/openapi.json", nil)
	var got, want any
	json.Unmarshal(b, &got)
	json.Unmarshal(adminapi.OpenAPI(), &want)
	if code != http.StatusOK || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("GET openapi.json: %d, not the document", code)
	}
}

// checkResponse validates a response body against the schema the
// document gives for its route, status and content type: a JSON body
// against its schema, another (CSV) only that the document offers it.
func checkResponse(t *testing.T, method, path string, status int, contentType string, body []byte) {
	t.Helper()
	doc := docOnce(t)
	path, _, _ = strings.Cut(path, "?")
	tmpl := ""
	for p := range doc.Paths {
		if pathRE(p).MatchString(path) {
			tmpl = p
		}
	}
	if tmpl == "" {
		if status != http.StatusNotFound {
			t.Errorf("%s %s: %d for a path the document lacks", method, path, status)
		}
		return // unknown routes answer 404 with an Error; checked below
	}
	op, ok := doc.Paths[tmpl][strings.ToLower(method)]
	if !ok {
		if status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", method, path, status)
		}
		return
	}
	r, ok := op.Responses[strconv.Itoa(status)]
	if !ok {
		t.Errorf("%s %s: status %d is not documented", method, tmpl, status)
		return
	}
	content := r.Content
	if r.Ref != "" {
		content = doc.Components.Responses[strings.TrimPrefix(r.Ref, "#/components/responses/")].Content
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt != "application/json" {
		if _, ok := content[mt]; !ok {
			t.Errorf("%s %s: %d: content type %q is not documented", method, tmpl, status, contentType)
		}
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s %s: %d: not JSON: %v", method, path, status, err)
		return
	}
	if err := validate(doc, content["application/json"].Schema, v, "$"); err != nil {
		t.Errorf("%s %s: %d: the body does not match the documented schema: %v\n%s", method, tmpl, status, err, body)
	}
}

var (
	docCache *openAPI
	docErr   error
)

func docOnce(t *testing.T) *openAPI {
	if docCache == nil && docErr == nil {
		docErr = json.Unmarshal(adminapi.OpenAPI(), &docCache)
	}
	if docErr != nil {
		t.Fatal(docErr)
	}
	return docCache
}

func pathRE(tmpl string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.MustCompile(`\\\{[a-z]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$")
}

// validate checks v against the JSON Schema subset the document uses:
// $ref, type, properties, required, additionalProperties, items, enum,
// allOf, pattern, minimum, minLength and format date-time.
func validate(doc *openAPI, schema any, v any, at string) error {
	s, ok := schema.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: no schema", at)
	}
	if ref, ok := s["$ref"].(string); ok {
		return validate(doc, doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")], v, at)
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			if err := validate(doc, sub, v, at); err != nil {
				return err
			}
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	switch s["type"] {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an object", at, v)
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range asSlice(s["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				return fmt.Errorf("%s: lacks %q", at, r)
			}
		}
		for k, val := range obj {
			sub, known := props[k]
			if !known {
				switch ap := s["additionalProperties"].(type) {
				case bool:
					if !ap {
						return fmt.Errorf("%s: %q is not in the schema", at, k)
					}
					continue
				case map[string]any:
					sub = ap
				default:
					continue
				}
			}
			if err := validate(doc, sub, val, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an array", at, v)
		}
		for i, x := range arr {
			if err := validate(doc, s["items"], x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %T, want a string", at, v)
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", at, str, p)
		}
		if n, ok := s["minLength"].(float64); ok && len(str) < int(n) {
			return fmt.Errorf("%s: shorter than %v", at, n)
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return fmt.Errorf("%s: %v", at, err)
			}
		}
	case "integer":
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			return fmt.Errorf("%s: %v, want an integer", at, v)
		}
		if m, ok := s["minimum"].(float64); ok && n < m {
			return fmt.Errorf("%s: %v below %v", at, n, m)
		}
	}
	return nil
}

func asSlice(v any) []any { s, _ := v.([]any); return s }
