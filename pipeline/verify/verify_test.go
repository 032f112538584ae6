package verify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/verify"
)

// TestConformancePDFs checks the verdicts on PDFs signed by another
// implementation (digitorus/pdfsign, RSA): a valid signature whose chain we
// do not trust is indeterminate, a modified one failed, none indeterminate.
func TestConformancePDFs(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(testenv.Conformance(t), "pdf")
	v := &verify.Verifier{Trust: trust.NewPool(nil)}
	tests := []struct {
		file       string
		want       report.Indication
		signatures int
		failed     string // the check that must fail, if any
	}{
		{"hello.pdf", report.Indeterminate, 0, ""},
		{"hello_hsm.pdf", report.Indeterminate, 1, ""},
		{"sigmodified.pdf", report.Failed, 1, "signature-value"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := v.PDF(context.Background(), tt.file, data)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Indication != tt.want || len(doc.Signatures) != tt.signatures {
				t.Fatalf("%s with %d signatures, want %s with %d", doc.Indication, len(doc.Signatures), tt.want, tt.signatures)
			}
			for _, s := range doc.Signatures {
				checks := map[string]report.Check{}
				for _, c := range s.Checks {
					checks[c.Name] = c
				}
				if tt.failed != "" {
					if c := checks[tt.failed]; c.Result != report.NotOK || c.SubIndication != report.SubHashFailure {
						t.Errorf("check %s = %+v, want FAILED with HASH_FAILURE", tt.failed, c)
					}
					continue
				}
				if c := checks["signature-value"]; c.Result != report.OK {
					t.Errorf("signature-value = %+v", c)
				}
				if c := checks["modifications"]; c.Result != report.OK {
					t.Errorf("modifications = %+v", c)
				}
				if c := checks["signer-certificate"]; c.Result != report.Unknown || c.SubIndication != report.SubNoChain {
					t.Errorf("signer-certificate = %+v, want INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND", c)
				}
				if c := checks["seal-format"]; c.Result != report.Skipped {
					t.Errorf("a plain signature got seal checks: %+v", c)
				}
			}
		})
	}
	if _, err := v.PDF(context.Background(), "x", []byte("not a pdf")); !errors.Is(err, pdfseal.ErrMalformed) {
		t.Fatalf("unreadable input: %v", err)
	}
}

