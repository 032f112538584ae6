package engine

import (
	"errors"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
)

// TestSignatureFormatSettings: SEALPIPE_PDF_SIGNATURE_FORMATS gives each
// seal its format, "*" the others; pades-b-t gets the TSA of
// SEALPIPE_TSA_URL; what cannot work is refused at Load.
func TestSignatureFormatSettings(t *testing.T) {
	s, err := Load("", env(map[string]string{
		"SEALPIPE_PDF_SIGNATURE_FORMATS": "33010200000001=pades-b-t, 33010200000002=SES,*=pkcs7",
		"SEALPIPE_TSA_URL":               "http://127.0.0.1:3161/ecdsa",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Signatures.TSAAddr != "127.0.0.1:3161" {
		t.Errorf("TSA address default %q", s.Signatures.TSAAddr)
	}
	e := &Engine{settings: s}
	signers, err := e.pipelineSigners(keys.NewCache(nil))
	if err != nil {
		t.Fatal(err)
	}
	sf, ok := signers.(pipeline.SignatureFormats)
	if !ok {
		t.Fatalf("%T does not choose formats", signers)
	}
	for seal, want := range map[string]pdfseal.Format{"33010200000001": pdfseal.FormatPAdESBT, "33010200000002": pdfseal.FormatSES, "33010200000003": pdfseal.FormatPKCS7} {
		f, stamper := sf.SignatureFormat(seal)
		if f != want || (stamper != nil) != (want == pdfseal.FormatPAdESBT) {
			t.Errorf("seal %s: format %q, timestamper %v; want %q", seal, f, stamper, want)
		}
	}

	// Nothing configured: the keyring's cache as it is, every seal pdfseal's default.
	e = &Engine{settings: Settings{}.WithDefaults()}
	if signers, err := e.pipelineSigners(keys.NewCache(nil)); err != nil {
		t.Fatal(err)
	} else if _, ok := signers.(*keys.Cache); !ok {
		t.Errorf("no formats configured, yet the signers are %T", signers)
	}

	for _, bad := range []map[string]string{
		{"SEALPIPE_PDF_SIGNATURE_FORMATS": "33010200000001=cades"},
		{"SEALPIPE_PDF_SIGNATURE_FORMATS": "pades-b-b"},
		{"SEALPIPE_PDF_SIGNATURE_FORMATS": "*=pkcs7,*=ses"},
		{"SEALPIPE_PDF_SIGNATURE_FORMATS": "*=pades-b-t"},
		{"SEALPIPE_PDF_SIGNATURE_FORMATS": "*=pades-b-t", "SEALPIPE_TSA_URL": "127.0.0.1:3161"},
	} {
		var se *SettingError
		if _, err := Load("", env(bad), nil); !errors.As(err, &se) || !errors.Is(err, ErrSettings) {
			t.Errorf("%v: %v, want a SettingError", bad, err)
		}
	}
}
