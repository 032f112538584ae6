// Package adminapi is the seal administration API that `sealpipe serve`
// runs on its admin listener (SEALPIPE_ADMIN_ADDR), and its client, which
// `sealpipe seals …` become when SEALPIPE_ADMIN_URL is set.
//
// # Authentication: mutual TLS
//
// A connection must present a client certificate that chains to the
// configured CAs — the trusted roots (SEALPIPE_ROOTS) and the admin
// API's TLS CAs (the development TLS CA of `sealpipe ca init`) — valid now
// and on no configured CRL, checked by package trust as every certificate
// sealpipe relies on, or the TLS handshake fails: no request without one
// reaches a handler. TLS 1.2 and 1.3 have no SM2 signature scheme, so the
// TLS keys are ECDSA P-256 (or RSA), and since OpenSSL (curl) neither
// verifies SM2-signed chains nor, in TLS 1.3, presents a client
// certificate an SM2 CA signed, the development CA issues them from an
// ECDSA TLS CA of its own (`sealpipe ca issue-client`, `ca issue-server`).
// Each side verifies the other's chain with package trust (TLSConfig,
// ClientTLS), which takes SM2-signed chains too.
//
// # Who: role and units from the certificate
//
// The role is the one role OID (DefaultRoleOIDs, or the configured ones)
// the certificate carries as an extended key usage or a policy; the name
// is its common name; a keeper's units are its subject's O values (the
// unit's name, as the unit's signing certificate and its seals' records
// give it) and an uploader's departments its OU values (as in
// inbox/<dept>/). An approver is bound to the seals whose records name
// its CN as an approver.
//
// # What: one authorisation table
//
// Every route takes one Action; policy says for each action and role
// whether the role may take it on every seal (All), on its own seals only
// (Own, see InScope) or not at all. Changes are made by an Administrator
// — the engine, which signs them with the seal administrator's key — and
// record the principal who asked inside the signed registry change
// (registry.Principal).
//
// Requests and responses are JSON; errors are an Error with a stable
// code. The OpenAPI document (openapi.json, served at
// /api/v1/openapi.json) describes it all.
package adminapi
