package pdfseal

// The signature formats (issue 11 item 6), each sealed and checked by
// Verify and by tools that share no code with this package: qpdf
// (structure), poppler's pdfsig (NSS: PAdES valid, whole document,
// trusted once the test root is in its database; the signer of an SM2 CMS
// with PKCS#7 OIDs named), OpenSSL 3 (the SM2 signature values, the
// PAdES CMS, the timestamp tokens).

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/cms"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/tsa"
)

// formatPKI is an ECDSA P-256 root (what NSS and OpenSSL can verify) with
// ECDSA and RSA document signers and an ECDSA TSA under it, an SM2 TSA, and
// a GB/T 38540 seal listing the SM2 and the ECDSA signers.
type formatPKI struct {
	root          *testpki.Identity
	ec, rsa, sm2  testKey
	seal          []byte
	ecTSA, sm2TSA *tsa.Authority
}

var (
	formatPKIOnce, formatRSAOnce sync.Once
	fpki                         formatPKI
)

// newFormatPKI returns the test PKI, its RSA signer included.
func newFormatPKI(t testing.TB) formatPKI {
	t.Helper()
	basePKI(t)
	formatRSAOnce.Do(func() {
		fpki.rsa = testKey{rsaTestKey(t).signer, testpki.Issue(t, &smx509.Certificate{
			Subject:   pkix.Name{CommonName: "sealpipe test PAdES RSA signer", Organization: []string{"sealpipe tests"}},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
			KeyUsage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		}, rsaTestKey(t).signer, fpki.root)}
	})
	return fpki
}

// basePKI makes the test PKI but its RSA signer, whose key generation is
// slow in an instrumented fuzz worker.
func basePKI(t testing.TB) formatPKI {
	t.Helper()
	formatPKIOnce.Do(func() {
		sm2K, _ := keys(t)
		p256 := func() *ecdsa.PrivateKey {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		from, to := time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0)
		rootKey := p256()
		fpki.root = &testpki.Identity{Key: rootKey, Cert: testpki.Issue(t, &smx509.Certificate{
			Subject:   pkix.Name{CommonName: "sealpipe test ECDSA root", Organization: []string{"sealpipe tests"}},
			NotBefore: from, NotAfter: to.AddDate(1, 0, 0),
			KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		}, rootKey, nil)}
		signer := func(key crypto.Signer, cn string) testKey {
			return testKey{key, testpki.Issue(t, &smx509.Certificate{
				Subject:   pkix.Name{CommonName: cn, Organization: []string{"sealpipe tests"}},
				NotBefore: from, NotAfter: to,
				KeyUsage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
			}, key, fpki.root)}
		}
		fpki.ec = signer(p256(), "sealpipe test PAdES P-256 signer")
		fpki.sm2 = sm2K
		tsaCert := func(key crypto.Signer, cn string, parent *testpki.Identity) *tsa.Authority {
			cert := testpki.Issue(t, &smx509.Certificate{
				Subject: pkix.Name{CommonName: cn}, NotBefore: from, NotAfter: to,
				KeyUsage:        smx509.KeyUsageDigitalSignature,
				ExtraExtensions: []pkix.Extension{tsa.EKUExtension()},
			}, key, parent)
			a, err := tsa.NewAuthority(key, []*smx509.Certificate{cert})
			if err != nil {
				t.Fatal(err)
			}
			a.Log = slog.New(slog.DiscardHandler)
			return a
		}
		fpki.ecTSA = tsaCert(p256(), "sealpipe test ECDSA TSA", fpki.root)
		fpki.sm2TSA = tsaCert(testpki.NewKey(t), "sealpipe test SM2 TSA", nil)

		makerKey, makerCert := testpki.SelfSigned(t, "sealpipe test seal maker")
		seal, err := ses.MakeSeal(rand.Reader, ses.MakeSealRequest{
			VendorID: "sealpipe", ID: "33010200000001", Type: ses.TypeUnit, Name: "测试专用章",
			SignerCerts: [][]byte{sm2K.cert.Raw, fpki.ec.cert.Raw},
			CreateDate:  from, ValidStart: from, ValidEnd: to,
			Picture: ses.Picture{Type: "PNG", Data: sealPNG(t, 120, 120), WidthMM: 40, HeightMM: 40},
		}, makerKey, makerCert.Raw)
		if err != nil {
			t.Fatal(err)
		}
		fpki.seal = seal
	})
	return fpki
}

