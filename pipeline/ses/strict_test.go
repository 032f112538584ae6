package ses

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// The GB/T 38540 version 4 structures as encoding/asn1 types. encoding/asn1
// is a strict DER decoder (minimal lengths and integers, BOOLEAN 0x00/0xff,
// no trailing data), so what MakeSeal and Sign produce must decode into
// these and marshal back byte for byte.
type (
	strictHeader struct {
		ID      string `asn1:"ia5"`
		Version int
		Vid     string `asn1:"ia5"`
	}
	strictProperty struct {
		Type         int
		Name         string `asn1:"utf8"`
		CertListType int
		CertList     [][]byte
		CreateDate   time.Time `asn1:"generalized"`
		ValidStart   time.Time `asn1:"generalized"`
		ValidEnd     time.Time `asn1:"generalized"`
	}
	strictPicture struct {
		Type   string `asn1:"ia5"`
		Data   []byte
		Width  int
		Height int
	}
	strictExtData struct {
		ID       asn1.ObjectIdentifier
		Critical bool `asn1:"optional"` // DEFAULT FALSE: absent when false
		Value    []byte
	}
	strictSealInfo struct {
		Header   strictHeader
		ESID     string `asn1:"ia5"`
		Property strictProperty
		Picture  strictPicture
		ExtDatas []strictExtData `asn1:"optional"`
	}
	strictSeal struct {
		Info      strictSealInfo
		Cert      []byte
		Algorithm asn1.ObjectIdentifier
		Signature asn1.BitString
	}
	strictTBSSign struct {
		Version      int
		ESeal        strictSeal
		TimeInfo     time.Time `asn1:"generalized"`
		DataHash     asn1.BitString
		PropertyInfo string          `asn1:"ia5"`
		ExtDatas     []strictExtData `asn1:"optional,explicit,tag:0"`
	}
	strictSignature struct {
		ToSign    strictTBSSign
		Cert      []byte
		Algorithm asn1.ObjectIdentifier
		Signature asn1.BitString
	}
	// strictSigValue is SM2Signature (GM/T 0009) and ECDSA-Sig-Value
	// (RFC 5480): SEQUENCE { r INTEGER, s INTEGER }.
	strictSigValue struct{ R, S *big.Int }
)

// strictRoundTrip decodes der into v, a pointer, with encoding/asn1 and requires the
// re-encoding to be identical.
func strictRoundTrip(t *testing.T, what string, der []byte, v any) {
	t.Helper()
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		t.Fatalf("%s is not strict DER: %v", what, err)
	}
	if len(rest) > 0 {
		t.Fatalf("%s: %d byte(s) after the structure", what, len(rest))
	}
	again, err := asn1.Marshal(reflect.ValueOf(v).Elem().Interface())
	if err != nil {
		t.Fatalf("%s: re-encoding: %v", what, err)
	}
	if !bytes.Equal(again, der) {
		t.Fatalf("%s does not re-encode byte for byte:\n got % x\nwant % x", what, again, der)
	}
}

// produced returns seals and signatures as MakeSeal and Sign make them,
// with and without extensions, SM2 and P-256 makers, several times over so
// that r and s of every length and sign are met.
func produced(t *testing.T) map[string][2][]byte {
	t.Helper()
	out := map[string][2][]byte{}
	signer := testIdentity(t, "sm2", "signer")
	for _, kind := range []string{"sm2", "p256"} {
		maker := testIdentity(t, kind, "maker")
		for i := range 8 {
			req := sealRequest(signer)
			if i%2 == 1 {
				req.Extensions = []Extension{
					{ID: []int{1, 2, 156, 10197, 6, 7, 2, 2, 1}, Value: []byte("2.1")},
					{ID: []int{1, 2, 3, 4}, Critical: true, Value: []byte{0}},
				}
			}
			esl, err := MakeSeal(rand.Reader, req, maker.key, maker.cert)
			if err != nil {
				t.Fatal(err)
			}
			sreq := signRequest(esl)
			if i%2 == 1 {
				sreq.Extensions = []Extension{{ID: []int{1, 2, 3, 5}, Value: []byte("x")}}
			}
			sig, err := Sign(rand.Reader, sreq, signer.key, signer.cert)
			if err != nil {
				t.Fatal(err)
			}
			out[kind+"-"+string(rune('0'+i))] = [2][]byte{esl, sig}
		}
	}
	return out
}

