package pdfseal

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// sealCase is an input document for the round-trip tests.
type sealCase struct {
	name       string
	input      func(t *testing.T) []byte
	page       int
	priorSigs  int  // valid signatures the input already has
	xrefStream bool // the input's last xref section is a stream
}

func sealCases() []sealCase {
	hello := func(t *testing.T) []byte { return conformance(t, "pdf/hello.pdf") }
	helloPath := func(t *testing.T) string { return writeTemp(t, "hello.pdf", hello(t)) }
	return []sealCase{
		{name: "hello.pdf in place", input: hello, page: 1},
		{name: "object and xref streams", page: 1, xrefStream: true, input: func(t *testing.T) []byte {
			return qpdf(t, "--object-streams=generate", helloPath(t))
		}},
		{name: "three pages, seal on page 2", page: 2, input: func(t *testing.T) []byte {
			p := helloPath(t)
			return qpdf(t, "--empty", "--pages", p, p, p, "--")
		}},
		{name: "rotated page", page: 1, input: func(t *testing.T) []byte {
			return qpdf(t, "--rotate=+90:1", helloPath(t))
		}},
		{name: "linearized", page: 1, input: func(t *testing.T) []byte {
			return qpdf(t, "--linearize", helloPath(t))
		}},
		{name: "already signed (hello_hsm.pdf)", page: 1, priorSigs: 1, input: func(t *testing.T) []byte {
			return conformance(t, "pdf/hello_hsm.pdf")
		}},
		{name: "20 pages, seal on the last", page: 20, input: func(*testing.T) []byte { return textPDF(20, 5000) }},
	}
}

func TestSealRoundTrip(t *testing.T) {
	t.Parallel()
	sm2K, ecK := keys(t)
	sealData := conformance(t, "ses/UserV4.esl")
	for _, tc := range sealCases() {
		for _, k := range []struct {
			name   string
			key    testKey
			digest string
		}{{"SM2", sm2K, "SM3"}, {"ECDSA", ecK, "SHA-256"}} {
			t.Run(tc.name+"/"+k.name, func(t *testing.T) {
				t.Parallel()
				in := tc.input(t)
				opts := options(t, k.key, tc.page)
				opts.SealData = sealData
				out := seal(t, in, opts) // asserts the input is a prefix

				tail := string(out[len(in):])
				if got := strings.Contains(tail, "/Type /XRef"); got != tc.xrefStream {
					t.Errorf("update's xref is a stream: %v, want %v (the input's kind)", got, tc.xrefStream)
				}
				if !strings.Contains(tail, "/Prev ") {
					t.Error("the update's trailer has no /Prev")
				}

				res, err := Verify(context.Background(), out)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if len(res) != tc.priorSigs+1 {
					t.Fatalf("Verify found %d signatures, want %d", len(res), tc.priorSigs+1)
				}
				for _, r := range res[:tc.priorSigs] {
					if r.Status != Valid || r.CoversWholeFile || r.SignedSize != int64(len(in)) {
						t.Errorf("earlier signature %q: status %v, whole file %v, covers %d bytes (input %d); want still valid over the input: %v",
							r.Field, r.Status, r.CoversWholeFile, r.SignedSize, len(in), r.Err)
					}
					if r.ChangesErr != nil || r.Changes != Signing {
						t.Errorf("earlier signature %q: the seal's update is judged %v: %v; want a permitted SIGNING change", r.Field, r.Changes, r.ChangesErr)
					}
				}
				r := res[len(res)-1]
				if r.Status != Valid || r.Err != nil {
					t.Fatalf("new signature: %v, %v", r.Status, r.Err)
				}
				checks := []struct {
					what      string
					got, want any
				}{
					{"field", r.Field, "Seal1"},
					{"SubFilter", r.SubFilter, "adbe.pkcs7.detached"},
					{"covers whole file", r.CoversWholeFile, true},
					{"signed size", r.SignedSize, int64(len(out))},
					{"file size", r.FileSize, int64(len(out))},
					{"revision", r.Revision, 2}, // every input is a single revision, linearized or not
					{"digest", r.DigestAlgorithm, k.digest},
					{"signing time", r.SigningTime.Equal(opts.Time), true},
					{"signer", r.Signer != nil && r.Signer.Equal(k.key.cert), true},
					{"certificates", len(r.Certificates), 1},
					{"seal data", bytes.Equal(r.SealData, sealData), true},
					{"ByteRange start", r.ByteRange[0], int64(0)},
					{"ByteRange gap after input", r.ByteRange[1] > int64(len(in)), true},
				}
				for _, c := range checks {
					if c.got != c.want {
						t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
					}
				}
				qpdfCheck(t, out)
			})
		}
	}
}

