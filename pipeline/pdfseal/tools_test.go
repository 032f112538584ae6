package pdfseal

// Independent checks of Seal's output with tools that share no code with
// this package: qpdf (structure), pdftoppm (rendering), pdfsig (NSS's CMS
// and PDF signature handling), OpenSSL (SM2/SM3, CMS) and gmsm's pkcs7.

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
)

// signedParts extracts, without this package's code, the last signature
// of a PDF: its ByteRange, the DER CMS and the bytes the ByteRange covers.
func signedParts(t *testing.T, pdf []byte) (br [4]int, cms, covered []byte) {
	t.Helper()
	all := regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`).FindAllSubmatch(pdf, -1)
	if len(all) == 0 {
		t.Fatal("no /ByteRange in the file")
	}
	m := all[len(all)-1]
	for i := range br {
		br[i], _ = strconv.Atoi(string(m[i+1]))
	}
	gap := pdf[br[1]:br[2]]
	if gap[0] != '<' || gap[len(gap)-1] != '>' {
		t.Fatalf("ByteRange gap is %q…", gap[:10])
	}
	padded, err := hex.DecodeString(string(gap[1 : len(gap)-1]))
	if err != nil {
		t.Fatal(err)
	}
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(padded, &raw); err != nil {
		t.Fatalf("/Contents is not DER: %v", err)
	}
	covered = append(bytes.Clone(pdf[br[0]:br[0]+br[1]]), pdf[br[2]:br[2]+br[3]]...)
	return br, raw.FullBytes, covered
}

// children returns the elements inside a constructed DER element.
func children(t *testing.T, der []byte) []asn1.RawValue {
	t.Helper()
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		t.Fatal(err)
	}
	var out []asn1.RawValue
	for rest := outer.Bytes; len(rest) > 0; {
		var v asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestOpenSSLVerifiesSM2 checks the SM2 signature value with OpenSSL 3:
// the signed attributes (re-tagged as a SET) verify under the signer's
// public key with SM3 and the default ID, and their messageDigest is
// OpenSSL's SM3 of the ByteRange bytes.
func TestOpenSSLVerifiesSM2(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	testenv.Tool(t, "openssl") // skip (or fail under CI) before sealing if missing
	out := seal(t, conformance(t, "pdf/hello.pdf"), options(t, sm2K, 1))
	_, cms, covered := signedParts(t, out)

	// ContentInfo → [0] SignedData → SignerInfos (last) → SignerInfo.
	ci := children(t, cms)
	var ct asn1.ObjectIdentifier
	asn1.Unmarshal(ci[0].FullBytes, &ct)
	if ct.String() != "1.2.156.10197.6.1.4.2.2" {
		t.Errorf("content type %v, want GM/T 0010 signedData", ct)
	}
	sd := children(t, ci[1].Bytes)
	infos := children(t, sd[len(sd)-1].FullBytes)
	si := children(t, infos[0].FullBytes)
	if len(si) != 6 || si[3].Class != asn1.ClassContextSpecific || si[3].Tag != 0 {
		t.Fatalf("SignerInfo has %d elements; want version, sid, digest, [0] attrs, algorithm, signature", len(si))
	}
	attrs := bytes.Clone(si[3].FullBytes)
	attrs[0] = 0x31 // [0] IMPLICIT → SET OF, as signed (RFC 5652 §5.4)
	var sig []byte
	if _, err := asn1.Unmarshal(si[5].FullBytes, &sig); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pub := filepath.Join(dir, "pub.pem")
	run(t, "openssl", "x509", "-inform", "DER", "-in", file("cert.der", sm2K.cert.Raw), "-pubkey", "-noout", "-out", pub)
	verify := func(attrs []byte) (string, error) {
		return runErr(t, "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
			"-in", file("attrs.der", attrs), "-sigfile", file("sig.der", sig),
			"-digest", "sm3", "-pkeyopt", "distid:1234567812345678")
	}
	if msg, err := verify(attrs); err != nil || !strings.Contains(msg, "Signature Verified Successfully") {
		t.Errorf("openssl pkeyutl -verify: %v\n%s", err, msg)
	}
	tampered := bytes.Clone(attrs)
	tampered[len(tampered)-1] ^= 1
	if msg, err := verify(tampered); err == nil || strings.Contains(msg, "Verified Successfully") {
		t.Errorf("openssl accepted tampered attributes: %s", msg)
	}

	var messageDigest []byte
	for _, a := range children(t, attrs) {
		kv := children(t, a.FullBytes)
		var oid asn1.ObjectIdentifier
		asn1.Unmarshal(kv[0].FullBytes, &oid)
		if oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}) {
			asn1.Unmarshal(children(t, kv[1].FullBytes)[0].FullBytes, &messageDigest)
		}
	}
	sm3 := run(t, "openssl", "dgst", "-sm3", "-binary", "-out", filepath.Join(dir, "dgst"), file("covered.bin", covered))
	want, err := os.ReadFile(filepath.Join(dir, "dgst"))
	if err != nil || len(want) != 32 {
		t.Fatalf("openssl dgst: %v %s", err, sm3)
	}
	if !bytes.Equal(messageDigest, want) {
		t.Errorf("messageDigest %x, openssl dgst -sm3 of the ByteRange bytes %x", messageDigest, want)
	}
}

// TestOpenSSLVerifiesCMS checks the ECDSA and RSA forms with `openssl cms
// -verify`, which recomputes the digest and checks the signature itself.
func TestOpenSSLVerifiesCMS(t *testing.T) {
	t.Parallel()
	_, ecK := keys(t)
	for _, k := range []struct {
		name string
		key  testKey
	}{{"ECDSA P-256", ecK}, {"RSA-2048", rsaTestKey(t)}} {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			out := seal(t, conformance(t, "pdf/hello.pdf"), options(t, k.key, 1))
			_, cms, covered := signedParts(t, out)
			cmsFile, content := writeTemp(t, "cms.der", cms), writeTemp(t, "content.bin", covered)
			msg, err := runErr(t, "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", cmsFile,
				"-content", content, "-noverify", "-out", os.DevNull)
			if err != nil || !strings.Contains(msg, "Verification successful") {
				t.Errorf("openssl cms -verify: %v\n%s", err, msg)
			}
			covered[100] ^= 1
			msg, err = runErr(t, "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", cmsFile,
				"-content", writeTemp(t, "bad.bin", covered), "-noverify", "-out", os.DevNull)
			if err == nil {
				t.Errorf("openssl cms -verify accepted altered content:\n%s", msg)
			}
		})
	}
}

