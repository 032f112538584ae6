package pdfseal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
)

// formPDF is a two-page document with a text field (merged with its widget
// on page 1, appearance object 8), the document information dictionary 10
// and an empty signature field "Approval" (object 11, on page 1). Page 1 is
// object 3 with content stream 4.
func formPDF() []byte {
	stream := func(dict, data string) string {
		return fmt.Sprintf("<<%s/Length %d>>\nstream\n%s\nendstream", dict, len(data), data)
	}
	return pdfsealtest.Build([]string{
		"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[7 0 R 11 0 R]/DA(/F1 0 Tf 0 g)>>>>",
		"<</Type/Pages/Count 2/Kids[3 0 R 5 0 R]>>",
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 9 0 R>>>>/Contents 4 0 R/Annots[7 0 R 11 0 R]>>",
		stream("", "BT /F1 24 Tf 72 700 Td (Approved: 100 yuan) Tj ET"),
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 6 0 R>>",
		stream("", "BT /F1 12 Tf 72 700 Td (Page two) Tj ET"),
		"<</Type/Annot/Subtype/Widget/FT/Tx/T(amount)/V(100)/Rect[72 600 272 630]/P 3 0 R/AP<</N 8 0 R>>>>",
		stream("/Type/XObject/Subtype/Form/BBox[0 0 200 30]/Resources<</Font<</F1 9 0 R>>>>", "BT /F1 12 Tf 2 10 Td (100) Tj ET"),
		"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
		"<</Title(Approval 2025-001)>>",
		"<</Type/Annot/Subtype/Widget/FT/Sig/T(Approval)/Rect[300 100 500 160]/P 3 0 R>>",
	}, "/Root 1 0 R/Info 10 0 R")
}

// fillIn appends a revision that gives the text field of formPDF a new
// value and appearance.
func fillIn(t testing.TB, pdf []byte) []byte {
	e := pdfsealtest.New(t, pdf)
	field := e.Dict(7)
	field["V"] = types.StringLiteral("900")
	field["AP"] = types.Dict{"N": e.AddStream("/Type/XObject/Subtype/Form/BBox[0 0 200 30]/Resources<</Font<</F1 9 0 R>>>>", "BT /F1 12 Tf 2 10 Td (900) Tj ET")}
	return e.Set(7, field).Bytes()
}

