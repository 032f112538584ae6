package reportview

import (
	"strings"

	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/verify"
)

// Lang is the language a report is rendered in.
type Lang string

// The languages reports are rendered in: Chinese first, English for
// readers who need it.
const (
	Chinese Lang = "zh-CN"
	English Lang = "en"
)

// ParseLang returns the language s names ("en", "en-GB", "zh", "zh-CN"…;
// the first of an Accept-Language list): English for English, Chinese
// for anything else, the default.
func ParseLang(s string) Lang {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(s, "en") {
		return English
	}
	return Chinese
}

// Other is the other language, the one a page offers to switch to.
func (l Lang) Other() Lang {
	if l == English {
		return Chinese
	}
	return English
}

// Query is the language's value of the lang query parameter.
func (l Lang) Query() string {
	if l == English {
		return "en"
	}
	return "zh"
}

// text holds one phrase in both languages.
type text struct{ zh, en string }

func (t text) in(l Lang) string {
	if l == English {
		return t.en
	}
	return t.zh
}

// labels are the fixed words of the reports.
var labels = map[string]text{
	"title":         {"验章报告", "Seal verification report"},
	"batch-title":   {"批次报告", "Batch report"},
	"self":          {"English", "中文"},
	"document":      {"文件", "Document"},
	"size":          {"大小", "Size"},
	"bytes":         {"字节", "bytes"},
	"sm3":           {"SM3 摘要", "SM3 digest"},
	"code":          {"验证码", "Verification code"},
	"verified-at":   {"验证时间", "Verified at"},
	"signature":     {"签章", "Signature"},
	"field":         {"签名域", "Signature field"},
	"seal-name":     {"印章名称", "Seal name"},
	"seal-id":       {"印章编码", "Seal code"},
	"signer":        {"签章人", "Signer"},
	"signer-serial": {"证书序列号", "Certificate serial"},
	"signing-time":  {"签章时间", "Signing time"},
	"format":        {"签名格式", "Signature format"},
	"covers":        {"覆盖范围", "Coverage"},
	"covers-all":    {"覆盖整个文件", "the whole document"},
	"covers-part":   {"覆盖文件的一个早期版本，之后文件又有追加", "an earlier revision; the file was appended to afterwards"},
	"checks":        {"逐项检查", "Checks"},
	"check":         {"检查项", "Check"},
	"result":        {"结果", "Result"},
	"clause":        {"依据", "Clause"},
	"picture":       {"印章图像", "Seal picture"},
	"no-picture":    {"印章图像为 %s 格式，此处不显示", "the seal picture is %s, not shown here"},
	"unreadable":    {"无法读取该文件", "The file could not be read"},
	"why-failed":    {"未通过的检查：", "Failed checks:"},
	"why-unknown":   {"无法确定的检查：", "Checks that could not conclude:"},
	"detail":        {"技术细节", "Technical detail"},
	"footer":        {"本报告由 sealpipe 按 GB/T 38540 生成；验证结论仅针对所验证的文件。", "Made by sealpipe following GB/T 38540; the verdict speaks only for the file verified."},
	"again":         {"验证其他文件", "Verify another document"},
	"download-pdf":  {"下载 PDF 报告", "Download the PDF report"},
	"download-json": {"下载 JSON 报告", "Download the JSON report"},
	"match":         {"一致：您上传的文件就是这份盖章文件（SM3 摘要相同）。", "Match: the file you uploaded is this sealed document (the same SM3 digest)."},
	"mismatch":      {"不一致：您上传的文件不是这份盖章文件，或已被改动过。", "No match: the file you uploaded is not this sealed document, or it was changed."},
	"compare":       {"核对手中的文件", "Compare the document you have"},
	"compare-intro": {"选择您收到的文件，核对它是否就是这份登记的盖章文件。文件不会被保存。", "Choose the file you received to check that it is this registered sealed document. It is not stored."},
	"compare-go":    {"核对", "Compare"},
}

// label returns the fixed word key in l.
func label(key string, l Lang) string { return labels[key].in(l) }

