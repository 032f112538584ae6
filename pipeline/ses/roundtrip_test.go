package ses

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
)

func TestMakeSealRoundTrip(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sm2", "p256"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			maker := testIdentity(t, kind, "maker")
			signer := testIdentity(t, "sm2", "signer")
			other := testIdentity(t, "sm2", "other")
			req := sealRequest(signer)
			esl, err := MakeSeal(rand.Reader, req, maker.key, maker.cert)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseSeal(esl)
			if err != nil {
				t.Fatal(err)
			}
			want := &Seal{
				Version: 4, VendorID: req.VendorID, ID: req.ID, Type: req.Type, Name: req.Name,
				CertListType: CertListCerts, Certs: req.SignerCerts,
				CreateDate: req.CreateDate, ValidStart: req.ValidStart, ValidEnd: req.ValidEnd,
				Picture: req.Picture, Extensions: req.Extensions, MakerCert: maker.cert,
				SignatureAlgorithm: map[string][]int{"sm2": OIDSM2WithSM3, "p256": OIDECDSAWithSHA256}[kind],
			}
			got := *s
			got.SignatureValue, got.Raw, got.signed = nil, nil, nil
			if !reflect.DeepEqual(&got, want) {
				t.Errorf("parsed seal\n got %+v\nwant %+v", got, *want)
			}
			cert, err := s.VerifyMaker()
			if err != nil {
				t.Fatalf("VerifyMaker: %v", err)
			}
			if !bytes.Equal(cert.Raw, maker.cert) {
				t.Errorf("VerifyMaker returned another certificate")
			}
			if !s.HasSigner(signer.cert) || s.HasSigner(other.cert) || s.HasSigner(maker.cert) {
				t.Errorf("HasSigner: signer %v other %v maker %v, want true false false",
					s.HasSigner(signer.cert), s.HasSigner(other.cert), s.HasSigner(maker.cert))
			}
			// GB/T 38540 §5.1: the maker signs exactly DER(SES_SealInfo), and
			// the signature value is DER (r, s).
			if !bytes.HasPrefix(esl[4:], s.SignedData()) && !bytes.HasPrefix(esl[2:], s.SignedData()) {
				t.Errorf("SES_SealInfo is not the first component of the seal")
			}
			if len(signatureForms(s.SignatureValue, 32)) == 0 || s.SignatureValue[0] != tagSequence {
				t.Errorf("signature value % x is not DER", s.SignatureValue)
			}
			signed := s.SignedData()
			tamperAll(t, esl, func(b []byte) error {
				s, err := ParseSeal(b)
				if err != nil {
					return err
				}
				if bytes.Equal(s.SignedData(), signed) {
					return errUntouched
				}
				_, err = s.VerifyMaker()
				return err
			})
		})
	}
}

var errUntouched = errors.New("signed bytes untouched")

// tamperAll flips each byte of b in turn and requires check to fail with
// ErrMalformed or ErrSignature whenever the signed bytes changed.
func tamperAll(t *testing.T, b []byte, check func([]byte) error) {
	t.Helper()
	reached := 0
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x80
		err := check(c)
		switch {
		case errors.Is(err, errUntouched):
		case errors.Is(err, ErrSignature), errors.Is(err, ErrMalformed):
			if errors.Is(err, ErrSignature) {
				reached++
			}
		default:
			t.Fatalf("byte %d of %d flipped: got %v, want ErrSignature or ErrMalformed", i, len(b), err)
		}
	}
	if reached == 0 {
		t.Fatalf("no tampered copy reached signature verification")
	}
}

