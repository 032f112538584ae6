package ses

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testpki"
)

// identity is a test key with a self-signed certificate made by gmsm.
type identity struct {
	key  crypto.Signer
	cert []byte
}

var (
	identitiesMu sync.Mutex
	identities   = map[string]identity{}
)

// testIdentity returns a cached key and certificate named cn, of kind "sm2"
// "p256" or "ed25519".
func testIdentity(tb testing.TB, kind, cn string) identity {
	tb.Helper()
	identitiesMu.Lock()
	defer identitiesMu.Unlock()
	if id, ok := identities[kind+"/"+cn]; ok {
		return id
	}
	var key crypto.Signer
	var err error
	switch kind {
	case "sm2":
		key = testpki.NewKey(tb)
	case "p256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		tb.Fatalf("unknown key kind %q", kind)
	}
	if err != nil {
		tb.Fatal(err)
	}
	cert := testpki.Issue(tb, &smx509.Certificate{
		Subject:   pkix.Name{CommonName: cn, Organization: []string{"sealpipe test"}},
		NotBefore: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:  smx509.KeyUsageDigitalSignature,
	}, key, nil)
	id := identity{key: key, cert: cert.Raw}
	identities[kind+"/"+cn] = id
	return id
}

// testPicture is a tiny stand-in for a seal image.
var testPicture = Picture{Type: "PNG", Data: []byte("\x89PNG\r\n\x1a\n test picture"), WidthMM: 40, HeightMM: 40}

// sealRequest returns a valid request listing signers.
func sealRequest(signers ...identity) MakeSealRequest {
	req := MakeSealRequest{
		VendorID:   "SEALPIPE",
		ID:         "11010000000001",
		Type:       TypeUnit,
		Name:       "测试单位 合同专用章",
		CreateDate: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC),
		ValidStart: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC),
		ValidEnd:   time.Date(2030, 3, 1, 8, 0, 0, 0, time.UTC),
		Picture:    testPicture,
		Extensions: []Extension{
			{ID: []int{1, 2, 156, 112600, 7, 1}, Value: []byte("plain")},
			{ID: []int{1, 2, 156, 112600, 7, 2}, Critical: true, Value: []byte("critical")},
		},
	}
	for _, s := range signers {
		req.SignerCerts = append(req.SignerCerts, s.cert)
	}
	return req
}

// makeTestSeal makes a seal with an SM2 maker listing signer.
func makeTestSeal(tb testing.TB, signer identity) []byte {
	tb.Helper()
	maker := testIdentity(tb, "sm2", "maker")
	esl, err := MakeSeal(rand.Reader, sealRequest(signer), maker.key, maker.cert)
	if err != nil {
		tb.Fatal(err)
	}
	return esl
}

// signRequest returns a valid request over esl.
func signRequest(esl []byte) SignRequest {
	return SignRequest{
		Seal:         esl,
		DataHash:     make([]byte, 32),
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml",
		Time:         time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC),
	}
}

// reseal rebuilds a GB/T 38540 SESeal with a different algorithm and
// signature value, keeping its SES_SealInfo and maker certificate verbatim.
func reseal(tb testing.TB, s *Seal, alg []int, sig []byte) []byte {
	tb.Helper()
	algDER, err := derOID(alg)
	if err != nil {
		tb.Fatal(err)
	}
	return tlv(tagSequence, s.SignedData(), derOctets(s.MakerCert), algDER, derBits(sig))
}
