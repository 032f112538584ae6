package ses

import (
	"archive/zip"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/sm3"
	"github.com/sealpipe/sealpipe/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden summaries")

// vector is one file of the shared conformance corpus (MANIFEST.md) and the
// verdicts a correct verifier reaches on it.
type vector struct {
	// file is relative to the corpus: "ses/X", or "ofd/X.ofd:member" for a
	// member of an OFD package.
	file      string
	signature bool // SES_Signature (else SESeal)
	version   int

	makerErr error // VerifyMaker: nil or the sentinel it wraps
	signErr  error // Signature.Verify: nil or the sentinel it wraps

	hasSigner      bool // §7.3 c: the signer certificate is in the seal's certList
	validAtSigning bool // §7.3 d: seal window holds TimeInfo
	dataHashIsXML  bool // OFD: dataHash == SM3(Signature.xml beside it)
	timeStamp      bool // a timeStamp is present (none in the corpus is a valid token)
}

var vectors = []vector{
	// MANIFEST ses/: "parses; maker signature valid over DER SEQUENCE{SES_SealInfo, cert, signatureAlgorithm}".
	{file: "ses/UserV1.esl", version: 1},
	{file: "ses/UserV4.esl", version: 4},
	{file: "ses/UserV5.esl", version: 5},
	// "timestamp reported as not a valid token"
	{file: "ses/UserV5_ts.esl", version: 5, timeStamp: true},
	// "maker signature does NOT verify: must be reported as failed, not crash"
	{file: "ses/SESealData.DER", version: 4, makerErr: ErrSignature},
	// "signature over DER(TBS_Sign) valid; signer cert is in the seal's certList"
	{file: "ses/SignedValueV4.dat", signature: true, version: 4, hasSigner: true, validAtSigning: true},
	{file: "ses/SignedValueV5.dat", signature: true, version: 5, hasSigner: true, validAtSigning: true},

	// ofd/: "dataHash = SM3(Signature.xml), TBS and maker signatures valid"
	{file: "ofd/v4signed.ofd:Doc_0/Signs/Sign_0/SignedValue.dat", signature: true, version: 4, hasSigner: true, validAtSigning: true, dataHashIsXML: true},
	{file: "ofd/signedFile.ofd:Doc_0/Signs/Sign_0/SignedValue.dat", signature: true, version: 4, hasSigner: true, validAtSigning: true, dataHashIsXML: true},
	{file: "ofd/allprotected.ofd:Doc_0/Signs/Sign_0/SignedValue.dat", signature: true, version: 4, hasSigner: true, validAtSigning: true, dataHashIsXML: true},
	{file: "ofd/allprotected.ofd:Doc_0/Signs/Sign_0/Seal.esl", version: 4},
	// Signed in 2026 with the ofdrw test seal that expired in 2022: the
	// structure verifies, the seal window does not (INDETERMINATE upstream).
	{file: "ofd/SESV4SignDoc.ofd:Doc_0/Signs/Sign_0/SignedValue.dat", signature: true, version: 4, hasSigner: true, dataHashIsXML: true},
	{file: "ofd/V4RideRight.ofd:Doc_0/Signs/Sign_0/SignedValue.dat", signature: true, version: 4, hasSigner: true, validAtSigning: true, dataHashIsXML: true},
	// h.ofd's first signature fails on a reference, not on its SES structure.
	{file: "ofd/h.ofd:Doc_0/Signs/Sign_0/SignedValue.dat", signature: true, version: 4, hasSigner: true, validAtSigning: true, dataHashIsXML: true},
	{file: "ofd/h.ofd:Doc_0/Signs/Sign_1/SignedValue.dat", signature: true, version: 4, hasSigner: true, validAtSigning: true, dataHashIsXML: true},
	// 发票示例.ofd alters a document file: "the SES signature itself is intact".
	{file: "ofd/发票示例.ofd:Doc_0/Signs/Sign_0/SignedValue.dat", signature: true, version: 4, hasSigner: true, validAtSigning: true, dataHashIsXML: true},
	// n.ofd: "seal maker signature valid; document signature FAILED under the
	// standard". Its certList holds IA5String "1" (so no signer is listed),
	// its certificates carry a subjectAltName Go rejects, and its signature
	// is not over TBS_Sign (it is a bare SM2 signature taking dataHash as e).
	{file: "ofd/n.ofd:Doc_0/Signs/Sign_0/Seal.esl", version: 1},
	{file: "ofd/n.ofd:Doc_0/Signs/Sign_0/SignedValue.dat", signature: true, version: 1, signErr: ErrSignature, validAtSigning: true},
}

