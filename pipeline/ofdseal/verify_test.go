package ofdseal

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/ofd"
)

// corpus reads an OFD of the conformance corpus in place.
func corpus(t testing.TB, name string) []byte {
	t.Helper()
	return testenv.ConformanceFile(t, "ofd", name)
}

// TestVerifyStatuses checks ofdseal's own verdicts on the corpus (the report
// mapping is tested in package verify).
func TestVerifyStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		status []Status
		failed []Check
		err    []error
	}{
		{"v4signed.ofd", []Status{Valid}, []Check{""}, []error{nil}},
		{"allprotected.ofd", []Status{Valid}, []Check{""}, []error{nil}},
		{"发票示例.ofd", []Status{Invalid}, []Check{CheckReferences}, []error{ErrDigestMismatch}},
		{"h.ofd", []Status{Invalid, Valid}, []Check{CheckReferences, ""}, []error{ErrDigestMismatch, nil}},
		{"n.ofd", []Status{Invalid}, []Check{CheckSignatureValue}, []error{ErrBadSignature}},
		{"DigitalSign.ofd", []Status{Indeterminate}, []Check{CheckSignatureValue}, []error{ErrNoSignerCertificate}},
		{"testImageNotFound.ofd", []Status{Valid, Valid}, []Check{"", ""}, []error{nil, nil}},
		{"helloworld.ofd", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			res, err := Verify(context.Background(), corpus(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(tt.status) {
				t.Fatalf("%d results, want %d", len(res), len(tt.status))
			}
			for i, r := range res {
				if r.Status != tt.status[i] || r.Failed != tt.failed[i] || !errors.Is(r.Err, tt.err[i]) || (tt.err[i] == nil) != (r.Err == nil) {
					t.Errorf("signature %s: %s, failed %q, %v; want %s, %q, %v", r.ID, r.Status, r.Failed, r.Err, tt.status[i], tt.failed[i], tt.err[i])
				}
			}
		})
	}
	res, err := Verify(context.Background(), corpus(t, "allprotected.ofd"))
	if err != nil || !res[0].WholeProtected || res[0].Seal == nil || len(res[0].Stamps) != 1 || res[0].SigningTime.IsZero() {
		t.Fatalf("allprotected.ofd: %+v, %v", res, err)
	}
}

// TestHostileSignature: a billion-laughs Signature.xml inside a sealed
// package fails its signature's format check at once; the package stays
// readable.
func TestHostileSignature(t *testing.T) {
	t.Parallel()
	in := corpus(t, "allprotected.ofd")
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		w, _ := zw.Create(f.Name)
		if f.Name == "Doc_0/Signs/Sign_0/Signature.xml" {
			w.Write([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Signature>&b;</Signature>`))
			continue
		}
		rc, _ := f.Open()
		buf := new(bytes.Buffer)
		buf.ReadFrom(rc)
		rc.Close()
		w.Write(buf.Bytes())
	}
	zw.Close()
	start := time.Now()
	res, err := Verify(context.Background(), out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Status != Invalid || res[0].Failed != CheckFormat || !errors.Is(res[0].Err, ofd.ErrDTD) || time.Since(start) > time.Second {
		t.Fatalf("%+v", res)
	}
}

// BenchmarkVerify verifies a sealed OFD (ofdrw's allprotected.ofd, one v4
// seal) and compares it, in the same run, with the floor of verification:
// one SM3 pass over the package's bytes plus one SM2 verification. The
// sub-benchmark after the floor reports its cost in multiples of it
// ("x-floor").
func BenchmarkVerify(b *testing.B) {
	doc := corpus(b, "allprotected.ofd")
	res, err := Verify(context.Background(), doc)
	if err != nil || res[0].Status != Valid {
		b.Fatal(err, res)
	}
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	sum := sm3.Sum(doc)
	sig, err := key.Sign(rand.Reader, sum[:], sm2.DefaultSM2SignerOpts)
	if err != nil {
		b.Fatal(err)
	}
	measure := floorBench(b, len(doc))
	pub := &key.PublicKey
	measure("floor-SM3+SM2verify", func() {
		sum := sm3.Sum(doc)
		if !sm2.VerifyASN1WithSM2((*ecdsa.PublicKey)(pub), nil, sum[:], sig) {
			b.Fatal("floor signature does not verify")
		}
	})
	measure("ofdseal.Verify", func() {
		if res, err := Verify(context.Background(), doc); err != nil || res[0].Status != Valid {
			b.Fatal(err, res)
		}
	})
}
