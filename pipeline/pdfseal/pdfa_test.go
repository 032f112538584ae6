package pdfseal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
)

// xmpPart is an XMP packet claiming PDF/A part n, as an element or as an
// attribute.
func xmpPart(n int, attribute bool) string {
	id := fmt.Sprintf("<pdfaid:part>%d</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>", n)
	if attribute {
		id = fmt.Sprintf(`pdfaid:part="%d" pdfaid:conformance="B"`, n)
	}
	return `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">` +
		`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" ` +
		`xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"` + map[bool]string{true: " " + id + "/>", false: ">" + id + "</rdf:Description>"}[attribute] +
		`</rdf:RDF></x:xmpmeta><?xpacket end="w"?>`
}

// withMetadata is a one-page document whose catalog names xmp as its
// metadata stream.
func withMetadata(xmp string) []byte {
	return pdfsealtest.Build([]string{"<</Type/Catalog/Pages 2 0 R/Metadata 4 0 R>>", pagesObj, pageObj,
		fmt.Sprintf("<</Type/Metadata/Subtype/XML/Length %d>>\nstream\n%s\nendstream", len(xmp), xmp)}, "/Root 1 0 R")
}

// TestPDFA: a document that claims PDF/A-1 gets the seal picture's
// transparency as a stencil mask (/Mask, §8.9.6.3), since ISO 19005-1
// §6.4 forbids soft masks; every other document, PDF/A-2 included, keeps
// the soft mask. Either way the transparent parts of the picture leave the
// page visible (pdftoppm) and the output verifies.
func TestPDFA(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	testdata := func(name string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			b, err := os.ReadFile(filepath.Join("testdata", "conformance", name))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	fixed := func(b []byte) func(*testing.T) []byte { return func(*testing.T) []byte { return b } }
	for _, tc := range []struct {
		name    string
		input   func(t *testing.T) []byte
		page    int
		stencil bool
	}{
		{"PDF/A-1, element", fixed(withMetadata(xmpPart(1, false))), 1, true},
		{"PDF/A-1, attribute", fixed(withMetadata(xmpPart(1, true))), 1, true},
		{"PDF/A-2", fixed(withMetadata(xmpPart(2, false))), 1, false},
		{"metadata without PDF/A", fixed(withMetadata(`<x:xmpmeta xmlns:x="adobe:ns:meta/"/>`)), 1, false},
		{"no metadata", fixed(pdfsealtest.Build([]string{catalogObj, pagesObj, pageObj}, "/Root 1 0 R")), 1, false},
		{"LibreOffice PDF/A-1", testdata("libreoffice-pdfa1b.pdf"), 1, true},
		{"LibreOffice PDF/A-2", testdata("libreoffice-pdfa2b.pdf"), 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.input(t)
			opts := options(t, sm2K, tc.page)
			opts.Placement = Placement{Page: tc.page, X: 30, Y: 60, Width: 50, Height: 40}
			out := seal(t, in, opts)
			upd := out[len(in):]
			if got := bytes.Contains(upd, []byte("/ImageMask true")) && bytes.Contains(upd, []byte("/Mask ")); got != tc.stencil {
				t.Errorf("stencil mask written: %v, want %v", got, tc.stencil)
			}
			if got := bytes.Contains(upd, []byte("/SMask")); got == tc.stencil {
				t.Errorf("soft mask written: %v, want %v", got, !tc.stencil)
			}
			if results, err := Verify(t.Context(), out); err != nil || len(results) == 0 || results[len(results)-1].Status != Valid {
				t.Fatalf("Verify: %v %+v", err, results)
			}
			file := writeTemp(t, "sealed.pdf", out)
			stats := colourStats(render(t, file, tc.page), opts.Placement, true)
			if stats.insideRed < 0.9 || stats.insideBlue < 0.9 || stats.stripeWhite < 0.9 {
				t.Errorf("box: %.1f%% red above, %.1f%% blue below, %.1f%% white in the transparent stripe; want ≥ 90%% each",
					100*stats.insideRed, 100*stats.insideBlue, 100*stats.stripeWhite)
			}
		})
	}
}