// tsaServer serves the two test TSAs (/sm2, /ecdsa) until t ends.
func tsaServer(t *testing.T, p formatPKI) string {
	t.Helper()
	srv := httptest.NewServer(&tsa.Mux{SM2: p.sm2TSA, ECDSA: p.ecTSA})
	t.Cleanup(srv.Close)
	return srv.URL
}

// formatCase is one format and key.
type formatCase struct {
	name   string
	format Format
	key    testKey
	tsa    string // "", "/ecdsa" or "/sm2": the TSA that stamps
	hash   tsa.Hash
	want   Format // what Verify reads
}

func formatCases(p formatPKI) []formatCase {
	return []formatCase{
		{name: "default SM2", key: p.sm2, want: FormatGMT0010},
		{name: "gmt0010 SM2", format: FormatGMT0010, key: p.sm2, want: FormatGMT0010},
		{name: "gmt0010 SM2 timestamped", format: FormatGMT0010, key: p.sm2, tsa: "/sm2", hash: tsa.SM3, want: FormatGMT0010},
		{name: "pkcs7 SM2", format: FormatPKCS7, key: p.sm2, want: FormatPKCS7},
		{name: "ses SM2", format: FormatSES, key: p.sm2, want: FormatSES},
		{name: "ses SM2 timestamped", format: FormatSES, key: p.sm2, tsa: "/sm2", hash: tsa.SM3, want: FormatSES},
		{name: "ses ECDSA P-256", format: FormatSES, key: p.ec, want: FormatSES},
		{name: "pades-b-b ECDSA P-256", format: FormatPAdESBB, key: p.ec, want: FormatPAdESBB},
		{name: "pades-b-b RSA-2048", format: FormatPAdESBB, key: p.rsa, want: FormatPAdESBB},
		{name: "pades-b-t ECDSA P-256", format: FormatPAdESBT, key: p.ec, tsa: "/ecdsa", want: FormatPAdESBT},
		{name: "pades-b-t RSA-2048", format: FormatPAdESBT, key: p.rsa, tsa: "/ecdsa", hash: tsa.SHA512, want: FormatPAdESBT},
	}
}

// sealFormat seals hello.pdf in tc's format.
func sealFormat(t *testing.T, p formatPKI, tc formatCase, tsaURL string) []byte {
	t.Helper()
	return seal(t, conformance(t, "pdf/hello.pdf"), formatOptions(t, p, tc, tsaURL))
}

// formatOptions are the options of tc's format, stamped by the test TSA
// at tsaURL if tc says so.
func formatOptions(t *testing.T, p formatPKI, tc formatCase, tsaURL string) Options {
	t.Helper()
	opts := options(t, tc.key, 1)
	opts.Format, opts.SealData = tc.format, p.seal
	if tc.tsa != "" {
		opts.TimeStamper = &tsa.Client{URL: tsaURL + tc.tsa, Hash: tc.hash}
	}
	return opts
}

