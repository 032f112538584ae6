package pdffile_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"
)

// A file with one page, written by hand: a catalog, a page tree, a page
// and a classic cross-reference table.
const onePage = "%PDF-1.7\n" +
	"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" +
	"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>\nendobj\n" +
	"3 0 obj\n<< /Type /Page /Parent 2 0 R /Rotate 90 >>\nendobj\n" +
	"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000139 00000 n \n" +
	"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n197\n%%EOF\n"

// Open reads the cross-reference data; Page reads the path down the page
// tree to one page, and nothing else.
func Example() {
	f, err := pdffile.Open(bytes.NewReader([]byte(onePage)), int64(len(onePage)), pdffile.Options{})
	if err != nil {
		log.Fatal(err)
	}
	n, err := f.NumPages()
	if err != nil {
		log.Fatal(err)
	}
	page, ref, attrs, err := f.Page(1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "page;", "page 1 is", ref, page["Type"])
	fmt.Println("MediaBox (inherited)", attrs.MediaBox, "Rotate", attrs.Rotate)
	for _, r := range f.Revisions() {
		fmt.Println("revision ending at", r.End, "with a", r.Sections[0].Kind, "at", r.Sections[0].Offset)
	}
	fmt.Println("repairs:", len(f.Repairs()), "encrypted:", f.Encrypted(), "next object number:", f.XRefSize())
	// Output:
	// 1 page; page 1 is (3 0 R) Page
	// MediaBox (inherited) [0 0 595 842] Rotate 90
	// revision ending at 339 with a table at 197
	// repairs: 0 encrypted: false next object number: 4
}
