package pkcs11

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/sealpipe/sealpipe/internal/fakehsm"
	"github.com/sealpipe/sealpipe/pipeline/keys"
)

// sm2Vector is a real SM2 signature by gmsm, in both forms tokens return.
type sm2Vector struct {
	pub      []byte // CKA_EC_POINT
	e        []byte
	der, raw []byte
}

func newSM2Vector(t testing.TB) sm2Vector {
	t.Helper()
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e, err := sm2.CalculateSM2Hash(&key.PublicKey, []byte("vector"), nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := sm2.SignASN1(rand.Reader, key, e, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := fakehsm.RawSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := fakehsm.ECPoint(key)
	if err != nil {
		t.Fatal(err)
	}
	return sm2Vector{pub, e, der, raw}
}

func TestParseSM2Signature(t *testing.T) {
	v := newSM2Vector(t)
	pub, err := parseSM2Point(v.pub)
	if err != nil {
		t.Fatal(err)
	}
	n := sm2N.FillBytes(make([]byte, 32))
	one := make([]byte, 32)
	one[31] = 1
	for _, c := range []struct {
		name string
		in   []byte
		form SM2Output
		ok   bool
	}{
		{"raw", v.raw, SM2Raw, true},
		{"DER", v.der, SM2DER, true},
		{"raw as DER", v.raw, SM2DER, false},
		{"DER as raw", v.der, SM2Raw, len(v.der) == 64}, // 64-byte DER is possible, then it is "valid" r||s
		{"raw short", v.raw[:63], SM2Raw, false},
		{"raw long", append(bytes.Clone(v.raw), 0), SM2Raw, false},
		{"raw r = 0", append(make([]byte, 32), v.raw[32:]...), SM2Raw, false},
		{"raw s = n", append(bytes.Clone(v.raw[:32]), n...), SM2Raw, false},
		{"raw r = 1", append(one, v.raw[32:]...), SM2Raw, true},
		{"DER trailing data", append(bytes.Clone(v.der), 0), SM2DER, false},
		{"DER empty", nil, SM2DER, false},
		{"unknown form", v.raw, SM2Output(9), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseSM2Signature(c.in, c.form)
			if !c.ok {
				if !errors.Is(err, ErrBadSignature) {
					t.Fatalf("err = %v, want ErrBadSignature", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			again, err := parseSM2Signature(got, SM2DER)
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("output is not canonical DER: %x (%v)", got, err)
			}
			if c.name == "raw" || c.name == "DER" {
				if !bytes.Equal(got, v.der) {
					t.Errorf("got %x, want the signature's DER %x", got, v.der)
				}
				if !sm2.VerifyASN1(pub, v.e, got) {
					t.Error("signature does not verify")
				}
			}
		})
	}
}

func TestParseSM2Point(t *testing.T) {
	v := newSM2Vector(t)
	bare := v.pub[2:]
	// CKA_EC_POINT of a P-256 key made by SoftHSM2 (pkcs11-tool --keypairgen).
	p256, _ := hex.DecodeString("044104c6777359bc213c895327c2c7ad3f770e2cc0f1d2162b2c6183139aa15fa6760bdab7cb9f870e300022227a4ec5c7e17270ad45b300255c968d0cc22fcff3cea4")
	offCurve := bytes.Clone(bare)
	offCurve[64] ^= 1
	for _, c := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"DER", v.pub, true},
		{"bare point", bare, true},
		{"P-256 point", p256, false},
		{"off the curve", offCurve, false},
		{"compressed", append([]byte{2}, bare[1:33]...), false},
		{"empty", nil, false},
		{"DER trailing data", append(bytes.Clone(v.pub), 0), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			pub, err := parseSM2Point(c.in)
			if !c.ok {
				if !errors.Is(err, keys.ErrMalformedKey) {
					t.Fatalf("err = %v, want keys.ErrMalformedKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			//lint:ignore SA1019 gmsm's SM2 keys are ecdsa.PublicKey values; their coordinates are the point
			if !sm2.IsSM2PublicKey(pub) || pub.X.Cmp(new(big.Int).SetBytes(bare[1:33])) != 0 {
				t.Fatal("parsed another point")
			}
		})
	}
}

func FuzzParseSM2Signature(f *testing.F) {
	v := newSM2Vector(f)
	f.Add(v.raw, false)
	f.Add(v.der, true)
	f.Fuzz(func(t *testing.T, b []byte, der bool) {
		form := SM2Raw
		if der {
			form = SM2DER
		}
		out, err := parseSM2Signature(b, form)
		if err != nil {
			return
		}
		if form == SM2Raw && len(b) != 64 {
			t.Fatalf("accepted %d bytes as r||s", len(b))
		}
		again, err := parseSM2Signature(out, SM2DER)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("output %x is not canonical DER (%v)", out, err)
		}
	})
}

func FuzzParseSM2Point(f *testing.F) {
	v := newSM2Vector(f)
	f.Add(v.pub)
	f.Add(v.pub[2:])
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := parseSM2Point(b)
		if err != nil {
			return
		}
		//lint:ignore SA1019 the SM2 curve has no crypto/ecdh counterpart to check points with
		if !sm2.P256().IsOnCurve(pub.X, pub.Y) {
			t.Fatal("accepted a point off the curve")
		}
	})
}