// TestFormats seals in each format and checks the output with Verify,
// qpdf, pdfsig and OpenSSL.
func TestFormats(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"qpdf", "pdfsig", "openssl", "certutil"} {
		testenv.Tool(t, tool) // skip (or fail under CI) before sealing if missing
	}
	p := newFormatPKI(t)
	tsaURL := tsaServer(t, p)
	nss := testenv.NSSDB(t, p.root.Cert.Raw)
	for _, tc := range formatCases(p) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := sealFormat(t, p, tc, tsaURL)
			file := writeTemp(t, "sealed.pdf", out)
			br, contents, covered := signedParts(t, out)

			// Verify.
			results, err := Verify(context.Background(), out)
			if err != nil || len(results) != 1 {
				t.Fatalf("Verify: %d results, %v", len(results), err)
			}
			r := results[0]
			if r.Status != Valid || r.Err != nil || r.Format != tc.want || !r.CoversWholeFile ||
				r.Signer == nil || !r.Signer.Equal(tc.key.cert) || !bytes.Equal(r.SealData, p.seal) {
				t.Errorf("Verify: %s %v, format %q, whole file %v, signer %v, seal %d bytes", r.Status, r.Err, r.Format, r.CoversWholeFile, r.Signer != nil, len(r.SealData))
			}
			if (r.TimeStamp != nil) != (tc.tsa != "") {
				t.Errorf("Verify: timestamp %v, stamped by %q", r.TimeStamp, tc.tsa)
			}
			wantSub := map[Format]string{FormatSES: SubFilterSES, FormatPAdESBB: SubFilterCAdES, FormatPAdESBT: SubFilterCAdES}[tc.want]
			if wantSub == "" {
				wantSub = SubFilterPKCS7
			}
			if r.SubFilter != wantSub {
				t.Errorf("SubFilter %q, want %q", r.SubFilter, wantSub)
			}

			// qpdf.
			if msg := run(t, "qpdf", "--check", file); !strings.Contains(msg, "No syntax or stream encoding errors found") {
				t.Errorf("qpdf --check:\n%s", msg)
			}

			// pdfsig, with the test root trusted.
			msg, _ := runErr(t, "pdfsig", "-nssdir", nss, file)
			t.Logf("pdfsig:\n%s", msg)
			if !strings.Contains(msg, "Signature Field Name: Seal1") || !strings.Contains(msg, "Signature Type: ") {
				t.Errorf("pdfsig does not list the signature")
			}
			switch tc.want {
			case FormatPAdESBB, FormatPAdESBT:
				for _, want := range []string{"Signature Type: ETSI.CAdES.detached", "Signature Validation: Signature is Valid.",
					"Total document signed", "Certificate Validation: Certificate is Trusted.",
					"Signer Certificate Common Name: " + tc.key.cert.Subject.CommonName} {
					if !strings.Contains(msg, want) {
						t.Errorf("pdfsig does not say %q", want)
					}
				}
			case FormatPKCS7:
				if want := "Signer Certificate Common Name: " + tc.key.cert.Subject.CommonName; !strings.Contains(msg, want) {
					t.Errorf("pdfsig does not say %q", want)
				}
			}

			// OpenSSL.
			switch tc.want {
			case FormatGMT0010:
				opensslCheckSM2Attrs(t, contents, covered, tc.key)
			case FormatPKCS7:
				// OpenSSL 3.0 reads this CMS (cms -print) but its cms -verify
				// checks SM2 with an empty signer ID, not the default one
				// (STANDARDS.md): the signature value is checked as for
				// gmt0010.
				opensslCheckSM2Attrs(t, contents, covered, tc.key)
				printed := run(t, "openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", writeTemp(t, "cms.der", contents))
				for _, want := range []string{"contentType: pkcs7-signedData", "eContentType: pkcs7-data", "algorithm: sm3", "CN=" + tc.key.cert.Subject.CommonName} {
					if !strings.Contains(printed, want) {
						t.Errorf("openssl cms -print does not say %q:\n%s", want, printed)
					}
				}
			case FormatSES:
				opensslCheckSES(t, contents, covered, tc.key)
			case FormatPAdESBB, FormatPAdESBT:
				opensslCMSVerify(t, contents, covered, p.root.Cert)
				printed := run(t, "openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", writeTemp(t, "cms.der", contents))
				signedAttrs, _, _ := strings.Cut(printed, "unsignedAttrs:") // a timestamp token has a signingTime of its own
				if !strings.Contains(signedAttrs, "id-smime-aa-signingCertificateV2") || strings.Contains(signedAttrs, "signingTime") {
					t.Errorf("openssl cms -print: want signingCertificateV2 and no signingTime among the signed attributes")
				}
			}
			if tc.tsa != "" {
				opensslCheckToken(t, contents, tc)
			}
			_ = br
		})
	}
}

