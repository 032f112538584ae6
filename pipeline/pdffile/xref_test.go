package pdffile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// open opens b with opts.
func open(t testing.TB, b []byte, opts Options) *File {
	t.Helper()
	f, err := Open(bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return f
}

// checkSimpleDoc checks what simpleDoc wrote: three pages with inherited
// attributes, and a content stream.
func checkSimpleDoc(t *testing.T, f *File) {
	t.Helper()
	cat, err := f.Catalog()
	if err != nil {
		t.Fatalf("Catalog: %v", err)
	}
	if cat["Type"] != types.Name("Catalog") {
		t.Errorf("catalog %v", cat)
	}
	n, err := f.NumPages()
	if err != nil || n != 3 {
		t.Fatalf("NumPages = %d, %v; want 3", n, err)
	}
	want := []struct {
		ref              int
		media, crop, rot string
		unit             string
	}{
		{4, "[0 0 612 792]", "null", "90", "null"},
		{5, "[0 0 612 792]", "[10 10 600 780]", "90", "2"},
		{6, "[0 0 595 842]", "null", "0", "null"},
	}
	for i, w := range want {
		d, ref, a, err := f.Page(i + 1)
		if err != nil {
			t.Fatalf("Page(%d): %v", i+1, err)
		}
		if ref.ObjectNumber.Value() != w.ref || d["Type"] != types.Name("Page") {
			t.Errorf("Page(%d) = %v %v, want object %d", i+1, ref, d, w.ref)
		}
		got := []string{pdfString(a.MediaBox), pdfString(a.CropBox), pdfString(a.Rotate), pdfString(a.UserUnit)}
		if exp := []string{w.media, w.crop, w.rot, w.unit}; !slices.Equal(got, exp) {
			t.Errorf("Page(%d) attributes %v, want %v", i+1, got, exp)
		}
		res, ok := a.Resources.(types.Dict)
		if !ok || res.DictEntry("Font") == nil {
			t.Errorf("Page(%d) /Resources %v", i+1, a.Resources)
		}
		_, data, err := f.Stream(d["Contents"])
		if err != nil || string(data) != "BT /F1 12 Tf 72 720 Td (Hello) Tj ET" {
			t.Errorf("Page(%d) contents %q, %v", i+1, data, err)
		}
	}
	for _, n := range []int{0, 4, -1} {
		if _, _, _, err := f.Page(n); !errors.Is(err, ErrNoPage) {
			t.Errorf("Page(%d): %v, want ErrNoPage", n, err)
		}
	}
	font, err := f.Resolve(types.IndirectRef{ObjectNumber: 8})
	if d, ok := font.(types.Dict); err != nil || !ok || d["BaseFont"] != types.Name("Helvetica") {
		t.Errorf("object 8 = %v, %v", font, err)
	}
}

func kinds(rs []Repair) []RepairKind {
	var k []RepairKind
	for _, r := range rs {
		k = append(k, r.Kind)
	}
	return k
}

func sectionKinds(f *File) string {
	var s []string
	for _, r := range f.Revisions() {
		var secs []string
		for _, sec := range r.Sections {
			k := sec.Kind.String()
			if sec.XRefStm > 0 {
				k += "+stream"
			}
			secs = append(secs, k)
		}
		s = append(s, strings.Join(secs, ","))
	}
	return strings.Join(s, " ")
}

// linearized writes simpleDoc as linearized files are laid out (Annex F):
// a first-page section at the start, whose trailer has /Prev to the main
// section at the end and is followed by startxref 0; the last startxref
// names the first-page section.
func linearized() []byte {
	a := "%PDF-1.7\n9 0 obj\n<< /Linearized 1 /L LLLLLLLLLL /H [0 0] /O 4 /E 0 /N 3 /T 0 >>\nendobj\n"
	objs := simpleDoc(&builder{offs: map[int]int64{}, comp: map[int][2]int{}})
	body := objs.buf.String()
	var bsec string
	mk := func(base, prev int64) string {
		var s strings.Builder
		s.WriteString("xref\n1 8\n")
		for n := 1; n <= 8; n++ {
			fmt.Fprintf(&s, "%010d 00000 n \n", base+objs.offs[n])
		}
		fmt.Fprintf(&s, "trailer\n<< /Size 10 /Root 1 0 R /Prev %010d >>\nstartxref\n0\n%%%%EOF\n", prev)
		return s.String()
	}
	bsec = mk(0, 0)
	base := int64(len(a) + len(bsec))
	mainAt := base + int64(len(body))
	bsec = mk(base, mainAt)
	main := fmt.Sprintf("xref\n0 1\n0000000000 65535 f \n9 1\n%010d 00000 n \ntrailer\n<< /Size 10 >>\nstartxref\n%d\n%%%%EOF\n", 9, len(a))
	all := a + bsec + body + main
	return []byte(strings.Replace(all, "LLLLLLLLLL", fmt.Sprintf("%010d", len(all)), 1))
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name     string
		build    func() []byte
		opts     Options
		sections string // the kinds of each revision's sections, oldest first
		repairs  []RepairKind
		check    func(t *testing.T, f *File)
		// pdfcpu reads the file differently, for this reason.
		pdfcpuDiffers string
	}{
		{
			name: "classic table",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				return b.bytes()
			},
			sections: "table",
		},
		{
			name: "classic table, 19-byte entries (LF only)",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.eol = "\n"
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				return b.bytes()
			},
			sections: "table",
		},
		{
			name: "classic table, 21-byte entries (space CR LF)",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.eol = " \r\n"
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				return b.bytes()
			},
			sections: "table",
		},
		{
			name: "classic table, entries of unequal length",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				return bytes.Replace(b.bytes(), []byte("65535 f \n"), []byte("65535 f\n\n\n"), 1)
			},
			sections: "table",
		},
		{
			name: "classic table, several subsections",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.obj(11, "(eleven)").obj(20, "[1 2 3]")
				b.table(b.keys(), []int{13}, "/Size 21 /Root 1 0 R")
				return b.bytes()
			},
			sections: "table",
			check: func(t *testing.T, f *File) {
				for nr, want := range map[int]string{11: "(eleven)", 20: "[1 2 3]", 9: "null", 10: "null", 13: "null", 12: "null", 21: "null", 1 << 30: "null"} {
					o, err := f.Object(nr)
					if err != nil || pdfString(o) != want {
						t.Errorf("Object(%d) = %s, %v; want %s", nr, pdfString(o), err, want)
					}
				}
				if f.XRefSize() != 21 {
					t.Errorf("XRefSize = %d", f.XRefSize())
				}
				e, ok, err := f.Entry(13)
				if !ok || err != nil || e.Kind != EntryFree || e.Gen != 1 {
					t.Errorf("Entry(13) = %+v %v %v", e, ok, err)
				}
			},
		},
		{
			name: "incremental updates: newest definition wins, freed objects are null",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.obj(9, "(old)")
				b.table(b.keys(), nil, "/Size 10 /Root 1 0 R")
				b.obj(9, "(new)").obj(10, "(added)")
				b.table([]int{9, 10}, []int{11}, "/Size 12 /Root 1 0 R")
				b.obj(11, "(eleven)")
				b.table([]int{11}, []int{10}, "/Size 12 /Root 1 0 R")
				return b.bytes()
			},
			sections: "table table table",
			check: func(t *testing.T, f *File) {
				for nr, want := range map[int]string{9: "(new)", 10: "null", 11: "(eleven)"} {
					if o, err := f.Object(nr); err != nil || pdfString(o) != want {
						t.Errorf("Object(%d) = %s, %v; want %s", nr, pdfString(o), err, want)
					}
				}
				revs := f.Revisions()
				for i, r := range revs {
					if i > 0 && r.End <= revs[i-1].End || r.Trailer()["Root"] == nil {
						t.Errorf("revision %d: %+v", i+1, r)
					}
				}
				if revs[2].End != f.Size()-1 {
					t.Errorf("the last revision ends at %d, the file at %d", revs[2].End, f.Size())
				}
				if _, ok := revs[0].Trailer()["Prev"]; ok {
					t.Errorf("the first revision's trailer has /Prev")
				}
				if f.StartXRef() != revs[2].Sections[0].Offset {
					t.Errorf("StartXRef %d", f.StartXRef())
				}
			},
		},
		{
			name: "cross-reference stream",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.xrefStream(9, b.keys(), nil, "/Root 1 0 R", 2, false)
				return b.bytes()
			},
			sections: "stream",
		},
		{
			name: "cross-reference stream, PNG Up predictor, object stream",
			build: func() []byte {
				b := newBuilder()
				b.stream(7, "/Filter /FlateDecode", deflate([]byte("BT /F1 12 Tf 72 720 Td (Hello) Tj ET")))
				b.objStm(10, map[int]string{
					1: "<< /Type /Catalog /Pages 2 0 R >>",
					2: "<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 3 /MediaBox [0 0 612 792] /Resources << /Font << /F1 8 0 R >> >> >>",
					3: "<< /Type /Pages /Parent 2 0 R /Kids [4 0 R 5 0 R] /Count 2 /Rotate 90 >>",
					4: "<< /Type /Page /Parent 3 0 R /Contents 7 0 R >>",
					5: "<< /Type /Page /Parent 3 0 R /Contents 7 0 R /CropBox [10 10 600 780] /UserUnit 2 >>",
					6: "<< /Type /Page /Parent 2 0 R /Contents 7 0 R /MediaBox [0 0 595 842] /Rotate 0 >>",
					8: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
				})
				b.xrefStream(11, slices.Concat(b.keys(), b.compressed()), nil, "/Root 1 0 R", 2, true)
				return b.bytes()
			},
			sections: "stream",
			check: func(t *testing.T, f *File) {
				e, ok, err := f.Entry(5)
				if !ok || err != nil || e != (Entry{Kind: EntryCompressed, Stream: 10, Index: 4}) {
					t.Errorf("Entry(5) = %+v %v %v", e, ok, err)
				}
			},
		},
		{
			name: "cross-reference stream, 4-byte offsets, /Index of several ranges",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.obj(30, "42")
				b.xrefStream(40, b.keys(), []int{35}, "/Root 1 0 R", 4, true)
				return b.bytes()
			},
			sections: "stream",
			check: func(t *testing.T, f *File) {
				if o, err := f.Object(30); err != nil || o != types.Integer(42) {
					t.Errorf("Object(30) = %v, %v", o, err)
				}
			},
		},
		{
			name: "hybrid: a table naming a stream with /XRefStm",
			build: func() []byte {
				return hybrid(false)
			},
			sections: "table+stream",
		},
		{
			name: "hybrid, the table marking the compressed objects free",
			build: func() []byte {
				return hybrid(true)
			},
			sections: "table+stream",
			// PDF Reference 1.7 §3.4.7, example 3.11: the table marks the
			// objects of object streams free (generation 65535) and a
			// reader of streams finds them in the /XRefStm stream.
			pdfcpuDiffers: "pdfcpu lets the table's free entries hide the objects the /XRefStm stream defines",
		},
		{
			name: "a table, then a stream update",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.obj(6, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 1 1] >>")
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				b.obj(6, "<< /Type /Page /Parent 2 0 R /Contents 7 0 R /MediaBox [0 0 595 842] /Rotate 0 >>")
				b.xrefStream(9, []int{6}, nil, "/Root 1 0 R", 2, false)
				return b.bytes()
			},
			sections: "table stream",
		},
		{
			name:     "linearized: first-page section, then the main one",
			build:    linearized,
			sections: "table,table",
			check: func(t *testing.T, f *File) {
				r := f.Revisions()[0]
				if r.End != f.Size()-1 || r.Sections[0].Offset > r.Sections[1].Offset {
					t.Errorf("revision %+v", r)
				}
			},
		},
		{
			name: "encrypted",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O (o) /U (u) /P -4 >>")
				return b.bytes()
			},
			sections: "table",
			check: func(t *testing.T, f *File) {
				if !f.Encrypted() {
					t.Error("Encrypted() = false")
				}
			},
		},
		{
			name: "garbage after %%EOF",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				return append(b.bytes(), bytes.Repeat([]byte("garbage\x00\xff "), 400)...)
			},
			sections: "table",
		},
		// Repairs.
		{
			name: "object offsets a few bytes off",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.offs[4] += 3
				b.offs[5] -= 2
				b.offs[7] += 1
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				return b.bytes()
			},
			sections: "table",
			repairs:  []RepairKind{RepairObjectOffset, RepairObjectOffset, RepairObjectOffset},
		},
		{
			name: "object offsets far off: found by scanning the file",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				for nr := range b.offs {
					b.offs[nr] += 5000
				}
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				return b.bytes()
			},
			sections: "table",
			repairs:  []RepairKind{RepairObjectOffset, RepairObjectOffset, RepairObjectOffset, RepairObjectOffset, RepairObjectOffset, RepairObjectOffset, RepairObjectOffset, RepairObjectOffset},
		},
		{
			name: "two entries with one offset: the object there is used",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.offs[9] = b.offs[8]
				b.table(b.keys(), nil, "/Size 10 /Root 1 0 R")
				return b.bytes()
			},
			sections: "table",
			check: func(t *testing.T, f *File) {
				o, err := f.Object(9)
				if d, ok := o.(types.Dict); err != nil || !ok || d["BaseFont"] != types.Name("Helvetica") {
					t.Errorf("Object(9) = %v, %v", o, err)
				}
				if r := f.Repairs(); len(r) != 1 || r[0].Kind != RepairObjectNumber || r[0].Object != 9 {
					t.Errorf("repairs %v", r)
				}
			},
			repairs: []RepairKind{RepairObjectNumber},
		},
		{
			name: "startxref a few bytes off",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				at := b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				return bytes.Replace(b.bytes(), fmt.Appendf(nil, "startxref\n%d", at), fmt.Appendf(nil, "startxref\n%d", at+2), 1)
			},
			sections: "table",
			repairs:  []RepairKind{RepairXRefOffset},
		},
		{
			name: "/Prev a few bytes off, to a stream",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				at := b.xrefStream(9, b.keys(), nil, "/Root 1 0 R", 2, false)
				b.last = at - 3
				b.obj(6, "<< /Type /Page /Parent 2 0 R /Contents 7 0 R /MediaBox [0 0 595 842] /Rotate 0 >>")
				b.table([]int{6}, nil, "/Size 10 /Root 1 0 R")
				return b.bytes()
			},
			sections: "stream table",
			repairs:  []RepairKind{RepairXRefOffset},
		},
		{
			name: "missing endobj",
			build: func() []byte {
				b := newBuilder().
					rawObj(1, "<< /Type /Catalog /Pages 2 0 R >>\n").
					obj(2, "<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 3 /MediaBox [0 0 612 792] /Resources << /Font << /F1 8 0 R >> >> >>").
					obj(3, "<< /Type /Pages /Parent 2 0 R /Kids [4 0 R 5 0 R] /Count 2 /Rotate 90 >>").
					rawObj(4, "<< /Type /Page /Parent 3 0 R /Contents 7 0 R >>").
					obj(5, "<< /Type /Page /Parent 3 0 R /Contents 7 0 R /CropBox [10 10 600 780] /UserUnit 2 >>").
					obj(6, "<< /Type /Page /Parent 2 0 R /Contents 7 0 R /MediaBox [0 0 595 842] /Rotate 0 >>")
				data := deflate([]byte("BT /F1 12 Tf 72 720 Td (Hello) Tj ET"))
				b.rawObj(7, fmt.Sprintf("<< /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream\n", len(data), data))
				b.rawObj(8, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\n")
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				return b.bytes()
			},
			sections: "table",
			repairs:  []RepairKind{RepairMissingEndobj, RepairMissingEndobj, RepairMissingEndobj},
		},
		{
			name: "stream /Length wrong, missing, indirect",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				data := deflate([]byte("BT /F1 12 Tf 72 720 Td (Hello) Tj ET"))
				b.rawObj(7, fmt.Sprintf("<< /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(data)-5, data))
				b.rawObj(20, fmt.Sprintf("<< /Length 21 0 R >>\nstream\r\n%s\r\nendstream\nendobj\n", "indirect"))
				b.obj(21, "8")
				b.rawObj(22, fmt.Sprintf("<< >>\nstream\n%s\nendstream\nendobj\n", "no length"))
				b.table(b.keys(), nil, "/Size 23 /Root 1 0 R")
				return b.bytes()
			},
			sections: "table",
			repairs:  []RepairKind{RepairStreamLength, RepairStreamLength},
			check: func(t *testing.T, f *File) {
				for nr, want := range map[int]string{20: "indirect", 22: "no length"} {
					_, data, err := f.Stream(types.IndirectRef{ObjectNumber: types.Integer(nr)})
					if err != nil || string(data) != want {
						t.Errorf("stream %d = %q, %v", nr, data, err)
					}
				}
			},
		},
		{
			name: "no startxref: reconstructed",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				s := b.bytes()
				return s[:bytes.LastIndex(s, []byte("startxref"))]
			},
			sections: "scan",
			repairs:  []RepairKind{RepairReconstructed},
		},
		{
			name: "table unparseable: reconstructed, the last definition wins",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.obj(6, "<< /Type /Page /MediaBox [0 0 1 1] >>")
				b.obj(6, "<< /Type /Page /Parent 2 0 R /Contents 7 0 R /MediaBox [0 0 595 842] /Rotate 0 >>")
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				return bytes.Replace(b.bytes(), []byte("xref\n0 9\n0000"), []byte("xref\n0 9\nzz00"), 1)
			},
			sections: "scan",
			repairs:  []RepairKind{RepairReconstructed},
		},
		{
			name: "/Prev to nowhere: reconstructed",
			build: func() []byte {
				b := simpleDoc(newBuilder())
				b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
				b.last = 99999
				b.obj(9, "(x)")
				b.table([]int{9}, nil, "/Size 10 /Root 1 0 R")
				return b.bytes()
			},
			sections: "scan",
			repairs:  []RepairKind{RepairReconstructed},
		},
		{
			name: "stream file with startxref wrong: reconstructed from the object stream and the /XRef dictionary",
			build: func() []byte {
				b := newBuilder()
				b.stream(7, "/Filter /FlateDecode", deflate([]byte("BT /F1 12 Tf 72 720 Td (Hello) Tj ET")))
				b.objStm(10, map[int]string{
					1: "<< /Type /Catalog /Pages 2 0 R >>",
					2: "<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 3 /MediaBox [0 0 612 792] /Resources << /Font << /F1 8 0 R >> >> >>",
					3: "<< /Type /Pages /Parent 2 0 R /Kids [4 0 R 5 0 R] /Count 2 /Rotate 90 >>",
					4: "<< /Type /Page /Parent 3 0 R /Contents 7 0 R >>",
					5: "<< /Type /Page /Parent 3 0 R /Contents 7 0 R /CropBox [10 10 600 780] /UserUnit 2 >>",
					6: "<< /Type /Page /Parent 2 0 R /Contents 7 0 R /MediaBox [0 0 595 842] /Rotate 0 >>",
					8: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
				})
				at := b.xrefStream(11, slices.Concat(b.keys(), b.compressed()), nil, "/Root 1 0 R", 2, true)
				return bytes.Replace(b.bytes(), fmt.Appendf(nil, "startxref\n%d", at), []byte("startxref\n9999999"), 1)
			},
			sections: "scan",
			repairs:  []RepairKind{RepairReconstructed},
		},
		{
			name: "no cross-reference data, no trailer: reconstructed from the catalog",
			build: func() []byte {
				return simpleDoc(newBuilder()).bytes()
			},
			sections: "scan",
			repairs:  []RepairKind{RepairReconstructed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.build()
			f := open(t, b, tt.opts)
			if got := sectionKinds(f); got != tt.sections {
				t.Errorf("sections %q, want %q", got, tt.sections)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
			checkSimpleDoc(t, f)
			if got := kinds(f.Repairs()); !slices.Equal(got, tt.repairs) {
				t.Errorf("repairs %v, want %v", f.Repairs(), tt.repairs)
			}
			for _, r := range f.Repairs() {
				// Found is where the object or section really is.
				switch at := b[min(int(r.Found), len(b)):]; r.Kind {
				case RepairObjectOffset:
					if !bytes.HasPrefix(at, fmt.Appendf(nil, "%d 0 obj", r.Object)) {
						t.Errorf("%v: Found %d holds %.20q", r, r.Found, at)
					}
				case RepairXRefOffset:
					if !bytes.HasPrefix(at, []byte("xref")) && !bytes.Contains(at[:min(len(at), 16)], []byte(" obj")) {
						t.Errorf("%v: Found %d holds %.20q", r, r.Found, at)
					}
				default:
					if r.Found != 0 {
						t.Errorf("%v: Found %d", r, r.Found)
					}
				}
			}
			if len(tt.repairs) == 0 {
				var ends []int64
				for _, r := range f.Revisions() {
					ends = append(ends, r.End)
				}
				if want := eofEnds(b); !slices.Equal(ends, want) {
					t.Errorf("revisions end at %v; the file's startxref-%%%%EOF pairs at %v", ends, want)
				}
			}
			if tt.pdfcpuDiffers == "" {
				crossCheck(t, b, f)
			} else if res := compareWithPDFCPU(b, f); len(res.diffs) == 0 {
				t.Errorf("pdfcpu reads the file as pdffile does, though %s", tt.pdfcpuDiffers)
			}
		})
	}
}

