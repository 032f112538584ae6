package verify_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/ofdseal"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/verify"
)

// conformanceOFD reads an OFD of the conformance corpus in place.
func conformanceOFD(t *testing.T, name string) []byte {
	t.Helper()
	return testenv.ConformanceFile(t, "ofd", name)
}

// userCert is the certificate of ofdrw's USER.p12, which made
// DigitalSign.ofd's bare SM2 signature. gmsm has no PKCS#12 decoder, so
// OpenSSL takes it out (as pipeline/trust's tests do for ROOT.p12).
func userCert(t *testing.T) *smx509.Certificate {
	t.Helper()
	openssl := testenv.Tool(t, "openssl")
	out, err := exec.Command(openssl, "pkcs12", "-legacy", "-in", filepath.Join(testenv.Conformance(t), "keys", "USER.p12"),
		"-passin", "pass:777777", "-nokeys").Output()
	if err != nil {
		t.Fatalf("openssl pkcs12: %v", err)
	}
	certs, err := trust.ParseCertificatesPEM(out)
	if err != nil || len(certs) == 0 {
		t.Fatalf("USER.p12: %d certificates, %v", len(certs), err)
	}
	return certs[0]
}

func checksOf(s report.Signature) map[string]report.Check {
	m := map[string]report.Check{}
	for _, c := range s.Checks {
		m[c.Name] = c
	}
	return m
}

