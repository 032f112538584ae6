package reportview

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/report"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// pngMagic is enough of a PNG for pictureOf to show it.
const pngMagic = "\x89PNG\r\n\x1a\n-picture"

// sample returns a report of a document with one signature whose checks
// conclude in.
func sample(in report.Indication) *report.Document {
	at := time.Date(2026, 3, 15, 2, 30, 0, 0, time.UTC)
	sig := report.Signature{
		Field: "Signature1", Format: "adbe.pkcs7.detached (SM3)", Signer: "CN=示例县政务服务中心,O=示例县人民政府", SignerSerial: "1a2b",
		SigningTime: at, SealID: "33010000000001", SealName: "示例县政务服务中心电子印章", CoversWholeDocument: true,
		SealPicture: &report.Picture{Type: "PNG", Data: []byte(pngMagic), WidthMM: 40, HeightMM: 40},
		Checks: []report.Check{
			{Name: "signature-value", Clause: "GB/T 38540 §7.3 b, g", Result: report.OK},
			{Name: "seal-format", Clause: "GB/T 38540 §6.3 (1)", Result: report.OK, Detail: "SESeal version 4"},
		},
	}
	switch in {
	case report.Failed:
		sig.Checks[0] = report.Check{Name: "signature-value", Result: report.NotOK, SubIndication: report.SubHashFailure, Detail: "the SM3 of the signed bytes differs"}
	case report.Indeterminate:
		sig.Checks = append(sig.Checks, report.Check{Name: "signer-certificate", Result: report.Unknown, SubIndication: report.SubNoChain})
	}
	sig.Conclude()
	doc := &report.Document{Document: "证明-0001.pdf", SM3: strings.Repeat("ab", 32), Size: 102400, VerificationCode: "NENT-QAXB-NENT-QAXB", VerifiedAt: at.Add(time.Hour), Signatures: []report.Signature{sig}}
	doc.Conclude()
	return doc
}

// TestHTML renders reports of every verdict in both languages and checks
// each against its golden file (go test -update rewrites them) and for
// what a reader must see: the verdict, why, the seal's code and picture.
func TestHTML(t *testing.T) {
	t.Parallel()
	unsigned := &report.Document{Document: "plain.pdf", SM3: strings.Repeat("cd", 32), Size: 10, Signatures: []report.Signature{}}
	unsigned.Conclude()
	unreadable := &report.Document{Document: "x.bin", Error: "neither a PDF nor an OFD document", Signatures: []report.Signature{}}
	ofdPicture := sample(report.Passed)
	ofdPicture.Signatures[0].SealPicture = &report.Picture{Type: "ofd", Data: []byte("PK\x03\x04"), WidthMM: 40, HeightMM: 40}
	tests := []struct {
		golden string
		doc    *report.Document
		lang   Lang
		want   []string
		not    []string
	}{
		{"passed.zh.html", sample(report.Passed), Chinese, []string{"签章有效", "示例县政务服务中心电子印章", "33010000000001", "NENT-QAXB-NENT-QAXB", "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte(pngMagic)), "2026-03-15 10:30:00 (UTC&#43;8)"}, []string{"未通过："}},
		{"passed.en.html", sample(report.Passed), English, []string{"Valid", "Seal code", `lang="en"`}, []string{"签章有效"}},
		{"failed.zh.html", sample(report.Failed), Chinese, []string{"签章无效", "未通过的检查：", "签名值与文件摘要：文件内容与签章时不一致，已被改动"}, nil},
		{"failed.en.html", sample(report.Failed), English, []string{"Not valid", "Signature value and document digest: the content differs from what was signed"}, nil},
		{"unknown.zh.html", sample(report.Indeterminate), Chinese, []string{"无法确认", "签章人证书：证书无法追溯到本系统信任的根证书"}, []string{"签章无效"}},
		{"unsigned.zh.html", unsigned, Chinese, []string{"未找到签章"}, []string{"签章有效", "验证码"}}, // verified elsewhere: no code
		{"unreadable.en.html", unreadable, English, []string{"The file could not be read", "neither a PDF nor an OFD document"}, []string{"Verification code"}},
		{"ofd-picture.zh.html", ofdPicture, Chinese, []string{"印章图像为 ofd 格式，此处不显示"}, []string{"data:image"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := HTML(&buf, tt.doc, Options{Lang: tt.lang}); err != nil {
				t.Fatal(err)
			}
			got := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(got, w) {
					t.Errorf("page has %q", w)
				}
			}
			golden(t, tt.golden, buf.Bytes())
		})
	}
}

// TestHTMLEscapes: what a document says (its name, the seal's name, the
// signer) is text on the page, never markup; only this package's own
// data: URLs are links.
func TestHTMLEscapes(t *testing.T) {
	t.Parallel()
	doc := sample(report.Passed)
	doc.Document = `<script>alert(1)</script>.pdf`
	doc.Signatures[0].SealName = `"><img src=x onerror=alert(2)>`
	doc.Signatures[0].SealPicture = &report.Picture{Type: "PNG", Data: []byte("javascript:alert(3)")}
	var buf bytes.Buffer
	if err := HTML(&buf, doc, Options{Home: "/", PDF: []byte("%PDF-1.7")}); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	for _, bad := range []string{"<script>alert", "<img src=x", "javascript:"} {
		if strings.Contains(got, bad) {
			t.Errorf("page has %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;", `href="data:application/pdf;base64,JVBERi0xLjc="`, `download="report.pdf"`, `href="/"`} {
		if !strings.Contains(got, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestParseLang(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Lang{"": Chinese, "zh": Chinese, "zh-CN": Chinese, "en": English, "EN-gb": English, "en-US,en;q=0.9": English, "fr": Chinese} {
		if got := ParseLang(in); got != want {
			t.Errorf("ParseLang(%q) = %s, want %s", in, got, want)
		}
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from its golden file (go test -update rewrites it; review the diff)", name)
	}
}
