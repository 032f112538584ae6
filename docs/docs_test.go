package docs_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/docs"
)

// schema is the part of report.schema.json these tests read.
type schema struct {
	Schema      string                    `json:"$schema"`
	ID          string                    `json:"$id"`
	Version     string                    `json:"version"`
	Title       string                    `json:"title"`
	Description string                    `json:"description"`
	OneOf       []map[string]any          `json:"oneOf"`
	Defs        map[string]map[string]any `json:"$defs"`
}

// TestReportSchema: the schema is a documented, versioned draft 2020-12
// document whose $id is ReportSchemaID, every definition and property
// described, every object closed, and every reference resolves.
func TestReportSchema(t *testing.T) {
	t.Parallel()
	var s schema
	if err := json.Unmarshal(docs.ReportSchema(), &s); err != nil {
		t.Fatalf("report.schema.json: %v", err)
	}
	if s.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema %q, want draft 2020-12", s.Schema)
	}
	if s.ID != docs.ReportSchemaID {
		t.Errorf("$id %q, want docs.ReportSchemaID %q", s.ID, docs.ReportSchemaID)
	}
	m := regexp.MustCompile(`^(\d+)\.\d+\.\d+$`).FindStringSubmatch(s.Version)
	if m == nil {
		t.Errorf("version %q is not MAJOR.MINOR.PATCH", s.Version)
	} else if want := "/v" + m[1] + ".json"; !strings.HasSuffix(s.ID, want) {
		t.Errorf("$id %q does not end in %q, the major version of version %q", s.ID, want, s.Version)
	}
	if s.Title == "" || s.Description == "" {
		t.Error("the schema has no title or no description")
	}
	for _, kind := range []string{"document", "documents", "batch", "rejection"} {
		ref := "#/$defs/" + kind
		found := false
		for _, alt := range s.OneOf {
			found = found || alt["$ref"] == ref
		}
		if !found {
			t.Errorf("the top level's oneOf lacks %s", ref)
		}
	}
	for _, name := range []string{"document", "documents", "signature", "check", "picture", "batch", "batch_entry", "log_checkpoint", "rejection", "indication", "result", "outcome"} {
		if s.Defs[name] == nil {
			t.Errorf("no $defs/%s", name)
		}
	}
	for name, def := range s.Defs {
		if d, _ := def["description"].(string); d == "" {
			t.Errorf("$defs/%s has no description", name)
		}
		props, _ := def["properties"].(map[string]any)
		if def["type"] == "object" && def["additionalProperties"] != false {
			t.Errorf("$defs/%s is not closed (additionalProperties: false)", name)
		}
		for p, v := range props {
			if d, _ := v.(map[string]any)["description"].(string); d == "" {
				t.Errorf("$defs/%s: property %s has no description", name, p)
			}
		}
	}
	walkRefs(t, "", s.OneOf, s.Defs)
	walkRefs(t, "", s.Defs, s.Defs)
}

// walkRefs checks that every "$ref" in v is a local reference to one of
// defs.
func walkRefs(t *testing.T, at string, v any, defs map[string]map[string]any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "$ref" {
				name, ok := strings.CutPrefix(x.(string), "#/$defs/")
				if !ok || defs[name] == nil {
					t.Errorf("%s: $ref %v resolves to nothing", at, x)
				}
				continue
			}
			walkRefs(t, at+"/"+k, x, defs)
		}
	case map[string]map[string]any:
		for k, x := range v {
			walkRefs(t, at+"/$defs/"+k, x, defs)
		}
	case []map[string]any:
		for i, x := range v {
			walkRefs(t, fmt.Sprintf("%s/%d", at, i), x, defs)
		}
	case []any:
		for i, x := range v {
			walkRefs(t, fmt.Sprintf("%s/%d", at, i), x, defs)
		}
	}
}

// TestReportSchemaCopy: ReportSchema returns the caller's own copy.
func TestReportSchemaCopy(t *testing.T) {
	t.Parallel()
	a := docs.ReportSchema()
	a[0] = 'x'
	if b := docs.ReportSchema(); b[0] != '{' {
		t.Errorf("ReportSchema shares its bytes: %q", b[:1])
	}
}
