package pdfseal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/pdfseal/pdfsealtest"
)

func TestVerifyConformance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		wantSigs    int
		wantStatus  Status
		wantErr     error // errors.Is on the Result's Err
		wantWhole   bool
		wantSigner  string
		wantTime    time.Time
		wantRevsion int
	}{
		{file: "pdf/hello.pdf", wantSigs: 0},
		{file: "pdf/hello_hsm.pdf", wantSigs: 1, wantStatus: Valid, wantWhole: true, wantSigner: "Paul van Brouwershaven",
			wantTime: time.Date(2012, 8, 24, 10, 22, 14, 0, time.UTC), wantRevsion: 1},
		{file: "pdf/sigmodified.pdf", wantSigs: 1, wantStatus: Invalid, wantErr: ErrDigestMismatch, wantWhole: true,
			wantSigner: "", wantTime: time.Date(2012, 8, 24, 10, 22, 14, 0, time.UTC), wantRevsion: 1},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			in := conformance(t, tc.file)
			res, err := Verify(context.Background(), in)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(res) != tc.wantSigs {
				t.Fatalf("%d signatures, want %d", len(res), tc.wantSigs)
			}
			if tc.wantSigs == 0 {
				return
			}
			r := res[0]
			if r.Status != tc.wantStatus || !errors.Is(r.Err, tc.wantErr) {
				t.Errorf("status %v, err %v; want %v, %v", r.Status, r.Err, tc.wantStatus, tc.wantErr)
			}
			if r.CoversWholeFile != tc.wantWhole || r.SignedSize != int64(len(in)) || r.Revision != tc.wantRevsion {
				t.Errorf("whole file %v, signed size %d of %d, revision %d; want %v, revision %d", r.CoversWholeFile, r.SignedSize, len(in), r.Revision, tc.wantWhole, tc.wantRevsion)
			}
			if r.Field != "sig" || r.SubFilter != "adbe.pkcs7.detached" || r.DigestAlgorithm != "SHA-256" {
				t.Errorf("field %q, SubFilter %q, digest %q", r.Field, r.SubFilter, r.DigestAlgorithm)
			}
			if !r.SigningTime.Equal(tc.wantTime) {
				t.Errorf("signing time %v, want %v", r.SigningTime, tc.wantTime)
			}
			if tc.wantSigner != "" && (r.Signer == nil || r.Signer.Subject.CommonName != tc.wantSigner) {
				t.Errorf("signer %v, want CN %q", r.Signer, tc.wantSigner)
			}
			if tc.wantSigner != "" && len(r.Certificates) < 2 {
				t.Errorf("%d certificates returned; hello_hsm.pdf carries its chain", len(r.Certificates))
			}
			var mm *DigestMismatchError
			if errors.Is(tc.wantErr, ErrDigestMismatch) && (!errors.As(r.Err, &mm) || bytes.Equal(mm.Signed, mm.Computed) || len(mm.Signed) != 32) {
				t.Errorf("Err %#v is not a *DigestMismatchError with two different SHA-256 digests", r.Err)
			}
		})
	}
}

// TestVerifyTamper changes one byte of a sealed file at several places.
func TestVerifyTamper(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	in := conformance(t, "pdf/hello.pdf")
	out := seal(t, in, options(t, sm2K, 1))
	res, err := Verify(context.Background(), out)
	if err != nil || len(res) != 1 || res[0].Status != Valid {
		t.Fatalf("untampered: %v %+v", err, res)
	}
	br := res[0].ByteRange
	imageData := bytes.Index(out[len(in):], []byte("stream\n")) + len(in) + len("stream\n") + 10
	// The CMS starts 30 82 LL LL; its last bytes are the signature value.
	cmsLen, err := strconv.ParseInt(string(out[br[1]+5:br[1]+9]), 16, 32)
	if err != nil || !bytes.HasPrefix(out[br[1]:], []byte("<3082")) {
		t.Fatalf("/Contents starts %q", out[br[1]:br[1]+9])
	}
	sigValue := br[1] + 1 + 2*(4+cmsLen-5)

	tests := []struct {
		name string
		at   int64
		want error
	}{
		{"original bytes (binary comment)", 11, ErrDigestMismatch},
		{"appended image data", int64(imageData), ErrDigestMismatch},
		{"signature dictionary after /Contents", br[2] + 5, ErrDigestMismatch},
		{"CMS signature value", sigValue, ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bad := bytes.Clone(out)
			switch c := bad[tc.at]; {
			case c == '<' || c == '>':
				t.Fatalf("test would change a delimiter at %d", tc.at)
			case tc.at > br[1] && tc.at < br[2]: // a hex digit: keep it one
				bad[tc.at] = map[bool]byte{true: '1', false: '0'}[c == '0']
			default:
				bad[tc.at] ^= 0x01
			}
			res, err := Verify(context.Background(), bad)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(res) != 1 || res[0].Status != Invalid || !errors.Is(res[0].Err, tc.want) {
				t.Fatalf("got %+v; want one Invalid signature with %v", res, tc.want)
			}
		})
	}
}

