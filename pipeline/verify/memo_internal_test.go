package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// TestSealMemo: one Verifier remembers a seal it has read by its bytes,
// never by its code: a seal whose maker signature is broken, or bytes that
// are no seal, fail under the same code after a good seal passed, and the
// good seal still passes after them.
func TestSealMemo(t *testing.T) {
	makerKey, makerCert := testpki.SelfSigned(t, "seal maker")
	_, signerCert := testpki.SelfSigned(t, "signer")
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	good, err := ses.MakeSeal(rand.Reader, ses.MakeSealRequest{
		VendorID: "SEALPIPE", ID: "11010000000001", Type: ses.TypeUnit, Name: "示例单位公章",
		SignerCerts: [][]byte{signerCert.Raw},
		CreateDate:  start, ValidStart: start, ValidEnd: start.AddDate(3, 0, 0),
		Picture: ses.Picture{Type: "PNG", Data: []byte("png"), WidthMM: 40, HeightMM: 40},
	}, makerKey, makerCert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	broken := append([]byte(nil), good...)
	broken[len(broken)-3] ^= 1 // inside the maker's signature value, the seal's last field

	v := &Verifier{Trust: trust.NewPool(nil)}
	at := start.AddDate(0, 1, 0)
	for i, tc := range []struct {
		name        string
		der         []byte
		format      report.Result
		maker       report.Result
		wantSealID  string
		wantNilSeal bool
	}{
		{"good", good, report.OK, report.OK, "11010000000001", false},
		{"maker signature broken", broken, report.OK, report.NotOK, "11010000000001", false},
		{"good again", good, report.OK, report.OK, "11010000000001", false},
		{"not a seal", []byte("not a seal"), report.NotOK, "", "", true},
		{"broken again", broken, report.OK, report.NotOK, "11010000000001", false},
	} {
		checks := map[string]report.Check{}
		var s report.Signature
		seal := v.sealChecks(context.Background(), tc.der, at, &s, func(c report.Check) { checks[c.Name] = c })
		if got := checks["seal-format"].Result; got != tc.format {
			t.Errorf("%d %s: seal-format %s, want %s", i, tc.name, got, tc.format)
		}
		if got := checks["seal-maker-signature"].Result; got != tc.maker {
			t.Errorf("%d %s: seal-maker-signature %s, want %s", i, tc.name, got, tc.maker)
		}
		if (seal == nil) != tc.wantNilSeal || s.SealID != tc.wantSealID {
			t.Errorf("%d %s: seal %v, SealID %q", i, tc.name, seal != nil, s.SealID)
		}
	}
}

// TestSealPicture: a Verifier with Pictures keeps the seal's picture in
// the signature's report; one without keeps none.
func TestSealPicture(t *testing.T) {
	makerKey, makerCert := testpki.SelfSigned(t, "seal maker")
	_, signerCert := testpki.SelfSigned(t, "signer")
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	pic := ses.Picture{Type: "PNG", Data: []byte("\x89PNG picture"), WidthMM: 42, HeightMM: 40}
	der, err := ses.MakeSeal(rand.Reader, ses.MakeSealRequest{
		VendorID: "SEALPIPE", ID: "11010000000002", Type: ses.TypeUnit, Name: "示例单位公章",
		SignerCerts: [][]byte{signerCert.Raw},
		CreateDate:  start, ValidStart: start, ValidEnd: start.AddDate(3, 0, 0),
		Picture: pic,
	}, makerKey, makerCert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		v := &Verifier{Trust: trust.NewPool(nil), Pictures: keep}
		var s report.Signature
		v.sealChecks(context.Background(), der, start.AddDate(0, 1, 0), &s, func(report.Check) {})
		switch {
		case !keep && s.SealPicture != nil:
			t.Errorf("Pictures off: picture %+v kept", s.SealPicture)
		case keep && s.SealPicture == nil:
			t.Error("Pictures on: no picture")
		case keep:
			want := report.Picture{Type: pic.Type, Data: pic.Data, WidthMM: pic.WidthMM, HeightMM: pic.HeightMM}
			if got := *s.SealPicture; got.Type != want.Type || !bytes.Equal(got.Data, want.Data) || got.WidthMM != want.WidthMM || got.HeightMM != want.HeightMM {
				t.Errorf("picture %+v, want %+v", got, want)
			}
		}
	}
}
