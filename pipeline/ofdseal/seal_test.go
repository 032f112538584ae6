package ofdseal

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/internal/demo/certofd"
	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/pipeline/ofd"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// verifyOK verifies a package and requires n results, all VALID with no
// change after signing.
func verifyOK(t *testing.T, pkg []byte, n int) []Result {
	t.Helper()
	res, err := Verify(context.Background(), pkg)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(res) != n {
		t.Fatalf("%d signatures, want %d", len(res), n)
	}
	for _, r := range res {
		if r.Status != Valid || r.Err != nil || r.ModifiedErr != nil {
			t.Errorf("signature %s: %s, failed %q: %v (modified: %v)", r.ID, r.Status, r.Failed, r.Err, r.ModifiedErr)
		}
	}
	return res
}

// TestSealRoundTrip seals documents of several kinds, then checks the
// output with ofdseal.Verify and, independently, with OpenSSL 3: the
// signature over DER(TBS_Sign), the maker's over the seal, and each
// reference's SM3. Every input entry must reach the output unchanged,
// compressed bytes and header, but OFD.xml, which gains the signature list.
func TestSealRoundTrip(t *testing.T) {
	t.Parallel()
	sm2K, ecK := testKeys(t)
	page, x, y, _, _ := certofd.SealBoundary()
	tests := []struct {
		name    string
		in      func(t *testing.T) []byte
		key     sealKey
		pl      Placement
		stamps  []ofd.StampAnnot
		propDir string // the document folder as propertyInfo writes it
	}{
		{"helloworld.ofd", func(t *testing.T) []byte { return corpus(t, "helloworld.ofd") }, sm2K,
			Placement{Page: 1, X: 50, Y: 60},
			[]ofd.StampAnnot{{ID: "2", PageRef: "1", Boundary: ofd.Box{X: 50, Y: 60, W: 42, H: 42}}}, "/Doc_0"},
		{"certificate", func(t *testing.T) []byte { return certificateOFD(t) }, sm2K,
			Placement{Page: page, X: x, Y: y},
			[]ofd.StampAnnot{{ID: "2", PageRef: "1", Boundary: ofd.Box{X: x, Y: y, W: 42, H: 42}}}, "/Doc_0"},
		{"ECDSA P-256 (HSM-held)", func(t *testing.T) []byte { return corpus(t, "helloworld.ofd") }, ecK,
			Placement{Page: 1, X: 10, Y: 10, Width: 30, Height: 30},
			[]ofd.StampAnnot{{ID: "2", PageRef: "1", Boundary: ofd.Box{X: 10, Y: 10, W: 30, H: 30}}}, "/Doc_0"},
		{"CJK part names", func(t *testing.T) []byte {
			return makeOFD(t, "文档_0", 2, func(i int) string { return fmt.Sprintf("页面_%d/内容.xml", i) })
		}, sm2K, Placement{Page: 2, X: 150, Y: 240},
			[]ofd.StampAnnot{{ID: "2", PageRef: "11", Boundary: ofd.Box{X: 150, Y: 240, W: 42, H: 42}}}, "/%E6%96%87%E6%A1%A3_0"},
		{"riding seal over 5 pages", func(t *testing.T) []byte { return makeOFD(t, "Doc_0", 5, pageN) }, sm2K,
			Placement{Riding: true, Y: 100, Width: 40, Height: 40},
			[]ofd.StampAnnot{
				{ID: "2", PageRef: "10", Boundary: ofd.Box{X: 202, Y: 100, W: 40, H: 40}, Clip: &ofd.Box{X: 0, Y: 0, W: 8, H: 40}},
				{ID: "3", PageRef: "11", Boundary: ofd.Box{X: 194, Y: 100, W: 40, H: 40}, Clip: &ofd.Box{X: 8, Y: 0, W: 8, H: 40}},
				{ID: "4", PageRef: "12", Boundary: ofd.Box{X: 186, Y: 100, W: 40, H: 40}, Clip: &ofd.Box{X: 16, Y: 0, W: 8, H: 40}},
				{ID: "5", PageRef: "13", Boundary: ofd.Box{X: 178, Y: 100, W: 40, H: 40}, Clip: &ofd.Box{X: 24, Y: 0, W: 8, H: 40}},
				{ID: "6", PageRef: "14", Boundary: ofd.Box{X: 170, Y: 100, W: 40, H: 40}, Clip: &ofd.Box{X: 32, Y: 0, W: 8, H: 40}},
			}, "/Doc_0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.in(t)
			out := seal(t, in, sealOptions(tt.key, tt.pl))
			r := verifyOK(t, out, 1)[0]
			if r.ID != "1" || r.Type != ofd.TypeSeal || r.WholeProtected || r.Format != "GB/T 38540 SES_Signature v4" {
				t.Errorf("ID %q, Type %q, whole-protected %v, format %q", r.ID, r.Type, r.WholeProtected, r.Format)
			}
			if len(r.Stamps) != len(tt.stamps) {
				t.Fatalf("%d stamps, want %d", len(r.Stamps), len(tt.stamps))
			}
			for i, got := range r.Stamps {
				want := tt.stamps[i]
				if got.ID != want.ID || got.PageRef != want.PageRef || !near(got.Boundary, want.Boundary) ||
					(got.Clip == nil) != (want.Clip == nil) || (got.Clip != nil && !near(*got.Clip, *want.Clip)) {
					t.Errorf("stamp %d: %+v clip %v, want %+v clip %v", i, got, got.Clip, want, want.Clip)
				}
			}
			if want := tt.propDir + "/Signs/Sign_0/Signature.xml"; r.SES.PropertyInfo != want {
				t.Errorf("propertyInfo %q, want %q", r.SES.PropertyInfo, want)
			}
			if !r.SigningTime.Equal(sealOptions(tt.key, tt.pl).Time) || r.Signer == nil || !bytes.Equal(r.Signer.Raw, tt.key.cert.Raw) {
				t.Errorf("signing time %s, signer %v", r.SigningTime, r.Signer)
			}
			checkReferences(t, in, out, r, false)
			checkCarriedOver(t, in, out, "OFD.xml")
			checkOpenSSL(t, out, r)
		})
	}
}