// TestSealDataAnyBytes: /SESeal is written as a literal string of the
// seal's bytes (appendBinaryString), and whatever they hold — the
// keywords the verifier scans for, "%%EOF", unbalanced parentheses,
// backslashes, CR and LF, escapes as text — Verify reads back exactly the
// bytes sealed, finds the signature dictionary and counts the revisions.
func TestSealDataAnyBytes(t *testing.T) {
	t.Parallel()
	sm2K, _ := keys(t)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"every byte", all},
		{"keywords", []byte("\n1 0 obj\n<</Type/Sig>>\nendobj\nstartxref\n123\n%%EOF\n7 0 obj")},
		{"parentheses and escapes", []byte(")((\\\\(\\152\\r\\\n)\\")},
		{"line ends", []byte("\r\r\n\n\r")},
		{"ends in a digit after an escape", []byte("j1%7")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := options(t, sm2K, 1)
			opts.SealData = tc.data
			out := seal(t, conformance(t, "pdf/hello.pdf"), opts)
			sig := out[bytes.LastIndex(out, []byte("/Type/Sig")):]
			sig = sig[:bytes.Index(sig, []byte("/ByteRange"))]
			for _, kw := range []string{"obj", "%%EOF", "\r"} {
				if bytes.Contains(sig, []byte(kw)) {
					t.Errorf("the signature dictionary holds %q bare", kw)
				}
			}
			res, err := Verify(context.Background(), out)
			if err != nil || len(res) != 1 {
				t.Fatalf("Verify: %v, %d results", err, len(res))
			}
			if r := res[0]; r.Status != Valid || r.Revision != 2 || !bytes.Equal(r.SealData, tc.data) {
				t.Errorf("got %v (%v), revision %d, seal data %q; want valid, revision 2, %q", r.Status, r.Err, r.Revision, r.SealData, tc.data)
			}
			qpdfCheck(t, out)
		})
	}
}

// qpdfCheck asserts that qpdf finds no structural error in pdf.
func qpdfCheck(t *testing.T, pdf []byte) {
	t.Helper()
	out, err := runErr(t, "qpdf", "--check", writeTemp(t, "check.pdf", pdf))
	if err != nil || !strings.Contains(out, "No syntax or stream encoding errors") {
		t.Errorf("qpdf --check: %v\n%s", err, out)
	}
}

func TestSealTwice(t *testing.T) {
	t.Parallel()
	sm2K, ecK := keys(t)
	for _, tc := range sealCases()[:2] { // a classic xref table, then xref streams
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.input(t)
			once := seal(t, in, options(t, sm2K, 1))
			second := options(t, ecK, 1)
			second.Placement.X, second.Placement.Y = 20, 20
			second.Time = second.Time.Add(time.Hour)
			twice := seal(t, once, second)

			res, err := Verify(context.Background(), twice)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 2 {
				t.Fatalf("%d signatures, want 2", len(res))
			}
			first, last := res[0], res[1]
			if first.Field != "Seal1" || first.Status != Valid || first.CoversWholeFile || first.SignedSize != int64(len(once)) || first.Revision != 2 {
				t.Errorf("first seal: field %q, %v, whole %v, covers %d of %d, revision %d; want Seal1 valid over the first sealed revision (%d bytes, revision 2): %v",
					first.Field, first.Status, first.CoversWholeFile, first.SignedSize, len(twice), first.Revision, len(once), first.Err)
			}
			if first.Changes != Signing || first.ChangesErr != nil || first.Permits != Signing {
				t.Errorf("first seal: the second seal's update is judged %v (permits %v): %v; want a permitted SIGNING change", first.Changes, first.Permits, first.ChangesErr)
			}
			if last.Field != "Seal2" || last.Status != Valid || !last.CoversWholeFile || last.Revision != 3 || last.DigestAlgorithm != "SHA-256" {
				t.Errorf("second seal: field %q, %v, whole %v, revision %d, %s; want Seal2 valid over everything, revision 3, SHA-256: %v",
					last.Field, last.Status, last.CoversWholeFile, last.Revision, last.DigestAlgorithm, last.Err)
			}
			qpdfCheck(t, twice)
		})
	}
}

