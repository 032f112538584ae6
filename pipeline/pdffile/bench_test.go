package pdffile

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
)

// longBody is a certificate text of 228 characters, most of them
// different: each character is a glyph XObject of the page.
const longBody = "兹证明该同志自二〇一九年起在本县从事社区服务工作期间遵守国家法律法规认真履行职责积极参与基层治理与群众服务各项活动表现良好特此证明" +
	"本证明仅用于办理相关业务手续不作其他用途如需核实请与出具单位联系电话地址邮编网址均以官方公布为准持证人应妥善保管本证明不得涂改转借" +
	"或伪造否则依法承担相应责任有效期自出具之日起三十日内逾期作废需重新申请开具该人员家庭成员户籍住所婚姻状况教育背景职业资格健康情况经济收入纳税记录社会保险缴纳信息经"

// certificate returns a one-page certificate of the project's demo
// generator (internal/demo/certpdf), the document the pipeline seals, with
// a long body: about 100 KB.
func certificate(tb testing.TB) []byte {
	tb.Helper()
	c := certpdf.Sample(7, time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC))
	c.Body = longBody
	b, err := certpdf.Render(c)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkOpenPage opens a 100 KB one-page certificate and finds its catalog
// and page 1, as sealing does, with pdffile and with pdfcpu
// (ReadWithContext, which reads the whole file, then the catalog and the
// page). The pdffile run reports how many times faster it is than pdfcpu's
// ("x-faster").
func BenchmarkOpenPage(b *testing.B) {
	doc := certificate(b)
	var pdfcpuPerOp time.Duration
	b.Run("pdfcpu", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			ctx, err := pdfcpuRead(doc)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ctx.Catalog(); err != nil {
				b.Fatal(err)
			}
			if err := ctx.EnsurePageCount(); err != nil {
				b.Fatal(err)
			}
			if d, _, _, err := ctx.PageDict(1, false); err != nil || d == nil {
				b.Fatal(err)
			}
		}
		pdfcpuPerOp = b.Elapsed() / time.Duration(max(b.N, 1))
	})
	b.Run("pdffile", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			f, err := OpenContext(context.Background(), bytes.NewReader(doc), int64(len(doc)), Options{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Catalog(); err != nil {
				b.Fatal(err)
			}
			if d, _, _, err := f.Page(1); err != nil || d["Type"] != types.Name("Page") {
				b.Fatal(err)
			}
		}
		perOp := b.Elapsed() / time.Duration(max(b.N, 1))
		if pdfcpuPerOp > 0 && perOp > 0 {
			b.ReportMetric(float64(pdfcpuPerOp)/float64(perOp), "x-faster")
		}
	})
}

func TestCertificate(t *testing.T) {
	doc := certificate(t)
	f := open(t, doc, Options{})
	if _, _, _, err := f.Page(1); err != nil {
		t.Fatal(err)
	}
	crossCheck(t, doc, f)
}
