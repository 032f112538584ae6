package tsa

import (
	"bytes"
	"testing"
)

// fuzzSeeds are a request, a granted response with its token, and a
// rejection, made by the test authorities.
func fuzzSeeds(f *testing.F) (req, resp, token, rejection []byte) {
	f.Helper()
	p := keysOf(f)
	r, err := NewRequest(SHA256, []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	if req, err = r.Marshal(); err != nil {
		f.Fatal(err)
	}
	resp = authority(f, p.ecTSA).Respond(req)
	parsed, err := ParseResponse(resp)
	if err != nil {
		f.Fatal(err)
	}
	return req, resp, parsed.Token, authority(f, p.sm2TSA).Respond([]byte("bad"))
}

// FuzzParseResponse: any bytes give a response or ErrMalformed, never a
// panic; a response that parses re-encodes to one that parses alike.
func FuzzParseResponse(f *testing.F) {
	req, resp, token, rej := fuzzSeeds(f)
	for _, s := range [][]byte{req, resp, token, rej, {0x30, 0x03, 0x30, 0x01, 0x02}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err != nil {
			return
		}
		_ = r.Err()
		again, err := r.Marshal()
		if err != nil {
			return // a status string that does not re-encode as given
		}
		r2, err := ParseResponse(again)
		if err != nil || r2.Status != r.Status || r2.Fail != r.Fail || !bytes.Equal(r2.Token, r.Token) {
			t.Fatalf("re-encoded response %x parses as %+v (%v), was %+v", again, r2, err, r)
		}
	})
}

// FuzzParseToken: the TSTInfo reader and the token verifier take any
// bytes without a panic.
func FuzzParseToken(f *testing.F) {
	_, resp, token, _ := fuzzSeeds(f)
	f.Add(token)
	f.Add(resp)
	f.Fuzz(func(t *testing.T, b []byte) {
		if info, err := ParseToken(b); err == nil && info.SerialNumber == nil {
			t.Fatal("a token without a serial number parsed")
		}
		VerifyToken(b, []byte("seed"))
	})
}

// FuzzParseRequest: requests are the TSA's hostile input.
func FuzzParseRequest(f *testing.F) {
	req, _, _, _ := fuzzSeeds(f)
	f.Add(req)
	a := authority(f, keysOf(f).ecTSA)
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseRequest(b); err == nil && len(r.HashedMessage) != r.Hash.Size() {
			t.Fatalf("request with a %d-byte %s imprint", len(r.HashedMessage), r.Hash)
		}
		if _, err := ParseResponse(a.Respond(b)); err != nil {
			t.Fatalf("the authority's answer does not parse: %v", err)
		}
	})
}
