package devca_test

import (
	"context"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// TestRevokeTLSClient: revocations accumulate on a CRL the TLS CA signs,
// each CRL numbered above the last, with the nextUpdate asked for; a
// certificate revoked again keeps its first revocation; a certificate of
// another CA, a CA certificate and an unknown reason are refused with
// nothing written; OpenSSL verifies the CRL under the TLS CA and reads the
// entries.
func TestRevokeTLSClient(t *testing.T) {
	dir := t.TempDir()
	ca, err := devca.Init(devca.Config{Dir: filepath.Join(dir, "pki"), Passphrase: []byte("crl test")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := devca.Init(devca.Config{Dir: filepath.Join(dir, "other"), Passphrase: []byte("other")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	client := func(ca *devca.CA, name string) *smx509.Certificate {
		certPEM, _, err := ca.IssueTLSClient(ctx, devca.TLSClient{Name: name, Role: trust.DefaultApproverOID, Units: []string{"某某县民政局"}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(certPEM)
		c, err := smx509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	zhao, qian, mallory := client(ca, "keeper-zhao"), client(ca, "keeper-qian"), client(other, "keeper-zhao")
	tlsCA, err := trust.LoadCertificates(ca.TLSCAPath())
	if err != nil {
		t.Fatal(err)
	}

	var lastNumber int64
	for _, c := range []struct {
		name    string
		req     devca.TLSRevoke
		wantErr string // refused, nothing written
		again   bool
		listed  []string // serials on the CRL, in order
		reasons []int
	}{
		{name: "by certificate", req: devca.TLSRevoke{Cert: zhao, Reason: "affiliation-changed", CRLValidity: 7 * 24 * time.Hour},
			listed: []string{zhao.SerialNumber.String()}, reasons: []int{3}},
		{name: "by serial, reason unspecified", req: devca.TLSRevoke{Serial: qian.SerialNumber},
			listed: []string{zhao.SerialNumber.String(), qian.SerialNumber.String()}, reasons: []int{3, 0}},
		{name: "again: the first revocation stays", req: devca.TLSRevoke{Cert: zhao, Reason: "key-compromise"}, again: true,
			listed: []string{zhao.SerialNumber.String(), qian.SerialNumber.String()}, reasons: []int{3, 0}},
		{name: "another CA's certificate", req: devca.TLSRevoke{Cert: mallory}, wantErr: "was not issued by the development TLS CA"},
		{name: "the CA itself", req: devca.TLSRevoke{Cert: tlsCA[0]}, wantErr: "is a CA certificate"},
		{name: "unknown reason", req: devca.TLSRevoke{Cert: qian, Reason: "certificate-hold"}, wantErr: `revocation reason "certificate-hold"`},
		{name: "no serial", req: devca.TLSRevoke{Serial: big.NewInt(0)}, wantErr: "positive serial number"},
		{name: "CRL validity too short", req: devca.TLSRevoke{Cert: qian, CRLValidity: time.Minute}, wantErr: "at least an hour"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, _ := os.ReadFile(ca.TLSCRLPath())
			crl, again, err := ca.RevokeTLSClient(ctx, c.req)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				if after, _ := os.ReadFile(ca.TLSCRLPath()); string(after) != string(before) {
					t.Fatal("a refused revocation changed the CRL")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if again != c.again {
				t.Errorf("again = %v, want %v", again, c.again)
			}
			der, err := os.ReadFile(crl.Path)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := smx509.ParseRevocationList(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := parsed.CheckSignatureFrom(tlsCA[0]); err != nil {
				t.Fatalf("the CRL does not verify under the TLS CA: %v", err)
			}
			if n := parsed.Number.Int64(); n <= lastNumber || n != crl.Number {
				t.Errorf("cRLNumber %d after %d (reported %d): want it to grow", n, lastNumber, crl.Number)
			}
			lastNumber = parsed.Number.Int64()
			validity := c.req.CRLValidity
			if validity == 0 {
				validity = devca.DefaultTLSCRLValidity
			}
			if got := parsed.NextUpdate.Sub(parsed.ThisUpdate); got != validity {
				t.Errorf("nextUpdate - thisUpdate = %v, want %v", got, validity)
			}
			var serials []string
			var reasons []int
			for _, e := range parsed.RevokedCertificateEntries {
				serials, reasons = append(serials, e.SerialNumber.String()), append(reasons, e.ReasonCode)
			}
			if strings.Join(serials, ",") != strings.Join(c.listed, ",") || len(reasons) != len(c.reasons) {
				t.Fatalf("listed %v, want %v", serials, c.listed)
			}
			for i := range reasons {
				if reasons[i] != c.reasons[i] {
					t.Errorf("entry %d: reason %d, want %d", i, reasons[i], c.reasons[i])
				}
			}
		})
	}

	// Issued again: the same revocations, a later nextUpdate, the next number.
	crl, err := ca.IssueTLSCRL(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(crl.Revoked) != 2 || crl.Number <= lastNumber || crl.Revoked[0].Name != "keeper-zhao" {
		t.Fatalf("issued again: %+v", crl)
	}

	// OpenSSL verifies it under the TLS CA, and reads both entries.
	openssl := testenv.Tool(t, "openssl")
	out, err := exec.Command(openssl, "crl", "-inform", "DER", "-in", crl.Path, "-CAfile", ca.TLSCAPath(), "-noout", "-text").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "verify OK") {
		t.Fatalf("openssl crl: %v\n%s", err, out)
	}
	for _, want := range []string{"Affiliation Changed", strings.ToUpper(zhao.SerialNumber.Text(16)), strings.ToUpper(qian.SerialNumber.Text(16))} {
		if !strings.Contains(strings.ReplaceAll(string(out), ":", ""), want) {
			t.Errorf("openssl's listing lacks %s:\n%s", want, out)
		}
	}
	// Under another CA it does not verify (openssl crl says so; its exit
	// status is 0 either way in some versions).
	if out, _ := exec.Command(openssl, "crl", "-inform", "DER", "-in", crl.Path, "-CAfile", other.TLSCAPath(), "-noout").CombinedOutput(); strings.Contains(string(out), "verify OK") || !strings.Contains(string(out), "verify failure") {
		t.Fatalf("openssl crl under another CA:\n%s", out)
	}
}
