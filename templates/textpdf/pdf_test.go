package textpdf

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestPDFDate(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2024, 3, 15, 9, 30, 5, 0, time.FixedZone("CST", 8*3600)), "(D:20240315093005+08'00')"},
		{time.Date(2024, 3, 15, 9, 30, 5, 0, time.UTC), "(D:20240315093005Z)"},
		{time.Date(1999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -(3*3600+30*60))), "(D:19991231235959-03'30')"},
	}
	for _, tt := range tests {
		if got := pdfDate(tt.t); got != tt.want {
			t.Errorf("pdfDate(%v) = %s, want %s", tt.t, got, tt.want)
		}
	}
}

func TestTextString(t *testing.T) {
	tests := []struct{ s, want string }{
		{"zh-CN", "(zh-CN)"},
		{"", "()"},
		{"a(b)", "<FEFF0061002800620029>"},
		{`a\b`, "<FEFF0061005C0062>"},
		{"验章", "<FEFF9A8C7AE0>"},
		{"\U00010400", "<FEFFD801DC00>"},
	}
	for _, tt := range tests {
		if got := textString(tt.s); got != tt.want {
			t.Errorf("textString(%q) = %s, want %s", tt.s, got, tt.want)
		}
	}
}

// TestXref checks the cross-reference table against the objects: each
// entry's offset is where its object begins (§7.5.4).
func TestXref(t *testing.T) {
	b, err := Render(testDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\nxref\n0 (\d+)\n(.*)trailer\n<< /Size (\d+) .*\nstartxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no xref table and trailer at the end")
	}
	n, _ := strconv.Atoi(string(m[1]))
	if string(m[1]) != string(m[3]) || len(m[2]) != 20*n {
		t.Fatalf("xref of %s entries, /Size %s, %d bytes of entries", m[1], m[3], len(m[2]))
	}
	if start, _ := strconv.Atoi(string(m[4])); !bytes.HasPrefix(b[start:], []byte("xref\n")) {
		t.Errorf("startxref %d does not point at the table", start)
	}
	for i := 1; i < n; i++ {
		e := m[2][20*i : 20*i+20]
		off, err := strconv.Atoi(string(e[:10]))
		if err != nil || string(e[10:]) != " 00000 n \n" {
			t.Fatalf("entry %d: %q", i, e)
		}
		if want := strconv.Itoa(i) + " 0 obj\n"; !bytes.HasPrefix(b[off:], []byte(want)) {
			t.Errorf("entry %d: offset %d holds %q", i, off, b[off:min(off+20, len(b))])
		}
	}
}

// TestMetadata checks the catalog and the document information
// dictionary.
func TestMetadata(t *testing.T) {
	tests := []struct {
		name          string
		doc           Document
		catalog, info string
	}{
		{"test document", testDocument(t),
			"<< /Type /Catalog /Pages 2 0 R /Lang (zh-CN) /ViewerPreferences << /DisplayDocTitle true >> >>",
			"<< /Title <FEFF9A8C7AE062A5544A00200056006500720069006600690063006100740069006F006E0020007200650070006F00720074> /Author (sealpipe) " +
				"/Subject <FEFF75355B5053707AE09A8C8BC1> /Producer (sealpipe templates/textpdf) /CreationDate (D:20240315093000+08'00') >>"},
		{"empty", Document{},
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Producer (sealpipe templates/textpdf) >>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Render(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"\n1 0 obj\n" + tt.catalog + "\nendobj\n", "\n3 0 obj\n" + tt.info + "\nendobj\n"} {
				if !bytes.Contains(b, []byte(want)) {
					t.Errorf("no %q", want)
				}
			}
		})
	}
}
