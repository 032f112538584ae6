package reportview

import (
	"fmt"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/report"
)

// documentView is a verification report put into words in one language:
// what both HTML and PDF show.
type documentView struct {
	Lang       Lang
	Title      string
	Name       string
	Size       string
	SM3        string
	Code       string // verification code, empty if the report has none
	VerifiedAt string
	Verdict    verdictView
	Error      string // why the file could not be read, if so
	Signatures []signatureView
}

// verdictView is a verdict in words: Class is "passed", "failed" or
// "unknown", for colour.
type verdictView struct {
	Class, Head, Means string
	// Why lists the checks behind a verdict other than passed.
	WhyLabel string
	Why      []string
}

// signatureView is one signature of a report in words.
type signatureView struct {
	Number  int
	Verdict verdictView
	Rows    [][2]string // label, value
	Picture *pictureView
	Checks  []checkView
}

// pictureView is a seal's picture: MIME is set when it is an image a
// browser or the PDF can show, else NotShown says why it is not.
type pictureView struct {
	MIME     string
	Data     []byte
	WidthMM  int
	HeightMM int
	NotShown string
}

// checkView is one check in words.
type checkView struct {
	Name, Result, Class, Why, Detail, Clause string
}

// beijing is China Standard Time, the zone the reports' readers live in.
var beijing = time.FixedZone("UTC+8", 8*60*60)

// timeLayout is how times are written, in Beijing time.
const timeLayout = "2006-01-02 15:04:05 (MST)"

// viewOf puts doc into words in lang.
func viewOf(doc *report.Document, lang Lang) *documentView {
	v := &documentView{
		Lang: lang, Title: label("title", lang), Name: doc.Document,
		Size: fmt.Sprintf("%d %s", doc.Size, label("bytes", lang)), SM3: doc.SM3,
		Error: doc.Error,
	}
	if !doc.VerifiedAt.IsZero() {
		v.VerifiedAt = doc.VerifiedAt.In(beijing).Format(timeLayout)
	}
	v.Code = doc.VerificationCode
	switch {
	case doc.Error != "":
		v.Verdict = verdictView{Class: "unknown", Head: label("unreadable", lang), Means: doc.Error}
	case len(doc.Signatures) == 0:
		v.Verdict = verdictView{Class: "unknown", Head: noSignature.head.in(lang), Means: noSignature.means.in(lang)}
	default:
		var checks []report.Check
		for _, s := range doc.Signatures {
			checks = append(checks, s.Checks...)
		}
		v.Verdict = verdictOf(doc.Indication, checks, lang)
	}
	for i, s := range doc.Signatures {
		v.Signatures = append(v.Signatures, signatureOf(i+1, s, lang))
	}
	return v
}

// verdictOf puts verdict in into words, with the checks behind it.
func verdictOf(in report.Indication, checks []report.Check, lang Lang) verdictView {
	w, ok := verdicts[in]
	if !ok {
		w = verdicts[report.Indeterminate]
	}
	v := verdictView{Head: w.head.in(lang), Means: w.means.in(lang)}
	want := report.Unknown
	switch in {
	case report.Passed:
		v.Class = "passed"
		return v
	case report.Failed:
		v.Class, v.WhyLabel, want = "failed", label("why-failed", lang), report.NotOK
	default:
		v.Class, v.WhyLabel = "unknown", label("why-unknown", lang)
	}
	seen := map[string]bool{}
	for _, c := range checks {
		if c.Result != want {
			continue
		}
		line := checkName(c.Name, lang) + "：" + explain(c, lang)
		if lang == English {
			line = checkName(c.Name, lang) + ": " + explain(c, lang)
		}
		if !seen[line] {
			seen[line] = true
			v.Why = append(v.Why, line)
		}
	}
	return v
}

// signatureOf puts signature number n into words.
func signatureOf(n int, s report.Signature, lang Lang) signatureView {
	v := signatureView{Number: n, Verdict: verdictOf(s.Indication, s.Checks, lang)}
	row := func(key, value string) {
		if value != "" {
			v.Rows = append(v.Rows, [2]string{label(key, lang), value})
		}
	}
	row("seal-name", s.SealName)
	row("seal-id", s.SealID)
	row("signer", s.Signer)
	if !s.SigningTime.IsZero() {
		row("signing-time", s.SigningTime.In(beijing).Format(timeLayout))
	}
	row("format", s.Format)
	row("field", s.Field)
	row("signer-serial", s.SignerSerial)
	if s.CoversWholeDocument {
		row("covers", label("covers-all", lang))
	} else {
		row("covers", label("covers-part", lang))
	}
	if p := s.SealPicture; p != nil {
		v.Picture = pictureOf(p, lang)
	}
	for _, c := range s.Checks {
		cv := checkView{Name: checkName(c.Name, lang), Result: results[c.Result].in(lang), Detail: c.Detail, Clause: c.Clause}
		switch c.Result {
		case report.OK:
			cv.Class = "passed"
		case report.NotOK:
			cv.Class, cv.Why = "failed", explain(c, lang)
		case report.Unknown:
			cv.Class, cv.Why = "unknown", explain(c, lang)
		default:
			cv.Class = "skipped"
		}
		v.Checks = append(v.Checks, cv)
	}
	return v
}

// pictureOf is the view of a seal's picture. Only PNG, JPEG and GIF are
// shown, checked by their magic numbers, not the type the seal claims.
func pictureOf(p *report.Picture, lang Lang) *pictureView {
	v := &pictureView{WidthMM: p.WidthMM, HeightMM: p.HeightMM}
	switch {
	case len(p.Data) > 8 && string(p.Data[:8]) == "\x89PNG\r\n\x1a\n":
		v.MIME = "image/png"
	case len(p.Data) > 3 && string(p.Data[:3]) == "\xff\xd8\xff":
		v.MIME = "image/jpeg"
	case len(p.Data) > 6 && (string(p.Data[:6]) == "GIF87a" || string(p.Data[:6]) == "GIF89a"):
		v.MIME = "image/gif"
	default:
		v.NotShown = fmt.Sprintf(label("no-picture", lang), p.Type)
		return v
	}
	v.Data = p.Data
	return v
}
