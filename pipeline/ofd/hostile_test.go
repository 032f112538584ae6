package ofd

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"runtime"
	"strings"
	"testing"
	"time"
)

// entry is one member of a package built by a test.
type entry struct {
	name string
	data []byte
	// declared, when non-zero, is written as the uncompressed size instead
	// of len(data), with data stored raw as the compressed bytes.
	declared uint64
}

const minimalOFD = `<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>`

const minimalDocument = `<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages/></ofd:Document>`

// build writes a ZIP with the entries, in order, as given.
func build(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		if e.declared == 0 {
			f, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate})
			if err != nil {
				t.Fatal(err)
			}
			f.Write(e.data)
			continue
		}
		f, err := w.CreateRaw(&zip.FileHeader{Name: e.name, Method: zip.Deflate, CompressedSize64: uint64(len(e.data)), UncompressedSize64: e.declared, CRC32: crc32.ChecksumIEEE(nil)})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(e.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// deflated compresses n zero bytes.
func deflated(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zero := make([]byte, 1<<16)
	for n > 0 {
		k := min(n, len(zero))
		fw.Write(zero[:k])
		n -= k
	}
	fw.Close()
	return buf.Bytes()
}

func billionLaughs() []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">`)
	prev := "lol"
	for i := range 9 {
		name := "lol" + string(rune('a'+i))
		b.WriteString(`<!ENTITY ` + name + ` "`)
		for range 10 {
			b.WriteString("&" + prev + ";")
		}
		b.WriteString(`">`)
		prev = name
	}
	b.WriteString(`]><ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"><ofd:SignedInfo><ofd:Provider ProviderName="&` + prev + `;"/></ofd:SignedInfo><ofd:SignedValue>x</ofd:SignedValue></ofd:Signature>`)
	return []byte(b.String())
}

// TestHostile feeds packages built to hurt: each must give a clear error,
// wrapping the right sentinel and naming the part, within a second and a
// few MiB of allocation.
func TestHostile(t *testing.T) {
	t.Parallel()
	ofdXML := entry{name: "OFD.xml", data: []byte(minimalOFD)}
	docXML := entry{name: "Doc_0/Document.xml", data: []byte(minimalDocument)}
	bomb := deflated(t, 64<<20) // 64 MiB of zeros in ~64 KiB
	small := deflated(t, 1<<20) // 1 MiB of zeros in ~1 KiB
	many := []entry{ofdXML}
	for i := range 1100 { // 1100 × 1 MiB declared: more than 1 GiB in all
		many = append(many, entry{name: "Doc_0/Res/r" + strings.Repeat("x", i%7) + string(rune('A'+i%26)) + "_" + itoa(i), data: small, declared: 1 << 20})
	}
	deep := "<a>" + strings.Repeat("<b>", 1000) + strings.Repeat("</b>", 1000) + "</a>"
	tests := []struct {
		name string
		in   []byte
		err  error
		says string
		// part, when set, is a Signature.xml read after Open succeeds.
		part string
	}{
		{"zip bomb (ratio)", build(t, ofdXML, entry{name: "Doc_0/bomb.xml", data: bomb, declared: 64 << 20}), ErrTooLarge, "compression ratio", ""},
		{"zip bomb (total)", build(t, many...), ErrTooLarge, "in all", ""},
		{"2 GiB declared entry", build(t, ofdXML, entry{name: "Doc_0/big.dat", data: small, declared: 2 << 30}), ErrTooLarge, "2147483648 bytes", ""},
		{"../ entry", build(t, ofdXML, entry{name: "../../etc/cron.d/x", data: []byte("x")}), ErrUnsafePath, "climbs out", ""},
		{"absolute entry", build(t, ofdXML, entry{name: "/etc/passwd", data: []byte("x")}), ErrUnsafePath, "absolute", ""},
		{"drive letter", build(t, ofdXML, entry{name: `C:\x`, data: []byte("x")}), ErrUnsafePath, "absolute", ""},
		{"duplicate entry", build(t, ofdXML, ofdXML), ErrDuplicate, "OFD.xml", ""},
		{"duplicate after case folding", build(t, ofdXML, entry{name: "ofd.XML", data: []byte(minimalOFD)}), ErrDuplicate, "ofd.XML", ""},
		{"duplicate after normalisation", build(t, ofdXML, entry{name: "./OFD.xml", data: []byte(minimalOFD)}), ErrDuplicate, "OFD.xml", ""},
		{"not a zip", []byte("PK\x03\x04 not really"), ErrMalformed, "not a ZIP", ""},
		{"no OFD.xml", build(t, entry{name: "x.xml", data: []byte("<x/>")}), ErrMalformed, "no OFD.xml", ""},
		{"DOCTYPE in OFD.xml", build(t, entry{name: "OFD.xml", data: billionLaughs()}), ErrDTD, "OFD.xml", ""},
		{"deep nesting", build(t, entry{name: "OFD.xml", data: []byte(deep)}), ErrTooLarge, "deeper than 64", ""},
		{"GBK encoding", build(t, entry{name: "OFD.xml", data: []byte(`<?xml version="1.0" encoding="GBK"?><OFD/>`)}), ErrUnsupported, "GBK", ""},
		{"billion laughs Signature.xml", build(t, ofdXML, docXML, entry{name: "Doc_0/Signs/Sign_0/Signature.xml", data: billionLaughs()}), ErrDTD, "Signature.xml", "Doc_0/Signs/Sign_0/Signature.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			p, err := Open(tt.in, Limits{})
			if err == nil && tt.part != "" {
				_, _, err = p.ReadSignature(tt.part)
			}
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("error %v; want %v saying %q", err, tt.err, tt.says)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%v in %v, %d KiB allocated", err, elapsed, alloc>>10)
			if elapsed > time.Second {
				t.Errorf("took %v", elapsed)
			}
			if alloc > 8<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
		})
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

// TestLiesAboutSize: an entry whose data inflates beyond its declared size
// is refused when read, by archive/zip.
func TestLiesAboutSize(t *testing.T) {
	t.Parallel()
	in := build(t, entry{name: "OFD.xml", data: []byte(minimalOFD)}, entry{name: "Doc_0/Document.xml", data: []byte(minimalDocument)}, entry{name: "Doc_0/x.dat", data: deflated(t, 1<<20), declared: 100})
	p, err := Open(in, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read("Doc_0/x.dat"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Read: %v, want ErrMalformed", err)
	}
}
