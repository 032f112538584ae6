// Package tsa speaks the Time-Stamp Protocol of RFC 3161: it builds and
// reads timestamp requests and responses, reads and verifies timestamp
// tokens, asks a timestamp authority over HTTP ([Client], §3.4) and is one
// ([Authority], the development TSA behind `sealpipe tsa`).
//
// A token is a CMS SignedData (RFC 5652) whose encapsulated content is a
// TSTInfo (§2.4.2) and whose signer is the TSA. Its messageImprint is the
// hash of the stamped data; in a PAdES B-T signature that data is the
// signature value (ETSI EN 319 122-1 §5.3, signature-time-stamp), in a
// GB/T 38540 SES_Signature too (timeStamp, "对签名值的时间戳").
//
// The messages are DER. Parsing uses encoding/asn1 on input of at most
// [MaxMessageSize] bytes: hostile input is refused with [ErrMalformed],
// never a panic (the fuzz targets check it). Token signatures are checked
// with package ses ([ses.TimeStampToken.Verify]), which verifies SM2/SM3
// (GB/T 35275), ECDSA and RSA tokens; trust in the TSA's certificate is
// the caller's.
package tsa

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"strings"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline/cms"
)

// MaxMessageSize bounds a request, response or token read by this
// package.
const MaxMessageSize = 1 << 20

// Media types of RFC 3161 §3.4.
const (
	QueryType = "application/timestamp-query"
	ReplyType = "application/timestamp-reply"
)

// Sentinel errors; every error of this package wraps one of them (a
// failure of the network or of a crypto.Signer excepted, which is wrapped
// as it comes).
var (
	// ErrMalformed reports a request, response or token that does not
	// decode.
	ErrMalformed = errors.New("tsa: malformed message")
	// ErrRejected reports a response whose status is neither granted nor
	// grantedWithMods; the error is a [*RejectedError].
	ErrRejected = errors.New("tsa: request rejected")
	// ErrMismatch reports a token that does not answer its request: another
	// imprint, nonce or policy.
	ErrMismatch = errors.New("tsa: the token does not answer the request")
	// ErrUnsupported reports a hash algorithm this package does not know.
	ErrUnsupported = errors.New("tsa: unsupported algorithm")
	// ErrTSA reports a TSA that could not be asked or answered out of
	// protocol: an HTTP error, another media type, a response too large.
	ErrTSA = errors.New("tsa: timestamp authority failed")
)

// Object identifiers.
var (
	// OIDTSTInfo is id-ct-TSTInfo (RFC 3161 §2.4.2).
	OIDTSTInfo = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	// OIDTimeStampingEKU is id-kp-timeStamping (RFC 3161 §2.3), the only
	// extended key usage a TSA's certificate may have, marked critical.
	OIDTimeStampingEKU = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	// DevPolicy is the policy of the development TSA: an OID under the
	// documentation arc sealpipe's development roles use, for no
	// production use.
	DevPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 38540, 3161, 1}

	oidSM3    = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// Hash is a message-imprint hash algorithm. The zero value is SHA-256.
type Hash int

// Hash algorithms of message imprints.
const (
	SHA256 Hash = iota
	SHA384
	SHA512
	SM3
)

var hashes = []struct {
	name string
	oid  asn1.ObjectIdentifier
	new  func() hash.Hash
	size int
}{
	SHA256: {"SHA-256", oidSHA256, sha256.New, sha256.Size},
	SHA384: {"SHA-384", oidSHA384, sha512.New384, sha512.Size384},
	SHA512: {"SHA-512", oidSHA512, sha512.New, sha512.Size},
	SM3:    {"SM3", oidSM3, sm3.New, sm3.Size},
}

func (h Hash) known() bool { return h >= 0 && int(h) < len(hashes) }

// String returns the algorithm's name, e.g. "SHA-256".
func (h Hash) String() string {
	if !h.known() {
		return fmt.Sprintf("Hash(%d)", int(h))
	}
	return hashes[h].name
}

// OID returns the algorithm's object identifier.
func (h Hash) OID() asn1.ObjectIdentifier { return hashes[h].oid }

