package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"reflect"

	"github.com/emmansun/gmsm/sm2"
	p11 "github.com/miekg/pkcs11"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// request is a signature request, checked and prepared once for all
// members.
type request struct {
	digest []byte
	opts   crypto.SignerOpts
	e      []byte // SM2: e = SM3(Z_A ‖ M)
	msg    []byte // SM2: M, when the caller gave it
}

// gmDigestOpts are gmsm's options for signing a precomputed e.
var gmDigestOpts = sm2.NewSM2SignerOption(false, nil)

// prepare checks the request and, for SM2 keys, computes e.
func (s *Signer) prepare(digest []byte, opts crypto.SignerOpts) (*request, error) {
	r := &request{digest: digest, opts: opts}
	if s.alg != algSM2 {
		return r, nil
	}
	pub := s.pub.(*ecdsa.PublicKey)
	switch o := opts.(type) {
	case *sm2.SM2SignerOption:
		// SM2SignerOption hides its fields; compare with the two values
		// whose meaning is known.
		switch {
		case reflect.DeepEqual(o, sm2.DefaultSM2SignerOpts):
			e, err := sm2.CalculateSM2Hash(pub, digest, nil) // GB/T 32918.2 §6.1 A1–A2, default ID
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrSignerOpts, err)
			}
			r.msg, r.e = digest, e
		case reflect.DeepEqual(o, gmDigestOpts):
			r.e = digest
		default:
			return nil, fmt.Errorf("%w: SM2 signer options with a signer ID other than the default 1234567812345678", ErrSignerOpts)
		}
	case nil:
		r.e = digest
	default:
		if h := opts.HashFunc(); h != 0 {
			return nil, fmt.Errorf("%w: SM2 key given %v options: pass sm2.DefaultSM2SignerOpts with the message, or crypto.Hash(0) with e = SM3(Z_A || M)", ErrSignerOpts, h)
		}
		r.e = digest
	}
	if len(r.e) != 32 {
		return nil, fmt.Errorf("%w: SM2 digest e is %d bytes, want 32 (pass sm2.DefaultSM2SignerOpts to sign a message)", ErrSignerOpts, len(r.e))
	}
	if s.b.cfg.SM2.Input == SM2Message && r.msg == nil {
		return nil, fmt.Errorf("%w: the token's SM2 mechanism signs messages, not digests: pass sm2.DefaultSM2SignerOpts with the message", ErrSignerOpts)
	}
	return r, nil
}

// signSM2 signs req with the configured vendor mechanism and returns the
// DER signature, checked to verify under the key unless SkipVerify.
func (b *Backend) signSM2(c *conn, k *keyRef, req *request) ([]byte, error) {
	cfg := b.cfg.SM2
	name := c.s.name
	if cfg.Mechanism == 0 {
		return nil, fmt.Errorf("%w: token %q holds an SM2 key but Config.SM2.Mechanism is not set", ErrMechanism, name)
	}
	in := req.e
	if cfg.Input == SM2Message {
		in = req.msg
	}
	h, err := c.session()
	if err != nil {
		return nil, err
	}
	var out []byte
	err = c.SignInit(h, []*p11.Mechanism{p11.NewMechanism(cfg.Mechanism, cfg.Parameter)}, k.handle)
	if err != nil {
		err = opError("C_SignInit", name, err)
	} else if out, err = c.Sign(h, in); err != nil {
		err = opError("C_Sign", name, err)
	}
	c.putSession(h, err)
	if err != nil {
		return nil, err
	}
	sig, err := parseSM2Signature(out, cfg.Output)
	if err != nil {
		return nil, fmt.Errorf("token %q, mechanism %#x: %w", name, cfg.Mechanism, err)
	}
	if !cfg.SkipVerify && !sm2.VerifyASN1(k.pub.(*ecdsa.PublicKey), req.e, sig) {
		return nil, fmt.Errorf("%w: SM2 signature from token %q (mechanism %#x) does not verify: check that Config.SM2.Input (%v) and Output (%v) match the mechanism",
			ErrBadSignature, name, cfg.Mechanism, cfg.Input, cfg.Output)
	}
	return sig, nil
}

// sm2N is the order of the SM2 curve's base point (GB/T 32918.5).
var sm2N = sm2.P256().Params().N

// parseSM2Signature reads a signature in the form the token returns and
// re-encodes it as the DER SEQUENCE { r INTEGER, s INTEGER }, with
// 1 ≤ r, s < n (GB/T 32918.2 §7.1 B1–B2).
func parseSM2Signature(b []byte, form SM2Output) ([]byte, error) {
	var r, s *big.Int
	switch form {
	case SM2Raw:
		if len(b) != 64 {
			return nil, fmt.Errorf("%w: SM2 signature is %d bytes, want r||s of 64", ErrBadSignature, len(b))
		}
		r, s = new(big.Int).SetBytes(b[:32]), new(big.Int).SetBytes(b[32:])
	case SM2DER:
		r, s = new(big.Int), new(big.Int)
		in := cryptobyte.String(b)
		var seq cryptobyte.String
		if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
			!seq.ReadASN1Integer(r) || !seq.ReadASN1Integer(s) || !seq.Empty() {
			return nil, fmt.Errorf("%w: SM2 signature is not a DER SEQUENCE of two INTEGERs: % x", ErrBadSignature, truncate(string(b)))
		}
	default:
		return nil, fmt.Errorf("%w: unknown SM2Output %d", ErrBadSignature, form)
	}
	for _, v := range []*big.Int{r, s} {
		if v.Sign() <= 0 || v.Cmp(sm2N) >= 0 {
			return nil, fmt.Errorf("%w: SM2 signature value out of range [1, n-1]", ErrBadSignature)
		}
	}
	var out cryptobyte.Builder
	out.AddASN1(asn1.SEQUENCE, func(seq *cryptobyte.Builder) {
		seq.AddASN1BigInt(r)
		seq.AddASN1BigInt(s)
	})
	return out.Bytes()
}

// parseSM2Point reads CKA_EC_POINT of an SM2 key: the DER OCTET STRING
// holding the uncompressed point 04 ‖ X ‖ Y (PKCS #11 v2.40 §2.3.3), or
// the bare point, which some tokens return.
func parseSM2Point(b []byte) (*ecdsa.PublicKey, error) {
	point := b
	in := cryptobyte.String(b)
	var inner cryptobyte.String
	if len(b) != 65 {
		if !in.ReadASN1(&inner, asn1.OCTET_STRING) || !in.Empty() {
			return nil, fmt.Errorf("%w: CKA_EC_POINT is neither a DER OCTET STRING nor a 65-byte point (%d bytes)", keys.ErrMalformedKey, len(b))
		}
		point = inner
	}
	if len(point) != 65 || point[0] != 4 {
		return nil, fmt.Errorf("%w: CKA_EC_POINT is not an uncompressed SM2 point (%d bytes)", keys.ErrMalformedKey, len(point))
	}
	pub, err := sm2.NewPublicKey(point)
	if err != nil {
		return nil, fmt.Errorf("%w: CKA_EC_POINT: %v", keys.ErrMalformedKey, err)
	}
	return pub, nil
}
