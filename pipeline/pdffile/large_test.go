package pdffile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r     io.ReaderAt
	bytes atomic.Int64
	calls atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.bytes.Add(int64(n))
	c.calls.Add(1)
	return n, err
}

// writeLargePDF writes a PDF of about size bytes to path, streaming: a
// page tree of 100 nodes of 100 pages each, all drawing one content stream
// of size bytes, and a classic cross-reference table. It returns the
// object number of the content stream.
func writeLargePDF(path string, size int64) (int, error) {
	fh, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	w := bufio.NewWriterSize(fh, 1<<20)
	var off int64
	offs := map[int]int64{}
	write := func(s string) {
		n, _ := w.WriteString(s)
		off += int64(n)
	}
	obj := func(nr int, s string) {
		offs[nr] = off
		write(fmt.Sprintf("%d 0 obj\n%s\nendobj\n", nr, s))
	}
	const nodes, perNode = 100, 100
	const firstNode, firstPage = 3, 3 + nodes
	content := firstPage + nodes*perNode
	write("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := ""
	for i := range nodes {
		kids += fmt.Sprintf("%d 0 R ", firstNode+i)
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842] >>", kids, nodes*perNode))
	for i := range nodes {
		kids := ""
		for j := range perNode {
			kids += fmt.Sprintf("%d 0 R ", firstPage+i*perNode+j)
		}
		obj(firstNode+i, fmt.Sprintf("<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>", kids, perNode))
	}
	for i := range nodes * perNode {
		obj(firstPage+i, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /Contents %d 0 R >>", firstNode+i/perNode, content))
	}
	// The content stream: size bytes of drawing operators.
	offs[content] = off
	line := "0.5 0.5 0.5 RG 10 10 m 585 832 l S\n"
	n := size / int64(len(line))
	write(fmt.Sprintf("%d 0 obj\n<< /Length %d >>\nstream\n", content, n*int64(len(line))))
	for range n {
		write(line)
	}
	write("\nendstream\nendobj\n")
	xref := off
	write(fmt.Sprintf("xref\n0 %d\n0000000000 65535 f \n", content+1))
	for nr := 1; nr <= content; nr++ {
		write(fmt.Sprintf("%010d 00000 n \n", offs[nr]))
	}
	write(fmt.Sprintf("trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", content+1, xref))
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return content, fh.Close()
}

// TestLargeFile opens a 1 GiB file and finds its catalog and pages: a few
// kilobytes are read, the heap grows by less than 20 MiB; then it reads
// the 1 GiB content stream through StreamReader, still in bounded memory.
func TestLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 1 GiB file")
	}
	path := filepath.Join(t.TempDir(), "large.pdf")
	content, err := writeLargePDF(path, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	cr := &countingReader{r: fh}

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := uint64(0)
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse-min(ms.HeapInuse, base))
	}

	f, err := Open(cr, st.Size(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sample()
	if _, err := f.Catalog(); err != nil {
		t.Fatal(err)
	}
	n, err := f.NumPages()
	if err != nil || n != 10_000 {
		t.Fatalf("NumPages = %d, %v", n, err)
	}
	var first int64
	for i, p := range []int{1, 5_000, 10_000} {
		d, _, a, err := f.Page(p)
		if err != nil || a.MediaBox == nil {
			t.Fatalf("Page(%d): %v", p, err)
		}
		sd, ok := mustObject(t, f, d["Contents"]).(types.StreamDict)
		if !ok || *sd.StreamLength < 1<<30-64 {
			t.Fatalf("page %d /Contents %v", p, sd)
		}
		sample()
		if i == 0 {
			first = cr.bytes.Load()
		}
	}
	read, calls := cr.bytes.Load(), cr.calls.Load()
	t.Logf("%d-byte file: Open, Catalog, NumPages and Page(1) read %d bytes; with pages 5000 and 10000 (whose search reads the /Count of 99 "+
		"intermediate nodes of 100 kids and 100 page dictionaries) %d bytes in %d ReadAt calls; the heap grew by %d KiB",
		st.Size(), first, read, calls, peak>>10)
	if first > 16<<10 || read > 256<<10 {
		t.Errorf("read %d bytes for page 1, %d in all", first, read)
	}
	if peak > 20<<20 {
		t.Errorf("the heap grew by %d MiB", peak>>20)
	}

	// The content stream, whole, through a reader.
	_, r, err := f.StreamReader(types.IndirectRef{ObjectNumber: types.Integer(content)})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	var total int64
	for {
		k, err := r.Read(buf)
		total += int64(k)
		if total%(128<<20) < int64(k) {
			sample()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	sample()
	t.Logf("the content stream: %d bytes read through StreamReader; the heap grew by at most %d KiB", total, peak>>10)
	if total < 1<<30-64 || peak > 20<<20 {
		t.Errorf("read %d bytes of the content stream, the heap grew by %d MiB", total, peak>>20)
	}
	runtime.KeepAlive(f)
}

func mustObject(t *testing.T, f *File, o types.Object) types.Object {
	t.Helper()
	o, err := f.Resolve(o)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
