package report_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/docs"
	"github.com/sealpipe/sealpipe/pipeline/report"
)

// schemaRoots are the report types and their definitions in
// docs/report.schema.json. The types their fields hold — Signature,
// Check, BatchEntry, LogCheckpoint and any added later, such as a
// signature's picture — are reached from them, each through the $ref of
// the property that holds it.
var schemaRoots = []struct {
	typ reflect.Type
	def string
}{
	{reflect.TypeFor[report.Document](), "document"},
	{reflect.TypeFor[report.Batch](), "batch"},
	{reflect.TypeFor[report.Rejection](), "rejection"},
}

// schemaReached are the definitions the walk from schemaRoots must reach,
// with the type each describes.
var schemaReached = map[string]reflect.Type{
	"document":       reflect.TypeFor[report.Document](),
	"signature":      reflect.TypeFor[report.Signature](),
	"check":          reflect.TypeFor[report.Check](),
	"picture":        reflect.TypeFor[report.Picture](),
	"batch":          reflect.TypeFor[report.Batch](),
	"batch_entry":    reflect.TypeFor[report.BatchEntry](),
	"log_checkpoint": reflect.TypeFor[report.LogCheckpoint](),
	"rejection":      reflect.TypeFor[report.Rejection](),
}

// schemaEnums are the string types whose values the schema enumerates, the
// definition each property of that type must refer to, and the values.
var schemaEnums = map[reflect.Type]struct {
	def    string
	values []string
}{
	reflect.TypeFor[report.Indication](): {"indication", []string{string(report.Passed), string(report.Failed), string(report.Indeterminate)}},
	reflect.TypeFor[report.Result]():     {"result", []string{string(report.OK), string(report.NotOK), string(report.Unknown), string(report.Skipped)}},
	reflect.TypeFor[report.Outcome]():    {"outcome", []string{string(report.OutcomeSealed), string(report.OutcomeRejected)}},
	reflect.TypeFor[report.Code]():       {"code", nil},
}

// TestSchemaMatchesTypes: the definitions of docs/report.schema.json and
// the report types agree both ways — each JSON name of a field is a
// property and each property a JSON name, a field without omitempty or
// omitzero is required and one with either is not, the JSON types match
// (a time is an RFC 3339 date-time), and the enumerations are the Go
// constants. A field added, renamed or made optional without the schema
// fails here.
func TestSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	var s struct {
		Defs map[string]map[string]any `json:"$defs"`
	}
	if err := json.Unmarshal(docs.ReportSchema(), &s); err != nil {
		t.Fatal(err)
	}
	w := &schemaWalk{t: t, defs: s.Defs, seen: map[string]reflect.Type{}}
	for _, r := range schemaRoots {
		w.walk(r.typ, r.def)
	}
	for def, typ := range schemaReached {
		if w.seen[def] != typ {
			t.Errorf("$defs/%s: reached as %v, want %v", def, w.seen[def], typ)
		}
	}
	for typ, e := range schemaEnums {
		def := s.Defs[e.def]
		if def == nil {
			t.Errorf("no $defs/%s for %v", e.def, typ)
			continue
		}
		if def["type"] != "string" {
			t.Errorf("$defs/%s is of type %v, want string", e.def, def["type"])
		}
		if e.values == nil {
			continue
		}
		var got []string
		for _, v := range def["enum"].([]any) {
			got = append(got, v.(string))
		}
		if !slices.Equal(got, e.values) {
			t.Errorf("$defs/%s enumerates %q, the Go constants of %v are %q", e.def, got, typ, e.values)
		}
	}
	docs := s.Defs["documents"]
	if docs["type"] != "array" || ref(docs["items"]) != "document" {
		t.Errorf("$defs/documents is not an array of #/$defs/document: %v", docs)
	}
}

// schemaWalk compares Go types with schema definitions.
type schemaWalk struct {
	t    *testing.T
	defs map[string]map[string]any
	seen map[string]reflect.Type // definitions compared, and their type
}

