package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// TestPAdESPdfsig: a PDF sealed by an SM2 seal and then, in a later
// update, by the seal of a unit made with --key-type p256 under
// SEALPIPE_PDF_SIGNATURE_FORMATS=<code>=pades-b-b is what poppler, with
// only the development PAdES CA trusted, calls a valid PAdES signature of
// the whole document by a trusted certificate; qpdf finds it sound. The
// SM2 signature, which NSS cannot check, covers the first revision only.
// Both ways to get there are checked: `sealpipe seal` twice, and a batch
// whose approval lists the PAdES seal as a further seal (approve --also)
// through `sealpipe run --once`.
func TestPAdESPdfsig(t *testing.T) {
	pdfsig := testenv.Tool(t, "pdfsig")
	qpdf := testenv.Tool(t, "qpdf")
	embeddedDefaults(t)
	work := t.TempDir()
	t.Setenv("SEALPIPE_DATA", filepath.Join(work, "data"))
	t.Setenv("SEALPIPE_KEY_PASSPHRASE", "pades test passphrase")
	t.Setenv("SEALPIPE_PDF_SIGNATURE_FORMATS", "")
	file := func(name string) string { return filepath.Join(work, name) }

	mustSealpipe(t, "ca", "init")
	mustSealpipe(t, "seals", "make", "--unit", "civil-affairs", "--code", "33010200000001", "--purpose", "业务专用章", "--approver", "approver-zhang")
	mustSealpipe(t, "seals", "make", "--unit", "civil-pades", "--unit-name", "某某县民政局", "--key-type", "p256",
		"--code", "33010200000002", "--purpose", "合同专用章", "--approver", "approver-zhang", "--dept", "civil-affairs")
	mustSealpipe(t, "batch", "make", "--docs", "1", "--out", file("batch"), "--batch", "b1")
	mustSealpipe(t, "seal", file("batch/cert-00001.pdf"), "-o", file("sm2.pdf"), "--seal", "33010200000001", "--page", "1", "--x", "20", "--y", "20")
	t.Setenv("SEALPIPE_PDF_SIGNATURE_FORMATS", "33010200000002=pades-b-b")
	mustSealpipe(t, "seal", file("sm2.pdf"), "-o", file("both.pdf"), "--seal", "33010200000002", "--page", "1", "--x", "80", "--y", "20")

	mustSealpipe(t, "approve", file("batch"), "--dept", "civil-affairs", "--batch", "b1", "--approver", "approver-zhang",
		"--seal", "33010200000001", "--page", "1", "--x", "20", "--y", "20", "--also", "33010200000002@80,20")
	mustSealpipe(t, "batch", "upload", file("batch"))
	mustSealpipe(t, "run", "--once")
	piped := filepath.Join(work, "data", "store", "sealpipe", "sealed", "civil-affairs", "b1", "cert-00001.pdf")

	roots, err := trust.LoadCertificates(filepath.Join(work, "data", "pki", "pades", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	nss := testenv.NSSDB(t, roots[0].Raw)
	for name, doc := range map[string]string{"sealpipe seal twice": file("both.pdf"), "pipeline, approve --also": piped} {
		t.Run(name, func(t *testing.T) {
			if out, err := exec.Command(qpdf, "--check", doc).CombinedOutput(); err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors found") {
				t.Errorf("qpdf --check: %v\n%s", err, out)
			}
			// pdfsig exits non-zero when a signature (the SM2 one) does not verify.
			out, _ := exec.Command(pdfsig, "-nssdir", nss, doc).CombinedOutput()
			t.Logf("pdfsig:\n%s", out)
			sm2Sig, padesSig, ok := strings.Cut(string(out), "Signature #2:")
			if !ok {
				t.Fatal("pdfsig lists one signature")
			}
			for _, want := range []string{
				"Signature Field Name: Seal2", "Signer Certificate Common Name: civil-pades", "Signature Type: ETSI.CAdES.detached",
				"Signature Validation: Signature is Valid.", "Total document signed", "Certificate Validation: Certificate is Trusted.",
			} {
				if !strings.Contains(padesSig, want) {
					t.Errorf("pdfsig does not say %q of the PAdES signature", want)
				}
			}
			if !strings.Contains(sm2Sig, "Signature Field Name: Seal1") || strings.Contains(sm2Sig, "Total document signed") {
				t.Error("pdfsig: the SM2 signature should be Seal1 and cover the first revision only")
			}

			// Without the PAdES CA in its database, poppler does not trust it.
			out, _ = exec.Command(pdfsig, "-nssdir", testenv.NSSDB(t), doc).CombinedOutput()
			if _, padesSig, _ := strings.Cut(string(out), "Signature #2:"); strings.Contains(padesSig, "Certificate is Trusted.") {
				t.Errorf("pdfsig trusts the PAdES signer without its CA:\n%s", out)
			}
		})
	}
}
