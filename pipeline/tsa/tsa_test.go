package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline/cms"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// testPKI is an SM2 root (as the development CA's) and an ECDSA P-256 root,
// each with TSA certificates for SM2, ECDSA and RSA keys.
type testPKI struct {
	sm2Root, ecRoot *testpki.Identity
	sm2TSA, ecTSA   *testpki.Identity // issued by sm2Root
	ecTSAUnderEC    *testpki.Identity // issued by ecRoot
}

var (
	pkiOnce sync.Once
	pki     testPKI
	rsaOnce sync.Once
	rsaTSA  *testpki.Identity // issued by pki.ecRoot; apart, since the fuzz targets do without it
)

// rsaIdentity returns an RSA TSA under the ECDSA root.
func rsaIdentity(t testing.TB) *testpki.Identity {
	p := keysOf(t)
	rsaOnce.Do(func() {
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		rsaTSA = tsaIdentity(t, "test RSA TSA", rk, p.ecRoot)
	})
	return rsaTSA
}

func root(t testing.TB, cn string, key crypto.Signer) *testpki.Identity {
	return &testpki.Identity{Key: key, Cert: testpki.Issue(t, &smx509.Certificate{
		Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}, key, nil)}
}

// tsaIdentity issues a TSA certificate for key under parent.
func tsaIdentity(t testing.TB, cn string, key crypto.Signer, parent *testpki.Identity) *testpki.Identity {
	return &testpki.Identity{Key: key, Cert: testpki.Issue(t, &smx509.Certificate{
		Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage:        smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		ExtraExtensions: []pkix.Extension{EKUExtension()},
	}, key, parent)}
}

func keysOf(t testing.TB) testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		ec := func() *ecdsa.PrivateKey {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		pki.sm2Root = root(t, "test SM2 root", testpki.NewKey(t))
		pki.ecRoot = root(t, "test ECDSA root", ec())
		pki.sm2TSA = tsaIdentity(t, "test SM2 TSA", testpki.NewKey(t), pki.sm2Root)
		pki.ecTSA = tsaIdentity(t, "test ECDSA TSA", ec(), pki.sm2Root)
		pki.ecTSAUnderEC = tsaIdentity(t, "test ECDSA TSA (ECDSA root)", ec(), pki.ecRoot)
	})
	return pki
}

func authority(t testing.TB, id *testpki.Identity, parents ...*testpki.Identity) *Authority {
	t.Helper()
	chain := []*smx509.Certificate{id.Cert}
	for _, p := range parents {
		chain = append(chain, p.Cert)
	}
	a, err := NewAuthority(id.Key, chain)
	if err != nil {
		t.Fatal(err)
	}
	a.Log = slog.New(slog.DiscardHandler)
	return a
}

// TestRoundTrip: a Client asks each authority, with each imprint hash,
// over HTTP; the token answers the request and verifies.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	p := keysOf(t)
	mux := &Mux{SM2: authority(t, p.sm2TSA), ECDSA: authority(t, p.ecTSA), RSA: authority(t, rsaIdentity(t))}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	data := []byte("a signature value")
	for _, path := range []string{"/", "/sm2", "/ecdsa", "/rsa"} {
		for _, h := range []Hash{SHA256, SHA384, SHA512, SM3} {
			t.Run(path+" "+h.String(), func(t *testing.T) {
				t.Parallel()
				c := &Client{URL: srv.URL + path, Hash: h}
				before := time.Now().Add(-time.Second)
				token, err := c.TimeStamp(context.Background(), data)
				if err != nil {
					t.Fatal(err)
				}
				info, err := ParseToken(token)
				if err != nil {
					t.Fatal(err)
				}
				if info.Hash != h || !bytes.Equal(info.HashedMessage, h.Sum(data)) || !info.Policy.Equal(DevPolicy) ||
					info.Nonce == nil || info.GenTime.Before(before.Truncate(time.Second)) || info.Accuracy != time.Second {
					t.Errorf("token info %+v", info)
				}
				tok, err := VerifyToken(token, data)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]*testpki.Identity{"/sm2": p.sm2TSA, "/ecdsa": p.ecTSA, "/rsa": rsaIdentity(t), "/": p.ecTSA}[path]
				if path == "/" && h == SM3 {
					want = p.sm2TSA
				}
				if tok.Signer == nil || !tok.Signer.Equal(want.Cert) {
					t.Errorf("token signed by %v, want %s", tok.Signer, want.Cert.Subject)
				}
				if _, err := VerifyToken(token, []byte("other data")); !errors.Is(err, ses.ErrTimeStampMismatch) {
					t.Errorf("VerifyToken over other data: %v", err)
				}
			})
		}
	}
}