func TestSignRoundTrip(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sm2", "p256"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			signer := testIdentity(t, kind, "signer")
			esl := makeTestSeal(t, signer)
			req := signRequest(esl)
			req.Extensions = []Extension{{ID: []int{1, 2, 3, 4}, Value: []byte{1, 2, 3}}}
			der, err := Sign(rand.Reader, req, signer.key, signer.cert)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := ParseSignature(der)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case sig.Version != 4:
				t.Errorf("Version = %d, want 4", sig.Version)
			case !bytes.Equal(sig.Seal.Raw, esl):
				t.Errorf("embedded seal is not the given one verbatim")
			case !sig.TimeInfo.Equal(req.Time) || string(sig.TimeInfoRaw) != "20250601093000Z":
				t.Errorf("TimeInfo = %s (%q), want %s", sig.TimeInfo, sig.TimeInfoRaw, req.Time)
			case !bytes.Equal(sig.DataHash, req.DataHash) || sig.PropertyInfo != req.PropertyInfo:
				t.Errorf("DataHash/PropertyInfo = %x/%q", sig.DataHash, sig.PropertyInfo)
			case !reflect.DeepEqual(sig.Extensions, req.Extensions):
				t.Errorf("Extensions = %v, want %v", sig.Extensions, req.Extensions)
			case !bytes.Equal(sig.Cert, signer.cert):
				t.Errorf("Cert is not the signer's")
			case sig.TimeStamp != nil:
				t.Errorf("unexpected TimeStamp")
			}
			cert, err := sig.Verify()
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !bytes.Equal(cert.Raw, signer.cert) || !sig.Seal.HasSigner(cert.Raw) {
				t.Errorf("Verify returned another certificate, or the seal does not list it")
			}
			if _, err := sig.Seal.VerifyMaker(); err != nil {
				t.Errorf("embedded seal: %v", err)
			}
			again, err := ParseSignature(sig.Raw)
			if err != nil || !reflect.DeepEqual(again, sig) {
				t.Errorf("re-parse of Raw differs (err %v)", err)
			}
			signed := sig.SignedData()
			tamperAll(t, der, func(b []byte) error {
				s, err := ParseSignature(b)
				if err != nil {
					return err
				}
				if bytes.Equal(s.SignedData(), signed) {
					return errUntouched
				}
				_, err = s.Verify()
				return err
			})
		})
	}
}

