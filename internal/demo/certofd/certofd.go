// Package certofd renders the demo certificate of internal/demo/certpdf as
// an OFD package (GB/T 33190-2016, 版式文档): the same fields, the same
// page, the same lines at the same places, so that the certificate looks
// the same whichever format a service hall issues.
//
// certpdf owns the certificate: its fields (certpdf.Certificate), the
// sample generator (certpdf.Sample), validation and layout
// (certpdf.Layout). This package only writes the laid-out page as OFD:
//
//	OFD.xml                          DocBody: DocInfo, DocRoot
//	Doc_0/Document.xml               CommonData: MaxUnitID, PageArea (A4 in mm), PublicRes
//	Doc_0/PublicRes.xml              the font, FontFile in Doc_0/Res/
//	Doc_0/Res/font_2.ttf             the certificate's characters, TrueType
//	Doc_0/Pages/Page_0/Content.xml   one TextObject per line
//
// Unlike the PDF, which draws its text as paths, the OFD keeps it as text:
// each line is a TextObject whose TextCode holds the characters, so that
// readers can search and copy them, and whose DeltaX gives every
// character's advance, so that they sit exactly where the PDF draws them.
// The font is written from the outlines the PDF uses (see truetype.go), so
// the glyphs are the same too.
//
// The same Certificate always yields the same bytes (with the same Go
// release, whose compress/flate output may change): the zip entries carry
// the certificate's date of issue and identifiers derive from the content.
package certofd

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
	"github.com/sealpipe/sealpipe/templates/fonts"
)

// Namespace is the OFD namespace every part's elements are in, with the
// prefix "ofd".
const Namespace = "http://www.ofdspec.org/2016"

// Part names in the package.
const (
	entryName     = "OFD.xml"
	documentName  = "Doc_0/Document.xml"
	publicResName = "Doc_0/PublicRes.xml"
	contentName   = "Doc_0/Pages/Page_0/Content.xml"
	resDir        = "Res" // PublicRes BaseLoc, relative to Doc_0/
	fontFileName  = "font_2.ttf"
)

// Object identifiers (ST_ID, unique within the document); text objects
// follow from firstText, and MaxUnitID is the last one used.
const (
	idPage = 1 + iota
	idFont
	idLayer
	firstText
)

// SealBoundary returns where the seal belongs, as OFD measures: page 1
// (counted from 1, as the approval's placement is), and the upper-left
// corner, width and height of a square in millimetres from the page's
// upper-left corner, Y pointing down. It is certpdf.SealArea's square.
func SealBoundary() (page int, x, y, w, h float64) {
	page, x, y, w, h = certpdf.SealArea()
	return page, x, certpdf.PageHeight - y - h, w, h
}

// Render lays out c as certpdf does and returns the OFD package. Errors are
// certpdf's: a *certpdf.FieldError wrapping certpdf.ErrInvalidCertificate
// for a certificate that cannot be rendered.
func Render(c certpdf.Certificate) ([]byte, error) {
	p, err := certpdf.Layout(c)
	if err != nil {
		return nil, err
	}

	// One glyph per character, in character order.
	used := map[rune]*fonts.Glyph{}
	for _, r := range p.Runs {
		for _, g := range r.Glyphs {
			used[g.Rune] = g
		}
	}
	gs := make([]*fonts.Glyph, 0, len(used))
	for _, g := range used {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(a, b *fonts.Glyph) int { return int(a.Rune - b.Rune) })
	font, err := fontFile(gs, p.Date)
	if err != nil {
		return nil, err
	}

	content, maxID := pageContent(p)
	parts := []part{
		{documentName, document(p, maxID)},
		{publicResName, publicRes()},
		{"Doc_0/" + resDir + "/" + fontFileName, font},
		{contentName, content},
	}
	// DocID (§7.5): 32 characters, here a digest of every other part, so
	// identical certificates get identical packages and different ones
	// different identifiers.
	h := sha256.New()
	for _, pt := range parts {
		fmt.Fprintf(h, "%s\x00%d\x00", pt.name, len(pt.data))
		h.Write(pt.data)
	}
	docID := fmt.Sprintf("%x", h.Sum(nil)[:16])
	parts = slices.Insert(parts, 0, part{entryName, entry(p, docID)})
	return writeZip(parts, p.Date)
}

