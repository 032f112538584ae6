package ofd

import (
	"errors"
	"testing"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// corpus reads an OFD of the conformance corpus in place.
func corpus(t testing.TB, name string) []byte {
	t.Helper()
	return testenv.ConformanceFile(t, "ofd", name)
}

func TestResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base, loc, want string
		err             error
	}{
		{"OFD.xml", "Doc_0/Document.xml", "Doc_0/Document.xml", nil},
		{"OFD.xml", "/Doc_0/Document.xml", "Doc_0/Document.xml", nil},
		{"OFD.xml", "./Doc_0/./Document.xml", "Doc_0/Document.xml", nil},
		{"Doc_0/Document.xml", "Pages/Page_0/Content.xml", "Doc_0/Pages/Page_0/Content.xml", nil},
		{"Doc_0/Signs/Sign_0/Signature.xml", "SignedValue.dat", "Doc_0/Signs/Sign_0/SignedValue.dat", nil},
		{"Doc_0/Signs/Sign_0/Signature.xml", "../../Res/印章.png", "Doc_0/Res/印章.png", nil},
		{"Doc_0/Document.xml", `Pages\Page_0\Content.xml`, "Doc_0/Pages/Page_0/Content.xml", nil},
		{"Doc_0/Document.xml", " /OFD.xml ", "OFD.xml", nil},
		{"Doc_0/Document.xml", "../../etc/passwd", "", ErrUnsafePath},
		{"OFD.xml", "/../x", "", ErrUnsafePath},
		{"OFD.xml", "a\x00b", "", ErrUnsafePath},
		{"OFD.xml", "", "", ErrMalformed},
		{"OFD.xml", "/", "", ErrMalformed},
	}
	for _, tt := range tests {
		got, err := Resolve(tt.base, tt.loc)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("Resolve(%q, %q) = %q, %v; want %q, %v", tt.base, tt.loc, got, err, tt.want, tt.err)
		}
	}
}

