package reportview

import (
	"embed"
	"encoding/base64"
	"html/template"
	"io"
	"strings"
	"sync"

	"github.com/sealpipe/sealpipe/pipeline/report"
)

//go:embed html
var htmlFiles embed.FS

// pages are the HTML templates: "report" is a whole page, the others are
// parts of it that verification pages reuse ("style", "document").
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"label":   label,
	"dataURL": dataURL,
}).ParseFS(htmlFiles, "html/*.tmpl"))

// Options change how a report is rendered. The zero value renders it in
// Chinese with nothing linked.
type Options struct {
	// Lang is the report's language; empty means Chinese.
	Lang Lang
	// Home, if set, is the URL of the verification page the report links
	// back to, to verify another document.
	Home string
	// PDF, if set, is the same report as PDF, offered for download from
	// the page itself (a data: URL), so that nothing need be stored.
	PDF []byte
	// PDFName is the file name offered for PDF; empty means report.pdf.
	PDFName string
	// Compare, if set, is the URL of a form that takes a document to
	// compare with the one the report describes (GET /v/<code>).
	Compare string
	// Match, if set, is the outcome of such a comparison: whether the
	// document uploaded is, byte for byte, the one the report describes
	// (their SM3 digests are equal).
	Match *bool
}

// page is what the "report" template renders.
type page struct {
	*documentView
	Home    string
	PDF     template.URL
	PDFName string
	Compare string
	Match   string // "match" or "mismatch" after a comparison
}

// HTML writes doc as a whole HTML page, readable on a phone, with the
// seal pictures inline: nothing is fetched from elsewhere.
func HTML(w io.Writer, doc *report.Document, opts Options) error {
	return pages.ExecuteTemplate(w, "report", pageOf(doc, opts))
}

// pageOf is the data of the "report" template.
func pageOf(doc *report.Document, opts Options) page {
	lang := opts.Lang
	if lang == "" {
		lang = Chinese
	}
	p := page{documentView: viewOf(doc, lang), Home: opts.Home, PDFName: opts.PDFName, Compare: opts.Compare}
	if m := opts.Match; m != nil {
		p.Match = map[bool]string{true: "match", false: "mismatch"}[*m]
	}
	if len(opts.PDF) > 0 {
		p.PDF = dataURL("application/pdf", opts.PDF)
		if p.PDFName == "" {
			p.PDFName = "report.pdf"
		}
	}
	return p
}

// dataURL is data as a data: URL of type mime (RFC 2397). Only the types
// this package chooses reach it, never one a document names.
func dataURL(mime string, data []byte) template.URL {
	return template.URL("data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data))
}

// Style is the reports' stylesheet as a <style> element, for pages that
// show a report's parts beside their own content and look the same.
var Style = sync.OnceValue(func() template.HTML {
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, "style", nil); err != nil {
		panic(err) // the template is embedded: tests render it
	}
	return template.HTML(b.String())
})
