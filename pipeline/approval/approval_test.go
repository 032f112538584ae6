package approval

import (
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/internal/testpki"
)

func validManifest() *Manifest {
	sum := sm3.Sum([]byte("document"))
	return &Manifest{
		Version: Version, Batch: "2026-11-24-001", Department: "civil-affairs", Approver: "approver-zhang",
		ApprovedAt: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC),
		Documents:  []Document{{Name: "cert-1.pdf", SM3: hex.EncodeToString(sum[:]), Seal: "33010200000001", Placement: Placement{Page: 1, X: 120, Y: 40}}},
	}
}

func TestParseRoundTrip(t *testing.T) {
	t.Parallel()
	m := validManifest()
	m.Documents[0].Also = []SealUse{{Seal: "33010200000002", Placement: Placement{Page: 1, X: 60, Y: 40}}}
	b, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Batch != m.Batch || !got.ApprovedAt.Equal(m.ApprovedAt) || len(got.Documents) != 1 || !reflect.DeepEqual(got.Documents[0], m.Documents[0]) {
		t.Fatalf("round trip changed the manifest: %+v", got)
	}
	if d, ok := got.Find("cert-1.pdf"); !ok || hex.EncodeToString(d.Digest()) != m.Documents[0].SM3 {
		t.Fatalf("Find = %+v, %v", d, ok)
	}
	if _, ok := got.Find("other.pdf"); ok {
		t.Fatal("Find found a document that is not listed")
	}
}

// TestDocumentNames: a batch's documents are PDF or OFD, told apart by
// content; their names end in .pdf or .ofd, in any case.
func TestDocumentNames(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"cert-1.pdf": true, "cert-1.ofd": true, "证照.OFD": true, "A.Pdf": true,
		"cert-1.ofd.json": false, "cert-1": false, "cert.xml": false, ManifestName: false, SignatureName: false,
	} {
		if err := CheckDocumentName(name); (err == nil) != ok {
			t.Errorf("CheckDocumentName(%q) = %v, want ok %v", name, err, ok)
		}
		if got := IsDocumentName(name); got != ok {
			t.Errorf("IsDocumentName(%q) = %v, want %v", name, got, ok)
		}
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	good, err := Marshal(validManifest())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(m *Manifest)
		raw    string
	}{
		{name: "version", mutate: func(m *Manifest) { m.Version = 2 }},
		{name: "batch with slash", mutate: func(m *Manifest) { m.Batch = "a/b" }},
		{name: "dot department", mutate: func(m *Manifest) { m.Department = ".." }},
		{name: "no time", mutate: func(m *Manifest) { m.ApprovedAt = time.Time{} }},
		{name: "no documents", mutate: func(m *Manifest) { m.Documents = nil }},
		{name: "path traversal", mutate: func(m *Manifest) { m.Documents[0].Name = "../x.pdf" }},
		{name: "hidden name", mutate: func(m *Manifest) { m.Documents[0].Name = ".x.pdf" }},
		{name: "control char", mutate: func(m *Manifest) { m.Documents[0].Name = "a\nb.pdf" }},
		{name: "not pdf", mutate: func(m *Manifest) { m.Documents[0].Name = "approval.json" }},
		{name: "neither pdf nor ofd", mutate: func(m *Manifest) { m.Documents[0].Name = "cert-1.docx" }},
		{name: "duplicate", mutate: func(m *Manifest) { m.Documents = append(m.Documents, m.Documents[0]) }},
		{name: "short digest", mutate: func(m *Manifest) { m.Documents[0].SM3 = "abcd" }},
		{name: "upper-case digest", mutate: func(m *Manifest) { m.Documents[0].SM3 = strings.ToUpper(m.Documents[0].SM3) }},
		{name: "no seal", mutate: func(m *Manifest) { m.Documents[0].Seal = "" }},
		{name: "page 0", mutate: func(m *Manifest) { m.Documents[0].Placement.Page = 0 }},
		{name: "negative x", mutate: func(m *Manifest) { m.Documents[0].Placement.X = -1 }},
		{name: "also: no seal", mutate: func(m *Manifest) { m.Documents[0].Also = []SealUse{{Placement: Placement{Page: 1}}} }},
		{name: "also: the same seal", mutate: func(m *Manifest) {
			m.Documents[0].Also = []SealUse{{Seal: m.Documents[0].Seal, Placement: Placement{Page: 1}}}
		}},
		{name: "also: twice", mutate: func(m *Manifest) {
			u := SealUse{Seal: "33010200000002", Placement: Placement{Page: 1}}
			m.Documents[0].Also = []SealUse{u, u}
		}},
		{name: "also: bad placement", mutate: func(m *Manifest) { m.Documents[0].Also = []SealUse{{Seal: "33010200000002"}} }},
		{name: "also: certifies", mutate: func(m *Manifest) {
			m.Documents[0].Also = []SealUse{{Seal: "33010200000002", Placement: Placement{Page: 1, Certify: 2}}}
		}},
		{name: "also: after certify 1", mutate: func(m *Manifest) {
			m.Documents[0].Placement.Certify = 1
			m.Documents[0].Also = []SealUse{{Seal: "33010200000002", Placement: Placement{Page: 1}}}
		}},
		{name: "also: too many", mutate: func(m *Manifest) {
			for i := range MaxAlsoSeals + 1 {
				m.Documents[0].Also = append(m.Documents[0].Also, SealUse{Seal: fmt.Sprintf("3301020000009%d", i), Placement: Placement{Page: 1}})
			}
		}},
		{name: "unknown field", raw: strings.Replace(string(good), `"version"`, `"extra": 1, "version"`, 1)},
		{name: "trailing data", raw: string(good) + "{}"},
		{name: "not json", raw: "%PDF-1.7"},
		{name: "too large", raw: `{"version":1,"x":"` + strings.Repeat("a", MaxManifestSize) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := []byte(tt.raw)
			if tt.mutate != nil {
				m := validManifest()
				tt.mutate(m)
				if _, err := Marshal(m); !errors.Is(err, ErrMalformed) {
					t.Errorf("Marshal accepted an invalid manifest: %v", err)
				}
				// Encode without validation to test Parse on its own.
				raw = []byte(strings.Replace(mustJSON(t, m), "\n", "", -1))
			}
			if _, err := Parse(raw); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error = %v, want ErrMalformed", err)
			}
		})
	}
}