// TestVerifyChangedAfterSigning appends updates that change the signature
// dictionary after signing. What is reported must come from the signed
// dictionary, and a field redirected to an unsigned copy must fail.
func TestVerifyChangedAfterSigning(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	opts := options(t, sm2K, 1)
	opts.SealData = []byte("the seal as signed")
	out := seal(t, conformance(t, "pdf/hello.pdf"), opts)

	sigObj := regexp.MustCompile(`(?s)\n(\d+) 0 obj\n(<</Type/Sig.*?)\nendobj\n`).FindSubmatch(out)
	fieldObj := regexp.MustCompile(`(?s)\n(\d+) 0 obj\n(<</AP .*?/FT /Sig.*?)\nendobj\n`).FindSubmatch(out)
	if sigObj == nil || fieldObj == nil {
		t.Fatal("signature dictionary or field not found")
	}
	sigNr, _ := strconv.Atoi(string(sigObj[1]))
	fieldNr, _ := strconv.Atoi(string(fieldObj[1]))
	forged := bytes.Replace(sigObj[2], appendBinaryString(nil, opts.SealData), appendBinaryString(nil, []byte("a forged seal, unsigned")), 1)
	if bytes.Equal(forged, sigObj[2]) {
		t.Fatal("/SESeal not found in the signature dictionary")
	}

	t.Run("signature dictionary redefined", func(t *testing.T) {
		changed := pdfsealtest.New(t, out).SetText(sigNr, string(forged)).Bytes()
		res, err := Verify(context.Background(), changed)
		if err != nil || len(res) != 1 {
			t.Fatalf("Verify: %v, %d results", err, len(res))
		}
		r := res[0]
		if r.Status != Valid || r.CoversWholeFile || r.SignedSize != int64(len(out)) || string(r.SealData) != string(opts.SealData) {
			t.Errorf("got %v, whole file %v, signed %d of %d bytes, seal %q; want valid over the sealed revision only, with the signed seal data",
				r.Status, r.CoversWholeFile, r.SignedSize, len(changed), r.SealData)
		}
	})
	t.Run("field redirected to an unsigned copy", func(t *testing.T) {
		copyNr := 100
		field := bytes.Replace(fieldObj[2], []byte(fmt.Sprintf("/V %d 0 R", sigNr)), []byte(fmt.Sprintf("/V %d 0 R", copyNr)), 1)
		changed := pdfsealtest.New(t, out).SetText(copyNr, string(forged)).SetText(fieldNr, string(field)).Bytes()
		res, err := Verify(context.Background(), changed)
		if err != nil || len(res) != 1 {
			t.Fatalf("Verify: %v, %d results", err, len(res))
		}
		if r := res[0]; r.Status != Invalid || !errors.Is(r.Err, ErrSignatureFormat) || r.SealData != nil {
			t.Errorf("got %v (%v), seal %q; want Invalid: the ByteRange gap is not in the field's value", r.Status, r.Err, r.SealData)
		}
	})
}

func TestVerifyUnreadable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"too large", bytes.Repeat([]byte{' '}, MaxVerifySize+1), ErrTooLarge},
	} {
		if _, err := Verify(context.Background(), tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	var zero Status
	if zero != Indeterminate {
		t.Errorf("the zero Status is %v; it must not claim validity", zero)
	}
	for s, want := range map[Status]string{Valid: "VALID", Invalid: "INVALID", Indeterminate: "INDETERMINATE", Status(9): "Status(9)"} {
		b, err := json.Marshal(s)
		if err != nil || string(b) != strconv.Quote(want) {
			t.Errorf("json of %d = %s, %v; want %q", int(s), b, err, want)
		}
	}
}

func TestRevisions(t *testing.T) {
	t.Parallel()
	hello := conformance(t, "pdf/hello.pdf")
	tests := []struct {
		name string
		in   []byte
		want int
	}{
		{"hello.pdf", hello, 1},
		{"linearized: first-page trailer not counted", qpdf(t, "--linearize", writeTemp(t, "h.pdf", hello)), 1},
		{"%%EOF inside a string", []byte("%PDF-1.7\n1 0 obj\n(%%EOF)\nendobj\nstartxref\n9\n%%EOF\n"), 1},
		{"two sections", append(bytes.Clone(hello), "1 0 obj\nnull\nendobj\nstartxref\r\n1234\r\n%%EOF"...), 2},
		{"nothing", []byte("%PDF-1.7\n"), 0},
	}
	for _, tc := range tests {
		if got := revisions(bytesSource(tc.in)); got != tc.want {
			t.Errorf("%s: %d revisions, want %d", tc.name, got, tc.want)
		}
	}
}

// TestLastObjectHeader: the backward scan finds what the pattern
// (?:^|[^0-9])([0-9]{1,10})\s+([0-9]{1,5})\s+obj\b finds last.
func TestLastObjectHeader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // the object number found; "" for none
	}{
		{"12 0 obj <</A 1>>", "12"},
		{"1 0 obj\n<<>>\nendobj\n7 0 obj\n<</Contents<00>", "7"},
		{"%comment\n 3 0 obj", "3"},
		{"12 0 objx 5 0 obj", "5"},
		{"12 0 objx", ""},
		{"12 123456 obj", ""},
		{"12345678901 0 obj", ""},
		{"x12 0 obj", "12"},
		{"12 0obj", ""},
		{"12\r\n0\x00obj/Type", "12"},
		{"0 obj", ""},
		{"", ""},
	} {
		start, end, ok := lastObjectHeader([]byte(tc.in))
		got := ""
		if ok {
			got = tc.in[start:end]
		}
		if got != tc.want {
			t.Errorf("lastObjectHeader(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