// TestGmsmVerifiesSM2 checks the SM2 CMS with gmsm's pkcs7, the reference
// the brief names.
func TestGmsmVerifiesSM2(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	out := seal(t, conformance(t, "pdf/hello.pdf"), options(t, sm2K, 1))
	_, cms, covered := signedParts(t, out)
	p7, err := pkcs7.Parse(cms)
	if err != nil {
		t.Fatalf("pkcs7.Parse: %v", err)
	}
	if signer := p7.GetOnlySigner(); signer == nil || !signer.Equal(sm2K.cert) {
		t.Errorf("gmsm finds signer %v", signer)
	}
	p7.Content = covered
	if err := p7.Verify(); err != nil {
		t.Errorf("gmsm pkcs7 Verify: %v", err)
	}
	p7.Content = append(bytes.Clone(covered), 0)
	if err := p7.Verify(); err == nil {
		t.Error("gmsm pkcs7 verified different content")
	}
}

// TestPdfsig lists the signatures with poppler's pdfsig. It cannot check
// SM2 (NSS does not read GM/T 0010 content types) but must list the field;
// ECDSA and RSA signatures it must find valid.
func TestPdfsig(t *testing.T) {
	t.Parallel()
	sm2K, ecK := keys(t)
	hsm := conformance(t, "pdf/hello_hsm.pdf")
	for _, tc := range []struct {
		name       string
		key        testKey
		wantValid  int    // "Signature is Valid." lines
		wantCertIs string // what pdfsig says of the self-signed certificate
	}{
		// hello_hsm.pdf's own signature stays valid in every case.
		{"SM2", sm2K, 1, ""},
		{"ECDSA P-256", ecK, 2, "Certificate issuer is unknown."},
		{"RSA-2048", rsaTestKey(t), 2, "Certificate issuer is unknown."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := seal(t, hsm, options(t, tc.key, 1))
			br, _, _ := signedParts(t, out)
			msg, _ := runErr(t, "pdfsig", writeTemp(t, "sealed.pdf", out))
			t.Logf("pdfsig:\n%s", msg)
			sig2 := msg[strings.Index(msg, "Signature #2:")+1:]
			for _, want := range []string{
				"Signature Field Name: Seal1",
				"Signature Type: adbe.pkcs7.detached",
				fmt.Sprintf("Signed Ranges: [%d - %d], [%d - %d]", br[0], br[1], br[2], br[2]+br[3]),
				"Total document signed",
			} {
				if !strings.Contains(sig2, want) {
					t.Errorf("pdfsig does not say %q of the new signature", want)
				}
			}
			if got := strings.Count(msg, "Signature is Valid."); got != tc.wantValid {
				t.Errorf("pdfsig reports %d valid signatures, want %d", got, tc.wantValid)
			}
			if tc.wantCertIs != "" && !strings.Contains(sig2, "Certificate Validation: "+tc.wantCertIs) {
				t.Errorf("pdfsig's certificate verdict changed; want %q", tc.wantCertIs)
			}
		})
	}
}