// opensslCheckSM2Attrs checks the SM2 signature of a CMS with OpenSSL:
// the signed attributes, as a SET, verify under the signer's key with SM3
// and the default ID, and their messageDigest is OpenSSL's SM3 of the
// ByteRange bytes.
func opensslCheckSM2Attrs(t *testing.T, cms, covered []byte, k testKey) {
	t.Helper()
	ci := children(t, cms)
	sd := children(t, ci[1].Bytes)
	si := children(t, children(t, sd[len(sd)-1].FullBytes)[0].FullBytes)
	attrs := bytes.Clone(si[3].FullBytes)
	attrs[0] = 0x31
	var sig []byte
	if _, err := asn1.Unmarshal(si[5].FullBytes, &sig); err != nil {
		t.Fatal(err)
	}
	spki, _ := smx509.MarshalPKIXPublicKey(k.cert.PublicKey)
	if !testenv.OpenSSLVerify(t, spki, attrs, sig, true) {
		t.Error("openssl pkeyutl -verify (SM2, SM3, distid 1234567812345678) refuses the signed attributes")
	}
	tampered := bytes.Clone(attrs)
	tampered[len(tampered)-1] ^= 1
	if testenv.OpenSSLVerify(t, spki, tampered, sig, true) {
		t.Error("openssl accepted tampered attributes")
	}
	var md []byte
	for _, a := range children(t, attrs) {
		kv := children(t, a.FullBytes)
		var oid asn1.ObjectIdentifier
		asn1.Unmarshal(kv[0].FullBytes, &oid)
		if oid.Equal(oidAttrMessageDigest) {
			asn1.Unmarshal(children(t, kv[1].FullBytes)[0].FullBytes, &md)
		}
	}
	if want := opensslSM3(t, covered); !bytes.Equal(md, want) {
		t.Errorf("messageDigest %x, openssl dgst -sm3 of the ByteRange bytes %x", md, want)
	}
}

// opensslSM3 is `openssl dgst -sm3` of b.
func opensslSM3(t *testing.T, b []byte) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dgst")
	run(t, "openssl", "dgst", "-sm3", "-binary", "-out", out, writeTemp(t, "data.bin", b))
	sum, err := os.ReadFile(out)
	if err != nil || len(sum) != 32 {
		t.Fatalf("openssl dgst -sm3: %v, %d bytes", err, len(sum))
	}
	return sum
}

