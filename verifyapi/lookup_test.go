package verifyapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/reportschema"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/verifyapi"
)

// codes is a CodeLookup over reports held in memory.
type codes map[string]*report.Document

func (c codes) ReportByCode(_ context.Context, code string) (*report.Document, error) {
	code, err := report.ParseVerificationCode(code)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", verifyapi.ErrUnknownCode, err)
	}
	if d, ok := c[code]; ok {
		return d, nil
	}
	if code == "0000-0000-0000-0001" {
		return nil, errors.New("the store is down")
	}
	return nil, fmt.Errorf("%w: %s", verifyapi.ErrUnknownCode, code)
}

// TestLookup: /v/<code> shows the report of the sealed document with
// that code and compares an upload with it; an unknown code is 404.
func TestLookup(t *testing.T) {
	t.Parallel()
	d := testDocuments(t)
	rep, err := d.verifier().Document(context.Background(), "证明-0001.pdf", d.sealed)
	if err != nil {
		t.Fatal(err)
	}
	const code = "3Q7W-1D5K-ZX0M-8HAT" // as the pipeline gives it (pipeline.DocumentCode)
	rep.VerificationCode = code
	ts := newServer(t, d, verifyapi.Config{Codes: codes{code: rep}})
	sealedForm, sealedType := form(t, "document", "mine.pdf", d.sealed)
	tamperedForm, tamperedType := form(t, "document", "mine.pdf", d.tampered)
	lower := strings.ToLower(strings.ReplaceAll(code, "-", ""))
	tests := []struct {
		name, method, path, contentType string
		body                            []byte
		status                          int
		want, not                       []string
	}{
		{"page", "GET", "/v/" + code, "", nil, 200, []string{"签章有效", "证明-0001.pdf", `<td class="code">` + code + `</td>`, `action="/v/` + code + `?lang=zh"`, "核对手中的文件"}, []string{"一致："}},
		{"typed in lower case", "GET", "/v/" + lower + "?lang=en", "", nil, 200, []string{"Valid", "Compare the document you have"}, nil},
		{"json", "GET", "/v/" + code + "?format=json", "", nil, 200, []string{`"sm3": "` + rep.SM3 + `"`, `"verification_code": "` + code + `"`}, nil},
		{"the same document", "POST", "/v/" + code, sealedType, sealedForm, 200, []string{"一致：您上传的文件就是这份盖章文件"}, []string{"不一致"}},
		{"another document", "POST", "/v/" + code + "?lang=en", tamperedType, tamperedForm, 200, []string{"No match"}, nil},
		{"nothing uploaded", "POST", "/v/" + code, "application/pdf", nil, 400, []string{"没有收到文件"}, nil},
		{"unknown", "GET", "/v/0000-0000-0000-0000", "", nil, 404, []string{"没有找到这个验证码对应的盖章文件"}, nil},
		{"unknown json", "GET", "/v/0000-0000-0000-0000?format=json", "", nil, 404, []string{`"code": "UNKNOWN_CODE"`}, nil},
		{"malformed", "GET", "/v/%3Cscript%3E", "", nil, 404, []string{"没有找到"}, []string{"<script>"}},
		{"store down", "GET", "/v/0000-0000-0000-0001?format=json", "", nil, 500, []string{`"code": "INTERNAL"`}, []string{"store is down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, tt.method, ts.URL+tt.path, tt.contentType, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(r.body), w) {
					t.Errorf("answer lacks %q", w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(string(r.body), w) {
					t.Errorf("answer has %q", w)
				}
			}
			if tt.name == "json" {
				reportschema.Check(t, reportschema.Document, r.body)
			}
		})
	}
	// The page's look-up form goes on to /v/<code>.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(ts.URL + "/v?code=+" + code + "+&lang=en")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/v/"+code+"?lang=en" {
		t.Errorf("look-up form: %d to %q", resp.StatusCode, loc)
	}
}
