package verify_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/pipeline/verify"
)

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want verify.Format
	}{
		{"%PDF-1.7\n", verify.FormatPDF},
		{"PK\x03\x04\x14\x00", verify.FormatOFD},
		{"PK\x05\x06", verify.FormatUnknown},       // an empty ZIP: no OFD.xml
		{"\xef\xbb\xbf%PDF-1.7", verify.FormatPDF}, // junk before the header, as readers allow
		{"PK\x03\x04 %PDF-1.7", verify.FormatOFD},
		{"%PDF", verify.FormatUnknown},
		{"", verify.FormatUnknown},
		{"<ofd:OFD>", verify.FormatUnknown},
	}
	for _, tt := range tests {
		if got := verify.DetectFormat([]byte(tt.in)); got != tt.want {
			t.Errorf("DetectFormat(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestDocument checks that Document goes by content, not name.
func TestDocument(t *testing.T) {
	t.Parallel()
	v := &verify.Verifier{}
	pdf := conformancePDF(t, "hello_hsm.pdf")
	doc, err := v.Document(context.Background(), "named.ofd", pdf)
	if err != nil || len(doc.Signatures) != 1 {
		t.Fatalf("a PDF named .ofd: %v, %+v", err, doc)
	}
	if _, err := v.Document(context.Background(), "x.pdf", []byte("PK\x03\x04rest")); err == nil || errors.Is(err, verify.ErrUnknownFormat) {
		t.Errorf("a broken ZIP: %v, want the OFD reader's error", err)
	}
	if _, err := v.Document(context.Background(), "x.pdf", []byte("GIF89a")); !errors.Is(err, verify.ErrUnknownFormat) {
		t.Errorf("GIF: %v, want ErrUnknownFormat", err)
	}
}

// TestNoTrustAnchor verifies a document sealed elsewhere with no trusted
// root: everything but the chains is still checked, so the correct
// document is INDETERMINATE (NO_CERTIFICATE_CHAIN_FOUND) and the same
// document altered inside its signed range FAILED.
func TestNoTrustAnchor(t *testing.T) {
	t.Parallel()
	_, _, _, pdf := signedPDF(t)
	altered := bytes.Clone(pdf)
	altered[10] = 'X' // the binary comment after the header: inside the signed range, harmless to parsers

	for _, v := range []*verify.Verifier{{}, {Trust: trust.NewPool(nil)}} {
		doc, err := v.Document(context.Background(), "x.pdf", pdf)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Indication != report.Indeterminate {
			t.Fatalf("correct document: %s, want INDETERMINATE: %+v", doc.Indication, doc.Signatures)
		}
		for _, c := range doc.Signatures[0].Checks {
			switch {
			case c.Name == "signer-certificate" && (c.Result != report.Unknown || c.SubIndication != report.SubNoChain):
				t.Errorf("signer-certificate = %+v, want INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND", c)
			case c.Name == "signature-value" && c.Result != report.OK:
				t.Errorf("signature-value = %+v", c)
			}
		}
		doc, err = v.Document(context.Background(), "x.pdf", altered)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Indication != report.Failed {
			t.Fatalf("altered document: %s, want FAILED", doc.Indication)
		}
	}
}

// TestOnlineRevocation serves a CRL revoking the signer over HTTP: the
// verdict is FAILED (REVOKED), a second verification is answered from the
// cache, and an unreachable CRL leaves the signature INDETERMINATE
// (TRY_LATER), never passed.
func TestOnlineRevocation(t *testing.T) {
	t.Parallel()
	rootKey, root, signer, pdf := signedPDF(t)
	crl := revocationList(t, root, rootKey, signer, time.Now().Add(-time.Minute))
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write(crl)
	}))
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()

	signerCheck := func(urls ...string) report.Check {
		t.Helper()
		pool := trust.NewPool([]*smx509.Certificate{root})
		pool.SetOnlineCRLs(trust.OnlineCRLs{URLs: urls, Fetcher: fetcher})
		doc, err := (&verify.Verifier{Trust: pool}).Document(context.Background(), "x.pdf", pdf)
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
	for i := range 2 {
		c := signerCheck(srv.URL + "/root.crl")
		if c.Result != report.NotOK || c.SubIndication != report.SubRevoked {
			t.Fatalf("verification %d: signer-certificate = %+v, want FAILED/REVOKED", i+1, c)
		}
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests for two verifications, want 1: the second comes from the cache", n)
	}
	if c := signerCheck(dead.URL + "/root.crl"); c.Result != report.Unknown || c.SubIndication != report.SubTryLater {
		t.Errorf("unreachable CRL: signer-certificate = %+v, want INDETERMINATE/TRY_LATER", c)
	}
}

// fetcher is shared by the pools of TestOnlineRevocation, as an engine
// shares one between its pools.
var fetcher = &trust.CRLFetcher{Timeout: 5 * time.Second}

// signedPDF returns a root CA, a signer it issued, valid for a day, and
// the conformance hello.pdf signed by the signer.
func signedPDF(t *testing.T) (*sm2.PrivateKey, *smx509.Certificate, *smx509.Certificate, []byte) {
	t.Helper()
	rootKey, root := certificate(t, nil, "root", true, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	signerKey, signer := certificate(t, &testpki.Identity{Cert: root, Key: rootKey}, "signer", false, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	return rootKey, root, signer, sealed(t, signerKey, signer)
}
