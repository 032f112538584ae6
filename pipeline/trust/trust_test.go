package trust

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
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
)

func TestVerify(t *testing.T) {
	t.Parallel()
	root := issue(t, spec{cn: "Test Root", ca: true, ku: caUsage, maxPathLen: 1, from: t0.AddDate(-1, 0, 0), to: t0.AddDate(10, 0, 0)}, nil)
	inter := issue(t, spec{cn: "Test Intermediate", ca: true, ku: caUsage, maxPathLen: 0, to: t0.AddDate(3, 0, 0)}, root)
	signerKU := smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment
	leaf := issue(t, spec{cn: "civil-affairs", ku: signerKU, from: t0, to: t0.AddDate(2, 0, 0)}, root)
	viaInter := issue(t, spec{cn: "via-intermediate", ku: signerKU, from: t0, to: t0.AddDate(2, 0, 0)}, inter)
	// Valid itself at t0+4y, but its intermediate expired at t0+3y.
	outlivesInter := issue(t, spec{cn: "outlives-intermediate", ku: signerKU, from: t0, to: t0.AddDate(5, 0, 0)}, inter)
	approver := issue(t, spec{cn: "approver-zhang", ku: smx509.KeyUsageDigitalSignature, from: t0, ekus: []asn1.ObjectIdentifier{DefaultApproverOID}}, root)
	approverByPolicy := issue(t, spec{cn: "approver-li", ku: smx509.KeyUsageDigitalSignature, from: t0, policies: []asn1.ObjectIdentifier{DefaultApproverOID}}, root)
	anyEKU := issue(t, spec{cn: "any-eku", ku: smx509.KeyUsageDigitalSignature, from: t0, anyEKU: true}, root)
	admin := issue(t, spec{cn: "registrar", ku: smx509.KeyUsageDigitalSignature, from: t0, ekus: []asn1.ObjectIdentifier{DefaultRegistryAdminOID}}, root)
	service := issue(t, spec{cn: "pipeline", ku: smx509.KeyUsageDigitalSignature, from: t0, ekus: []asn1.ObjectIdentifier{DefaultPipelineOID}}, root)
	commitOnly := issue(t, spec{cn: "commit-only", ku: smx509.KeyUsageContentCommitment, from: t0}, root)
	encipher := issue(t, spec{cn: "encipherment", ku: smx509.KeyUsageKeyEncipherment, from: t0}, root)
	noKU := issue(t, spec{cn: "no-key-usage", from: t0}, root)

	otherRoot := issue(t, spec{cn: "Other Root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	stranger := issue(t, spec{cn: "stranger", ku: signerKU, from: t0}, otherRoot)
	// Same subject as root, different key: names match, signatures don't.
	impostor := issue(t, spec{cn: "Test Root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	forged := issue(t, spec{cn: "forged", ku: signerKU, from: t0}, impostor)
	// Same subject and key identifier as root: only the signature tells.
	sameKeyID := issue(t, spec{cn: "Test Root", ca: true, ku: caUsage, maxPathLen: -1, ski: root.Cert.SubjectKeyId}, nil)
	forgedSameKeyID := issue(t, spec{cn: "forged-same-key-id", ku: signerKU, from: t0}, sameKeyID)

	noCertSign := issue(t, spec{cn: "No CertSign CA", ca: true, ku: smx509.KeyUsageDigitalSignature | smx509.KeyUsageCRLSign, maxPathLen: -1}, root)
	underNoCertSign := issue(t, spec{cn: "under-no-certsign", ku: signerKU, from: t0}, noCertSign)
	notCA := issue(t, spec{cn: "Not A CA", ku: caUsage}, root)
	underNotCA := issue(t, spec{cn: "under-not-ca", ku: signerKU, from: t0}, notCA)
	noBasic := issue(t, spec{cn: "No Basic Constraints", noBasic: true, ku: caUsage}, root)
	underNoBasic := issue(t, spec{cn: "under-no-basic", ku: signerKU, from: t0}, noBasic)
	// root allows one intermediate below it; inter allows none.
	inter2 := issue(t, spec{cn: "Second Intermediate", ca: true, ku: caUsage, maxPathLen: -1}, inter)
	tooDeep := issue(t, spec{cn: "too-deep", ku: signerKU, from: t0}, inter2)
	critical := issue(t, spec{cn: "critical-ext", ku: signerKU, from: t0, extra: []pkix.Extension{
		{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}}}}, root)

	revokedEarly := issue(t, spec{cn: "revoked-early", ku: signerKU, from: t0}, root)
	revokedLate := issue(t, spec{cn: "revoked-late", ku: signerKU, from: t0}, root)
	revokedInter := issue(t, spec{cn: "Revoked Intermediate", ca: true, ku: caUsage, maxPathLen: 0}, root)
	underRevokedInter := issue(t, spec{cn: "under-revoked-intermediate", ku: signerKU, from: t0}, revokedInter)

	pool := NewPool([]*smx509.Certificate{root.Cert}, inter.Cert, noCertSign.Cert, notCA.Cert, noBasic.Cert, inter2.Cert, revokedInter.Cert)
	early, late := t0.AddDate(0, 0, 30), t0.AddDate(0, 0, 300)
	for _, crl := range [][]byte{
		revoke(t, root, map[*smx509.Certificate]time.Time{revokedEarly.Cert: early, revokedInter.Cert: t0.AddDate(0, 0, 50)}, 1),
		revoke(t, root, map[*smx509.Certificate]time.Time{revokedLate.Cert: late}, 4),
	} {
		if err := pool.AddCRL(crl); err != nil {
			t.Fatal(err)
		}
	}

	at := t0.AddDate(0, 0, 100)
	chain := func(ids ...*testpki.Identity) []*smx509.Certificate {
		out := make([]*smx509.Certificate, len(ids))
		for i, id := range ids {
			out[i] = id.Cert
		}
		return out
	}
	tests := []struct {
		name       string
		cert       *testpki.Identity
		at         time.Time
		usage      Usage
		wantErr    error                 // nil: success
		wantCert   *testpki.Identity     // the certificate the error names
		wantChain  []*smx509.Certificate // on success and on revocation
		revokedAt  time.Time
		wantDetail string // in the error message, if set
	}{
		{name: "good chain", cert: leaf, at: at, usage: UsageDocumentSigner, wantChain: chain(leaf, root)},
		{name: "good chain via intermediate", cert: viaInter, at: at, usage: UsageDocumentSigner, wantChain: chain(viaInter, inter, root)},
		{name: "first second of validity", cert: leaf, at: leaf.Cert.NotBefore, usage: UsageDocumentSigner, wantChain: chain(leaf, root)},
		{name: "last second of validity", cert: leaf, at: leaf.Cert.NotAfter, usage: UsageDocumentSigner, wantChain: chain(leaf, root)},
		{name: "expired at the time", cert: leaf, at: leaf.Cert.NotAfter.Add(time.Second), usage: UsageDocumentSigner, wantErr: ErrNotValidAt, wantCert: leaf},
		{name: "not yet valid at the time", cert: leaf, at: leaf.Cert.NotBefore.Add(-time.Second), usage: UsageDocumentSigner, wantErr: ErrNotValidAt, wantCert: leaf},
		{name: "intermediate expired at the time", cert: outlivesInter, at: t0.AddDate(4, 0, 0), usage: UsageDocumentSigner, wantErr: ErrNotValidAt, wantCert: inter},
		{name: "root expired at the time", cert: root, at: t0.AddDate(11, 0, 0), usage: UsageAny, wantErr: ErrNotValidAt, wantCert: root},
		{name: "unknown root", cert: stranger, at: at, usage: UsageDocumentSigner, wantErr: ErrUnknownAuthority, wantCert: stranger},
		{name: "issuer name matches, key does not", cert: forged, at: at, usage: UsageDocumentSigner, wantErr: ErrUnknownAuthority, wantCert: forged},
		{name: "issuer name and key identifier match, key does not", cert: forgedSameKeyID, at: at, usage: UsageDocumentSigner, wantErr: ErrUnknownAuthority, wantCert: forgedSameKeyID, wantDetail: "signature does not verify"},
		{name: "key encipherment as document signer", cert: encipher, at: at, usage: UsageDocumentSigner, wantErr: ErrKeyUsage, wantCert: encipher},
		{name: "contentCommitment only as seal maker", cert: commitOnly, at: at, usage: UsageSealMaker, wantErr: ErrKeyUsage, wantCert: commitOnly},
		{name: "contentCommitment only as document signer", cert: commitOnly, at: at, usage: UsageDocumentSigner, wantChain: chain(commitOnly, root)},
		{name: "approver", cert: approver, at: at, usage: UsageApprover, wantChain: chain(approver, root)},
		{name: "no key usage as approver", cert: noKU, at: at, usage: UsageApprover, wantErr: ErrKeyUsage, wantCert: noKU},
		{name: "approver role as a policy", cert: approverByPolicy, at: at, usage: UsageApprover, wantChain: chain(approverByPolicy, root)},
		{name: "document signer as approver", cert: leaf, at: at, usage: UsageApprover, wantErr: ErrKeyUsage, wantCert: leaf, wantDetail: "no approver role"},
		{name: "anyExtendedKeyUsage is no role", cert: anyEKU, at: at, usage: UsageApprover, wantErr: ErrKeyUsage, wantCert: anyEKU},
		{name: "approver as registry administrator", cert: approver, at: at, usage: UsageRegistryAdmin, wantErr: ErrKeyUsage, wantCert: approver},
		{name: "registry administrator", cert: admin, at: at, usage: UsageRegistryAdmin, wantChain: chain(admin, root)},
		{name: "registry administrator as approver", cert: admin, at: at, usage: UsageApprover, wantErr: ErrKeyUsage, wantCert: admin},
		{name: "pipeline", cert: service, at: at, usage: UsagePipeline, wantChain: chain(service, root)},
		{name: "pipeline as registry administrator", cert: service, at: at, usage: UsageRegistryAdmin, wantErr: ErrKeyUsage, wantCert: service},
		{name: "no key usage for any use", cert: noKU, at: at, usage: UsageAny, wantChain: chain(noKU, root)},
		{name: "zero usage fails closed", cert: leaf, at: at, usage: 0, wantErr: ErrKeyUsage, wantCert: leaf},
		{name: "issuer without keyCertSign", cert: underNoCertSign, at: at, usage: UsageDocumentSigner, wantErr: ErrInvalidCA, wantCert: noCertSign},
		{name: "issuer not a CA", cert: underNotCA, at: at, usage: UsageDocumentSigner, wantErr: ErrInvalidCA, wantCert: notCA},
		{name: "issuer without basicConstraints", cert: underNoBasic, at: at, usage: UsageDocumentSigner, wantErr: ErrInvalidCA, wantCert: noBasic},
		{name: "path length exceeded", cert: tooDeep, at: at, usage: UsageDocumentSigner, wantErr: ErrInvalidCA, wantCert: inter},
		{name: "unhandled critical extension", cert: critical, at: at, usage: UsageDocumentSigner, wantErr: ErrUnhandledCritical, wantCert: critical},
		{name: "revoked before the time", cert: revokedEarly, at: at, usage: UsageDocumentSigner, wantErr: ErrRevoked, wantCert: revokedEarly, wantChain: chain(revokedEarly, root), revokedAt: early},
		{name: "revoked after the time", cert: revokedLate, at: at, usage: UsageDocumentSigner, wantErr: ErrRevoked, wantCert: revokedLate, wantChain: chain(revokedLate, root), revokedAt: late},
		{name: "revoked at exactly the time", cert: revokedEarly, at: early, usage: UsageDocumentSigner, wantErr: ErrRevoked, wantCert: revokedEarly, wantChain: chain(revokedEarly, root), revokedAt: early},
		{name: "intermediate revoked", cert: underRevokedInter, at: at, usage: UsageDocumentSigner, wantErr: ErrRevoked, wantCert: revokedInter, wantChain: chain(underRevokedInter, revokedInter, root), revokedAt: t0.AddDate(0, 0, 50)},
		{name: "root itself", cert: root, at: at, usage: UsageAny, wantChain: chain(root)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := pool.Verify(tc.cert.Cert, tc.at, tc.usage)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				assertChain(t, got, tc.wantChain)
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantDetail) {
				t.Errorf("error %q does not say %q", err, tc.wantDetail)
			}
			if !strings.Contains(err.Error(), tc.wantCert.Cert.Subject.CommonName) {
				t.Errorf("error %q does not name %q", err, tc.wantCert.Cert.Subject.CommonName)
			}
			if tc.wantErr == ErrRevoked {
				var rev *RevokedError
				if !errors.As(err, &rev) {
					t.Fatalf("error %v is not a *RevokedError", err)
				}
				if rev.Cert != tc.wantCert.Cert || !rev.At.Equal(tc.revokedAt) || !rev.Checked.Equal(tc.at) {
					t.Errorf("RevokedError{Cert %s, At %v, Checked %v}, want {%s, %v, %v}",
						Name(rev.Cert), rev.At, rev.Checked, Name(tc.wantCert.Cert), tc.revokedAt, tc.at)
				}
				wantAfter := tc.revokedAt.After(tc.at)
				if rev.At.After(tc.at) != wantAfter || strings.Contains(err.Error(), "after the verification") != wantAfter {
					t.Errorf("revocation after the time = %v, want %v (%v)", rev.At.After(tc.at), wantAfter, err)
				}
				assertChain(t, got, tc.wantChain)
				return
			}
			var ce *CertError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *CertError", err)
			}
			if ce.Cert != tc.wantCert.Cert {
				t.Errorf("error names %s, want %s: %v", Name(ce.Cert), Name(tc.wantCert.Cert), err)
			}
			if got != nil {
				t.Errorf("chain %v returned with error %v", got, err)
			}
		})
	}

	t.Run("extra intermediates", func(t *testing.T) {
		bare := NewPool([]*smx509.Certificate{root.Cert})
		if _, err := bare.Verify(viaInter.Cert, at, UsageDocumentSigner); !errors.Is(err, ErrUnknownAuthority) {
			t.Fatalf("without the intermediate: err = %v, want ErrUnknownAuthority", err)
		}
		got, err := bare.VerifyWith(viaInter.Cert, []*smx509.Certificate{stranger.Cert, inter.Cert}, at, UsageDocumentSigner)
		if err != nil {
			t.Fatal(err)
		}
		assertChain(t, got, chain(viaInter, inter, root))
		// An extra certificate is never a trust anchor.
		if _, err := bare.VerifyWith(stranger.Cert, []*smx509.Certificate{otherRoot.Cert}, at, UsageDocumentSigner); !errors.Is(err, ErrUnknownAuthority) {
			t.Errorf("self-signed extra certificate anchored a chain: err = %v", err)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		if _, err := pool.Verify(nil, at, UsageAny); err == nil {
			t.Error("nil certificate verified")
		}
		if _, err := pool.Verify(leaf.Cert, time.Time{}, UsageAny); err == nil {
			t.Error("zero time verified")
		}
	})
}

// TestLookAlikeIntermediates feeds Verify many intermediates sharing one
// subject and one key, each of which verifies as the issuer of every
// other: chain building must give up quickly instead of trying them in
// every order.
func TestLookAlikeIntermediates(t *testing.T) {
	t.Parallel()
	root := issue(t, spec{cn: "Look-alike Root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	evil := issue(t, spec{cn: "Evil CA", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	var extra []*smx509.Certificate
	for range 40 {
		// Self-issued by the same key: each is a valid issuer of all the others.
		c := issue(t, spec{cn: "Evil CA", ca: true, ku: caUsage, maxPathLen: -1, key: evil.Key}, evil)
		extra = append(extra, c.Cert)
	}
	leaf := issue(t, spec{cn: "victim", ku: smx509.KeyUsageDigitalSignature}, evil)
	start := time.Now()
	_, err := NewPool([]*smx509.Certificate{root.Cert}).VerifyWith(leaf.Cert, extra, t0, UsageAny)
	if !errors.Is(err, ErrUnknownAuthority) {
		t.Fatalf("err = %v, want ErrUnknownAuthority", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Verify took %v", d)
	}
}

func assertChain(t *testing.T, got, want []*smx509.Certificate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("chain of %d certificates %v, want %d", len(got), names(got), len(want))
	}
	for i := range got {
		if !got[i].Equal(want[i]) {
			t.Fatalf("chain %v, want %v", names(got), names(want))
		}
	}
}

func names(cs []*smx509.Certificate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Subject.CommonName
	}
	return out
}

func TestAddCRL(t *testing.T) {
	t.Parallel()
	root := issue(t, spec{cn: "CRL Root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	leaf := issue(t, spec{cn: "crl-leaf", ku: smx509.KeyUsageDigitalSignature}, root)
	other := issue(t, spec{cn: "Other CRL Root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	noCRLSign := issue(t, spec{cn: "No CRLSign CA", ca: true, ku: smx509.KeyUsageCertSign, maxPathLen: -1}, root)
	revoked := map[*smx509.Certificate]time.Time{leaf.Cert: t0}
	good := revoke(t, root, revoked, 0)

	// A CRL whose signer lacks cRLSign: smx509 refuses to make one, so
	// hand it a copy of the certificate claiming the bit.
	claims := *noCRLSign.Cert
	claims.KeyUsage |= smx509.KeyUsageCRLSign
	noSignCRL := revoke(t, &testpki.Identity{Cert: &claims, Key: noCRLSign.Key}, revoked, 0)

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"DER", good, nil},
		{"PEM", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: good}), nil},
		{"unknown issuer", revoke(t, other, revoked, 0), ErrUnknownAuthority},
		{"issuer without cRLSign", noSignCRL, ErrInvalidCA},
		{"garbage", []byte("not a CRL"), ErrMalformed},
		{"certificate PEM", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Cert.Raw}), ErrMalformed},
		{"truncated", good[:len(good)-10], ErrMalformed},
		{"delta CRL", crlWithExtension(t, root, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: []byte{2, 1, 1}}), ErrUnhandledCritical},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := NewPool([]*smx509.Certificate{root.Cert}, noCRLSign.Cert)
			err := pool.AddCRL(tc.in)
			if !errors.Is(err, tc.want) || (tc.want != nil && err == nil) {
				t.Fatalf("AddCRL: err = %v, want %v", err, tc.want)
			}
			_, verr := pool.Verify(leaf.Cert, t0.AddDate(0, 0, 1), UsageAny)
			if revokedNow := errors.Is(verr, ErrRevoked); revokedNow != (tc.want == nil) {
				t.Errorf("after AddCRL (err %v) the leaf verifies with %v", err, verr)
			}
		})
	}
}

