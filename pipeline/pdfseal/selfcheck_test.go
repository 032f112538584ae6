package pdfseal

import (
	"bytes"
	"context"
	"encoding/asn1"
	"errors"
	"strconv"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

// sealUpdate seals in through Update, with the input's SM3 state.
func sealUpdate(t *testing.T, in []byte, opts Options) *Sealed {
	t.Helper()
	opts.Prefix = prefixOf(t, in)
	s, err := Update(context.Background(), in, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSealedCheck runs every signature format through Update and
// Sealed.Check: Check says what Verify says of the sealed document, and
// Update's SM3 is the document's.
func TestSealedCheck(t *testing.T) {
	p := newFormatPKI(t)
	tsaURL := tsaServer(t, p)
	in := conformance(t, "pdf/hello.pdf")
	for _, tc := range formatCases(p) {
		t.Run(tc.name, func(t *testing.T) {
			opts := formatOptions(t, p, tc, tsaURL)
			s := sealUpdate(t, in, opts)
			out := append(bytes.Clone(in), s.Update...)
			if want := sm3.Sum(out); !bytes.Equal(s.SM3, want[:]) {
				t.Errorf("Sealed.SM3 %x, the document's %x", s.SM3, want)
			}
			if !s.Alone() {
				t.Fatal("hello.pdf has no form fields, yet the seal is not Alone")
			}
			got, err := s.Check(in)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Verify(context.Background(), out)
			if err != nil || len(res) != 1 {
				t.Fatalf("Verify: %v, %d results", err, len(res))
			}
			want := res[0]
			if got.Status != Valid || want.Status != Valid {
				t.Fatalf("Check %s %v; Verify %s %v", got.Status, got.Err, want.Status, want.Err)
			}
			for name, eq := range map[string]bool{
				"Field":           got.Field == want.Field,
				"SubFilter":       got.SubFilter == want.SubFilter,
				"ByteRange":       got.ByteRange == want.ByteRange,
				"CoversWholeFile": got.CoversWholeFile == want.CoversWholeFile,
				"Revision":        got.Revision == want.Revision,
				"SignedSize":      got.SignedSize == want.SignedSize && got.FileSize == want.FileSize,
				"Signer":          got.Signer != nil && got.Signer.Equal(want.Signer),
				"Certificates":    len(got.Certificates) == len(want.Certificates),
				"SigningTime":     got.SigningTime.Equal(want.SigningTime),
				"DigestAlgorithm": got.DigestAlgorithm == want.DigestAlgorithm,
				"Format":          got.Format == want.Format,
				"TimeStamp":       (got.TimeStamp == nil) == (want.TimeStamp == nil),
				"SealData":        bytes.Equal(got.SealData, want.SealData),
				"DocMDP":          got.DocMDP == want.DocMDP && got.Permits == want.Permits,
			} {
				if !eq {
					t.Errorf("%s: Check says %+v, Verify %+v", name, got, want)
				}
			}
		})
	}
}

// TestSealedCheckTampered: Check reads the update as written, so a change
// to it after Update fails it; Check of an input with form fields is
// refused, as it may hold signatures only Verify judges.
func TestSealedCheckTampered(t *testing.T) {
	sm2K, _ := keys(t)
	in := conformance(t, "pdf/hello.pdf")
	opts := options(t, sm2K, 1)
	opts.SealData = newFormatPKI(t).seal
	for _, tc := range []struct {
		name   string
		change func(s *Sealed)
	}{
		{"ByteRange rewritten", func(s *Sealed) {
			i := bytes.Index(s.Update, []byte("/ByteRange[0 "))
			s.Update[i+len("/ByteRange[0 ")]++
		}},
		{"signature value", func(s *Sealed) {
			// The CMS ends with the SignerInfo's signature value.
			i := bytes.Index(s.Update, []byte("/Contents<")) + len("/Contents<")
			der, err := decodeHex(s.Update[i : i+bytes.IndexByte(s.Update[i:], '>')])
			var v asn1.RawValue
			if _, err2 := asn1.Unmarshal(der, &v); err != nil || err2 != nil {
				t.Fatal(err, err2)
			}
			if d := &s.Update[i+2*(len(v.FullBytes)-10)]; *d == '0' {
				*d = '1'
			} else {
				*d = '0'
			}
		}},
		{"Contents not hex", func(s *Sealed) {
			s.Update[bytes.Index(s.Update, []byte("/Contents<"))+len("/Contents<")] = 'x'
		}},
		{"object moved", func(s *Sealed) {
			i := bytes.Index(s.Update, []byte(" 0 obj"))
			s.Update[i-1] = '9'
		}},
		{"startxref", func(s *Sealed) {
			i := bytes.LastIndex(s.Update, []byte("startxref\n"))
			n, _ := strconv.Atoi(string(s.Update[i+10 : i+10+bytes.IndexByte(s.Update[i+10:], '\n')]))
			copy(s.Update[i+10:], strconv.Itoa(n-1))
		}},
		{"digest signed", func(s *Sealed) { s.doc.digest[0] ^= 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sealUpdate(t, in, opts)
			tc.change(s)
			r, err := s.Check(in)
			if err != nil || r.Status != Invalid {
				t.Errorf("Check of a changed update: %s %v, %v; want Invalid", r.Status, r.Err, err)
			}
		})
	}
	s := sealUpdate(t, formPDF(), opts)
	if _, err := s.Check(formPDF()); !errors.Is(err, ErrNotAlone) || s.Alone() {
		t.Errorf("Check of a document with form fields: %v, want ErrNotAlone", err)
	}
}

// TestSealedRelease: a released Sealed gives its buffer to the next
// Update and refuses Check, which would read the next document's update;
// what was written before the release stands, and the next sealing is
// whole.
func TestSealedRelease(t *testing.T) {
	sm2K, _ := keys(t)
	in := conformance(t, "pdf/hello.pdf")
	opts := options(t, sm2K, 1)
	opts.SealData = newFormatPKI(t).seal
	first := sealUpdate(t, in, opts)
	out1 := append(bytes.Clone(in), first.Update...)
	first.Release()
	first.Release() // twice is harmless
	if _, err := first.Check(in); !errors.Is(err, errReleased) || first.Alone() || first.Update != nil {
		t.Errorf("Check after Release: %v, want errReleased", err)
	}
	opts.Placement.X += 10 // a different update, over the same buffer if the pool kept it
	second := sealUpdate(t, in, opts)
	if r, err := second.Check(in); err != nil || r.Status != Valid {
		t.Errorf("Check of the next update: %s %v, %v", r.Status, r.Err, err)
	}
	for name, out := range map[string][]byte{"before": out1, "after": append(bytes.Clone(in), second.Update...)} {
		if res, err := Verify(context.Background(), out); err != nil || len(res) != 1 || res[0].Status != Valid {
			t.Errorf("the document sealed %s the release: %v, %+v", name, err, res)
		}
	}
}
