package ses

import (
	"crypto/ecdsa"
	"crypto/rand"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

// benchSignature makes a seal with a 16 KiB picture (the size of ofdrw's
// test seals) and a signature over it.
func benchSignature(b *testing.B) (identity, SignRequest, *Signature) {
	b.Helper()
	maker := testIdentity(b, "sm2", "maker")
	signer := testIdentity(b, "sm2", "signer")
	req := sealRequest(signer)
	req.Picture.Data = make([]byte, 16<<10)
	esl, err := MakeSeal(rand.Reader, req, maker.key, maker.cert)
	if err != nil {
		b.Fatal(err)
	}
	sreq := signRequest(esl)
	der, err := Sign(rand.Reader, sreq, signer.key, signer.cert)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := ParseSignature(der)
	if err != nil {
		b.Fatal(err)
	}
	return signer, sreq, sig
}

// BenchmarkSign compares Sign (parse the seal, check the certificate list and
// key, encode, sign) with a bare SM2 signature over the same TBS_Sign bytes.
func BenchmarkSign(b *testing.B) {
	signer, req, sig := benchSignature(b)
	b.Run("ses.Sign", func(b *testing.B) {
		b.SetBytes(int64(len(sig.SignedData())))
		for b.Loop() {
			if _, err := Sign(rand.Reader, req, signer.key, signer.cert); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sm2", func(b *testing.B) {
		msg := sig.SignedData()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, err := signer.key.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerify compares ParseSignature + Verify, and Verify alone, with a
// bare SM2 verification of the same TBS_Sign bytes.
func BenchmarkVerify(b *testing.B) {
	signer, _, sig := benchSignature(b)
	b.Run("ses.ParseSignature+Verify", func(b *testing.B) {
		b.SetBytes(int64(len(sig.SignedData())))
		for b.Loop() {
			s, err := ParseSignature(sig.Raw)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Verify(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ses.Verify", func(b *testing.B) {
		b.SetBytes(int64(len(sig.SignedData())))
		for b.Loop() {
			if _, err := sig.Verify(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sm2", func(b *testing.B) {
		pub := signer.key.Public().(*ecdsa.PublicKey)
		msg := sig.SignedData()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if !sm2.VerifyASN1WithSM2(pub, nil, msg, sig.SignatureValue) {
				b.Fatal("bad signature")
			}
		}
	})
}
