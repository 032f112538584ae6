package ses

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// sealParts holds the raw encodings of a seal's components so a test can
// swap one for the non-DER form some producer writes, sign the result over
// those exact bytes, and check that it decodes and verifies.
type sealParts struct {
	header   [][]byte // ID, version, Vid
	esID     []byte
	property [][]byte // type, name, certListType, certList, createDate, validStart, validEnd
	picture  [][]byte // type, data, width, height
	ext      []byte   // whole ExtensionDatas, nil for none
}

func v4Parts(signer identity) *sealParts {
	return &sealParts{
		header: [][]byte{derString(tagIA5String, "ES"), derInt(4), derString(tagIA5String, "TEST")},
		esID:   derString(tagIA5String, "seal-1"),
		property: [][]byte{
			derInt(TypeUnit), derString(tagUTF8String, "测试章"), derInt(CertListCerts),
			tlv(tagSequence, derOctets(signer.cert)),
			derGeneralizedTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
			derGeneralizedTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
			derGeneralizedTime(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)),
		},
		picture: [][]byte{derString(tagIA5String, "PNG"), derOctets([]byte("img")), derInt(40), derInt(40)},
	}
}

func (p *sealParts) info() []byte {
	parts := [][]byte{tlv(tagSequence, p.header...), p.esID, tlv(tagSequence, p.property...), tlv(tagSequence, p.picture...)}
	if p.ext != nil {
		parts = append(parts, p.ext)
	}
	return tlv(tagSequence, parts...)
}

// v4Seal signs the parts' SES_SealInfo bytes as they are (GB/T 38540 layout).
func (p *sealParts) v4Seal(t testing.TB, maker identity) []byte {
	t.Helper()
	info := p.info()
	sig, alg, err := signMessage(rand.Reader, maker.key, info)
	if err != nil {
		t.Fatal(err)
	}
	algDER, _ := derOID(alg)
	return tlv(tagSequence, info, derOctets(maker.cert), algDER, derBits(sig))
}

// legacySeal builds a GM/T 0031-2014 version 1 seal: no certListType,
// UTCTime, and SES_SignInfo signed over SEQUENCE{SES_SealInfo, cert, alg}.
func legacySeal(t testing.TB, maker, signer identity) []byte {
	t.Helper()
	p := v4Parts(signer)
	p.header[1] = derInt(1)
	p.property = [][]byte{
		derInt(TypePersonal), derString(tagUTF8String, "旧章"),
		tlv(tagSequence, derOctets(signer.cert)),
		derString(tagUTCTime, "200422021807Z"), derString(tagUTCTime, "200422021807Z"), derString(tagUTCTime, "300422021807Z"),
	}
	info := p.info()
	algDER, _ := derOID(OIDSM2WithSM3)
	cert := derOctets(maker.cert)
	sig, _, err := signMessage(rand.Reader, maker.key, tlv(tagSequence, info, cert, algDER))
	if err != nil {
		t.Fatal(err)
	}
	return tlv(tagSequence, info, tlv(tagSequence, cert, algDER, derBits(sig)))
}

