// Package docs holds sealpipe's reference documents that programs use as
// well as people: the JSON Schema of the reports (report.schema.json),
// embedded so that a server can serve it and tests can validate against
// it without a file path.
//
// The schema describes the JSON form of package pipeline/report's types:
// a document's verification report, the array of them that `sealpipe
// verify --json` prints, a batch report and a rejection record. Its major
// version is in its $id (ReportSchemaID); package internal/reportschema
// validates reports against it in the tests, and a test of package
// pipeline/report checks its properties against the Go types' JSON names.
package docs

import _ "embed"

// ReportSchemaID is the $id of report.schema.json. Its last element names
// the schema's major version, which changes only when a report valid under
// the previous one would be refused.
const ReportSchemaID = "https://sealpipe.example/schemas/report/v1.json"

// ReportSchemaMediaType is the media type to serve the schema with.
const ReportSchemaMediaType = "application/schema+json"

//go:embed report.schema.json
var reportSchema []byte

// ReportSchema returns the JSON Schema (draft 2020-12) of sealpipe's
// reports, report.schema.json: a copy, the caller's to keep.
func ReportSchema() []byte { return append([]byte(nil), reportSchema...) }
