package iam

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/policy.json")

// TestPolicy pins the policy of civil-affairs in bucket sealpipe, byte for
// byte: testdata/policy.json is what a reviewer reads (and what
// `make services-up` grants).
func TestPolicy(t *testing.T) {
	doc, err := Policy("sealpipe", "civil-affairs")
	if err != nil {
		t.Fatal(err)
	}
	got := append(doc.JSON(), '\n')
	golden := filepath.Join("testdata", "policy.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Policy(sealpipe, civil-affairs) =\n%s\nwant (%s; -update rewrites it)\n%s", got, golden, want)
	}
	if name := UserName("sealpipe", "civil-affairs"); name != "sealpipe_sealpipe_civil-affairs" {
		t.Errorf("UserName = %q", name)
	}
}

func TestPolicyRefusesNames(t *testing.T) {
	tests := []struct{ bucket, dept string }{
		{"sealpipe", ""},
		{"sealpipe", "*"},
		{"sealpipe", "civil*"},
		{"sealpipe", "civil?"},
		{"sealpipe", "${aws:username}"},
		{"sealpipe", "civil/affairs"},
		{"sealpipe", `civil\affairs`},
		{"sealpipe", ".."},
		{"sealpipe", ".hidden"},
		{"sealpipe", "a,b"},
		{"sealpipe", "a=b"},
		{"sealpipe", "civil affairs"},
		{"sealpipe", "civil\naffairs"},
		{"sealpipe", "civil\x7f"},
		{"Sealpipe", "civil-affairs"},
		{"seal_pipe", "civil-affairs"},
		{"", "civil-affairs"},
	}
	for _, tt := range tests {
		if _, err := Policy(tt.bucket, tt.dept); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Policy(%q, %q): %v, want ErrInvalidName", tt.bucket, tt.dept, err)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.dept)) && !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.bucket)) {
			t.Errorf("Policy(%q, %q): error %q does not quote the name", tt.bucket, tt.dept, err)
		}
	}
	for _, dept := range []string{"civil-affairs", "County_Office.2", "a"} {
		if _, err := Policy("sealpipe", dept); err != nil {
			t.Errorf("Policy(sealpipe, %q): %v", dept, err)
		}
	}
}

// TestPayloads: what seal encrypts, open decrypts, for every algorithm a
// MinIO server may answer with; a wrong secret key or damaged bytes fail.
func TestPayloads(t *testing.T) {
	plain := []byte(`{"secretKey":"0123456789","status":"enabled"}`)
	for _, id := range []byte{algArgon2idAESGCM, algArgon2idChaCha20, algPBKDF2AESGCM} {
		sealed, err := sealWith("admin secret", plain, id)
		if err != nil {
			t.Fatal(err)
		}
		if sealed[saltLen] != id || bytes.Contains(sealed, []byte("0123456789")) {
			t.Fatalf("algorithm %d: header or plaintext wrong: %x", id, sealed[:headerLen])
		}
		if got, err := open("admin secret", sealed); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("algorithm %d: open = %q, %v", id, got, err)
		}
		if _, err := open("another secret", sealed); err == nil {
			t.Errorf("algorithm %d: opened with the wrong secret key", id)
		}
		sealed[len(sealed)-1] ^= 1
		if _, err := open("admin secret", sealed); err == nil {
			t.Errorf("algorithm %d: opened damaged bytes", id)
		}
	}
	if _, err := open("x", make([]byte, headerLen+tagLen)); err == nil {
		t.Error("opened a zero payload")
	}
	bad, _ := sealWith("x", plain, algArgon2idAESGCM)
	bad[saltLen] = 9
	if _, err := open("x", bad); err == nil || !strings.Contains(err.Error(), "unknown algorithm 0x09") {
		t.Errorf("unknown algorithm: %v", err)
	}
	if s, err := NewSecretKey(); err != nil || len(s) != 40 {
		t.Errorf("NewSecretKey = %q, %v; want 40 characters", s, err)
	}
}

func TestNewEndpoints(t *testing.T) {
	tests := []struct {
		endpoint string
		secure   bool
		want     string // scheme://host, or "" for an error
	}{
		{"127.0.0.1:9000", false, "http://127.0.0.1:9000"},
		{"127.0.0.1:9000", true, "https://127.0.0.1:9000"},
		{"http://127.0.0.1:9000/", false, "http://127.0.0.1:9000"},
		{"https://s3.example.gov.cn", false, "https://s3.example.gov.cn"},
		{"http://127.0.0.1:9000", true, ""},
		{"ftp://127.0.0.1:9000", false, ""},
		{"http://127.0.0.1:9000/bucket", false, ""},
		{"http://user@127.0.0.1:9000", false, ""},
		{"", false, ""},
	}
	for _, tt := range tests {
		a, err := New(Config{Endpoint: tt.endpoint, Secure: tt.secure, AccessKey: "a", SecretKey: "s"})
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("New(%q, secure %v) accepted", tt.endpoint, tt.secure)
		case tt.want == "" && !strings.Contains(err.Error(), tt.endpoint):
			t.Errorf("New(%q): error %q does not quote the endpoint", tt.endpoint, err)
		case tt.want != "" && (err != nil || a.scheme+"://"+a.host != tt.want):
			t.Errorf("New(%q, secure %v) = %v, %v; want %s", tt.endpoint, tt.secure, a, err, tt.want)
		}
	}
	if _, err := New(Config{Endpoint: "127.0.0.1:9000"}); err == nil {
		t.Error("New without credentials accepted")
	}
}

// TestCall: requests are signed with the payload's SHA-256; error answers
// become ServerErrors naming the call, the code and the status.
func TestCall(t *testing.T) {
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		switch r.URL.Query().Get("accessKey") {
		case "missing":
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"Code":"XMinioAdminNoSuchUser","Message":"The specified user does not exist."}`)
		case "proxy":
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html>bad gateway</html>")
		default:
			io.WriteString(w, `{"policyName":"p","status":"enabled"}`)
		}
	}))
	defer srv.Close()
	a, err := New(Config{Endpoint: srv.URL, AccessKey: "admin", SecretKey: "secret", Region: "cn-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := a.call(ctx, http.MethodPut, "add-user", nil, []byte("payload")); err != nil {
		t.Fatal(err)
	}
	sum := "239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5" // SHA-256("payload")
	if got.URL.Path != "/minio/admin/v3/add-user" || string(gotBody) != "payload" || got.Header.Get("X-Amz-Content-Sha256") != sum {
		t.Errorf("request %s %s, body %q, content hash %q", got.Method, got.URL, gotBody, got.Header.Get("X-Amz-Content-Sha256"))
	}
	if auth := got.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=admin/") || !strings.Contains(auth, "/cn-east-1/s3/aws4_request") ||
		!strings.Contains(auth, "x-amz-content-sha256") {
		t.Errorf("Authorization %q: want SigV4 by admin in cn-east-1 covering the content hash", auth)
	}
	if u, err := a.userInfo(ctx, "someone"); err != nil || u.PolicyName != "p" || u.Status != "enabled" {
		t.Errorf("userInfo = %+v, %v", u, err)
	}

	_, err = a.userInfo(ctx, "missing")
	var se *ServerError
	if !errors.As(err, &se) || !hasCode(err, codeNoSuchUser) || se.StatusCode != 404 || se.Op != "user-info" {
		t.Errorf("missing user: %v", err)
	}
	_, err = a.userInfo(ctx, "proxy")
	if !errors.As(err, &se) || se.Code != "Bad Gateway" || !strings.Contains(err.Error(), "bad gateway</html>") {
		t.Errorf("non-JSON error: %v", err)
	}
}