func TestLenientSeal(t *testing.T) {
	t.Parallel()
	maker := testIdentity(t, "sm2", "maker")
	signer := testIdentity(t, "sm2", "signer")
	other := testIdentity(t, "sm2", "other")
	certSM3 := sm3.Sum(signer.cert)
	certSHA256 := sha256.Sum256(signer.cert)
	certSHA1 := sha1.Sum(signer.cert)
	digests := func(entries ...[]byte) func(*sealParts) {
		return func(p *sealParts) {
			p.property[2] = derInt(CertListDigests)
			p.property[3] = tlv(tagSequence, entries...)
		}
	}
	digest := func(name string, v []byte) []byte {
		return tlv(tagSequence, derString(tagPrintableString, name), derOctets(v))
	}
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	ext := func(crit []byte) []byte {
		oid, _ := derOID([]int{1, 2, 156, 10197, 6, 7, 2, 2, 1})
		return tlv(tagSequence, tlv(tagSequence, oid, crit, derOctets([]byte("2.1"))))
	}

	tests := []struct {
		name  string
		edit  func(*sealParts)
		check func(*Seal) bool
	}{
		{"GeneralizedTime without Z",
			func(p *sealParts) { p.property[4] = derString(tagGeneralizedTime, "20220318213217") },
			func(s *Seal) bool { return s.CreateDate.Equal(utc(2022, 3, 18, 21, 32, 17, 0)) }},
		{"two-digit year in a GeneralizedTime tag",
			func(p *sealParts) { p.property[6] = derString(tagGeneralizedTime, "220725214639Z") },
			func(s *Seal) bool { return s.ValidEnd.Equal(utc(2022, 7, 25, 21, 46, 39, 0)) }},
		{"GeneralizedTime with fraction and offset",
			func(p *sealParts) { p.property[4] = derString(tagGeneralizedTime, "20220318213217.25+0800") },
			func(s *Seal) bool { return s.CreateDate.Equal(utc(2022, 3, 18, 13, 32, 17, 250e6)) }},
		{"UTCTime in a version 4 seal",
			func(p *sealParts) { p.property[5] = derString(tagUTCTime, "991231235959Z") },
			func(s *Seal) bool { return s.ValidStart.Equal(utc(1999, 12, 31, 23, 59, 59, 0)) }},
		{"explicit critical FALSE",
			func(p *sealParts) { p.ext = ext([]byte{tagBoolean, 1, 0}) },
			func(s *Seal) bool {
				return len(s.Extensions) == 1 && !s.Extensions[0].Critical && string(s.Extensions[0].Value) == "2.1"
			}},
		{"critical TRUE written as 0x01",
			func(p *sealParts) { p.ext = ext([]byte{tagBoolean, 1, 1}) },
			func(s *Seal) bool { return len(s.Extensions) == 1 && s.Extensions[0].Critical }},
		{"NUL bytes in the name",
			func(p *sealParts) { p.property[1] = derString(tagUTF8String, "测试\x00章\x00\x00") },
			func(s *Seal) bool { return s.Name == "测试章" }},
		{"seal type 7",
			func(p *sealParts) { p.property[0] = derInt(7) },
			func(s *Seal) bool { return s.Type == 7 }},
		{"picture type ofd",
			func(p *sealParts) { p.picture[0] = derString(tagIA5String, "ofd") },
			func(s *Seal) bool { return s.Picture.Type == "ofd" }},
		{"unknown certListType 3",
			func(p *sealParts) { p.property[2] = derInt(3) },
			func(s *Seal) bool { return s.CertListType == 3 && s.HasSigner(signer.cert) }},
		{"certList entry that is IA5String",
			func(p *sealParts) {
				p.property[3] = tlv(tagSequence, derString(tagIA5String, "1"), derOctets(signer.cert))
			},
			func(s *Seal) bool { return len(s.Certs) == 1 && s.HasSigner(signer.cert) }},
		{"certificate without its OCTET STRING wrapper",
			func(p *sealParts) { p.property[3] = tlv(tagSequence, signer.cert) },
			func(s *Seal) bool { return len(s.Certs) == 1 && s.HasSigner(signer.cert) }},
		{"certDigestList sm3",
			digests(digest("sm3", certSM3[:])),
			func(s *Seal) bool { return len(s.Certs) == 0 && s.HasSigner(signer.cert) && !s.HasSigner(other.cert) }},
		{"certDigestList SM3 as OID text",
			digests(digest("1.2.156.10197.1.401", certSM3[:])),
			func(s *Seal) bool { return s.HasSigner(signer.cert) && !s.HasSigner(other.cert) }},
		{"certDigestList SHA-256 and sha1",
			digests(digest("SHA-256", certSHA256[:]), digest("sha1", certSHA1[:])),
			func(s *Seal) bool {
				return len(s.CertDigests) == 2 && s.HasSigner(signer.cert) && !s.HasSigner(other.cert)
			}},
		{"certDigestList with an unknown hash",
			digests(digest("md5", certSM3[:16])),
			func(s *Seal) bool { return len(s.CertDigests) == 1 && !s.HasSigner(signer.cert) }},
		{"certDigestList with the wrong hash",
			digests(digest("SM3", certSHA256[:])),
			func(s *Seal) bool { return !s.HasSigner(signer.cert) }},
		{"non-minimal length",
			func(p *sealParts) { p.esID = []byte{tagIA5String, 0x81, 0x02, 'i', 'd'} },
			func(s *Seal) bool { return s.ID == "id" }},
		{"non-minimal INTEGER",
			func(p *sealParts) { p.header[1] = []byte{tagInteger, 2, 0, 4} },
			func(s *Seal) bool { return s.Version == 4 }},
		{"unknown trailing elements",
			func(p *sealParts) {
				p.property = append(p.property, derInt(99))
				p.picture = append(p.picture, derOctets(nil))
			},
			func(s *Seal) bool { return s.Picture.HeightMM == 40 && s.ValidEnd.Year() == 2027 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := v4Parts(signer)
			tt.edit(p)
			esl := p.v4Seal(t, maker)
			s, err := ParseSeal(esl)
			if err != nil {
				t.Fatalf("ParseSeal: %v", err)
			}
			if !tt.check(s) {
				t.Errorf("decoded wrongly: %+v", *s)
			}
			// Signed over the non-DER bytes: verifies only if nothing was
			// re-encoded.
			if _, err := s.VerifyMaker(); err != nil {
				t.Errorf("VerifyMaker: %v", err)
			}
		})
	}
}

