package engine

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// TestCRLSettings wires SEALPIPE_CRLS URLs and the distribution-point
// switch into the engine's pools: a listed URL is downloaded once for every
// pool of the engine (the cache is shared), a certificate's distribution
// point never unless SEALPIPE_CRL_DISTRIBUTION_POINTS or --crl-dp allows.
func TestCRLSettings(t *testing.T) {
	t.Parallel()
	now := time.Now()
	rootKey := testpki.NewKey(t)
	root := &testpki.Identity{Key: rootKey, Cert: testpki.Issue(t, &smx509.Certificate{
		Subject: pkix.Name{CommonName: "root"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}, rootKey, nil)}
	var dpRequests, listedRequests atomic.Int64
	var crl []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dp.crl" {
			dpRequests.Add(1)
		} else {
			listedRequests.Add(1)
		}
		w.Write(crl)
	}))
	defer srv.Close()
	signerKey := testpki.NewKey(t)
	signer := testpki.Issue(t, &smx509.Certificate{
		Subject: pkix.Name{CommonName: "signer"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: smx509.KeyUsageDigitalSignature, CRLDistributionPoints: []string{srv.URL + "/dp.crl"},
	}, signerKey, root)
	crl, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour),
		RevokedCertificateEntries: []smx509.RevocationListEntry{{SerialNumber: signer.SerialNumber, RevocationTime: now.Add(-time.Minute)}},
	}, root.Cert, root.Key)
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(t.TempDir(), "root.crt")
	if err := os.WriteFile(rootFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	// Distribution points off (the default): nothing is downloaded.
	e := New(Settings{Data: t.TempDir(), Roots: []string{rootFile}})
	pool, err := e.Trust()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Verify(signer, now, trust.UsageDocumentSigner); err != nil || dpRequests.Load() != 0 {
		t.Fatalf("distribution points off: %v after %d requests, want nil after none", err, dpRequests.Load())
	}
	// --crl-dp turns them on for the verifier.
	v, err := e.Verifier(context.Background(), VerifierOptions{DistributionPoints: true, NoRegistry: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Trust.Verify(signer, now, trust.UsageDocumentSigner); !errors.Is(err, trust.ErrRevoked) || dpRequests.Load() != 1 {
		t.Fatalf("--crl-dp: %v after %d requests, want ErrRevoked after 1", err, dpRequests.Load())
	}

	// A listed URL: downloaded once, for the engine's pool and the
	// verifier's alike.
	e = New(Settings{Data: t.TempDir(), Roots: []string{rootFile}, CRLs: []string{srv.URL + "/root.crl"}})
	pool, err = e.Trust()
	if err != nil {
		t.Fatal(err)
	}
	v, err = e.Verifier(context.Background(), VerifierOptions{Roots: []string{rootFile}, NoRegistry: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*trust.Pool{pool, v.Trust, pool} {
		if _, err := p.Verify(signer, now, trust.UsageDocumentSigner); !errors.Is(err, trust.ErrRevoked) {
			t.Fatalf("listed CRL: %v, want ErrRevoked", err)
		}
	}
	if n := listedRequests.Load(); n != 1 || dpRequests.Load() != 1 {
		t.Errorf("%d requests of the listed CRL, %d of the distribution point; want 1 and 1 (no more)", n, dpRequests.Load())
	}
}

// TestVerifierWithoutSetup: no roots, no data folder, nothing created.
func TestVerifierWithoutSetup(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "absent")
	e := New(Settings{Data: data, CRLs: []string{"http://127.0.0.1:1/never.crl"}})
	v, err := e.Verifier(context.Background(), VerifierOptions{})
	if err != nil {
		t.Fatalf("Verifier with no roots: %v", err)
	}
	if v.Trust.HasRoots() || v.Seals != nil {
		t.Errorf("a verifier with no roots got roots or a registry")
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data folder was created: %v", err)
	}
	// Other commands still need roots.
	if _, err := e.Trust(); !errors.Is(err, ErrSettings) {
		t.Errorf("Trust with no roots: %v, want ErrSettings", err)
	}
}