// opensslCMSVerify runs `openssl cms -verify` over the ByteRange bytes,
// which recomputes the digest and checks the signature: under root when
// given (the whole chain), else -noverify (the signature alone). Altered
// content must fail.
func opensslCMSVerify(t *testing.T, cms, covered []byte, root *smx509.Certificate) {
	t.Helper()
	trust := []string{"-noverify"}
	if root != nil {
		trust = []string{"-CAfile", writeTemp(t, "root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})), "-purpose", "any"}
	}
	cmsFile := writeTemp(t, "cms.der", cms)
	args := append([]string{"cms", "-verify", "-binary", "-inform", "DER", "-in", cmsFile, "-out", os.DevNull}, trust...)
	msg, err := runErr(t, "openssl", append(args, "-content", writeTemp(t, "content.bin", covered))...)
	t.Logf("openssl cms -verify: %v %s", err, strings.TrimSpace(msg))
	if err != nil || !strings.Contains(msg, "Verification successful") {
		t.Errorf("openssl cms -verify: %v\n%s", err, msg)
	}
	altered := bytes.Clone(covered)
	altered[100] ^= 1
	if msg, err := runErr(t, "openssl", append(args, "-content", writeTemp(t, "altered.bin", altered))...); err == nil {
		t.Errorf("openssl cms -verify accepted altered content:\n%s", msg)
	}
}

// opensslCheckSES checks an SES_Signature with OpenSSL: the signature over
// DER(TBS_Sign) verifies under the signer's key (SM2: SM3 with the
// default ID; P-256: SHA-256), and dataHash is OpenSSL's SM3 of the
// ByteRange bytes.
func opensslCheckSES(t *testing.T, contents, covered []byte, k testKey) {
	t.Helper()
	sig, err := ses.ParseSignature(contents)
	if err != nil {
		t.Fatal(err)
	}
	spki, _ := smx509.MarshalPKIXPublicKey(k.cert.PublicKey)
	isSM2 := sig.SignatureAlgorithm.Equal(ses.OIDSM2WithSM3)
	if !testenv.OpenSSLVerify(t, spki, sig.SignedData(), sig.SignatureValue, isSM2) {
		t.Errorf("openssl refuses the SES_Signature's signature over TBS_Sign (SM2: %v)", isSM2)
	}
	tbs := bytes.Clone(sig.SignedData())
	tbs[len(tbs)-1] ^= 1
	if testenv.OpenSSLVerify(t, spki, tbs, sig.SignatureValue, isSM2) {
		t.Error("openssl accepted an altered TBS_Sign")
	}
	if want := opensslSM3(t, covered); !bytes.Equal(sig.DataHash, want) {
		t.Errorf("dataHash %x, openssl dgst -sm3 of the ByteRange bytes %x", sig.DataHash, want)
	}
}

// opensslCheckToken has `openssl ts -verify` check the timestamp token of
// an ECDSA TSA over the signature value (-data) under the test root; an
// SM2 TSA's token OpenSSL 3.0 cannot check: it is only printed.
func opensslCheckToken(t *testing.T, contents []byte, tc formatCase) {
	t.Helper()
	var token, sigValue []byte
	if tc.want == FormatSES {
		sig, err := ses.ParseSignature(contents)
		if err != nil {
			t.Fatal(err)
		}
		token, sigValue = sig.TimeStamp, sig.SignatureValue
	} else {
		ci := children(t, contents)
		sd := children(t, ci[1].Bytes)
		si := children(t, children(t, sd[len(sd)-1].FullBytes)[0].FullBytes)
		if _, err := asn1.Unmarshal(si[5].FullBytes, &sigValue); err != nil {
			t.Fatal(err)
		}
		unsigned := bytes.Clone(si[6].FullBytes)
		unsigned[0] = 0x31
		attr := children(t, children(t, unsigned)[0].FullBytes)
		token = children(t, attr[1].FullBytes)[0].FullBytes
	}
	tokenFile := writeTemp(t, "token.der", token)
	text := run(t, "openssl", "ts", "-reply", "-token_in", "-in", tokenFile, "-text")
	if !strings.Contains(text, "Policy OID: "+tsa.DevPolicy.String()) {
		t.Errorf("openssl ts -reply -text:\n%s", text)
	}
	if tc.tsa != "/ecdsa" {
		return
	}
	rootFile := writeTemp(t, "root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: newFormatPKI(t).root.Cert.Raw}))
	msg := run(t, "openssl", "ts", "-verify", "-token_in", "-in", tokenFile, "-data", writeTemp(t, "sig.bin", sigValue), "-CAfile", rootFile)
	t.Logf("openssl ts -verify: %s", strings.TrimSpace(msg))
	if !strings.Contains(msg, "Verification: OK") {
		t.Errorf("openssl ts -verify:\n%s", msg)
	}
}

// TestFormatsTampered: what Verify finds wrong in each format: the covered
// bytes altered (every format), the timestamp token replaced or broken,
// an ESS signing-certificate naming another certificate.
func TestFormatsTampered(t *testing.T) {
	t.Parallel()
	p := newFormatPKI(t)
	tsaURL := tsaServer(t, p)
	verifyOne := func(t *testing.T, pdf []byte) Result {
		t.Helper()
		results, err := Verify(context.Background(), pdf)
		if err != nil || len(results) != 1 {
			t.Fatalf("Verify: %d results, %v", len(results), err)
		}
		return results[0]
	}
	for _, tc := range formatCases(p) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := sealFormat(t, p, tc, tsaURL)
			br, contents, _ := signedParts(t, out)
			// A byte of the document information (its producer), inside the
			// first range.
			altered := bytes.Clone(out)
			i := bytes.Index(altered, []byte("/Producer(iText"))
			if i < 0 || i >= br[1] {
				t.Fatal("no /Producer in the signed bytes")
			}
			altered[i+10] ^= 0x20
			if r := verifyOne(t, altered); r.Status != Invalid || !errors.Is(r.Err, ErrDigestMismatch) {
				t.Errorf("altered content: %s %v", r.Status, r.Err)
			}
			if tc.tsa == "" {
				return
			}
			// The token's signature value broken: its last bytes are in the
			// signature value (SM2, ECDSA: the s INTEGER).
			var token []byte
			var err error
			if tc.want == FormatSES {
				sig, err := ses.ParseSignature(contents)
				if err != nil {
					t.Fatal(err)
				}
				token = sig.TimeStamp
			} else {
				tokens, err := unsignedTimeStamps(signerInfoOf(t, contents).UnsignedAttrs)
				if err != nil || len(tokens) != 1 {
					t.Fatalf("%d tokens, %v", len(tokens), err)
				}
				token = tokens[0]
			}
			broken := bytes.Clone(token)
			broken[len(broken)-2] ^= 1
			if r := verifyOne(t, replaceContents(t, out, token, broken)); r.Status != Invalid || !errors.Is(r.Err, ErrTimeStamp) || !errors.Is(r.Err, ses.ErrSignature) {
				t.Errorf("broken token: %s %v", r.Status, r.Err)
			}
			// A valid token of the same TSA over other data, of the same
			// length (signature values vary by a byte or two), swapped in.
			var other []byte
			for range 50 {
				if other, err = (&tsa.Client{URL: tsaURL + tc.tsa, Hash: tc.hash}).TimeStamp(context.Background(), []byte("other data")); err != nil {
					t.Fatal(err)
				}
				if len(other) == len(token) {
					break
				}
			}
			if r := verifyOne(t, replaceContents(t, out, token, other)); r.Status != Invalid || !errors.Is(r.Err, ses.ErrTimeStampMismatch) {
				t.Errorf("token over other data: %s %v", r.Status, r.Err)
			}
		})
	}
	t.Run("ESS names another certificate", func(t *testing.T) {
		t.Parallel()
		opts := options(t, p.ec, 1)
		opts.Format = FormatPAdESBB
		s, err := newSigner(&opts)
		if err != nil {
			t.Fatal(err)
		}
		content := []byte("the bytes a ByteRange covers")
		// ESSCertIDv2 { certHash, issuerSerial } of other and signer certificates.
		essOf := func(hashOf, serialOf *smx509.Certificate) []byte {
			h := sha256.Sum256(hashOf.Raw)
			is := cms.TLV(0x30, cms.TLV(0x30, cms.TLV(0xa4, serialOf.RawIssuer)), cms.Marshal(serialOf.SerialNumber))
			return cms.TLV(0x30, cms.TLV(0x30, cms.TLV(0x30, cms.TLV(0x04, h[:]), is)))
		}
		for _, ess := range []struct {
			name           string
			hashOf, serial *smx509.Certificate
		}{
			{"another certificate", p.rsa.cert, p.rsa.cert},
			{"another certificate's hash", p.rsa.cert, p.ec.cert},
			{"another certificate's serial", p.ec.cert, p.rsa.cert},
		} {
			s.(*cmsSigner).essCertV2 = essOf(ess.hashOf, ess.serial)
			der, err := s.sign(context.Background(), sha256Sum(content), opts.Time)
			if err != nil {
				t.Fatal(err)
			}
			r := Result{SubFilter: SubFilterCAdES}
			verifyCMS(&r, der, covers(content))
			if r.Status != Invalid || !errors.Is(r.Err, ErrBadSignature) {
				t.Errorf("ESS naming %s: %s %v", ess.name, r.Status, r.Err)
			}
		}
		s.(*cmsSigner).essCertV2 = essOf(p.ec.cert, p.ec.cert)
		der, err := s.sign(context.Background(), sha256Sum(content), opts.Time)
		if err != nil {
			t.Fatal(err)
		}
		r := Result{SubFilter: SubFilterCAdES}
		if verifyCMS(&r, der, covers(content)); r.Status != Valid {
			t.Errorf("ESS naming the signer: %s %v", r.Status, r.Err)
		}
		s.(*cmsSigner).pades = false // signingTime instead, no ESS: not CAdES
		der, err = s.sign(context.Background(), sha256Sum(content), opts.Time)
		if err != nil {
			t.Fatal(err)
		}
		r = Result{SubFilter: SubFilterCAdES}
		verifyCMS(&r, der, covers(content))
		if r.Status != Invalid || !errors.Is(r.Err, ErrSignatureFormat) {
			t.Errorf("CAdES without ESS: %s %v", r.Status, r.Err)
		}
		r = Result{SubFilter: SubFilterPKCS7}
		if verifyCMS(&r, der, covers(content)); r.Status != Valid {
			t.Errorf("the same CMS as adbe.pkcs7.detached: %s %v", r.Status, r.Err)
		}
	})
}