// TestConformanceOFDs runs every OFD of the corpus through the public
// verifier and checks its MANIFEST verdict. The corpus chains are expired
// test chains nobody trusts, so "valid" reads INDETERMINATE with every
// cryptographic and coverage check passed; a failure names its check.
func TestConformanceOFDs(t *testing.T) {
	t.Parallel()
	v := &verify.Verifier{Trust: trust.NewPool(nil)}
	const passedCrypto = ""
	tests := []struct {
		file string
		opts func(t *testing.T) []ofdseal.Option
		doc  report.Indication
		// failed names, per signature, the check that must fail ("" for a
		// valid signature: signature-value, references and modifications
		// must pass, nothing may fail).
		failed []string
		sub    []string // the failing check's sub-indication
	}{
		{file: "v4signed.ofd", doc: report.Indeterminate, failed: []string{passedCrypto}},
		{file: "signedFile.ofd", doc: report.Indeterminate, failed: []string{passedCrypto}},
		{file: "allprotected.ofd", doc: report.Indeterminate, failed: []string{passedCrypto}},
		{file: "SESV4SignDoc.ofd", doc: report.Indeterminate, failed: []string{passedCrypto}},
		{file: "V4RideRight.ofd", doc: report.Indeterminate, failed: []string{passedCrypto}},
		{file: "DigitalSign.ofd", doc: report.Indeterminate, failed: []string{passedCrypto},
			opts: func(t *testing.T) []ofdseal.Option { return []ofdseal.Option{ofdseal.WithCertificates(userCert(t))} }},
		{file: "testImageNotFound.ofd", doc: report.Indeterminate, failed: []string{passedCrypto, passedCrypto}},
		{file: "发票示例.ofd", doc: report.Failed, failed: []string{"references"}, sub: []string{report.SubHashFailure}},
		{file: "h.ofd", doc: report.Failed, failed: []string{"references", passedCrypto}, sub: []string{report.SubHashFailure, ""}},
		{file: "n.ofd", doc: report.Failed, failed: []string{"signature-value"}, sub: []string{report.SubSigCryptoFailure}},
		{file: "hello-integrity.ofd", doc: report.Indeterminate},
		{file: "helloworld.ofd", doc: report.Indeterminate},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			var opts []ofdseal.Option
			if tt.opts != nil {
				opts = tt.opts(t)
			}
			doc, err := v.OFD(context.Background(), tt.file, conformanceOFD(t, tt.file), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Indication != tt.doc || len(doc.Signatures) != len(tt.failed) {
				t.Fatalf("%s with %d signatures, want %s with %d", doc.Indication, len(doc.Signatures), tt.doc, len(tt.failed))
			}
			for i, s := range doc.Signatures {
				checks := checksOf(s)
				if name := tt.failed[i]; name != "" {
					if c := checks[name]; c.Result != report.NotOK || c.SubIndication != tt.sub[i] {
						t.Errorf("%s: check %s = %+v, want FAILED with %s", s.Field, name, c, tt.sub[i])
					}
					continue
				}
				for _, name := range []string{"signature-value", "references", "modifications"} {
					if c := checks[name]; c.Result != report.OK {
						t.Errorf("%s: %s = %+v", s.Field, name, c)
					}
				}
				for _, c := range s.Checks {
					if c.Result == report.NotOK {
						t.Errorf("%s: %s failed: %+v", s.Field, c.Name, c)
					}
				}
				if c := checks["signer-certificate"]; c.Result != report.Unknown {
					t.Errorf("%s: signer-certificate %+v, want INDETERMINATE", s.Field, c)
				}
			}
		})
	}
	// n.ofd: "seal maker signature valid".
	doc, err := v.OFD(context.Background(), "n.ofd", conformanceOFD(t, "n.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	if c := checksOf(doc.Signatures[0])["seal-maker-signature"]; c.Result != report.OK {
		t.Errorf("n.ofd seal-maker-signature %+v", c)
	}
	// DigitalSign.ofd without its certificate: the signer is unknown.
	doc, err = v.OFD(context.Background(), "DigitalSign.ofd", conformanceOFD(t, "DigitalSign.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	if c := checksOf(doc.Signatures[0])["signature-value"]; doc.Indication != report.Indeterminate || c.Result != report.Unknown || c.SubIndication != report.SubNoChain {
		t.Errorf("DigitalSign.ofd without a certificate: %s, signature-value %+v", doc.Indication, c)
	}
}

// rewrite returns a copy of an OFD package with change applied to each
// member's bytes and extra members appended.
func rewrite(t *testing.T, in []byte, change func(name string, b []byte) []byte, extra map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	write := func(name string, b []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if change != nil {
			b = change(f.Name, bytes.Clone(b))
		}
		write(f.Name, b)
	}
	for name, b := range extra {
		write(name, b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// flip changes one byte of the member named target: the byte at the
// first occurrence of marker plus off.
func flip(target, marker string, off int) func(string, []byte) []byte {
	return func(name string, b []byte) []byte {
		if name == target {
			if i := bytes.Index(b, []byte(marker)); i >= 0 {
				b[i+off] ^= 0x01
			}
		}
		return b
	}
}

// TestTamperOFD changes a sealed OFD after sealing: one byte of a page's
// content, of Signature.xml, of the seal picture (inside the signature and
// in the seal file), or a page file added. Each is FAILED naming its check.
func TestTamperOFD(t *testing.T) {
	t.Parallel()
	v := &verify.Verifier{Trust: trust.NewPool(nil)}
	orig := conformanceOFD(t, "SESV4SignDoc.ofd")
	const sig = "Doc_0/Signs/Sign_0/"
	tests := []struct {
		name   string
		in     []byte
		check  string
		sub    string
		detail string
	}{
		{"page content", rewrite(t, orig, flip("Doc_0/Pages/Page_0/Content.xml", "<ofd:Content", 5), nil), "references", report.SubHashFailure, "Content.xml"},
		{"Signature.xml", rewrite(t, orig, flip(sig+"Signature.xml", "ofdrw-sign", 2), nil), "signature-value", report.SubHashFailure, "dataHash"},
		{"seal picture in SignedValue.dat", rewrite(t, orig, flip(sig+"SignedValue.dat", "IHDR", 8), nil), "signature-value", report.SubSigCryptoFailure, "signature"},
		{"seal picture in Seal.esl", rewrite(t, orig, flip(sig+"Seal.esl", "IHDR", 8), nil), "references", report.SubHashFailure, "Seal.esl"},
		{"page file added", rewrite(t, orig, nil, map[string][]byte{"Doc_0/Pages/Page_1/Content.xml": []byte(`<?xml version="1.0"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"/>`)}),
			"modifications", verify.SubModifiedAfterSigning, "Doc_0/Pages/Page_1/Content.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if bytes.Equal(tt.in, orig) {
				t.Fatal("nothing changed")
			}
			doc, err := v.OFD(context.Background(), "x.ofd", tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Indication != report.Failed || len(doc.Signatures) != 1 {
				t.Fatalf("%s with %d signatures, want TOTAL_FAILED", doc.Indication, len(doc.Signatures))
			}
			c := checksOf(doc.Signatures[0])[tt.check]
			if c.Result != report.NotOK || c.SubIndication != tt.sub || !bytes.Contains([]byte(c.Detail), []byte(tt.detail)) {
				t.Errorf("check %s = %+v, want FAILED with %s mentioning %q", tt.check, c, tt.sub, tt.detail)
			}
		})
	}
}