func (v vector) name() string {
	return strings.NewReplacer("/", "_", ":", "_").Replace(strings.TrimPrefix(strings.TrimPrefix(v.file, "ses/"), "ofd/"))
}

// load reads the vector's bytes, and for an OFD member the files beside it.
func (v vector) load(t testing.TB) (data []byte, siblings map[string][]byte) {
	t.Helper()
	dir := testenv.Conformance(t)
	pkg, member, inOFD := strings.Cut(v.file, ":")
	if !inOFD {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(v.file)))
		if err != nil {
			t.Fatal(err)
		}
		return b, nil
	}
	files := readZip(t, filepath.Join(dir, filepath.FromSlash(pkg)))
	data, ok := files[member]
	if !ok {
		t.Fatalf("%s has no %s", pkg, member)
	}
	siblings = map[string][]byte{}
	for name, b := range files {
		if path.Dir(name) == path.Dir(member) {
			siblings[path.Base(name)] = b
		}
	}
	return data, siblings
}

func readZip(t testing.TB, file string) map[string][]byte {
	t.Helper()
	z, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	files := map[string][]byte{}
	for _, f := range z.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %s: %v", file, f.Name, err)
		}
		files[f.Name] = b
	}
	return files
}

// TestVectors runs every conformance vector through every operation: parse,
// re-parse, cross-parse, verify, certificate-list membership, validity window,
// timestamp presence, tampering, and the golden summary.
func TestVectors(t *testing.T) {
	t.Parallel()
	for _, v := range vectors {
		t.Run(v.name(), func(t *testing.T) {
			t.Parallel()
			data, siblings := v.load(t)
			var seal *Seal
			var summary string
			if v.signature {
				sig := testSignatureVector(t, v, data, siblings)
				seal, summary = sig.Seal, describeSignature(sig)
			} else {
				seal = testSealVector(t, v, data)
				summary = describeSeal(seal)
			}
			testTamper(t, v, data)
			if !seal.ValidAt(seal.ValidStart) || !seal.ValidAt(seal.ValidEnd) ||
				seal.ValidAt(seal.ValidStart.Add(-time.Second)) || seal.ValidAt(seal.ValidEnd.Add(time.Second)) {
				t.Errorf("ValidAt disagrees with the window %s – %s", seal.ValidStart, seal.ValidEnd)
			}
			checkGolden(t, v.name(), summary)
		})
	}
}

func testSealVector(t *testing.T, v vector, data []byte) *Seal {
	s, err := ParseSeal(data)
	if err != nil {
		t.Fatalf("ParseSeal: %v", err)
	}
	if _, err := ParseSignature(data); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseSignature on a seal: got %v, want ErrMalformed", err)
	}
	checkSeal(t, v, s, data)
	return s
}

func checkSeal(t *testing.T, v vector, s *Seal, data []byte) {
	t.Helper()
	if s.Version != v.version {
		t.Errorf("Version = %d, want %d", s.Version, v.version)
	}
	if !bytes.Equal(s.Raw, data) {
		t.Errorf("Raw is not the input")
	}
	again, err := ParseSeal(s.Raw)
	if err != nil {
		t.Fatalf("re-parse of Raw: %v", err)
	}
	if !reflect.DeepEqual(again, s) {
		t.Errorf("re-parse of Raw gives different fields")
	}
	cert, err := s.VerifyMaker()
	switch {
	case v.makerErr == nil && err != nil:
		t.Errorf("VerifyMaker: %v, want success", err)
	case v.makerErr == nil && !bytes.Equal(cert.Raw, s.MakerCert):
		t.Errorf("VerifyMaker returned a certificate other than MakerCert")
	case v.makerErr != nil && !errors.Is(err, v.makerErr):
		t.Errorf("VerifyMaker: %v, want an error wrapping %v", err, v.makerErr)
	case v.makerErr != nil && cert != nil:
		t.Errorf("VerifyMaker failed but returned a certificate")
	}
	if got := s.TimeStamp != nil; got != v.timeStamp {
		t.Errorf("TimeStamp present = %v, want %v", got, v.timeStamp)
	}
	if s.TimeStamp != nil {
		// MANIFEST: the ofdrw dummy is "not a valid token".
		if _, err := pkcs7.Parse(s.TimeStamp); err == nil {
			t.Errorf("TimeStamp % x parses as a CMS token", s.TimeStamp)
		}
	}
	for i, c := range s.Certs {
		if !s.HasSigner(c) {
			t.Errorf("HasSigner(Certs[%d]) = false", i)
		}
	}
	if s.HasSigner(s.MakerCert) && !containsBytes(s.Certs, s.MakerCert) {
		t.Errorf("HasSigner(MakerCert) = true although certList does not hold it")
	}
}

