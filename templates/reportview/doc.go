// Package reportview renders sealpipe's verification reports (package
// report) for people to read: as a whole HTML page (HTML), readable on a
// phone and needing nothing from elsewhere, or as a PDF file (PDF, typeset
// by package textpdf with the CJK font embedded), in Chinese, the
// default, or English.
//
// The verdicts follow ETSI EN 319 102-1's three indications and are put
// in plain words: 签章有效 (every check passed), 签章无效 (a check failed:
// the failing checks are named and explained) and 无法确认 (nothing
// failed, but something could not be established). Each signature shows
// the seal's picture as the seal embeds it (GB/T 38540 §6.1
// SES_ESPictrueInfo, when the verifier kept it), the seal's name and code,
// the signer and the signing time, and every check with the clause of the
// standard it implements.
package reportview
