package iam

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
	"github.com/secure-io/sio-go"
	"golang.org/x/crypto/argon2"
)

// adminPath is the root of MinIO's admin API, version 3.
const adminPath = "/minio/admin/v3/"

// maxAnswer bounds an answer of the admin API read into memory.
const maxAnswer = 16 << 20

// DefaultTimeout bounds one admin request when Config.Timeout is zero.
const DefaultTimeout = time.Minute

// ServerError is an error answer of MinIO's admin API.
type ServerError struct {
	Op         string // the admin call, such as "add-user"
	StatusCode int    // the HTTP status
	Code       string // MinIO's error code, such as "XMinioAdminNoSuchUser"
	Message    string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("iam: %s: %s (HTTP %d): %s", e.Op, e.Code, e.StatusCode, e.Message)
}

// MinIO's error codes this package tells apart.
const (
	codeNoSuchUser   = "XMinioAdminNoSuchUser"
	codeNoSuchPolicy = "XMinioAdminNoSuchPolicy"
)

// hasCode reports whether err is a ServerError with that code.
func hasCode(err error, code string) bool {
	var se *ServerError
	return errors.As(err, &se) && se.Code == code
}

// call sends one signed request to the admin API and returns the answer's
// body. body, if not nil, is sent as it is; its SHA-256 is signed, as the
// admin API requires.
func (a *Admin) call(ctx context.Context, method, op string, query url.Values, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	u := url.URL{Scheme: a.scheme, Host: a.host, Path: adminPath + op, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("iam: %s: %w", op, err)
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	req.ContentLength = int64(len(body))
	req = signer.SignV4(*req, a.accessKey, a.secretKey, "", a.region)
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("iam: %s: %w", op, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("iam: %s: reading the answer: %w", op, err)
	case len(answer) > maxAnswer:
		return nil, fmt.Errorf("iam: %s: answer over %d bytes", op, maxAnswer)
	case resp.StatusCode/100 == 2:
		return answer, nil
	}
	se := &ServerError{Op: op, StatusCode: resp.StatusCode}
	var detail struct{ Code, Message string }
	if json.Unmarshal(answer, &detail) == nil && detail.Code != "" {
		se.Code, se.Message = detail.Code, detail.Message
	} else {
		se.Code, se.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(answer))
	}
	return nil, se
}

// newHTTPClient returns the client of an Admin: cfg's transport, or a
// copy of net/http's default one (proxies from the environment, keep-alive)
// asking TLS 1.2 or later.
func newHTTPClient(transport http.RoundTripper) *http.Client {
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		transport = t
	}
	return &http.Client{Transport: transport}
}

// ---------------------------------------------------------------- payloads

// The admin API carries credentials (a new user's secret key, the list of
// users) encrypted with the secret key of the identity that signs the
// request: salt (32 bytes) ‖ algorithm (1 byte) ‖ nonce (8 bytes) ‖ a sio
// stream (github.com/secure-io/sio-go) under a key derived from the
// secret key and the salt.
const (
	algArgon2idAESGCM   = 0x00 // Argon2id, AES-256-GCM
	algArgon2idChaCha20 = 0x01 // Argon2id, ChaCha20-Poly1305
	algPBKDF2AESGCM     = 0x02 // PBKDF2-SHA256, AES-256-GCM (FIPS builds)

	saltLen   = 32
	headerLen = saltLen + 1 + 8
	tagLen    = 16 // each sio fragment ends in an AEAD tag
)

// payloadKey derives the 256-bit key of algorithm alg.
func payloadKey(password string, salt []byte, alg byte) ([]byte, sio.Algorithm, error) {
	switch alg {
	case algArgon2idAESGCM:
		return argon2.IDKey([]byte(password), salt, 1, 64*1024, 4, 32), sio.AES_256_GCM, nil
	case algArgon2idChaCha20:
		return argon2.IDKey([]byte(password), salt, 1, 64*1024, 4, 32), sio.ChaCha20Poly1305, nil
	case algPBKDF2AESGCM:
		key, err := pbkdf2.Key(sha256.New, password, salt, 8192, 32)
		return key, sio.AES_256_GCM, err
	}
	return nil, "", fmt.Errorf("iam: encrypted payload: unknown algorithm 0x%02x", alg)
}

// seal encrypts data for the admin API with password (Argon2id,
// AES-256-GCM, which every MinIO release reads).
func seal(password string, data []byte) ([]byte, error) {
	return sealWith(password, data, algArgon2idAESGCM)
}

// sealWith encrypts data with password and the algorithm id.
func sealWith(password string, data []byte, id byte) ([]byte, error) {
	header := make([]byte, headerLen)
	if _, err := rand.Read(header[:saltLen]); err != nil {
		return nil, err
	}
	header[saltLen] = id
	if _, err := rand.Read(header[saltLen+1:]); err != nil {
		return nil, err
	}
	key, alg, err := payloadKey(password, header[:saltLen], id)
	if err != nil {
		return nil, err
	}
	stream, err := alg.Stream(key)
	if err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(header)
	w := stream.EncryptWriter(out, header[saltLen+1:], nil)
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// open decrypts a payload of the admin API with password.
func open(password string, data []byte) ([]byte, error) {
	if len(data) < headerLen+tagLen {
		return nil, errors.New("iam: encrypted payload too short")
	}
	salt, alg, nonce := data[:saltLen], data[saltLen], data[saltLen+1:headerLen]
	key, algorithm, err := payloadKey(password, salt, alg)
	if err != nil {
		return nil, err
	}
	stream, err := algorithm.Stream(key)
	if err != nil {
		return nil, err
	}
	plain, err := io.ReadAll(stream.DecryptReader(bytes.NewReader(data[headerLen:]), nonce, nil))
	if err != nil {
		return nil, fmt.Errorf("iam: decrypting the server's answer (wrong secret key?): %w", err)
	}
	return plain, nil
}
