package pdfseal

import (
	"bytes"
	"context"
	"encoding/asn1"
	"testing"

	"github.com/sealpipe/sealpipe/pipeline/tsa"
)

// localStamper stamps with a tsa.Authority in process, for seeds.
type localStamper struct{ a *tsa.Authority }

func (l localStamper) TimeStamp(_ context.Context, data []byte) ([]byte, error) {
	return l.a.Stamp(&tsa.Request{Hash: tsa.SHA256, HashedMessage: tsa.SHA256.Sum(data), CertReq: true})
}

// formatSeeds returns the /Contents and covered bytes of an SES_Signature
// (timestamped) and of a PAdES B-T CMS.
func formatSeeds(f *testing.F) (ses, sesCovered, pades, padesCovered []byte) {
	f.Helper()
	p := basePKI(f)
	in := conformance(f, "pdf/hello.pdf")
	o := options(f, p.sm2, 1)
	o.Format, o.SealData, o.TimeStamper = FormatSES, p.seal, localStamper{p.sm2TSA}
	_, ses, sesCovered = signedPartsTB(f, seal(f, in, o))
	o = options(f, p.ec, 1)
	o.Format, o.TimeStamper = FormatPAdESBT, localStamper{p.ecTSA}
	_, pades, padesCovered = signedPartsTB(f, seal(f, in, o))
	return
}

// FuzzVerifySES: the SES_Signature path of Verify takes any /Contents
// without a panic, and finds nothing Valid over other covered bytes.
func FuzzVerifySES(f *testing.F) {
	s, covered, pades, _ := formatSeeds(f)
	f.Add(s, false)
	f.Add(pades, false)
	f.Add(s, true)
	f.Fuzz(func(t *testing.T, contents []byte, other bool) {
		data := covered
		if other {
			data = append(covered[:len(covered):len(covered)], 0)
		}
		var r Result
		verifySES(&r, contents, covers(data))
		if other && r.Status == Valid {
			t.Fatal("an SES_Signature verified over other bytes")
		}
	})
}

// FuzzVerifyCAdES: the CMS path of Verify with ESS and timestamp checks.
func FuzzVerifyCAdES(f *testing.F) {
	_, _, pades, covered := formatSeeds(f)
	f.Add(pades, false)
	f.Add(pades, true)
	f.Fuzz(func(t *testing.T, contents []byte, other bool) {
		data := covered
		if other {
			data = append(covered[:len(covered):len(covered)], 0)
		}
		r := Result{SubFilter: SubFilterCAdES}
		verifyCMS(&r, contents, covers(data))
		if other && r.Status == Valid {
			t.Fatal("a CMS verified over other bytes")
		}
	})
}

// signedPartsTB is signedParts for a fuzz target's setup: the last
// signature's ByteRange, DER /Contents and covered bytes.
func signedPartsTB(tb testing.TB, pdf []byte) (br [4]int64, contents, covered []byte) {
	tb.Helper()
	results, err := Verify(context.Background(), pdf)
	if err != nil || len(results) == 0 {
		tb.Fatalf("Verify: %v", err)
	}
	br = results[len(results)-1].ByteRange
	der, err := decodeHex(pdf[br[1]+1 : br[2]-1])
	if err != nil {
		tb.Fatal(err)
	}
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(der, &raw); err != nil {
		tb.Fatal(err)
	}
	covered = append(bytes.Clone(pdf[:br[1]]), pdf[br[2]:br[2]+br[3]]...)
	return br, raw.FullBytes, covered
}
