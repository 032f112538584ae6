package tsa

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"net/http"
	"slices"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/cms"
)

// Authority issues timestamp tokens with one key: the development TSA of
// `sealpipe tsa`. Tokens are DER CMS SignedData (RFC 5652) with the
// PKCS#7 content-type OIDs, encapsulating a TSTInfo, signed with signed
// attributes — contentType id-ct-TSTInfo, signingTime (the genTime),
// messageDigest and ESS signing-certificate-v2 (RFC 5035) naming the TSA
// certificate, which `openssl ts -verify` requires — by:
//   - an SM2 key: SM3 digest, SM2 signature (1.2.156.10197.1.301.1, as GB/T
//     35275 SignerInfos name it) with the default signer ID;
//   - an ECDSA key: SHA-256, ecdsa-with-SHA256;
//   - an RSA key: SHA-256, rsaEncryption (PKCS #1 v1.5).
//
// The messageImprint may be SHA-256, SHA-384, SHA-512 or SM3, whatever the
// key.
type Authority struct {
	// Key signs the tokens; it may live in an HSM.
	Key crypto.Signer
	// Chain is the TSA's certificate, with the critical extended key usage
	// id-kp-timeStamping alone (RFC 3161 §2.3), then any intermediates: put
	// in tokens when a request asks (certReq).
	Chain []*smx509.Certificate
	// Policy is the TSA policy of the tokens; nil means DevPolicy. A request
	// asking for another is refused (unacceptedPolicy).
	Policy asn1.ObjectIdentifier
	// Accuracy is the stated accuracy of genTime; zero means one second.
	Accuracy time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Log receives one line per request; nil means slog.Default().
	Log *slog.Logger

	digestOID asn1.ObjectIdentifier
	digest    Hash
	sigAlg    []byte // DER AlgorithmIdentifier of the signature
	sm2       bool
}

// NewAuthority checks that key and chain belong together and that the
// certificate is a TSA's (RFC 3161 §2.3: a critical extended key usage of
// id-kp-timeStamping alone), and returns an Authority with the DevPolicy.
func NewAuthority(key crypto.Signer, chain []*smx509.Certificate) (*Authority, error) {
	a := &Authority{Key: key, Chain: chain}
	if err := a.init(); err != nil {
		return nil, err
	}
	return a, nil
}

// init checks the key and certificate and picks the algorithms.
func (a *Authority) init() error {
	if a.Key == nil || len(a.Chain) == 0 || a.Chain[0] == nil {
		return errors.New("tsa: an authority needs a key and its certificate")
	}
	cert := a.Chain[0]
	if k, ok := a.Key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(cert.PublicKey) {
		return fmt.Errorf("tsa: certificate %q is not the key's", cert.Subject)
	}
	if !TimeStampingOnly(cert) {
		return fmt.Errorf("tsa: certificate %q is no TSA's: RFC 3161 §2.3 asks for a critical extended key usage of id-kp-timeStamping alone", cert.Subject)
	}
	switch pub := a.Key.Public().(type) {
	case *ecdsa.PublicKey:
		if sm2.IsSM2PublicKey(pub) {
			a.sm2, a.digest = true, SM3
			if k, ok := a.Key.(*ecdsa.PrivateKey); ok {
				a.Key = &sm2.PrivateKey{PrivateKey: *k}
			}
			a.sigAlg = cms.AlgorithmID(cms.OIDSM2Sign, true)
		} else {
			a.digest = SHA256
			a.sigAlg = cms.AlgorithmID(cms.OIDECDSAWithSHA256, false)
		}
	case *rsa.PublicKey:
		a.digest = SHA256
		a.sigAlg = cms.AlgorithmID(cms.OIDRSAEncryption, true)
	default:
		return fmt.Errorf("tsa: %T keys cannot sign tokens here (SM2, ECDSA or RSA)", pub)
	}
	a.digestOID = a.digest.OID()
	return nil
}

