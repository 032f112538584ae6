package adminapi

import (
	_ "embed"
	"encoding/json"
)

// openAPIJSON is the API's OpenAPI 3.1 document, served at
// GET /api/v1/openapi.json. TestOpenAPI checks it against the routes
// both ways and the tests' responses against its schemas.
//
//go:embed openapi.json
var openAPIJSON []byte

// OpenAPI returns the API's OpenAPI 3.1 document (JSON).
func OpenAPI() []byte { return append([]byte(nil), openAPIJSON...) }

func openAPIDocument() json.RawMessage { return openAPIJSON }