func crlWithExtension(t *testing.T, issuer *testpki.Identity, ext pkix.Extension) []byte {
	t.Helper()
	der, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(2), ThisUpdate: t0, NextUpdate: t0.AddDate(0, 0, 7), ExtraExtensions: []pkix.Extension{ext},
	}, issuer.Cert, issuer.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestConformanceRootLacksKeyCertSign checks ofdrw's test chain: ROOT.p12
// holds a root whose key usage lacks keyCertSign, so the chain of
// sign_cert.pem must be refused as ErrInvalidCA, naming the root.
//
// gmsm v0.44.0 has no PKCS#12 decoder, and golang.org/x/crypto/pkcs12
// cannot convert its SM2 key bag, so the root certificate is taken out
// with `openssl pkcs12 -legacy -nokeys` (ROOT.p12 uses RC2-40 and 3DES).
func TestConformanceRootLacksKeyCertSign(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(testenv.Conformance(t), "keys")
	openssl := testenv.Tool(t, "openssl")
	out, err := exec.Command(openssl, "pkcs12", "-legacy", "-in", filepath.Join(dir, "ROOT.p12"),
		"-passin", "pass:123456", "-nokeys").Output()
	if err != nil {
		t.Fatalf("openssl pkcs12: %v", err)
	}
	roots, err := ParseCertificatesPEM(out)
	if err != nil || len(roots) != 1 {
		t.Fatalf("ROOT.p12 holds %d certificates (%v), want 1", len(roots), err)
	}
	root := roots[0]
	if root.KeyUsage&smx509.KeyUsageCertSign != 0 || !root.IsCA {
		t.Fatalf("ROOT.p12's certificate: key usage %s, cA %v; the manifest says keyCertSign is missing", keyUsageString(root.KeyUsage), root.IsCA)
	}
	leaves, err := LoadCertificates(filepath.Join(dir, "sign_cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	leaf := leaves[0]
	if err := root.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Fatalf("sign_cert.pem is not signed by ROOT.p12's key: %v", err)
	}
	during := time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC) // inside both validity windows
	_, err = NewPool(roots).Verify(leaf, during, UsageDocumentSigner)
	var ce *CertError
	if !errors.Is(err, ErrInvalidCA) || !errors.As(err, &ce) || !ce.Cert.Equal(root) {
		t.Fatalf("Verify = %v, want ErrInvalidCA naming the root", err)
	}
	if !strings.Contains(err.Error(), "keyCertSign") {
		t.Errorf("error %q does not say keyCertSign is missing", err)
	}
	// And past the leaf's validity, the expiry is what is reported first.
	if _, err := NewPool(roots).Verify(leaf, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), UsageDocumentSigner); !errors.Is(err, ErrNotValidAt) {
		t.Errorf("Verify in 2025 = %v, want ErrNotValidAt", err)
	}
}