// hybrid writes simpleDoc as a hybrid file (§7.5.8.4): the page tree in an
// object stream that only the /XRefStm stream lists; the table lists the
// other objects, and, if free is set, the compressed ones as free.
func hybrid(free bool) []byte {
	b := newBuilder()
	b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	b.stream(7, "/Filter /FlateDecode", deflate([]byte("BT /F1 12 Tf 72 720 Td (Hello) Tj ET")))
	b.obj(8, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	b.objStm(10, map[int]string{
		2: "<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 3 /MediaBox [0 0 612 792] /Resources << /Font << /F1 8 0 R >> >> >>",
		3: "<< /Type /Pages /Parent 2 0 R /Kids [4 0 R 5 0 R] /Count 2 /Rotate 90 >>",
		4: "<< /Type /Page /Parent 3 0 R /Contents 7 0 R >>",
		5: "<< /Type /Page /Parent 3 0 R /Contents 7 0 R /CropBox [10 10 600 780] /UserUnit 2 >>",
		6: "<< /Type /Page /Parent 2 0 R /Contents 7 0 R /MediaBox [0 0 595 842] /Rotate 0 >>",
	})
	xs := b.xrefStream(11, b.compressed(), nil, "", 2, false)
	// No startxref follows a hybrid file's stream: the table is the section.
	b.buf.Truncate(b.buf.Len() - len(fmt.Sprintf("startxref\n%d\n%%%%EOF\n", xs)))
	b.last = 0
	var freed []int
	if free {
		freed = b.compressed()
	}
	direct := slices.DeleteFunc(b.keys(), func(n int) bool { return n == 11 })
	b.table(direct, freed, fmt.Sprintf("/Size 12 /Root 1 0 R /XRefStm %d", xs))
	return b.bytes()
}

func TestOpenRefuses(t *testing.T) {
	simple := func() *builder { return simpleDoc(newBuilder()) }
	tests := []struct {
		name  string
		build func() []byte
		opts  Options
		err   error
		text  string
	}{
		{"empty", func() []byte { return nil }, Options{}, ErrMalformed, "empty"},
		{"not a PDF", func() []byte { return []byte("hello, world\n") }, Options{}, ErrMalformed, "%PDF-"},
		{"/Prev to itself", func() []byte {
			b := simple()
			b.last = b.off()
			b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
			return b.bytes()
		}, Options{}, ErrMalformed, "loops"},
		{"two sections naming each other", func() []byte {
			b := simple()
			b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
			b.table([]int{1}, nil, "/Size 9 /Root 1 0 R")
			// The first section's trailer gets a /Prev to the second.
			s := b.bytes()
			second := bytes.LastIndex(s, []byte("xref\n1 1"))
			return bytes.Replace(s, []byte("/Size 9 /Root 1 0 R >>"), fmt.Appendf(nil, "/Size 9 /Root 1 0 R /Prev %d>>", second), 1)
		}, Options{}, ErrMalformed, "loops"},
		{"more sections than MaxSections", func() []byte {
			b := simple()
			b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
			for range 10 {
				b.obj(6, "<< /Type /Page /Parent 2 0 R /Contents 7 0 R /MediaBox [0 0 595 842] /Rotate 0 >>")
				b.table([]int{6}, nil, "/Size 9 /Root 1 0 R")
			}
			return b.bytes()
		}, Options{MaxSections: 5}, ErrLimit, "sections"},
		{"no startxref, reconstruction off", func() []byte {
			b := simple()
			b.table(b.keys(), nil, "/Size 9 /Root 1 0 R")
			s := b.bytes()
			return s[:bytes.LastIndex(s, []byte("startxref"))]
		}, Options{NoReconstruct: true}, ErrMalformed, "startxref"},
		{"nothing to reconstruct from", func() []byte {
			return []byte("%PDF-1.7\n1 0 obj\n<< /Type /Font >>\nendobj\n")
		}, Options{}, ErrMalformed, "no trailer"},
		{"a subsection beyond MaxObjects, nothing to scan", func() []byte {
			return []byte("%PDF-1.7\nxref\n0 100000000\n0000000000 65535 f \ntrailer\n<< /Size 1 >>\nstartxref\n9\n%%EOF\n")
		}, Options{}, ErrMalformed, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.build()
			_, err := Open(bytes.NewReader(b), int64(len(b)), tt.opts)
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Open: %v; want %v containing %q", err, tt.err, tt.text)
			}
		})
	}
}