// countingWriter records what is written to it and can fail.
type countingWriter struct {
	writes int
	fail   error
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.fail != nil {
		return 0, w.fail
	}
	return len(p), nil
}

func TestSealErrors(t *testing.T) {
	t.Parallel()
	sm2K, ecK := keys(t)
	hello := conformance(t, "pdf/hello.pdf")
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		in     []byte
		mutate func(*Options)
		want   error
	}{
		{"no signer", hello, func(o *Options) { o.Signer = nil }, ErrSigner},
		{"no certificate", hello, func(o *Options) { o.Chain = nil }, ErrSigner},
		{"certificate of another key", hello, func(o *Options) { o.Chain = []*smx509.Certificate{ecK.cert} }, ErrSigner},
		{"Ed25519 key", hello, func(o *Options) { o.Signer = edKey; o.Chain = []*smx509.Certificate{sm2K.cert} }, ErrSigner},
		{"no picture", hello, func(o *Options) { o.Image = nil }, ErrImage},
		{"picture not PNG", hello, func(o *Options) { o.Image = []byte("GIF89a....") }, ErrImage},
		{"page 0", hello, func(o *Options) { o.Placement.Page = 0 }, ErrNoPage},
		{"page 2 of 1", hello, func(o *Options) { o.Placement.Page = 2 }, ErrNoPage},
		{"zero width", hello, func(o *Options) { o.Placement.Width = 0 }, ErrPlacement},
		{"negative X", hello, func(o *Options) { o.Placement.X = -1 }, ErrPlacement},
		{"NaN Y", hello, func(o *Options) { o.Placement.Y = math.NaN() }, ErrPlacement},
		{"beyond the right edge", hello, func(o *Options) { o.Placement.X = 190 }, ErrPlacement},
		{"beyond the top edge", hello, func(o *Options) { o.Placement.Y = 280 }, ErrPlacement},
		{"above MaxInputSize", hello, func(o *Options) { o.MaxInputSize = 100 }, ErrTooLarge},
		{"not a PDF", []byte("just text"), nil, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := options(t, sm2K, 1)
			if tc.mutate != nil {
				tc.mutate(&opts)
			}
			var w countingWriter
			err := Seal(context.Background(), &w, tc.in, opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Seal: %v, want %v", err, tc.want)
			}
			if w.writes != 0 {
				t.Errorf("Seal wrote %d times before failing; want no output", w.writes)
			}
		})
	}

	t.Run("write failure", func(t *testing.T) {
		boom := errors.New("disk full")
		w := countingWriter{fail: boom}
		if err := Seal(context.Background(), &w, hello, options(t, sm2K, 1)); !errors.Is(err, boom) || w.writes != 1 {
			t.Errorf("Seal: %v after %d writes; want the writer's error after one write", err, w.writes)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var w countingWriter
		if err := Seal(ctx, &w, hello, options(t, sm2K, 1)); !errors.Is(err, context.Canceled) || w.writes != 0 {
			t.Errorf("Seal: %v after %d writes; want context.Canceled and no output", err, w.writes)
		}
	})
}

// TestSealPlacementGeometry checks the user-space /Rect for each /Rotate:
// the box is given as displayed.
func TestSealPlacementGeometry(t *testing.T) {
	t.Parallel()
	page := box{10, 20, 610, 820} // 600×800 pt, offset origin
	p := Placement{Page: 1, X: 10 / pointsPerMM, Y: 30 / pointsPerMM, Width: 100 / pointsPerMM, Height: 50 / pointsPerMM}
	tests := []struct {
		rotate int
		want   box
	}{
		{0, box{20, 50, 120, 100}},
		// Displayed 800 wide × 600 high; displayed lower-left is user (610, 20).
		{90, box{610 - 80, 20 + 10, 610 - 30, 20 + 110}},
		{180, box{610 - 110, 820 - 80, 610 - 10, 820 - 30}},
		{270, box{10 + 30, 820 - 110, 10 + 80, 820 - 10}},
	}
	for _, tc := range tests {
		g, err := place(page, tc.rotate, 1, p)
		if err != nil {
			t.Fatalf("rotate %d: %v", tc.rotate, err)
		}
		const eps = 1e-9
		if math.Abs(g.rect.llx-tc.want.llx) > eps || math.Abs(g.rect.lly-tc.want.lly) > eps ||
			math.Abs(g.rect.urx-tc.want.urx) > eps || math.Abs(g.rect.ury-tc.want.ury) > eps {
			t.Errorf("rotate %d: rect %+v, want %+v", tc.rotate, g.rect, tc.want)
		}
		if math.Abs(g.width-100) > eps || math.Abs(g.height-50) > eps {
			t.Errorf("rotate %d: picture %g×%g pt, want 100×50", tc.rotate, g.width, g.height)
		}
	}
	// /UserUnit 2: a unit is 2 pt, so the same millimetres take half the units.
	g, err := place(page, 0, 2, p)
	if err != nil || math.Abs(g.rect.llx-15) > 1e-9 || math.Abs(g.width-50) > 1e-9 || math.Abs(g.height-25) > 1e-9 {
		t.Errorf("UserUnit 2: %+v, %v; want rect from x=15, picture 50×25 units", g, err)
	}
}