// TestRender rasterises sealed pages with pdftoppm at 72 dpi (1 px = 1 pt)
// and checks the colours inside and outside the placement box. The split
// picture is red over blue with a transparent stripe down the middle, so
// orientation and the soft mask are checked too.
func TestRender(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	helloPath := func(t *testing.T) string { return writeTemp(t, "hello.pdf", conformance(t, "pdf/hello.pdf")) }
	rotated := func(angle string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return qpdf(t, "--rotate="+angle+":1", helloPath(t)) }
	}
	tests := []struct {
		name  string
		input func(t *testing.T) []byte
		pages int
		page  int
		split bool // split picture; else solid red
	}{
		{"solid red", func(t *testing.T) []byte { return conformance(t, "pdf/hello.pdf") }, 1, 1, false},
		{"split, upright", func(t *testing.T) []byte { return conformance(t, "pdf/hello.pdf") }, 1, 1, true},
		{"split, /Rotate 90", rotated("+90"), 1, 1, true},
		{"split, /Rotate 180", rotated("180"), 1, 1, true},
		{"split, /Rotate 270", rotated("+270"), 1, 1, true},
		{"split, CropBox offset, /Rotate 90 inherited", func(*testing.T) []byte {
			return pdfsealtest.Build([]string{catalogObj, "<</Type/Pages/Count 1/Kids[3 0 R]/Rotate 90/MediaBox[0 0 595 842]>>",
				"<</Type/Page/Parent 2 0 R/CropBox[50 100 450 700]>>"}, "/Root 1 0 R")
		}, 1, 1, true},
		{"third page of three", func(t *testing.T) []byte {
			p := helloPath(t)
			return qpdf(t, "--empty", "--pages", p, p, p, "--")
		}, 3, 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := options(t, sm2K, tc.page)
			opts.Placement = Placement{Page: tc.page, X: 30, Y: 60, Width: 50, Height: 40}
			if !tc.split {
				opts.Image = solidPNG(t, color.NRGBA{R: 230, G: 10, B: 10, A: 255})
			}
			file := writeTemp(t, "sealed.pdf", seal(t, tc.input(t), opts))
			for page := 1; page <= tc.pages; page++ {
				img := render(t, file, page)
				stats := colourStats(img, opts.Placement, tc.split)
				if page != tc.page {
					if stats.outsideRed > 0 || stats.insideRed > 0 {
						t.Errorf("page %d has red pixels (%+v); the seal is on page %d", page, stats, tc.page)
					}
					continue
				}
				t.Logf("page %d: %+v", page, stats)
				if stats.insideRed < 0.9 {
					t.Errorf("%.1f%% of the box's red area is red, want ≥ 90%%", 100*stats.insideRed)
				}
				if tc.split && (stats.insideBlue < 0.9 || stats.stripeWhite < 0.9) {
					t.Errorf("box: %.1f%% blue below, %.1f%% white in the transparent stripe; want ≥ 90%% (upright picture, soft mask)",
						100*stats.insideBlue, 100*stats.stripeWhite)
				}
				if stats.outsideRed != 0 {
					t.Errorf("%d red pixels outside the box", stats.outsideRed)
				}
			}
		})
	}
}

// render rasterises the crop box of one page at 72 dpi.
func render(t *testing.T, pdf string, page int) image.Image {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "page")
	n := strconv.Itoa(page)
	run(t, "pdftoppm", "-r", "72", "-png", "-cropbox", "-f", n, "-l", n, "-singlefile", pdf, prefix)
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type renderStats struct {
	insideRed   float64 // share of the box's red area (top half if split) that is red
	insideBlue  float64 // share of the box's bottom half (split) that is blue
	stripeWhite float64 // share of the transparent stripe (split) that is white
	outsideRed  int     // red pixels outside the box
}

func colourStats(img image.Image, p Placement, split bool) renderStats {
	b := img.Bounds()
	const k = 72 / 25.4
	x0, x1 := p.X*k, (p.X+p.Width)*k
	y0, y1 := float64(b.Dy())-(p.Y+p.Height)*k, float64(b.Dy())-p.Y*k // top-down raster rows
	const margin = 2                                                  // anti-aliased edge pixels are not judged
	var red, redN, blue, blueN, white, whiteN, outside int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			isRed := r > 150 && g < 100 && bl < 100
			isBlue := bl > 150 && r < 100 && g < 100
			isWhite := r > 230 && g > 230 && bl > 230
			fx, fy := float64(x)+0.5, float64(y)+0.5
			if fx < x0-margin || fx > x1+margin || fy < y0-margin || fy > y1+margin {
				if isRed {
					outside++
				}
				continue
			}
			if fx < x0+margin || fx > x1-margin || fy < y0+margin || fy > y1-margin {
				continue
			}
			u := (fx - x0) / (x1 - x0) // 0..1 across the box
			v := (fy - y0) / (y1 - y0) // 0..1 down the box
			switch {
			case !split:
				redN++
				red += b2i(isRed)
			case u > 0.42 && u < 0.58:
				whiteN++
				white += b2i(isWhite)
			case u < 0.38 || u > 0.62:
				if v < 0.47 {
					redN++
					red += b2i(isRed)
				} else if v > 0.53 {
					blueN++
					blue += b2i(isBlue)
				}
			}
		}
	}
	share := func(a, n int) float64 {
		if n == 0 {
			return 0
		}
		return float64(a) / float64(n)
	}
	return renderStats{share(red, redN), share(blue, blueN), share(white, whiteN), outside}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