// TestSignatureValueForms checks that the maker signature verifies whatever
// form real producers give r and s in, and fails for anything else.
func TestSignatureValueForms(t *testing.T) {
	t.Parallel()
	maker := testIdentity(t, "sm2", "maker")
	signer := testIdentity(t, "sm2", "signer")
	// Find a signature whose r or s has its top bit set, so DER carries a
	// 0x00 sign octet that some producers drop.
	var s *Seal
	var r, sv []byte
	for {
		esl, err := MakeSeal(rand.Reader, sealRequest(signer), maker.key, maker.cert)
		if err != nil {
			t.Fatal(err)
		}
		if s, err = ParseSeal(esl); err != nil {
			t.Fatal(err)
		}
		rd := newReader("", s.SignatureValue)
		seq, _ := rd.expect("", tagSequence)
		sr := rd.enter(seq, "")
		re, _ := sr.expect("", tagInteger)
		se, _ := sr.expect("", tagInteger)
		r, sv = re.body, se.body
		if r[0] == 0 || sv[0] == 0 {
			break
		}
	}
	fixed := func(b []byte) []byte { // 32-byte big-endian
		b = bytes.TrimLeft(b, "\x00")
		return append(make([]byte, 32-len(b)), b...)
	}
	unsigned := func(b []byte) []byte { return tlv(tagInteger, bytes.TrimLeft(b, "\x00")) }
	flipped := bytes.Clone(s.SignatureValue)
	flipped[len(flipped)-1] ^= 1

	tests := []struct {
		name string
		alg  []int
		sig  []byte
		want error
	}{
		{"DER", OIDSM2WithSM3, s.SignatureValue, nil},
		{"DER under the bare SM2 OID", OIDSM2Sign, s.SignatureValue, nil},
		{"raw r||s", OIDSM2WithSM3, append(fixed(r), fixed(sv)...), nil},
		{"DER without sign octets", OIDSM2WithSM3, tlv(tagSequence, unsigned(r), unsigned(sv)), nil},
		{"DER with r and s swapped", OIDSM2WithSM3, tlv(tagSequence, sv, r), ErrSignature},
		{"one bit flipped", OIDSM2WithSM3, flipped, ErrSignature},
		{"raw r||s one byte short", OIDSM2WithSM3, append(fixed(r), fixed(sv)...)[1:], ErrSignature},
		{"empty", OIDSM2WithSM3, nil, ErrSignature},
		{"DER with trailing data", OIDSM2WithSM3, append(bytes.Clone(s.SignatureValue), 0), ErrSignature},
		{"ECDSA OID on an SM2 key", OIDECDSAWithSHA256, s.SignatureValue, ErrSignature},
		{"unknown algorithm", []int{1, 2, 840, 113549, 1, 1, 11}, s.SignatureValue, ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			esl := reseal(t, s, tt.alg, tt.sig)
			got, err := ParseSeal(esl)
			if err != nil {
				t.Fatal(err)
			}
			_, err = got.VerifyMaker()
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("VerifyMaker = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMakeSealRejects(t *testing.T) {
	t.Parallel()
	maker := testIdentity(t, "sm2", "maker")
	signer := testIdentity(t, "sm2", "signer")
	p256 := testIdentity(t, "p256", "maker")
	ed := testIdentity(t, "ed25519", "maker")
	tests := []struct {
		name   string
		edit   func(*MakeSealRequest)
		key    crypto.Signer
		cert   []byte
		wantIs error
	}{
		{"non-ASCII VendorID", func(r *MakeSealRequest) { r.VendorID = "供应商" }, nil, nil, ErrInvalidRequest},
		{"empty ID", func(r *MakeSealRequest) { r.ID = "" }, nil, nil, ErrInvalidRequest},
		{"type 0", func(r *MakeSealRequest) { r.Type = 0 }, nil, nil, ErrInvalidRequest},
		{"NUL in name", func(r *MakeSealRequest) { r.Name = "a\x00b" }, nil, nil, ErrInvalidRequest},
		{"no signer certs", func(r *MakeSealRequest) { r.SignerCerts = nil }, nil, nil, ErrInvalidRequest},
		{"signer cert garbage", func(r *MakeSealRequest) { r.SignerCerts = [][]byte{{0x30, 0}} }, nil, nil, ErrInvalidRequest},
		{"zero CreateDate", func(r *MakeSealRequest) { r.CreateDate = time.Time{} }, nil, nil, ErrInvalidRequest},
		{"end before start", func(r *MakeSealRequest) { r.ValidEnd = r.ValidStart.Add(-time.Hour) }, nil, nil, ErrInvalidRequest},
		{"no picture", func(r *MakeSealRequest) { r.Picture.Data = nil }, nil, nil, ErrInvalidRequest},
		{"zero width", func(r *MakeSealRequest) { r.Picture.WidthMM = 0 }, nil, nil, ErrInvalidRequest},
		{"bad extension OID", func(r *MakeSealRequest) { r.Extensions = []Extension{{ID: []int{3, 1}}} }, nil, nil, ErrInvalidRequest},
		{"maker cert of another key", nil, p256.key, maker.cert, ErrMalformed},
		{"maker cert garbage", nil, maker.key, []byte("cert"), ErrMalformed},
		{"Ed25519 maker", nil, ed.key, ed.cert, ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := sealRequest(signer)
			if tt.edit != nil {
				tt.edit(&req)
			}
			key, cert := crypto.Signer(maker.key), maker.cert
			if tt.key != nil {
				key, cert = tt.key, tt.cert
			}
			if _, err := MakeSeal(rand.Reader, req, key, cert); !errors.Is(err, tt.wantIs) {
				t.Errorf("MakeSeal = %v, want an error wrapping %v", err, tt.wantIs)
			}
		})
	}
}

func TestSignRejects(t *testing.T) {
	t.Parallel()
	signer := testIdentity(t, "sm2", "signer")
	other := testIdentity(t, "sm2", "other")
	esl := makeTestSeal(t, signer)
	v1 := testIdentity(t, "sm2", "maker")
	legacy := legacySeal(t, v1, signer)
	tests := []struct {
		name   string
		edit   func(*SignRequest)
		key    crypto.Signer
		cert   []byte
		wantIs error
	}{
		{"seal garbage", func(r *SignRequest) { r.Seal = []byte{0x30, 0x03, 1, 2} }, nil, nil, ErrMalformed},
		{"GM/T 0031 seal", func(r *SignRequest) { r.Seal = legacy }, nil, nil, ErrInvalidRequest},
		{"no data hash", func(r *SignRequest) { r.DataHash = nil }, nil, nil, ErrInvalidRequest},
		{"non-ASCII property", func(r *SignRequest) { r.PropertyInfo = "/文件.xml" }, nil, nil, ErrInvalidRequest},
		{"zero time", func(r *SignRequest) { r.Time = time.Time{} }, nil, nil, ErrInvalidRequest},
		{"signer not in the seal", nil, other.key, other.cert, ErrNotSealSigner},
		{"listed cert, other key", nil, other.key, signer.cert, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := signRequest(esl)
			if tt.edit != nil {
				tt.edit(&req)
			}
			key, cert := crypto.Signer(signer.key), signer.cert
			if tt.key != nil {
				key, cert = tt.key, tt.cert
			}
			if _, err := Sign(rand.Reader, req, key, cert); !errors.Is(err, tt.wantIs) {
				t.Errorf("Sign = %v, want an error wrapping %v", err, tt.wantIs)
			}
		})
	}
}

// TestSignerGetsRawMessage checks the crypto.Signer contract HSM backends
// rely on: SM2 signers receive the whole message with
// sm2.DefaultSM2SignerOpts, ECDSA signers a SHA-256 digest.
func TestSignerGetsRawMessage(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sm2", "p256"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			id := testIdentity(t, kind, "signer")
			rec := &recordingSigner{Signer: id.key}
			esl := makeTestSeal(t, id)
			der, err := Sign(rand.Reader, signRequest(esl), rec, id.cert)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := ParseSignature(der)
			if err != nil {
				t.Fatal(err)
			}
			pub := id.key.Public().(*ecdsa.PublicKey)
			switch kind {
			case "sm2":
				if rec.opts != sm2.DefaultSM2SignerOpts || !bytes.Equal(rec.msg, sig.SignedData()) {
					t.Errorf("SM2 signer got opts %v and %d bytes, want DefaultSM2SignerOpts and TBS_Sign", rec.opts, len(rec.msg))
				}
			case "p256":
				if rec.opts != crypto.SHA256 || len(rec.msg) != 32 || !ecdsa.VerifyASN1(pub, rec.msg, sig.SignatureValue) {
					t.Errorf("ECDSA signer got opts %v and %d bytes, want a SHA-256 digest", rec.opts, len(rec.msg))
				}
			}
		})
	}
}