// certify appends a revision signed by k in the signature field named
// name: the empty one the document has, or a new invisible one. With p > 0
// the signature certifies the document with DocMDP permission P=p (ISO
// 32000-1 §12.8.2.2) and the catalog names it in /Perms. Seal does none of
// this: the revision is built here from Seal's parts. fieldEntries are
// set in the field's dictionary as well.
func certify(t *testing.T, in []byte, k testKey, name string, p int, fieldEntries ...types.Dict) []byte {
	t.Helper()
	ctx := context.Background()
	f, err := openFile(ctx, bytesSource(in), MaxVerifySize)
	if err != nil {
		t.Fatal(err)
	}
	revs := f.Revisions()
	last := revs[len(revs)-1].Sections[0]
	prev, stream := last.Offset, last.Kind == pdffile.SectionStream
	root := f.Trailer()["Root"].(types.IndirectRef)
	var info *types.IndirectRef
	if r, ok := f.Trailer()["Info"].(types.IndirectRef); ok {
		info = &r
	}
	id, _ := f.Trailer()["ID"].(types.Array)
	size := f.XRefSize()
	signer, err := newCMSSigner(k.signer, []*smx509.Certificate{k.cert})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	cmsSize, err := signer.maxSize(at)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(n int) types.IndirectRef { return *types.NewIndirectRef(n, 0) }
	cat, err := f.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	cat = cat.Clone().(types.Dict)
	form := types.Dict{}
	if d, err := resolveDict(f, cat["AcroForm"]); err == nil && d != nil {
		form = d.Clone().(types.Dict)
	}
	fields, _ := resolveArray(f, form["Fields"])
	fields = fields.Clone().(types.Array)
	sigNr, fieldNr := size, size+1
	field := types.Dict{"Type": types.Name("Annot"), "Subtype": types.Name("Widget"), "FT": types.Name("Sig"), "T": types.StringLiteral(name),
		"F": types.Integer(132), "Rect": types.Array{types.Integer(0), types.Integer(0), types.Integer(0), types.Integer(0)}}
	for _, o := range fields {
		if d, err := resolveDict(f, o); err == nil && d["T"] == types.StringLiteral(name) {
			fieldNr, field = o.(types.IndirectRef).ObjectNumber.Value(), d.Clone().(types.Dict)
		}
	}
	if fieldNr == size+1 {
		form["Fields"] = append(fields, ref(fieldNr))
	}
	field["V"] = ref(sigNr)
	for _, d := range fieldEntries {
		maps.Copy(field, d)
	}
	u := newUpdate(bytesSource(in), 1<<16)
	extra := types.Dict{"M": pdfDate(at)}
	if p > 0 {
		extra["Reference"] = types.Array{types.Dict{"Type": types.Name("SigRef"), "TransformMethod": types.Name("DocMDP"),
			"TransformParams": types.Dict{"Type": types.Name("TransformParams"), "P": types.Integer(p), "V": types.Name("1.2")}}}
	}
	slots, err := u.signatureDict(sigNr, 2*(cmsSize+32), extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.dictObject(fieldNr, 0, field); err != nil {
		t.Fatal(err)
	}
	form["SigFlags"] = types.Integer(3)
	if r, ok := cat["AcroForm"].(types.IndirectRef); ok {
		if err := u.dictObject(r.ObjectNumber.Value(), 0, form); err != nil {
			t.Fatal(err)
		}
	} else {
		cat["AcroForm"] = form
	}
	if p > 0 {
		cat["Perms"] = types.Dict{"DocMDP": ref(sigNr)}
	}
	if err := u.dictObject(root.ObjectNumber.Value(), 0, cat); err != nil {
		t.Fatal(err)
	}
	tr := trailerInfo{root: root, info: info, id: id, prev: prev}
	if stream {
		err = u.finishStream(size+2, tr, nil)
	} else {
		err = u.finishTable(tr, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	doc, err := u.signable(bytesSource(in), slots)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.sign(ctx, signer, nil, at); err != nil {
		t.Fatal(err)
	}
	return append(slices.Clip(in), doc.upd...)
}

// wantSig is what TestVerifyChanges expects of one signature.
type wantSig struct {
	changes ChangeLevel
	err     error  // errors.Is on ChangesErr; nil: none
	says    string // in ChangesErr's message
	invalid bool   // the signature itself is Invalid, its changes not judged
}

// TestVerifyChanges judges revisions after a seal: one table row per kind
// of change, from a second seal (permitted) to page content (never).
func TestVerifyChanges(t *testing.T) {
	t.Parallel()
	sm2K, ecK := keys(t)
	sealed := seal(t, formPDF(), options(t, sm2K, 1))
	second := options(t, ecK, 2)
	second.Time = second.Time.Add(time.Hour)
	sealAgain := func(t *testing.T, pdf []byte) []byte { return seal(t, pdf, second) }
	passed := wantSig{changes: NoChange}
	permitted := wantSig{changes: Signing}
	modified := func(l ChangeLevel, says string) wantSig { return wantSig{changes: l, err: ErrModified, says: says} }

	tests := []struct {
		name  string
		build func(t *testing.T) []byte
		want  []wantSig
	}{
		{"sealed, nothing after", func(*testing.T) []byte { return sealed }, []wantSig{passed}},
		{"sealed twice", func(t *testing.T) []byte { return sealAgain(t, sealed) }, []wantSig{permitted, passed}},
		{"sealed three times", func(t *testing.T) []byte {
			third := options(t, sm2K, 1)
			third.Placement.Y = 10
			return seal(t, sealAgain(t, sealed), third)
		}, []wantSig{permitted, permitted, passed}},
		{"black rectangle on page 1", func(t *testing.T) []byte { return pdfsealtest.Blackout(t, sealed, 1) },
			[]wantSig{modified(OtherChange, "revision 3 changes page 1 (object 3): /Contents")}},
		{"black rectangle, then sealed by another unit", func(t *testing.T) []byte { return sealAgain(t, pdfsealtest.Blackout(t, sealed, 1)) },
			[]wantSig{modified(OtherChange, "revision 3 changes page 1 (object 3): /Contents"), passed}},
		{"sealed twice, then a black rectangle", func(t *testing.T) []byte { return pdfsealtest.Blackout(t, sealAgain(t, sealed), 2) },
			[]wantSig{modified(OtherChange, "revision 4 changes page 2"), modified(OtherChange, "revision 4 changes page 2")}},
		{"black square annotation", func(t *testing.T) []byte { return pdfsealtest.AddAnnotation(t, sealed, 1) },
			[]wantSig{modified(Annotating, "adds a /Square annotation")}},
		{"form field filled in", func(t *testing.T) []byte { return fillIn(t, sealed) },
			[]wantSig{modified(FormFilling, `fills in form field "amount" (object 7): /AP, /V`)}},
		{"content stream rewritten", func(t *testing.T) []byte {
			return pdfsealtest.New(t, sealed).Set(4, types.Dict{}).Bytes() // a stream turned into a dictionary
		}, []wantSig{modified(OtherChange, "replaces object 4 (stream) with object 4")}},
		{"content stream data changed", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			return e.SetText(4, pdfsealtest.Stream("", "BT /F1 24 Tf 72 700 Td (Refused: 0 yuan) Tj ET")).Bytes()
		}, []wantSig{modified(OtherChange, "changes object 4 (stream): /Length, its data")}},
		{"content stream deleted", func(t *testing.T) []byte {
			return pdfsealtest.New(t, sealed).Free(4).Bytes()
		}, []wantSig{modified(OtherChange, "deletes object 4 (stream), which the document still refers to")}},
		{"page resources changed", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			nr, page := e.Page(1)
			page["Resources"] = types.Dict{"Font": types.Dict{"F1": e.Add("<</Type/Font/Subtype/Type1/BaseFont/Symbol>>")}}
			return e.Set(nr, page).Bytes()
		}, []wantSig{modified(OtherChange, "changes page 1 (object 3): /Resources")}},
		{"page added", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			pages := e.Dict(2)
			pages["Kids"] = append(pages["Kids"].(types.Array), e.Add("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 6 0 R>>"))
			pages["Count"] = types.Integer(3)
			return e.Set(2, pages).Bytes()
		}, []wantSig{modified(OtherChange, "changes the page tree (object 2: /Count, /Kids)")}},
		{"catalog gains an /OpenAction", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			cat := e.Dict(1)
			cat["OpenAction"] = e.Add("<</S/JavaScript/JS(app.alert(1))>>")
			return e.Set(1, cat).Bytes()
		}, []wantSig{modified(OtherChange, "changes the document catalog: /OpenAction")}},
		{"document information changed", func(t *testing.T) []byte {
			return pdfsealtest.New(t, sealed).Set(10, types.Dict{"Title": types.StringLiteral("Refusal 2025-001")}).Bytes()
		}, []wantSig{modified(OtherChange, "changes the document information dictionary (object 10): /Title")}},
		{"catalog replaced by a copy", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			return e.Trailer("Root", e.Add(e.Dict(1).PDFString())).Bytes()
		}, []wantSig{modified(OtherChange, "replaces the document catalog (trailer /Root 17 0 R, was 1 0 R)")}},
		{"document information replaced", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			return e.Trailer("Info", e.Add("<</Title(Refusal 2025-001)>>")).Bytes()
		}, []wantSig{modified(OtherChange, "replaces the document information dictionary (trailer /Info 17 0 R, was 10 0 R)")}},
		{"dangling reference made live", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			nr, page := e.Page(2)
			page["Contents"] = types.Array{page["Contents"], *types.NewIndirectRef(e.Next()+50, 0)}
			dangling := seal(t, e.Set(nr, page).Bytes(), second) // sealed with the missing content stream
			return pdfsealtest.New(t, dangling).Set(e.Next()+50, types.Dict{}).Bytes()
		}, []wantSig{modified(OtherChange, "revision 3 changes page 2"), modified(OtherChange, "which the signed revision referred to while it did not exist")}},
		{"identical rewrite of the page", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			nr, page := e.Page(1)
			return e.Set(nr, page).Bytes()
		}, []wantSig{passed}},
		{"unsigned signature field added", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			cat := e.Dict(1)
			form := cat["AcroForm"].(types.Dict)
			form["Fields"] = append(form["Fields"].(types.Array), e.Add("<</FT/Sig/T(Later)/Rect[0 0 0 0]>>"))
			return e.Set(1, cat).Bytes()
		}, []wantSig{modified(OtherChange, `adds signature field "Later"`)}},
		{"signature field given an action", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealAgain(t, sealed))
			nr := e.Field("Seal2")
			field := e.Dict(nr)
			field["AA"] = types.Dict{"PO": types.Dict{"S": types.Name("JavaScript"), "JS": types.StringLiteral("app.alert(1)")}}
			return e.Set(nr, field).Bytes()
		}, []wantSig{modified(OtherChange, `changes signature field "Seal2"`), modified(OtherChange, `which was already signed: /AA`)}},
		{"a copied signature that does not close its revision", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealAgain(t, sealed))
			sig := e.Dict(e.Field("Seal2"))["V"]
			cat := e.Dict(1)
			form := cat["AcroForm"].(types.Dict)
			form["Fields"] = append(form["Fields"].(types.Array), e.Add(fmt.Sprintf("<</Type/Annot/Subtype/Widget/FT/Sig/T(Copy)/V %s/Rect[0 0 0 0]>>", sig.PDFString())))
			return e.Set(1, cat).Bytes()
		}, []wantSig{modified(OtherChange, `adds signature field "Copy"`), modified(OtherChange, "does not end where the revision ends"),
			modified(OtherChange, `adds signature field "Copy"`)}}, // Seal2's signature, listed twice
		{"document security store added", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			cat := e.Dict(1)
			cert := e.AddStream("", "a certificate")
			cat["DSS"] = e.Add(fmt.Sprintf("<</Certs[%d 0 R]/VRI<</ABCDEF<</Cert[%d 0 R]>>>>>>", cert.ObjectNumber, cert.ObjectNumber))
			return e.Set(1, cat).Bytes()
		}, []wantSig{{changes: ValidationData}}},
		{"junk after the last %%EOF", func(*testing.T) []byte { return append(bytes.Clone(sealed), "junk that no reader reads"...) }, []wantSig{passed}},
		{"empty signature field signed", func(t *testing.T) []byte { return certify(t, sealed, ecK, "Approval", 0) }, []wantSig{permitted, passed}},
		{"empty signature field signed, its widget's /M set (as pdfsig does)", func(t *testing.T) []byte {
			return certify(t, sealed, ecK, "Approval", 0, types.Dict{"M": types.StringLiteral("D:20250314090000Z")})
		}, []wantSig{permitted, passed}},
		{"empty signature field signed, its widget's /F changed", func(t *testing.T) []byte {
			return certify(t, sealed, ecK, "Approval", 0, types.Dict{"F": types.Integer(2)})
		}, []wantSig{modified(OtherChange, `changes form field "Approval" (object 11): /F`), passed}},
		{"empty signature field given an appearance, unsigned", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			field := e.Dict(11)
			field["AP"] = types.Dict{"N": e.AddStream("/Type/XObject/Subtype/Form/BBox[0 0 200 60]", "0 g 0 0 200 60 re f")}
			return e.Set(11, field).Bytes()
		}, []wantSig{modified(OtherChange, `changes signature field "Approval" (object 11) without signing it: it has no signature (/V)`)}},
		{"text field's appearance stream rewritten", func(t *testing.T) []byte {
			return pdfsealtest.New(t, sealed).SetText(8, pdfsealtest.Stream("/Type/XObject/Subtype/Form/BBox[0 0 200 30]/Resources<</Font<</F1 9 0 R>>>>", "BT /F1 12 Tf 2 10 Td (999) Tj ET")).Bytes()
		}, []wantSig{modified(FormFilling, "changes the appearance stream object 8 (/XObject /Form stream)")}},
		{"text field moved", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			field := e.Dict(7)
			field["Rect"] = types.Array{types.Integer(72), types.Integer(300), types.Integer(272), types.Integer(330)}
			return e.Set(7, field).Bytes()
		}, []wantSig{modified(OtherChange, `changes form field "amount" (object 7): /Rect`)}},
		{"interactive form gains /XFA", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			cat := e.Dict(1)
			cat["AcroForm"].(types.Dict)["XFA"] = e.AddStream("", "<xdp:xdp/>")
			return e.Set(1, cat).Bytes()
		}, []wantSig{modified(OtherChange, "changes the interactive form: /XFA")}},
		{"form field removed from the form", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			cat := e.Dict(1)
			form := cat["AcroForm"].(types.Dict)
			form["Fields"] = form["Fields"].(types.Array)[1:]
			return e.Set(1, cat).Bytes()
		}, []wantSig{modified(OtherChange, "removes form field object 7 (/Annot /Widget /Tx) from the form")}},
		{"form gains a text field", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			cat := e.Dict(1)
			form := cat["AcroForm"].(types.Dict)
			form["Fields"] = append(form["Fields"].(types.Array), e.Add("<</Type/Annot/Subtype/Widget/FT/Tx/T(extra)/V(1)/Rect[0 0 0 0]>>"))
			return e.Set(1, cat).Bytes()
		}, []wantSig{modified(OtherChange, "(/Annot /Widget /Tx), which is not a signature field")}},
		{"form lists an existing object as a new field", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			cat := e.Dict(1)
			form := cat["AcroForm"].(types.Dict)
			form["Fields"] = append(form["Fields"].(types.Array), *types.NewIndirectRef(9, 0))
			return e.Set(1, cat).Bytes()
		}, []wantSig{modified(OtherChange, "lists object 9 (/Font /Type1) as a new form field")}},
		{"new signature field with an action", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			cat := e.Dict(1)
			form := cat["AcroForm"].(types.Dict)
			form["Fields"] = append(form["Fields"].(types.Array), e.Add("<</FT/Sig/T(Act)/AA<</PO<</S/JavaScript/JS(app.alert(1))>>>>/V 999 0 R>>"))
			return e.Set(1, cat).Bytes()
		}, []wantSig{modified(OtherChange, `with /AA`)}},
		{"new signature field adopting an existing widget", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			cat := e.Dict(1)
			form := cat["AcroForm"].(types.Dict)
			form["Fields"] = append(form["Fields"].(types.Array), e.Add("<</FT/Sig/T(Kid)/Kids[7 0 R]/V 999 0 R>>"))
			return e.Set(1, cat).Bytes()
		}, []wantSig{modified(OtherChange, `with a kid 7 0 R that is not a new widget`)}},
		{"new signature field whose value is no signature", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			cat := e.Dict(1)
			form := cat["AcroForm"].(types.Dict)
			form["Fields"] = append(form["Fields"].(types.Array), e.Add("<</FT/Sig/T(Odd)/V<</Type/Foo>>>>"))
			return e.Set(1, cat).Bytes()
		}, []wantSig{{invalid: true}, modified(OtherChange, "/V is a /Foo dictionary, not a signature")}},
		{"widget removed from its page", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			nr, page := e.Page(1)
			page["Annots"] = page["Annots"].(types.Array)[1:]
			return e.Set(nr, page).Bytes()
		}, []wantSig{modified(OtherChange, "removes a form field widget (object 7) from page 1")}},
		{"text field widget shown on page 2 too", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			nr, page := e.Page(2)
			page["Annots"] = types.Array{*types.NewIndirectRef(7, 0)}
			return e.Set(nr, page).Bytes()
		}, []wantSig{modified(OtherChange, "adds a form field widget (object 7 (/Annot /Widget /Tx)) to page 2")}},
		{"annotation held inline", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			nr, page := e.Page(1)
			page["Annots"] = append(page["Annots"].(types.Array), types.Dict{"Subtype": types.Name("Square"), "Rect": types.Array{types.Integer(0), types.Integer(0), types.Integer(595), types.Integer(842)}})
			return e.Set(nr, page).Bytes()
		}, []wantSig{modified(OtherChange, "adds an annotation held inline to page 1")}},
		{"page /Annots made a reference to itself", func(t *testing.T) []byte {
			e := pdfsealtest.New(t, sealed)
			nr, page := e.Page(1)
			self := e.Next()
			page["Annots"] = e.Add(fmt.Sprintf("%d 0 R", self))
			return e.Set(nr, page).Bytes()
		}, []wantSig{modified(OtherChange, "removes a form field widget")}},
		{"later revision whose /Prev loops", func(t *testing.T) []byte {
			changed := pdfsealtest.New(t, sealed).Set(10, types.Dict{"Title": types.StringLiteral("Approval 2025-001")}).Bytes()
			at, err := startXRef(bytesSource(changed))
			if err != nil {
				t.Fatal(err)
			}
			prev := bytes.LastIndex(changed, []byte("/Prev ")) + len("/Prev ")
			digits := len(changed[prev:]) - len(bytes.TrimLeft(changed[prev:], "0123456789"))
			return append(append(bytes.Clone(changed[:prev]), strconv.Itoa(int(at))...), changed[prev+digits:]...)
		}, []wantSig{modified(OtherChange, "cannot be read as a PDF revision: the cross-reference chain loops")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pdf := tc.build(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := Verify(ctx, pdf)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(res) != len(tc.want) {
				t.Fatalf("%d signatures, want %d", len(res), len(tc.want))
			}
			for i, w := range tc.want {
				r := res[i]
				t.Logf("%s: %v, %v", r.Field, r.Changes, r.ChangesErr)
				if (r.Status == Invalid) != w.invalid || !w.invalid && r.Status != Valid {
					t.Errorf("signature %q: %v (%v); the changes are judged apart from the signed bytes", r.Field, r.Status, r.Err)
				}
				if r.Changes != w.changes || !errors.Is(r.ChangesErr, w.err) || w.err == nil && r.ChangesErr != nil {
					t.Errorf("signature %q: changes %v, %v; want %v, %v", r.Field, r.Changes, r.ChangesErr, w.changes, w.err)
				}
				if w.says != "" && (r.ChangesErr == nil || !strings.Contains(r.ChangesErr.Error(), w.says)) {
					t.Errorf("signature %q: %v; want it to say %q", r.Field, r.ChangesErr, w.says)
				}
				var me *ModificationError
				if w.err == ErrModified && (!errors.As(r.ChangesErr, &me) || me.Level != w.changes || me.Permits != Signing) {
					t.Errorf("signature %q: %#v is not a *ModificationError at %v beyond SIGNING", r.Field, r.ChangesErr, w.changes)
				}
			}
		})
	}
}