func sha256Sum(b []byte) []byte {
	h := digestSHA256.new()
	h.Write(b)
	return h.Sum(nil)
}

// signerInfoOf decodes the one SignerInfo of a DER SignedData.
func signerInfoOf(t *testing.T, der []byte) signerInfo {
	t.Helper()
	var ci contentInfo
	var sd signedData
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(sd.SignerInfos) != 1 {
		t.Fatalf("SignedData: %v", err)
	}
	return sd.SignerInfos[0]
}

// replaceContents replaces old by new inside the hex /Contents of the last
// signature, keeping its length: the DER around a token of another length
// is re-measured by re-encoding nothing, so callers swap equal lengths or
// accept a broken structure.
func replaceContents(t *testing.T, pdf, old, new []byte) []byte {
	t.Helper()
	br, contents, _ := signedParts(t, pdf)
	i := bytes.Index(contents, old)
	if i < 0 || len(old) != len(new) {
		t.Fatalf("token not found in /Contents, or lengths %d and %d differ", len(old), len(new))
	}
	patched := bytes.Clone(contents)
	copy(patched[i:], new)
	out := bytes.Clone(pdf)
	hexed := []byte(strings.ToUpper(hex.EncodeToString(patched)))
	if !bytes.EqualFold(out[br[1]+1:br[1]+1+len(hexed)], []byte(hex.EncodeToString(contents))) {
		t.Fatal("/Contents does not start with the DER")
	}
	copy(out[br[1]+1:], hexed)
	return out
}