// TestRejections: what the authority refuses, it answers with a rejection
// naming the failure; what is not the protocol gets an HTTP error.
func TestRejections(t *testing.T) {
	t.Parallel()
	p := keysOf(t)
	a := authority(t, p.ecTSA)
	good, err := NewRequest(SHA256, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	withPolicy := *good
	withPolicy.Policy = asn1.ObjectIdentifier{1, 2, 3}
	marshal := func(r *Request) []byte {
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	goodDER := marshal(good)
	md5Req := cms.Marshal(timeStampReq{Version: 1, MessageImprint: messageImprint{
		HashAlgorithm: algorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}}, HashedMessage: make([]byte, 16)}})
	for _, tc := range []struct {
		name  string
		query []byte
		fail  FailureInfo
	}{
		{"garbage", []byte("not DER"), FailBadDataFormat},
		{"trailing bytes", append(bytes.Clone(goodDER), 0), FailBadDataFormat},
		{"MD5 imprint", md5Req, FailBadAlg},
		{"short imprint", bytes.Replace(goodDER, []byte{0x04, 0x20}, []byte{0x04, 0x1f}, 1)[:len(goodDER)-1], FailBadDataFormat},
		{"other policy", marshal(&withPolicy), FailUnacceptedPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := ParseResponse(a.Respond(tc.query))
			if err != nil {
				t.Fatal(err)
			}
			var re *RejectedError
			if err := resp.Err(); !errors.As(err, &re) || re.Status != StatusRejection || re.Fail != tc.fail || len(resp.Token) > 0 {
				t.Errorf("response %+v (%v), want a rejection with %s", resp, err, tc.fail)
			}
		})
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	for _, tc := range []struct {
		method, ctype string
		want          int
	}{
		{http.MethodGet, "", http.StatusMethodNotAllowed},
		{http.MethodPost, "application/octet-stream", http.StatusUnsupportedMediaType},
		{http.MethodPost, QueryType, http.StatusOK},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL, bytes.NewReader(goodDER))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %s, want %d", tc.method, tc.ctype, resp.Status, tc.want)
		}
	}
}