// TestStrictDER checks that everything this package makes is strict DER
// (X.690 §10), parts included: the signature values inside are DER
// SEQUENCE{r, s}, not raw r||s.
func TestStrictDER(t *testing.T) {
	t.Parallel()
	for name, p := range produced(t) {
		esl, sig := p[0], p[1]
		var seal strictSeal
		strictRoundTrip(t, name+" SESeal", esl, &seal)
		strictRoundTrip(t, name+" SESeal signature value", seal.Signature.Bytes, &strictSigValue{})
		if seal.Signature.BitLength%8 != 0 {
			t.Errorf("%s: SESeal signature of %d bits", name, seal.Signature.BitLength)
		}
		var s strictSignature
		strictRoundTrip(t, name+" SES_Signature", sig, &s)
		strictRoundTrip(t, name+" SES_Signature signature value", s.Signature.Bytes, &strictSigValue{})
		if s.ToSign.Version != 4 || s.ToSign.ESeal.Info.Header.Version != 4 {
			t.Errorf("%s: versions %d and %d, want 4", name, s.ToSign.Version, s.ToSign.ESeal.Info.Header.Version)
		}
	}
}

// TestStrictDERBites checks that the round trip of TestStrictDER catches
// the deviations of other producers this package accepts (see the package
// documentation).
func TestStrictDERBites(t *testing.T) {
	t.Parallel()
	maker := testIdentity(t, "sm2", "maker")
	signer := testIdentity(t, "sm2", "signer")
	oid, _ := derOID([]int{1, 2, 3})
	for name, edit := range map[string]func(*sealParts){
		"explicit critical FALSE": func(p *sealParts) {
			p.ext = tlv(tagSequence, tlv(tagSequence, oid, []byte{tagBoolean, 1, 0}, derOctets(nil)))
		},
		"GeneralizedTime without Z": func(p *sealParts) { p.property[4] = derString(tagGeneralizedTime, "20220318213217") },
		"non-minimal INTEGER":       func(p *sealParts) { p.header[1] = []byte{tagInteger, 2, 0, 4} },
		"non-minimal length":        func(p *sealParts) { p.esID = []byte{tagIA5String, 0x81, 0x02, 'i', 'd'} },
	} {
		p := v4Parts(signer)
		edit(p)
		der := p.v4Seal(t, maker)
		var seal strictSeal
		if _, err := asn1.Unmarshal(der, &seal); err == nil {
			if again, _ := asn1.Marshal(seal); bytes.Equal(again, der) {
				t.Errorf("%s passes the strict DER round trip", name)
			}
		}
	}
}

// TestOpenSSLASN1Parse has OpenSSL's own ASN.1 parser read what we make:
// every element must decode, and the outermost must span the whole file.
// (`openssl asn1parse` has no strict-DER switch; TestStrictDER checks
// DER itself.)
func TestOpenSSLASN1Parse(t *testing.T) {
	t.Parallel()
	openssl := testenv.Tool(t, "openssl")
	dir := t.TempDir()
	p := produced(t)["sm2-1"]
	for i, der := range p {
		file := filepath.Join(dir, []string{"seal.esl", "SignedValue.dat"}[i])
		if err := os.WriteFile(file, der, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(openssl, "asn1parse", "-inform", "DER", "-in", file, "-i").CombinedOutput()
		if err != nil || bytes.Contains(out, []byte("rror")) {
			t.Fatalf("openssl asn1parse %s: %v\n%s", file, err, out)
		}
		// The first line reads "0:d=0  hl=H l=L cons: SEQUENCE".
		first, _, _ := bytes.Cut(out, []byte("\n"))
		m := regexp.MustCompile(`^\s*0:d=0\s+hl=\s*(\d+)\s+l=\s*(\d+)\s+cons: SEQUENCE`).FindSubmatch(first)
		if m == nil {
			t.Fatalf("openssl asn1parse %s: first line %q", file, first)
		}
		hl, _ := strconv.Atoi(string(m[1]))
		l, _ := strconv.Atoi(string(m[2]))
		if hl+l != len(der) {
			t.Errorf("openssl asn1parse %s: outermost element %q does not span the %d bytes", file, first, len(der))
		}
	}
}
