// Package signed signs what sealpipe writes and reads back — approval
// manifests, registry entries, reports, rejection and usage records — so
// that nothing in the object store counts unless its signer is known.
//
// Two forms share one signature format, a detached CMS SignedData in the
// SM2 form of GM/T 0010 / GB/T 35275 (SM3 digest, SM2 signature over the
// signed attributes, the signer's certificate included) when the key is
// SM2, and the usual RSA/ECDSA-with-SHA-256 form otherwise:
//
//   - Sign and Verify: a detached signature kept apart from the content,
//     as approval.json.p7s is from approval.json.
//
//   - Marshal and Open: a JSON record and its signature in one object, so
//     that a write is atomic and a reader cannot take the record without
//     its signature:
//
//     {
//     "format": "sealpipe-signed/1",
//     "payload": { …the record… },
//     "signature": "MIIC…"        (base64 CMS over the compact payload)
//     }
//
// The payload stays readable JSON. The signature covers its compact
// encoding (encoding/json's Compact), so re-indenting the object changes
// nothing, while any change to a value, a name or an escape fails.
//
// Verify and Open check the mathematics only and return the signer's
// certificate: whether that certificate is trusted, and for what, is the
// caller's decision (trust.Pool with the right trust.Usage).
package signed

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/cms"
)

// Format names the envelope layout Marshal writes.
const Format = "sealpipe-signed/1"

// MaxSignatureSize bounds a signature: a certificate or two and an SM2 or
// ECDSA value fit in a few kilobytes; an RSA chain in a few more.
const MaxSignatureSize = 64 << 10

var (
	// ErrSignature reports a missing, unparsable or invalid signature.
	ErrSignature = errors.New("signed: bad signature")
	// ErrFormat reports an object that is not a signed envelope.
	ErrFormat = errors.New("signed: not a signed object")
)

// Signer is a signing key and its certificate: what Sign and Marshal need.
type Signer struct {
	// Key signs; any crypto.Signer, such as an HSM key.
	Key crypto.Signer
	// Cert is Key's certificate; it travels in every signature.
	Cert *smx509.Certificate
}

// Sign returns the detached CMS signature of content by s, made at the
// current time (pipeline/cms).
func (s Signer) Sign(content []byte) ([]byte, error) {
	if s.Key == nil || s.Cert == nil {
		return nil, fmt.Errorf("signed: sign: no key or no certificate")
	}
	form, err := cms.FormOf(s.Key.Public())
	if err != nil {
		return nil, fmt.Errorf("signed: sign: %w", err)
	}
	attrs, err := form.SignedAttributes(form.Digest(content), time.Now())
	if err != nil {
		return nil, fmt.Errorf("signed: sign: %w", err)
	}
	sig, err := form.Sign(s.Key, attrs)
	if err != nil {
		return nil, fmt.Errorf("signed: sign: %w", err)
	}
	return form.Encode([]*smx509.Certificate{s.Cert}, attrs, sig, nil), nil
}

// Verify checks sig as the detached signature of content and returns the
// signer's certificate. Failures wrap ErrSignature.
func Verify(content, sig []byte) (cert *smx509.Certificate, err error) {
	if len(sig) == 0 || len(sig) > MaxSignatureSize {
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrSignature, len(sig))
	}
	defer func() {
		if r := recover(); r != nil { // the CMS parser is outside our control
			cert, err = nil, fmt.Errorf("%w: unparsable signature (%v)", ErrSignature, r)
		}
	}()
	p7, err := pkcs7.Parse(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if len(p7.Signers) != 1 {
		return nil, fmt.Errorf("%w: %d signers, want exactly 1", ErrSignature, len(p7.Signers))
	}
	if len(p7.Content) != 0 {
		return nil, fmt.Errorf("%w: signature is not detached", ErrSignature)
	}
	p7.Content = content
	if err := p7.Verify(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if cert = p7.GetOnlySigner(); cert == nil {
		return nil, fmt.Errorf("%w: signer certificate not included", ErrSignature)
	}
	return cert, nil
}

// envelope is the stored form of a signed record.
type envelope struct {
	Format    string          `json:"format"`
	Payload   json.RawMessage `json:"payload"`
	Signature []byte          `json:"signature"`
}

// Marshal encodes v as JSON, signs the encoding with s and returns the
// signed object, indented for people: what json.MarshalIndent makes of an
// envelope with two spaces, written directly (it would scan the payload
// twice more and the signature's base64 once).
func (s Signer) Marshal(v any) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("signed: marshal: %w", err)
	}
	sig, err := s.Sign(payload)
	if err != nil {
		return nil, err
	}
	b := bytes.NewBuffer(make([]byte, 0, 2*len(payload)+base64.StdEncoding.EncodedLen(len(sig))+64))
	b.WriteString("{\n  \"format\": \"" + Format + "\",\n  \"payload\": ")
	if err := json.Indent(b, payload, "  ", "  "); err != nil {
		return nil, fmt.Errorf("signed: marshal: %w", err)
	}
	b.WriteString(",\n  \"signature\": \"")
	b.Write(base64.StdEncoding.AppendEncode(b.AvailableBuffer(), sig))
	b.WriteString("\"\n}\n")
	return b.Bytes(), nil
}

// Open checks a signed object made by Marshal and returns its payload, in
// the compact form the signature covers, and the signer's certificate.
// An object that is not an envelope fails with ErrFormat (a record written
// before records were signed, or planted); a payload that does not match
// its signature fails with ErrSignature.
func Open(data []byte) (payload []byte, cert *smx509.Certificate, err error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil || env.Format != Format || len(env.Payload) == 0 {
		return nil, nil, fmt.Errorf("%w (want format %q)", ErrFormat, Format)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, env.Payload); err != nil {
		return nil, nil, fmt.Errorf("%w: payload: %v", ErrFormat, err)
	}
	if cert, err = Verify(compact.Bytes(), env.Signature); err != nil {
		return nil, nil, err
	}
	return compact.Bytes(), cert, nil
}

// Unmarshal is Open followed by decoding the payload into v.
func Unmarshal(data []byte, v any) (*smx509.Certificate, error) {
	payload, cert, err := Open(data)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrFormat, err)
	}
	return cert, nil
}