// TestClientRefuses: the client takes no token that does not answer its
// request or does not verify, and no answer out of protocol.
func TestClientRefuses(t *testing.T) {
	t.Parallel()
	p := keysOf(t)
	a := authority(t, p.ecTSA)
	other, err := a.Stamp(&Request{Hash: SHA256, HashedMessage: SHA256.Sum([]byte("other")), CertReq: true})
	if err != nil {
		t.Fatal(err)
	}
	reply := func(f func(req *Request) []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var buf bytes.Buffer
			buf.ReadFrom(r.Body)
			req, err := ParseRequest(buf.Bytes())
			if err != nil {
				t.Error(err)
			}
			w.Header().Set("Content-Type", ReplyType)
			w.Write(f(req))
		}
	}
	granted := func(token []byte) []byte {
		b, err := (&Response{Status: StatusGranted, Fail: FailNone, Token: token}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    error
	}{
		{"token for other data", reply(func(*Request) []byte { return granted(other) }), ErrMismatch},
		{"another nonce", reply(func(req *Request) []byte {
			req.Nonce.Add(req.Nonce, bigOne)
			tok, _ := a.Stamp(req)
			return granted(tok)
		}), ErrMismatch},
		{"signature broken", reply(func(req *Request) []byte {
			tok, _ := a.Stamp(req)
			tok[len(tok)-3] ^= 1
			return granted(tok)
		}), ses.ErrSignature},
		{"no TSA certificate", reply(func(req *Request) []byte {
			req.CertReq = false
			tok, _ := a.Stamp(req)
			return granted(tok)
		}), ses.ErrTimeStampSigner},
		{"rejection", reply(func(*Request) []byte {
			b, _ := (&Response{Status: StatusRejection, Fail: FailBadAlg}).Marshal()
			return b
		}), ErrRejected},
		{"granted without a token", reply(func(*Request) []byte { return granted(nil) }), ErrMalformed},
		{"not DER", reply(func(*Request) []byte { return []byte("<html>") }), ErrMalformed},
		{"wrong media type", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) }, ErrTSA},
		{"HTTP 500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 500) }, ErrTSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			_, err := (&Client{URL: srv.URL}).TimeStamp(context.Background(), []byte("data"))
			if !errors.Is(err, tc.want) {
				t.Errorf("TimeStamp: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestNewAuthorityRefuses certificates that are no TSA's.
func TestNewAuthorityRefuses(t *testing.T) {
	t.Parallel()
	p := keysOf(t)
	k := testpki.NewKey(t)
	plainEKU := testpki.Issue(t, &smx509.Certificate{
		Subject: pkix.Name{CommonName: "non-critical EKU"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []smx509.ExtKeyUsage{smx509.ExtKeyUsageTimeStamping},
	}, k, p.sm2Root)
	if _, err := NewAuthority(k, []*smx509.Certificate{plainEKU}); err == nil {
		t.Error("a non-critical timeStamping EKU was accepted")
	}
	if _, err := NewAuthority(testpki.NewKey(t), []*smx509.Certificate{p.sm2TSA.Cert}); err == nil {
		t.Error("another key than the certificate's was accepted")
	}
}

var bigOne = big.NewInt(1)

// TestOpenSSLVerifiesReplies: `openssl ts -verify` accepts the replies
// of the ECDSA (and RSA) authority to a request OpenSSL made, under an
// ECDSA root; `openssl ts -reply -text` reads them; a token checked
// against other data or under another root is refused. (OpenSSL 3.0's
// ts -verify does not verify a certificate signed with SM2: the
// development TSA's ECDSA certificate comes from the ECDSA development
// CA.)
func TestOpenSSLVerifiesReplies(t *testing.T) {
	t.Parallel()
	testenv.Tool(t, "openssl")
	p := keysOf(t)
	for _, tc := range []struct {
		name string
		tsa  *testpki.Identity
		root *testpki.Identity
	}{
		{"ECDSA TSA under an ECDSA root", p.ecTSAUnderEC, p.ecRoot},
		{"RSA TSA under an ECDSA root", rsaIdentity(t), p.ecRoot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := func(name string, b []byte) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			data := file("data", []byte("the signature value to stamp"))
			query := filepath.Join(dir, "query.tsq")
			openssl(t, "ts", "-query", "-data", data, "-sha256", "-cert", "-out", query)
			q, err := os.ReadFile(query)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(authority(t, tc.tsa))
			defer srv.Close()
			resp, err := http.Post(srv.URL, QueryType, bytes.NewReader(q))
			if err != nil {
				t.Fatal(err)
			}
			var reply bytes.Buffer
			reply.ReadFrom(resp.Body)
			resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); ct != ReplyType {
				t.Fatalf("Content-Type %q", ct)
			}
			replyFile := file("reply.tsr", reply.Bytes())
			rootFile := file("root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tc.root.Cert.Raw}))
			text := openssl(t, "ts", "-reply", "-in", replyFile, "-text")
			if !strings.Contains(text, "Status: Granted.") || !strings.Contains(text, "Policy OID: "+DevPolicy.String()) {
				t.Errorf("openssl ts -reply -text:\n%s", text)
			}
			out := openssl(t, "ts", "-verify", "-queryfile", query, "-in", replyFile, "-CAfile", rootFile)
			t.Logf("openssl ts -verify: %s", strings.TrimSpace(out))
			if !strings.Contains(out, "Verification: OK") {
				t.Errorf("openssl ts -verify:\n%s", out)
			}
			out2 := openssl(t, "ts", "-verify", "-data", data, "-in", replyFile, "-CAfile", rootFile)
			if !strings.Contains(out2, "Verification: OK") {
				t.Errorf("openssl ts -verify -data:\n%s", out2)
			}
			other := file("other", []byte("another value"))
			if msg, err := opensslErr(t, "ts", "-verify", "-data", other, "-in", replyFile, "-CAfile", rootFile); err == nil || strings.Contains(msg, "Verification: OK") {
				t.Errorf("openssl ts -verify accepted the token for other data:\n%s", msg)
			}
			otherRoot := p.ecRoot
			if tc.root == p.ecRoot {
				otherRoot = p.sm2Root
			}
			otherRootFile := file("other-root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: otherRoot.Cert.Raw}))
			if msg, err := opensslErr(t, "ts", "-verify", "-queryfile", query, "-in", replyFile, "-CAfile", otherRootFile); err == nil {
				t.Errorf("openssl ts -verify accepted the token under another root:\n%s", msg)
			}
		})
	}
}

func openssl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := opensslErr(t, args...)
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return out
}

func opensslErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.Tool(t, "openssl"), args...).CombinedOutput()
	return string(out), err
}
