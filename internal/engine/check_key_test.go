package engine

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

// otherPublic is a signer whose Public is another key's.
type otherPublic struct {
	crypto.Signer
	pub crypto.PublicKey
}

func (o otherPublic) Public() crypto.PublicKey { return o.pub }

// failing is a signer that cannot sign.
type failing struct{ crypto.Signer }

func (failing) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, io.ErrUnexpectedEOF
}

// TestTestSignature: config check's test signature works with each key
// type a unit may have (SM2, ECDSA P-256, RSA) and fails for a key that
// does not match its public key, cannot sign, or is of no type it knows.
func TestTestSignature(t *testing.T) {
	t.Parallel()
	must := func(k crypto.Signer, err error) crypto.Signer {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	sm2Key := must(sm2.GenerateKey(rand.Reader))
	p256 := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	rsaKey := must(rsa.GenerateKey(rand.Reader, 2048))
	other := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		ok   bool
	}{
		{"sm2", sm2Key, true},
		{"p256", p256, true},
		{"rsa2048", rsaKey, true},
		{"p256 with another public key", otherPublic{p256, other.Public()}, false},
		{"sm2 that cannot sign", failing{sm2Key}, false},
		{"a key of no known type", otherPublic{p256, "not a key"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := testSignature(tc.key, []byte(checkMessage))
			if (err == nil) != tc.ok {
				t.Errorf("testSignature: %v, want ok %v", err, tc.ok)
			}
		})
	}
}
