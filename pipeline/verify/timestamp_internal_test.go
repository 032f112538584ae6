package verify

import (
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/ofd"
	"github.com/sealpipe/sealpipe/pipeline/ofdseal"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// testCA returns a root that may issue certificates.
func testCA(t *testing.T, cn string) *testpki.Identity {
	t.Helper()
	key := testpki.NewKey(t)
	cert := testpki.Issue(t, &smx509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, key, nil)
	return &testpki.Identity{Cert: cert, Key: key}
}

// TestTimestampCheck: the "timestamp" check of every format (GB/T 38540
// §7.3 h) from what the signature verifier found, with the TSA's chain
// judged against the verifier's roots at genTime.
func TestTimestampCheck(t *testing.T) {
	t.Parallel()
	root := testCA(t, "sealpipe test TSA root")
	tsa := testpki.TSA(t, "sealpipe test TSA", root)
	// A certificate for the same key without id-kp-timeStamping.
	plain := testpki.Issue(t, &smx509.Certificate{
		Subject:   pkix.Name{CommonName: "sealpipe test not a TSA"},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:  smx509.KeyUsageDigitalSignature,
	}, tsa.Key, root)
	genTime := time.Date(2026, 3, 2, 10, 30, 5, 0, time.UTC)
	sigValue := []byte("an SM2 signature value")
	sum := sm3.Sum(sigValue)
	parse := func(der []byte) *ses.TimeStampToken {
		tok, err := ses.ParseTimeStampToken(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := tok.Verify(sigValue); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := parse(testpki.TimeStampToken(t, tsa, sum[:], genTime, testpki.TokenOptions{Chain: []*smx509.Certificate{root.Cert}}))
	notTSA := parse(testpki.TimeStampToken(t, &testpki.Identity{Cert: plain, Key: tsa.Key}, sum[:], genTime, testpki.TokenOptions{}))
	_, dummyErr := ses.ParseTimeStampToken([]byte{0x03, 0x04, 0x00, 0x01, 0x02, 0x03})
	anchored := &Verifier{Trust: trust.NewPool([]*smx509.Certificate{root.Cert})}
	otherRoot := &Verifier{Trust: trust.NewPool([]*smx509.Certificate{testCA(t, "another root").Cert})}
	noRoots := &Verifier{Trust: trust.NewPool(nil)}

	tests := []struct {
		name    string
		v       *Verifier
		present bool
		tok     *ses.TimeStampToken
		err     error
		result  report.Result
		sub     string
		detail  string
	}{
		{"none", anchored, false, nil, nil, report.Skipped, "", "no timestamp token"},
		{"valid, TSA anchored", anchored, true, good, nil, report.OK, "", "chains to"},
		{"valid, no trusted root", noRoots, true, good, nil, report.Unknown, report.SubNoChain, "stamped at 2026-03-02T10:30:05Z"},
		{"valid, TSA under another root", otherRoot, true, good, nil, report.Unknown, report.SubNoChain, ""},
		{"TSA certificate not for time-stamping", anchored, true, notTSA, nil, report.Unknown, report.SubChainConstraints, "id-kp-timeStamping"},
		{"not a token", anchored, true, nil, dummyErr, report.Unknown, report.SubFormatFailure, "not a valid RFC 3161 timestamp token"},
		{"over other data", anchored, true, good, &ses.TimeStampMismatchError{Algorithm: "SM3"}, report.NotOK, report.SubHashFailure, ""},
		{"TSA signature broken", anchored, true, good, ses.ErrSignature, report.NotOK, report.SubSigCryptoFailure, ""},
		{"earlier than the signing time", anchored, true, good, &ofdseal.TimeStampTimeError{GenTime: genTime, SigningTime: genTime.Add(time.Hour)}, report.NotOK, SubTimestampOrder, ""},
		{"no TSA certificate", anchored, true, good, ses.ErrTimeStampSigner, report.Unknown, report.SubNoChain, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.v.timestampCheck(tt.present, tt.tok, tt.err)
			if c.Name != "timestamp" || c.Result != tt.result || c.SubIndication != tt.sub || !strings.Contains(c.Detail, tt.detail) {
				t.Fatalf("%+v; want %s %s %q", c, tt.result, tt.sub, tt.detail)
			}
		})
	}
	if dummyErr == nil || !errors.Is(dummyErr, ses.ErrTimeStamp) {
		t.Fatalf("dummy token: %v", dummyErr)
	}
}

// TestOFDSealFileCheck: a seal file that is not the seal signed fails the
// signature with a "seal-file" check.
func TestOFDSealFileCheck(t *testing.T) {
	t.Parallel()
	sig := &ofd.Signature{Seal: "/Doc_0/Signs/Sign_0/Seal.esl"}
	tests := []struct {
		name   string
		r      ofdseal.Result
		result report.Result
		sub    string
	}{
		{"no SES_Signature", ofdseal.Result{Type: ofd.TypeSign, Signature: &ofd.Signature{}}, report.Skipped, ""},
		{"no seal file named", ofdseal.Result{Type: ofd.TypeSeal, Signature: &ofd.Signature{}, SES: &ses.Signature{}}, report.Skipped, ""},
		{"the seal signed", ofdseal.Result{Type: ofd.TypeSeal, Signature: sig, SES: &ses.Signature{}}, report.OK, ""},
		{"another seal", ofdseal.Result{Type: ofd.TypeSeal, Signature: sig, SES: &ses.Signature{},
			SealFileErr: &ofdseal.SealFileError{Part: "Doc_0/Signs/Sign_0/Seal.esl", FileID: "2", SignedID: "1"}}, report.NotOK, report.SubFormatFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := ofdSealFileCheck(&tt.r)
			if c.Name != "seal-file" || c.Result != tt.result || c.SubIndication != tt.sub {
				t.Fatalf("%+v; want %s %s", c, tt.result, tt.sub)
			}
		})
	}
}
