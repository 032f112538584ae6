package reportview

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // seal pictures in GIF, redrawn as PNG
	_ "image/jpeg" // and in JPEG
	"image/png"
	"strings"

	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/templates/fonts"
	"github.com/sealpipe/sealpipe/templates/textpdf"
)

// verdictColors are the colours of the verdict classes.
var verdictColors = map[string]textpdf.Color{"passed": textpdf.Green, "failed": textpdf.Red, "unknown": textpdf.Amber}

// PDF renders doc as a PDF report in opts.Lang (Home and PDF are not
// used): A4, the text in the embedded CJK font (a subset, with its
// ToUnicode map, so that the text can be searched and copied), each seal's
// picture shown. Text the font cannot draw is shown with a substitute:
// "?" for a character, a picture it cannot decode as a note.
func PDF(doc *report.Document, opts Options) ([]byte, error) {
	lang := opts.Lang
	if lang == "" {
		lang = Chinese
	}
	v := viewOf(doc, lang)
	out, err := textpdf.Render(pdfDocument(v, doc, true))
	if errors.Is(err, textpdf.ErrInvalid) {
		// A picture textpdf refuses (such as a PNG whose data is
		// corrupt): the report without the pictures.
		out, err = textpdf.Render(pdfDocument(v, doc, false))
	}
	if err != nil {
		return nil, fmt.Errorf("reportview: PDF of %q: %w", doc.Document, err)
	}
	return out, nil
}

// pdfDocument lays v out for textpdf, with the seal pictures if pictures.
func pdfDocument(v *documentView, doc *report.Document, pictures bool) textpdf.Document {
	lang := v.Lang
	d := textpdf.Document{
		Title: printable(v.Title + " · " + v.Name), Subject: printable(v.Verdict.Head), Author: "sealpipe",
		Lang: string(lang), Created: doc.VerifiedAt,
	}
	add := func(b ...textpdf.Block) { d.Blocks = append(d.Blocks, b...) }
	add(textpdf.Heading{Text: v.Title})
	add(verdictBlocks(v.Verdict, indicationOf(doc), lang)...)
	facts := textpdf.Rows{{label("document", lang), printable(v.Name)}}
	if v.Code != "" {
		facts = append(facts, [2]string{label("code", lang), v.Code})
	}
	if v.SM3 != "" {
		facts = append(facts, [2]string{label("sm3", lang), v.SM3}, [2]string{label("size", lang), v.Size})
	}
	if v.VerifiedAt != "" {
		facts = append(facts, [2]string{label("verified-at", lang), v.VerifiedAt})
	}
	add(facts)
	for i, s := range v.Signatures {
		colon := "："
		if lang == English {
			colon = ": "
		}
		add(textpdf.Rule{}, textpdf.Heading{Text: fmt.Sprintf("%s %d%s%s", label("signature", lang), s.Number, colon, s.Verdict.Head)})
		if len(s.Verdict.Why) > 0 {
			add(textpdf.Paragraph{Text: printable(s.Verdict.WhyLabel + " " + strings.Join(s.Verdict.Why, "；")), Color: verdictColors[s.Verdict.Class]})
		}
		if p := s.Picture; p != nil {
			if img, ok := pdfPicture(p); ok && pictures {
				add(textpdf.Image{PNG: img, WidthMM: float64(min(max(p.WidthMM, 20), 50))})
			} else if p.NotShown != "" {
				add(textpdf.Small{Text: printable(p.NotShown)})
			}
		}
		rows := make(textpdf.Rows, len(s.Rows))
		for j, r := range s.Rows {
			rows[j] = [2]string{r[0], printable(r[1])}
		}
		add(rows, textpdf.Paragraph{Text: label("checks", lang), Bold: true})
		checks := textpdf.Rows{}
		for _, c := range v.Signatures[i].Checks {
			name, result := c.Name, c.Result
			if c.Why != "" {
				result += "：" + c.Why
			}
			if c.Clause != "" {
				name += "\n" + c.Clause
			}
			if c.Detail != "" {
				result += "\n" + c.Detail
			}
			checks = append(checks, [2]string{printable(name), printable(result)})
		}
		add(checks)
	}
	add(textpdf.Rule{}, textpdf.Small{Text: label("footer", lang)})
	return d
}

// indicationOf is the verdict's machine-readable name, printed beside the
// words so that a reader can match it with the JSON report.
func indicationOf(doc *report.Document) string {
	if doc.Error != "" {
		return ""
	}
	return string(doc.Indication)
}

// verdictBlocks are the verdict in words, coloured, with the checks behind
// it.
func verdictBlocks(v verdictView, indication string, lang Lang) []textpdf.Block {
	head := v.Head
	if indication != "" {
		head += "（" + indication + "）"
	}
	blocks := []textpdf.Block{
		textpdf.Paragraph{Text: printable(head), Color: verdictColors[v.Class], Bold: true},
		textpdf.Paragraph{Text: printable(v.Means)},
	}
	if len(v.Why) > 0 {
		blocks = append(blocks, textpdf.Paragraph{Text: printable(v.WhyLabel + "\n" + strings.Join(v.Why, "\n")), Color: verdictColors[v.Class]})
	}
	return blocks
}

// pdfPicture returns the picture as PNG for textpdf: a PNG as it is, a
// JPEG or GIF redrawn, if it is no larger than textpdf takes.
func pdfPicture(p *pictureView) ([]byte, bool) {
	switch p.MIME {
	case "image/png":
		return p.Data, true
	case "image/jpeg", "image/gif":
		cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Data))
		if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > textpdf.MaxImagePixels {
			return nil, false
		}
		img, _, err := image.Decode(bytes.NewReader(p.Data))
		if err != nil {
			return nil, false
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			return nil, false
		}
		return b.Bytes(), true
	}
	return nil, false
}

// substitutes stand in for characters the font lacks that reports use.
var substitutes = map[rune]string{
	'§': "", // GB/T 38540 7.3, as Chinese standards cite their clauses
	'–': "-", '—': "-", '−': "-", '…': "...", '×': "x", '\t': " ", '\r': "",
}

// printable is s with what the embedded font cannot draw replaced: by a
// substitute, or by "?".
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch sub, ok := substitutes[r]; {
		case r == '\n' || r == ' ' || fonts.Sans.Has(r):
			b.WriteRune(r)
		case ok:
			b.WriteString(sub)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}
