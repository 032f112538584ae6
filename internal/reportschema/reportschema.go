// Package reportschema validates reports against sealpipe's report schema,
// docs/report.schema.json (package docs), for the tests: every report a
// test produces — a verification report the pipeline stored, a batch
// report, a rejection record, what `sealpipe verify --json` printed — can
// be checked against the documented form, so that the schema and the code
// cannot drift apart unnoticed.
//
// The schema is compiled once, from the embedded copy, with format
// assertions on (an RFC 3339 date-time must be one) and content
// assertions on (base64 must decode).
package reportschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sealpipe/sealpipe/docs"
	"github.com/sealpipe/sealpipe/pipeline/report"
)

// Kind names what a JSON value is meant to be: one of the schema's report
// kinds, or Any.
type Kind string

// The kinds of report, each a definition of the schema
// (#/$defs/<kind>), and Any, the schema itself.
const (
	// Document is one document's verification report (report.Document).
	Document Kind = "document"
	// Documents is an array of them, as `sealpipe verify --json` prints.
	Documents Kind = "documents"
	// Batch is a batch report (report.Batch).
	Batch Kind = "batch"
	// Rejection is a rejection record (report.Rejection).
	Rejection Kind = "rejection"
	// Any is any one of the kinds above: the schema's top level.
	Any Kind = "any"
)

// Kinds lists every Kind Validate takes.
var Kinds = []Kind{Document, Documents, Batch, Rejection, Any}

// compiled holds the schema of each kind, compiled on first use.
var compiled = sync.OnceValues(func() (map[Kind]*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(docs.ReportSchema()))
	if err != nil {
		return nil, fmt.Errorf("reportschema: report.schema.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.AssertContent()
	if err := c.AddResource(docs.ReportSchemaID, doc); err != nil {
		return nil, fmt.Errorf("reportschema: %w", err)
	}
	out := make(map[Kind]*jsonschema.Schema, len(Kinds))
	for _, k := range Kinds {
		loc := docs.ReportSchemaID
		if k != Any {
			loc += "#/$defs/" + string(k)
		}
		s, err := c.Compile(loc)
		if err != nil {
			return nil, fmt.Errorf("reportschema: compile %s: %w", loc, err)
		}
		out[k] = s
	}
	return out, nil
})

// Validate checks that data is one JSON value valid as kind. The error of
// an invalid value lists every violation with its place in the value.
func Validate(kind Kind, data []byte) error {
	schemas, err := compiled()
	if err != nil {
		return err
	}
	s, ok := schemas[kind]
	if !ok {
		return fmt.Errorf("reportschema: unknown kind %q (want one of %v)", kind, Kinds)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("reportschema: not one JSON value: %w", err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("reportschema: not a valid %s report: %w", kind, err)
	}
	return nil
}

// KindOf returns the kind of a report value of package report — a
// Document, a slice of Documents, a Batch or a Rejection, or a pointer to
// one — and false for anything else.
func KindOf(v any) (Kind, bool) {
	switch v.(type) {
	case report.Document, *report.Document:
		return Document, true
	case []report.Document, []*report.Document, *[]report.Document, *[]*report.Document:
		return Documents, true
	case report.Batch, *report.Batch:
		return Batch, true
	case report.Rejection, *report.Rejection:
		return Rejection, true
	}
	return "", false
}

// Check fails t, with the validator's full message and the value, unless
// data is valid as kind.
func Check(t testing.TB, kind Kind, data []byte) {
	t.Helper()
	if err := Validate(kind, data); err != nil {
		t.Errorf("%v\n%s", err, indent(data))
	}
}

// CheckValue is Check of the JSON encoding of v, a report value of package
// report (KindOf), as the pipeline stores it and the commands print it.
func CheckValue(t testing.TB, v any) {
	t.Helper()
	kind, ok := KindOf(v)
	if !ok {
		t.Errorf("reportschema: %T is not a report", v)
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Errorf("reportschema: encode %T: %v", v, err)
		return
	}
	Check(t, kind, data)
}

// indent returns data indented for a failure message, or as it is when it
// is not JSON; a long value is cut short.
func indent(data []byte) string {
	const max = 16 << 10
	var b bytes.Buffer
	if json.Indent(&b, data, "", "  ") != nil {
		b.Reset()
		b.Write(data)
	}
	s := b.String()
	if len(s) > max {
		s = s[:max] + "\n… (" + fmt.Sprint(len(s)-max) + " more bytes)"
	}
	return strings.TrimRight(s, "\n")
}