type recordingSigner struct {
	crypto.Signer
	msg  []byte
	opts crypto.SignerOpts
}

func (r *recordingSigner) Sign(rand io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	r.msg, r.opts = bytes.Clone(msg), opts
	return r.Signer.Sign(rand, msg, opts)
}

// TestSignerFailure: a crypto.Signer's error (an HSM's, say) comes back
// wrapped, inspectable with errors.Is.
func TestSignerFailure(t *testing.T) {
	t.Parallel()
	signer := testIdentity(t, "sm2", "signer")
	esl := makeTestSeal(t, signer)
	errHSM := errors.New("hsm: session closed")
	failing := failingSigner{Signer: signer.key, err: errHSM}
	if _, err := Sign(rand.Reader, signRequest(esl), failing, signer.cert); !errors.Is(err, errHSM) {
		t.Errorf("Sign = %v, want an error wrapping %v", err, errHSM)
	}
	maker := testIdentity(t, "sm2", "maker")
	if _, err := MakeSeal(rand.Reader, sealRequest(signer), failingSigner{Signer: maker.key, err: errHSM}, maker.cert); !errors.Is(err, errHSM) {
		t.Errorf("MakeSeal = %v, want an error wrapping %v", err, errHSM)
	}
}

type failingSigner struct {
	crypto.Signer
	err error
}

func (f failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return nil, f.err }