// TestDocMDP checks certified documents (ISO 32000-1 §12.8.2.2): P=1
// permits no seal and only validation data after it; P=2 adds form
// filling; P=3 annotations; none of them page content.
func TestDocMDP(t *testing.T) {
	t.Parallel()
	sm2K, ecK := keys(t)
	certified := func(p int) []byte { return certify(t, formPDF(), ecK, "Certification", p) }
	dss := func(t *testing.T, pdf []byte) []byte {
		e := pdfsealtest.New(t, pdf)
		cat := e.Dict(1)
		cat["DSS"] = e.Add("<</Certs[]>>")
		return e.Set(1, cat).Bytes()
	}
	sealed := func(t *testing.T, pdf []byte) []byte { return seal(t, pdf, options(t, sm2K, 1)) }
	approved := func(t *testing.T, pdf []byte) []byte { return certify(t, pdf, sm2K, "Approval", 0) }

	tests := []struct {
		name    string
		p       int
		after   func(t *testing.T, pdf []byte) []byte
		permits ChangeLevel
		changes ChangeLevel
		fails   bool
	}{
		{"P=1, nothing after", 1, func(_ *testing.T, pdf []byte) []byte { return pdf }, ValidationData, NoChange, false},
		{"P=1, security store", 1, dss, ValidationData, ValidationData, false},
		{"P=1, another signature", 1, approved, ValidationData, Signing, true},
		{"P=2, sealed", 2, sealed, FormFilling, Signing, false},
		{"P=2, form filled in", 2, func(t *testing.T, pdf []byte) []byte { return fillIn(t, pdf) }, FormFilling, FormFilling, false},
		{"P=2, annotation", 2, func(t *testing.T, pdf []byte) []byte { return pdfsealtest.AddAnnotation(t, pdf, 1) }, FormFilling, Annotating, true},
		{"P=3, annotation", 3, func(t *testing.T, pdf []byte) []byte { return pdfsealtest.AddAnnotation(t, pdf, 1) }, Annotating, Annotating, false},
		{"P=3, black rectangle", 3, func(t *testing.T, pdf []byte) []byte { return pdfsealtest.Blackout(t, pdf, 1) }, Annotating, OtherChange, true},
		{"P=3, sealed, then black rectangle", 3, func(t *testing.T, pdf []byte) []byte { return pdfsealtest.Blackout(t, sealed(t, pdf), 1) }, Annotating, OtherChange, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Verify(context.Background(), tc.after(t, certified(tc.p)))
			if err != nil || len(res) == 0 {
				t.Fatalf("Verify: %v, %d results", err, len(res))
			}
			r := res[0]
			if r.Field != "Certification" || r.Status != Valid || r.DocMDP != tc.p || r.Permits != tc.permits {
				t.Fatalf("certification %q: %v (%v), DocMDP %d, permits %v; want valid, P=%d, permits %v", r.Field, r.Status, r.Err, r.DocMDP, r.Permits, tc.p, tc.permits)
			}
			if r.Changes != tc.changes || (r.ChangesErr != nil) != tc.fails || tc.fails && !errors.Is(r.ChangesErr, ErrModified) {
				t.Errorf("changes %v, %v; want %v, failing: %v", r.Changes, r.ChangesErr, tc.changes, tc.fails)
			}
			for _, later := range res[1:] {
				if later.Permits != tc.permits {
					t.Errorf("signature %q after the certification permits %v, want %v", later.Field, later.Permits, tc.permits)
				}
			}
		})
	}

	t.Run("P=1 refuses sealing", func(t *testing.T) {
		t.Parallel()
		var w countingWriter
		err := Seal(context.Background(), &w, certified(1), options(t, sm2K, 1))
		if !errors.Is(err, ErrNoChangesPermitted) || !strings.Contains(err.Error(), `"Certification"`) || w.writes != 0 {
			t.Fatalf("Seal: %v after %d writes; want ErrNoChangesPermitted naming the certification, nothing written", err, w.writes)
		}
	})
}

