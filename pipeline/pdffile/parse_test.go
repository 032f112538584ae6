package pdffile

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

var parseSeeds = []string{
	"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 595.276 841.89] /Contents [4 0 R 5 0 R] >>",
	"[1 2.5 -3 +4 .5 -.25 5. true false null (a (b) \\) c) <48656c6c6f> <> /N#20ame]",
	"<< /A << /B [<< >> [] ()] >> /C null /D 12 0 R/E 1 0 R>>",
	"<</Length 5/Filter/FlateDecode/DecodeParms<</Columns 4/Predictor 12>>>>",
	"12 0 R", "[/]", "42", "-17", "3.14", "(string)", "<ABCDEF>", "/Name", "true", "null", "",
	"[1 0 R 2 0 R 3 0]", "[5 0 R5]", "<</K 1 0 obj>>", "[1 % comment\n 2]", "<abc>", "<a b>",
	"[0+5 1,5 1e5 .- -]", "<< /A 1 /A 2 >>", "<< /A\n>>", "[1 2 R]", "[1 -2 R]", "[99999999999999999999 0 R]",
	"<< /Key (unbalanced >>", "[\v1]", "[/a\xc2\xa0b]", "[nullx TRUE]", "<< /A 1>", "[1 0\n%c\nR]",
}

// FuzzFastParse checks fastParse against pdfcpu's parser: wherever the
// fast parser accepts a text, pdfcpu must read it the same.
func FuzzFastParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := fastParse(b, DefaultMaxDepth)
		if !ok {
			return
		}
		want, err := pdfcpuParse(b)
		if err != nil {
			t.Fatalf("fastParse(%q) = %v; pdfcpu fails: %v", b, got, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fastParse(%q) = %#v; pdfcpu %#v", b, got, want)
		}
	})
}

func pdfcpuParse(b []byte) (o types.Object, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errPanic
		}
	}()
	s := string(b)
	return model.ParseObjectContext(context.Background(), &s, 0, DefaultMaxDepth)
}

var errPanic = errors.New("pdfcpu's parser panicked")

func TestFastParseAccepts(t *testing.T) {
	for _, s := range parseSeeds[:5] {
		if _, ok := fastParse([]byte(s), DefaultMaxDepth); !ok {
			t.Errorf("fastParse(%q) gave up", s)
		}
	}
}
