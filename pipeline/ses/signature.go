package ses

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// ParseSignature decodes a SES_Signature in the GB/T 38540-2020 layout
// (versions 4 and 5) or the GM/T 0031-2014 one (versions 1 to 3), including
// its embedded seal. The input is copied; the returned Signature does not
// alias it. Errors wrap [ErrMalformed] and are [*ParseError] values.
//
// GB/T 38540 §7.1:
//
//	SES_Signature ::= SEQUENCE { toSign TBS_Sign, cert OCTET STRING,
//	    signatureAlgID OBJECT IDENTIFIER, signature BIT STRING,
//	    timeStamp [0] BIT STRING OPTIONAL }
//	TBS_Sign ::= SEQUENCE { version INTEGER, eseal SESeal,
//	    timeInfo GeneralizedTime, dataHash BIT STRING,
//	    propertyInfo IA5String, extDatas [0] EXPLICIT ExtensionDatas OPTIONAL }
//
// GM/T 0031-2014 §6.2:
//
//	SES_Signature ::= SEQUENCE { toSign TBS_Sign, signature BIT STRING }
//	TBS_Sign ::= SEQUENCE { version INTEGER, eseal SESeal,
//	    timeInfo BIT STRING, dataHash BIT STRING, propertyInfo IA5String,
//	    cert OCTET STRING, signatureAlgorithm OBJECT IDENTIFIER }
//
// The layout is recognised by the element after TBS_Sign.
func ParseSignature(der []byte) (*Signature, error) {
	if err := checkSize("SES_Signature", der); err != nil {
		return nil, err
	}
	r := newReader("SES_Signature", bytes.Clone(der))
	outer, err := r.expect("", tagSequence)
	if err != nil {
		return nil, err
	}
	if !r.empty() {
		return nil, r.errorf("", "%d byte(s) of trailing data", len(r.b))
	}
	sr := r.enter(outer, "")
	tbs, err := sr.expect("toSign", tagSequence)
	if err != nil {
		return nil, err
	}
	s := &Signature{Raw: outer.raw, signed: tbs.raw}
	tr := sr.enter(tbs, "toSign")
	if s.Version, err = tr.smallInt("version"); err != nil {
		return nil, err
	}
	if s.Seal, err = parseSeal(tr, "eseal"); err != nil {
		return nil, err
	}
	if err := s.parseTimeInfo(tr); err != nil {
		return nil, err
	}
	if s.DataHash, err = tr.bits("dataHash"); err != nil {
		return nil, err
	}
	if s.PropertyInfo, err = tr.str("propertyInfo"); err != nil {
		return nil, err
	}
	switch t, _ := sr.peek(); t {
	case tagBitString: // GM/T 0031-2014: cert and algorithm inside TBS_Sign
		if s.Cert, err = tr.octets("cert"); err != nil {
			return nil, err
		}
		if s.SignatureAlgorithm, err = tr.oid("signatureAlgorithm"); err != nil {
			return nil, err
		}
		if s.SignatureValue, err = sr.bits("signature"); err != nil {
			return nil, err
		}
	case tagOctetString: // GB/T 38540
		if x, ok, err := tr.optional("extDatas", tagContext0); err != nil {
			return nil, err
		} else if ok {
			xr := tr.enter(x, "extDatas")
			list, err := xr.expect("", tagSequence)
			if err != nil {
				return nil, err
			}
			if s.Extensions, err = xr.enter(list, "").extensionList(); err != nil {
				return nil, err
			}
		}
		if s.Cert, err = sr.octets("cert"); err != nil {
			return nil, err
		}
		if s.SignatureAlgorithm, err = sr.oid("signatureAlgID"); err != nil {
			return nil, err
		}
		if s.SignatureValue, err = sr.bits("signature"); err != nil {
			return nil, err
		}
		if s.TimeStamp, err = sr.timeStamp("timeStamp"); err != nil {
			return nil, err
		}
	default:
		if sr.empty() {
			return nil, sr.errorf("cert", "missing")
		}
		return nil, sr.errorf("cert", "found %s, want cert (OCTET STRING) or signature (BIT STRING)", tagName(t))
	}
	if err := tr.skipRest(); err != nil {
		return nil, err
	}
	return s, sr.skipRest()
}

// freeTimeLayouts are the textual forms seen in GM/T 0031-2014 timeInfo,
// beyond the ASN.1 time forms parseTime reads.
var freeTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006/01/02 15:04:05"}

// parseTimeInfo reads timeInfo: a GeneralizedTime in GB/T 38540, a BIT STRING
// of free-form text in GM/T 0031-2014 (any string type is accepted too).
// Only an ASN.1 time that does not parse is an error; unreadable free-form
// text leaves TimeInfo zero.
func (s *Signature) parseTimeInfo(r *reader) error {
	if t, _ := r.peek(); t == tagGeneralizedTime || t == tagUTCTime {
		e, err := r.next("timeInfo")
		if err != nil {
			return err
		}
		s.TimeInfoRaw = e.body
		s.TimeInfo, err = r.timeOf("timeInfo", e)
		return err
	}
	e, err := r.expect("timeInfo", append([]byte{tagBitString}, stringTags...)...)
	if err != nil {
		return err
	}
	s.TimeInfoRaw = e.body
	if e.tag == tagBitString {
		if s.TimeInfoRaw, err = r.bitsOf("timeInfo", e); err != nil {
			return err
		}
	}
	text := strings.Trim(string(s.TimeInfoRaw), "\x00 \t\r\n")
	if t, ok := parseTime(text); ok {
		s.TimeInfo = t
		return nil
	}
	for _, layout := range freeTimeLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			s.TimeInfo = t.UTC()
			return nil
		}
	}
	return nil
}

