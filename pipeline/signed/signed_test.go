package signed_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/signed"
)

type record struct {
	Seal     string `json:"seal"`
	Document string `json:"document"`
	Count    int    `json:"count"`
}

// signers returns an SM2 and an ECDSA P-256 signer with certificates.
func signers(t *testing.T) map[string]signed.Signer {
	t.Helper()
	sm2Key, sm2Cert := testpki.SelfSigned(t, "sm2 service")
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecCert := testpki.Issue(t, &smx509.Certificate{Subject: pkix.Name{CommonName: "ecdsa service"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: smx509.KeyUsageDigitalSignature}, ecKey, nil)
	return map[string]signed.Signer{
		"SM2":   {Key: sm2Key, Cert: sm2Cert},
		"ECDSA": {Key: crypto.Signer(ecKey), Cert: ecCert},
	}
}

func TestEnvelope(t *testing.T) {
	t.Parallel()
	for name, s := range signers(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := record{Seal: "33010200000001", Document: "证明<1>&.pdf", Count: 3}
			obj, err := s.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			// The object is what json.MarshalIndent makes of the envelope.
			var env struct {
				Format    string          `json:"format"`
				Payload   json.RawMessage `json:"payload"`
				Signature []byte          `json:"signature"`
			}
			if err := json.Unmarshal(obj, &env); err != nil {
				t.Fatal(err)
			}
			var compactPayload bytes.Buffer
			if payload, _ := json.Marshal(want); json.Compact(&compactPayload, env.Payload) != nil || !bytes.Equal(compactPayload.Bytes(), payload) {
				t.Errorf("payload %s, want %s", env.Payload, payload)
			}
			if indented, err := json.MarshalIndent(env, "", "  "); err != nil || string(obj) != string(indented)+"\n" {
				t.Errorf("the object:\n%s\njson.MarshalIndent:\n%s\n(%v)", obj, indented, err)
			}
			var got record
			cert, err := signed.Unmarshal(obj, &got)
			if err != nil || got != want || !cert.Equal(s.Cert) {
				t.Fatalf("Unmarshal = %+v, %v, signer %v", got, err, cert.Subject)
			}
			// Re-indenting the object changes nothing the signature covers.
			var compact bytes.Buffer
			if err := json.Compact(&compact, obj); err != nil {
				t.Fatal(err)
			}
			if _, _, err := signed.Open(compact.Bytes()); err != nil {
				t.Fatalf("compacted object: %v", err)
			}
			for _, tc := range []struct {
				name    string
				edit    func([]byte) []byte
				wantErr error
			}{
				{"a value changed", func(b []byte) []byte { return bytes.Replace(b, []byte(`"count": 3`), []byte(`"count": 4`), 1) }, signed.ErrSignature},
				{"a name changed", func(b []byte) []byte { return bytes.Replace(b, []byte(`"seal"`), []byte(`"SEAL"`), 1) }, signed.ErrSignature},
				{"an escape changed", func(b []byte) []byte { return bytes.Replace(b, []byte(`\u003c`), []byte(`<`), 1) }, signed.ErrSignature},
				{"signature cut", func(b []byte) []byte {
					return bytes.Replace(b, []byte(`"signature": "`), []byte(`"signature": "AAAA`), 1)
				}, signed.ErrSignature},
				{"format missing", func(b []byte) []byte { return bytes.Replace(b, []byte(signed.Format), []byte("x"), 1) }, signed.ErrFormat},
				{"plain record", func([]byte) []byte { b, _ := json.Marshal(want); return b }, signed.ErrFormat},
				{"extra field", func(b []byte) []byte { return bytes.Replace(b, []byte(`"format"`), []byte(`"x": 1, "format"`), 1) }, signed.ErrFormat},
				{"empty", func([]byte) []byte { return nil }, signed.ErrFormat},
			} {
				edited := tc.edit(append([]byte(nil), obj...))
				if bytes.Equal(edited, obj) {
					t.Fatalf("%s: the edit changed nothing", tc.name)
				}
				if _, _, err := signed.Open(edited); !errors.Is(err, tc.wantErr) {
					t.Errorf("%s: Open = %v, want %v", tc.name, err, tc.wantErr)
				}
			}
		})
	}
}

func TestDetached(t *testing.T) {
	t.Parallel()
	s := signers(t)["SM2"]
	content := []byte("approval manifest bytes")
	sig, err := s.Sign(content)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err := signed.Verify(content, sig); err != nil || !cert.Equal(s.Cert) {
		t.Fatalf("Verify: %v", err)
	}
	for name, c := range map[string][]byte{"other content": []byte("approval manifest bytez"), "no content": nil} {
		if _, err := signed.Verify(c, sig); !errors.Is(err, signed.ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
	for name, bad := range map[string][]byte{"empty": nil, "garbage": []byte("not CMS"), "huge": make([]byte, signed.MaxSignatureSize+1)} {
		if _, err := signed.Verify(content, bad); !errors.Is(err, signed.ErrSignature) {
			t.Errorf("%s signature: %v, want ErrSignature", name, err)
		}
	}
	if _, err := (signed.Signer{}).Sign(content); err == nil {
		t.Error("Sign without a key succeeded")
	}
}

func FuzzOpen(f *testing.F) {
	key, cert := testpki.SelfSigned(f, "fuzz")
	obj, err := signed.Signer{Key: key, Cert: cert}.Marshal(record{Seal: "x", Count: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(obj)
	f.Add([]byte(`{"format":"sealpipe-signed/1","payload":{},"signature":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, cert, err := signed.Open(data)
		if err == nil && (cert == nil || !json.Valid(payload)) {
			t.Fatalf("Open accepted %q without a signer or valid payload", data)
		}
	})
}
