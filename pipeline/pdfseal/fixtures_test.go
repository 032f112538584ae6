package pdfseal

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
)

// testKey is a signing key with a self-signed certificate.
type testKey struct {
	signer crypto.Signer
	cert   *smx509.Certificate
}

var (
	keyOnce          sync.Once
	sm2Key, ecdsaKey testKey
	rsaOnce          sync.Once
	rsaKey           testKey
)

// rsaTestKey returns an RSA-2048 key, made once per test binary.
func rsaTestKey(t testing.TB) testKey {
	t.Helper()
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		rsaKey = testKey{k, selfSigned(t, k, "sealpipe test RSA seal")}
	})
	return rsaKey
}

// keys returns an SM2 and an ECDSA P-256 key, made once per test binary.
func keys(t testing.TB) (sm2K, ecK testKey) {
	t.Helper()
	keyOnce.Do(func() {
		sk := testpki.NewKey(t)
		sm2Key = testKey{sk, selfSigned(t, sk, "sealpipe test SM2 seal")}
		ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		ecdsaKey = testKey{ek, selfSigned(t, ek, "sealpipe test P-256 seal")}
	})
	return sm2Key, ecdsaKey
}

// selfSigned returns a certificate for key, signed by itself, for
// signing documents.
func selfSigned(t testing.TB, key crypto.Signer, cn string) *smx509.Certificate {
	t.Helper()
	return testpki.Issue(t, &smx509.Certificate{
		Subject:   pkix.Name{CommonName: cn, Organization: []string{"sealpipe tests"}},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:  smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
	}, key, nil)
}

// sealPNG draws a w×h test seal: the top half opaque red, the bottom half
// opaque blue, and a fully transparent vertical stripe down the middle
// fifth, so renders can check colour, orientation and the soft mask.
func sealPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 220, G: 20, B: 20, A: 255}
			if y >= h/2 {
				c = color.NRGBA{R: 20, G: 20, B: 220, A: 255}
			}
			if x >= 2*w/5 && x < 3*w/5 {
				c = color.NRGBA{}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// solidPNG is an opaque single-colour picture.
func solidPNG(t testing.TB, c color.NRGBA) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// conformance reads a file of the shared corpus in place.
func conformance(t testing.TB, rel string) []byte {
	t.Helper()
	return testenv.ConformanceFile(t, rel)
}

// run runs an external tool and returns its combined output; it fails the
// test if the tool fails.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := runErr(t, name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

func runErr(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.Tool(t, name), args...).CombinedOutput()
	return string(out), err
}

// qpdf runs qpdf with args, the last being the output file name in a
// temporary directory, and returns the output's bytes.
func qpdf(t testing.TB, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.pdf")
	run(t, "qpdf", append(args, out)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeTemp writes b to a file in a temporary directory.
func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// seal seals in with opts' key defaults and fails the test on error.
func seal(t testing.TB, in []byte, opts Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := Seal(context.Background(), &out, in, opts); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if !bytes.HasPrefix(out.Bytes(), in) {
		t.Fatalf("the input (%d bytes) is not a prefix of the output (%d bytes)", len(in), out.Len())
	}
	return out.Bytes()
}

// textPDF builds a document of n pages of filler text, about perPage bytes
// of uncompressed content each.
func textPDF(n, perPage int) []byte {
	objs := []string{"<</Type/Catalog/Pages 2 0 R>>", "", "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"}
	var kids []string
	for p := range n {
		var c bytes.Buffer
		c.WriteString("BT /F1 9 Tf 40 800 Td 11 TL\n")
		for line := 0; c.Len() < perPage; line++ {
			fmt.Fprintf(&c, "(Page %d line %d: the quick brown fox jumps over the lazy dog.) '\n", p+1, line)
		}
		c.WriteString("ET")
		content := len(objs) + 1
		objs = append(objs, fmt.Sprintf("<</Length %d>>\nstream\n%s\nendstream", c.Len(), c.String()))
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)+1))
		objs = append(objs, fmt.Sprintf("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 3 0 R>>>>/Contents %d 0 R>>", content))
	}
	objs[1] = fmt.Sprintf("<</Type/Pages/Count %d/Kids[%s]>>", n, strings.Join(kids, " "))
	return pdfsealtest.Build(objs, "/Root 1 0 R")
}

// options returns sealing options for key k with the test picture.
func options(t testing.TB, k testKey, page int) Options {
	t.Helper()
	return Options{
		Signer:    k.signer,
		Chain:     []*smx509.Certificate{k.cert},
		Image:     sealPNG(t, 120, 120),
		Placement: Placement{Page: page, X: 100, Y: 150, Width: 40, Height: 40},
		Time:      time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("CST", 8*3600)),
		Name:      "测试专用章",
		Reason:    "电子印章 33010200000001",
		Location:  "Hangzhou",
	}
}