// TestSealConcurrent seals from several goroutines at once, sharing keys
// and the picture cache; run it with -race.
func TestSealConcurrent(t *testing.T) {
	t.Parallel()
	sm2K, ecK := keys(t)
	docs := [][]byte{conformance(t, "pdf/hello.pdf"), conformance(t, "pdf/hello_hsm.pdf"), textPDF(3, 2000)}
	errs := make(chan error, 12)
	for i := range cap(errs) {
		go func() {
			k := []testKey{sm2K, ecK}[i%2]
			var out bytes.Buffer
			if err := Seal(context.Background(), &out, docs[i%len(docs)], options(t, k, 1)); err != nil {
				errs <- err
				return
			}
			res, err := Verify(context.Background(), out.Bytes())
			if err == nil && (len(res) == 0 || res[len(res)-1].Status != Valid) {
				err = errors.New("the new signature does not verify")
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// opaqueSigner hides the key's concrete type, as an HSM-backed signer
// does, and records what Seal asks it to sign.
type opaqueSigner struct {
	key  crypto.Signer
	msg  []byte
	opts crypto.SignerOpts
}

func (s *opaqueSigner) Public() crypto.PublicKey { return s.key.Public() }

func (s *opaqueSigner) Sign(r io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.msg, s.opts = bytes.Clone(msg), opts
	return s.key.Sign(r, msg, opts)
}

func TestSealThroughCryptoSigner(t *testing.T) {
	t.Parallel()
	sm2K, ecK := keys(t)
	for _, tc := range []struct {
		name    string
		key     testKey
		check   func(msg []byte, opts crypto.SignerOpts) bool
		expects string
	}{
		{"SM2", sm2K, func(msg []byte, opts crypto.SignerOpts) bool {
			return opts == sm2.DefaultSM2SignerOpts && msg[0] == 0x31 // the DER signed attributes; the signer hashes with Z_A
		}, "the DER signed attributes with sm2.DefaultSM2SignerOpts"},
		{"ECDSA", ecK, func(msg []byte, opts crypto.SignerOpts) bool {
			return opts == crypto.SHA256 && len(msg) == 32
		}, "a SHA-256 digest with crypto.SHA256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			signer := &opaqueSigner{key: tc.key.signer}
			opts := options(t, tc.key, 1)
			opts.Signer = signer
			out := seal(t, conformance(t, "pdf/hello.pdf"), opts)
			if !tc.check(signer.msg, signer.opts) {
				t.Errorf("Sign got %d bytes starting %x with %T %v; want %s", len(signer.msg), signer.msg[:min(4, len(signer.msg))], signer.opts, signer.opts, tc.expects)
			}
			res, err := Verify(context.Background(), out)
			if err != nil || len(res) != 1 || res[0].Status != Valid {
				t.Fatalf("Verify: %v %+v", err, res)
			}
		})
	}
	t.Run("SM2 key typed as *ecdsa.PrivateKey", func(t *testing.T) {
		opts := options(t, sm2K, 1)
		opts.Signer = &sm2K.signer.(*sm2.PrivateKey).PrivateKey // its own Sign would make an ECDSA signature
		res, err := Verify(context.Background(), seal(t, conformance(t, "pdf/hello.pdf"), opts))
		if err != nil || len(res) != 1 || res[0].Status != Valid || res[0].DigestAlgorithm != "SM3" {
			t.Fatalf("Verify: %v %+v", err, res)
		}
	})
}
