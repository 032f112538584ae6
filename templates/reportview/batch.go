package reportview

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/templates/textpdf"
)

// batchTexts are the words of batch reports.
var batchTexts = map[string]text{
	"department":   {"部门", "Department"},
	"batch":        {"批次", "Batch"},
	"approver":     {"审批人", "Approver"},
	"approved-at":  {"审批时间", "Approved at"},
	"completed-at": {"完成时间", "Completed at"},
	"total":        {"文件数", "Documents"},
	"sealed":       {"已盖章", "Sealed"},
	"rejected":     {"已拒绝", "Rejected"},
	"seals":        {"使用的印章", "Seals used"},
	"log":          {"用印记录第 %d 段（SM3 %s…）", "usage log segment %d (SM3 %s…)"},
	"documents":    {"逐个文件", "Documents"},
	"outcome":      {"结果", "Outcome"},
	"all-sealed":   {"全部盖章", "All sealed"},
	"some-refused": {"部分文件被拒绝", "Some documents refused"},
	"none-sealed":  {"没有文件盖章", "Nothing sealed"},
	"refused":      {"整批被拒绝", "The whole batch was refused"},
	"all-means":    {"批次中的每份文件都已盖章，并通过了自检验章。", "Every document of the batch was sealed and passed the verification of its output."},
	"some-means":   {"被拒绝的文件没有盖章，原因见下表；其余文件已盖章。", "The refused documents were not sealed, for the reasons below; the others were."},
}

// batchLabel returns the batch report's word key in l.
func batchLabel(key string, l Lang) string { return batchTexts[key].in(l) }

// batchView is a batch report in words.
type batchView struct {
	Lang      Lang
	Title     string
	Verdict   verdictView
	Facts     [][2]string
	Label     func(string) string
	Documents [][3]string // document, outcome, explanation
	Classes   []string    // each document's verdict class
}

// batchViewOf puts b into words in lang.
func batchViewOf(b *report.Batch, lang Lang) *batchView {
	v := &batchView{Lang: lang, Title: label("batch-title", lang), Label: func(k string) string { return batchLabel(k, lang) }}
	switch {
	case b.Rejection != nil:
		v.Verdict = verdictView{Class: "failed", Head: batchLabel("refused", lang), Means: string(b.Rejection.Code) + ": " + b.Rejection.Reason}
	case b.Rejected == 0 && b.Sealed > 0:
		v.Verdict = verdictView{Class: "passed", Head: batchLabel("all-sealed", lang), Means: batchLabel("all-means", lang)}
	case b.Sealed == 0:
		v.Verdict = verdictView{Class: "failed", Head: batchLabel("none-sealed", lang), Means: batchLabel("some-means", lang)}
	default:
		v.Verdict = verdictView{Class: "unknown", Head: batchLabel("some-refused", lang), Means: batchLabel("some-means", lang)}
	}
	fact := func(key, value string) {
		if value != "" {
			v.Facts = append(v.Facts, [2]string{batchLabel(key, lang), value})
		}
	}
	fact("department", b.Department)
	fact("batch", b.Batch)
	fact("approver", b.Approver)
	if !b.ApprovedAt.IsZero() {
		fact("approved-at", b.ApprovedAt.In(beijing).Format(timeLayout))
	}
	if !b.CompletedAt.IsZero() {
		fact("completed-at", b.CompletedAt.In(beijing).Format(timeLayout))
	}
	fact("total", strconv.Itoa(len(b.Documents)))
	fact("sealed", strconv.Itoa(b.Sealed))
	fact("rejected", strconv.Itoa(b.Rejected))
	var seals []string
	for _, cp := range b.UsageLog {
		seals = append(seals, cp.Seal+" · "+fmt.Sprintf(batchLabel("log", lang), cp.Seq, cp.SM3[:min(len(cp.SM3), 12)]))
	}
	fact("seals", strings.Join(seals, "\n"))
	for _, d := range b.Documents {
		switch d.Outcome {
		case report.OutcomeSealed:
			w := verdicts[d.Indication]
			detail := w.head.in(lang) + " (" + string(d.Indication) + ")"
			if d.VerificationCode != "" {
				detail += " · " + label("code", lang) + " " + d.VerificationCode
			}
			v.Documents = append(v.Documents, [3]string{d.Document, batchLabel("sealed", lang), detail})
			v.Classes = append(v.Classes, verdictOf(d.Indication, nil, lang).Class)
		default:
			v.Documents = append(v.Documents, [3]string{d.Document, batchLabel("rejected", lang), string(d.Code) + ": " + d.Reason})
			v.Classes = append(v.Classes, "failed")
		}
	}
	return v
}

// BatchHTML writes b, a batch report, as a whole HTML page: the outcome,
// the approver, the times, the seals used and every document with its
// outcome or the reason it was refused.
func BatchHTML(w io.Writer, b *report.Batch, opts Options) error {
	lang := opts.Lang
	if lang == "" {
		lang = Chinese
	}
	return pages.ExecuteTemplate(w, "batch", batchViewOf(b, lang))
}

// BatchPDF renders b as a PDF report, as PDF renders a document's.
func BatchPDF(b *report.Batch, opts Options) ([]byte, error) {
	lang := opts.Lang
	if lang == "" {
		lang = Chinese
	}
	v := batchViewOf(b, lang)
	d := textpdf.Document{
		Title: printable(v.Title + " · " + b.Department + "/" + b.Batch), Subject: printable(v.Verdict.Head), Author: "sealpipe",
		Lang: string(lang), Created: b.CompletedAt,
	}
	add := func(bl ...textpdf.Block) { d.Blocks = append(d.Blocks, bl...) }
	add(textpdf.Heading{Text: v.Title},
		textpdf.Paragraph{Text: printable(v.Verdict.Head), Color: verdictColors[v.Verdict.Class], Bold: true},
		textpdf.Paragraph{Text: printable(v.Verdict.Means)})
	facts := make(textpdf.Rows, len(v.Facts))
	for i, f := range v.Facts {
		facts[i] = [2]string{f[0], printable(f[1])}
	}
	add(facts, textpdf.Rule{}, textpdf.Heading{Text: batchLabel("documents", lang)})
	docs := make(textpdf.Rows, len(v.Documents))
	for i, r := range v.Documents {
		docs[i] = [2]string{printable(r[0]), printable(r[1] + "\n" + r[2])}
	}
	add(docs, textpdf.Rule{}, textpdf.Small{Text: label("footer", lang)})
	out, err := textpdf.Render(d)
	if err != nil {
		return nil, fmt.Errorf("reportview: PDF of batch %s/%s: %w", b.Department, b.Batch, err)
	}
	return out, nil
}