// near reports whether two boxes agree to the micrometre written.
func near(a, b ofd.Box) bool {
	return math.Abs(a.X-b.X) <= 5e-4 && math.Abs(a.Y-b.Y) <= 5e-4 && math.Abs(a.W-b.W) <= 5e-4 && math.Abs(a.H-b.H) <= 5e-4
}

// checkReferences requires the references to name every file of the
// output but Signatures.xml (unless protectAll) and the signature's
// Signature.xml and SignedValue.dat, each exactly once.
func checkReferences(t *testing.T, in, out []byte, r Result, protectAll bool) {
	t.Helper()
	parts, _ := unzip(t, out)
	dir := r.Part[:strings.LastIndex(r.Part, "/")+1]
	want := map[string]bool{}
	for name := range parts {
		switch {
		case strings.HasSuffix(name, "/"), name == dir+"Signature.xml", name == dir+"SignedValue.dat":
		case strings.HasSuffix(name, "Signs/Signatures.xml") && !protectAll:
		default:
			want[name] = true
		}
	}
	for _, ref := range r.References {
		if !want[ref.Part] {
			t.Errorf("reference %q unexpected or repeated", ref.FileRef)
		}
		delete(want, ref.Part)
	}
	for name := range want {
		t.Errorf("%q not among the references", name)
	}
}