func TestLoadCertificates(t *testing.T) {
	t.Parallel()
	root := issue(t, spec{cn: "Load Root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	leaf := issue(t, spec{cn: "load-leaf", ku: smx509.KeyUsageDigitalSignature}, root)
	dir := t.TempDir()
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}})...)
	bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw})...)
	files := map[string][]byte{
		"bundle.pem": bundle,
		"chain.der":  append(append([]byte{}, leaf.Cert.Raw...), root.Cert.Raw...),
		"empty.pem":  []byte("-----BEGIN NOTHING-----\n-----END NOTHING-----\n"),
		"junk.der":   []byte{0x30, 0x03, 1, 2},
		"bad.pem":    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		file string
		want []*smx509.Certificate
	}{
		{"bundle.pem", []*smx509.Certificate{leaf.Cert, root.Cert}},
		{"chain.der", []*smx509.Certificate{leaf.Cert, root.Cert}},
		{"empty.pem", nil},
		{"junk.der", nil},
		{"bad.pem", nil},
		{"missing.pem", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			got, err := LoadCertificates(filepath.Join(dir, tc.file))
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.file) {
					t.Fatalf("LoadCertificates = %v, %v; want an error naming the file", names(got), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			assertChain(t, got, tc.want)
		})
	}
}

// TestConcurrentAddCRL runs Verify while CRLs arrive (run with -race).
func TestConcurrentAddCRL(t *testing.T) {
	t.Parallel()
	root := issue(t, spec{cn: "Race Root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	leaf := issue(t, spec{cn: "race-leaf", ku: smx509.KeyUsageDigitalSignature, ekus: []asn1.ObjectIdentifier{DefaultApproverOID}}, root)
	pool := NewPool([]*smx509.Certificate{root.Cert})
	crls := make([][]byte, 4)
	for i := range crls {
		other := issue(t, spec{cn: "x"}, root)
		crls[i] = revoke(t, root, map[*smx509.Certificate]time.Time{other.Cert: t0}, 0)
	}
	var wg sync.WaitGroup
	for _, crl := range crls {
		wg.Go(func() {
			if err := pool.AddCRL(crl); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := pool.Verify(leaf.Cert, t0, UsageApprover); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func FuzzAddCRL(f *testing.F) {
	root := issue(f, spec{cn: "Fuzz Root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	leaf := issue(f, spec{cn: "fuzz-leaf", ku: smx509.KeyUsageDigitalSignature}, root)
	crl := revoke(f, root, map[*smx509.Certificate]time.Time{leaf.Cert: t0}, 1)
	f.Add(crl)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}))
	f.Fuzz(func(t *testing.T, b []byte) {
		pool := NewPool([]*smx509.Certificate{root.Cert})
		if err := pool.AddCRL(b); err != nil {
			return
		}
		// Whatever was accepted came from root: verification still works.
		if _, err := pool.Verify(leaf.Cert, t0, UsageAny); err != nil && !errors.Is(err, ErrRevoked) {
			t.Fatalf("Verify after accepting a CRL: %v", err)
		}
	})
}

func FuzzParseCertificatesPEM(f *testing.F) {
	root := issue(f, spec{cn: "Fuzz Root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw}))
	if dir, ok := testenv.ConformanceDir(); ok {
		if b, err := os.ReadFile(filepath.Join(dir, "keys", "sign_cert.pem")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := ParseCertificatesPEM(b)
		if (err == nil) != (len(certs) > 0) {
			t.Fatalf("%d certificates with error %v", len(certs), err)
		}
		pool := NewPool(certs)
		for _, c := range certs {
			// Every parsed certificate is its own root here: Verify must
			// not panic whatever it holds.
			_, _ = pool.Verify(c, t0, UsageDocumentSigner)
		}
	})
}

// TestRoleOIDs: a deployment whose CA marks roles with its own OIDs sets
// them; the default ones then no longer serve.
func TestRoleOIDs(t *testing.T) {
	t.Parallel()
	custom := asn1.ObjectIdentifier{1, 2, 156, 99999, 1}
	root := issue(t, spec{cn: "Role Root", ca: true, ku: caUsage, maxPathLen: -1}, nil)
	theirs := issue(t, spec{cn: "their-approver", ku: smx509.KeyUsageDigitalSignature, from: t0, policies: []asn1.ObjectIdentifier{custom}}, root)
	ours := issue(t, spec{cn: "our-approver", ku: smx509.KeyUsageDigitalSignature, from: t0, ekus: []asn1.ObjectIdentifier{DefaultApproverOID}}, root)
	pool := NewPool([]*smx509.Certificate{root.Cert})
	if got := pool.RoleOID(UsageApprover); !got.Equal(DefaultApproverOID) {
		t.Fatalf("default approver OID %v", got)
	}
	pool.SetRoleOID(UsageApprover, custom)
	if _, err := pool.Verify(theirs.Cert, t0.AddDate(0, 0, 1), UsageApprover); err != nil {
		t.Errorf("custom role: %v", err)
	}
	if _, err := pool.Verify(ours.Cert, t0.AddDate(0, 0, 1), UsageApprover); !errors.Is(err, ErrKeyUsage) {
		t.Errorf("default OID after SetRoleOID: %v, want ErrKeyUsage", err)
	}
	if pool.RoleOID(UsageDocumentSigner) != nil {
		t.Error("a document signer is no role")
	}
	defer func() {
		if recover() == nil {
			t.Error("SetRoleOID of a usage that is no role did not panic")
		}
	}()
	pool.SetRoleOID(UsageSealMaker, custom)
}