// Size returns the length of the algorithm's digests.
func (h Hash) Size() int { return hashes[h].size }

// Sum returns the hash of data.
func (h Hash) Sum(data []byte) []byte {
	d := hashes[h].new()
	d.Write(data)
	return d.Sum(nil)
}

// HashByOID returns the hash algorithm an object identifier names.
func HashByOID(oid asn1.ObjectIdentifier) (Hash, error) {
	for i, h := range hashes {
		if h.oid.Equal(oid) {
			return Hash(i), nil
		}
	}
	return 0, fmt.Errorf("%w: hash algorithm %v", ErrUnsupported, oid)
}

// ParseHash reads a hash algorithm's name: sha256, sha384, sha512 or sm3
// (any case, a hyphen allowed).
func ParseHash(name string) (Hash, error) {
	switch name {
	case "", "sha256", "SHA256", "sha-256", "SHA-256":
		return SHA256, nil
	case "sha384", "SHA384", "sha-384", "SHA-384":
		return SHA384, nil
	case "sha512", "SHA512", "sha-512", "SHA-512":
		return SHA512, nil
	case "sm3", "SM3":
		return SM3, nil
	}
	return 0, fmt.Errorf("%w: hash %q (want sha256, sha384, sha512 or sm3)", ErrUnsupported, name)
}

// CryptoHash returns the crypto.Hash of h, or 0 for SM3.
func (h Hash) CryptoHash() crypto.Hash {
	switch h {
	case SHA256:
		return crypto.SHA256
	case SHA384:
		return crypto.SHA384
	case SHA512:
		return crypto.SHA512
	}
	return 0
}

// algorithmIdentifier is an AlgorithmIdentifier whose parameters, absent
// or NULL, are ignored.
type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

// messageImprint is RFC 3161 §2.4.1 MessageImprint.
type messageImprint struct {
	HashAlgorithm algorithmIdentifier
	HashedMessage []byte
}

// imprint returns the MessageImprint of a digest; the hash algorithm is
// written without parameters (RFC 5754 §2: "absent" preferred; OpenSSL
// accepts both).
func imprint(h Hash, digest []byte) messageImprint {
	return messageImprint{HashAlgorithm: algorithmIdentifier{Algorithm: h.OID()}, HashedMessage: digest}
}

// readImprint checks a decoded imprint: a known algorithm and a digest of
// its size.
func readImprint(m messageImprint) (Hash, error) {
	h, err := HashByOID(m.HashAlgorithm.Algorithm)
	if err != nil {
		return 0, err
	}
	if len(m.HashedMessage) != h.Size() {
		return 0, fmt.Errorf("%w: a %s imprint of %d bytes", ErrMalformed, h, len(m.HashedMessage))
	}
	return h, nil
}

// unmarshal decodes der, all of it, into v.
func unmarshal(what string, der []byte, v any) error {
	if len(der) > MaxMessageSize {
		return fmt.Errorf("%w: %s of %d bytes, at most %d read", ErrMalformed, what, len(der), MaxMessageSize)
	}
	rest, err := asn1.Unmarshal(der, v)
	switch {
	case err != nil:
		// encoding/asn1's structure errors append a dump of the field's
		// tags: left out, the message goes back to clients.
		msg, _, _ := strings.Cut(err.Error(), " {")
		return fmt.Errorf("%w: %s does not decode: %s", ErrMalformed, what, msg)
	case len(rest) > 0:
		return fmt.Errorf("%w: %s: %d trailing bytes", ErrMalformed, what, len(rest))
	}
	return nil
}

// Request is a TimeStampReq (RFC 3161 §2.4.1).
type Request struct {
	// Hash and HashedMessage are the messageImprint: the hash of the data
	// to stamp.
	Hash          Hash
	HashedMessage []byte
	// Policy, if set, is the policy the token must be issued under.
	Policy asn1.ObjectIdentifier
	// Nonce, if set, must come back in the token.
	Nonce *big.Int
	// CertReq asks the TSA to put its certificate in the token.
	CertReq bool
}

// timeStampReq is the wire form of a Request.
type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
	Nonce          *big.Int              `asn1:"optional"`
	CertReq        bool                  `asn1:"optional,default:false"`
	Extensions     asn1.RawValue         `asn1:"optional,tag:0"`
}