// checkCarriedOver requires every entry of in but those named changed to
// reach out with the same header and the same compressed bytes.
func checkCarriedOver(t *testing.T, in, out []byte, changed ...string) {
	t.Helper()
	_, inFiles := unzip(t, in)
	_, outFiles := unzip(t, out)
	byName := map[string]*zip.File{}
	for _, f := range outFiles {
		byName[f.Name] = f
	}
	for i, f := range inFiles {
		g := byName[f.Name]
		if g == nil {
			t.Errorf("%q missing from the output", f.Name)
			continue
		}
		if outFiles[i] != g {
			t.Errorf("%q moved from entry %d", f.Name, i)
		}
		isChanged := false
		for _, c := range changed {
			isChanged = isChanged || c == f.Name
		}
		if isChanged {
			continue
		}
		a, b := f.FileHeader, g.FileHeader
		if a.Name != b.Name || a.Method != b.Method || a.CRC32 != b.CRC32 || a.CompressedSize64 != b.CompressedSize64 ||
			a.UncompressedSize64 != b.UncompressedSize64 || !a.Modified.Equal(b.Modified) || !bytes.Equal(a.Extra, b.Extra) ||
			a.Flags != b.Flags || a.CreatorVersion != b.CreatorVersion || a.ReaderVersion != b.ReaderVersion ||
			a.ExternalAttrs != b.ExternalAttrs || a.Comment != b.Comment || a.NonUTF8 != b.NonUTF8 {
			t.Errorf("%q: header changed:\n%+v\n%+v", f.Name, a, b)
		}
		if !bytes.Equal(rawBytes(t, f), rawBytes(t, g)) {
			t.Errorf("%q: compressed bytes changed", f.Name)
		}
	}
}