// walk compares struct type typ with the definition def, then the struct
// types its fields hold with the definitions their properties refer to.
func (w *schemaWalk) walk(typ reflect.Type, def string) {
	t := w.t
	t.Helper()
	if prev, ok := w.seen[def]; ok {
		if prev != typ {
			t.Errorf("$defs/%s describes both %v and %v", def, prev, typ)
		}
		return
	}
	w.seen[def] = typ
	d := w.defs[def]
	if d == nil {
		t.Errorf("%v: no $defs/%s", typ, def)
		return
	}
	if d["type"] != "object" || d["additionalProperties"] != false {
		t.Errorf("$defs/%s (%v): want a closed object (type object, additionalProperties false)", def, typ)
	}
	props, _ := d["properties"].(map[string]any)
	required := map[string]bool{}
	for _, r := range d["required"].([]any) {
		required[r.(string)] = true
	}
	fields := map[string]bool{}
	for f := range typ.Fields() {
		name, optional, ok := jsonName(f)
		if !ok {
			continue
		}
		fields[name] = true
		at := def + "." + name
		prop, _ := props[name].(map[string]any)
		if prop == nil {
			t.Errorf("%v.%s: JSON name %q is not a property of $defs/%s", typ, f.Name, name, def)
			continue
		}
		if required[name] == optional {
			t.Errorf("%s: required is %v, but %v.%s has omitempty or omitzero: %v", at, required[name], typ, f.Name, optional)
		}
		w.compare(at, f.Type, prop)
	}
	for name := range props {
		if fields[name] {
			continue
		}
		t.Errorf("$defs/%s: property %q is no JSON name of %v", def, name, typ)
	}
	for name := range required {
		if props[name] == nil {
			t.Errorf("$defs/%s requires %q, which is no property", def, name)
		}
	}
}

// compare checks the property prop at against Go type typ, and walks on
// into a struct type it holds.
func (w *schemaWalk) compare(at string, typ reflect.Type, prop map[string]any) {
	t := w.t
	t.Helper()
	want := jsonType(typ)
	got, format := w.schemaType(prop)
	if got != want {
		t.Errorf("%s: JSON type %q, the Go type %v encodes as %q", at, got, typ, want)
	}
	if typ == reflect.TypeFor[time.Time]() && format != "date-time" {
		t.Errorf("%s: a time, but its format is %q, not date-time", at, format)
	}
	if typ == reflect.TypeFor[[]byte]() && prop["contentEncoding"] != "base64" {
		t.Errorf("%s: bytes, but not contentEncoding base64", at)
	}
	if e, ok := schemaEnums[typ]; ok && ref(prop) != e.def {
		t.Errorf("%s: of type %v, but refers to %q, not #/$defs/%s", at, typ, ref(prop), e.def)
	}
	switch typ.Kind() {
	case reflect.Pointer:
		w.compare(at, typ.Elem(), prop)
	case reflect.Slice:
		if typ.Elem().Kind() != reflect.Uint8 {
			items, _ := prop["items"].(map[string]any)
			w.compare(at+"[]", typ.Elem(), items)
		}
	case reflect.Struct:
		if typ != reflect.TypeFor[time.Time]() {
			if def := ref(prop); def == "" {
				t.Errorf("%s: holds %v but refers to no definition", at, typ)
			} else {
				w.walk(typ, def)
			}
		}
	}
}

// schemaType returns the JSON type and format of prop, following its $ref.
func (w *schemaWalk) schemaType(prop map[string]any) (typ, format string) {
	typ, _ = prop["type"].(string)
	format, _ = prop["format"].(string)
	if def := w.defs[ref(prop)]; def != nil {
		if typ == "" {
			typ, _ = def["type"].(string)
		}
		if format == "" {
			format, _ = def["format"].(string)
		}
	}
	return typ, format
}

// ref returns the definition a schema refers to ("#/$defs/NAME"), or "".
func ref(schema any) string {
	m, _ := schema.(map[string]any)
	r, _ := m["$ref"].(string)
	name, _ := strings.CutPrefix(r, "#/$defs/")
	return name
}

// jsonName returns the name encoding/json gives field f and whether it is
// omitted when empty or zero; ok is false for a field it leaves out.
func jsonName(f reflect.StructField) (name string, optional, ok bool) {
	if !f.IsExported() {
		return "", false, false
	}
	tag, hasTag := f.Tag.Lookup("json")
	if tag == "-" {
		return "", false, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if !hasTag || name == "" {
		name = f.Name
	}
	for o := range strings.SplitSeq(opts, ",") {
		optional = optional || o == "omitempty" || o == "omitzero"
	}
	return name, optional, true
}

// jsonType returns the JSON type encoding/json encodes Go type typ as
// (a pointer as its element; null aside).
func jsonType(typ reflect.Type) string {
	switch {
	case typ == reflect.TypeFor[time.Time]():
		return "string"
	case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Uint8:
		return "string"
	}
	switch typ.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Pointer:
		return jsonType(typ.Elem())
	}
	return typ.Kind().String()
}
