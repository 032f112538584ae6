package ses_test

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// newKey returns an SM2 key and a self-signed certificate for it.
func newKey(cn string) (*sm2.PrivateKey, []byte) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &smx509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	cert, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		log.Fatal(err)
	}
	return key, cert
}

// A seal maker makes a seal for a signer; the signer seals a document; a
// relying party checks the result (GB/T 38540 §7.3 a–d).
func Example() {
	makerKey, makerCert := newKey("seal maker")
	signerKey, signerCert := newKey("signer")

	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	esl, err := ses.MakeSeal(rand.Reader, ses.MakeSealRequest{
		VendorID: "SEALPIPE", ID: "11010000000001", Type: ses.TypeUnit, Name: "示例单位公章",
		SignerCerts: [][]byte{signerCert},
		CreateDate:  start, ValidStart: start, ValidEnd: start.AddDate(3, 0, 0),
		Picture: ses.Picture{Type: "PNG", Data: []byte("…png…"), WidthMM: 40, HeightMM: 40},
	}, makerKey, makerCert)
	if err != nil {
		log.Fatal(err)
	}

	xml := []byte("<ofd:Signature>…</ofd:Signature>")
	digest := sm3.Sum(xml)
	signed, err := ses.Sign(rand.Reader, ses.SignRequest{
		Seal: esl, DataHash: digest[:], PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml",
		Time: start.AddDate(0, 6, 0),
	}, signerKey, signerCert)
	if err != nil {
		log.Fatal(err)
	}

	sig, err := ses.ParseSignature(signed)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := sig.Verify()
	if err != nil {
		log.Fatal(err)
	}
	maker, err := sig.Seal.VerifyMaker()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("seal:", sig.Seal.Name, "version", sig.Seal.Version)
	fmt.Println("made by:", maker.Subject.CommonName)
	fmt.Println("signed by:", signer.Subject.CommonName)
	fmt.Println("signer listed in the seal:", sig.Seal.HasSigner(sig.Cert))
	fmt.Println("seal valid at signing time:", sig.Seal.ValidAt(sig.TimeInfo))
	// Output:
	// seal: 示例单位公章 version 4
	// made by: seal maker
	// signed by: signer
	// signer listed in the seal: true
	// seal valid at signing time: true
}