// EKUExtension is the extension a TSA's certificate carries (RFC 3161
// §2.3): a critical extended key usage of id-kp-timeStamping alone. Put it
// in a template's ExtraExtensions, leaving ExtKeyUsage empty (crypto/x509
// would write that one non-critical).
func EKUExtension() pkix.Extension {
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: derSeq(cms.Marshal(OIDTimeStampingEKU))}
}

// TimeStampingOnly reports whether c has the extended key usage a TSA's
// certificate must have (RFC 3161 §2.3): id-kp-timeStamping alone, in a
// critical extension.
func TimeStampingOnly(c *smx509.Certificate) bool {
	if len(c.UnknownExtKeyUsage) != 0 || !slices.Equal(c.ExtKeyUsage, []smx509.ExtKeyUsage{smx509.ExtKeyUsageTimeStamping}) {
		return false
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			return e.Critical
		}
	}
	return false
}

// Stamp returns a token over req's imprint, issued now. A request the
// authority refuses gives a [*RequestError].
func (a *Authority) Stamp(req *Request) ([]byte, error) {
	if a.digestOID == nil {
		if err := a.init(); err != nil {
			return nil, err
		}
	}
	policy := a.Policy
	if policy == nil {
		policy = DevPolicy
	}
	if req.Policy != nil && !req.Policy.Equal(policy) {
		return nil, &RequestError{FailUnacceptedPolicy, fmt.Errorf("%w: policy %v asked, this TSA issues %v", ErrUnsupported, req.Policy, policy)}
	}
	if !req.Hash.known() || len(req.HashedMessage) != req.Hash.Size() {
		return nil, &RequestError{FailBadDataFormat, fmt.Errorf("%w: imprint of %d bytes for %v", ErrMalformed, len(req.HashedMessage), req.Hash)}
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	genTime := now().UTC().Truncate(time.Second)
	acc := a.Accuracy
	if acc <= 0 {
		acc = time.Second
	}
	serial, err := randomSerial(127)
	if err != nil {
		return nil, &RequestError{FailSystemFailure, err}
	}
	info, err := asn1.Marshal(tstInfo{
		Version: 1, Policy: policy, MessageImprint: imprint(req.Hash, req.HashedMessage),
		SerialNumber: serial, GenTime: genTime, Nonce: req.Nonce,
		Accuracy: accuracy{
			Seconds: int(acc / time.Second),
			Millis:  int(acc % time.Second / time.Millisecond),
			Micros:  int(acc % time.Millisecond / time.Microsecond),
		},
	})
	if err != nil {
		return nil, &RequestError{FailSystemFailure, err}
	}
	token, err := a.sign(info, genTime, req.CertReq)
	if err != nil {
		return nil, &RequestError{FailSystemFailure, err}
	}
	return token, nil
}

// sign wraps a DER TSTInfo in a SignedData.
func (a *Authority) sign(info []byte, at time.Time, withCerts bool) ([]byte, error) {
	cert := a.Chain[0]
	st, err := asn1.Marshal(at)
	if err != nil {
		return nil, err
	}
	signed := cms.Attributes(
		cms.Attribute(cms.OIDAttrContentType, cms.Marshal(OIDTSTInfo)),
		cms.Attribute(cms.OIDAttrSigningTime, st),
		cms.Attribute(cms.OIDAttrMessageDigest, cms.TLV(0x04, a.digest.Sum(info))),
		cms.Attribute(cms.OIDAttrSigningCertificateV2, cms.SigningCertificateV2(cert)),
	)

	var sig []byte
	if a.sm2 {
		sig, err = a.Key.Sign(rand.Reader, signed, sm2.DefaultSM2SignerOpts)
	} else {
		sig, err = a.Key.Sign(rand.Reader, a.digest.Sum(signed), a.digest.CryptoHash())
	}
	if err != nil {
		return nil, fmt.Errorf("tsa: signing a token: %w", err)
	}
	digestAlg := cms.AlgorithmID(a.digestOID, true)
	implicit := slices.Clone(signed)
	implicit[0] = 0xa0 // signedAttrs [0] IMPLICIT
	signerInfo := derSeq(
		cms.Marshal(1),
		derSeq(cert.RawIssuer, cms.Marshal(cert.SerialNumber)),
		digestAlg,
		implicit,
		a.sigAlg,
		cms.TLV(0x04, sig),
	)
	parts := [][]byte{
		cms.Marshal(3), // RFC 5652 §5.1: eContentType other than id-data
		cms.TLV(0x31, digestAlg),
		derSeq(cms.Marshal(OIDTSTInfo), cms.TLV(0xa0, cms.TLV(0x04, info))),
	}
	if withCerts {
		var certs [][]byte
		for _, c := range a.Chain {
			certs = append(certs, c.Raw)
		}
		parts = append(parts, cms.TLV(0xa0, certs...))
	}
	parts = append(parts, cms.TLV(0x31, signerInfo))
	return derSeq(cms.Marshal(cms.OIDSignedData), cms.TLV(0xa0, derSeq(parts...))), nil
}

// Respond returns the DER TimeStampResp to a DER TimeStampReq: a token, or
// a rejection saying why.
func (a *Authority) Respond(query []byte) []byte {
	resp := &Response{Status: StatusGranted, Fail: FailNone}
	req, err := ParseRequest(query)
	if err == nil {
		resp.Token, err = a.Stamp(req)
	}
	if err != nil {
		resp.Status, resp.StatusString, resp.Token = StatusRejection, []string{err.Error()}, nil
		var re *RequestError
		if errors.As(err, &re) {
			resp.Fail = re.Fail
		} else {
			resp.Fail = FailSystemFailure
		}
	}
	der, err := resp.Marshal()
	if err != nil { // cannot happen: our own values
		panic("tsa: encoding a response: " + err.Error())
	}
	return der
}

// ServeHTTP answers RFC 3161 §3.4 requests: a POST of
// application/timestamp-query, answered with application/timestamp-reply
// (a rejection too, with status 200, as the protocol carries it).
func (a *Authority) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := a.Log
	if log == nil {
		log = slog.Default()
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST an application/timestamp-query", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != QueryType {
		http.Error(w, "the body must be an application/timestamp-query", http.StatusUnsupportedMediaType)
		return
	}
	query, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxQuerySize))
	if err != nil {
		http.Error(w, "request too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	reply := a.Respond(query)
	if resp, err := ParseResponse(reply); err == nil {
		log.Info("timestamp", "tsa", a.Chain[0].Subject.CommonName, "status", resp.Status, "fail", resp.Fail, "remote", r.RemoteAddr)
	}
	w.Header().Set("Content-Type", ReplyType)
	w.Write(reply)
}

// maxQuerySize bounds a request's body: an imprint, a policy, a nonce.
const maxQuerySize = 16 << 10

// Mux serves several authorities by path: /sm2 and /ecdsa (or /rsa) each
// name one; / picks by the request's imprint: SM3 to the SM2 authority,
// any other hash to the ECDSA (else RSA) one, falling back on whichever
// there is.
type Mux struct {
	SM2, ECDSA, RSA *Authority
}

// ServeHTTP routes a request.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var a *Authority
	switch r.URL.Path {
	case "/sm2":
		a = m.SM2
	case "/ecdsa":
		a = m.ECDSA
	case "/rsa":
		a = m.RSA
	case "/":
		if r.Method == http.MethodPost {
			// Peek at the imprint's hash to choose: SM3 for SM2.
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxQuerySize))
			if err != nil {
				http.Error(w, "request too large or unreadable", http.StatusRequestEntityTooLarge)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if req, err := ParseRequest(body); err == nil && req.Hash == SM3 {
				a = m.SM2
			}
		}
		a = cmpOr(a, m.ECDSA, m.RSA, m.SM2)
	}
	if a == nil {
		http.NotFound(w, r)
		return
	}
	a.ServeHTTP(w, r)
}

func cmpOr(as ...*Authority) *Authority {
	for _, a := range as {
		if a != nil {
			return a
		}
	}
	return nil
}

// randomSerial returns a positive random integer of at most bits bits.
func randomSerial(bits uint) (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), bits))
	if err != nil {
		return nil, fmt.Errorf("tsa: random number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func derSeq(contents ...[]byte) []byte { return cms.TLV(0x30, contents...) }
