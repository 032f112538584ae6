package tsa

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// Info is the TSTInfo of a token (RFC 3161 §2.4.2).
type Info struct {
	Policy        asn1.ObjectIdentifier
	Hash          Hash
	HashedMessage []byte
	SerialNumber  *big.Int
	GenTime       time.Time     // UTC
	Accuracy      time.Duration // zero when the token states none
	Ordering      bool
	Nonce         *big.Int // nil when absent
}

// tstInfo is the wire form of Info.
type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	SerialNumber   *big.Int
	GenTime        time.Time     `asn1:"generalized"`
	Accuracy       accuracy      `asn1:"optional"`
	Ordering       bool          `asn1:"optional,default:false"`
	Nonce          *big.Int      `asn1:"optional"`
	TSA            asn1.RawValue `asn1:"optional,explicit,tag:0"`
	Extensions     asn1.RawValue `asn1:"optional,tag:1"`
}

type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

// ParseToken reads the TSTInfo of a DER TimeStampToken without verifying
// anything. Errors wrap ErrMalformed or ErrUnsupported (an imprint hash
// this package does not know).
func ParseToken(token []byte) (*Info, error) {
	content, err := encapsulated(token)
	if err != nil {
		return nil, err
	}
	var ti tstInfo
	if err := unmarshal("TSTInfo", content, &ti); err != nil {
		return nil, err
	}
	if ti.Version != 1 {
		return nil, fmt.Errorf("%w: TSTInfo version %d, want 1", ErrMalformed, ti.Version)
	}
	h, err := readImprint(ti.MessageImprint)
	if err != nil {
		return nil, err
	}
	acc := time.Duration(ti.Accuracy.Seconds)*time.Second + time.Duration(ti.Accuracy.Millis)*time.Millisecond + time.Duration(ti.Accuracy.Micros)*time.Microsecond
	return &Info{
		Policy: ti.Policy, Hash: h, HashedMessage: ti.MessageImprint.HashedMessage,
		SerialNumber: ti.SerialNumber, GenTime: ti.GenTime.UTC(), Accuracy: acc, Ordering: ti.Ordering, Nonce: ti.Nonce,
	}, nil
}

// encapsulated returns the eContent of a token: ContentInfo → SignedData →
// encapContentInfo, whose type must be id-ct-TSTInfo.
func encapsulated(token []byte) ([]byte, error) {
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if err := unmarshal("TimeStampToken", token, &ci); err != nil {
		return nil, err
	}
	var sd struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		EncapContentInfo struct {
			EContentType asn1.ObjectIdentifier
			EContent     []byte `asn1:"explicit,optional,tag:0"`
		}
		Rest []asn1.RawValue `asn1:"optional"` // certificates, crls, signerInfos
	}
	if err := unmarshal("TimeStampToken SignedData", ci.Content.Bytes, &sd); err != nil {
		return nil, err
	}
	switch {
	case !sd.EncapContentInfo.EContentType.Equal(OIDTSTInfo):
		return nil, fmt.Errorf("%w: token content type %v, want id-ct-TSTInfo", ErrMalformed, sd.EncapContentInfo.EContentType)
	case len(sd.EncapContentInfo.EContent) == 0:
		return nil, fmt.Errorf("%w: token without its TSTInfo", ErrMalformed)
	}
	return sd.EncapContentInfo.EContent, nil
}

// VerifyToken checks that token stamps data — its messageImprint is the
// hash of data — and that its signature verifies with the TSA certificate
// it carries, and returns it decoded. Trust in that certificate, at the
// token's genTime, is the caller's to establish. Errors wrap the errors
// of package ses: ses.ErrTimeStamp (not a token), ses.ErrTimeStampMismatch
// (another imprint), ses.ErrTimeStampSigner (no TSA certificate),
// ses.ErrSignature or ses.ErrUnsupportedAlgorithm.
func VerifyToken(token, data []byte) (*ses.TimeStampToken, error) {
	tok, err := ses.ParseTimeStampToken(token)
	if err != nil {
		return nil, err
	}
	if err := tok.Verify(data); err != nil {
		return tok, err
	}
	return tok, nil
}

// Answers reports whether the token info answers req: the same imprint,
// nonce and, if req asked for one, policy. Errors wrap ErrMismatch.
func (i *Info) Answers(req *Request) error {
	switch {
	case i.Hash != req.Hash || !bytes.Equal(i.HashedMessage, req.HashedMessage):
		return fmt.Errorf("%w: imprint %s %x, asked %s %x", ErrMismatch, i.Hash, i.HashedMessage, req.Hash, req.HashedMessage)
	case (req.Nonce == nil) != (i.Nonce == nil) || req.Nonce != nil && req.Nonce.Cmp(i.Nonce) != 0:
		return fmt.Errorf("%w: nonce %v, asked %v", ErrMismatch, i.Nonce, req.Nonce)
	case req.Policy != nil && !req.Policy.Equal(i.Policy):
		return fmt.Errorf("%w: policy %v, asked %v", ErrMismatch, i.Policy, req.Policy)
	}
	return nil
}