func TestDocMDPPermission(t *testing.T) {
	t.Parallel()
	x, err := openFile(context.Background(), bytesSource(textPDF(1, 100)), MaxVerifySize) // the dictionaries below are direct
	if err != nil {
		t.Fatal(err)
	}
	ref := func(transform string, params types.Object) types.Dict {
		return types.Dict{"Reference": types.Array{types.Dict{"TransformMethod": types.Name(transform), "TransformParams": params}}}
	}
	tests := []struct {
		name string
		sig  types.Dict
		want int
	}{
		{"approval signature", types.Dict{}, 0},
		{"FieldMDP only", ref("FieldMDP", types.Dict{"P": types.Integer(1)}), 0},
		{"P=1", ref("DocMDP", types.Dict{"P": types.Integer(1)}), 1},
		{"P=3", ref("DocMDP", types.Dict{"P": types.Integer(3)}), 3},
		{"no P: the default 2", ref("DocMDP", types.Dict{}), 2},
		{"P=7: the strictest", ref("DocMDP", types.Dict{"P": types.Integer(7)}), 1},
		{"P not a number: the strictest", ref("DocMDP", types.Dict{"P": types.Name("x")}), 1},
	}
	for _, tc := range tests {
		if got := docMDP(x, tc.sig); got != tc.want {
			t.Errorf("%s: P=%d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestBlackoutRenders checks the fixture the tests above rely on: after
// pdfsealtest.Blackout, the page really shows a black box where the sealed
// revision showed the page.
func TestBlackoutRenders(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	black := pdfsealtest.Blackout(t, seal(t, conformance(t, "pdf/hello.pdf"), options(t, sm2K, 1)), 1)
	img := render(t, writeTemp(t, "black.pdf", black), 1)
	b, h := pdfsealtest.BlackBox, img.Bounds().Dy()
	for _, p := range []struct {
		x, y  float64 // default user space
		black bool
	}{
		{b[0] + 5, b[1] + 5, true}, {b[0] + b[2]/2, b[1] + b[3]/2, true}, {b[0] + b[2] - 5, b[1] + b[3] - 5, true},
		{b[0] - 10, b[1] - 10, false}, {b[0] + b[2] + 10, b[1] + b[3] + 10, false},
	} {
		r, g, bl, _ := img.At(int(p.x), h-int(p.y)).RGBA()
		if isBlack := r < 0x2000 && g < 0x2000 && bl < 0x2000; isBlack != p.black {
			t.Errorf("pixel at (%g, %g) pt is #%02x%02x%02x; want black: %v", p.x, p.y, r>>8, g>>8, bl>>8, p.black)
		}
	}
}

// TestVerifyChangesBounds: the revisions compared after a signature are
// bounded in number and in bytes parsed; beyond, the changes are not
// judged (ErrUnsupported), which a verifier reports as indeterminate. It
// changes maxRevisionBytes, so it does not run in parallel.
func TestVerifyChangesBounds(t *testing.T) {
	sm2K, _ := keys(t)
	sealed := seal(t, formPDF(), options(t, sm2K, 1))
	many := sealed
	for range maxLaterRevisions + 1 {
		e := pdfsealtest.New(t, many)
		many = e.Set(10, e.Dict(10)).Bytes() // the information dictionary, unchanged
	}
	blacked := pdfsealtest.Blackout(t, sealed, 1)
	tests := []struct {
		name     string
		in       []byte
		maxBytes int64
		want     error
	}{
		{fmt.Sprintf("%d revisions after the seal", maxLaterRevisions+1), many, maxRevisionBytes, ErrUnsupported},
		{fmt.Sprintf("%d revisions after the seal", maxLaterRevisions), many[:bytes.LastIndex(many[:len(many)-len("%%EOF\n")], []byte("%%EOF"))+len("%%EOF\n")], maxRevisionBytes, nil},
		{"more bytes to parse than allowed", blacked, int64(len(sealed)) - 1, ErrUnsupported},
		{"as many bytes to parse as allowed", blacked, int64(len(sealed)), ErrModified},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func(was int64) { maxRevisionBytes = was }(maxRevisionBytes)
			maxRevisionBytes = tc.maxBytes
			res, err := Verify(context.Background(), tc.in)
			if err != nil || len(res) != 1 {
				t.Fatalf("Verify: %v, %d results", err, len(res))
			}
			if r := res[0]; r.Status != Valid || !errors.Is(r.ChangesErr, tc.want) || tc.want == nil && r.ChangesErr != nil {
				t.Errorf("%v, changes: %v; want %v", r.Status, r.ChangesErr, tc.want)
			}
		})
	}
}

// TestSignedRevisionUnreadable: a signature whose revision cannot be
// read on its own (here: a file prefixed with a broken revision) cannot be
// compared with what follows, and fails.
func TestSignedRevisionUnreadable(t *testing.T) {
	t.Parallel()
	broken := []byte("%PDF-1.7\n1 0 obj\n<</Type/Catalog\nendobj\nstartxref\n9\n%%EOF\n")
	in := pdfsealtest.Append(broken, []string{catalogObj, pagesObj, pageObj}, "/Root 1 0 R")
	res := []Result{{Field: "Broken", SignedSize: int64(len(broken)), Revision: 1, Status: Valid}}
	if err := judgeChanges(context.Background(), bytesSource(in), MaxVerifySize, res); err != nil {
		t.Fatal(err)
	}
	var me *ModificationError
	if !errors.As(res[0].ChangesErr, &me) || me.Level != OtherChange || !strings.Contains(me.Change, "the signed revision does not read as a PDF") {
		t.Fatalf("ChangesErr %v; want a ModificationError: the signed revision does not read", res[0].ChangesErr)
	}
}
