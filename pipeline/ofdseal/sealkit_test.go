package ofdseal

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/demo/certofd"
	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/templates/sealpic"
)

// sealKey is a signer with its certificate and a GB/T 38540 seal that
// lists it (made by an SM2 maker).
type sealKey struct {
	signer crypto.Signer
	cert   *smx509.Certificate
	esl    []byte
}

// opaqueSigner hides the key's type, as a key held in an HSM (crypto11)
// does: only Public and Sign.
type opaqueSigner struct{ crypto.Signer }

var (
	kitOnce      sync.Once
	kitSM2       sealKey
	kitECDSA     sealKey
	kitOther     sealKey // an SM2 signer no seal of the others lists
	kitMakerCert *smx509.Certificate
)

// testKeys returns an SM2 and an ECDSA P-256 (HSM-like) signer, each with
// a seal of its own, made once per test binary.
func testKeys(t testing.TB) (sm2K, ecK sealKey) {
	t.Helper()
	kitOnce.Do(func() {
		maker := testpki.NewKey(t)
		kitMakerCert = issue(t, maker, "sealpipe test seal maker")
		pic, err := sealpic.Render(sealpic.Spec{UnitName: "测试县人民政府办公室", Purpose: "业务专用章", Code: "11010000000001"})
		if err != nil {
			t.Fatal(err)
		}
		mk := func(signer crypto.Signer, id string) sealKey {
			cert := issue(t, signer, "sealpipe test signer "+id)
			esl, err := ses.MakeSeal(rand.Reader, ses.MakeSealRequest{
				VendorID:    "SEALPIPE",
				ID:          id,
				Type:        ses.TypeUnit,
				Name:        "测试县人民政府办公室业务专用章",
				SignerCerts: [][]byte{cert.Raw},
				CreateDate:  time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
				ValidStart:  time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
				ValidEnd:    time.Date(2039, 1, 1, 0, 0, 0, 0, time.UTC),
				Picture:     ses.Picture{Type: "PNG", Data: pic, WidthMM: 42, HeightMM: 42},
			}, maker, kitMakerCert.Raw)
			if err != nil {
				t.Fatal(err)
			}
			return sealKey{signer, cert, esl}
		}
		kitSM2 = mk(testpki.NewKey(t), "11010000000001")
		ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		kitECDSA = mk(opaqueSigner{ek}, "11010000000002")
		kitOther = mk(testpki.NewKey(t), "11010000000003")
	})
	return kitSM2, kitECDSA
}

// issue makes a self-signed signing certificate for key.
func issue(t testing.TB, key crypto.Signer, cn string) *smx509.Certificate {
	t.Helper()
	return testpki.Issue(t, &smx509.Certificate{
		Subject:   pkix.Name{CommonName: cn, Organization: []string{"sealpipe tests"}},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:  smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
	}, key, nil)
}

// sealOptions returns sealing options for k at pl, signed at a fixed time.
func sealOptions(k sealKey, pl Placement) Options {
	return Options{
		Signer: k.signer, Cert: k.cert, SealData: k.esl, Placement: pl,
		Time: time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC),
	}
}

// seal seals in and fails the test on error.
func seal(t testing.TB, in []byte, opts Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := Seal(context.Background(), &out, in, opts); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return out.Bytes()
}

// certificateOFD renders the demo certificate as OFD (one A4 page).
func certificateOFD(t testing.TB) []byte {
	t.Helper()
	b, err := certofd.Render(certpdf.Sample(7, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// makeOFD builds an unsigned OFD package of A4 pages whose document lies
// in docDir and whose pages' content parts are named pageName(i), each
// page holding a different text.
func makeOFD(t testing.TB, docDir string, pages int, pageName func(i int) string) []byte {
	t.Helper()
	const ns = `xmlns:ofd="http://www.ofdspec.org/2016"`
	parts := []struct{ name, data string }{{"OFD.xml", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ofd:OFD ` + ns + ` Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>0f0d</ofd:DocID></ofd:DocInfo>` +
		`<ofd:DocRoot>` + docDir + `/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>`}}
	var doc strings.Builder
	doc.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ofd:Document ` + ns + `><ofd:CommonData><ofd:MaxUnitID>` +
		fmt.Sprint(100+pages) + `</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages>`)
	for i := range pages {
		fmt.Fprintf(&doc, `<ofd:Page ID="%d" BaseLoc="Pages/%s"/>`, 10+i, pageName(i))
		parts = append(parts, struct{ name, data string }{docDir + "/Pages/" + pageName(i), `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<ofd:Page ` + ns + `><ofd:Content><ofd:Layer ID="` + fmt.Sprint(50+i) + `"><ofd:TextObject ID="` + fmt.Sprint(70+i) +
			`" Boundary="20 20 100 10" Font="1" Size="5"><ofd:TextCode X="0" Y="5">第` + fmt.Sprint(i+1) + `页</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>`})
	}
	doc.WriteString(`</ofd:Pages></ofd:Document>`)
	parts = append(parts, struct{ name, data string }{docDir + "/Document.xml", doc.String()})
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, p := range parts {
		w, err := zw.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, p.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// pageN names page i's content as ofdrw does.
func pageN(i int) string { return fmt.Sprintf("Page_%d/Content.xml", i) }

// unzip returns a package's parts by name, in order.
func unzip(t testing.TB, pkg []byte) (map[string][]byte, []*zip.File) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		m[f.Name] = b
	}
	return m, zr.File
}

// rezip rewrites a package: edit returns a part's new bytes, or nil to
// drop it; add lists parts appended.
func rezip(t testing.TB, pkg []byte, edit func(name string, data []byte) []byte, add map[string][]byte) []byte {
	t.Helper()
	_, files := unzip(t, pkg)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	write := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	for _, f := range files {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		if data = edit(f.Name, data); data != nil {
			write(f.Name, data)
		}
	}
	for name, data := range add {
		write(name, data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// flip returns a copy of b with one byte changed at i.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}