// NewRequest returns a request for a token over data, hashed with h, with
// a random 64-bit nonce and asking for the TSA's certificate.
func NewRequest(h Hash, data []byte) (*Request, error) {
	if !h.known() {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, h)
	}
	nonce, err := randomSerial(64)
	if err != nil {
		return nil, err
	}
	return &Request{Hash: h, HashedMessage: h.Sum(data), Nonce: nonce, CertReq: true}, nil
}

// Marshal returns the DER TimeStampReq.
func (r *Request) Marshal() ([]byte, error) {
	if !r.Hash.known() || len(r.HashedMessage) != r.Hash.Size() {
		return nil, fmt.Errorf("%w: request imprint of %d bytes for %v", ErrMalformed, len(r.HashedMessage), r.Hash)
	}
	return asn1.Marshal(timeStampReq{Version: 1, MessageImprint: imprint(r.Hash, r.HashedMessage), ReqPolicy: r.Policy, Nonce: r.Nonce, CertReq: r.CertReq})
}

// RequestError is a request the TSA refuses, with the failure it answers.
type RequestError struct {
	Fail FailureInfo
	Err  error
}

func (e *RequestError) Error() string { return e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// ParseRequest decodes a DER TimeStampReq. Errors are [*RequestError]
// values wrapping ErrMalformed (FailBadDataFormat) or ErrUnsupported
// (FailBadAlg, FailUnacceptedExtension).
func ParseRequest(der []byte) (*Request, error) {
	var req timeStampReq
	if err := unmarshal("TimeStampReq", der, &req); err != nil {
		return nil, &RequestError{FailBadDataFormat, err}
	}
	if req.Version != 1 {
		return nil, &RequestError{FailBadDataFormat, fmt.Errorf("%w: TimeStampReq version %d, want 1", ErrMalformed, req.Version)}
	}
	if len(req.Extensions.FullBytes) > 0 {
		return nil, &RequestError{FailUnacceptedExtension, fmt.Errorf("%w: request extensions", ErrUnsupported)}
	}
	h, err := readImprint(req.MessageImprint)
	if err != nil {
		fail := FailBadDataFormat
		if errors.Is(err, ErrUnsupported) {
			fail = FailBadAlg
		}
		return nil, &RequestError{fail, err}
	}
	return &Request{Hash: h, HashedMessage: req.MessageImprint.HashedMessage, Policy: req.ReqPolicy, Nonce: req.Nonce, CertReq: req.CertReq}, nil
}

// Status is a PKIStatus (RFC 3161 §2.4.2).
type Status int

// Statuses.
const (
	StatusGranted                Status = 0
	StatusGrantedWithMods        Status = 1
	StatusRejection              Status = 2
	StatusWaiting                Status = 3
	StatusRevocationWarning      Status = 4
	StatusRevocationNotification Status = 5
)

// String names the status as RFC 3161 does.
func (s Status) String() string {
	names := []string{"granted", "grantedWithMods", "rejection", "waiting", "revocationWarning", "revocationNotification"}
	if s >= 0 && int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("status %d", int(s))
}

// FailureInfo is a PKIFailureInfo bit (RFC 3161 §2.4.2).
type FailureInfo int

// Failure bits.
const (
	FailNone                FailureInfo = -1
	FailBadAlg              FailureInfo = 0
	FailBadRequest          FailureInfo = 2
	FailBadDataFormat       FailureInfo = 5
	FailTimeNotAvailable    FailureInfo = 14
	FailUnacceptedPolicy    FailureInfo = 15
	FailUnacceptedExtension FailureInfo = 16
	FailAddInfoNotAvailable FailureInfo = 17
	FailSystemFailure       FailureInfo = 25
)

// String names the failure as RFC 3161 does.
func (f FailureInfo) String() string {
	switch f {
	case FailNone:
		return "none"
	case FailBadAlg:
		return "badAlg"
	case FailBadRequest:
		return "badRequest"
	case FailBadDataFormat:
		return "badDataFormat"
	case FailTimeNotAvailable:
		return "timeNotAvailable"
	case FailUnacceptedPolicy:
		return "unacceptedPolicy"
	case FailUnacceptedExtension:
		return "unacceptedExtension"
	case FailAddInfoNotAvailable:
		return "addInfoNotAvailable"
	case FailSystemFailure:
		return "systemFailure"
	}
	return fmt.Sprintf("failure bit %d", int(f))
}

// Response is a TimeStampResp (RFC 3161 §2.4.2).
type Response struct {
	Status       Status
	StatusString []string
	Fail         FailureInfo // FailNone when the response has no failInfo
	// Token is the DER TimeStampToken; empty unless the status grants one.
	Token []byte
}

type pkiStatusInfo struct {
	Status       int
	StatusString []asn1.RawValue `asn1:"optional"` // PKIFreeText: SEQUENCE OF UTF8String
	FailInfo     asn1.BitString  `asn1:"optional"`
}

type timeStampResp struct {
	Status pkiStatusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

// Marshal returns the DER TimeStampResp.
func (r *Response) Marshal() ([]byte, error) {
	resp := timeStampResp{Status: pkiStatusInfo{Status: int(r.Status)}}
	for _, s := range r.StatusString {
		s = strings.ToValidUTF8(s, "\uFFFD")
		resp.Status.StatusString = append(resp.Status.StatusString, asn1.RawValue{FullBytes: cms.TLV(asn1.TagUTF8String, []byte(s))})
	}
	if r.Fail >= 0 {
		// A named bit list is DER-encoded without trailing zero bits
		// (X.690 §11.2.2): the failure's bit is the last one set.
		n := int(r.Fail) + 1
		b := make([]byte, (n+7)/8)
		b[r.Fail/8] |= 0x80 >> (r.Fail % 8)
		resp.Status.FailInfo = asn1.BitString{Bytes: b, BitLength: n}
	}
	if len(r.Token) > 0 {
		resp.Token = asn1.RawValue{FullBytes: r.Token}
	}
	return asn1.Marshal(resp)
}

// ParseResponse decodes a DER TimeStampResp. A response that does not
// grant a token is returned with a nil error: see [Response.Err].
func ParseResponse(der []byte) (*Response, error) {
	var resp timeStampResp
	if err := unmarshal("TimeStampResp", der, &resp); err != nil {
		return nil, err
	}
	r := &Response{Status: Status(resp.Status.Status), Fail: FailNone}
	for _, t := range resp.Status.StatusString {
		if t.Class != asn1.ClassUniversal || t.Tag != asn1.TagUTF8String {
			return nil, fmt.Errorf("%w: statusString holds a %d/%d, not a UTF8String", ErrMalformed, t.Class, t.Tag)
		}
		r.StatusString = append(r.StatusString, string(t.Bytes))
	}
	for i := range resp.Status.FailInfo.BitLength {
		if resp.Status.FailInfo.At(i) == 1 {
			r.Fail = FailureInfo(i)
			break
		}
	}
	if len(resp.Token.FullBytes) > 0 {
		if resp.Token.Class != asn1.ClassUniversal || resp.Token.Tag != asn1.TagSequence {
			return nil, fmt.Errorf("%w: timeStampToken is not a SEQUENCE", ErrMalformed)
		}
		r.Token = resp.Token.FullBytes
	}
	return r, nil
}

// Err returns nil if the response grants a token, else a [*RejectedError].
func (r *Response) Err() error {
	switch {
	case r.Status != StatusGranted && r.Status != StatusGrantedWithMods:
		return &RejectedError{Status: r.Status, Fail: r.Fail, Text: r.StatusString}
	case len(r.Token) == 0:
		return fmt.Errorf("%w: status %s without a token", ErrMalformed, r.Status)
	}
	return nil
}

// RejectedError details an [ErrRejected]: the TSA's status, failure and
// text.
type RejectedError struct {
	Status Status
	Fail   FailureInfo
	Text   []string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%v: status %s, failure %s %q", ErrRejected, e.Status, e.Fail, e.Text)
}

// Unwrap makes errors.Is(err, ErrRejected) hold.
func (e *RejectedError) Unwrap() error { return ErrRejected }