func testSignatureVector(t *testing.T, v vector, data []byte, siblings map[string][]byte) *Signature {
	sig, err := ParseSignature(data)
	if err != nil {
		t.Fatalf("ParseSignature: %v", err)
	}
	if _, err := ParseSeal(data); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseSeal on a signature: got %v, want ErrMalformed", err)
	}
	if sig.Version != v.version {
		t.Errorf("Version = %d, want %d", sig.Version, v.version)
	}
	if !bytes.Equal(sig.Raw, data) {
		t.Errorf("Raw is not the input")
	}
	again, err := ParseSignature(sig.Raw)
	if err != nil {
		t.Fatalf("re-parse of Raw: %v", err)
	}
	if !reflect.DeepEqual(again, sig) {
		t.Errorf("re-parse of Raw gives different fields")
	}
	if !bytes.Contains(sig.SignedData(), sig.Seal.Raw) {
		t.Errorf("TBS_Sign does not cover the embedded seal")
	}

	// The embedded seal is a seal vector of its own.
	checkSeal(t, vector{version: v.version}, sig.Seal, sig.Seal.Raw)
	if esl, ok := siblings["Seal.esl"]; ok && !bytes.Equal(esl, sig.Seal.Raw) {
		t.Errorf("embedded seal differs from the Seal.esl beside it")
	}

	cert, err := sig.Verify()
	switch {
	case v.signErr == nil && err != nil:
		t.Errorf("Verify: %v, want success", err)
	case v.signErr == nil && !bytes.Equal(cert.Raw, sig.Cert):
		t.Errorf("Verify returned a certificate other than Cert")
	case v.signErr != nil && !errors.Is(err, v.signErr):
		t.Errorf("Verify: %v, want an error wrapping %v", err, v.signErr)
	}
	if got := sig.Seal.HasSigner(sig.Cert); got != v.hasSigner {
		t.Errorf("Seal.HasSigner(Cert) = %v, want %v", got, v.hasSigner)
	}
	if got := sig.Seal.ValidAt(sig.TimeInfo); got != v.validAtSigning {
		t.Errorf("Seal.ValidAt(TimeInfo %s) = %v, want %v", sig.TimeInfo, got, v.validAtSigning)
	}
	if sig.TimeInfo.IsZero() {
		t.Errorf("TimeInfo %q not decoded", sig.TimeInfoRaw)
	}
	if xml, ok := siblings["Signature.xml"]; ok {
		h := sm3.Sum(xml)
		if got := bytes.Equal(sig.DataHash, h[:]); got != v.dataHashIsXML {
			t.Errorf("dataHash == SM3(Signature.xml): %v, want %v", got, v.dataHashIsXML)
		}
		if !strings.HasSuffix(sig.PropertyInfo, "/Signature.xml") {
			t.Errorf("PropertyInfo %q does not name a Signature.xml", sig.PropertyInfo)
		}
	} else if v.dataHashIsXML {
		t.Errorf("no Signature.xml beside %s", v.file)
	}
	return sig
}