// SignedData returns the exact bytes the signer signed: TBS_Sign as found.
// The caller must not modify it.
func (s *Signature) SignedData() []byte { return s.signed }

// Verify checks the signature over TBS_Sign's original bytes (GB/T 38540
// §7.3 b) and returns the signer's certificate, parsed with
// [ParseCertificate]. It checks neither the embedded seal (see
// [Seal.VerifyMaker]) nor the signer's membership in it (see
// [Seal.HasSigner]), nor any certificate chain, time or document hash.
//
// Errors wrap [ErrSignature], [ErrUnsupportedAlgorithm] or [ErrMalformed] as
// for [Seal.VerifyMaker].
func (s *Signature) Verify() (*smx509.Certificate, error) {
	if s.signed == nil {
		return nil, fmt.Errorf("%w: signature was not decoded by ParseSignature", ErrMalformed)
	}
	return verify("signer", s.Cert, s.SignatureAlgorithm, s.signed, s.SignatureValue)
}

// SignRequest describes a seal signature for [Sign].
type SignRequest struct {
	// Seal is the raw SESeal DER to embed, verbatim. It must be a
	// GB/T 38540 version 4 seal listing the signer's certificate.
	Seal []byte
	// DataHash is the hash of the signed data; in OFD, SM3 of Signature.xml.
	DataHash []byte
	// PropertyInfo names the signed data; in OFD, the Signature.xml path.
	// It must be ASCII (IA5String).
	PropertyInfo string
	// Time is the signing time, encoded in UTC with whole seconds.
	Time time.Time
	// Extensions become TBS_Sign's extDatas.
	Extensions []Extension
}

// Sign builds a GB/T 38540-2020 SES_Signature (version 4) and signs its
// TBS_Sign with signer, whose certificate signerCert is embedded (§7.1,
// §7.2). Algorithms are as for [MakeSeal].
//
// Errors wrap [ErrInvalidRequest] for an unusable request, [ErrMalformed]
// for a seal or certificate that does not parse or a certificate that does
// not hold signer's key, [ErrNotSealSigner] when the seal does not list
// signerCert, and [ErrUnsupportedAlgorithm] for other key types.
func Sign(rand io.Reader, req SignRequest, signer crypto.Signer, signerCert []byte) ([]byte, error) {
	seal, err := parseSealBytes(req.Seal) // not retained: no copy needed
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: signature: "+format, append([]any{ErrInvalidRequest}, args...)...)
	}
	switch {
	case seal.Version != 4 || seal.legacy:
		return nil, bad("seal %q is version %d, want a GB/T 38540 version 4 seal", seal.ID, seal.Version)
	case len(req.DataHash) == 0:
		return nil, bad("no DataHash")
	case req.PropertyInfo == "" || !isIA5(req.PropertyInfo):
		return nil, bad("PropertyInfo %q must be non-empty ASCII", req.PropertyInfo)
	case req.Time.IsZero() || req.Time.UTC().Year() > 9999:
		return nil, bad("Time %s out of range", req.Time.Format(time.RFC3339))
	}
	if !seal.HasSigner(signerCert) {
		return nil, fmt.Errorf("%w: seal %q", ErrNotSealSigner, seal.ID)
	}
	if err := matchCertFast("signer", signerCert, signer); err != nil {
		return nil, err
	}
	parts := [][]byte{derInt(4), seal.Raw, derGeneralizedTime(req.Time), derBits(req.DataHash), derString(tagIA5String, req.PropertyInfo)}
	if len(req.Extensions) > 0 {
		ext, err := encodeExtensions(req.Extensions)
		if err != nil {
			return nil, bad("%v", err)
		}
		parts = append(parts, tlv(tagContext0, ext))
	}
	// Encode TBS_Sign in place inside the output buffer, leaving room for
	// the outer header, so the seal is copied once (it dominates the size).
	size := maxHeader
	for _, p := range parts {
		size += len(p)
	}
	out := make(builder, maxHeader, maxHeader+size+len(signerCert)+2*maxHeader+160)
	out.add(tagSequence, parts...)
	tbs := out[maxHeader:]
	sig, alg, err := signMessage(rand, signer, tbs)
	if err != nil {
		return nil, fmt.Errorf("ses: signing: %w", err)
	}
	algDER, err := derOID(alg)
	if err != nil {
		return nil, err
	}
	// GB/T 38540 §7.1: SES_Signature ::= SEQUENCE { toSign, cert, signatureAlgID, signature }
	out.add(tagOctetString, signerCert)
	out = append(out, algDER...)
	out.add(tagBitString, []byte{0}, sig)
	hdr := appendHeader(nil, tagSequence, len(out)-maxHeader)
	start := maxHeader - len(hdr)
	copy(out[start:], hdr)
	return out[start:len(out):len(out)], nil
}
