package ofdseal

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// handTime is the signing time of hand-made signatures.
var handTime = time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)

// handSig describes a Type="Seal" signature written by hand, so that a
// test can make what Seal never would.
type handSig struct {
	key sealKey
	// dir is the signature's folder, e.g. "Doc_0/Signs/Sign_0".
	dir string
	// protect lists the parts the references name (Seal.esl is added when
	// sealFile is not nil).
	protect []string
	// sealFile is written as Seal.esl and named in Seal/BaseLoc; nil
	// leaves Seal out.
	sealFile []byte
	// timeStamp, if set, returns the SES_Signature's timeStamp [0] given
	// the signature value.
	timeStamp func(sigValue []byte) []byte
}

// write adds the signature's parts to parts and returns its Signature.xml
// part name.
func (h handSig) write(t *testing.T, parts map[string][]byte) string {
	t.Helper()
	protect := slices.Clone(h.protect)
	var sealRef string
	if h.sealFile != nil {
		parts[h.dir+"/Seal.esl"] = h.sealFile
		protect = append(protect, h.dir+"/Seal.esl")
		sealRef = `<ofd:Seal><ofd:BaseLoc>/` + h.dir + `/Seal.esl</ofd:BaseLoc></ofd:Seal>`
	}
	var refs strings.Builder
	for _, name := range protect {
		data, ok := parts[name]
		if !ok {
			t.Fatalf("no part %s to protect", name)
		}
		sum := sm3.Sum(data)
		fmt.Fprintf(&refs, `<ofd:Reference FileRef="/%s"><ofd:CheckValue>%s</ofd:CheckValue></ofd:Reference>`, name, base64.StdEncoding.EncodeToString(sum[:]))
	}
	sigXML := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"><ofd:SignedInfo>` +
		`<ofd:Provider ProviderName="sealpipe-test"/><ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>` +
		`<ofd:SignatureDateTime>20260302103000Z</ofd:SignatureDateTime>` + sealRef +
		`<ofd:References CheckMethod="1.2.156.10197.1.401">` + refs.String() + `</ofd:References></ofd:SignedInfo>` +
		`<ofd:SignedValue>/` + h.dir + `/SignedValue.dat</ofd:SignedValue></ofd:Signature>`)
	sum := sm3.Sum(sigXML)
	value, err := ses.Sign(rand.Reader, ses.SignRequest{Seal: h.key.esl, DataHash: sum[:], PropertyInfo: "/" + h.dir + "/Signature.xml", Time: handTime}, h.key.signer, h.key.cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if h.timeStamp != nil {
		s, err := ses.ParseSignature(value)
		if err != nil {
			t.Fatal(err)
		}
		value = appendTimeStamp(value, h.timeStamp(s.SignatureValue))
	}
	parts[h.dir+"/Signature.xml"] = sigXML
	parts[h.dir+"/SignedValue.dat"] = value
	return h.dir + "/Signature.xml"
}

