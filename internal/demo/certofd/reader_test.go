package certofd

import (
	"testing"

	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
	"github.com/sealpipe/sealpipe/pipeline/ofd"
)

// TestPipelineReader opens every test certificate with the pipeline's OFD
// reader, as sealing and verification will.
func TestPipelineReader(t *testing.T) {
	eachCertificate(t, func(t *testing.T, c certpdf.Certificate, want *pkg) {
		b := render(t, c)
		p, err := ofd.Open(b, ofd.Limits{})
		if err != nil {
			t.Fatalf("ofd.Open: %v", err)
		}
		if len(p.Bodies) != 1 || p.Bodies[0].Signatures != "" {
			t.Fatalf("Bodies %+v: want one, unsigned", p.Bodies)
		}
		doc, err := p.Document(p.Bodies[0])
		if err != nil {
			t.Fatalf("Document: %v", err)
		}
		a4 := ofd.Box{X: 0, Y: 0, W: 210, H: 297}
		if doc.PhysicalBox != a4 || len(doc.Pages) != 1 || doc.MaxUnitID < firstText {
			t.Errorf("Document %+v: want one A4 page and a MaxUnitID", doc)
		}
		box, err := p.PageBox(doc, 0)
		if err != nil || box != a4 {
			t.Errorf("PageBox = %+v, %v; want A4", box, err)
		}
		if len(doc.PublicRes) != 1 || doc.PublicRes[0] != publicResName {
			t.Errorf("PublicRes %q, want %q", doc.PublicRes, publicResName)
		}
		for _, name := range []string{doc.Pages[0].Content, want.fontPath} {
			if _, err := p.Read(name); err != nil {
				t.Errorf("Read(%s): %v", name, err)
			}
		}
	})
}
