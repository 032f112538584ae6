package verifyapi

import (
	"embed"
	"html/template"

	"github.com/sealpipe/sealpipe/templates/reportview"
)

//go:embed html
var pageFiles embed.FS

// pageTemplates are the pages of the service besides the reports, which
// package reportview renders.
var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{"t": pageText}).ParseFS(pageFiles, "html/*.tmpl"))

// pageTexts are the words of the pages, Chinese and English.
var pageTexts = map[string][2]string{
	"title":        {"电子印章验证", "Electronic seal verification"},
	"intro":        {"选择或拖入一份盖有电子印章的 PDF 或 OFD 文件，查看印章是否有效、由谁盖章、盖章后文件是否被改动。", "Choose or drop a PDF or OFD document bearing an electronic seal to see whether the seal is valid, who sealed it, and whether the document changed after sealing."},
	"privacy":      {"文件只在内存中验证，不会被保存。", "The document is verified in memory and never stored."},
	"choose":       {"选择文件（或拖到这里）", "Choose a file (or drop it here)"},
	"verify":       {"验证", "Verify"},
	"lookup":       {"按验证码查询", "Look up a verification code"},
	"lookup-intro": {"盖章文件上印有验证码（如 7KQ3-M0ZC-5TW8-1HXA）时，输入它可查看该文件的验章报告，并核对您手中的文件。", "When a sealed document carries a verification code (like 7KQ3-M0ZC-5TW8-1HXA), enter it to see the document's report and compare the document you have."},
	"code":         {"验证码", "Verification code"},
	"go":           {"查询", "Look up"},
	"switch":       {"English", "中文"},
	"refused":      {"无法验证：", "Cannot verify: "},
	"footer":       {"依据 GB/T 38540《信息安全技术 安全电子签章密码技术规范》验证。", "Verified following GB/T 38540, the national standard for secure electronic seals."},
	// Why an upload was refused, by error code.
	CodeEmpty:        {"没有收到文件，或文件是空的：请选择一份 PDF 或 OFD 文件。", "No file arrived, or it is empty: choose a PDF or OFD document."},
	CodeTooLarge:     {"文件太大，超出了本服务可验证的大小。", "The file is larger than this service verifies."},
	CodeNotADocument: {"这个文件既不是 PDF，也不是 OFD 文件。", "The file is neither a PDF nor an OFD document."},
	CodeUnreadable:   {"文件已损坏或格式不正确，无法读取。", "The file is damaged or malformed and cannot be read."},
	CodeBusy:         {"服务繁忙，请稍后再试。", "The service is busy: try again shortly."},
	CodeBadRequest:   {"请求不完整，请重新选择文件。", "The request was incomplete: choose the file again."},
	CodeInternal:     {"服务内部出错，请稍后再试。", "Something went wrong inside the service: try again later."},
	CodeUnknownCode:  {"没有找到这个验证码对应的盖章文件，请核对验证码。", "No sealed document has this verification code: check the code."},
}

// pageText returns the words key in lang, or key itself.
func pageText(key string, lang reportview.Lang) string {
	t, ok := pageTexts[key]
	if !ok {
		return key
	}
	if lang == reportview.English {
		return t[1]
	}
	return t[0]
}