// appendTimeStamp adds `timeStamp [0] BIT STRING` (explicit, as ofdrw
// writes it) at the end of a DER SES_Signature.
func appendTimeStamp(sesDER, token []byte) []byte {
	tlv := func(tag byte, body []byte) []byte {
		out := []byte{tag}
		switch n := len(body); {
		case n < 0x80:
			out = append(out, byte(n))
		case n < 0x100:
			out = append(out, 0x81, byte(n))
		default:
			out = append(out, 0x82, byte(n>>8), byte(n))
		}
		return append(out, body...)
	}
	// Re-frame the outer SEQUENCE: header length depends on the content.
	hdr := 2
	if sesDER[1]&0x80 != 0 {
		hdr += int(sesDER[1] & 0x7f)
	}
	body := append(slices.Clone(sesDER[hdr:]), tlv(0xa0, tlv(0x03, append([]byte{0}, token...)))...)
	seq := []byte{0x30}
	n := len(body)
	switch {
	case n < 0x10000:
		seq = append(seq, 0x82, byte(n>>8), byte(n))
	default:
		seq = append(seq, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(seq, body...)
}

// signatureList is a Signatures.xml listing Type="Seal" signatures.
func signatureList(sigParts ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016">`)
	for i, p := range sigParts {
		fmt.Fprintf(&b, `<ofd:Signature ID="%d" Type="Seal" BaseLoc="/%s"/>`, i+1, p)
	}
	fmt.Fprintf(&b, `<ofd:MaxSignId>%d</ofd:MaxSignId></ofd:Signatures>`, len(sigParts))
	return []byte(b.String())
}

// zipParts writes parts in name order.
func zipParts(t *testing.T, parts map[string][]byte) []byte {
	t.Helper()
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	slices.Sort(names)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(parts[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// oneDocParts is makeOFD's one-page package as parts, with OFD.xml naming
// Doc_0/Signs/Signatures.xml.
func oneDocParts(t *testing.T) map[string][]byte {
	t.Helper()
	parts, _ := unzip(t, makeOFD(t, "Doc_0", 1, pageN))
	parts["OFD.xml"] = bytes.Replace(parts["OFD.xml"], []byte(`</ofd:DocRoot>`), []byte(`</ofd:DocRoot><ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>`), 1)
	return parts
}

// TestVerifySealFile: the Seal/BaseLoc file must be the SESeal the
// SES_Signature signs; the signer protecting a different one in its
// references does not make it so.
func TestVerifySealFile(t *testing.T) {
	t.Parallel()
	sm2K, _ := testKeys(t)
	other := kitOther.esl
	docFiles := []string{"OFD.xml", "Doc_0/Document.xml", "Doc_0/Pages/Page_0/Content.xml"}
	tests := []struct {
		name     string
		sealFile []byte
		edit     func(parts map[string][]byte)
		status   Status
		failed   Check
		err      error
		missing  bool
	}{
		{"seal file is the signed seal", sm2K.esl, nil, Valid, "", nil, false},
		{"no seal file named", nil, nil, Valid, "", nil, false},
		{"another seal, protected by the references", other, nil, Invalid, CheckSealFile, ErrSealMismatch, false},
		{"not a seal at all, protected", []byte("not a seal"), nil, Invalid, CheckSealFile, ErrSealMismatch, false},
		{"seal file missing", sm2K.esl, func(parts map[string][]byte) { delete(parts, "Doc_0/Signs/Sign_0/Seal.esl") },
			Invalid, CheckReferences, ErrDigestMismatch, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parts := oneDocParts(t)
			sig := handSig{key: sm2K, dir: "Doc_0/Signs/Sign_0", protect: docFiles, sealFile: tt.sealFile}.write(t, parts)
			parts["Doc_0/Signs/Signatures.xml"] = signatureList(sig)
			if tt.edit != nil {
				tt.edit(parts)
			}
			res, err := Verify(context.Background(), zipParts(t, parts))
			if err != nil || len(res) != 1 {
				t.Fatal(res, err)
			}
			r := res[0]
			if r.Status != tt.status || r.Failed != tt.failed || !errors.Is(r.Err, tt.err) || (tt.err == nil) != (r.Err == nil) {
				t.Fatalf("%s, failed %q: %v; want %s, %q, %v", r.Status, r.Failed, r.Err, tt.status, tt.failed, tt.err)
			}
			var sf *SealFileError
			if tt.err != nil && !errors.As(r.SealFileErr, &sf) {
				t.Fatalf("SealFileErr %v, want a *SealFileError", r.SealFileErr)
			}
			if sf != nil && sf.Missing != tt.missing {
				t.Errorf("%+v, want Missing %v", sf, tt.missing)
			}
		})
	}
}

// twoDocParts is a package of two documents, Doc_0 and Doc_1, each with a
// page and a Signatures.xml of its own, and each document sealed once by
// a signature protecting OFD.xml and that document's files only.
func twoDocParts(t *testing.T) map[string][]byte {
	t.Helper()
	sm2K, _ := testKeys(t)
	parts := map[string][]byte{}
	var bodies string
	for d := range 2 {
		dir := fmt.Sprintf("Doc_%d", d)
		one, _ := unzip(t, makeOFD(t, dir, 1, pageN))
		for n, b := range one {
			if n != "OFD.xml" {
				parts[n] = b
			}
		}
		bodies += fmt.Sprintf(`<ofd:DocBody><ofd:DocInfo><ofd:DocID>0f0d%d</ofd:DocID></ofd:DocInfo><ofd:DocRoot>%s/Document.xml</ofd:DocRoot><ofd:Signatures>/%s/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody>`, d, dir, dir)
	}
	parts["OFD.xml"] = []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD">` + bodies + `</ofd:OFD>`)
	for d := range 2 {
		dir := fmt.Sprintf("Doc_%d", d)
		sig := handSig{key: sm2K, dir: dir + "/Signs/Sign_0", sealFile: sm2K.esl,
			protect: []string{"OFD.xml", dir + "/Document.xml", dir + "/Pages/Page_0/Content.xml"}}.write(t, parts)
		parts[dir+"/Signs/Signatures.xml"] = signatureList(sig)
	}
	return parts
}

// TestVerifyMultiDocument: in a package of two documents, each document's
// files are judged against that document's signatures only; a file under
// no document's folder is every document's.
func TestVerifyMultiDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		add      map[string][]byte
		modified [2][]string // Result.Modified of the signature of Doc_0, Doc_1
	}{
		{"as signed", nil, [2][]string{nil, nil}},
		{"a page added to Doc_1", map[string][]byte{"Doc_1/Pages/Page_9/Content.xml": []byte("<x/>")},
			[2][]string{nil, {"Doc_1/Pages/Page_9/Content.xml"}}},
		{"a shared resource added", map[string][]byte{"Res/shared.xml": []byte("<x/>")},
			[2][]string{{"Res/shared.xml"}, {"Res/shared.xml"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parts := twoDocParts(t)
			for n, b := range tt.add {
				parts[n] = b
			}
			res, err := Verify(context.Background(), zipParts(t, parts))
			if err != nil || len(res) != 2 {
				t.Fatal(res, err)
			}
			for d, r := range res {
				if r.Document != d || r.Status != Valid {
					t.Fatalf("document %d: %s, failed %q: %v", r.Document, r.Status, r.Failed, r.Err)
				}
				if !slices.Equal(r.Modified, tt.modified[d]) || (len(tt.modified[d]) > 0) != errors.Is(r.ModifiedErr, ErrModified) {
					t.Errorf("document %d: modified %q (%v), want %q", d, r.Modified, r.ModifiedErr, tt.modified[d])
				}
				if len(r.CoveredLater) > 0 {
					t.Errorf("document %d: covered later %q", d, r.CoveredLater)
				}
			}
		})
	}
}

// TestVerifyTimeStamp: a seal's SES_Signature timeStamp is checked (GB/T
// 38540 §7.3 h): a token, over the signature value, verifying with the
// TSA certificate it carries, not earlier than the claimed signing time. A
// problem fails the "timestamp" check, never the signature's integrity.
func TestVerifyTimeStamp(t *testing.T) {
	t.Parallel()
	sm2K, _ := testKeys(t)
	tsa := testpki.TSA(t, "sealpipe test TSA", nil)
	seal5, err := ses.ParseSeal(testenv.ConformanceFile(t, "ses", "UserV5_ts.esl"))
	if err != nil {
		t.Fatal(err)
	}
	token := func(at time.Time, o testpki.TokenOptions) func([]byte) []byte {
		return func(sigValue []byte) []byte {
			sum := sm3.Sum(sigValue)
			return testpki.TimeStampToken(t, tsa, sum[:], at, o)
		}
	}
	tests := []struct {
		name  string
		stamp func(sigValue []byte) []byte
		err   error // wrapped by TimeStampErr
		token bool  // TimeStamp is set
	}{
		{"none", nil, nil, false},
		{"valid", token(handTime.Add(3*time.Second), testpki.TokenOptions{}), nil, true},
		{"genTime within the tolerance", token(handTime.Add(-2*time.Minute), testpki.TokenOptions{}), nil, true},
		{"genTime an hour early", token(handTime.Add(-time.Hour), testpki.TokenOptions{}), ErrTimeStampTime, true},
		{"ofdrw's 6-byte placeholder", func([]byte) []byte { return seal5.TimeStamp }, ses.ErrTimeStamp, false},
		{"garbage", func([]byte) []byte { return []byte{0x30, 0x03, 0x02, 0x01, 0x01} }, ses.ErrTimeStamp, false},
		{"over other data", func([]byte) []byte {
			sum := sm3.Sum([]byte("another signature"))
			return testpki.TimeStampToken(t, tsa, sum[:], handTime, testpki.TokenOptions{})
		}, ses.ErrTimeStampMismatch, true},
		{"TSA signature broken", func(v []byte) []byte {
			tok := token(handTime, testpki.TokenOptions{})(v)
			return flip(tok, len(tok)-1)
		}, ses.ErrSignature, true},
		{"no TSA certificate", token(handTime, testpki.TokenOptions{OmitCertificate: true}), ses.ErrTimeStampSigner, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parts := oneDocParts(t)
			sig := handSig{key: sm2K, dir: "Doc_0/Signs/Sign_0", sealFile: sm2K.esl, timeStamp: tt.stamp,
				protect: []string{"OFD.xml", "Doc_0/Document.xml", "Doc_0/Pages/Page_0/Content.xml"}}.write(t, parts)
			parts["Doc_0/Signs/Signatures.xml"] = signatureList(sig)
			res, err := Verify(context.Background(), zipParts(t, parts))
			if err != nil || len(res) != 1 {
				t.Fatal(res, err)
			}
			r := res[0]
			if r.Status != Valid || r.ValueErr != nil {
				t.Fatalf("integrity %s: %v", r.Status, r.Err)
			}
			if !errors.Is(r.TimeStampErr, tt.err) || (tt.err == nil) != (r.TimeStampErr == nil) {
				t.Fatalf("TimeStampErr %v, want %v", r.TimeStampErr, tt.err)
			}
			if (r.TimeStamp != nil) != tt.token {
				t.Errorf("TimeStamp %+v, want one: %v", r.TimeStamp, tt.token)
			}
			if tt.err != nil && (r.Failed != CheckTimeStamp || r.Err != r.TimeStampErr) {
				t.Errorf("failed %q: %v", r.Failed, r.Err)
			}
		})
	}
}
