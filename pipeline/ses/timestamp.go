package ses

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// Errors of timestamp tokens (GB/T 38540 §7.3 h; RFC 3161). A token's
// problems are reported with these, never with [ErrMalformed], so that a
// bad token in the optional timeStamp of a structure that parses is told
// apart from a structure that does not.
var (
	// ErrTimeStamp reports bytes that are not an RFC 3161 TimeStampToken:
	// not a CMS SignedData, no TSTInfo inside, a TSTInfo that does not
	// decode. ofdrw's placeholder (UserV5_ts.esl: 6 bytes) is one.
	ErrTimeStamp = errors.New("ses: not a valid RFC 3161 timestamp token")
	// ErrTimeStampMismatch reports a token whose messageImprint is not the
	// hash of the data it should stamp; the error is a
	// [*TimeStampMismatchError].
	ErrTimeStampMismatch = errors.New("ses: timestamp token stamps other data")
	// ErrTimeStampSigner reports a token whose signature cannot be checked
	// here: it carries no certificate for its signer (RFC 3161 §2.4.1: the
	// TSA includes it only when asked), or a signingTime outside that
	// certificate's validity.
	ErrTimeStampSigner = errors.New("ses: timestamp token carries no TSA certificate")
)

// OIDTSTInfo is id-ct-TSTInfo (RFC 3161 §2.4.2), the content type of a
// TimeStampToken's encapsulated content.
var OIDTSTInfo = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}

// Digest OIDs a messageImprint may name.
var (
	oidSM3    = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// TimeStampToken is a decoded RFC 3161 TimeStampToken: a CMS SignedData
// (RFC 5652, or GB/T 35275 with SM2/SM3) whose content is a TSTInfo. In an
// SES_Signature it stamps the signature value (GB/T 38540 §7.1: timeStamp
// is "对签名值的时间戳").
type TimeStampToken struct {
	// GenTime is the time the TSA vouches for, in UTC.
	GenTime time.Time
	// Policy is the TSA policy under which the token was issued.
	Policy asn1.ObjectIdentifier
	// SerialNumber is the token's serial number.
	SerialNumber *big.Int
	// HashAlgorithm and HashedMessage are the messageImprint.
	HashAlgorithm asn1.ObjectIdentifier
	HashedMessage []byte
	// Signer is the TSA's certificate if the token carries it, else nil;
	// Certificates are all it carries, for chain building.
	Signer       *smx509.Certificate
	Certificates []*smx509.Certificate
	// Raw is the token as given.
	Raw []byte

	p7 *pkcs7.PKCS7
}

// tstInfo is RFC 3161 §2.4.2 TSTInfo; what follows genTime is not used.
type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint struct {
		HashAlgorithm struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.RawValue `asn1:"optional"`
		}
		HashedMessage []byte
	}
	SerialNumber *big.Int
	GenTime      time.Time       `asn1:"generalized"`
	Rest         []asn1.RawValue `asn1:"optional"` // accuracy, ordering, nonce, tsa, extensions
}

// ParseTimeStampToken decodes an RFC 3161 TimeStampToken. Errors wrap
// [ErrTimeStamp]; nothing is verified yet (see [TimeStampToken.Verify]).
func ParseTimeStampToken(der []byte) (tok *TimeStampToken, err error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrTimeStamp}, args...)...)
	}
	if len(der) == 0 {
		return nil, bad("empty")
	}
	if len(der) > MaxSize {
		return nil, bad("%d bytes exceed %d", len(der), MaxSize)
	}
	// pkcs7 decodes with encoding/asn1 and, for BER, its own converter;
	// neither should panic, but a token is hostile input.
	defer func() {
		if r := recover(); r != nil {
			tok, err = nil, bad("undecodable (%v)", r)
		}
	}()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, bad("%d bytes, not a CMS SignedData: %v", len(der), err)
	}
	if len(p7.Signers) != 1 {
		return nil, bad("%d signers, want one", len(p7.Signers))
	}
	var info tstInfo
	rest, err := asn1.Unmarshal(p7.Content, &info)
	switch {
	case len(p7.Content) == 0:
		return nil, bad("no encapsulated TSTInfo")
	case err != nil:
		return nil, bad("TSTInfo: %v", err)
	case len(rest) > 0:
		return nil, bad("TSTInfo: %d trailing bytes", len(rest))
	case info.Version != 1:
		return nil, bad("TSTInfo version %d, want 1", info.Version)
	}
	// RFC 3161 §2.4.2 and RFC 5652 §11.1: the signed contentType attribute
	// names id-ct-TSTInfo; without signed attributes there is none.
	var ct asn1.ObjectIdentifier
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeContentType, &ct); err == nil && !ct.Equal(OIDTSTInfo) {
		return nil, bad("content type %v, want id-ct-TSTInfo", ct)
	}
	return &TimeStampToken{
		GenTime:       info.GenTime.UTC(),
		Policy:        info.Policy,
		SerialNumber:  info.SerialNumber,
		HashAlgorithm: info.MessageImprint.HashAlgorithm.Algorithm,
		HashedMessage: info.MessageImprint.HashedMessage,
		Signer:        p7.GetOnlySigner(),
		Certificates:  p7.Certificates,
		Raw:           der,
		p7:            p7,
	}, nil
}