// verdicts are the document and signature verdicts in plain words: a
// headline and what it means.
var verdicts = map[report.Indication]struct{ head, means text }{
	report.Passed: {
		text{"签章有效", "Valid"},
		text{"文件自盖章后没有被改动，印章与签章人证书均验证通过。", "The document has not changed since it was sealed; the seal and the signer's certificate check out."},
	},
	report.Failed: {
		text{"签章无效", "Not valid"},
		text{"至少一项检查未通过：文件在盖章后被改动过，或印章、签名不真实、已失效。不要依赖此文件。", "At least one check failed: the document was changed after sealing, or the seal or signature is not genuine or no longer valid. Do not rely on this document."},
	},
	report.Indeterminate: {
		text{"无法确认", "Cannot be confirmed"},
		text{"没有发现篡改，但有检查无法得出结论（例如证书无法追溯到受信任的根证书）。请向出具单位核实。", "Nothing shows tampering, but some checks could not conclude (for example a certificate that does not chain to a trusted root). Check with the issuer."},
	},
}

// noSignature is the verdict on a document that holds no signature.
var noSignature = struct{ head, means text }{
	text{"未找到签章", "No seal found"},
	text{"这个文件中没有电子签章或数字签名。", "The document holds no electronic seal or digital signature."},
}

// results are the outcomes of one check.
var results = map[report.Result]text{
	report.OK:      {"通过", "passed"},
	report.NotOK:   {"未通过", "failed"},
	report.Unknown: {"无法确定", "could not conclude"},
	report.Skipped: {"不适用", "not applicable"},
}

// checkNames name the checks of package verify.
var checkNames = map[string]text{
	"signature-value":        {"签名值与文件摘要", "Signature value and document digest"},
	"coverage":               {"签名覆盖范围", "What the signature covers"},
	"modifications":          {"签章后的改动", "Changes after signing"},
	"references":             {"签名保护的文件内容", "Files the signature protects"},
	"seal-file":              {"印章数据", "Seal data"},
	"seal-format":            {"印章格式", "Seal format"},
	"seal-maker-signature":   {"制章者签名", "Seal maker's signature"},
	"seal-maker-certificate": {"制章者证书", "Seal maker's certificate"},
	"seal-validity":          {"印章有效期", "Seal validity period"},
	"registry-status":        {"印章登记状态", "Seal registration status"},
	"signer":                 {"签章人", "Signer"},
	"signer-in-seal":         {"签章人证书与印章绑定", "Signer's certificate is one the seal lists"},
	"signer-certificate":     {"签章人证书", "Signer's certificate"},
	"timestamp":              {"时间戳", "Timestamp"},
}

// checkName names check name in l, or returns name itself for a check
// this package does not know.
func checkName(name string, l Lang) string {
	if t, ok := checkNames[name]; ok {
		return t.in(l)
	}
	return name
}

// subIndications explain why a check did not pass.
var subIndications = map[string]text{
	report.SubFormatFailure:        {"格式不符合标准，无法解析", "the data does not follow the standard's format"},
	report.SubHashFailure:          {"文件内容与签章时不一致，已被改动", "the content differs from what was signed: it was altered"},
	report.SubSigCryptoFailure:     {"签名值验证失败，签名不真实", "the signature value does not verify: the signature is not genuine"},
	report.SubRevoked:              {"证书已被吊销", "the certificate was revoked"},
	report.SubExpired:              {"已过有效期", "expired"},
	report.SubNotYetValid:          {"尚未生效", "not yet valid"},
	report.SubNoChain:              {"证书无法追溯到本系统信任的根证书", "the certificate does not chain to a root this service trusts"},
	report.SubChainConstraints:     {"证书链不满足用途或约束", "the certificate chain breaks its usage or constraints"},
	report.SubSignerNotInSeal:      {"签章人证书不在印章所列证书之中", "the signer's certificate is not one the seal lists"},
	report.SubSealNotActive:        {"印章在签章时已挂失、注销或尚未登记", "the seal was suspended, revoked or not yet registered when it was used"},
	report.SubSealNotRegistered:    {"本系统的印章登记簿中没有这枚印章（可能由其他机构登记）", "this service's seal registry does not hold the seal (another may)"},
	report.SubUnsignedChanges:      {"签章后文件有未经签名的改动", "the document changed after signing without a signature"},
	report.SubAlgorithmUnsupported: {"使用了不支持的算法", "an algorithm this service does not support"},
	report.SubTryLater:             {"暂时无法查询证书吊销状态，请稍后再试", "the revocation status cannot be had now: try again later"},
	verify.SubTimestampOrder:       {"时间戳早于签名时间，顺序不对", "the timestamp is out of order with the signing"},
}

// explain says why check c did not pass, in l: its sub-indication in
// words, or its result.
func explain(c report.Check, l Lang) string {
	if t, ok := subIndications[c.SubIndication]; ok {
		return t.in(l)
	}
	if c.SubIndication != "" {
		return c.SubIndication
	}
	return results[c.Result].in(l)
}