func TestOpenCanceled(t *testing.T) {
	b := simpleDoc(newBuilder()).bytes() // no xref: Open must scan
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := OpenContext(ctx, bytes.NewReader(b), int64(len(b)), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("OpenContext with a canceled context: %v", err)
	}
}

func TestSectionEntries(t *testing.T) {
	b := simpleDoc(newBuilder())
	b.obj(9, "(old)").obj(10, "(ten)")
	first := b.table(b.keys(), nil, "/Size 11 /Root 1 0 R")
	b.obj(9, "(new)")
	second := b.xrefStream(11, []int{9}, []int{10}, "/Root 1 0 R", 2, false)
	f := open(t, b.bytes(), Options{})
	es, err := f.SectionEntries(second)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 || es[9].Kind != EntryInUse || es[10].Kind != EntryFree || es[11].Kind != EntryInUse {
		t.Errorf("the update's entries %v", es)
	}
	es, err = f.SectionEntries(first)
	if err != nil || len(es) != 10 || es[9].Offset == 0 {
		t.Errorf("the first section's entries %v, %v", es, err)
	}
	nrs, err := f.ObjectNumbers()
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 11}; err != nil || !slices.Equal(nrs, want) {
		t.Errorf("ObjectNumbers = %v, %v; want %v", nrs, err, want)
	}
	if _, err := f.SectionEntries(5); !errors.Is(err, ErrMalformed) {
		t.Errorf("SectionEntries(5): %v", err)
	}
	for _, h := range [][]byte{hybrid(true), hybrid(false)} {
		f := open(t, h, Options{})
		es, err := f.SectionEntries(f.StartXRef())
		if err != nil || es[2].Kind != EntryCompressed || es[1].Kind != EntryInUse {
			t.Errorf("hybrid entries %v, %v", es, err)
		}
	}
}