// TestFormatRefusals: Seal refuses options that cannot give the format
// asked for, and a timestamp it cannot get.
func TestFormatRefusals(t *testing.T) {
	t.Parallel()
	p := newFormatPKI(t)
	tsaURL := tsaServer(t, p)
	otherSeal := func() []byte {
		makerKey, makerCert := testpki.SelfSigned(t, "maker")
		seal, err := ses.MakeSeal(rand.Reader, ses.MakeSealRequest{
			VendorID: "sealpipe", ID: "33010200000002", Type: ses.TypeUnit, Name: "别的章",
			SignerCerts: [][]byte{p.ec.cert.Raw}, CreateDate: time.Now(), ValidStart: time.Now(), ValidEnd: time.Now().Add(time.Hour),
			Picture: ses.Picture{Type: "PNG", Data: sealPNG(t, 10, 10), WidthMM: 40, HeightMM: 40},
		}, makerKey, makerCert.Raw)
		if err != nil {
			t.Fatal(err)
		}
		return seal
	}()
	for _, tc := range []struct {
		name   string
		format Format
		key    testKey
		seal   []byte
		tsa    TimeStamper
		want   error
	}{
		{"unknown format", "cades", p.sm2, nil, nil, ErrSigner},
		{"gmt0010 with an ECDSA key", FormatGMT0010, p.ec, nil, nil, ErrSigner},
		{"PAdES with an SM2 key", FormatPAdESBB, p.sm2, nil, nil, ErrSigner},
		{"B-T without a TSA", FormatPAdESBT, p.ec, nil, nil, ErrSigner},
		{"B-B with a TSA", FormatPAdESBB, p.ec, nil, &tsa.Client{URL: tsaURL + "/ecdsa"}, ErrSigner},
		{"ses without a seal", FormatSES, p.sm2, nil, nil, ErrSigner},
		{"ses with a seal not listing the signer", FormatSES, p.sm2, otherSeal, nil, ErrSigner},
		{"ses with an RSA key", FormatSES, p.rsa, p.seal, nil, ErrSigner},
		{"TSA down", FormatPAdESBT, p.ec, nil, &tsa.Client{URL: tsaURL + "/nowhere"}, ErrTimeStamp},
		{"token larger than reserved", FormatPAdESBT, p.ec, nil, tinyReserve{&tsa.Client{URL: tsaURL + "/ecdsa"}}, ErrTimeStamp},
		{"token over other data", FormatPAdESBT, p.ec, nil, wrongData{&tsa.Client{URL: tsaURL + "/ecdsa"}}, ErrTimeStamp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := options(t, tc.key, 1)
			opts.Format, opts.SealData, opts.TimeStamper = tc.format, tc.seal, tc.tsa
			if _, ok := tc.tsa.(tinyReserve); ok {
				opts.TimeStampSize = 100
			}
			var out bytes.Buffer
			err := Seal(context.Background(), &out, conformance(t, "pdf/hello.pdf"), opts)
			if !errors.Is(err, tc.want) || out.Len() != 0 {
				t.Errorf("Seal: %v (%d bytes written), want %v", err, out.Len(), tc.want)
			}
		})
	}
	if _, err := ParseFormat("PAdES-B-T"); err != nil {
		t.Errorf("ParseFormat is case-blind: %v", err)
	}
}