// testTamper flips bytes of the vector and requires that whenever the signed
// bytes change, verification fails (ErrMalformed or ErrSignature) and never
// panics. Every 41st byte is tried, the signed region's first and last too.
func testTamper(t *testing.T, v vector, data []byte) {
	t.Helper()
	type parsed interface {
		signedData() []byte
		verify() error
	}
	parse := func(b []byte) (parsed, error) {
		if v.signature {
			s, err := ParseSignature(b)
			if err != nil {
				return nil, err
			}
			return signatureVerifier{s}, nil
		}
		s, err := ParseSeal(b)
		if err != nil {
			return nil, err
		}
		return sealVerifier{s}, nil
	}
	orig, err := parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if orig.verify() != nil {
		return // nothing to break
	}
	signed := orig.signedData()
	positions := []int{}
	if i := bytes.Index(data, signed); i >= 0 {
		positions = append(positions, i, i+len(signed)-1)
	}
	for i := 0; i < len(data); i += 41 {
		positions = append(positions, i)
	}
	tried := 0
	for _, i := range positions {
		b := bytes.Clone(data)
		b[i] ^= 0x01
		p, err := parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("byte %d flipped: parse error %v does not wrap ErrMalformed", i, err)
			}
			continue
		}
		if bytes.Equal(p.signedData(), signed) {
			continue // outside the signed bytes (signature value, certificate of a v4 seal…)
		}
		tried++
		if err := p.verify(); !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("byte %d flipped inside the signed data: verify = %v, want ErrSignature", i, err)
		}
	}
	if tried == 0 {
		t.Fatalf("no tampered copy reached verification")
	}
}

type sealVerifier struct{ s *Seal }

func (x sealVerifier) signedData() []byte { return x.s.SignedData() }
func (x sealVerifier) verify() error      { _, err := x.s.VerifyMaker(); return err }

type signatureVerifier struct{ s *Signature }

func (x signatureVerifier) signedData() []byte { return x.s.SignedData() }
func (x signatureVerifier) verify() error      { _, err := x.s.Verify(); return err }

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// checkGolden compares a summary with testdata/<name>.golden, or rewrites it
// under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("summary differs from %s (run go test -update after checking):\n--- got\n%s--- want\n%s", file, got, want)
	}
}

// describeSeal renders the decoded fields in a stable text form.
func describeSeal(s *Seal) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("version: %d", s.Version)
	w("vendor: %q", s.VendorID)
	w("esID: %q", s.ID)
	w("type: %d", s.Type)
	w("name: %q", s.Name)
	w("certListType: %d", s.CertListType)
	for _, c := range s.Certs {
		w("cert: %d bytes sm3 %s", len(c), shortHash(c))
	}
	for _, d := range s.CertDigests {
		w("certDigest: %q %x", d.Type, d.Value)
	}
	w("createDate: %s", s.CreateDate.Format(time.RFC3339Nano))
	w("validity: %s – %s", s.ValidStart.Format(time.RFC3339Nano), s.ValidEnd.Format(time.RFC3339Nano))
	w("picture: %q %d×%d mm, %d bytes sm3 %s", s.Picture.Type, s.Picture.WidthMM, s.Picture.HeightMM, len(s.Picture.Data), shortHash(s.Picture.Data))
	for _, x := range s.Extensions {
		w("extension: %v critical=%v %q", x.ID, x.Critical, x.Value)
	}
	w("makerCert: %d bytes sm3 %s", len(s.MakerCert), shortHash(s.MakerCert))
	w("signatureAlgorithm: %v", s.SignatureAlgorithm)
	w("signatureValue: %d bytes", len(s.SignatureValue))
	if s.TimeStamp != nil {
		w("timeStamp: %x", s.TimeStamp)
	}
	w("signedData: %d bytes sm3 %s", len(s.SignedData()), shortHash(s.SignedData()))
	return b.String()
}

func describeSignature(s *Signature) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("version: %d", s.Version)
	w("timeInfo: %s (%q)", s.TimeInfo.Format(time.RFC3339Nano), s.TimeInfoRaw)
	w("dataHash: %x", s.DataHash)
	w("propertyInfo: %q", s.PropertyInfo)
	for _, x := range s.Extensions {
		w("extension: %v critical=%v %q", x.ID, x.Critical, x.Value)
	}
	w("cert: %d bytes sm3 %s", len(s.Cert), shortHash(s.Cert))
	w("signatureAlgorithm: %v", s.SignatureAlgorithm)
	w("signatureValue: %d bytes", len(s.SignatureValue))
	if s.TimeStamp != nil {
		w("timeStamp: %x", s.TimeStamp)
	}
	w("signedData: %d bytes sm3 %s", len(s.SignedData()), shortHash(s.SignedData()))
	w("seal:")
	for _, line := range strings.SplitAfter(describeSeal(s.Seal), "\n") {
		if line != "" {
			b.WriteString("  " + line)
		}
	}
	return b.String()
}

func shortHash(b []byte) string {
	h := sm3.Sum(b)
	return fmt.Sprintf("%x", h[:8])
}