// xmlHeader starts every XML part.
const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// entry returns OFD.xml (§7.4): one document, its metadata and its root.
func entry(p *certpdf.Page, docID string) []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	fmt.Fprintf(&b, `<ofd:OFD xmlns:ofd="%s" Version="1.0" DocType="OFD">`+"\n", Namespace)
	b.WriteString("  <ofd:DocBody>\n    <ofd:DocInfo>\n")
	// CT_DocInfo's children, in the schema's order.
	day := p.Date.Format("2006-01-02") // xs:date, the certificate's own day
	for _, e := range [][2]string{
		{"DocID", docID},
		{"Title", p.Title},
		{"Author", p.Author},
		{"Subject", p.Subject},
		{"CreationDate", day},
		{"ModDate", day},
		{"Creator", "sealpipe"},
		{"CreatorVersion", "internal/demo/certofd"},
	} {
		fmt.Fprintf(&b, "      <ofd:%s>%s</ofd:%[1]s>\n", e[0], escape(e[1]))
	}
	b.WriteString("    </ofd:DocInfo>\n")
	fmt.Fprintf(&b, "    <ofd:DocRoot>%s</ofd:DocRoot>\n", documentName)
	b.WriteString("  </ofd:DocBody>\n</ofd:OFD>\n")
	return b.Bytes()
}

// document returns Document.xml (§7.5): the page area every page inherits,
// the public resources and the one page.
func document(p *certpdf.Page, maxID int) []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	fmt.Fprintf(&b, `<ofd:Document xmlns:ofd="%s">`+"\n", Namespace)
	b.WriteString("  <ofd:CommonData>\n")
	fmt.Fprintf(&b, "    <ofd:MaxUnitID>%d</ofd:MaxUnitID>\n", maxID)
	fmt.Fprintf(&b, "    <ofd:PageArea>\n      <ofd:PhysicalBox>0 0 %s %s</ofd:PhysicalBox>\n    </ofd:PageArea>\n", num(p.Width), num(p.Height))
	fmt.Fprintf(&b, "    <ofd:PublicRes>%s</ofd:PublicRes>\n", strings.TrimPrefix(publicResName, "Doc_0/"))
	b.WriteString("  </ofd:CommonData>\n")
	fmt.Fprintf(&b, "  <ofd:Pages>\n    <ofd:Page ID=\"%d\" BaseLoc=\"%s\"/>\n  </ofd:Pages>\n", idPage, strings.TrimPrefix(contentName, "Doc_0/"))
	b.WriteString("</ofd:Document>\n")
	return b.Bytes()
}

// publicRes returns PublicRes.xml (§7.9): the font, its file embedded.
func publicRes() []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	fmt.Fprintf(&b, `<ofd:Res xmlns:ofd="%s" BaseLoc="%s">`+"\n", Namespace, resDir)
	fmt.Fprintf(&b, "  <ofd:Fonts>\n    <ofd:Font ID=\"%d\" FontName=\"%s\" FamilyName=\"%[2]s\">\n", idFont, escape(fonts.Name))
	fmt.Fprintf(&b, "      <ofd:FontFile>%s</ofd:FontFile>\n    </ofd:Font>\n  </ofd:Fonts>\n", fontFileName)
	b.WriteString("</ofd:Res>\n")
	return b.Bytes()
}