// rawBytes returns an entry's bytes as stored.
func rawBytes(t *testing.T, f *zip.File) []byte {
	t.Helper()
	r, err := f.OpenRaw()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSealTwice: a second seal (continue-sign) leaves the first valid, on
// our own output and on an ofdrw document; each takes a fresh folder and
// IDs after the document's MaxSignId.
func TestSealTwice(t *testing.T) {
	t.Parallel()
	sm2K, ecK := testKeys(t)
	tests := []struct {
		name    string
		in      func(t *testing.T) []byte
		ids     []string
		maxID   string
		folders []string
	}{
		{"sealed by sealpipe", func(t *testing.T) []byte {
			return seal(t, corpus(t, "helloworld.ofd"), sealOptions(sm2K, Placement{Page: 1, X: 20, Y: 20}))
		}, []string{"1", "3"}, "4", []string{"Doc_0/Signs/Sign_0/Signature.xml", "Doc_0/Signs/Sign_1/Signature.xml"}},
		// ofdrw: ID "1", StampAnnot "2", MaxSignId "2"; references leave
		// Signatures.xml out.
		{"SESV4SignDoc.ofd (ofdrw)", func(t *testing.T) []byte { return corpus(t, "SESV4SignDoc.ofd") },
			[]string{"1", "3"}, "4", []string{"Doc_0/Signs/Sign_0/Signature.xml", "Doc_0/Signs/Sign_1/Signature.xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.in(t)
			out := seal(t, in, sealOptions(ecK, Placement{Page: 1, X: 120, Y: 200}))
			res := verifyOK(t, out, 2)
			for i, r := range res {
				if r.ID != tt.ids[i] || r.Part != tt.folders[i] {
					t.Errorf("signature %d: ID %q in %q, want %q in %q", i, r.ID, r.Part, tt.ids[i], tt.folders[i])
				}
			}
			p, err := ofd.Open(out, ofd.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			list, err := p.SignatureList(p.Bodies[0])
			if err != nil || list.MaxSignID != tt.maxID {
				t.Errorf("MaxSignId %q, %v; want %q", list.MaxSignID, err, tt.maxID)
			}
			checkCarriedOver(t, in, out, "Doc_0/Signs/Signatures.xml")
			checkReferences(t, in, out, res[1], false)
		})
	}
}

// TestProtectAll: a whole-protected seal protects Signatures.xml; a second
// seal is refused with ErrNoChangesPermitted, nothing written; forced
// through (as h.ofd's producer did), it leaves the first failing on the
// Signatures.xml reference, as the standard intends.
func TestProtectAll(t *testing.T) {
	t.Parallel()
	sm2K, ecK := testKeys(t)
	in := corpus(t, "helloworld.ofd")
	opts := sealOptions(sm2K, Placement{Page: 1, X: 20, Y: 20})
	opts.ProtectAll = true
	first := seal(t, in, opts)
	r := verifyOK(t, first, 1)[0]
	if !r.WholeProtected {
		t.Error("ProtectAll: Signatures.xml is not among the references")
	}
	checkReferences(t, in, first, r, true)

	var w countingWriter
	err := Seal(context.Background(), &w, first, sealOptions(ecK, Placement{Page: 1, X: 100, Y: 100}))
	if !errors.Is(err, ErrNoChangesPermitted) || w.writes != 0 {
		t.Fatalf("second seal: %v, %d writes; want ErrNoChangesPermitted and none", err, w.writes)
	}
	if !strings.Contains(err.Error(), "Doc_0/Signs/Signatures.xml") {
		t.Errorf("error does not name the protected part: %v", err)
	}

	// Forced: the check that refused it is skipped.
	s, err := newSealer(&Options{Signer: ecK.signer, Cert: ecK.cert, SealData: ecK.esl, Placement: Placement{Page: 1, X: 100, Y: 100}})
	if err != nil {
		t.Fatal(err)
	}
	s.ignoreProtection = true
	p, err := ofd.Open(first, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.plan(p); err != nil {
		t.Fatal(err)
	}
	second, err := s.build(context.Background(), first, p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Verify(context.Background(), second)
	if err != nil || len(res) != 2 {
		t.Fatal(res, err)
	}
	var dm *DigestMismatchError
	if res[0].Status != Invalid || res[0].Failed != CheckReferences || !errors.As(res[0].Err, &dm) || dm.Part != "Doc_0/Signs/Signatures.xml" {
		t.Errorf("first: %s, %q, %v; want INVALID on the Signatures.xml reference", res[0].Status, res[0].Failed, res[0].Err)
	}
	if res[1].Status != Valid || res[1].Err != nil {
		t.Errorf("second: %s, %v", res[1].Status, res[1].Err)
	}
}

// countingWriter counts the writes it gets.
type countingWriter struct {
	writes int
	bytes.Buffer
}

func (w *countingWriter) Write(b []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(b)
}

// TestSealRefuses: what the reader refuses, what cannot be placed or
// signed, and documents a signature protects as a whole are refused with
// a sentinel (and package ofd's, where it refused); nothing is written.
func TestSealRefuses(t *testing.T) {
	t.Parallel()
	sm2K, ecK := testKeys(t)
	hello := func(t *testing.T) []byte { return corpus(t, "helloworld.ofd") }
	ok := Placement{Page: 1, X: 20, Y: 20}
	zipOf := func(names ...string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			for _, n := range names {
				w, _ := zw.CreateHeader(&zip.FileHeader{Name: n})
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><OFD><DocBody><DocRoot>Doc_0/Document.xml</DocRoot></DocBody></OFD>`)
			}
			zw.Close()
			return b.Bytes()
		}
	}
	tests := []struct {
		name string
		in   func(t *testing.T) []byte
		edit func(o *Options)
		err  []error
	}{
		{"not a ZIP", func(*testing.T) []byte { return []byte("%PDF-1.7") }, nil, []error{ErrMalformed, ofd.ErrMalformed}},
		{"no OFD.xml", zipOf("Doc_0/Document.xml"), nil, []error{ErrMalformed, ofd.ErrMalformed}},
		{"../ entry", zipOf("OFD.xml", "../evil.xml"), nil, []error{ErrMalformed, ofd.ErrUnsafePath}},
		{"duplicate entries", zipOf("OFD.xml", "Doc_0/A.xml", "doc_0/a.xml"), nil, []error{ErrMalformed, ofd.ErrDuplicate}},
		{"missing Document.xml", zipOf("OFD.xml"), nil, []error{ErrMalformed, ofd.ErrNotFound}},
		{"too large", hello, func(o *Options) { o.MaxInputSize = 100 }, []error{ErrTooLarge, ofd.ErrTooLarge}},
		{"page 2 of 1", hello, func(o *Options) { o.Placement.Page = 2 }, []error{ErrNoPage}},
		{"page 0", hello, func(o *Options) { o.Placement.Page = 0 }, []error{ErrNoPage}},
		{"off the page", hello, func(o *Options) { o.Placement.X = 190 }, []error{ErrPlacement}},
		{"riding below the page", hello, func(o *Options) { o.Placement = Placement{Riding: true, Y: 280} }, []error{ErrPlacement}},
		{"NaN", hello, func(o *Options) { o.Placement.Y = nanOf() }, []error{ErrPlacement}},
		{"negative size", hello, func(o *Options) { o.Placement.Width = -1 }, []error{ErrPlacement}},
		{"no signer", hello, func(o *Options) { o.Signer = nil }, []error{ErrSigner}},
		{"certificate of another key", hello, func(o *Options) { o.Cert = ecK.cert }, []error{ErrSigner}},
		{"seal not listing the signer", hello, func(o *Options) { o.SealData = ecK.esl }, []error{ErrSeal}},
		{"seal garbage", hello, func(o *Options) { o.SealData = []byte{0x30, 0x03, 1, 2, 3} }, []error{ErrSeal, ses.ErrMalformed}},
		{"seal version 1", hello, func(o *Options) { o.SealData = corpusSES(t, "UserV1.esl") }, []error{ErrSeal}},
		{"whole-protected (ofdrw)", func(t *testing.T) []byte { return corpus(t, "allprotected.ofd") }, nil, []error{ErrNoChangesPermitted}},
		{"riding, whole-protected (ofdrw)", func(t *testing.T) []byte { return corpus(t, "V4RideRight.ofd") }, nil, []error{ErrNoChangesPermitted}},
		{"h.ofd", func(t *testing.T) []byte { return corpus(t, "h.ofd") }, nil, []error{ErrNoChangesPermitted}},
		{"hostile Signature.xml", hostileSigned, nil, []error{ErrMalformed, ofd.ErrDTD}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := sealOptions(sm2K, ok)
			if tt.edit != nil {
				tt.edit(&opts)
			}
			var w countingWriter
			err := Seal(context.Background(), &w, tt.in(t), opts)
			if err == nil || w.writes != 0 {
				t.Fatalf("Seal: %v, %d writes; want an error and none", err, w.writes)
			}
			for _, want := range tt.err {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not wrap %v", err, want)
				}
			}
		})
	}
}

func nanOf() float64 {
	zero := 0.0
	return zero / zero
}

// corpusSES reads a structure of the corpus's ses folder.
func corpusSES(t *testing.T, name string) []byte {
	t.Helper()
	return testenv.ConformanceFile(t, "ses", name)
}

// hostileSigned is allprotected.ofd with a billion-laughs Signature.xml.
func hostileSigned(t *testing.T) []byte {
	return rezip(t, corpus(t, "SESV4SignDoc.ofd"), func(name string, data []byte) []byte {
		if name == "Doc_0/Signs/Sign_0/Signature.xml" {
			return []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Signature>&b;</Signature>`)
		}
		return data
	}, nil)
}

// TestSealTamper: a change after sealing fails verification naming the
// check: a page's content (a reference), Signature.xml (the dataHash), the
// seal picture in Seal.esl (a reference) or inside the signature (the
// signature value), and a page file added (a change after signing).
func TestSealTamper(t *testing.T) {
	t.Parallel()
	sm2K, _ := testKeys(t)
	sealed := seal(t, certificateOFD(t), sealOptions(sm2K, Placement{Page: 1, X: 30, Y: 30}))
	parts, _ := unzip(t, sealed)
	picture := func(b []byte) int {
		s, err := ses.ParseSeal(sm2K.esl)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(b, s.Picture.Data)
		if i < 0 {
			t.Fatal("seal picture not found")
		}
		return i + len(s.Picture.Data)/2
	}
	const content = "Doc_0/Pages/Page_0/Content.xml"
	tests := []struct {
		name   string
		edit   map[string]func([]byte) []byte
		add    map[string][]byte
		status Status
		failed Check
		err    error
		what   string // DigestMismatchError.What
	}{
		{"page content", map[string]func([]byte) []byte{content: func(b []byte) []byte { return flip(b, len(b)/2) }},
			nil, Invalid, CheckReferences, ErrDigestMismatch, "reference"},
		{"Signature.xml", map[string]func([]byte) []byte{"Doc_0/Signs/Sign_0/Signature.xml": func(b []byte) []byte {
			return bytes.Replace(b, []byte(`Boundary="30 30`), []byte(`Boundary="31 30`), 1)
		}}, nil, Invalid, CheckSignatureValue, ErrDigestMismatch, "dataHash"},
		{"seal picture in Seal.esl", map[string]func([]byte) []byte{"Doc_0/Signs/Sign_0/Seal.esl": func(b []byte) []byte { return flip(b, picture(b)) }},
			nil, Invalid, CheckReferences, ErrDigestMismatch, "reference"},
		{"seal picture in SignedValue.dat", map[string]func([]byte) []byte{"Doc_0/Signs/Sign_0/SignedValue.dat": func(b []byte) []byte { return flip(b, picture(b)) }},
			nil, Invalid, CheckSignatureValue, ErrBadSignature, ""},
		{"page added", nil, map[string][]byte{"Doc_0/Pages/Page_1/Content.xml": parts[content]},
			Valid, CheckModifications, ErrModified, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bad := rezip(t, sealed, func(name string, data []byte) []byte {
				if f := tt.edit[name]; f != nil {
					return f(data)
				}
				return data
			}, tt.add)
			res, err := Verify(context.Background(), bad)
			if err != nil || len(res) != 1 {
				t.Fatal(res, err)
			}
			r := res[0]
			if r.Status != tt.status || r.Failed != tt.failed || !errors.Is(r.Err, tt.err) {
				t.Fatalf("%s, failed %q: %v; want %s, %q, %v", r.Status, r.Failed, r.Err, tt.status, tt.failed, tt.err)
			}
			var dm *DigestMismatchError
			if tt.what != "" && (!errors.As(r.Err, &dm) || dm.What != tt.what) {
				t.Errorf("mismatch %+v, want %q", dm, tt.what)
			}
			if tt.add != nil && (len(r.Modified) != 1 || r.Modified[0] != "Doc_0/Pages/Page_1/Content.xml") {
				t.Errorf("modified %q", r.Modified)
			}
		})
	}
}

// TestCheckValues: each CheckValue is base64 of the SM3 of the file.
func TestCheckValues(t *testing.T) {
	t.Parallel()
	sm2K, _ := testKeys(t)
	out := seal(t, corpus(t, "helloworld.ofd"), sealOptions(sm2K, Placement{Page: 1, X: 20, Y: 20}))
	parts, _ := unzip(t, out)
	sig, err := ofd.ParseSignature(parts["Doc_0/Signs/Sign_0/Signature.xml"])
	if err != nil {
		t.Fatal(err)
	}
	if sig.CheckMethod != "1.2.156.10197.1.401" || sig.SignatureMethod != "1.2.156.10197.1.501" || sig.Seal != "/Doc_0/Signs/Sign_0/Seal.esl" ||
		sig.SignedValue != "/Doc_0/Signs/Sign_0/SignedValue.dat" || sig.Provider.Name != "sealpipe" || sig.Provider.Company != "sealpipe" ||
		sig.Provider.Version == "" || sig.SignatureDateTime != "20260302103000Z" {
		t.Errorf("Signature.xml: %+v", sig)
	}
	for _, ref := range sig.References {
		sum := sm3.Sum(parts[strings.TrimPrefix(ref.FileRef, "/")])
		if ref.CheckValueText != base64.StdEncoding.EncodeToString(sum[:]) {
			t.Errorf("%s: CheckValue %s", ref.FileRef, ref.CheckValueText)
		}
	}
	if !bytes.Equal(parts["Doc_0/Signs/Sign_0/Seal.esl"], sm2K.esl) {
		t.Error("Seal.esl is not the seal")
	}
	if want := `<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody>`; !bytes.Contains(parts["OFD.xml"], []byte(want)) {
		t.Errorf("OFD.xml: %s", parts["OFD.xml"])
	}
}