func mustJSON(t *testing.T, m *Manifest) string {
	t.Helper()
	saved := *m
	b, err := jsonMarshalNoValidate(&saved)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	key, cert := testpki.SelfSigned(t, "approver-zhang")
	body, err := Marshal(validManifest())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Sign(body, key, cert)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifySignature(body, sig)
	if err != nil {
		t.Fatalf("VerifySignature: %v", err)
	}
	if !got.Equal(cert) {
		t.Fatalf("signer = %q, want %q", got.Subject.CommonName, cert.Subject.CommonName)
	}

	_, other := testpki.SelfSigned(t, "mallory")
	tests := []struct {
		name     string
		manifest []byte
		sig      []byte
	}{
		{"manifest changed", append([]byte(nil), append(body[:len(body)-2:len(body)-2], ' ', '}')...), sig},
		{"one byte of the signature flipped", body, flip(sig, len(sig)-5)},
		{"empty signature", body, nil},
		{"garbage signature", body, []byte("not a signature")},
		{"certificate instead of signature", body, other.Raw},
		{"oversized signature", body, make([]byte, MaxSignatureSize+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := VerifySignature(tt.manifest, tt.sig); !errors.Is(err, ErrSignature) {
				t.Fatalf("VerifySignature = %v, want ErrSignature", err)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x01
	return c
}

func FuzzParse(f *testing.F) {
	good, err := Marshal(validManifest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	for _, pl := range []string{
		`{"page": 1, "x": 20, "y": 30, "corner": "upper-right", "certify": 2}`,
		`{"page": 0, "x": 0, "y": 0, "keyword": "（盖章）", "pages": [1, 3]}`,
		`{"x": 0, "y": 0, "keyword": "杭州市民政局", "pages": "all"}`,
		`{"y": 100, "riding": true, "corner": "upper-left"}`,
		`{"x": 20, "y": 30, "pages": [1, 1], "certify": 9}`,
	} {
		f.Add(manifestWith(f, pl))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Parse accepted a manifest Validate refuses: %v", err)
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	key, cert := testpki.SelfSigned(f, "approver")
	body, _ := Marshal(validManifest())
	sig, err := Sign(body, key, cert)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body, sig)
	f.Fuzz(func(t *testing.T, manifest, sig []byte) {
		if _, err := VerifySignature(manifest, sig); err != nil && !errors.Is(err, ErrSignature) {
			t.Fatalf("error %v does not wrap ErrSignature", err)
		}
	})
}