// pageContent returns the page's Content.xml (§7.7, §11): one layer, one
// TextObject per run, and the largest object identifier used.
func pageContent(p *certpdf.Page) ([]byte, int) {
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	fmt.Fprintf(&b, `<ofd:Page xmlns:ofd="%s">`+"\n", Namespace)
	fmt.Fprintf(&b, "  <ofd:Content>\n    <ofd:Layer ID=\"%d\">\n", idLayer)
	id := firstText - 1
	for _, r := range p.Runs {
		id++
		writeText(&b, id, r, p.Height)
	}
	b.WriteString("    </ofd:Layer>\n  </ofd:Content>\n</ofd:Page>\n")
	return b.Bytes(), id
}

// writeText writes r as a TextObject. Its Boundary holds the line's em
// boxes and every glyph's ink; the TextCode's X and Y put the first
// character's origin where certpdf draws it, on the baseline, relative to
// the Boundary, and DeltaX gives each advance.
func writeText(b *bytes.Buffer, id int, r certpdf.Run, pageHeight float64) {
	baseline := r.Y - fonts.IdeoBottom*r.Size // from the bottom of the page
	advances := make([]float64, len(r.Glyphs))
	x0, x1 := r.X, r.X
	y0, y1 := r.Y, r.Y+(fonts.IdeoTop-fonts.IdeoBottom)*r.Size
	x := r.X
	for i, g := range r.Glyphs {
		if !g.Empty() {
			x0, x1 = min(x0, x+g.Ink.Min.X*r.Size), max(x1, x+g.Ink.Max.X*r.Size)
			y0, y1 = min(y0, baseline+g.Ink.Min.Y*r.Size), max(y1, baseline+g.Ink.Max.Y*r.Size)
		}
		advances[i] = (g.Advance + r.Tracking) * r.Size
		x += advances[i]
	}
	x1 = max(x1, x-r.Tracking*r.Size)
	// The Boundary, in page coordinates (Y down), rounded outwards to 0.1 mm.
	left := math.Floor(x0*10) / 10
	top := math.Floor((pageHeight-y1)*10) / 10
	width := math.Ceil(x1*10)/10 - left
	height := math.Ceil((pageHeight-y0)*10)/10 - top

	fmt.Fprintf(b, "      <ofd:TextObject ID=\"%d\" Boundary=\"%s %s %s %s\" Font=\"%d\" Size=\"%s\">\n",
		id, num(left), num(top), num(width), num(height), idFont, num(r.Size))
	if r.Gray != 0 {
		v := strconv.Itoa(int(math.Round(r.Gray * 255)))
		fmt.Fprintf(b, "        <ofd:FillColor Value=\"%s %[1]s %[1]s\"/>\n", v)
	}
	fmt.Fprintf(b, "        <ofd:TextCode X=\"%s\" Y=\"%s\"", num(r.X-left), num(pageHeight-baseline-top))
	if len(advances) > 1 {
		fmt.Fprintf(b, " DeltaX=\"%s\"", deltaX(advances[:len(advances)-1]))
	}
	fmt.Fprintf(b, ">%s</ofd:TextCode>\n      </ofd:TextObject>\n", escape(r.Text()))
}

// deltaX writes advances as an ST_Array of offsets (§11.3), a run of three
// or more equal values as "g count value".
func deltaX(advances []float64) string {
	var parts []string
	for i := 0; i < len(advances); {
		v := num(advances[i])
		j := i + 1
		for j < len(advances) && num(advances[j]) == v {
			j++
		}
		if n := j - i; n >= 3 {
			parts = append(parts, "g", strconv.Itoa(n), v)
		} else {
			for range n {
				parts = append(parts, v)
			}
		}
		i = j
	}
	return strings.Join(parts, " ")
}

// num formats a length in millimetres: at most four decimals (a tenth of a
// micrometre), no exponent, no negative zero.
func num(v float64) string {
	v = math.Round(v*10000) / 10000
	if v == 0 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// escape returns s as XML character data or attribute value.
func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder cannot fail
	return b.String()
}
