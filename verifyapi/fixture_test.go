package verifyapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/demo/certofd"
	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/ofdseal"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/templates/sealpic"
)

// documents are the files the tests upload: a certificate sealed with a
// GB/T 38540 seal whose maker and signer a test root issued, the same
// with one byte changed under the signature, and the certificate
// unsealed.
type documents struct {
	root             *smx509.Certificate
	picture          []byte // the seal's picture
	sealed, tampered []byte
	unsigned         []byte
	// sealedOFD and tamperedOFD are the certificate as OFD, sealed, and
	// that with a page added after sealing.
	sealedOFD, tamperedOFD []byte
}

var (
	fixtureOnce sync.Once
	fixture     *documents
)

// testDocuments makes the documents once for all tests.
func testDocuments(t *testing.T) *documents {
	t.Helper()
	fixtureOnce.Do(func() { fixture = newDocuments(t) })
	if fixture == nil {
		t.Fatal("the test documents could not be made (see the first test's failure)")
	}
	return fixture
}

// newDocuments makes the documents with t's helpers.
func newDocuments(t testing.TB) *documents {
	ca := testpki.CA(t, "verifyapi test root")
	maker := testpki.Leaf(t, ca, "seal maker")
	signer := testpki.Leaf(t, ca, "示例县政务服务中心")
	pic, err := sealpic.Render(sealpic.Spec{UnitName: "示例县政务服务中心", Code: "33010000000001", DotsPerMM: 4})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	seal, err := ses.MakeSeal(rand.Reader, ses.MakeSealRequest{
		VendorID: "SEALPIPE", ID: "33010000000001", Type: ses.TypeUnit, Name: "示例县政务服务中心电子印章",
		SignerCerts: [][]byte{signer.Cert.Raw},
		CreateDate:  start, ValidStart: start, ValidEnd: start.AddDate(1, 0, 0),
		Picture: ses.Picture{Type: "PNG", Data: pic, WidthMM: 42, HeightMM: 42},
	}, maker.Key, maker.Cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := certpdf.Render(certpdf.Sample(1, start))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = pdfseal.Seal(context.Background(), &out, unsigned, pdfseal.Options{
		Signer: signer.Key, Chain: []*smx509.Certificate{signer.Cert}, Image: pic, SealData: seal,
		Placement: pdfseal.Placement{Page: 1, X: 120, Y: 40, Width: 42, Height: 42},
	})
	if err != nil {
		t.Fatal(err)
	}
	sealed := out.Bytes()
	tampered := bytes.Clone(sealed)
	tampered[len(unsigned)/2] ^= 0x20 // inside the original revision, which the signature covers

	plainOFD, err := certofd.Render(certpdf.Sample(1, start))
	if err != nil {
		t.Fatal(err)
	}
	var ofdOut bytes.Buffer
	err = ofdseal.Seal(context.Background(), &ofdOut, plainOFD, ofdseal.Options{
		Signer: signer.Key, Cert: signer.Cert, SealData: seal, Placement: ofdseal.Placement{Page: 1, X: 120, Y: 200},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &documents{root: ca.Cert, picture: pic, sealed: sealed, tampered: tampered, unsigned: unsigned,
		sealedOFD: ofdOut.Bytes(), tamperedOFD: withFile(t, ofdOut.Bytes(), "Doc_0/Pages/Page_1/Content.xml", `<?xml version="1.0"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"/>`)}
}

// withFile is the ZIP package in with one more file, name.
func withFile(t testing.TB, in []byte, name, content string) []byte {
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// verifier trusts the documents' root and keeps seal pictures.
func (d *documents) verifier() *verify.Verifier {
	return &verify.Verifier{Trust: trust.NewPool([]*smx509.Certificate{d.root}), Pictures: true}
}
