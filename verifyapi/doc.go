// Package verifyapi is sealpipe's public verification service (验章): the
// HTTP listener `sealpipe serve` runs on SEALPIPE_HTTP_ADDR for citizens,
// clerks of other departments and auditors, who check a sealed document
// without installing anything.
//
// # Routes
//
//	GET  /                  the verification page: choose or drop a PDF or
//	                        OFD document, read the verdict (Chinese, or
//	                        English with ?lang=en)
//	POST /api/v1/verify     the document as the body, or as the multipart
//	                        field "document": its verification report, as
//	                        JSON (the default, report.Document, described
//	                        by GET /api/v1/report.schema.json), or with
//	                        ?format=html the page a person reads, which
//	                        offers the PDF report for download, or with
//	                        ?format=pdf that PDF report
//	GET  /api/v1/report.schema.json
//	                        the JSON Schema of the reports (package docs)
//	GET  /healthz           200 while the process serves
//	GET  /readyz            200 when every Probe passes (the object store,
//	                        Redis, the keys), else 503
//	GET  /metrics           Prometheus metrics
//
// # What a public request may do
//
// No route needs a login, and none reveals more than the document itself
// does: a report describes only the document uploaded. Documents are
// verified in memory and never stored: nothing a public request sends is
// written anywhere. A body over Config.MaxDocumentSize is refused with 413,
// an empty one with 400, a file that is neither a PDF nor an OFD document
// with 422; at most Config.MaxConcurrent documents are held at once, so
// memory stays bounded under load. Errors are JSON ({"code", "message"})
// for the API and a page for the page's form.
package verifyapi
