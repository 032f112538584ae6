package pdfseal

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"strings"
	"testing"
)

// TestBERToDER: indefinite lengths, long-form lengths and constructed
// OCTET STRINGs become DER; DER comes back unchanged; what cannot be read
// is an error saying why.
func TestBERToDER(t *testing.T) {
	t.Parallel()
	der, err := asn1.Marshal(struct {
		OID  asn1.ObjectIdentifier
		Data []byte
		Set  []int `asn1:"set"`
		Opt  int   `asn1:"explicit,tag:0"`
	}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}, bytes.Repeat([]byte{7}, 300), []int{3, 1, 2}, 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"DER unchanged", hex.EncodeToString(der), hex.EncodeToString(der), ""},
		{"an indefinite SEQUENCE", "3080020101020102" + "0000", "3006020101020102", ""},
		{"nested indefinite, as NSS writes ContentInfo", "3080" + "0603550403" + "a080" + "3080" + "020105" + "0000" + "0000" + "0000",
			"300c" + "0603550403" + "a005" + "3003" + "020105", ""},
		{"a non-minimal long-form length", "30820003020101", "3003020101", ""},
		{"a constructed OCTET STRING", "2480" + "04026162" + "040163" + "0000", "0403616263", ""},
		{"a constructed OCTET STRING, definite", "2407" + "04026162" + "040163", "0403616263", ""},
		{"a high tag number", "bf8101030201 01", "bf810103020101", ""},
		{"no end-of-contents", "3080020101", "", "no end-of-contents"},
		{"an indefinite primitive", "0480616200 00", "", "indefinite length on a primitive"},
		{"a length past the end", "3005020101", "", "a length of 5 with 3 bytes left"},
		{"cut short", "30", "", "cut short"},
		{"trailing padding left as it is", "300302010100", "3003020101", ""},
		{"a reserved length", "30ff", "", "reserved length"},
		{"a piece not an OCTET STRING", "2480" + "020101" + "0000", "", "has tag 0x2"},
		{"too deep", strings.Repeat("3080", 70) + strings.Repeat("0000", 70), "", "nested more than 64 deep"},
	} {
		in, err := hex.DecodeString(strings.ReplaceAll(tc.in, " ", ""))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, _, err := berToDER(in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %x, %v; want an error saying %q", tc.name, got, err, tc.err)
		case tc.err == "" && (err != nil || hex.EncodeToString(got) != tc.want):
			t.Errorf("%s: %x, %v; want %s", tc.name, got, err, tc.want)
		}
	}
}

// FuzzBERToDER: no input makes berToDER panic, what it returns is DER it
// returns unchanged, and what it passes as DER without converting it
// (derPrefix) is what converting it gives.
func FuzzBERToDER(f *testing.F) {
	for _, s := range []string{"3080020101020102" + "0000", "2480" + "04026162" + "040163" + "0000", "30820003020101", "3003020101"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, ok := derPrefix(b, 0); ok {
			// What the fast path passes is what the conversion gives.
			if slow, _, err := berValue(b, nil, 0); err != nil || !bytes.Equal(slow, b[:n]) {
				t.Fatalf("derPrefix(%x) passes %d bytes, which berValue makes %x, %v", b, n, slow, err)
			}
		}
		der, _, err := berToDER(b)
		if err != nil {
			return
		}
		again, rest, err := berToDER(der)
		if err != nil || !bytes.Equal(again, der) || len(rest) > 0 {
			t.Fatalf("berToDER(%x) = %x, which gives %x, %v", b, der, again, err)
		}
	})
}