// TestConformance opens every OFD of the corpus and reads what sealing and
// verification need, checking the producer deviations each one shows.
func TestConformance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file       string
		docRoot    string
		signatures string // Signatures.xml, "" if none
		pages      int
		box        Box
		sigs       int
		check      func(t *testing.T, p *Package, list *SignatureList)
	}{
		{file: "helloworld.ofd", docRoot: "Doc_0/Document.xml", pages: 1, box: Box{0, 0, 210, 297}},
		{file: "hello-integrity.ofd", docRoot: "Doc_0/Document.xml", pages: 2, box: Box{0, 0, 210, 297}},
		// The page's own Area overrides CommonData's 210 × 297.
		{file: "v4signed.ofd", docRoot: "Doc_0/Document.xml", signatures: "Doc_0/Signs/Signatures.xml", pages: 1, box: Box{0, 0, 210, 140}, sigs: 1,
			check: func(t *testing.T, p *Package, list *SignatureList) {
				// Document.xml names "TPLS/Tpl_0/Content.xml"; the entry is "Tpls".
				if n, err := p.Locate("Doc_0/Document.xml", "TPLS/Tpl_0/Content.xml"); err != nil || n != "Doc_0/Tpls/Tpl_0/Content.xml" {
					t.Errorf("case-folded Locate = %q, %v", n, err)
				}
				s, _, err := p.ReadSignature(list.Signatures[0].BaseLoc)
				if err != nil {
					t.Fatal(err)
				}
				if s.CheckMethod != "1.2.156.10197.1.401" || len(s.References) != 13 || len(s.StampAnnots) != 1 || s.StampAnnots[0].Boundary != (Box{90, 8, 30, 20}) {
					t.Errorf("Signature.xml: %+v", s)
				}
				if s.Provider != (Provider{"gomain_eseal", "2.0", "BW"}) {
					t.Errorf("Provider %+v", s.Provider)
				}
			}},
		{file: "n.ofd", docRoot: "Doc_0/Document.xml", signatures: "Doc_0/Signatures.xml", pages: 2, box: Box{0, 0, 210, 297}, sigs: 1,
			check: func(t *testing.T, p *Package, list *SignatureList) {
				s, _, err := p.ReadSignature(list.Signatures[0].BaseLoc)
				if err != nil {
					t.Fatal(err)
				}
				// Provider as child elements; a Clip; Seal/BaseLoc.
				if s.Provider.Company != "dms360.cn" || s.Provider.Version != "2.1.1" || s.StampAnnots[0].Clip == nil || s.Seal != "/Doc_0/Signs/Sign_0/Seal.esl" {
					t.Errorf("Signature.xml: %+v", s)
				}
				if tm, ok := s.Time(); !ok || tm.Format("2006-01-02T15:04:05Z") != "2020-01-25T07:31:56Z" {
					t.Errorf("SignatureDateTime %q read as %v, %v", s.SignatureDateTime, tm, ok)
				}
			}},
		{file: "h.ofd", docRoot: "Doc_0/Document.xml", signatures: "Doc_0/Signs/Signatures.xml", pages: 5, box: Box{0, 0, 210, 297}, sigs: 2,
			check: func(t *testing.T, p *Package, list *SignatureList) {
				if list.MaxSignID != "s008" { // two MaxSignId elements: the last counts
					t.Errorf("MaxSignID %q", list.MaxSignID)
				}
				s, _, err := p.ReadSignature(list.Signatures[0].BaseLoc)
				if err != nil {
					t.Fatal(err)
				}
				if len(s.StampAnnots) != 5 { // riding seal
					t.Errorf("%d StampAnnots", len(s.StampAnnots))
				}
			}},
		{file: "testImageNotFound.ofd", docRoot: "Doc_0/Document_0.xml", signatures: "Doc_0/Signs/Signatures.xml", pages: 2, box: Box{0, 0, 365.9999, 260}, sigs: 2,
			check: func(t *testing.T, p *Package, list *SignatureList) {
				// OFD.xml in namespace http://www.ofdspec.org; SignedValue relative.
				s, _, err := p.ReadSignature(list.Signatures[1].BaseLoc)
				if err != nil {
					t.Fatal(err)
				}
				if n, err := p.Locate(list.Signatures[1].BaseLoc, s.SignedValue); err != nil || n != "Doc_0/Signs/Sign_1/SignedValue.dat" {
					t.Errorf("SignedValue %q located as %q, %v", s.SignedValue, n, err)
				}
				if list.Signatures[0].Type != TypeSign {
					t.Errorf("Type %q", list.Signatures[0].Type)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			p, err := Open(corpus(t, tt.file), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Bodies) != 1 || p.Bodies[0].DocRoot != tt.docRoot || p.Bodies[0].Signatures != tt.signatures {
				t.Fatalf("Bodies %+v", p.Bodies)
			}
			doc, err := p.Document(p.Bodies[0])
			if err != nil {
				t.Fatal(err)
			}
			if doc.PhysicalBox != (Box{0, 0, 210, 297}) {
				t.Errorf("CommonData PhysicalBox %v", doc.PhysicalBox)
			}
			if len(doc.Pages) != tt.pages {
				t.Fatalf("%d pages, want %d", len(doc.Pages), tt.pages)
			}
			for i := range doc.Pages {
				if b, err := p.PageBox(doc, i); err != nil || b != tt.box {
					t.Errorf("page %d box %v, %v", i+1, b, err)
				}
			}
			list, err := p.SignatureList(p.Bodies[0])
			if err != nil {
				t.Fatal(err)
			}
			if n := 0; list != nil {
				n = len(list.Signatures)
				if n != tt.sigs {
					t.Fatalf("%d signatures, want %d", n, tt.sigs)
				}
			} else if tt.sigs != 0 {
				t.Fatalf("no Signatures.xml")
			}
			if tt.check != nil {
				tt.check(t, p, list)
			}
		})
	}
}

// TestEntries checks that parts can be carried over raw, byte for byte.
func TestEntries(t *testing.T) {
	t.Parallel()
	p, err := Open(corpus(t, "v4signed.ofd"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Entries() {
		rc, err := e.File.OpenRaw()
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := rc.Read(make([]byte, 1)); n == 0 && e.File.CompressedSize64 > 0 {
			t.Errorf("%s: no raw bytes", e.Name)
		}
	}
	if _, err := p.Read("Doc_0/none.xml"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing part: %v", err)
	}
}

func TestSignatureTime(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"20201010151120":       "2020-10-10T07:11:20Z",
		"2020-01-25 15:31:56":  "2020-01-25T07:31:56Z",
		"20221101092233Z":      "2022-11-01T09:22:33Z",
		"20201004072855.302Z":  "2020-10-04T07:28:55Z",
		"2020-10-23T19:45:37Z": "2020-10-23T19:45:37Z",
	} {
		s := Signature{SignatureDateTime: text}
		if got, ok := s.Time(); !ok || got.Format("2006-01-02T15:04:05Z") != want {
			t.Errorf("%q: %v, %v; want %s", text, got, ok, want)
		}
	}
	if _, ok := (&Signature{SignatureDateTime: "yesterday"}).Time(); ok {
		t.Error("nonsense read as a time")
	}
}
