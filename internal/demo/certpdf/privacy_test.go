package certpdf

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// privacyCertificates are certificates whose personal data must stay on the
// page: samples, and one whose body names the citizen in every paragraph.
func privacyCertificates() map[string]Certificate {
	cs := testCertificates()
	named := Sample(7, issued)
	named.Body = "兹证明" + named.Name + "（公民身份号码：" + named.IDNumber + "）系本县居民。\n" + named.Name + "同志现住本县。"
	cs["name in every paragraph"] = named
	return cs
}

// personalData is what of c must not leave the page.
func personalData(c Certificate) map[string]string {
	return map[string]string{"name": c.Name, "ID number": c.IDNumber}
}

// encodings are the forms a PDF may hold s in, raw in its bytes: UTF-8 (a
// literal string or XMP), UTF-16BE (a literal text string) and UTF-16BE in
// hexadecimal, either case (a hex text string, as Render writes them).
func encodings(s string) map[string][]byte {
	var raw bytes.Buffer
	var hex strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		raw.WriteByte(byte(u >> 8))
		raw.WriteByte(byte(u))
		fmt.Fprintf(&hex, "%04X", u)
	}
	return map[string][]byte{
		"UTF-8":                []byte(s),
		"UTF-16BE":             raw.Bytes(),
		"UTF-16BE hex":         []byte(hex.String()),
		"UTF-16BE hex, lower":  []byte(strings.ToLower(hex.String())),
		"UTF-16BE hex, spaced": []byte(strings.Join(regexp.MustCompile(`.{2}`).FindAllString(hex.String(), -1), " ")),
	}
}

// TestMetadataHasNoPersonalData renders certificates and reads back their
// metadata three ways: the Info dictionary and any XMP stream as pdfcpu
// parses them, the raw bytes of those objects, and pdfinfo (the Info
// dictionary and, with -meta, the XMP metadata as poppler reads them). None
// may hold the citizen's name or identity number; the page shows them.
func TestMetadataHasNoPersonalData(t *testing.T) {
	eachPDF(t, privacyCertificates(), func(t *testing.T, c Certificate, path string, b []byte) {
		meta := pdfMetadata(t, b)
		if len(meta) == 0 {
			t.Fatal("found no metadata to check")
		}
		if !strings.Contains(meta["Info /Title"], c.Number) {
			t.Errorf("Info /Title %q does not name certificate %s", meta["Info /Title"], c.Number)
		}
		infoRaw := rawObject(t, b, "/Info")
		for what, v := range personalData(c) {
			for where, text := range meta {
				if strings.Contains(text, v) {
					t.Errorf("%s holds the %s %q: %q", where, what, v, text)
				}
			}
			for enc, needle := range encodings(v) {
				if bytes.Contains(infoRaw, needle) {
					t.Errorf("the Info object's bytes hold the %s %q (%s):\n%s", what, v, enc, infoRaw)
				}
			}
			for _, args := range [][]string{{"-enc", "UTF-8"}, {"-enc", "UTF-8", "-meta"}} {
				if out := run(t, "pdfinfo", append(args, path)...); strings.Contains(out, v) {
					t.Errorf("pdfinfo %s shows the %s %q:\n%s", strings.Join(args, " "), what, v, out)
				}
			}
		}
	})
}

// pdfMetadata parses the PDF and returns its metadata as text by where it
// was found: each string of the Info dictionary ("Info /Title") and the
// decoded content of each XMP metadata stream ("XMP object 7").
func pdfMetadata(t *testing.T, b []byte) map[string]string {
	t.Helper()
	conf := &model.Configuration{Reader15: true, ValidationMode: model.ValidationRelaxed, Eol: types.EolLF, Limits: model.DefaultResourceLimits()}
	pc, err := pdfcpu.ReadWithContext(context.Background(), bytes.NewReader(b), conf)
	if err != nil {
		t.Fatal(err)
	}
	xt := pc.XRefTable
	meta := map[string]string{}
	if xt.Info != nil {
		info, err := xt.DereferenceDict(*xt.Info)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range info {
			o, err := xt.Dereference(v)
			if err != nil {
				t.Fatal(err)
			}
			if s, err := types.StringOrHexLiteral(o); err == nil {
				meta["Info /"+k] = *s
			}
		}
	}
	for nr, e := range xt.Table {
		sd, ok := e.Object.(types.StreamDict)
		if !ok || !(sd.Type() != nil && *sd.Type() == "Metadata" || sd.Subtype() != nil && *sd.Subtype() == "XML") {
			continue
		}
		if err := sd.Decode(); err != nil {
			t.Fatalf("XMP object %d: %v", nr, err)
		}
		meta[fmt.Sprintf("XMP object %d", nr)] = string(sd.Content)
	}
	return meta
}

// rawObject returns the bytes of the indirect object the trailer's entry
// key (such as /Info) refers to, from "N 0 obj" to "endobj".
func rawObject(t *testing.T, b []byte, key string) []byte {
	t.Helper()
	m := regexp.MustCompile(`trailer\s*<<[^>]*` + regexp.QuoteMeta(key) + ` (\d+) 0 R`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("the trailer has no %s", key)
	}
	start := bytes.Index(b, []byte("\n"+string(m[1])+" 0 obj"))
	if start < 0 {
		t.Fatalf("object %s is missing", m[1])
	}
	end := bytes.Index(b[start:], []byte("endobj"))
	if end < 0 {
		t.Fatalf("object %s does not end", m[1])
	}
	return b[start : start+end]
}
