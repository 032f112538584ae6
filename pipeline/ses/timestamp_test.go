package ses

import (
	"errors"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/internal/testpki"
)

// TestTimeStampToken: ParseTimeStampToken and Verify on a token made here
// (GB/T 35275 SignedData over an RFC 3161 TSTInfo) and on what is not one,
// ofdrw's 6-byte placeholder in UserV5_ts.esl among them: reported, never
// a panic.
func TestTimeStampToken(t *testing.T) {
	t.Parallel()
	tsa := testpki.TSA(t, "sealpipe test TSA", nil)
	data := []byte("signature value")
	sum := sm3.Sum(data)
	at := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
	good := testpki.TimeStampToken(t, tsa, sum[:], at, testpki.TokenOptions{})
	v5 := testenv.ConformanceFile(t, "ses", "UserV5_ts.esl")
	seal, err := ParseSeal(v5)
	if err != nil || len(seal.TimeStamp) == 0 {
		t.Fatalf("UserV5_ts.esl: %v, timeStamp %x", err, seal.TimeStamp)
	}
	tests := []struct {
		name     string
		token    []byte
		data     []byte
		parseErr error
		err      error
	}{
		{"valid", good, data, nil, nil},
		{"other data", good, []byte("another value"), nil, ErrTimeStampMismatch},
		{"signature broken", append(good[:len(good)-1:len(good)-1], good[len(good)-1]^1), data, nil, ErrSignature},
		{"no TSA certificate", testpki.TimeStampToken(t, tsa, sum[:], at, testpki.TokenOptions{OmitCertificate: true}), data, nil, ErrTimeStampSigner},
		{"UserV5_ts.esl placeholder", seal.TimeStamp, data, ErrTimeStamp, nil},
		{"empty", nil, data, ErrTimeStamp, nil},
		{"truncated", good[:len(good)/2], data, ErrTimeStamp, nil},
		{"a seal", v5, data, ErrTimeStamp, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := ParseTimeStampToken(tt.token)
			if !errors.Is(err, tt.parseErr) || (tt.parseErr == nil) != (err == nil) {
				t.Fatalf("parse: %v, want %v", err, tt.parseErr)
			}
			if err != nil {
				return
			}
			if !tok.GenTime.Equal(at) || tok.Signer == nil && tt.err != ErrTimeStampSigner {
				t.Errorf("genTime %s, signer %v", tok.GenTime, tok.Signer)
			}
			if err := tok.Verify(tt.data); !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("verify: %v, want %v", err, tt.err)
			}
		})
	}
}