func TestLegacySeal(t *testing.T) {
	t.Parallel()
	maker := testIdentity(t, "sm2", "maker")
	signer := testIdentity(t, "sm2", "signer")
	esl := legacySeal(t, maker, signer)
	s, err := ParseSeal(esl)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 1 || s.Type != TypePersonal || s.CertListType != CertListCerts || !s.HasSigner(signer.cert) ||
		!s.ValidEnd.Equal(time.Date(2030, 4, 22, 2, 18, 7, 0, time.UTC)) || !bytes.Equal(s.MakerCert, maker.cert) {
		t.Errorf("decoded wrongly: %+v", *s)
	}
	if _, err := s.VerifyMaker(); err != nil {
		t.Errorf("VerifyMaker: %v", err)
	}
	// GM/T 0031-2014 §7.2: the certificate and algorithm are signed too.
	if !bytes.Contains(s.SignedData(), maker.cert) {
		t.Errorf("signed data does not cover the maker certificate")
	}
}

// TestLegacySignature builds a GM/T 0031-2014 SES_Signature with free-form
// timeInfo and checks decoding and verification over TBS_Sign.
func TestLegacySignature(t *testing.T) {
	t.Parallel()
	maker := testIdentity(t, "sm2", "maker")
	signer := testIdentity(t, "sm2", "signer")
	esl := legacySeal(t, maker, signer)
	algDER, _ := derOID(OIDSM2WithSM3)
	for _, tt := range []struct {
		timeInfo []byte
		want     time.Time
	}{
		{derBits([]byte("2020-01-25T07:31:56.377Z")), time.Date(2020, 1, 25, 7, 31, 56, 377e6, time.UTC)},
		{derBits([]byte("2020-01-25 07:31:56")), time.Date(2020, 1, 25, 7, 31, 56, 0, time.UTC)},
		{derBits([]byte("20200125073156Z")), time.Date(2020, 1, 25, 7, 31, 56, 0, time.UTC)},
		{derBits([]byte("yesterday")), time.Time{}},
		{derString(tagUTCTime, "200125073156Z"), time.Date(2020, 1, 25, 7, 31, 56, 0, time.UTC)},
	} {
		tbs := tlv(tagSequence, derInt(1), esl, tt.timeInfo, derBits(make([]byte, 32)),
			derString(tagIA5String, "/Doc_0/Signs/Sign_0/Signature.xml"), derOctets(signer.cert), algDER)
		sig, _, err := signMessage(rand.Reader, signer.key, tbs)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseSignature(tlv(tagSequence, tbs, derBits(sig)))
		if err != nil {
			t.Fatalf("timeInfo % x: %v", tt.timeInfo, err)
		}
		if s.Version != 1 || !s.TimeInfo.Equal(tt.want) || !bytes.Equal(s.Cert, signer.cert) || !s.Seal.HasSigner(s.Cert) {
			t.Errorf("timeInfo % x: decoded Version %d TimeInfo %s", tt.timeInfo, s.Version, s.TimeInfo)
		}
		if _, err := s.Verify(); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
}

// TestSignatureTimeStamp appends a timeStamp to a GB/T 38540 signature: it
// is decoded, and is outside the signed bytes.
func TestSignatureTimeStamp(t *testing.T) {
	t.Parallel()
	signer := testIdentity(t, "sm2", "signer")
	der, err := Sign(rand.Reader, signRequest(makeTestSeal(t, signer)), signer.key, signer.cert)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	inner := newReader("", der)
	seq, _ := inner.expect("", tagSequence)
	for _, ts := range [][]byte{tlv(tagContext0, derBits([]byte("token"))), tlv(tagContext0Prim, []byte{0}, []byte("token"))} {
		s, err := ParseSignature(tlv(tagSequence, seq.body, ts))
		if err != nil {
			t.Fatal(err)
		}
		if string(s.TimeStamp) != "token" || !bytes.Equal(s.SignedData(), orig.SignedData()) {
			t.Errorf("TimeStamp = %q", s.TimeStamp)
		}
		if _, err := s.Verify(); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	maker := testIdentity(t, "sm2", "maker")
	signer := testIdentity(t, "sm2", "signer")
	good := v4Parts(signer).v4Seal(t, maker)
	with := func(edit func(*sealParts)) []byte {
		p := v4Parts(signer)
		edit(p)
		return p.v4Seal(t, maker)
	}
	tests := []struct {
		name      string
		der       []byte
		wantField string
	}{
		{"empty", nil, ""},
		{"lone identifier", []byte{0x30}, ""},
		{"SET instead of SEQUENCE", append([]byte{0x31}, good[1:]...), ""},
		{"indefinite length", []byte{0x30, 0x80, 0, 0}, ""},
		{"length beyond the input", []byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff}, ""},
		{"five-byte length", []byte{0x30, 0x85, 0, 0, 0, 0, 1, 0}, ""},
		{"high tag number", []byte{0x1f, 0x81, 0x00, 0x00}, ""},
		{"trailing data", append(bytes.Clone(good), 0), ""},
		{"file identifier EZ", with(func(p *sealParts) { p.header[0] = derString(tagIA5String, "EZ") }), "eSealInfo.header.ID"},
		{"version too big", with(func(p *sealParts) { p.header[1] = tlv(tagInteger, bytes.Repeat([]byte{1}, 9)) }), "eSealInfo.header.version"},
		{"month 13", with(func(p *sealParts) { p.property[6] = derString(tagGeneralizedTime, "20271301000000Z") }), "eSealInfo.property.validEnd"},
		{"time of 8 digits", with(func(p *sealParts) { p.property[5] = derString(tagGeneralizedTime, "20270101") }), "eSealInfo.property.validStart"},
		{"empty picture", with(func(p *sealParts) { p.picture = nil }), "eSealInfo.picture.type"},
		{"digest entry without value", with(func(p *sealParts) {
			p.property[2] = derInt(CertListDigests)
			p.property[3] = tlv(tagSequence, tlv(tagSequence, derString(tagPrintableString, "sm3")))
		}), "eSealInfo.property.certList[0].value"},
		{"extension without value", with(func(p *sealParts) {
			oid, _ := derOID([]int{1, 2, 3})
			p.ext = tlv(tagSequence, tlv(tagSequence, oid))
		}), "eSealInfo.extDatas[0].extnValue"},
		{"too large", make([]byte, MaxSize+1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseSeal(tt.der)
			var pe *ParseError
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) {
				t.Fatalf("ParseSeal = %v, want a *ParseError wrapping ErrMalformed", err)
			}
			if pe.Field != tt.wantField {
				t.Errorf("Field = %q, want %q (%v)", pe.Field, tt.wantField, err)
			}
			if pe.Offset < 0 || pe.Offset > len(tt.der) || !strings.HasPrefix(err.Error(), "ses: malformed SESeal") {
				t.Errorf("error %q: offset %d outside the %d-byte input", err, pe.Offset, len(tt.der))
			}
			if _, err := ParseSignature(tt.der); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseSignature = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestTruncated cuts a seal and a signature at every length: each prefix
// must be refused with ErrMalformed.
func TestTruncated(t *testing.T) {
	t.Parallel()
	signer := testIdentity(t, "sm2", "signer")
	esl := makeTestSeal(t, signer)
	sig, err := Sign(rand.Reader, signRequest(esl), signer.key, signer.cert)
	if err != nil {
		t.Fatal(err)
	}
	for i := range esl {
		if _, err := ParseSeal(esl[:i]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("seal cut at %d/%d: %v", i, len(esl), err)
		}
	}
	for i := range sig {
		if _, err := ParseSignature(sig[:i]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("signature cut at %d/%d: %v", i, len(sig), err)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time // zero: rejected
	}{
		{"20200422020900Z", time.Date(2020, 4, 22, 2, 9, 0, 0, time.UTC)},
		{"20220318213217", time.Date(2022, 3, 18, 21, 32, 17, 0, time.UTC)},
		{"220725214639Z", time.Date(2022, 7, 25, 21, 46, 39, 0, time.UTC)},
		{"991231235959Z", time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"4912312359Z", time.Date(2049, 12, 31, 23, 59, 0, 0, time.UTC)},
		{"20200101000000.123456789Z", time.Date(2020, 1, 1, 0, 0, 0, 123456789, time.UTC)},
		{"20200101080000+0800", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"200101000000-0130", time.Date(2020, 1, 1, 1, 30, 0, 0, time.UTC)},
		{"", time.Time{}},
		{"Z", time.Time{}},
		{"20200230000000Z", time.Time{}},
		{"20200101250000Z", time.Time{}},
		{"2020010100000Z", time.Time{}},
		{"2020-01-01T00:00:00Z", time.Time{}},
		{"20200101000000.Z", time.Time{}},
		{"200101000000.5Z", time.Time{}},
		{"20200101000000+2400", time.Time{}},
		{"2020010100000a", time.Time{}},
	}
	for _, tt := range tests {
		got, ok := parseTime(tt.in)
		if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
			t.Errorf("parseTime(%q) = %s, %v; want %s", tt.in, got, ok, tt.want)
		}
	}
}

func TestDERRoundTrip(t *testing.T) {
	t.Parallel()
	for _, v := range []int64{0, 1, 127, 128, 255, 256, -1, -128, -129, 1 << 40, -1 << 62} {
		r := newReader("", derInt(v))
		got, err := r.integer("")
		if err != nil || got != v {
			t.Errorf("derInt(%d) reads back as %d, %v", v, got, err)
		}
	}
	for _, id := range [][]int{{1, 2, 156, 10197, 1, 501}, {2, 999, 3}, {0, 39}, {1, 3, 6, 1, 4, 1, 54706, 1}} {
		der, err := derOID(id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := newReader("", der).oid("")
		if err != nil || !got.Equal(id) {
			t.Errorf("derOID(%v) reads back as %v, %v", id, got, err)
		}
	}
	for _, n := range []int{0, 127, 128, 255, 256, 65535, 65536, 1 << 24} {
		b := tlv(tagOctetString, make([]byte, n))
		got, err := newReader("", b).octets("")
		if err != nil || len(got) != n {
			t.Errorf("OCTET STRING of %d bytes reads back as %d, %v", n, len(got), err)
		}
	}
}

// TestLenientSignature covers the producer quirks at the level of
// SES_Signature (GB/T 38540 §7.1): each signature is made over the
// deviating bytes and must decode and verify as found.
func TestLenientSignature(t *testing.T) {
	t.Parallel()
	signer := testIdentity(t, "sm2", "signer")
	esl := makeTestSeal(t, signer)
	hash := make([]byte, 32)
	oid, _ := derOID([]int{1, 2, 156, 10197, 6, 7, 2, 2, 1})
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	// rs splits a DER SEQUENCE{r, s} into the INTEGERs' contents.
	rs := func(der []byte) (r, s []byte) {
		rd := newReader("", der)
		seq, _ := rd.expect("", tagSequence)
		sr := rd.enter(seq, "")
		re, _ := sr.expect("", tagInteger)
		se, _ := sr.expect("", tagInteger)
		return re.body, se.body
	}
	fixed := func(b []byte) []byte {
		b = bytes.TrimLeft(b, "\x00")
		return append(make([]byte, 32-len(b)), b...)
	}
	asDER := func(der []byte) []byte { return der }
	asRaw := func(der []byte) []byte { r, s := rs(der); return append(fixed(r), fixed(s)...) }
	// asUnsigned drops the 0x00 sign octets, so r or s decodes as
	// negative; nil when neither has one (sign again).
	asUnsigned := func(der []byte) []byte {
		r, s := rs(der)
		if r[0] != 0 && s[0] != 0 {
			return nil
		}
		return tlv(tagSequence, tlv(tagInteger, bytes.TrimLeft(r, "\x00")), tlv(tagInteger, bytes.TrimLeft(s, "\x00")))
	}
	build := func(timeInfo, ext []byte, form func([]byte) []byte) []byte {
		parts := [][]byte{derInt(4), esl, timeInfo, derBits(hash), derString(tagIA5String, "1")}
		if ext != nil {
			parts = append(parts, tlv(tagContext0, ext))
		}
		tbs := tlv(tagSequence, parts...)
		for {
			sig, alg, err := signMessage(rand.Reader, signer.key, tbs)
			if err != nil {
				t.Fatal(err)
			}
			if v := form(sig); v != nil {
				algDER, _ := derOID(alg)
				return tlv(tagSequence, tbs, derOctets(signer.cert), algDER, derBits(v))
			}
		}
	}
	gt := func(s string) []byte { return derString(tagGeneralizedTime, s) }
	tests := []struct {
		name string
		der  []byte
		want time.Time
	}{
		{"timeInfo without Z", build(gt("20220318213217"), nil, asDER), utc(2022, 3, 18, 21, 32, 17)},
		{"timeInfo with a two-digit year", build(gt("220725214639Z"), nil, asDER), utc(2022, 7, 25, 21, 46, 39)},
		{"signature as raw r||s", build(gt("20220318213217Z"), nil, asRaw), utc(2022, 3, 18, 21, 32, 17)},
		{"signature INTEGERs without sign octets", build(gt("20220318213217Z"), nil, asUnsigned), utc(2022, 3, 18, 21, 32, 17)},
		{"explicit critical FALSE in extDatas", build(gt("20220318213217Z"),
			tlv(tagSequence, tlv(tagSequence, oid, []byte{tagBoolean, 1, 0}, derOctets([]byte("x")))), asDER), utc(2022, 3, 18, 21, 32, 17)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSignature(tt.der)
			if err != nil {
				t.Fatalf("ParseSignature: %v", err)
			}
			if !s.TimeInfo.Equal(tt.want) || s.PropertyInfo != "1" {
				t.Errorf("TimeInfo %s, PropertyInfo %q; want %s, \"1\"", s.TimeInfo, s.PropertyInfo, tt.want)
			}
			if _, err := s.Verify(); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}