// TestChainVerdicts checks how certificate problems map onto verdicts: an
// expired signer certificate and an unknown root leave the signature
// indeterminate; revocation before the signing time fails it.
func TestChainVerdicts(t *testing.T) {
	t.Parallel()
	rootKey, root, signer, pdf := signedPDF(t)

	run := func(v *verify.Verifier) report.Check {
		t.Helper()
		doc, err := v.PDF(context.Background(), "x.pdf", pdf)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range doc.Signatures[0].Checks {
			if c.Name == "signer-certificate" {
				return c
			}
		}
		t.Fatal("no signer-certificate check")
		return report.Check{}
	}
	if c := run(&verify.Verifier{Trust: trust.NewPool([]*smx509.Certificate{root})}); c.Result != report.OK {
		t.Fatalf("trusted chain: %+v", c)
	}
	if c := run(&verify.Verifier{Trust: trust.NewPool(nil)}); c.Result != report.Unknown {
		t.Fatalf("unknown root: %+v", c)
	}
	pool := trust.NewPool([]*smx509.Certificate{root})
	crl := revocationList(t, root, rootKey, signer, time.Now().Add(-time.Minute))
	if err := pool.AddCRL(crl); err != nil {
		t.Fatal(err)
	}
	if c := run(&verify.Verifier{Trust: pool}); c.Result != report.NotOK || c.SubIndication != report.SubRevoked {
		t.Fatalf("revoked before signing: %+v", c)
	}
	later := trust.NewPool([]*smx509.Certificate{root})
	if err := later.AddCRL(revocationList(t, root, rootKey, signer, time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if c := run(&verify.Verifier{Trust: later}); c.Result != report.OK {
		t.Fatalf("revoked after signing: %+v", c)
	}
}

// certificate returns a new SM2 key and a certificate for cn valid from
// from to to, issued by parent or self-signed if parent is nil: a CA's
// (certSign, cRLSign) if ca, else a document signer's (digitalSignature,
// contentCommitment).
func certificate(t *testing.T, parent *testpki.Identity, cn string, ca bool, from, to time.Time) (*sm2.PrivateKey, *smx509.Certificate) {
	t.Helper()
	key := testpki.NewKey(t)
	tmpl := &smx509.Certificate{Subject: pkix.Name{CommonName: cn}, NotBefore: from, NotAfter: to,
		KeyUsage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment, BasicConstraintsValid: true, IsCA: ca}
	if ca {
		tmpl.KeyUsage = smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign
	}
	return key, testpki.Issue(t, tmpl, key, parent)
}

func revocationList(t *testing.T, root *smx509.Certificate, rootKey *sm2.PrivateKey, revoked *smx509.Certificate, at time.Time) []byte {
	t.Helper()
	der, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []smx509.RevocationListEntry{{SerialNumber: revoked.SerialNumber, RevocationTime: at}},
	}, root, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// sealed signs the conformance hello.pdf with key.
func sealed(t *testing.T, key *sm2.PrivateKey, cert *smx509.Certificate) []byte {
	t.Helper()
	return sealAt(t, conformancePDF(t, "hello.pdf"), key, cert, 10)
}

// conformancePDF reads a PDF of the conformance corpus.
func conformancePDF(t *testing.T, name string) []byte {
	t.Helper()
	return testenv.ConformanceFile(t, "pdf", name)
}

// sealAt signs in with key, the seal picture at (at, at) mm on page 1.
func sealAt(t *testing.T, in []byte, key *sm2.PrivateKey, cert *smx509.Certificate, at float64) []byte {
	t.Helper()
	var out bytes.Buffer
	err := pdfseal.Seal(context.Background(), &out, in, pdfseal.Options{
		Signer: key, Chain: []*smx509.Certificate{cert}, Image: redPNG(t),
		Placement: pdfseal.Placement{Page: 1, X: at, Y: at, Width: 20, Height: 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestModifications checks the verdicts when revisions follow a seal: a
// black rectangle drawn over the page, or an annotation added, fails the
// seal, whoever seals the document afterwards; a further seal does not.
func TestModifications(t *testing.T) {
	t.Parallel()
	rootKey, root := certificate(t, nil, "root", true, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	ca := &testpki.Identity{Cert: root, Key: rootKey}
	keyA, unitA := certificate(t, ca, "unit A", false, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	keyB, unitB := certificate(t, ca, "unit B", false, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	v := &verify.Verifier{Trust: trust.NewPool([]*smx509.Certificate{root})}
	hello := conformancePDF(t, "hello.pdf")
	byA := func(in []byte) []byte { return sealAt(t, in, keyA, unitA, 10) }
	byB := func(in []byte) []byte { return sealAt(t, in, keyB, unitB, 40) }
	const passed, failed, indeterminate = report.Passed, report.Failed, report.Indeterminate

	tests := []struct {
		name string
		pdf  []byte
		want []report.Indication // per signature, in signing order
		doc  report.Indication   // sealpipe verify exits 0, 1 or 3 on PASSED, FAILED, INDETERMINATE
	}{
		{"sealed, black rectangle, sealed by another unit", byB(pdfsealtest.Blackout(t, byA(hello), 1)), []report.Indication{failed, passed}, failed},
		{"sealed, black rectangle", pdfsealtest.Blackout(t, byA(hello), 1), []report.Indication{failed}, failed},
		{"sealed by two units", byB(byA(hello)), []report.Indication{passed, passed}, passed},
		{"sealed, annotation added", pdfsealtest.AddAnnotation(t, byA(hello), 1), []report.Indication{failed}, failed},
		{"signed elsewhere, then sealed", byA(conformancePDF(t, "hello_hsm.pdf")), []report.Indication{indeterminate, passed}, indeterminate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := v.PDF(context.Background(), "x.pdf", tt.pdf)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Indication != tt.doc || len(doc.Signatures) != len(tt.want) {
				t.Fatalf("document %s with %d signatures, want %s with %d", doc.Indication, len(doc.Signatures), tt.doc, len(tt.want))
			}
			for i, s := range doc.Signatures {
				var mod report.Check
				for _, c := range s.Checks {
					if c.Name == "modifications" {
						mod = c
					}
				}
				switch {
				case s.Indication != tt.want[i]:
					t.Errorf("signature %q: %s, want %s: %+v", s.Field, s.Indication, tt.want[i], s.Checks)
				case tt.want[i] == failed && (mod.Result != report.NotOK || mod.SubIndication != verify.SubModifiedAfterSigning):
					t.Errorf("signature %q: modifications check %+v, want FAILED with %s", s.Field, mod, verify.SubModifiedAfterSigning)
				case tt.want[i] != failed && mod.Result != report.OK:
					t.Errorf("signature %q: modifications check %+v, want PASSED", s.Field, mod)
				}
			}
		})
	}
}

// tokenStamper is a pdfseal.TimeStamper whose tokens tsa issues in the
// test (testpki.TimeStampToken, SM3 imprints).
type tokenStamper struct {
	t     *testing.T
	tsa   *testpki.Identity
	token *[]byte // the last token issued
}

func (s tokenStamper) TimeStamp(_ context.Context, data []byte) ([]byte, error) {
	sum := sm3.Sum(data)
	*s.token = testpki.TimeStampToken(s.t, s.tsa, sum[:], time.Now().Truncate(time.Second), testpki.TokenOptions{})
	return *s.token, nil
}

// TestPAdESTimestamp: the "timestamp" check (GB/T 38540 §7.3 h) of a
// PAdES B-T signature reports its token, OK when the TSA chains to a
// trusted root at genTime, INDETERMINATE when it does not; a signature
// without one skips the check.
func TestPAdESTimestamp(t *testing.T) {
	t.Parallel()
	rootKey, root := certificate(t, nil, "root", true, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	ca := &testpki.Identity{Cert: root, Key: rootKey}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecCert := testpki.Issue(t, &smx509.Certificate{Subject: pkix.Name{CommonName: "signer"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment}, ecKey, ca)
	tsaRoot := testpki.CA(t, "TSA root")
	tsa := testpki.TSA(t, "sealpipe test TSA", tsaRoot)
	var (
		out   bytes.Buffer
		token []byte
	)
	if err := pdfseal.Seal(context.Background(), &out, conformancePDF(t, "hello.pdf"), pdfseal.Options{
		Signer: ecKey, Chain: []*smx509.Certificate{ecCert}, Image: redPNG(t), Format: pdfseal.FormatPAdESBT, TimeStamper: tokenStamper{t, tsa, &token},
		Placement: pdfseal.Placement{Page: 1, X: 10, Y: 10, Width: 20, Height: 20},
	}); err != nil {
		t.Fatal(err)
	}
	// The token is an unsigned attribute: its TSA signature's last byte
	// changed in /Contents leaves the document's signature intact.
	hexToken := []byte(hex.EncodeToString(token))
	i := bytes.Index(out.Bytes(), hexToken)
	if i < 0 {
		hexToken = bytes.ToUpper(hexToken)
		i = bytes.Index(out.Bytes(), hexToken)
	}
	if i < 0 {
		t.Fatal("the token is not in /Contents")
	}
	broken := bytes.Clone(out.Bytes())
	last := i + len(hexToken) - 1
	if broken[last] == '0' {
		broken[last] = '1'
	} else {
		broken[last] = '0'
	}
	timestamp := func(pdf []byte, v *verify.Verifier) report.Check {
		t.Helper()
		doc, err := v.PDF(context.Background(), "x.pdf", pdf)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range doc.Signatures[0].Checks {
			if c.Name == "timestamp" {
				return c
			}
		}
		t.Fatal("no timestamp check")
		return report.Check{}
	}
	for _, tc := range []struct {
		name   string
		pdf    []byte
		roots  []*smx509.Certificate
		result report.Result
		detail string
	}{
		{"the TSA trusted", out.Bytes(), []*smx509.Certificate{root, tsaRoot.Cert}, report.OK, `by "sealpipe test TSA"; chains to "TSA root"`},
		{"the TSA's root not trusted", out.Bytes(), []*smx509.Certificate{root}, report.Unknown, "stamped at"},
		{"the token's signature broken", broken, []*smx509.Certificate{root, tsaRoot.Cert}, report.NotOK, "signature"},
		{"no token", sealed(t, rootKey, root), []*smx509.Certificate{root}, report.Skipped, "no timestamp token"},
	} {
		c := timestamp(tc.pdf, &verify.Verifier{Trust: trust.NewPool(tc.roots)})
		if c.Result != tc.result || !strings.Contains(c.Detail, tc.detail) {
			t.Errorf("%s: %+v, want %s saying %q", tc.name, c, tc.result, tc.detail)
		}
	}
}