type tinyReserve struct{ TimeStamper }

// wrongData stamps other data than it is given.
type wrongData struct{ TimeStamper }

func (w wrongData) TimeStamp(ctx context.Context, data []byte) ([]byte, error) {
	return w.TimeStamper.TimeStamp(ctx, append(bytes.Clone(data), 0))
}

// TestPAdESBesideSM2: a document sealed with SM2 (GM/T 0010, then PKCS#7
// OIDs), then signed PAdES B-T in a second incremental update: both
// signatures verify, the first one's later revision is a permitted change,
// and pdfsig finds the PAdES signature valid over the whole document and
// names both signers where NSS can read them.
func TestPAdESBesideSM2(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"qpdf", "pdfsig", "certutil"} {
		testenv.Tool(t, tool)
	}
	p := newFormatPKI(t)
	tsaURL := tsaServer(t, p)
	nss := testenv.NSSDB(t, p.root.Cert.Raw)
	for _, first := range []Format{FormatGMT0010, FormatPKCS7, FormatSES} {
		t.Run(string(first), func(t *testing.T) {
			t.Parallel()
			sm2Opts := options(t, p.sm2, 1)
			sm2Opts.Format, sm2Opts.SealData = first, p.seal
			once := seal(t, conformance(t, "pdf/hello.pdf"), sm2Opts)
			padesOpts := options(t, p.ec, 1)
			padesOpts.Format = FormatPAdESBT
			padesOpts.TimeStamper = &tsa.Client{URL: tsaURL + "/ecdsa"}
			padesOpts.Placement.X += 50
			twice := seal(t, once, padesOpts)

			results, err := Verify(context.Background(), twice)
			if err != nil || len(results) != 2 {
				t.Fatalf("Verify: %d results, %v", len(results), err)
			}
			sm2R, padesR := results[0], results[1]
			if sm2R.Status != Valid || sm2R.Format != first || sm2R.CoversWholeFile || sm2R.ChangesErr != nil || sm2R.Changes != Signing {
				t.Errorf("SM2 signature: %s %v, format %s, whole file %v, changes %s %v", sm2R.Status, sm2R.Err, sm2R.Format, sm2R.CoversWholeFile, sm2R.Changes, sm2R.ChangesErr)
			}
			if padesR.Status != Valid || padesR.Format != FormatPAdESBT || !padesR.CoversWholeFile || padesR.TimeStamp == nil || padesR.Field != "Seal2" {
				t.Errorf("PAdES signature: %s %v, format %s, whole file %v, field %s", padesR.Status, padesR.Err, padesR.Format, padesR.CoversWholeFile, padesR.Field)
			}
			file := writeTemp(t, "twice.pdf", twice)
			if msg := run(t, "qpdf", "--check", file); !strings.Contains(msg, "No syntax or stream encoding errors found") {
				t.Errorf("qpdf --check:\n%s", msg)
			}
			msg, _ := runErr(t, "pdfsig", "-nssdir", nss, file)
			t.Logf("pdfsig:\n%s", msg)
			_, sig2, ok := strings.Cut(msg, "Signature #2:")
			if !ok {
				t.Fatal("pdfsig lists one signature")
			}
			for _, want := range []string{"Signature Field Name: Seal2", "Signature Type: ETSI.CAdES.detached", "Signature Validation: Signature is Valid.",
				"Total document signed", "Certificate Validation: Certificate is Trusted."} {
				if !strings.Contains(sig2, want) {
					t.Errorf("pdfsig does not say %q of the PAdES signature", want)
				}
			}
			sig1, _, _ := strings.Cut(msg, "Signature #2:")
			if strings.Contains(sig1, "Total document signed") || !strings.Contains(sig1, "Signature Field Name: Seal1") {
				t.Error("pdfsig: the SM2 signature should cover the first revision only")
			}
			if first == FormatPKCS7 && !strings.Contains(sig1, "Signer Certificate Common Name: "+p.sm2.cert.Subject.CommonName) {
				t.Error("pdfsig does not name the SM2 signer")
			}
		})
	}
}