// TimeStampMismatchError details an [ErrTimeStampMismatch].
type TimeStampMismatchError struct {
	Algorithm        string // the messageImprint's digest, e.g. "SM3"
	Stamped, Hashed  []byte // the messageImprint, and the hash of the data now
	StampedAlgorithm asn1.ObjectIdentifier
}

func (e *TimeStampMismatchError) Error() string {
	return fmt.Sprintf("%v: messageImprint %s %x, the stamped data hashes to %x", ErrTimeStampMismatch, e.Algorithm, e.Stamped, e.Hashed)
}

// Unwrap makes errors.Is(err, ErrTimeStampMismatch) hold.
func (e *TimeStampMismatchError) Unwrap() error { return ErrTimeStampMismatch }

// Verify checks that the token stamps data — its messageImprint is the
// hash of data (RFC 3161 §2.4.2) — and that its signature verifies with the
// TSA certificate it carries (RFC 5652 §5.6). Trust in that certificate is
// the caller's to establish, at GenTime. Errors wrap
// [ErrTimeStampMismatch], [ErrUnsupportedAlgorithm] (an imprint digest
// other than SM3 or SHA-2, or a signature algorithm gmsm cannot check),
// [ErrTimeStampSigner] or [ErrSignature].
func (t *TimeStampToken) Verify(data []byte) error {
	var name string
	var sum []byte
	switch a := t.HashAlgorithm; {
	case a.Equal(oidSM3):
		s := sm3.Sum(data)
		name, sum = "SM3", s[:]
	case a.Equal(oidSHA256):
		s := sha256.Sum256(data)
		name, sum = "SHA-256", s[:]
	case a.Equal(oidSHA384):
		s := sha512.Sum384(data)
		name, sum = "SHA-384", s[:]
	case a.Equal(oidSHA512):
		s := sha512.Sum512(data)
		name, sum = "SHA-512", s[:]
	default:
		return fmt.Errorf("%w: timestamp messageImprint digest %v", ErrUnsupportedAlgorithm, a)
	}
	if !bytes.Equal(sum, t.HashedMessage) {
		return &TimeStampMismatchError{Algorithm: name, Stamped: t.HashedMessage, Hashed: sum, StampedAlgorithm: t.HashAlgorithm}
	}
	if t.Signer == nil {
		return ErrTimeStampSigner
	}
	err := t.p7.Verify()
	var st *pkcs7.InvalidSigningTimeError
	var mm *pkcs7.MessageDigestMismatchError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &st):
		// A signingTime attribute outside the TSA certificate's validity:
		// pkcs7 stops before the signature, which stays unchecked.
		return fmt.Errorf("%w: %v", ErrTimeStampSigner, err)
	case errors.As(err, &mm):
		return fmt.Errorf("%w: timestamp token: messageDigest does not match its TSTInfo", ErrSignature)
	case bytes.Contains([]byte(err.Error()), []byte("unsupported")):
		return fmt.Errorf("%w: timestamp token: %v", ErrUnsupportedAlgorithm, err)
	}
	return fmt.Errorf("%w: timestamp token: %v", ErrSignature, err)
}
